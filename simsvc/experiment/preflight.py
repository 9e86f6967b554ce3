"""Warnings before a run: staffing that cannot carry the forecast, open hours nobody covers.

These are warnings, not errors: a planner may mean to overload a channel (to see
what happens), so `check` and `run` say it and carry on. Everything is computed from
the scenario alone, interval by interval of the first week (or the horizon, if
shorter), after the warm-up:

* **overload**: the offered load of a real-time channel (expected arrivals × mean
  handling and wrap-up time / interval length, divided by chat concurrency) exceeds
  the agents on duty in the pools skilled for it (after shrinkage). Pools shared
  with other channels are counted in full, so a warning means the channel cannot
  be served even if it had those agents to itself; repeats, redials and retries are
  not in the forecast, so the real load is higher. For a backlog (async) the check
  is over the whole horizon: its workload against the agent time of its pools.
* **no one on duty**: a real-time channel is open and has demand, but no pool
  skilled for it has an agent on duty.
* **uncovered hours**: a real-time channel is open and no agent skilled for it is on
  duty, although the forecast sends no contact then (callers who retry still can).

Journey mode has no forecast: only the coverage checks apply there.
"""
from __future__ import annotations

import math

from simsvc.config.fields import DAYS
from simsvc.config.schema import REAL_TIME_KINDS, Scenario
from simsvc.domain.calendar import OpeningHours, on_duty_changes, scheduled_totals
from simsvc.domain.rates import expected_arrivals, pairwise_sum

WEEK_S = 7 * 86_400.0
MAX_SPANS = 3  # spans named in one warning; the rest are counted

# Plain Python lists, not numpy: `simsvc check` runs these warnings and should start in
# under half a second, which numpy's import alone would spoil. Agents on duty come from
# domain.calendar, the demand's rates within each day from domain.rates (the model's own
# rule); sums are taken in numpy's order (pairwise_sum), so every number equals the
# simulator's numpy computation to the bit (tests/test_check_startup.py).


def _grid(scenario: Scenario) -> list[float]:
    end = min(scenario.horizon, scenario.warmup + WEEK_S)
    n = math.ceil((end - scenario.warmup) / scenario.interval)
    return [min(scenario.warmup + k * scenario.interval, end) for k in range(n + 1)]


def _lengths(grid: list[float]) -> list[float]:
    return [b - a for a, b in zip(grid, grid[1:])]


def _agents(scenario: Scenario, pools: list[str], grid: list[float]) -> list[float]:
    """Mean agents on duty (after shrinkage and availability) per interval, summed over ``pools``."""
    total = [0.0] * (len(grid) - 1)
    for name in pools:
        pool = scenario.agents[name]
        total = [x + y for x, y in zip(total, scheduled_totals(on_duty_changes(scenario, pool), grid))]
    return [x / n for x, n in zip(total, _lengths(grid))]


def _reason_mix(scenario: Scenario, channel: str) -> dict[str, float]:
    """The channel's reason mix; where ``volumes`` rows carry their own ``mix``, the mix of all
    its rows' contacts (each row's shares, or the channel's, weighted by the row's volume)."""
    spec = scenario.demand.get(channel)
    mix = (spec.mix if spec is not None else None) or {}
    if spec is not None and spec.arrivals is not None:  # a trace: its rows' reasons
        from simsvc.config.trace import trace_shares

        return trace_shares(spec)
    if spec is None or not spec.row_mixes:
        return mix
    out: dict[str, float] = {}
    for row in spec.volumes:
        shares = row.mix if row.mix is not None else mix
        total = sum(shares.values())
        for r, share in shares.items():
            out[r] = out.get(r, 0.0) + row.volume * share / total
    return out if sum(out.values()) > 0 else mix


def _work_per_contact(scenario: Scenario, channel: str, pools: list[str]) -> float:
    """Mean handling time over the channel's reason mix, plus the mean wrap-up of its pools."""
    spec = scenario.handling.get(channel)
    if spec is None:
        return 0.0
    if isinstance(spec, dict):
        mix = _reason_mix(scenario, channel)
        default = spec.get("default")
        if mix:
            total = sum(mix.values())
            handling = sum(share / total * (spec.get(r) or default).mean_s for r, share in mix.items()
                           if (spec.get(r) or default) is not None)
        else:
            values = [d.mean_s for d in spec.values()]
            handling = pairwise_sum(values) / len(values) if values else 0.0
    else:
        handling = spec.mean_s
    wrap = pairwise_sum([scenario.agents[p].wrap_up.mean_s for p in pools]) / len(pools) if pools else 0.0
    return handling + wrap


def _skilled(scenario: Scenario, channel: str) -> list[str]:
    out = []
    for name, pool in scenario.agents.items():
        for entry in pool.skills:
            for skill in entry if isinstance(entry, list) else [entry]:
                if skill.split("/", 1)[0] == channel and name not in out:
                    out.append(name)
    return out


def _when(scenario: Scenario, t: float) -> str:
    day = int(t // 86_400)
    clock = t - day * 86_400
    return f"{DAYS[(DAYS.index(scenario.start_day) + day) % 7]} {int(clock // 3600):02d}:{int(clock % 3600 // 60):02d}"


def _spans(scenario: Scenario, grid: list[float], flags: list[bool]) -> str:
    """"mon 08:00–09:30, tue 08:00–08:30 and 4 more" for the runs of True in ``flags``."""
    runs, k = [], 0
    while k < len(flags):
        if flags[k]:
            j = k
            while j + 1 < len(flags) and flags[j + 1]:
                j += 1
            a, b = _when(scenario, grid[k]), _when(scenario, grid[j + 1])
            if k == 0 and j == len(flags) - 1:
                runs.append("in every interval checked")
            else:
                same_day = grid[j + 1] - grid[k] < 86_400 and a.split(" ")[0] == b.split(" ")[0]
                runs.append(f"{a}–{b.split(' ')[1] if same_day else b}")
            k = j + 1
        else:
            k += 1
    text = ", ".join(runs[:MAX_SPANS])
    return text + (f" and {len(runs) - MAX_SPANS} more" if len(runs) > MAX_SPANS else "")


def capacity_warnings(scenario: Scenario) -> list[str]:
    """Plain-language warnings about staffing against the forecast; empty when none apply."""
    grid = _grid(scenario)
    if len(grid) < 2:
        return []
    lengths = _lengths(grid)
    mid = [(a + b) / 2 for a, b in zip(grid, grid[1:])]
    out = []
    for channel, cfg in scenario.channels.items():
        if cfg.kind == "bot":
            continue
        pools = _skilled(scenario, channel)
        agents = _agents(scenario, pools, grid)
        demand = scenario.demand.get(channel)
        arrivals = [0.0] * len(lengths)
        if demand is not None:
            arrivals = expected_arrivals(scenario, demand, grid)
        work = _work_per_contact(scenario, channel, pools)
        if cfg.kind in REAL_TIME_KINDS:
            hours = OpeningHours(scenario, cfg.hours)
            open_ = [hours.is_open(t) for t in mid]
            concurrency = getattr(cfg, "concurrency", 1)
            load = [x * work / n / concurrency for x, n in zip(arrivals, lengths)]
            nobody = [o and a < 0.5 for o, a in zip(open_, agents)]
            unserved = [b and x > 0 for b, x in zip(nobody, arrivals)]
            unstaffed = [b and x <= 0 for b, x in zip(nobody, arrivals)]
            if any(unserved):
                out.append(f"{channel}: open with demand but no agent skilled for it on duty: "
                           f"{_spans(scenario, grid, unserved)}")
            if any(unstaffed):
                out.append(f"{channel}: open hours with no agent skilled for it on duty: "
                           f"{_spans(scenario, grid, unstaffed)}")
            over = [o and a >= 0.5 and x > a for o, a, x in zip(open_, agents, load)]
            if any(over):
                k = max((i for i, o in enumerate(over) if o), key=lambda i: load[i] - agents[i])  # the first largest
                out.append(f"{channel}: offered load exceeds the agents on duty skilled for it "
                           f"({sum(over)} intervals, e.g. {load[k]:.1f} Erlangs on {agents[k]:.1f} agents "
                           f"at {_when(scenario, grid[k])}): {_spans(scenario, grid, over)}"
                           + ("; only abandonment keeps the queue finite" if getattr(cfg, "patience", None)
                              else "; without patience the queue grows without bound"))
        elif demand is not None:
            workload = pairwise_sum([x * work for x in arrivals])
            capacity = pairwise_sum([a * n for a, n in zip(agents, lengths)])
            if workload > capacity:
                out.append(f"{channel}: the backlog's workload ({workload / 3600:,.0f} agent-hours) exceeds "
                           f"the agent time of its pools ({capacity / 3600:,.0f} h) in the first week: "
                           "it can only grow")
    return out
