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
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from simsvc.analytic.erlang import agents_needed
from simsvc.config.schema import Scenario
from simsvc.plan import PlanError
from simsvc.plan.metrics import interval_metric, offered_rate
from simsvc.plan.on_duty import FUZZ, availability, check_available, on_duty_of, scheduled_for, whole
from simsvc.plan.requirements import ALL, interval_grid, interval_labels, requirements, streams
from simsvc.plan.scenarios import with_staffing
from simsvc.plan.targets import PlanTarget
from simsvc.plan.verification import status, verification as _verification  # noqa: F401 (status: re-exported)

Progress = Callable[[str, int, int], None]   # (stage, replications done, replications in the stage)


@dataclass(frozen=True)
class StaffOptions:
    replications: int = 4          # per iteration (common random numbers)
    confirm_replications: int = 10  # fresh replications that verify the result
    max_iterations: int = 15
    seed: int | None = None
    workers: int = 1
    pools: tuple[str, ...] | None = None  # pools to plan (default: every pool with work)
    max_occupancy: float | None = None
    min_contacts: float = 5.0  # per replication: intervals with fewer are reported, not staffed for


@dataclass
class Iteration:
    number: int
    missed: int        # target × interval pairs that missed
    checked: int       # target × interval pairs with contacts
    changed: int       # pool × interval levels changed for the next iteration
    agent_hours: float  # scheduled, planned pools


@dataclass
class StaffResult:
    scenario: Scenario            # the input with the plan applied
    plan: dict[str, np.ndarray]   # scheduled agents per planned pool × interval
    analytic: dict[str, np.ndarray]  # the Erlang plan it started from (scheduled)
    on_duty: dict[str, np.ndarray]
    requirements: pd.DataFrame
    verification: pd.DataFrame
    iterations: list[Iteration]
    targets: list[PlanTarget]
    primary: dict[str, str]        # channel -> pool its target moves
    seed: int
    confirm_seed: int
    replications: int
    confirm_replications: int
    stable: bool
    warnings: list[str] = field(default_factory=list)
    # --overall: verification is one row per target (horizon level); these add the per-interval view
    # of the same fresh replications and the scaling of the Erlang plan found per pool.
    interval_verification: pd.DataFrame | None = None
    factors: dict[str, float] | None = None

    def staffing_table(self, base: Scenario) -> pd.DataFrame:
        """pool × interval: analytic and simulated plans (scheduled), availability, on duty, cost.

        ``on_duty`` = round(scheduled × (1 − shrinkage)) without availability, and
        scheduled × (1 − shrinkage) × ``availability`` (fractional) with it."""
        grid = interval_grid(base)
        days, clocks = interval_labels(base, grid)
        hours = np.diff(grid) / 3600.0
        rows = []
        for pool, scheduled in self.plan.items():
            rate = base.agents[pool].cost_per_hour
            avail = availability(base, pool, grid)
            rows.append(pd.DataFrame({
                "pool": pool, "interval": np.arange(len(scheduled)), "start_s": grid[:-1], "day": days,
                "clock": clocks, "analytic_scheduled": self.analytic[pool], "scheduled": scheduled,
                "availability": avail if avail is not None else 1.0, "on_duty": self.on_duty[pool],
                "agent_hours": scheduled * hours, "cost": scheduled * hours * rate}))
        return pd.concat(rows, ignore_index=True)

    def totals(self, base: Scenario) -> pd.DataFrame:
        """Per planned pool: agent hours and cost of the analytic plan, the simulated plan and the input."""
        from simsvc.domain.calendar import scheduled_agent_seconds

        grid = interval_grid(base)
        hours = np.diff(grid) / 3600.0
        rows = []
        for pool, scheduled in self.plan.items():
            rate = base.agents[pool].cost_per_hour
            input_h = scheduled_agent_seconds(base, base.agents[pool], 0.0, base.horizon) / 3600.0
            a_h, s_h = float(self.analytic[pool] @ hours), float(scheduled @ hours)
            rows.append({"pool": pool, "input_agent_hours": input_h, "analytic_agent_hours": a_h,
                         "simulated_agent_hours": s_h, "input_cost": input_h * rate,
                         "analytic_cost": a_h * rate, "simulated_cost": s_h * rate})
        df = pd.DataFrame(rows)
        total = df.drop(columns="pool").sum().to_dict()
        return pd.concat([df, pd.DataFrame([{"pool": ALL, **total}])], ignore_index=True)


_GUIDE_KEYS = {"service_level": "target_service_level", "abandon_rate": "target_abandon",
               "asa_s": "target_asa_s"}
_CLAMP = {"service_level": (0.01, 0.999), "abandon_rate": (1e-4, 0.99), "asa_s": (0.1, math.inf)}


def erlang_step(target: PlanTarget, achieved: float, rate_per_s: float, handle_s: float,
                threshold_s: float, patience_s: float | None, concurrency: int) -> int:
    """Agents Erlang needs for the target minus agents it needs for the value achieved.

    Erlang C for service level and ASA (closed form, fast); Erlang A for abandonment
    (it needs a patience; without one abandonment is not a staffing question). The
    simulation's own offered rate is used, so the step is about this interval as it
    really was. 0 when Erlang cannot tell (no contacts, a value out of its reach).
    """
    if rate_per_s <= 0 or handle_s <= 0 or not math.isfinite(achieved):
        return 0
    lo, hi = _CLAMP[target.metric]
    model = "erlang_c"
    extra: dict = {"threshold_s": threshold_s}
    if target.metric == "abandon_rate":
        if patience_s is None:
            return 0
        model, extra = "erlang_a", {"threshold_s": 0.0, "mean_patience_s": patience_s}
    try:
        need = [agents_needed(model, rate_per_s, handle_s, **{_GUIDE_KEYS[target.metric]: min(max(x, lo), hi)},
                              **extra) for x in (target.value, achieved)]
    except ValueError:
        return 0
    servers = need[0] - need[1]
    return int(math.copysign(math.ceil(abs(servers) / concurrency), servers)) if servers else 0


def _primary_pools(scenario: Scenario, targets: list[PlanTarget], planned: list[str],
                   work: dict[tuple[str, str], float]) -> dict[str, str]:
    out = {}
    for channel in dict.fromkeys(t.channel for t in targets):
        candidates = [(work.get((p, channel), 0.0), -i, p) for i, p in enumerate(planned)]
        best = max(candidates)
        if best[0] <= 0:
            raise PlanError(f"no planned pool serves channel {channel!r} "
                            f"(planned pools: {', '.join(planned)}); add one with --pools")
        out[channel] = best[2]
    return out


@dataclass
class PlanBase:
    """What both staffing searches start from: the Erlang plan and who moves for which target."""

    grid: np.ndarray
    n: int
    requirements: pd.DataFrame
    planned: list[str]
    primary: dict[str, str]
    streams: dict
    shrink: dict[str, float]
    avail: dict[str, np.ndarray | None]  # mean availability per planned pool × interval (None: none)
    net: dict[str, np.ndarray]      # Erlang agents on duty per planned pool × interval
    floor: dict[str, np.ndarray]    # on duty that async work needs (never cut below)
    analytic: dict[str, np.ndarray]  # the Erlang plan, scheduled

    @property
    def closed(self) -> dict[str, np.ndarray]:
        """Per planned pool, the intervals with availability 0: nobody is on duty whatever is
        scheduled, so they are not staffed for (a need there is refused up front)."""
        return {p: (a <= 0) if a is not None else np.zeros(self.n, dtype=bool) for p, a in self.avail.items()}

    def scheduled(self, pool: str, net: np.ndarray) -> np.ndarray:
        """The fewest scheduled agents leaving ``net`` on duty (shrinkage and availability)."""
        return scheduled_for(net, self.shrink[pool], self.avail[pool])

    def on_duty(self, pool: str, scheduled: np.ndarray) -> np.ndarray:
        """Agents on duty the simulator derives from ``scheduled`` (fractional with availability)."""
        return on_duty_of(scheduled, self.shrink[pool], self.avail[pool])


def plan_base(scenario: Scenario, targets: list[PlanTarget], options: StaffOptions) -> PlanBase:
    """The Erlang requirement, the pools planned and each target channel's primary pool (module doc)."""
    if not targets:
        raise PlanError("give at least one --target such as 'service_level >= 0.8 on phone' "
                        "(or set a channel's service_level_target)")
    grid = interval_grid(scenario)
    n = len(grid) - 1
    req = requirements(scenario, targets, options.max_occupancy)
    with_work = list(dict.fromkeys(req["pool"]))
    planned = list(options.pools) if options.pools else with_work
    unknown = [p for p in planned if p not in scenario.agents]
    if unknown:
        raise PlanError(f"--pools: {', '.join(map(repr, unknown))} is not a pool "
                        f"(pools: {', '.join(scenario.agents)})")
    st = streams(scenario, grid)
    work = {k: float(np.sum(v.work)) for k, v in st.items() if v.work is not None}
    primary = _primary_pools(scenario, targets, planned, work)

    def pool_rows(pool: str, channel_kinds: tuple[str, ...] | None = None) -> np.ndarray:
        rows = req[req["pool"] == pool]
        if channel_kinds is None:
            rows = rows[rows["channel"] == ALL]
        else:
            rows = rows[rows["channel"].isin([c for c, ch in scenario.channels.items() if ch.kind in channel_kinds])]
        if rows.empty:
            return np.zeros(n)
        return rows.groupby("interval")["required_on_duty"].sum().reindex(range(n), fill_value=0.0).to_numpy()

    shrink = {p: scenario.agents[p].shrinkage for p in planned}
    avail = {p: availability(scenario, p, grid) for p in planned}
    net = {p: pool_rows(p).astype(np.int64) for p in planned}
    for p in planned:
        check_available(scenario, p, net[p], avail[p], grid, "staff")
    floor = {p: np.ceil(pool_rows(p, ("async",)) - 1e-9).astype(np.int64) for p in planned}
    # The Erlang plan grossed up as `requirements` does: ceil(net / ((1 − s) × a)).
    analytic = {p: scheduled_for(net[p], shrink[p], avail[p]) for p in planned}
    return PlanBase(grid, n, req, planned, primary, st, shrink, avail, net, floor, analytic)


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
            patience = ch.patience.mean_s if ch.patience is not None else None
            m = m[(m["contacts"] >= options.min_contacts * m["reps"]) & ~closed[pool][m["interval"]]]
            for i, value, met in zip(m["interval"], m["value"], m["met"]):
                cur = int(on_duty[pool][i])
                key = (t, int(i))
                if key not in best or _better(t, value, best[key][0]):
                    best[key] = (float(value), cur)
                d = erlang_step(t, value, float(lam.get(i, 0.0)), float(handle[t.channel][i]),
                                ch.service_level_threshold, patience, getattr(ch, "concurrency", 1))
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
