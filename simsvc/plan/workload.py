"""Workload per (pool, channel) and interval, from the forecast: what the analytic requirements
(:mod:`simsvc.plan.requirements`) and the staffing search start from.

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
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simsvc.config.schema import AGENT_KINDS, Scenario
from simsvc.plan import PlanError


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
    if scenario.demand[channel].arrivals is not None:  # a trace: its rows' reasons
        from simsvc.config.trace import trace_shares

        mix = trace_shares(scenario.demand[channel])
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
