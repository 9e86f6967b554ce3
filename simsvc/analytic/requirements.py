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

import numpy as np

from simsvc.analytic.erlang import agents_needed

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
                     model: str, mean_patience_s: float | None = None, concurrency: int = 1,
                     max_servers: int = 10000) -> np.ndarray:
    """Net agents per interval for a real-time stream (0 where nothing arrives).

    ``handle_s`` is the time one server (a chat slot for chat) is held per contact,
    wrap-up included. Raises ValueError when no staffing up to ``max_servers`` meets
    the targets in some interval.
    """
    if not targets.any():
        raise ValueError("a real-time stream needs at least one target")
    rate = np.asarray(rate_per_s, dtype=float)
    handle = np.broadcast_to(np.asarray(handle_s, dtype=float), rate.shape)
    out = np.zeros(rate.shape, dtype=np.int64)
    cache: dict[tuple[float, float], int] = {}
    for i, (lam, h) in enumerate(zip(rate, handle)):
        if lam <= 0.0:
            continue
        key = (_round_sig(lam), _round_sig(h))
        if key not in cache:
            servers = agents_needed(
                model, key[0], key[1], target_service_level=targets.service_level,
                threshold_s=targets.threshold_s, target_asa_s=targets.asa_s,
                target_abandon=targets.abandon_rate, target_occupancy_max=targets.occupancy_max,
                mean_patience_s=mean_patience_s if model == "erlang_a" else None,
                max_servers=max_servers)
            cache[key] = math.ceil(servers / concurrency)
        out[i] = cache[key]
    return out


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
