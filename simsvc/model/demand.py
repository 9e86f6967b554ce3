"""Forecast-mode demand: piecewise-constant rates per channel and Poisson arrivals.

A forecast is turned into ``RatePieces`` (start, length, rate) covering the horizon;
arrivals are a non-homogeneous Poisson process drawn piece by piece with numpy
(count ~ Poisson(rate × length), times uniform within the piece), which is exact
for piecewise-constant rates and costs nothing inside the event loop.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from simsvc.config.identity_cache import IdentityCache
from simsvc.config.schema import DemandSpec, Scenario
from simsvc.domain import rates
from simsvc.domain.calendar import DAY_S
from simsvc.domain.rates import horizon_pieces
from simsvc.domain.randomness import BlockSampler, Streams

if TYPE_CHECKING:
    from simsvc.model.channels import ChannelState


@dataclass(frozen=True)
class RatePieces:
    start_s: np.ndarray
    length_s: np.ndarray
    rate_per_s: np.ndarray

    def expected(self) -> float:
        return float(np.sum(self.length_s * self.rate_per_s))


def rate_pieces(scenario: Scenario, spec: DemandSpec, day_factors: np.ndarray) -> RatePieces:
    """The channel's rate as pieces over [0, horizon), each day scaled by ``day_factors``."""
    pieces = horizon_pieces(scenario, spec, day_factors)
    return RatePieces(*(np.array([p[k] for p in pieces], dtype=float) for k in range(3)))


def day_factors(scenario: Scenario, streams: Streams, channels: list[str]) -> dict[str, np.ndarray]:
    """Busyness factor per channel per day: gamma with mean 1 and cv ``daily_cv`` (or all 1)."""
    n_days = int(np.ceil(scenario.horizon / DAY_S))
    cv = scenario.demand_uncertainty.daily_cv
    if cv <= 0:
        return {c: np.ones(n_days) for c in channels}
    shape = 1.0 / cv**2
    if scenario.demand_uncertainty.shared:
        f = streams.generator("busyness").gamma(shape, 1.0 / shape, n_days)
        return {c: f for c in channels}
    return {c: streams.generator(f"busyness/{c}").gamma(shape, 1.0 / shape, n_days) for c in channels}


def poisson_arrivals(pieces: RatePieces, rng: np.random.Generator) -> np.ndarray:
    """Sorted arrival times of a Poisson process with piecewise-constant rate."""
    counts = rng.poisson(pieces.rate_per_s * pieces.length_s)
    total = int(counts.sum())
    times = np.repeat(pieces.start_s, counts) + rng.random(total) * np.repeat(pieces.length_s, counts)
    times.sort()
    return times


@dataclass(frozen=True)
class Arrivals:
    """First contacts of new issues, merged over channels in time order."""

    time_s: np.ndarray
    channel: np.ndarray  # index into the scenario's channel list
    reason: np.ndarray  # index into the scenario's reason list
    # A trace's own handling time per arrival (NaN: drawn), None when no trace gives any.
    handle_s: np.ndarray | None = None


def expected_arrivals(scenario: Scenario, spec: DemandSpec, grid: np.ndarray) -> np.ndarray:
    """Expected arrivals of ``spec`` in each interval of ``grid`` (seconds) with every
    day's busyness factor at its mean of 1 (:func:`simsvc.domain.rates.expected_arrivals`)."""
    return np.array(rates.expected_arrivals(scenario, spec, np.asarray(grid, dtype=float).tolist()), dtype=float)


def forecast_arrivals(scenario: Scenario, streams: Streams) -> Arrivals:
    channels = list(scenario.channels)
    reasons = list(scenario.reasons)
    factors = day_factors(scenario, streams, list(scenario.demand))
    times, chans, rsns, handles = [], [], [], []
    for name, spec in scenario.demand.items():
        c = channels.index(name)
        if spec.arrivals is not None:  # a trace: exactly its contacts (config/trace.py)
            t, r_idx, h = trace_arrivals(scenario, spec, reasons, streams.generator(f"reasons/{name}"))
            times.append(t)
            chans.append(np.full(len(t), c, dtype=np.int16))
            rsns.append(r_idx.astype(np.int16))
            handles.append(h)
            continue
        t = poisson_arrivals(rate_pieces(scenario, spec, factors[name]), streams.generator(f"arrivals/{name}"))
        handles.append(None)
        if spec.row_mixes:
            r_idx = _row_mix_reasons(scenario, spec, t, reasons, streams.generator(f"reasons/{name}"))
        elif spec.mix:
            p = np.array([spec.mix.get(r, 0.0) for r in reasons])
            r_idx = streams.generator(f"reasons/{name}").choice(len(reasons), size=len(t), p=p / p.sum())
        else:  # a single reason (validation requires a mix otherwise)
            r_idx = np.zeros(len(t), dtype=np.int64)
        times.append(t)
        chans.append(np.full(len(t), c, dtype=np.int16))
        rsns.append(r_idx.astype(np.int16))
    if not times:  # journey mode only: customers open every issue
        return Arrivals(np.empty(0), np.empty(0, dtype=np.int16), np.empty(0, dtype=np.int16))
    t_all = np.concatenate(times)
    order = np.argsort(t_all, kind="stable")
    h_all = None
    if any(h is not None and not np.isnan(h).all() for h in handles):
        h_all = np.concatenate([np.full(len(t), np.nan) if h is None else h for t, h in zip(times, handles)])[order]
    return Arrivals(t_all[order], np.concatenate(chans)[order], np.concatenate(rsns)[order], h_all)


def trace_arrivals(scenario: Scenario, spec: DemandSpec, reasons: list[str],
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A trace's arrival times (sorted, rows at the same time in their order), reasons (a row's
    own, else drawn from the channel's mix on the channel's reason stream, one draw per such row
    in time order) and handling times (NaN where the row gives none)."""
    t, r_idx, h = _trace_columns(spec, reasons)
    r_idx = r_idx.copy()
    missing = r_idx < 0
    if missing.any():
        if spec.mix:
            p = np.array([spec.mix.get(r, 0.0) for r in reasons])
            r_idx[missing] = rng.choice(len(reasons), size=int(missing.sum()), p=p / p.sum())
        else:  # a single reason (validation requires a mix otherwise)
            r_idx[missing] = 0
    return t, r_idx, h


_TRACE_COLUMNS: IdentityCache[tuple[np.ndarray, np.ndarray, np.ndarray]] = IdentityCache(16)


def _trace_columns(spec: DemandSpec, reasons: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A trace's rows as arrays in time order: times, reason numbers (−1: none) and handling
    times (NaN: none); read once per spec (it is frozen; a replay runs it many times)."""
    from simsvc.config.trace import start_seconds

    def columns() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = spec.arrivals
        t = np.array([row.day * DAY_S + start_seconds(row.start) for row in rows], dtype=float)
        order = np.argsort(t, kind="stable")
        code = {r: j for j, r in enumerate(reasons)}
        r_idx = np.array([-1 if row.reason is None else code[row.reason] for row in rows], dtype=np.int64)
        h = np.array([np.nan if row.handle is None else row.handle for row in rows], dtype=float)
        return t[order], r_idx[order], h[order]

    return _TRACE_COLUMNS.get(spec, tuple(reasons), columns)


def _row_mix_reasons(scenario: Scenario, spec: DemandSpec, t: np.ndarray, reasons: list[str],
                     rng: np.random.Generator) -> np.ndarray:
    """Reasons of arrivals ``t`` where ``volumes`` rows carry their own mix: each arrival takes the
    shares of the row it falls in (the channel's mix for a row without one), one uniform each."""
    default = [spec.mix.get(r, 0.0) for r in reasons] if spec.mix else [1.0] + [0.0] * (len(reasons) - 1)
    u = rng.random(len(t))
    out = np.zeros(len(t), dtype=np.int64)
    day = (t // DAY_S).astype(np.int64)
    for d in np.unique(day).tolist():
        todays = rates.day_rows(scenario, spec, d)   # the rows the arrivals were drawn from
        if not todays:
            continue
        starts = np.array([start for start, _ in todays])
        cum = np.cumsum([[row.mix.get(r, 0.0) for r in reasons] if row.mix is not None else default
                         for _, row in todays], axis=1)
        cum /= cum[:, -1:]
        on = day == d
        k = np.maximum(np.searchsorted(starts, t[on] - d * DAY_S, side="right") - 1, 0)
        out[on] = np.minimum((u[on, None] >= cum[k]).sum(axis=1), len(reasons) - 1)
    return out


def arrival_chunk(arr: Arrivals, k0: int, k1: int, channels: list[ChannelState] | None,
                  u_resolve: BlockSampler) -> list[tuple]:
    """Arrivals ``k0`` to ``k1`` as tuples of plain Python numbers for the event loop:
    (time, channel, reason), and with ``channels`` (forecast mode) their (handling,
    resolution uniform, patience) and issue id (there only these arrivals open issues, in order).

    The numbers are drawn here, a chunk at a time. In forecast mode only new issues'
    first contacts draw from these streams, and they arrive in a fixed order, so
    drawing each stream's numbers for a chunk at once (``take`` hands out exactly the
    numbers one call per contact would) gives every contact the numbers it would have
    drawn on arrival, and memory holds one chunk, not the whole run. Journey mode
    interleaves proactive contacts on the same streams, so it draws on arrival.
    """
    if k0 >= k1:
        return []
    t = arr.time_s[k0:k1]
    chan = arr.channel[k0:k1]
    reason = arr.reason[k0:k1]
    if channels is None:
        return list(zip(t.tolist(), chan.tolist(), reason.tolist()))
    n = k1 - k0
    handle = np.empty(n)
    patience = np.full(n, np.nan)
    for c, ch in enumerate(channels):
        on_c = chan == c
        if not on_c.any():
            continue
        for r, sampler in enumerate(ch.handling):
            m = on_c & (reason == r)
            handle[m] = sampler.take(int(m.sum()))
        if ch.patience_by_reason is not None:  # some reasons have their own patience
            for r, sampler in enumerate(ch.patience_by_reason):
                if sampler is not ch.patience:
                    m = on_c & (reason == r)
                    patience[m] = sampler.take(int(m.sum()))
                    on_c = on_c & ~m  # the rest draw from the channel's stream, in order
        if ch.patience is not None:
            patience[on_c] = ch.patience.take(int(on_c.sum()))
    if arr.handle_s is not None:  # a trace's own handling times replace the draws (drawn all the same)
        own = np.asarray(arr.handle_s[k0:k1])
        handle = np.where(np.isnan(own), handle, own)
    uniform = u_resolve.take(n)
    return list(zip(t.tolist(), chan.tolist(), reason.tolist(), handle.tolist(), uniform.tolist(),
                    patience.tolist(), range(k0, k1)))
