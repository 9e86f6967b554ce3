"""Closed-form (and exact numerical) queueing formulas for contact-centre staffing.

Three classic Markovian models, all with Poisson arrivals (rate ``lambda``),
exponential handle times (mean ``1/mu``) and ``c`` identical agents:

* **Erlang B** (M/M/c/c): a contact that finds every agent busy is lost (blocked).
* **Erlang C** (M/M/c): it waits, forever, in an unlimited FIFO queue.
* **Erlang A** (M/M/c+M): it waits, but abandons after an exponential patience
  with mean ``1/theta`` (:mod:`simsvc.analytic.erlang_a`).

This module holds Erlang B and C, the result type :class:`QueueMetrics` every model
returns, and the input checks they share; the staffing search over all three is
:func:`simsvc.analytic.staffing.agents_needed`.

Units throughout: rates are per second, times are in seconds, offered load
``A = lambda / mu`` is in Erlangs.
"""
from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass

__all__ = ["QueueMetrics", "erlang_b", "erlang_c", "mmc", "mmcc"]


# --------------------------------------------------------------------------- #
# Input checks
# --------------------------------------------------------------------------- #
def _check_servers(servers: int, *, minimum: int = 1) -> int:
    if isinstance(servers, bool):
        raise TypeError("servers must be an integer, not a bool")
    try:
        c = operator.index(servers)
    except TypeError:
        raise TypeError(f"servers must be an integer, got {servers!r}") from None
    if c < minimum:
        raise ValueError(f"servers must be >= {minimum}, got {c}")
    return c


def _check_finite(name: str, value: float, *, positive: bool = False) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0 or (positive and v == 0):
        kind = "a finite number > 0" if positive else "a finite number >= 0"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return v


# --------------------------------------------------------------------------- #
# Erlang B and C
# --------------------------------------------------------------------------- #
def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of M/M/c/c (Erlang's loss formula).

    Uses the recursion ``B(0) = 1``, ``B(k) = A B(k-1) / (k + A B(k-1))``, which is
    numerically stable (every step is a ratio in [0, 1]) for any number of servers
    and any load. ``servers = 0`` gives 1.0 (everything is lost).

    Args:
        servers: number of servers ``c`` (>= 0).
        load: offered load ``A = lambda / mu`` in Erlangs (>= 0).
    """
    c = _check_servers(servers, minimum=0)
    a = _check_finite("load", load)
    b = 1.0
    for k in range(1, c + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


def erlang_c(servers: int, load: float) -> float:
    """Probability of waiting, P(W > 0), in M/M/c (Erlang's delay formula).

    Computed from Erlang B as ``C = c B / (c - A (1 - B))``. Returns 1.0 when
    ``load >= servers`` (no steady state: every arrival eventually waits).

    Args:
        servers: number of servers ``c`` (>= 0).
        load: offered load ``A`` in Erlangs (>= 0).
    """
    c = _check_servers(servers, minimum=0)
    a = _check_finite("load", load)
    if a >= c:
        return 1.0
    b = erlang_b(c, a)
    return min(1.0, c * b / (c - a * (1.0 - b)))


# --------------------------------------------------------------------------- #
# Result type
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class QueueMetrics:
    """Steady-state performance of one staffing level. Times in seconds, rates per second.

    Attributes:
        p_wait: share of offered arrivals that wait > 0 (Erlang B: 0; lost ones never wait).
        wait_mean_s: mean wait over ALL offered arrivals, in seconds (0 for those
            answered at once and for blocked ones; time-to-abandon for abandoners).
        asa_s: average speed of answer: mean wait of answered arrivals only, seconds.
        service_level: share of OFFERED arrivals answered within ``threshold_s``
            (wait <= threshold); abandoned and blocked arrivals count against it.
        p_abandon: share of offered arrivals that abandon (Erlang A only, else 0).
        p_blocked: share of offered arrivals that are blocked (Erlang B only, else 0).
        occupancy: carried load per agent, i.e.
            ``arrival_rate * (1 - p_abandon - p_blocked) * mean_handle / servers``.
        answered_rate_per_s: rate of answered arrivals, per second.
        servers: number of agents ``c``.
        arrival_rate_per_s: offered arrival rate ``lambda``, per second.
        mean_handle_s: mean handle time ``1/mu``, seconds.
        mean_patience_s: mean patience ``1/theta``, seconds (None unless Erlang A).
        threshold_s: service-level threshold, seconds.
        model: ``"erlang_b"``, ``"erlang_c"`` or ``"erlang_a"``.
    """

    p_wait: float
    wait_mean_s: float
    asa_s: float
    service_level: float
    p_abandon: float
    p_blocked: float
    occupancy: float
    answered_rate_per_s: float
    servers: int
    arrival_rate_per_s: float
    mean_handle_s: float
    mean_patience_s: float | None
    threshold_s: float
    model: str

    @property
    def offered_load_erlangs(self) -> float:
        """Offered load ``lambda * mean_handle`` in Erlangs."""
        return self.arrival_rate_per_s * self.mean_handle_s

    def to_dict(self) -> dict[str, float | int | str | None]:
        """Plain dict of all fields (JSON-serialisable)."""
        return asdict(self)


def _idle_metrics(model: str, servers: int, lam: float, handle: float,
                  patience: float | None, threshold: float) -> QueueMetrics:
    """Metrics of a system with no arrivals."""
    return QueueMetrics(0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, servers, lam,
                        handle, patience, threshold, model)


def _common_inputs(arrival_rate_per_s: float, mean_handle_s: float, servers: int,
                   threshold_s: float) -> tuple[float, float, int, float]:
    lam = _check_finite("arrival_rate_per_s", arrival_rate_per_s)
    handle = _check_finite("mean_handle_s", mean_handle_s, positive=True)
    c = _check_servers(servers)
    t = _check_finite("threshold_s", threshold_s)
    return lam, handle, c, t


# --------------------------------------------------------------------------- #
# Erlang B: M/M/c/c
# --------------------------------------------------------------------------- #
def mmcc(arrival_rate_per_s: float, mean_handle_s: float, servers: int,
         threshold_s: float = 20.0) -> QueueMetrics:
    """Erlang B (M/M/c/c): arrivals finding all ``servers`` busy are lost.

    Answered arrivals never wait, so ``service_level = 1 - B`` for any threshold.
    """
    lam, handle, c, t = _common_inputs(arrival_rate_per_s, mean_handle_s, servers, threshold_s)
    if lam == 0.0:
        return _idle_metrics("erlang_b", c, lam, handle, None, t)
    a = lam * handle
    b = erlang_b(c, a)
    return QueueMetrics(
        p_wait=0.0, wait_mean_s=0.0, asa_s=0.0, service_level=1.0 - b,
        p_abandon=0.0, p_blocked=b, occupancy=a * (1.0 - b) / c,
        answered_rate_per_s=lam * (1.0 - b), servers=c, arrival_rate_per_s=lam,
        mean_handle_s=handle, mean_patience_s=None, threshold_s=t, model="erlang_b",
    )


# --------------------------------------------------------------------------- #
# Erlang C: M/M/c
# --------------------------------------------------------------------------- #
def mmc(arrival_rate_per_s: float, mean_handle_s: float, servers: int,
        threshold_s: float = 20.0) -> QueueMetrics:
    """Erlang C (M/M/c): infinite patience, unlimited FIFO queue.

    ``P(W > t) = C exp(-(c mu - lambda) t)``, so ``SL = 1 - C exp(-(c mu - lambda) T)``
    and ``ASA = C / (c mu - lambda)`` (every arrival is answered).

    Raises:
        ValueError: if the offered load ``lambda * mean_handle`` is >= ``servers``
            (the queue grows without bound; there is no steady state).
    """
    lam, handle, c, t = _common_inputs(arrival_rate_per_s, mean_handle_s, servers, threshold_s)
    if lam == 0.0:
        return _idle_metrics("erlang_c", c, lam, handle, None, t)
    a = lam * handle
    if a >= c:
        raise ValueError(
            f"Erlang C is unstable: offered load {a:.4g} Erlangs >= {c} servers "
            f"(needs more than {math.floor(a)} servers, or use Erlang A with abandonment)"
        )
    p_wait = erlang_c(c, a)
    drain = (c - a) / handle  # c*mu - lambda, per second; this form stays > 0 whenever a < c
    asa = p_wait / drain
    return QueueMetrics(
        p_wait=p_wait, wait_mean_s=asa, asa_s=asa,
        service_level=1.0 - p_wait * math.exp(-drain * t),
        p_abandon=0.0, p_blocked=0.0, occupancy=a / c, answered_rate_per_s=lam,
        servers=c, arrival_rate_per_s=lam, mean_handle_s=handle, mean_patience_s=None,
        threshold_s=t, model="erlang_c",
    )


# Names that lived here before Erlang A and the staffing search had modules of their own;
# resolved on first use so that code importing them from here keeps working.
_MOVED = {"mmc_m": "erlang_a", "_erlang_a_chain": "erlang_a",
          "agents_needed": "staffing", "MODELS": "staffing"}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(f"simsvc.analytic.{_MOVED[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
