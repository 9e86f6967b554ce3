"""Interval requirement arithmetic: the agents an Erlang calculator staffs, interval by interval.

Pure functions over arrays (one value per interval); no scenario, no files. The
planning package (:mod:`simsvc.plan.requirements`) turns a scenario into the
inputs. Units: rates per second, times in seconds, agents as counts.

* Real-time work: the smallest number of *servers* meeting every target by Erlang A
  (exponential patience with the given mean), Erlang C (no patience) or Erlang B
  (no queue). A chat agent is ``concurrency`` servers: agents = ceil(servers / concurrency).
* Async work (email, social): the workload (rate × AHT) arriving over the response
  target must be cleared within it, so the agents needed are the average workload
  over a trailing window of that length, divided by the occupancy cap.
* Shrinkage: scheduled = ceil(net / (1 − shrinkage)).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from simsvc.analytic.erlang import mmc, mmcc
from simsvc.analytic.erlang_a import mmc_m
from simsvc.analytic.staffing import agents_needed

__all__ = ["RealTimeTargets", "real_time_agents", "async_agents", "gross_up", "choose_model"]

# Rates and handle times are rounded to this many significant digits before the
# (cached) Erlang search: identical forecast intervals then cost one evaluation.
_SIG = 12


@dataclass(frozen=True)
class RealTimeTargets:
    """What one real-time stream must achieve in every interval (None: no such target)."""

    service_level: float | None = None
    threshold_s: float = 20.0
    asa_s: float | None = None
    abandon_rate: float | None = None
    occupancy_max: float | None = None

    def any(self) -> bool:
        return any(v is not None for v in (self.service_level, self.asa_s, self.abandon_rate,
                                           self.occupancy_max))


def choose_model(mean_patience_s: float | None, queue_capacity: int | None) -> str:
    """Erlang B without a queue, Erlang A with a patience (its mean), else Erlang C."""
    if queue_capacity == 0:
        return "erlang_b"
    return "erlang_a" if mean_patience_s is not None else "erlang_c"


def _round_sig(x: float) -> float:
    return float(f"{x:.{_SIG}g}")


def real_time_agents(rate_per_s: np.ndarray, handle_s: np.ndarray, targets: RealTimeTargets, *,
                     model: str, mean_patience_s: float | np.ndarray | None = None, concurrency: int = 1,
                     max_servers: int = 10000) -> np.ndarray:
    """Net agents per interval for a real-time stream (0 where nothing arrives).

    ``handle_s`` is the time one server (a chat slot for chat) is held per contact,
    wrap-up included; ``mean_patience_s`` one value or one per interval. Raises
    ValueError when no staffing up to ``max_servers`` meets the targets in some interval.
    """
    if not targets.any():
        raise ValueError("a real-time stream needs at least one target")
    rate = np.asarray(rate_per_s, dtype=float)
    handle = np.broadcast_to(np.asarray(handle_s, dtype=float), rate.shape)
    per_interval = mean_patience_s is not None and np.ndim(mean_patience_s) > 0
    patience = (np.broadcast_to(np.asarray(mean_patience_s, dtype=float), rate.shape) if per_interval
                else [mean_patience_s] * len(rate))
    out = np.zeros(rate.shape, dtype=np.int64)
    cache: dict[tuple, int] = {}
    previous: int | None = None
    for i, (lam, h, w) in enumerate(zip(rate, handle, patience)):
        if lam <= 0.0:
            continue
        key = (_round_sig(lam), _round_sig(h)) + ((_round_sig(w),) if per_interval else ())
        if key not in cache:
            cache[key] = _servers(model, key[0], key[1], targets, key[2] if per_interval else w,
                                  max_servers, previous)
        previous = cache[key]
        out[i] = math.ceil(previous / concurrency)
    return out


def _meets(model: str, lam: float, handle: float, c: int, t: RealTimeTargets, patience: float | None) -> bool:
    if model == "erlang_c" and lam * handle >= c:
        return False   # unstable
    if model == "erlang_a":
        m = mmc_m(lam, handle, c, patience, t.threshold_s)
    else:
        m = (mmcc if model == "erlang_b" else mmc)(lam, handle, c, t.threshold_s)
    return ((t.service_level is None or m.service_level >= t.service_level)
            and (t.asa_s is None or m.asa_s <= t.asa_s)
            and (t.abandon_rate is None or m.p_abandon + m.p_blocked <= t.abandon_rate)
            and (t.occupancy_max is None or m.occupancy <= t.occupancy_max))


# Pure in its (hashable) arguments; a process that plans or runs the same scenario again
# (each ``simsvc run`` adds the requirement column, a test session runs many) answers from memory.
@lru_cache(maxsize=65536)
def _servers(model: str, lam: float, handle: float, t: RealTimeTargets, patience: float | None,
             max_servers: int, near: int | None) -> int:
    """The fewest servers meeting ``t``: the same answer as :func:`agents_needed` (every
    metric is monotone in servers), found by stepping from ``near`` (the previous
    interval's answer, usually within an agent or two) instead of a fresh search."""
    if near is not None and 1 <= near <= max_servers:
        try:
            if _meets(model, lam, handle, near, t, patience):
                c = near
                while c > 1 and _meets(model, lam, handle, c - 1, t, patience):
                    c -= 1
                return c
            for c in range(near + 1, min(near + 4, max_servers) + 1):
                if _meets(model, lam, handle, c, t, patience):
                    return c
        except ValueError:
            pass   # e.g. an Erlang A chain too long: let the full search decide
    return agents_needed(
        model, lam, handle, target_service_level=t.service_level, threshold_s=t.threshold_s,
        target_asa_s=t.asa_s, target_abandon=t.abandon_rate, target_occupancy_max=t.occupancy_max,
        mean_patience_s=patience if model == "erlang_a" else None, max_servers=max_servers)


def async_agents(rate_per_s: np.ndarray, handle_s: np.ndarray, interval_s: float,
                 response_target_s: float, occupancy_max: float | None = None) -> np.ndarray:
    """Net agents per interval to clear async work within its response target (fractional).

    Work arriving in the ``response_target_s`` before an interval's end must be
    answered by then, so the interval needs the mean workload (Erlangs) of that
    trailing window; the window never starts before time 0. Divided by the
    occupancy cap when one is given. Returned unrounded: a pool adds it to its
    other work before rounding.
    """
    rate = np.asarray(rate_per_s, dtype=float)
    load = rate * np.broadcast_to(np.asarray(handle_s, dtype=float), rate.shape)  # Erlangs
    width = max(1, int(round(response_target_s / interval_s)))
    cum = np.concatenate([[0.0], np.cumsum(load)])
    idx = np.arange(1, len(load) + 1)
    lo = np.maximum(idx - width, 0)
    mean_load = (cum[idx] - cum[lo]) / (idx - lo)
    return mean_load / (occupancy_max if occupancy_max else 1.0)


def gross_up(net_agents: np.ndarray, shrinkage: float) -> np.ndarray:
    """Scheduled agents: ceil(net / (1 − shrinkage)), with a guard against float fuzz."""
    if not 0.0 <= shrinkage < 1.0:
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage!r}")
    net = np.asarray(net_agents, dtype=float)
    return np.ceil(net / (1.0 - shrinkage) - 1e-9).astype(np.int64)
