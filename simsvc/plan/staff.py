"""Staffing by simulation: the iterative staffing algorithm, per pool × interval.

After Feldman, Mandelbaum, Massey & Whitt (2008), "Staffing of time-varying
queues to achieve time-stable performance", Management Science 54(2): start
from the analytic (pointwise-stationary Erlang) requirement, simulate, correct
each interval's staffing from what the simulation measured in it, and repeat
until the staffing no longer changes; then confirm with fresh replications.

One iteration
    1. Simulate ``replications`` replications of the current plan. Every
       iteration uses the same root seed (common random numbers): the same
       customers arrive, so a change in an interval's result comes from the
       staffing, not from noise.
    2. For each target and each interval after the warm-up that had contacts,
       pool the replications (:mod:`simsvc.plan.metrics`) and ask how far off
       the interval is, in agents. The step comes from Erlang's sensitivity at
       the *simulated* offered rate (redials, retries and escalations included):
       agents Erlang needs for the target minus agents it needs for the value
       achieved. A miss raises by at least one; a met interval is lowered only
       when that difference says at least one agent is spare ("comfortably
       met"); a step is at most ``max(3, 30 %)`` of the interval's agents.
    3. An interval that misses again steps twice as far (up to 8 times): the
       lag of a time-varying queue makes the pointwise Erlang step too small.
    4. While any interval misses, intervals are only raised; lowering (by half
       the Erlang step, at least one agent) happens in iterations where every
       interval met its targets. An interval is never lowered to a level at
       which it was seen to miss. Levels seen to miss only rise, so raise/lower
       cycles die out and the staffing settles. If ``max_iterations`` comes
       first, the cheapest plan that met every target on the way is the answer
       (``stable`` is False); if none did, the target is out of reach: a
       PlanError names the best value reached.
    5. Intervals with fewer than ``min_contacts`` contacts per replication (the
       last minutes before closing, a trickle at night) are reported but not
       staffed for: their ratio is mostly noise (one late call is 0 % or 100 %).

Pools with availability per interval
    The simulator keeps scheduled × (1 − shrinkage) × availability on duty,
    fractional, so every scheduled agent counts: the search variable is the
    *scheduled* agents. It starts from ceil(net / ((1 − s) × a)), as
    ``requirements`` grosses up (:mod:`simsvc.plan.on_duty`); Erlang's step (in
    agents on duty) becomes ceil(step / ((1 − s) × a)) scheduled up, and a
    lowering of m on duty max(1, floor(m / ((1 − s) × a))) scheduled down. (Without
    availability the search moves whole agents on duty: the simulator rounds them,
    so scheduled levels between two on-duty counts are the same plan.) The written
    plan is the scheduled agents; its scenario extends the input, availability included.
    A need in an interval with availability 0 is refused up front; such an
    interval is never staffed for (status ``availability 0``).

Multi-skill attribution
    Each target's channel belongs to one pool: among the pools being planned,
    the one that carries most of that channel's analytic workload (its primary
    pool; ties go to file order, as in routing). When several targets share a
    pool, the pool moves by the largest step any of them asks for: it rises if
    any of its channels misses and falls only as far as the least comfortable
    one allows. Why: raising the pool that does most of a channel's work is
    what moves that channel's waits most; adding to a pool that serves the
    channel only at a lower priority mostly buys other work. Pools with no
    target channel keep their analytic requirement; pools not planned
    (``pools``) keep the scenario's schedule. Async work is never cut below
    its analytic workload (the agents it needs to clear its response target).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simsvc.config.schema import Scenario
from simsvc.plan import PlanError
from simsvc.plan.metrics import interval_metric, offered_rate
from simsvc.plan.on_duty import FUZZ, whole
from simsvc.plan.requirements import interval_labels
from simsvc.plan.scenarios import with_staffing
from simsvc.plan.staff_base import (Iteration, Progress, StaffOptions, StaffResult, erlang_step, patience_at,
                                    plan_base)
from simsvc.plan.targets import PlanTarget
from simsvc.plan.verification import verification as _verification


def staff(scenario: Scenario, targets: list[PlanTarget], options: StaffOptions = StaffOptions(),
          progress: Progress | None = None, confirm: bool = True) -> StaffResult:
    """Find per pool × interval the fewest agents whose simulation meets every target (see module doc).

    ``confirm=False`` skips the fresh replications (``verification`` is then empty):
    for a caller that goes on from the plan, as ``--overall`` does."""
    from simsvc.experiment.runner import resolve_seed, run

    base = plan_base(scenario, targets, options)
    grid, n, req, planned, primary, st = base.grid, base.n, base.requirements, base.planned, base.primary, base.streams
    net, floor, analytic = base.net, base.floor, base.analytic
    closed = base.closed
    # A pool with availability is searched in scheduled agents (every one adds (1 − s) × a on
    # duty); the others in whole agents on duty, as the simulator rounds them (module doc).
    scheduled = {p: analytic[p].copy() for p in planned if base.avail[p] is not None}

    def plan_of(p: str) -> np.ndarray:
        return scheduled[p].copy() if p in scheduled else base.scheduled(p, net[p])

    seen_miss = {p: np.full(n, -1, dtype=np.int64) for p in planned}
    streak = {p: np.zeros(n, dtype=np.int64) for p in planned}   # iterations in a row an interval missed
    best: dict[tuple[PlanTarget, int], tuple[float, int]] = {}  # best value reached, with on-duty agents

    handle = {}
    for t in targets:
        s = st[(primary[t.channel], t.channel)]
        handle[t.channel] = s.handle_s()
    seed = resolve_seed(scenario, options.seed)
    hours = np.diff(grid) / 3600.0
    iterations: list[Iteration] = []
    stable = False
    cheapest_met: tuple[float, dict[str, np.ndarray]] | None = None  # (agent hours, schedule) meeting all
    for number in range(1, options.max_iterations + 1):
        plan = {p: plan_of(p) for p in planned}
        planned_scenario = with_staffing(scenario, plan)
        result = run(planned_scenario, replications=options.replications, seed=seed, workers=options.workers,
                     keep_contacts=False,
                     progress=(lambda d, tot, k=number: progress(f"iteration {k}", d, tot)) if progress else None)
        # Whole agents on duty (with availability the fractional agent dropped): what a step is sized on.
        on_duty = {p: whole(base.on_duty(p, plan[p])) for p in planned}
        step = {p: np.full(n, np.iinfo(np.int64).min, dtype=np.int64) for p in planned}
        missed = checked = 0
        for t in targets:
            ch = scenario.channels[t.channel]
            pool = primary[t.channel]
            m = interval_metric(result.intervals, t)
            lam = offered_rate(result.intervals, t.channel, scenario.interval)
            patience = st[(pool, t.channel)].patience_s(ch.patience.mean_s if ch.patience is not None else None)
            m = m[(m["contacts"] >= options.min_contacts * m["reps"]) & ~closed[pool][m["interval"]]]
            for i, value, met in zip(m["interval"], m["value"], m["met"]):
                cur = int(on_duty[pool][i])
                key = (t, int(i))
                if key not in best or _better(t, value, best[key][0]):
                    best[key] = (float(value), cur)
                d = erlang_step(t, value, float(lam.get(i, 0.0)), float(handle[t.channel][i]),
                                ch.service_level_threshold, patience_at(patience, i), getattr(ch, "concurrency", 1))
                d = max(d, 1) if not met else min(d, 0)
                d = int(np.clip(d, -max(3, math.ceil(0.3 * cur)), max(3, math.ceil(0.3 * cur))))
                step[pool][i] = max(step[pool][i], d)
                checked += 1
                missed += not met
        changed = 0
        for p in planned:
            if p in scheduled:
                changed += _move_scheduled(scheduled[p], step[p], base.avail[p] * (1.0 - base.shrink[p]),
                                           seen_miss[p], streak[p], base.scheduled(p, floor[p]), bool(missed))
                continue
            for i in np.flatnonzero(step[p] != np.iinfo(np.int64).min):
                d, cur, new = int(step[p][i]), int(on_duty[p][i]), int(net[p][i])
                if d > 0:
                    seen_miss[p][i] = max(seen_miss[p][i], cur)
                    streak[p][i] += 1
                    new = cur + d * 2 ** min(streak[p][i] - 1, 3)   # a repeated miss: bigger steps
                else:
                    streak[p][i] = 0
                if d < 0 and not missed:   # lower only once every interval is met, by half the step
                    lowered = max(cur - max(1, -d // 2), seen_miss[p][i] + 1, int(floor[p][i]))
                    new = lowered if lowered < cur else new
                if new != net[p][i]:
                    net[p][i] = new
                    changed += 1
        agent_hours = float(sum(plan[p] @ hours for p in planned))
        iterations.append(Iteration(number, missed, checked, changed, agent_hours))
        if not missed and (cheapest_met is None or agent_hours <= cheapest_met[0]):
            cheapest_met = (agent_hours, plan)   # this iteration's schedule (net has moved on)
        if changed == 0:
            stable = True
            break
    if cheapest_met is None:
        raise PlanError(_unreached_message(scenario, targets, best, grid, len(iterations)))
    # Stable: the last plan (it met everything and nothing moved). Else the cap came
    # first: the cheapest plan that met every target on the way.
    plan = {p: plan_of(p) for p in planned} if stable else cheapest_met[1]
    planned_scenario = with_staffing(scenario, plan)
    confirm_seed = seed + 1
    on_duty = {p: base.on_duty(p, plan[p]) for p in planned}
    verification = pd.DataFrame()
    if confirm:
        fresh = run(planned_scenario, replications=options.confirm_replications, seed=confirm_seed,
                    workers=options.workers, keep_contacts=False,
                    progress=(lambda d, tot: progress("confirm", d, tot)) if progress else None)
        verification = _verification(scenario, targets, fresh.intervals, primary, on_duty, grid,
                                     options.min_contacts, closed)
    return StaffResult(
        scenario=planned_scenario, plan=plan, analytic=analytic, on_duty=on_duty, requirements=req,
        verification=verification, iterations=iterations, targets=targets, primary=primary, seed=seed,
        confirm_seed=confirm_seed, replications=options.replications,
        confirm_replications=options.confirm_replications, stable=stable)


def _move_scheduled(scheduled: np.ndarray, step: np.ndarray, keep: np.ndarray, seen_miss: np.ndarray,
                    streak: np.ndarray, lowest: np.ndarray, missed: bool) -> int:
    """Apply one iteration's steps (agents on duty) to a pool with availability, in scheduled
    agents: ``keep`` = (1 − s) × a is what one scheduled agent adds on duty. A raise of d on
    duty is ceil(d / keep) scheduled (doubled on repeated misses, as for the other pools); a
    lowering of m on duty (half the step, at least one) is max(1, floor(m / keep)) scheduled,
    never to a level seen to miss nor below the async workload. Returns the levels changed."""
    changed = 0
    for i in np.flatnonzero(step != np.iinfo(np.int64).min):
        d, cur = int(step[i]), int(scheduled[i])
        new = cur
        if d > 0:
            seen_miss[i] = max(seen_miss[i], cur)
            streak[i] += 1
            new = cur + math.ceil(d * 2 ** min(streak[i] - 1, 3) / keep[i] - FUZZ)
        else:
            streak[i] = 0
        if d < 0 and not missed:
            m = max(1, -d // 2)
            lowered = max(cur - max(1, math.floor(m / keep[i] + FUZZ)), seen_miss[i] + 1, int(lowest[i]))
            new = min(lowered, cur)
        if new != cur:
            scheduled[i] = new
            changed += 1
    return changed


def _better(t: PlanTarget, new: float, old: float) -> bool:
    return new > old if t.op == ">=" else new < old


def _unreached_message(scenario: Scenario, targets: list[PlanTarget], best: dict, grid: np.ndarray,
                       iterations: int) -> str:
    days, clocks = interval_labels(scenario, grid)
    parts = []
    for t in targets:
        misses = [(i, v, c) for (tt, i), (v, c) in best.items() if tt == t and not t.met(v)]
        if not misses:
            continue
        i, v, c = min(misses, key=lambda x: x[1]) if t.op == ">=" else max(misses, key=lambda x: x[1])
        parts.append(f"{t}: {len(misses)} intervals never met it, the worst day {days[i]} {clocks[i]} "
                     f"(best reached {v:.4g}, with {c} agents on duty in pool)")
    detail = "; ".join(parts) or "the staffing did not settle"
    return (f"no staffing found that meets every target after {iterations} iterations: {detail}. "
            "Raise --max-iterations, relax the target, or plan more pools with --pools")
