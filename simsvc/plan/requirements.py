"""Analytic requirements per pool × interval: what an Erlang calculator staffs from the forecast.

Workload streams and their attribution to pools: :mod:`simsvc.plan.workload`.

Per stream, per interval
    AHT = handling mean × pool proficiency + wrap-up mean (mixed over reasons by
    rate, each interval's own mix where ``volumes`` rows carry one). Chat: a server
    is a chat slot, handling × (1 + slowdown × (concurrency − 1)) (every slot busy:
    the conservative end), agents = ceil(slots / concurrency).
    Erlang A with the patience's mean where the channel has one (where reasons have
    their own patience, their means weighted by rate per interval), Erlang C
    otherwise, Erlang B for ``queue_capacity: 0``. Async: workload within the
    response target (:func:`simsvc.analytic.requirements.async_agents`).
    A real-time channel needs nobody in an interval in which it is closed.

Pool total: Σ streams (async unrounded) rounded up = agents on duty; scheduled
agents = ceil(on duty / ((1 − shrinkage) × availability)), with the pool's mean
availability in the interval (1 without ``availability``); an interval with
availability 0 cannot be staffed: its scheduled requirement is NaN.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from simsvc.analytic.requirements import RealTimeTargets, async_agents, choose_model, gross_up, real_time_agents
from simsvc.config.schema import REAL_TIME_KINDS, Scenario
from simsvc.domain.calendar import availability_per_interval
from simsvc.plan import PlanError
from simsvc.plan.targets import PlanTarget
# The workload streams; the grid, labels and streams are re-exported for staff, roster and the tests.
from simsvc.plan.workload import interval_grid, interval_labels, streams  # noqa: F401

ALL = "all"


def _open_mask(scenario: Scenario, channel: str, grid: np.ndarray) -> np.ndarray:
    """Whether a real-time channel is open at some point of each interval (checked each minute)."""
    from simsvc.domain.calendar import OpeningHours

    hours = OpeningHours(scenario, scenario.channels[channel].hours)
    if hours.always:
        return np.ones(len(grid) - 1, dtype=bool)
    return np.array([any(hours.is_open(t) for t in np.arange(a, b, 60.0)) for a, b in zip(grid[:-1], grid[1:])])


def channel_targets(targets: list[PlanTarget], channel: str, scenario: Scenario,
                    max_occupancy: float | None) -> RealTimeTargets:
    ch = scenario.channels[channel]
    kw: dict = {"threshold_s": ch.service_level_threshold, "occupancy_max": max_occupancy}
    for t in targets:
        if t.channel == channel:
            key = {"service_level": "service_level", "abandon_rate": "abandon_rate", "asa_s": "asa_s"}[t.metric]
            current = kw.get(key)
            tighter = max if t.metric == "service_level" else min
            kw[key] = t.value if current is None else tighter(current, t.value)
    return RealTimeTargets(**kw)


def requirements(scenario: Scenario, targets: list[PlanTarget], max_occupancy: float | None = None,
                 max_servers: int = 10000, untargeted: str = "error") -> pd.DataFrame:
    """Per pool × channel × interval (and per pool with channel ``all``) analytic agents.

    Columns: ``pool, channel, interval, start_s, day, clock, model, arrivals`` (expected
    contacts in the interval), ``aht_s``, ``required_on_duty`` (net agents; fractional
    for async channels), ``required_scheduled`` (grossed up for the pool's shrinkage and availability).
    """
    grid = interval_grid(scenario)
    length = np.diff(grid)
    days, clocks = interval_labels(scenario, grid)
    frames = []
    totals: dict[str, np.ndarray] = {}
    avail: dict[str, np.ndarray] = {}
    for (pool_name, channel), st in sorted(streams(scenario, grid).items(),
                                           key=lambda kv: (list(scenario.agents).index(kv[0][0]),
                                                           list(scenario.channels).index(kv[0][1]))):
        ch = scenario.channels[channel]
        handle = st.handle_s()
        rate = st.rate_per_s
        if ch.kind in REAL_TIME_KINDS:
            rate = np.where(_open_mask(scenario, channel, grid), rate, 0.0)
            goals = channel_targets(targets, channel, scenario, max_occupancy)
            if not goals.any() and untargeted == "nan":
                net = np.full(len(rate), np.nan)
                model = ""
            elif not goals.any():
                raise PlanError(f"channel {channel!r} has no target: give --target 'service_level >= 0.8 "
                                f"on {channel}' (or set channels.{channel}.service_level_target), "
                                "or --max-occupancy")
            else:
                patience = st.patience_s(ch.patience.mean_s if ch.patience is not None else None)
                model = choose_model(patience, ch.queue_capacity)
                try:
                    net = real_time_agents(rate, handle, goals, model=model, mean_patience_s=patience,
                                           concurrency=getattr(ch, "concurrency", 1), max_servers=max_servers)
                except ValueError as exc:
                    raise PlanError(f"pool {pool_name!r}, channel {channel!r}: {exc}") from None
                net = net.astype(float)
        else:
            model = "workload"
            net = async_agents(rate, handle, scenario.interval, ch.response_target, max_occupancy)
        shrink = scenario.agents[pool_name].shrinkage
        if pool_name not in avail:
            avail[pool_name] = availability_per_interval(scenario, scenario.agents[pool_name], grid)
        totals[pool_name] = totals.get(pool_name, np.zeros(len(net))) + net
        frames.append(pd.DataFrame({
            "pool": pool_name, "channel": channel, "interval": np.arange(len(net)), "start_s": grid[:-1],
            "day": days, "clock": clocks, "model": model, "arrivals": rate * length, "aht_s": handle,
            "required_on_duty": net, "required_scheduled": _gross(net, shrink, avail[pool_name]),
        }))
    for pool_name, net in totals.items():
        on_duty = np.ceil(net - 1e-9)
        frames.append(pd.DataFrame({
            "pool": pool_name, "channel": ALL, "interval": np.arange(len(net)), "start_s": grid[:-1],
            "day": days, "clock": clocks, "model": "", "arrivals": np.nan, "aht_s": np.nan,
            "required_on_duty": on_duty,
            "required_scheduled": _gross(on_duty, scenario.agents[pool_name].shrinkage, avail[pool_name]),
        }))
    df = pd.concat(frames, ignore_index=True)
    if df["required_scheduled"].notna().all():
        df["required_scheduled"] = df["required_scheduled"].astype(np.int64)
    return df


def _gross(net: np.ndarray, shrinkage: float, availability: np.ndarray) -> np.ndarray:
    """Scheduled agents for ``net`` on duty: ceil(net / ((1 − shrinkage) × availability)).

    NaN stays NaN; so is a need in an interval with availability 0 (no schedule meets it).
    """
    known = np.isfinite(net)
    out = np.full(len(net), np.nan)
    need = np.ceil(net[known] - 1e-9)
    if np.all(availability == 1.0):  # the plain shrinkage gross-up, to the bit
        out[known] = gross_up(need, shrinkage)
        return out
    a = availability[known]
    gross = np.full(len(need), np.nan)
    gross[need <= 0] = 0.0
    ok = (need > 0) & (a > 0)
    gross[ok] = gross_up(need[ok] / a[ok], shrinkage)
    out[known] = gross
    return out


def per_channel_on_duty(req: pd.DataFrame) -> pd.DataFrame:
    """Agents on duty an Erlang calculator wants per channel × interval (summed over pools)."""
    rows = req[req["channel"] != ALL]
    return rows.groupby(["channel", "interval"], as_index=False, observed=True)["required_on_duty"].sum()


def erlang_blind_spots(scenario: Scenario) -> list[str]:
    """What of ``scenario`` these Erlang figures leave out and the user must be told of.

    A reason's ``routing_delay`` is a step before the queue that no Erlang model has: its
    contacts wait at least the step and some abandon during it, so the plan is optimistic
    for them (and a service level threshold shorter than the step cannot be met at all).
    A channel's ``patience_by_queue`` scales patience by the queue found, which Erlang A's
    one patience per queue cannot. The simulation has both: ``simsvc run`` the plan, or
    ``simsvc staff``.
    """
    return [f"reasons.{name}.routing_delay is not in these Erlang figures (a routing step before the queue: "
            f"its contacts wait at least the step and may abandon during it); simsvc run the plan, or use "
            f"simsvc staff, which simulates it"
            for name, reason in scenario.reasons.items() if reason.routing_delay is not None] + [
        f"channels.{name}.patience_by_queue is not in these Erlang figures (they use the patience as drawn, "
        f"without the factor of the queue found); simsvc run the plan, or use simsvc staff, which simulates it"
        for name, ch in scenario.channels.items() if getattr(ch, "patience_by_queue", None) is not None]


def erlang_plan(req: pd.DataFrame) -> tuple[dict[str, np.ndarray], list[str]]:
    """The Erlang plan of a requirements table: scheduled agents per pool × interval, and one
    note per pool that needs agents where its availability is 0 (``required_scheduled`` NaN:
    no schedule puts anyone on duty there, so the plan schedules nobody)."""
    plan, unplannable = {}, []
    for pool, rows in req[req["channel"] == ALL].groupby("pool", sort=False):
        rows = rows.sort_values("interval")
        scheduled = rows["required_scheduled"].to_numpy(dtype=float)
        gap = rows[np.isnan(scheduled)]
        if len(gap):
            first = gap.iloc[0]
            more = f" and {len(gap) - 1} more" if len(gap) > 1 else ""
            unplannable.append(f"pool {pool!r}, day {first['day']} {first['clock']} (interval "
                               f"{first['interval']}){more}: agents needed on duty but availability 0, "
                               "so the Erlang plan schedules nobody there")
        plan[pool] = np.nan_to_num(scheduled, nan=0.0).astype(np.int64)
    return plan, unplannable


def plan_totals(scenario: Scenario, req: pd.DataFrame) -> pd.DataFrame:
    """Per pool: peak scheduled agents, scheduled agent hours and cost of the analytic plan."""
    rows = []
    for pool, r in req[req["channel"] == ALL].groupby("pool", sort=False):
        hours = float((r["required_scheduled"] * scenario.interval).sum() / 3600.0)
        rows.append({"pool": pool, "peak_scheduled": int(r["required_scheduled"].max()),
                     "agent_hours": hours, "cost": hours * scenario.agents[pool].cost_per_hour})
    df = pd.DataFrame(rows)
    total = {"pool": ALL, "peak_scheduled": "", "agent_hours": df["agent_hours"].sum(), "cost": df["cost"].sum()}
    return pd.concat([df, pd.DataFrame([total])], ignore_index=True)


def required_columns(scenario: Scenario, intervals: pd.DataFrame, pools: pd.DataFrame
                     ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``intervals`` and ``pools`` tables with a ``required_on_duty`` column each.

    The agents on duty an Erlang calculator would staff for the scenario's own
    ``service_level_target`` of each real-time channel (NaN for a channel without one,
    and for a pool serving it), per channel (summed over pools) and per pool, so a run
    shows where the analytic answer and the simulation disagree. Bots: NaN.
    """
    tables = required_columns_adder(scenario)({"intervals": intervals, "pools": pools})
    return tables["intervals"], tables["pools"]


def required_columns_adder(scenario: Scenario):
    """A function that adds ``required_on_duty`` to a replication's ``intervals`` and
    ``pools`` tables (see :func:`required_columns`); the requirement is computed once,
    on first use, however many replications pass through."""
    from simsvc.plan.targets import with_scenario_targets

    cache: dict[str, object] = {}

    def lookup():
        if "req" not in cache:
            try:
                req = requirements(scenario, with_scenario_targets([], scenario), untargeted="nan")
            except PlanError:   # e.g. a target no staffing meets: the run itself is still valid
                cache["req"] = None
            else:
                cache["req"] = (
                    req[req["channel"] != ALL].groupby(["channel", "interval"])["required_on_duty"].sum(min_count=1),
                    req[req["channel"] == ALL].set_index(["pool", "interval"])["required_on_duty"])
        return cache["req"]

    def add(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        intervals, pools = tables["intervals"], tables["pools"]
        if not scenario.demand or intervals.empty:
            return tables
        found = lookup()
        if found is None:
            intervals = intervals.assign(required_on_duty=np.nan)
            pools = pools.assign(required_on_duty=np.nan) if not pools.empty else pools
        else:
            per_channel, per_pool = found
            key = pd.MultiIndex.from_arrays([intervals["channel"].astype(str), intervals["interval"]])
            intervals = intervals.assign(required_on_duty=per_channel.reindex(key).to_numpy())
            if not pools.empty:
                key = pd.MultiIndex.from_arrays([pools["pool"].astype(str), pools["interval"]])
                pools = pools.assign(required_on_duty=per_pool.reindex(key).to_numpy())
        return {**tables, "intervals": intervals, "pools": pools}

    return add
