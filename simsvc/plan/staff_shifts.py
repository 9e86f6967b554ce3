"""A shift plan that meets per-interval targets in simulation: requirements → roster → simulate → raise.

One iteration
    1. Roster the current requirement (agents on duty per pool × interval) under
       the rules (:mod:`simsvc.plan.roster`); the first requirement is the
       analytic (Erlang) one.
    2. Simulate the rostered scenario, ``replications`` replications, the same
       root seed every iteration (common random numbers: a change in an
       interval's result comes from the shifts, not from noise).
    3. Every target × interval after the warm-up with enough contacts is checked
       as ``simsvc staff`` checks it (:func:`simsvc.plan.metrics.interval_metric`).
       Where it misses, that interval's requirement becomes the agents the
       roster had on duty there plus the step the staff algorithm takes
       (:func:`simsvc.plan.staff_base.erlang_step`: Erlang's sensitivity at the
       simulated offered rate, at least one, at most max(3, 30 %), doubled for
       each repeated miss up to 8×). Requirements only rise: a roster already
       over-covers most intervals (shifts are longer than peaks), and lowering
       an interval rarely changes which shifts are cheapest.
    4. Stop when every checked interval meets every target, or after
       ``max_iterations``; then the plan with the fewest misses (the cheaper on
       ties) is the answer, and the result says it is not met.
    Finally the plan is confirmed with ``confirm_replications`` fresh
    replications (seed + 1), as ``simsvc staff`` does.

For a pool with availability per interval the on-duty level read back is the
simulator's fractional one, so raising it by d raises the scheduled requirement
by ceil(d / ((1 − shrinkage) × availability)) (:mod:`simsvc.plan.roster`).

Attribution of a channel's miss to a pool is ``simsvc staff``'s: the planned
pool that carries most of the channel's analytic workload.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simsvc.config.schema import Scenario
from simsvc.plan.metrics import interval_metric, offered_rate
from simsvc.plan.roster import Roster, RosterOptions, roster
from simsvc.plan.roster_io import pool_on_duty, rostered_scenario
from simsvc.plan.rules import Rules
from simsvc.plan.staff_base import Progress, StaffOptions, erlang_step, patience_at, plan_base
from simsvc.plan.targets import PlanTarget
from simsvc.plan.verification import verification as _verification


@dataclass
class ShiftIteration:
    number: int
    missed: int         # target × interval pairs that missed
    checked: int        # target × interval pairs with enough contacts
    raised: int         # pool × interval requirements raised for the next iteration
    paid_hours: float
    cost: float


@dataclass
class ShiftStaffResult:
    scenario: Scenario                 # the input with the rostered shifts
    roster: Roster
    requirement: dict[str, np.ndarray]  # the (raised) on-duty requirement the roster covers
    analytic: dict[str, np.ndarray]    # the Erlang requirement it started from (on duty)
    requirements: pd.DataFrame
    verification: pd.DataFrame
    iterations: list[ShiftIteration]
    targets: list[PlanTarget]
    primary: dict[str, str]
    seed: int
    confirm_seed: int
    replications: int
    confirm_replications: int
    met: bool                          # every checked interval met every target in the iterations


def staff_shifts(scenario: Scenario, targets: list[PlanTarget], rules: Rules,
                 options: StaffOptions = StaffOptions(), roster_options: RosterOptions = RosterOptions(),
                 progress: Progress | None = None) -> ShiftStaffResult:
    """Shifts under ``rules`` whose simulation meets every target in every interval (see module doc)."""
    from simsvc.experiment.runner import resolve_seed, run

    base = plan_base(scenario, targets, options)   # targets, pools and primary pools as `staff` has them
    grid, n, req, planned, primary, st = base.grid, base.n, base.requirements, base.planned, base.primary, base.streams
    net = {p: base.net[p].astype(float) for p in planned}   # the Erlang requirement, on duty
    analytic = {p: v.copy() for p, v in net.items()}
    handle = {t.channel: st[(primary[t.channel], t.channel)].handle_s() for t in targets}
    seed = resolve_seed(scenario, options.seed)
    streak = {p: np.zeros(n, dtype=np.int64) for p in planned}
    iterations: list[ShiftIteration] = []
    best: tuple[tuple[int, float], Roster, Scenario, dict] | None = None
    met = False
    for number in range(1, options.max_iterations + 1):
        plan = roster(scenario, rules, net, roster_options)
        rostered = rostered_scenario(scenario, plan)
        result = run(rostered, replications=options.replications, seed=seed, workers=options.workers,
                     keep_contacts=False,
                     progress=(lambda d, tot, k=number: progress(f"iteration {k}", d, tot)) if progress else None)
        on_duty = {p: _on_duty(rostered, p) for p in planned}
        step = {p: np.zeros(n, dtype=np.int64) for p in planned}
        missed = checked = 0
        for t in targets:
            ch = scenario.channels[t.channel]
            pool = primary[t.channel]
            m = interval_metric(result.intervals, t)
            m = m[(m["contacts"] >= options.min_contacts * m["reps"]) & ~base.closed[pool][m["interval"]]]
            lam = offered_rate(result.intervals, t.channel, scenario.interval)
            patience = st[(pool, t.channel)].patience_s(ch.patience.mean_s if ch.patience is not None else None)
            for i, value, ok in zip(m["interval"], m["value"], m["met"]):
                checked += 1
                if ok:
                    continue
                missed += 1
                cur = on_duty[pool][i]
                d = erlang_step(t, value, float(lam.get(i, 0.0)), float(handle[t.channel][i]),
                                ch.service_level_threshold, patience_at(patience, i), getattr(ch, "concurrency", 1))
                d = int(min(max(d, 1), max(3, math.ceil(0.3 * cur))))
                step[pool][i] = max(step[pool][i], d)
        cost = sum(pr.cost for pr in plan.pools.values())
        paid = sum(pr.paid_hours for pr in plan.pools.values())
        score = (missed, cost)
        if best is None or score < best[0]:
            best = (score, plan, rostered, {p: v.copy() for p, v in net.items()})
        raised = 0
        for p in planned:
            for i in np.flatnonzero(step[p] > 0):
                streak[p][i] += 1
                new = on_duty[p][i] + step[p][i] * 2 ** min(streak[p][i] - 1, 3)   # a repeated miss: bigger steps
                if new > net[p][i]:
                    net[p][i] = new
                    raised += 1
        iterations.append(ShiftIteration(number, missed, checked, raised, paid, cost))
        if missed == 0:
            met = True
            break
    _, plan, rostered, requirement = best
    confirm_seed = seed + 1
    confirm = run(rostered, replications=options.confirm_replications, seed=confirm_seed, workers=options.workers,
                  keep_contacts=False, progress=(lambda d, tot: progress("confirm", d, tot)) if progress else None)
    on_duty = {p: _on_duty(rostered, p) for p in planned}
    verification = _verification(scenario, targets, confirm.intervals, primary, on_duty, grid, options.min_contacts,
                                 base.closed)
    return ShiftStaffResult(
        scenario=rostered, roster=plan, requirement=requirement, analytic=analytic, requirements=req,
        verification=verification, iterations=iterations, targets=targets, primary=primary, seed=seed,
        confirm_seed=confirm_seed, replications=options.replications,
        confirm_replications=options.confirm_replications, met=met)


def _on_duty(rostered: Scenario, pool: str) -> np.ndarray:
    """Agents on duty per interval as the simulator runs the roster: whole agents (rounded mean)
    without availability; with it the fractional level, so that raising it by d agents raises
    the gross requirement ceil(on duty / ((1 − s) × a)) by ceil(d / ((1 − s) × a)) exactly."""
    level = pool_on_duty(rostered, pool)
    if rostered.agents[pool].availability is None:
        return np.round(level).astype(np.int64)
    return level
