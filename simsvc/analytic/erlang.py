"""Closed-form (and exact numerical) queueing formulas for contact-centre staffing.

Three classic Markovian models, all with Poisson arrivals (rate ``lambda``),
exponential handle times (mean ``1/mu``) and ``c`` identical agents:

* **Erlang B** (M/M/c/c): a contact that finds every agent busy is lost (blocked).
* **Erlang C** (M/M/c): it waits, forever, in an unlimited FIFO queue.
* **Erlang A** (M/M/c+M): it waits, but abandons after an exponential patience
  with mean ``1/theta``. Solved exactly from its birth-death chain; the waiting
  time distribution comes from a phase-type (absorbing Markov chain) argument.

Units throughout: rates are per second, times are in seconds, offered load
``A = lambda / mu`` is in Erlangs.
"""
from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

# scipy is imported where it is used (below): `simsvc run` imports this module for Erlang's
# requirement beside the simulation, and scipy.linalg alone costs ~0.1-0.4 s of start-up.

__all__ = [
    "MODELS",
    "QueueMetrics",
    "agents_needed",
    "erlang_b",
    "erlang_c",
    "mmc",
    "mmc_m",
    "mmcc",
]

#: Model names accepted by :func:`agents_needed` (``"b"``, ``"c"``, ``"a"`` also work).
MODELS = ("erlang_b", "erlang_c", "erlang_a")
_MODEL_ALIASES = {"b": "erlang_b", "c": "erlang_c", "a": "erlang_a"}

# Erlang A chain: queue states are dropped once the remaining stationary mass is
# below this fraction of the total.
_TAIL_TOL = 1e-16
# Refuse to build chains longer than this (overloaded system with very long patience).
_MAX_QUEUE_STATES = 2_000_000
# P(answered, wait > t) <= P(patience > t) = exp(-theta*t); past this exponent the
# term is below 1e-17 and is dropped.
_NEGLIGIBLE_EXPONENT = 40.0


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


# --------------------------------------------------------------------------- #
# Erlang A: M/M/c+M
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class _ErlangAChain:
    """Truncated stationary distribution of M/M/c+M plus the tagged-arrival phase type.

    ``alpha[k]`` is P(N = c + k), k = 0..K-1 (an arrival finding this state joins the
    queue at position k, i.e. with k customers ahead). ``p_below`` is P(N < c).
    """

    lam: float
    c_mu: float  # c * mu: service-completion rate when all agents are busy
    theta: float  # abandonment rate per waiting customer
    p_below: float
    alpha: np.ndarray
    mean_queue: float  # E[Q] = sum_k k alpha[k]

    @property
    def size(self) -> int:
        return int(self.alpha.size)

    def progress_rates(self) -> np.ndarray:
        """Rate of moving from position j to j-1 (j >= 1): c mu + j theta."""
        return self.c_mu + np.arange(self.size) * self.theta

    def exit_rates(self) -> np.ndarray:
        """Total rate out of position j: progress (or service at j = 0) plus own abandonment."""
        return self.c_mu + (np.arange(self.size) + 1) * self.theta

    def answered_late(self, p_served_if_queued: np.ndarray, t: float) -> float:
        """P(queued, answered, wait > t), for t > 0, in closed form (incomplete beta).

        From position k the wait is W = sum_{j=0..k} Exp(c mu + j theta), and the
        arrival is answered if its own Exp(theta) patience outlasts W, so
        P(answered, W > t | k) = E[e^{-theta W}; W > t]. Tilting each stage by
        e^{-theta x} gives the factor c mu / (c mu + (k+1) theta) (= P(answered | k))
        times P(V > t), V = sum_{j=1..k+1} Exp(c mu + j theta). V's density is
        e^{-c mu v} times that of the maximum of k+1 Exp(theta), renormalised; with
        u = e^{-theta v} this is the regularised incomplete beta
        P(V > t) = I_x(c mu / theta + 1, k + 1), x = e^{-theta t} (cf. Mandelbaum &
        Zeltyn's incomplete-gamma forms for M/M/n+M). Equal to the phase-type answer
        alpha e^{T t} (-T)^{-1} s to ~1e-14, in O(K) instead of a matrix exponential.
        """
        from scipy.special import betainc

        k = np.arange(self.size, dtype=float)
        tail = betainc(self.c_mu / self.theta + 1.0, k + 1.0, math.exp(-self.theta * t))
        return float(self.alpha @ (p_served_if_queued * tail))

    def exit_to_service(self) -> np.ndarray:
        """Vector s of rates into 'answered' (only from position 0, rate c mu)."""
        s = np.zeros(self.size)
        s[0] = self.c_mu
        return s

    def solve_minus_t(self, rhs: np.ndarray) -> np.ndarray:
        """Solve ``(-T) x = rhs`` (forward substitution on the bidiagonal, O(K))."""
        import scipy.linalg

        ab = np.empty((2, self.size))
        ab[0] = self.exit_rates()
        ab[1, :-1] = -self.progress_rates()[1:]
        ab[1, -1] = 0.0
        return scipy.linalg.solve_banded((1, 0), ab, rhs, check_finite=False)


def _erlang_a_chain(lam: float, mu: float, c: int, theta: float) -> _ErlangAChain:
    """Stationary distribution of the M/M/c+M birth-death chain, in log space.

    ``log p_n = n log A - log n!`` for n <= c, then each queue state multiplies by
    ``lambda / (c mu + k theta)``. Queue states are generated in chunks until the
    remaining tail (bounded by a geometric series, ratios being decreasing) is below
    ``_TAIL_TOL`` of the total.
    """
    from scipy.special import gammaln

    log_lam = math.log(lam)
    c_mu = c * mu
    n = np.arange(c + 1)
    log_below = n * math.log(lam / mu) - gammaln(n + 1)  # n = 0..c
    log_tol = math.log(_TAIL_TOL)

    def tail_ok(log_p: np.ndarray, k: np.ndarray, running_max: float) -> np.ndarray:
        r_next = lam / (c_mu + (k + 1) * theta)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_tail = log_p + np.log(r_next) - np.log1p(-r_next)
        return (r_next < 1.0) & (log_tail <= running_max + log_tol)

    pieces = [np.array([log_below[-1]])]  # k = 0
    running_max = float(log_below.max())
    stop: int | None = 0 if tail_ok(pieces[0], np.array([0]), running_max)[0] else None
    start, chunk, last = 1, 1024, float(log_below[-1])
    while stop is None:
        if start > _MAX_QUEUE_STATES:
            raise ValueError(
                f"Erlang A chain needs more than {_MAX_QUEUE_STATES} queue states: the "
                "system is overloaded and patience is too long for the queue to settle"
            )
        k = np.arange(start, start + chunk)
        log_p = last + np.cumsum(log_lam - np.log(c_mu + k * theta))
        running_max = max(running_max, float(log_p.max()))
        hits = np.flatnonzero(tail_ok(log_p, k, running_max))
        if hits.size:
            pieces.append(log_p[: hits[0] + 1])
            stop = int(k[hits[0]])
        else:
            pieces.append(log_p)
            last = float(log_p[-1])
            start += chunk
            chunk *= 2
    log_queue = np.concatenate(pieces)
    shift = max(running_max, float(log_queue.max()))
    below = np.exp(log_below[:-1] - shift)
    queue = np.exp(log_queue - shift)
    total = below.sum() + queue.sum()
    alpha = queue / total
    return _ErlangAChain(
        lam=lam, c_mu=c_mu, theta=theta, p_below=float(below.sum() / total),
        alpha=alpha, mean_queue=float(np.arange(alpha.size) @ alpha),
    )


def mmc_m(arrival_rate_per_s: float, mean_handle_s: float, servers: int,
          mean_patience_s: float, threshold_s: float = 20.0) -> QueueMetrics:
    """Erlang A (M/M/c+M): exponential patience with mean ``mean_patience_s``.

    Exact up to a truncation of the stationary distribution's tail below 1e-16.

    * By PASTA an arrival sees the stationary distribution; ``p_wait = P(N >= c)``.
    * Little's law on the queue: ``wait_mean_s = E[Q] / lambda`` and
      ``p_abandon = theta E[Q] / lambda``.
    * A tagged arrival finding ``c + k`` in system starts at queue position k and
      moves to position j-1 at rate ``c mu + j theta``; it abandons at rate theta
      from any position and enters service from position 0 at rate ``c mu``. With
      transient generator T, exit vector s and initial vector alpha (stationary
      probabilities of n >= c):
      ``P(answered, W <= t) = P(N < c) + alpha (I - e^{T t}) (-T)^{-1} s`` and
      ``E[W 1{answered}] = alpha T^{-2} s``; ``ASA = E[W 1{answered}] / P(answered)``.

    Raises:
        ValueError: for invalid inputs, or when an overloaded system with very long
            patience would need more than 2,000,000 queue states.
    """
    lam, handle, c, t = _common_inputs(arrival_rate_per_s, mean_handle_s, servers, threshold_s)
    patience = _check_finite("mean_patience_s", mean_patience_s, positive=True)
    if lam == 0.0:
        return _idle_metrics("erlang_a", c, lam, handle, patience, t)
    theta = 1.0 / patience
    chain = _erlang_a_chain(lam, 1.0 / handle, c, theta)
    alpha = chain.alpha

    p_served_if_queued = chain.solve_minus_t(chain.exit_to_service())  # = c mu / (c mu + (j+1) theta)
    p_answered = chain.p_below + float(alpha @ p_served_if_queued)
    served_wait_sum = float(alpha @ chain.solve_minus_t(p_served_if_queued))  # alpha T^-2 s

    if t == 0.0:
        late = float(alpha @ p_served_if_queued)  # every queued answer is later than 0
    elif theta * t > _NEGLIGIBLE_EXPONENT:
        late = 0.0  # P(answered, W > t) <= exp(-theta t), negligible
    else:
        late = chain.answered_late(p_served_if_queued, t)
    answered_in_time = p_answered - late

    p_abandon = theta * chain.mean_queue / lam
    return QueueMetrics(
        p_wait=float(alpha.sum()),
        wait_mean_s=chain.mean_queue / lam,
        asa_s=served_wait_sum / p_answered if p_answered > 0 else 0.0,
        service_level=min(1.0, max(0.0, answered_in_time)),
        p_abandon=p_abandon,
        p_blocked=0.0,
        occupancy=lam * (1.0 - p_abandon) * handle / c,
        answered_rate_per_s=lam * (1.0 - p_abandon),
        servers=c, arrival_rate_per_s=lam, mean_handle_s=handle,
        mean_patience_s=patience, threshold_s=t, model="erlang_a",
    )


# --------------------------------------------------------------------------- #
# Staffing
# --------------------------------------------------------------------------- #
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
