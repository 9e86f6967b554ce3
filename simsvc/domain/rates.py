"""The demand's rate within each day: pure arithmetic the model (arrivals) and the checks
(expected contacts, without numpy, so `simsvc check` starts fast) both use.

Plain Python floats; where numpy would sum an array, :func:`pairwise_sum` adds in numpy's
order, so the model's arrays built from these pieces are the same bits either way.
"""
from __future__ import annotations

import math

from simsvc.config.identity_cache import IdentityCache
from simsvc.config.schema import DAYS, DemandSpec, Scenario
from simsvc.config.units import parse_clock
from simsvc.domain.calendar import DAY_S, weekday


def pairwise_sum(values: list[float]) -> float:
    """Sum in numpy's order (``np.sum`` of a float64 array: pairwise, 8-way unrolled blocks)."""
    return _pairwise(values, 0, len(values)) if values else 0.0


def _pairwise(a: list[float], lo: int, n: int) -> float:
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    if n <= 128:
        r = a[lo:lo + 8]
        i = 8
        while i < n - n % 8:
            for j in range(8):
                r[j] += a[lo + i + j]
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for k in range(lo + i, lo + n):
            res += a[k]
        return res
    half = n // 2
    half -= half % 8
    return _pairwise(a, lo, half) + _pairwise(a, lo + half, n - half)


def day_pieces(scenario: Scenario, spec: DemandSpec, day: int) -> list[tuple[float, float, float]]:
    """(start, end, rate per second) of the channel's demand within day ``day``, clock seconds."""
    dow = weekday(scenario, day)
    if spec.rate is not None:
        return [(0.0, DAY_S, spec.rate)]
    if spec.daily_volume is not None:
        volume = spec.daily_volume * (spec.weekly[dow] if spec.weekly else 1.0)
        weights = [float(w) for w in spec.intraday] if spec.intraday else [1.0]
        slot = DAY_S / len(weights)
        total = pairwise_sum(weights)
        return [(k * slot, (k + 1) * slot, volume * (w / total) / slot) for k, w in enumerate(weights)]
    if spec.arrivals is not None:  # a trace: its contacts per interval, spread over the interval
        step = scenario.interval
        return [(start, min(start + step, DAY_S), n / (min(start + step, DAY_S) - start))
                for start, n in _trace_counts(scenario, spec).get(day, [])]
    marks = [(start, r.volume) for start, r in day_rows(scenario, spec, day)]
    pieces = []
    for k, (start, volume) in enumerate(marks):
        end = marks[k + 1][0] if k + 1 < len(marks) else DAY_S
        if end > start:
            pieces.append((start, end, volume / (end - start)))
    return pieces


_TRACE_COUNTS: IdentityCache[dict] = IdentityCache(16)


def _trace_counts(scenario: Scenario, spec: DemandSpec) -> dict:
    """:func:`~simsvc.config.trace.trace_day_counts` of ``spec``, counted once per spec and interval."""
    from simsvc.config.trace import trace_day_counts

    return _TRACE_COUNTS.get(spec, scenario.interval, lambda: trace_day_counts(spec, scenario.interval))


def day_rows(scenario: Scenario, spec: DemandSpec, day: int) -> list[tuple[float, object]]:
    """(start clock seconds, row) of the ``volumes`` rows that hold on day ``day``, in order of
    start: absolute days repeat with the table's period, named days follow the weekday."""
    rows = spec.volumes or []
    absolute = [r for r in rows if isinstance(r.day, int)]
    if absolute:
        period = max(r.day for r in absolute) + 1
        todays = [r for r in absolute if r.day == day % period]
    else:
        todays = [r for r in rows if r.day == DAYS[weekday(scenario, day)]]
    return sorted(((parse_clock(r.start), r) for r in todays), key=lambda sr: (sr[0], sr[1].volume))


def horizon_pieces(scenario: Scenario, spec: DemandSpec,
                   day_factors=None) -> list[tuple[float, float, float]]:
    """(start, length, rate per second) of the channel's demand over [0, horizon), in time
    order, day ``d``'s rates scaled by ``day_factors[d]`` (none: the forecast as written)."""
    horizon = scenario.horizon
    out = []
    for d in range(math.ceil(horizon / DAY_S)):
        day_start = d * DAY_S
        for a, b, r in day_pieces(scenario, spec, d):
            t0, t1 = day_start + a, min(day_start + b, horizon)
            if t1 > t0:
                out.append((t0, t1 - t0, r if day_factors is None else r * day_factors[d]))
    return out


def expected_arrivals(scenario: Scenario, spec: DemandSpec, grid) -> list[float]:
    """Expected arrivals of ``spec`` in each interval of ``grid`` (seconds, ascending) with
    every day's busyness factor at its mean of 1: the forecast a planner staffs for.

    Each interval adds the overlap × rate of the pieces it meets, in time order: the same
    terms in the same order as integrating every piece over the whole grid with numpy
    (the others add exactly 0), so the model's arrays and `check`'s lists are the same bits.
    """
    pieces = horizon_pieces(scenario, spec)   # (start, length, rate per second), in time order
    out, j = [], 0
    for g0, g1 in zip(grid, grid[1:]):
        while j < len(pieces) and pieces[j][0] + pieces[j][1] <= g0:
            j += 1
        total, k = 0.0, j
        while k < len(pieces) and pieces[k][0] < g1:
            start, length, rate = pieces[k]
            overlap = min(g1, start + length) - max(g0, start)
            if overlap > 0:
                total += overlap * rate
            k += 1
        out.append(total)
    return out
