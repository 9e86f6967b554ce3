"""Analytic requirements per pool × interval: what an Erlang calculator staffs from the forecast.

Workload streams
    Each channel's forecast, per reason, at the mean of the busyness factor (1).
    A chatbot's escalations (its forecast × (1 − containment) per reason) join
    its ``escalate_to`` channel. Redials, retries of closed-hours callers, repeat
    contacts and chases are *not* in the forecast: an Erlang calculator does not
    see them, the simulation does (one reason the two disagree).

Attribution (same rule as the simulator's routing)
    A (channel, reason) stream goes to the pool that ranks it highest in its
    skills (lowest priority level), first in file order on ties. A reason with a
    ``transfer`` adds ``probability`` × the stream to the target pool (same channel,
    that pool's handling time) when the handling pool is another one.

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

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simsvc.analytic.requirements import RealTimeTargets, async_agents, choose_model, gross_up, real_time_agents
from simsvc.config.schema import AGENT_KINDS, REAL_TIME_KINDS, Scenario
from simsvc.domain.calendar import availability_per_interval
from simsvc.plan import PlanError
from simsvc.plan.targets import PlanTarget

ALL = "all"


@dataclass
class Stream:
    """Work of one channel attributed to one pool: rates and rate-weighted handle time per interval."""

    pool: str
    channel: str
    rate_per_s: np.ndarray
    work: np.ndarray = field(default=None)  # Σ rate × handle: handle = work / rate
    waited: np.ndarray = field(default=None)  # Σ rate × mean patience, where some reason has its own

    def add(self, rate: np.ndarray, handle_s: float, patience_s: float | None = None) -> None:
        """Add a (channel, reason) stream; ``patience_s``: its mean patience where the scenario
        gives some reason a patience of its own (None: the channel's for every reason)."""
        if patience_s is not None:
            self.waited = (self.waited if self.waited is not None else np.zeros_like(rate)) + rate * patience_s
        self.rate_per_s = self.rate_per_s + rate
        self.work = (self.work if self.work is not None else np.zeros_like(rate)) + rate * handle_s

    def handle_s(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.rate_per_s > 0, self.work / self.rate_per_s, 0.0)

    def patience_s(self, channel_patience_s: float | None) -> float | np.ndarray | None:
        """Mean patience per interval: the channel's, or, where reasons have their own, their
        mean weighted by rate (Erlang A has one patience per queue: an approximation)."""
        if self.waited is None or channel_patience_s is None:
            return channel_patience_s
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.rate_per_s > 0, self.waited / self.rate_per_s, channel_patience_s)


def interval_grid(scenario: Scenario) -> np.ndarray:
    n = int(math.ceil(scenario.horizon / scenario.interval - 1e-9))
    return np.minimum(np.arange(n + 1) * scenario.interval, scenario.horizon)


def interval_labels(scenario: Scenario, grid: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Day number and HH:MM clock time of each interval's start."""
    starts = grid[:-1]
    days = (starts // 86400).astype(np.int64)
    secs = (starts - days * 86400).astype(np.int64)
    return days, [f"{s // 3600:02d}:{(s % 3600) // 60:02d}" for s in secs]


def _reason_shares(scenario: Scenario, channel: str) -> dict[str, float]:
    reasons = list(scenario.reasons)
    mix = scenario.demand[channel].mix
    if not mix:
        return {reasons[0]: 1.0}
    total = sum(mix.values())
    return {r: mix.get(r, 0.0) / total for r in reasons if mix.get(r, 0.0) > 0}


def _reason_rates(scenario: Scenario, channel: str, grid: np.ndarray) -> dict[str, np.ndarray]:
    """Forecast rate per second of each reason of ``channel`` per interval: the channel's
    rate × its mix, or, where ``volumes`` rows carry their own ``mix``, each row's volume
    split by its own shares (the channel's for a row without one)."""
    from simsvc.model.demand import expected_arrivals

    spec = scenario.demand[channel]
    length = np.diff(grid)
    shares = _reason_shares(scenario, channel)
    if not spec.row_mixes:
        rate = expected_arrivals(scenario, spec, grid) / length
        return {reason: rate * share for reason, share in shares.items()}
    out = {}
    for reason in scenario.reasons:
        rows = []
        for row in spec.volumes:
            mix = row.mix
            share = shares.get(reason, 0.0) if mix is None else mix.get(reason, 0.0) / sum(mix.values())
            rows.append(row.model_copy(update={"volume": row.volume * share}))
        rate = expected_arrivals(scenario, spec.model_copy(update={"volumes": rows}), grid) / length
        if rate.any():
            out[reason] = rate
    return out


def _reason_patience_s(scenario: Scenario, channel: str, reason: str) -> float | None:
    """Mean patience of ``reason`` on ``channel`` where some reason has a patience of its own
    (it holds on channels with a patience), else None (the channel's holds for all)."""
    own = scenario.reasons[reason].patience
    ch_patience = getattr(scenario.channels[channel], "patience", None)
    if ch_patience is None or not any(r.patience is not None for r in scenario.reasons.values()):
        return None
    return own.mean_s if own is not None else ch_patience.mean_s


def _per_reason(value, reason: str):
    if isinstance(value, dict):
        return value.get(reason, value.get("default"))
    return value


def route(scenario: Scenario, channel: str, reason: str) -> str | None:
    """The pool that ranks (channel, reason) highest, first in file order on ties."""
    best: tuple[int, int] | None = None
    chosen = None
    for order, (name, pool) in enumerate(scenario.agents.items()):
        for level, entry in enumerate(pool.skills):
            skills = entry if isinstance(entry, list) else [entry]
            if any(s.partition("/")[0] == channel and s.partition("/")[2] in ("", reason) for s in skills):
                if best is None or (level, order) < best:
                    best, chosen = (level, order), name
                break
    return chosen


def handle_time_s(scenario: Scenario, pool_name: str, channel: str, reason: str) -> float:
    """Mean time one server is held per contact: handling × proficiency (× chat slowdown) + wrap-up."""
    pool = scenario.agents[pool_name]
    dist = _per_reason(scenario.handling.get(channel), reason)
    if dist is None:
        raise PlanError(f"handling.{channel}: no handling time for reason {reason!r}")
    handle = dist.mean_s * pool.proficiency.handling
    ch = scenario.channels[channel]
    if ch.kind == "chat":
        handle *= 1.0 + ch.concurrency_slowdown * (ch.concurrency - 1)
    return handle + pool.wrap_up.mean_s


def streams(scenario: Scenario, grid: np.ndarray) -> dict[tuple[str, str], Stream]:
    """Workload per (pool, channel), attributed as the module docstring says."""
    if not scenario.demand:
        raise PlanError("requirements need a forecast (demand:); this scenario is journey mode only")
    by_queue: dict[tuple[str, str], np.ndarray] = {}  # (channel, reason) -> rate per interval

    def add(channel: str, reason: str, rate: np.ndarray) -> None:
        by_queue[(channel, reason)] = by_queue.get((channel, reason), 0.0) + rate

    for channel in scenario.demand:
        ch = scenario.channels[channel]
        for reason, rate in _reason_rates(scenario, channel, grid).items():
            if ch.kind == "bot":
                contained = _per_reason(ch.containment, reason)
                contained = 0.0 if contained is None else contained
                add(ch.escalate_to, reason, rate * (1.0 - contained))
            elif ch.kind in AGENT_KINDS:
                add(channel, reason, rate)
    out: dict[tuple[str, str], Stream] = {}
    n = len(grid) - 1

    def stream(pool: str, channel: str) -> Stream:
        return out.setdefault((pool, channel), Stream(pool, channel, np.zeros(n)))

    for (channel, reason), rate in by_queue.items():
        pool = route(scenario, channel, reason)
        if pool is None:
            raise PlanError(f"channel {channel!r}, reason {reason!r}: no pool has this skill")
        patience = _reason_patience_s(scenario, channel, reason)
        stream(pool, channel).add(rate, handle_time_s(scenario, pool, channel, reason), patience)
        transfer = scenario.reasons[reason].transfer
        if transfer is not None and transfer.to != pool:
            stream(transfer.to, channel).add(rate * transfer.probability,
                                              handle_time_s(scenario, transfer.to, channel, reason), patience)
    return out


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
    The simulation has it: ``simsvc run`` the plan, or ``simsvc staff``.
    """
    return [f"reasons.{name}.routing_delay is not in these Erlang figures (a routing step before the queue: "
            f"its contacts wait at least the step and may abandon during it); simsvc run the plan, or use "
            f"simsvc staff, which simulates it"
            for name, reason in scenario.reasons.items() if reason.routing_delay is not None]


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
