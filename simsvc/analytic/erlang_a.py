"""Erlang A (M/M/c+M): Poisson arrivals, exponential handle times, ``c`` agents, and an
exponential patience with mean ``1/theta`` after which a waiting contact abandons.

Solved exactly from its birth-death chain (:func:`_erlang_a_chain`); the waiting-time
distribution of a tagged arrival comes from a phase-type (absorbing Markov chain)
argument, in closed form where one exists (:meth:`_ErlangAChain.answered_late`). Units as
in :mod:`simsvc.analytic.erlang`: rates per second, times in seconds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simsvc.analytic.erlang import QueueMetrics, _check_finite, _common_inputs, _idle_metrics

# scipy is imported where it is used (below): `simsvc run` imports this module for Erlang's
# requirement beside the simulation, and scipy.linalg alone costs ~0.1-0.4 s of start-up.

__all__ = ["mmc_m"]

# Queue states are dropped once the remaining stationary mass is below this fraction of
# the total.
_TAIL_TOL = 1e-16
# Refuse to build chains longer than this (overloaded system with very long patience).
_MAX_QUEUE_STATES = 2_000_000
# P(answered, wait > t) <= P(patience > t) = exp(-theta*t); past this exponent the
# term is below 1e-17 and is dropped.
_NEGLIGIBLE_EXPONENT = 40.0


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
