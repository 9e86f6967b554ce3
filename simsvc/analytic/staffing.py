"""How many agents a queue needs: the smallest staffing that meets every target, under
Erlang B, C or A (:func:`agents_needed`).

Each model's metrics improve (weakly) as agents are added, so the search doubles from a
necessary lower bound, then bisects.
"""
from __future__ import annotations

import math
from typing import Callable

from simsvc.analytic.erlang import QueueMetrics, _check_finite, _check_servers, mmc, mmcc
from simsvc.analytic.erlang_a import mmc_m

__all__ = ["MODELS", "agents_needed"]

#: Model names accepted by :func:`agents_needed` (``"b"``, ``"c"``, ``"a"`` also work).
MODELS = ("erlang_b", "erlang_c", "erlang_a")
_MODEL_ALIASES = {"b": "erlang_b", "c": "erlang_c", "a": "erlang_a"}


def _normalise_model(model: str) -> str:
    name = str(model).strip().lower()
    name = _MODEL_ALIASES.get(name, name)
    if name not in MODELS:
        raise ValueError(f"unknown model {model!r}; use one of {', '.join(MODELS)} (or b, c, a)")
    return name


def _staffing_lower_bound(model: str, load: float, target_service_level: float | None,
                          target_abandon: float | None) -> int:
    """Staffing below which the targets surely fail (saves evaluating hopeless cases).

    Erlang C needs ``c > load`` to be stable. In Erlang A and B at most ``c`` agents
    are busy, so the answered share ``1 - p_abandon - p_blocked`` is at most
    ``c / load``; the service level is below that share, so ``c >= SL * load`` and
    ``c >= (1 - target_abandon) * load`` are necessary.
    """
    if model == "erlang_c":
        return math.floor(load) + 1
    share = max(target_service_level or 0.0,
                1.0 - target_abandon if target_abandon is not None else 0.0)
    return max(1, math.ceil(share * load * (1.0 - 1e-12)))


def agents_needed(
    model: str,
    arrival_rate_per_s: float,
    mean_handle_s: float,
    *,
    target_service_level: float | None = None,
    threshold_s: float = 20.0,
    target_asa_s: float | None = None,
    target_abandon: float | None = None,
    target_occupancy_max: float | None = None,
    mean_patience_s: float | None = None,
    max_servers: int = 10000,
) -> int:
    """Smallest number of agents meeting ALL given targets.

    Args:
        model: ``"erlang_b"``, ``"erlang_c"`` or ``"erlang_a"`` (or ``"b"``, ``"c"``, ``"a"``).
        arrival_rate_per_s: offered arrival rate, per second.
        mean_handle_s: mean handle time, seconds.
        target_service_level: minimum share of offered arrivals answered within
            ``threshold_s`` seconds.
        threshold_s: service-level threshold, seconds.
        target_asa_s: maximum mean wait of answered arrivals, seconds.
        target_abandon: maximum share of offered arrivals lost
            (``p_abandon + p_blocked``: abandoned for Erlang A, blocked for Erlang B).
        target_occupancy_max: maximum occupancy (carried load per agent).
        mean_patience_s: mean patience, seconds (required for, and only for, Erlang A).
        max_servers: give up above this many agents.

    Every metric improves (weakly) as agents are added, so the answer is found by
    doubling then bisection from a necessary lower bound: for Erlang C the smallest
    stable staffing, ``floor(load) + 1``; for Erlang A and B ``service level * load``
    and ``(1 - target_abandon) * load`` (at most ``c`` agents can be busy).

    Raises:
        ValueError: no target given, a target out of range, a patience that does not
            fit the model, or no staffing up to ``max_servers`` meets the targets.
    """
    name = _normalise_model(model)
    lam = _check_finite("arrival_rate_per_s", arrival_rate_per_s)
    handle = _check_finite("mean_handle_s", mean_handle_s, positive=True)
    t = _check_finite("threshold_s", threshold_s)
    cap = _check_servers(max_servers)
    if all(x is None for x in (target_service_level, target_asa_s, target_abandon,
                               target_occupancy_max)):
        raise ValueError(
            "agents_needed needs at least one target: target_service_level, "
            "target_asa_s, target_abandon or target_occupancy_max"
        )
    if target_service_level is not None and not 0.0 < target_service_level <= 1.0:
        raise ValueError(f"target_service_level must be in (0, 1], got {target_service_level!r}")
    if target_asa_s is not None:
        _check_finite("target_asa_s", target_asa_s)
    if target_abandon is not None and not 0.0 <= target_abandon <= 1.0:
        raise ValueError(f"target_abandon must be in [0, 1], got {target_abandon!r}")
    if target_occupancy_max is not None and not 0.0 < target_occupancy_max <= 1.0:
        raise ValueError(f"target_occupancy_max must be in (0, 1], got {target_occupancy_max!r}")
    if name == "erlang_a":
        if mean_patience_s is None:
            raise ValueError("model erlang_a needs mean_patience_s")
        patience = _check_finite("mean_patience_s", mean_patience_s, positive=True)
        evaluate: Callable[[int], QueueMetrics] = lambda c: mmc_m(lam, handle, c, patience, t)
    elif mean_patience_s is not None:
        raise ValueError(f"mean_patience_s only applies to erlang_a, not {name}")
    elif name == "erlang_b":
        evaluate = lambda c: mmcc(lam, handle, c, t)
    else:
        evaluate = lambda c: mmc(lam, handle, c, t)

    def meets(c: int) -> bool:
        m = evaluate(c)
        return (
            (target_service_level is None or m.service_level >= target_service_level)
            and (target_asa_s is None or m.asa_s <= target_asa_s)
            and (target_abandon is None or m.p_abandon + m.p_blocked <= target_abandon)
            and (target_occupancy_max is None or m.occupancy <= target_occupancy_max)
        )

    low = _staffing_lower_bound(name, lam * handle, target_service_level, target_abandon)
    if low > cap:
        raise ValueError(f"no staffing up to max_servers={cap} agents meets the targets")
    if meets(low):
        return low
    # Invariant: `low` fails. Double the step until something passes, then bisect.
    step, high = 1, low + 1
    while True:
        high = min(low + step, cap)
        if meets(high):
            break
        if high == cap:
            raise ValueError(f"no staffing up to max_servers={cap} agents meets the targets")
        low, step = high, step * 2
    while high - low > 1:
        mid = (low + high) // 2
        if meets(mid):
            high = mid
        else:
            low = mid
    return high
