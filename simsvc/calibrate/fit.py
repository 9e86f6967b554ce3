"""`fit`: a contact log → a scenario folder that `simsvc run` accepts as it is.

The pipeline: choose the fit days → pools and logged-in staffing from agent
activity → demand (new issues per weekday × interval), busyness, opening hours →
handling per channel (× reason) → patience (Kaplan–Meier) → redials and repeats →
routing classes' queue credits (calibrate/classes.py; with a class column, reasons are
reason × class) → effective staffing by simulation of the fit days → scenario YAML
with a comment per estimate, CSV tables, and a fit report (written by fit_scenario.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from simsvc.calibrate import agents as ag
from simsvc.calibrate import estimate as est
from simsvc.calibrate import patience as pt
from simsvc.calibrate import patience_load as pl
from simsvc.calibrate import classes as cl
from simsvc.calibrate.delays import fit_routing_delays
from simsvc.calibrate.bands import by_hour_band
from simsvc.calibrate.effective import Availability, fit_availability, scaled
from simsvc.calibrate.estimate import MIN_REASON_HANDLING
from simsvc.calibrate.fit_scenario import fill_scenario, scenario_text, write_fit
from simsvc.calibrate.logs import ContactLog, LogError
from simsvc.calibrate.wrap import WrapFit, fit_wrap

# What the package's callers import from here; the scenario's writing is in fit_scenario.py.
__all__ = ["MIN_REASON_HANDLING", "FitOptions", "FitResult", "fit", "fit_handling", "scenario_text", "write_fit"]


@dataclass(frozen=True)
class FitOptions:
    interval_s: float = 900.0
    redial_window_s: float = 3600.0
    repeat_window_s: float = 86400.0
    presence_gap_s: float = 1800.0  # only for staffing_basis "present"
    # Logged-in agents (calibrate/agents.py): "distinct_hour", every agent seen serving in the
    # hour as one whole agent for it (the hand calibration); "distinct_interval", the
    # same per interval; "present", from a service to the next less than presence_gap_s apart.
    staffing_basis: str = "distinct_hour"
    availability_by: str = "hour"  # or "all": one factor for every hour
    # What the effective-staffing search matches per hour (calibrate/effective.py MATCHES):
    # abandonment+wait (the default since issue 10's sixth look: the bank's inner splits, docs/calibration-bank.md),
    # abandonment (the default before), wait or pwait.
    availability_match: str = "abandonment+wait"
    patience: str = "km"  # or "exponential": the exponential MLE instead of Kaplan–Meier
    # Patience × a factor by the queue found on arrival (calibrate/patience_load.py; channels' patience_by_queue)
    # (the default since issue 10's ninth look: the bank's inner splits, docs/calibration-bank.md)
    patience_by_queue: bool = True
    effective: bool = True
    # After-call work the log does not show (calibrate/wrap.py): "fit", one wrap-up per answered
    # contact found by simulation before the per-hour factor; "none", the factor alone (the
    # default: the inner split cannot tell them apart on the bank; README, the bank back-test).
    wrap: str = "none"
    classes: bool = True  # reasons × routing classes with fitted queue credits, when the log has a class column
    class_patience: bool = False  # with classes: a Kaplan–Meier patience per class where it has the data
    routing_delay: bool = False  # with classes: a routing delay per class (calibrate/delays.py)
    # Replays' reason (and class) mix: "interval", each day × interval's own (calibrate/replay.py),
    # in the fit's searches and the back-test alike (the default: the bank's inner splits, docs/calibration-bank.md);
    # "period", one over the replayed days (the default before).
    replay_mix: str = "interval"
    # Replays' arrivals: "trace", the log's contacts at their times with their reasons and answered ones'
    # handle times (calibrate/replay.py; the default since issue 10's eighth look); "counts" per interval, Poisson.
    replay_arrivals: str = "trace"
    credit_steps: int = 7
    search_steps: int = 9
    search_reps: int = 2
    # Replications of the effective-staffing search's last steps (calibrate/effective.py; ≤ search_reps: none)
    refine_reps: int = 4
    seed: int = 1


@dataclass
class FitResult:
    log: ContactLog
    days: list
    options: FitOptions
    behaviour: dict  # channels, reasons, handling, pools: what a replay needs
    estimates: dict
    staffing: pd.DataFrame  # logged-in: pool, day, start_s, agents, busy_agents, distinct_agents
    availability: Availability | None
    bands: pd.DataFrame = field(default_factory=pd.DataFrame)  # handling, patience per hour band
    band_tests: list = field(default_factory=list)              # does each differ by hour band?
    scenario: dict = field(default_factory=dict)
    comments: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    credits: cl.Credits | None = None  # queue credit per routing class (calibrate/classes.py)
    wrap: WrapFit | None = None  # fitted wrap-up per answered contact (calibrate/wrap.py)

    def effective_staffing(self) -> pd.DataFrame:
        return scaled(self.staffing, self.availability) if self.availability else self.staffing


def fit(log: ContactLog, days: list | None = None, options: FitOptions = FitOptions(),
        progress: Callable[[str, int, int], None] | None = None, name: str | None = None) -> FitResult:
    """Estimate a scenario from ``log`` on ``days`` (default: all days of the log)."""
    o = options
    days = days or log.days
    say = progress or (lambda what, i, n: None)
    log = cl.classed(log) if o.classes else log  # one reason per (reason, routing class)
    c = log.contacts[log.contacts["day"].isin(days)].copy()
    channels = sorted(c["channel"].astype(str).unique())
    reasons = sorted(c["reason"].astype(str).unique())
    classes = cl.class_of(c) if "base_reason" in c and cl.has_classes(c) else {}
    notes: list[str] = []
    E: dict = {}
    say("pools and staffing", 0, 1)
    # Pools come from the original reasons: the routing classes share the agents.
    plan = ag.find_pools(cl.base_view(c), multi_reason=cl.base_view(c)["reason"].nunique() > 1)
    staff = ag.presence(c, plan, o.interval_s, o.presence_gap_s, o.staffing_basis) if c["agent"].notna().any() else None
    if staff is None or staff.empty:
        raise LogError(log.file, "agent", "(no agent ids)", "an agent column naming who answered, to estimate staffing")
    notes += plan.notes + ag.thin_pools(staff, c, plan, days)
    notes.append(f"logged-in staffing (staffing basis {o.staffing_basis}): "
                 f"{ag.basis_text(o.staffing_basis, o.presence_gap_s)}")

    say("demand", 0, 1)
    fu = est.follow_ups(c, o.redial_window_s, o.repeat_window_s, by_reason=len(reasons) > 1)
    E["follow_ups"] = fu
    share_follow = (fu["follow_up"].sum() / max(1, c["customer_id"].notna().sum()))
    # New issues: identified follow-ups are left out; unidentified contacts count as new
    # issues with the weight 1 − (share of follow-ups among identified contacts).
    weight = pd.Series(np.where(c["customer_id"].notna(), (~fu["follow_up"]).astype(float), 1.0 - share_follow),
                       index=c.index)
    volumes = est.demand_volumes(c, o.interval_s, days, weight)
    E["daily_cv"] = est.daily_cv(c, days)
    E["hours"] = est.opening_hours(c, o.interval_s, days)

    say("handling", 0, 1)
    handling, E["handling"] = fit_handling(c, channels, reasons, log.file)

    say("patience", 0, 1)
    E["patience"] = {}
    # the factor gives way to a patience per class (fitted without it; the CLI refuses both given)
    by_queue_on = o.patience_by_queue and not (o.class_patience and classes)
    if o.patience_by_queue and not by_queue_on:
        notes.append("no patience by the queue found: a patience per routing class (class_patience) is "
                     "fitted without that factor")
    channel_specs: dict = {}
    for ch in channels:
        g = c[c["channel"] == ch]
        kind = _kind(ch)
        spec: dict = {"kind": kind}
        if kind != "async":
            try:
                wait, abandoned = g["wait_s"].fillna(0).to_numpy(), (g["outcome"] == "abandoned").to_numpy()
                by_queue = pl.fit_or_note(log.contacts, ch, g.index, notes) if by_queue_on else None
                if by_queue is not None:  # the baseline: each wait ÷ its band's factor
                    wait = wait / pl.factor_of(by_queue[0], by_queue[1])
                pat = pt.fit_patience(wait, abandoned)
                E["patience"][ch] = pat
                spec["patience"] = pat.value if o.patience == "km" else {
                    "dist": "exponential", "mean": f"{est._round_s(pat.detail['exponential_mle_mean_s'])}s"}
                if by_queue is not None:  # Erlang A (backtest) keeps the waits' own exponential MLE: it has no factor
                    pat.detail["unscaled_exponential_mle_mean_s"] = round(float(g["wait_s"].fillna(0).sum()
                                                                                 / abandoned.sum()), 1)
                    E.setdefault("patience_by_queue", {})[ch] = by_queue[0]
                    spec["patience_by_queue"] = by_queue[0].spec()
            except ValueError as exc:
                notes.append(f"channel {ch}: no patience fitted ({exc}); callers never abandon")
            spec["service_level_threshold"] = "20s" if kind == "voice" else "60s"
        channel_specs[ch] = spec
    behaviour = {"channels": channel_specs, "reasons": reasons, "handling": handling,
                 "pools": cl.expand_skills(plan.skills, c), "mix_by_interval": o.replay_mix == "interval",
                 "replay_arrivals": o.replay_arrivals, "own_handles": o.replay_arrivals == "trace"}
    if classes:
        behaviour["classes"] = classes
        E["classes"] = cl.patience_by_class(c, classes).join(cl.wait_by_class(c, classes)[["wait_mean_s", "p_wait"]])
        if o.class_patience:  # before the searches: they replay with it
            cp = cl.fit_class_patience(c, classes, list(E["patience"]), o.patience)
            E["class_patience"] = cp
            behaviour["reason_patience"] = cp.by_reason
            notes.extend(cp.notes)
        if o.routing_delay:  # before the searches: they replay with it
            rd = fit_routing_delays(c, classes, list(E["patience"]), o.interval_s)
            E["routing_delay"] = rd
            behaviour["reason_delay"] = rd.by_reason
            notes.extend(rd.notes)
    elif o.routing_delay:
        notes.append("no routing delay: it is fitted per routing class, and the log has none (or --no-classes)")
    say("hour bands", 0, 1)
    per_band = [by_hour_band(c, ch) for ch in channels if channel_specs[ch]["kind"] != "async"]
    band_table = pd.concat([t for t, _ in per_band if not t.empty] or [pd.DataFrame()], ignore_index=True)
    band_tests = [test for _, tests in per_band for test in tests]

    wrap = None
    if o.effective and o.wrap == "fit":  # per-call loss first; the per-hour factor then fits on top of it
        wrap = fit_wrap(behaviour, c, staff, days, o.interval_s, steps=o.search_steps, reps=o.search_reps,
                        seed=o.seed, progress=lambda i, n: say("wrap-up", i, n))
        behaviour["wrap_up_s"] = wrap.wrap_s
    credits = None
    if classes:  # queue credits fitted with (a first, coarse) effective availability in place
        base = staff
        if o.effective and wrap is None:  # the wrap-up already matches the fit days as a whole
            first = fit_availability(behaviour, c, staff, days, o.interval_s, steps=max(3, o.search_steps // 2),
                                     reps=1, seed=o.seed, by=o.availability_by, match=o.availability_match,
                                     progress=lambda i, n: say("effective staffing (first pass)", i, n))
            base = scaled(staff, first)
        credits = cl.fit_credits(behaviour, c, base, days, o.interval_s, steps=o.credit_steps, reps=o.search_reps,
                                 seed=o.seed, two_sided=bool(behaviour.get("reason_delay")),
                                 progress=lambda i, n: say("queue credits", i, n))
        behaviour["reason_specs"] = credits.reason_specs(classes)
    availability = None
    if o.effective:  # with the classes' credits in place
        availability = fit_availability(behaviour, c, staff, days, o.interval_s, steps=o.search_steps,
                                        reps=o.search_reps, refine_reps=o.refine_reps, seed=o.seed,
                                        by=o.availability_by, match=o.availability_match,
                                        progress=lambda i, n: say("effective staffing", i, n))
    result = FitResult(log, days, o, behaviour, E, staff, availability, band_table, band_tests, notes=notes,
                       credits=credits, wrap=wrap)
    fill_scenario(result, c, volumes, fu, name or Path(log.file).stem)
    return result


def fit_handling(c: pd.DataFrame, channels: list, reasons: list, file: str) -> tuple[dict, dict]:
    """Handling per channel, and per channel × reason with ≥ ``MIN_REASON_HANDLING`` answered contacts:
    the scenario's ``handling`` and the estimates by (channel, reason or None)."""
    handling: dict = {}
    estimates: dict = {}
    for ch in channels:
        x = c.loc[(c["channel"] == ch) & (c["outcome"] == "answered"), "handle_s"].to_numpy()
        try:
            base = est.fit_handling(x)
        except ValueError as exc:
            raise LogError(file, f"handle_s of channel {ch}", f"{len(x)} answered contacts", str(exc)) from None
        estimates[(ch, None)] = base
        per = {}
        if len(reasons) > 1:
            for r in reasons:
                xr = c.loc[(c["channel"] == ch) & (c["reason"] == r) & (c["outcome"] == "answered"), "handle_s"]
                if (xr > 0).sum() >= MIN_REASON_HANDLING:
                    estimates[(ch, r)] = est.fit_handling(xr.to_numpy())
                    per[r] = estimates[(ch, r)].value
        handling[ch] = ({**per, "default": base.value} if per else base.value)
    return handling, estimates


def _kind(channel: str) -> str:
    low = channel.lower()
    if "chat" in low:
        return "chat"
    if any(w in low for w in ("mail", "social", "letter", "ticket")):
        return "async"
    return "voice"
