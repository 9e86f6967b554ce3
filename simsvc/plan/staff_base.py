"""What every staffing search shares: options, result, the Erlang start and the Erlang step.

:func:`simsvc.plan.staff.staff` (every interval), :mod:`simsvc.plan.staff_overall`
(over the horizon) and :mod:`simsvc.plan.staff_shifts` (shifts) all start from the
pointwise-stationary Erlang plan (:func:`plan_base`: the requirement per pool ×
interval, the pools planned and each target channel's primary pool), size a
correction with Erlang's sensitivity (:func:`erlang_step`), and return a
:class:`StaffResult`. Why these rules: the algorithm's description in
:mod:`simsvc.plan.staff`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from simsvc.analytic.staffing import agents_needed
from simsvc.config.schema import Scenario
from simsvc.plan import PlanError
from simsvc.plan.on_duty import availability, check_available, on_duty_of, scheduled_for
from simsvc.plan.requirements import ALL, interval_grid, interval_labels, requirements, streams
from simsvc.plan.targets import PlanTarget

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


def patience_at(patience_s, i: int) -> float | None:
    """Interval ``i``'s mean patience from a stream's (one value, one per interval, or None)."""
    return patience_s if patience_s is None or np.ndim(patience_s) == 0 else float(patience_s[i])


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
    """The Erlang requirement, the pools planned and each target channel's primary pool
    (why that pool: :mod:`simsvc.plan.staff`, "Multi-skill attribution")."""
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
