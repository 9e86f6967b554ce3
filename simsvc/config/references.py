"""Checks that span fields: every name a scenario uses must refer to something it defines.

Each problem is reported as (field path, value, what is allowed), so the user sees
exactly which line of the YAML to fix.
"""
from __future__ import annotations

import math

from simsvc.config.customers import STAGES
from simsvc.config.schema import AGENT_KINDS, DAY_SPEC_HELP, DAYS, Scenario
from simsvc.config.units import format_duration, parse_clock

Problem = tuple[str, object, str]
_DIST_FIELDS = {"mean", "cv", "value", "low", "high", "values", "weights"}
_DIST_NAMES = ("exponential", "lognormal", "gamma", "deterministic", "uniform", "empirical")


def skill_queues(scenario: Scenario, skill: str) -> list[tuple[str, str]]:
    """The (channel, reason) queues a skill entry ``phone`` or ``phone/billing`` covers."""
    channel, _, reason = skill.partition("/")
    if reason:
        return [(channel, reason)]
    return [(channel, r) for r in scenario.reasons]


def day_spec_days(spec: str) -> list[int]:
    """Day indices (0 = mon) of ``mon``, ``mon-fri``, ``sat,sun``, ``all`` or ``daily``."""
    spec = spec.strip().lower()
    if spec in ("all", "daily", "every day", "mon-sun"):
        return list(range(7))
    days: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            first, last = (p.strip() for p in part.split("-", 1))
            if first not in DAYS or last not in DAYS:
                raise ValueError("a day range like mon-fri")
            i, j = DAYS.index(first), DAYS.index(last)
            days.extend(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        elif part in DAYS:
            days.append(DAYS.index(part))
        else:
            raise ValueError(DAY_SPEC_HELP)
    return days


def find_problems(s: Scenario) -> list[Problem]:
    """All cross-reference problems of a scenario, in file order."""
    out: list[Problem] = []
    if s.warmup >= s.horizon:
        out.append(("warmup", format_duration(s.warmup),
                    f"a warm-up shorter than the horizon ({format_duration(s.horizon)})"))
    if 86400 % s.interval:
        out.append(("interval", format_duration(s.interval), "an interval that divides a day (15min, 30min, 1h)"))
    elif s.warmup % s.interval:
        out.append(("warmup", format_duration(s.warmup),
                    f"a whole number of intervals ({format_duration(s.interval)})"))
    channels = s.channels
    reasons = s.reasons
    pools = s.agents

    for name, ch in channels.items():
        if "/" in name:   # skills read "channel/reason": a / in a channel's name is ambiguous there
            out.append((f"channels.{name}", name, "a channel name without / (skills write channel/reason)"))
        hours = getattr(ch, "hours", "24/7")
        if isinstance(hours, dict):
            for spec, span in hours.items():
                try:
                    day_spec_days(spec)
                except ValueError as exc:
                    out.append((f"channels.{name}.hours.{spec}", spec, str(exc)))
                if span.strip().lower() != "closed" and not _valid_span(span):
                    out.append((f"channels.{name}.hours.{spec}", span,
                                'a span "HH:MM-HH:MM" (open before close) or "closed"'))
        chase = getattr(ch, "chase", None)
        if chase is not None and (chase.to not in channels or chase.to == name):
            out.append((f"channels.{name}.chase.to", chase.to,
                        f"another channel of {sorted(c for c in channels if c != name)}"))
        if ch.kind == "bot":
            target = channels.get(ch.escalate_to)
            if target is None:
                out.append((f"channels.{name}.escalate_to", ch.escalate_to,
                            f"one of the channels {sorted(channels)}"))
            elif target.kind == "bot":
                out.append((f"channels.{name}.escalate_to", ch.escalate_to,
                            "a channel served by agents (not another bot)"))
            if isinstance(ch.containment, dict):
                out += _reason_keys(f"channels.{name}.containment", ch.containment, reasons)

    for ch_name, spec in s.demand.items():
        if ch_name not in channels:
            out.append((f"demand.{ch_name}", ch_name, f"one of the channels {sorted(channels)}"))
        every_row_reason = spec.arrivals is not None and all(row.reason is not None for row in spec.arrivals)
        if spec.mix is None and len(reasons) > 1 and not every_row_reason:
            out.append((f"demand.{ch_name}.mix", None,
                        f"reason shares (mix) summing to 1 over {sorted(reasons)}"
                        + (" (some arrivals rows have no reason)" if spec.arrivals is not None else "")))
        out += _mix_problems(f"demand.{ch_name}.mix", spec.mix, reasons)
        out += _mixed_day_problems(f"demand.{ch_name}.volumes", spec.volumes or [], "a channel's volumes",
                                   "row", all_too=False)
        out += _duplicate_slots(f"demand.{ch_name}.volumes", spec.volumes or [], "row")
        for k, row in enumerate(spec.volumes or []):  # a row's own reason shares
            out += _mix_problems(f"demand.{ch_name}.volumes.{k}.mix", row.mix, reasons)
        out += _trace_problems(s, ch_name, spec, reasons)

    for ch_name, spec in s.handling.items():
        if ch_name not in channels:
            out.append((f"handling.{ch_name}", ch_name, f"one of the channels {sorted(channels)}"))
        elif isinstance(spec, dict):
            for r in spec:
                if r in _DIST_FIELDS and r not in reasons:
                    out.append((f"handling.{ch_name}.dist", None,
                                f"a distribution with a dist field ({', '.join(_DIST_NAMES)})"))
                    break
            else:
                out += _reason_keys(f"handling.{ch_name}", spec, reasons)
    for ch_name in channels:
        spec = s.handling.get(ch_name)
        if spec is None:
            out.append((f"handling.{ch_name}", None, "a handling-time distribution for this channel"))
        elif isinstance(spec, dict) and "default" not in spec:
            missing = [r for r in reasons if r not in spec]
            if missing:
                out.append((f"handling.{ch_name}", sorted(spec),
                            f"a distribution for every reason (missing {missing}) or a default"))

    for ch_name, spec in s.resolution.items():
        if ch_name not in channels:
            out.append((f"resolution.{ch_name}", ch_name, f"one of the channels {sorted(channels)}"))
        elif isinstance(spec, dict):
            out += _reason_keys(f"resolution.{ch_name}", spec, reasons)

    for r_name, r in reasons.items():
        if r.transfer is not None and r.transfer.to not in pools:
            out.append((f"reasons.{r_name}.transfer.to", r.transfer.to, f"one of the pools {sorted(pools)}"))
        if r.patience is not None and not any(getattr(ch, "patience", None) is not None for ch in channels.values()):
            out.append((f"reasons.{r_name}.patience", r.patience.dist,
                        "a reason's patience only where a voice or chat channel has a patience of its own "
                        "(it overrides the channel's; without one nobody abandons)"))

    for ch_from, row in s.repeat.switch.items():
        if ch_from not in channels:
            out.append((f"repeat.switch.{ch_from}", ch_from, f"one of the channels {sorted(channels)}"))
        for ch_to in row:
            if ch_to not in channels:
                out.append((f"repeat.switch.{ch_from}.{ch_to}", ch_to, f"one of the channels {sorted(channels)}"))
        total = sum(row.values())
        if abs(total - 1.0) > 1e-6:
            out.append((f"repeat.switch.{ch_from}", total, "probabilities that sum to 1"))

    for ch_name in s.experience.expected_wait:
        if ch_name not in channels:
            out.append((f"experience.expected_wait.{ch_name}", ch_name, f"one of the channels {sorted(channels)}"))

    if s.customers is not None:
        out += _customer_problems(s)

    skilled: set[str] = set()
    for p_name, pool in pools.items():
        for i, entry in enumerate(pool.skills):
            group = entry if isinstance(entry, list) else [entry]
            for j, skill in enumerate(group):
                path = f"agents.{p_name}.skills.{i}" + (f".{j}" if isinstance(entry, list) else "")
                channel, _, reason = skill.partition("/")
                ch = channels.get(channel)
                if ch is None:
                    out.append((path, skill, f"one of the channels {sorted(channels)} (optionally channel/reason)"))
                elif ch.kind not in AGENT_KINDS:
                    out.append((path, skill, "a channel served by agents (voice, chat or async), not a bot"))
                elif reason and reason not in reasons:
                    out.append((path, skill, f"channel/reason with a reason among {sorted(reasons)}"))
                else:
                    skilled.add(channel)
        if pool.reserve is not None:
            out += _reserve_problems(s, p_name, pool)
        if pool.availability is not None:
            out += _step_problems(f"agents.{p_name}.availability.steps", pool.availability.steps or [],
                                  "a pool's availability")
        staffing = pool.staffing
        if not isinstance(staffing, int):
            out += _step_problems(f"agents.{p_name}.staffing.steps", staffing.steps or [],
                                  "a pool's staffing steps")
            for k, shift in enumerate(staffing.shifts or []):
                path = f"agents.{p_name}.staffing.shifts.{k}"
                days = shift.days if isinstance(shift.days, str) else ",".join(shift.days)
                try:
                    day_spec_days(days)
                except ValueError as exc:
                    out.append((path + ".days", shift.days, str(exc)))
                if shift.start == shift.end:
                    out.append((path + ".end", shift.end, "an end different from the start"))

    for ch_name, ch in channels.items():
        if ch.kind in AGENT_KINDS and ch_name not in skilled:
            if _receives_contacts(s, ch_name):
                out.append((f"channels.{ch_name}", ch_name,
                            "a channel that some pool in agents has in its skills"))
    return out


def mixed_days(what: str, first: str, day: object, all_too: bool = True) -> str:
    """What is allowed where a table mixes day numbers with weekdays (or ``all``): once a row has
    a day number the simulator follows the day numbers only, so the weekday rows would be dropped."""
    return (f"days of one kind in {what}: all day numbers (0, 1, 2…) or all weekdays{'/all' if all_too else ''}, "
            f"like {first} ({day!r})")


def _mixed_day_problems(path: str, rows: list, what: str, item: str = "step", all_too: bool = True) -> list[Problem]:
    """Rows keyed all by day number or all by weekday (``all``): the first row of the other kind."""
    numbered = [isinstance(row.day, int) for row in rows]
    if any(numbered) and not all(numbered):
        k = numbered.index(not numbered[0])
        return [(f"{path}.{k}.day", rows[k].day, mixed_days(what, f"{item} 0", rows[0].day, all_too))]
    return []


def _step_problems(path: str, steps: list, what: str) -> list[Problem]:
    """Staffing or availability steps are keyed all by day number or all by weekday (``all``),
    one per slot: two steps for the same day and start are ambiguous (which one wins?), as two
    such rows of a CSV table are (load.py)."""
    return _mixed_day_problems(path, steps, what) + _duplicate_slots(path, steps, "step")


def _duplicate_slots(path: str, rows: list, item: str) -> list[Problem]:
    """Rows (staffing or availability steps, a channel's inline volumes) for a day and start that an
    earlier row already has: ambiguous (which one wins?), as two such rows of a CSV table are."""
    out: list[Problem] = []
    seen: dict[tuple, int] = {}
    for k, row in enumerate(rows):
        slot = (row.day, parse_clock(row.start))
        if slot in seen:
            out.append((f"{path}.{k}", f"{row.day} {row.start}", f"one {item} per day and start ({item} {seen[slot]} "
                        "has the same)"))
        seen.setdefault(slot, k)
    return out


def _reserve_problems(s: Scenario, p_name: str, pool) -> list[Problem]:
    """A reserve protects some, not all, of its pool's skills: otherwise it would be ignored."""
    out: list[Problem] = []
    served = {q for entry in pool.skills for skill in (entry if isinstance(entry, list) else [entry])
              for q in skill_queues(s, skill)}
    protected: set[tuple[str, str]] = set()
    path = f"agents.{p_name}.reserve.protect"
    for k, skill in enumerate(pool.reserve.protect):
        channel, _, reason = skill.partition("/")
        queues = set(skill_queues(s, skill)) if channel in s.channels and (not reason or reason in s.reasons) else set()
        if not queues or not queues <= served:
            out.append((f"{path}.{k}", skill, f"one of the pool's skills {_skill_names(pool)} "
                        "(a channel, or channel/reason)"))
        protected |= queues
    if not out and protected >= served:
        out.append((path, pool.reserve.protect,
                    "skills that leave some of the pool's work outside the reserve (this protects all of it, "
                    "so the reserve would never hold an agent back)"))
    return out


def _skill_names(pool) -> list[str]:
    return [skill for entry in pool.skills for skill in (entry if isinstance(entry, list) else [entry])]


def _reason_keys(path: str, mapping: dict, reasons: dict) -> list[Problem]:
    """Keys of a per-reason mapping must be reasons of the scenario, or ``default``."""
    return [(f"{path}.{r}", r, f"one of the reasons {sorted(reasons)} or default")
            for r in mapping if r not in reasons and r != "default"]


def _customer_problems(s: Scenario) -> list[Problem]:
    """Journey mode: channel preferences, stage reasons and the proactive follow-up."""
    cust = s.customers
    channels, reasons = s.channels, s.reasons
    out: list[Problem] = []

    def shares(path: str, mapping: dict, names, what: str) -> None:
        for key in mapping:
            if key not in names:
                out.append((f"{path}.{key}", key, f"one of the {what} {sorted(names)}"))
        total = sum(mapping.values())
        if abs(total - 1.0) > 1e-6:
            out.append((path, mapping, f"shares that sum to 1 (they sum to {total:g})"))

    for path, mapping in (("customers.segments", {n: seg.share for n, seg in cust.segments.items()}),
                          ("customers.initial_stages", cust.initial_stages)):
        total = sum(mapping.values())
        if abs(total - 1.0) > 1e-6:
            out.append((path, mapping, f"shares that sum to 1 (they sum to {total:g})"))
    if cust.contact_hours is not None and sum(cust.contact_hours) <= 0:
        out.append(("customers.contact_hours", cust.contact_hours, "24 weights with a positive sum"))
    if cust.channels is not None:
        shares("customers.channels", cust.channels, channels, "channels")
    for name, seg in cust.segments.items():
        if seg.channels is not None:
            shares(f"customers.segments.{name}.channels", seg.channels, channels, "channels")
        elif cust.channels is None:
            out.append((f"customers.segments.{name}.channels", None,
                        "a channel preference here or in customers.channels"))
    for stage in STAGES:
        spec = cust.stage_contacts(stage)
        given = stage in cust.stages
        if spec.contact_probability <= 0:
            continue
        path = f"customers.stages.{stage}.reasons"
        for r in spec.reasons:
            if r not in reasons:
                out.append((f"{path}.{r}", r, f"one of the reasons {sorted(reasons)}"
                            + ("" if given else " (this is the stage's default; set the stage in customers.stages)")))
        total = sum(spec.reasons.values())
        if abs(total - 1.0) > 1e-6:
            out.append((path, spec.reasons, f"shares that sum to 1 (they sum to {total:g})"))
    if cust.initial == 0 and cust.acquisition == 0:
        out.append(("customers.initial", 0, ("at least one customer: initial above 0 or an acquisition rate "
                    "above 0 (acquisition is 0 too, so nobody would ever contact; to simulate demand only, "
                    "leave out customers)")))
    out += _zero_cycle_problems(cust)
    pro = cust.proactive
    if pro is not None:
        ch = channels.get(pro.channel)
        if ch is None or ch.kind not in AGENT_KINDS:
            out.append(("customers.proactive.channel", pro.channel,
                        f"a channel served by agents among {sorted(c for c in channels if channels[c].kind in AGENT_KINDS)}"))
        if pro.reason not in reasons:
            out.append(("customers.proactive.reason", pro.reason, f"one of the reasons {sorted(reasons)}"))
        for k, r in enumerate(pro.reduces):
            if r not in reasons:
                out.append((f"customers.proactive.reduces.{k}", r, f"one of the reasons {sorted(reasons)}"))
    return out


CYCLE = ("purchase", "usage", "post_purchase", "loyalty")  # loyalty → purchase again (repeat_purchase)


def _zero_cycle_problems(cust) -> list[Problem]:
    """A segment that buys again must spend time somewhere in purchase → usage → post_purchase →
    loyalty: with a dwell of 0 in all four, its customers would go round the cycle endlessly at
    one instant (simulated time never reaches the horizon)."""
    out: list[Problem] = []
    seen: set[tuple] = set()
    for name, seg in cust.segments.items():
        if seg.repeat_purchase <= 0 or any(cust.dwell_for(name, st).mean_s > 0 for st in CYCLE):
            continue
        paths = tuple(f"customers.segments.{name}.dwell.{st}" if st in seg.dwell else f"customers.dwell.{st}"
                      for st in CYCLE)
        if paths in seen:
            continue
        seen.add(paths)
        who = [n for n, sg in cust.segments.items() if sg.repeat_purchase > 0
               and all(cust.dwell_for(n, st).mean_s == 0 for st in CYCLE)]
        parents = {p.rsplit(".", 1)[0] for p in paths}
        out.append((parents.pop() if len(parents) == 1 else paths[0], {st: "0s" for st in CYCLE},
                    (f"a dwell above 0 in at least one of {', '.join(paths)}: segment(s) {', '.join(who)} "
                     "buy again (repeat_purchase above 0), and a purchase → usage → post_purchase → loyalty "
                     "cycle that takes no time would repeat endlessly at one instant (or set their "
                     "repeat_purchase to 0)")))
    return out


def _receives_contacts(s: Scenario, channel: str) -> bool:
    if channel in s.demand:
        return True
    cust = s.customers
    if cust is not None:
        if channel in (cust.channels or {}) or any(channel in (seg.channels or {}) for seg in cust.segments.values()):
            return True
        if cust.proactive is not None and cust.proactive.channel == channel:
            return True
    if any(ch.kind == "bot" and ch.escalate_to == channel for ch in s.channels.values()):
        return True
    if any(getattr(ch, "chase", None) is not None and ch.chase.to == channel for ch in s.channels.values()):
        return True
    return any(channel in row for row in s.repeat.switch.values())


def _valid_span(span: str) -> bool:
    try:
        start, end = (parse_clock(p) for p in span.split("-", 1))
    except ValueError:
        return False
    return start < end


def _trace_problems(s: Scenario, ch_name: str, spec, reasons) -> list[Problem]:
    """A trace's problems: reasons the scenario does not have, arrivals after the horizon,
    handle times in journey mode (where contacts draw their numbers on arrival)."""
    from simsvc.config.trace import start_seconds

    out: list[Problem] = []
    path = f"demand.{ch_name}.arrivals"
    for k, row in enumerate(spec.arrivals or []):
        if row.reason is not None and row.reason not in reasons:
            out.append((f"{path}.{k}.reason", row.reason, f"one of the reasons {sorted(reasons)}"))
        if row.day * 86400.0 + start_seconds(row.start) >= s.horizon:
            out.append((f"{path}.{k}", f"day {row.day} {row.start}",
                        f"an arrival within the horizon ({s.horizon:g} s: days 0 to {math.ceil(s.horizon / 86400) - 1})"))
        if row.handle is not None and s.customers is not None:
            out.append((f"{path}.{k}.handle", row.handle,
                        "no handle in journey mode (customers): drop it, the contact draws its handling time"))
        if len(out) > 20:  # enough to see what is wrong
            break
    return out


def _mix_problems(path: str, mix: dict[str, float] | None, reasons) -> list[Problem]:
    """A reason mix's problems: reasons the scenario does not have, shares that do not sum to 1."""
    if mix is None:
        return []
    out: list[Problem] = [(f"{path}.{r}", r, f"one of the reasons {sorted(reasons)}")
                          for r in mix if r not in reasons]
    if abs(sum(mix.values()) - 1.0) > 1e-6:
        out.append((path, mix, f"shares that sum to 1 (they sum to {sum(mix.values()):g})"))
    return out
