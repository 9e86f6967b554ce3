"""Random streams: one root seed, one generator per purpose, numbers drawn in blocks.

A stream is named by its purpose (``arrivals/phone``, ``patience/chat``…) and
derived from ``SeedSequence(root_seed, spawn_key=(replication, crc32(purpose)))``.
Naming by purpose rather than by creation order means that adding a channel or a
pool to a scenario leaves every other stream untouched: two scenarios that share
a purpose see the same numbers (common random numbers).
"""
from __future__ import annotations

import math
import zlib
from typing import Callable

import numpy as np

from simsvc.config.schema import (
    Deterministic,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
    Uniform,
)

BLOCK = 2048


class Streams:
    """Factory of independent, reproducible generators for one replication."""

    def __init__(self, root_seed: int, replication: int) -> None:
        self.root_seed = int(root_seed)
        self.replication = int(replication)

    def generator(self, purpose: str) -> np.random.Generator:
        key = zlib.crc32(purpose.encode("utf-8"))
        seq = np.random.SeedSequence(self.root_seed, spawn_key=(self.replication, key))
        return np.random.Generator(np.random.PCG64(seq))

    def uniform(self, purpose: str) -> "BlockSampler":
        rng = self.generator(purpose)
        return BlockSampler(lambda n: rng.random(n))

    def sampler(self, purpose: str, dist: object) -> "BlockSampler":
        rng = self.generator(purpose)
        return BlockSampler(lambda n: draw(dist, rng, n))


class BlockSampler:
    """Hands out one number at a time from blocks drawn with numpy (fast in the event loop)."""

    __slots__ = ("_draw", "_buf", "_i")

    def __init__(self, draw_block: Callable[[int], np.ndarray]) -> None:
        self._draw = draw_block
        self._buf: list[float] = []
        self._i = 0

    def __call__(self) -> float:
        i = self._i
        if i == len(self._buf):
            self._buf = self._draw(BLOCK).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]

    def take(self, n: int) -> np.ndarray:
        """The next ``n`` numbers at once: exactly what ``n`` calls would return, in order
        (the same blocks are drawn), so a caller may pre-draw a stream nobody else uses."""
        rest = self._buf[self._i:self._i + n]
        self._i += len(rest)
        parts = [np.asarray(rest, dtype=float)]
        need = n - len(rest)
        while need > 0:
            block = np.asarray(self._draw(BLOCK), dtype=float)
            used = min(need, BLOCK)
            parts.append(block[:used])
            need -= used
            if need == 0:
                self._buf, self._i = block.tolist(), used
        return np.concatenate(parts)


def draw(dist: object, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` draws (seconds) from a validated distribution config."""
    if isinstance(dist, Exponential):
        return rng.exponential(dist.mean, n)
    if isinstance(dist, Lognormal):
        sigma2 = np.log1p(dist.cv**2)
        mu = np.log(dist.mean) - sigma2 / 2
        return rng.lognormal(mu, np.sqrt(sigma2), n)
    if isinstance(dist, Gamma):
        shape = 1.0 / dist.cv**2
        return rng.gamma(shape, dist.mean / shape, n)
    if isinstance(dist, Deterministic):
        return np.full(n, dist.value)
    if isinstance(dist, Uniform):
        return rng.uniform(dist.low, dist.high, n)
    if isinstance(dist, Empirical):
        values = np.asarray(dist.values, dtype=float)
        p = None if dist.weights is None else np.asarray(dist.weights) / sum(dist.weights)
        return rng.choice(values, size=n, p=p)
    raise TypeError(f"unknown distribution {dist!r}")


# --------------------------------------------------------------------------- per-customer streams
# Journey mode gives each customer a SplitMix64 stream keyed by its identity (initial k,
# acquired k, j-th referral of a parent), so a staffing change does not reshuffle other
# customers' lives (common random numbers). A stream is one 64-bit integer, cheap to keep
# for populations of 100,000 customers; SplitMix64 passes BigCrush.
_M64 = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15


def _mix64(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return z ^ (z >> 31)


# --------------------------------------------------------------------------- counter-based, vectorised
# SplitMix64's n-th output of the stream that starts at state h is mix64(h + (n + 1)·γ): each number
# depends only on (h, n), so a customer's numbers can be drawn in any order and in blocks with
# numpy, many customers at once, and a customer keeps its own numbers (common random numbers).
_U64 = np.uint64
_NP_GAMMA = _U64(_GAMMA)
_NP_M1, _NP_M2 = _U64(0xBF58476D1CE4E5B9), _U64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = _U64(30), _U64(27), _U64(31), _U64(11)


def key_hash(*key: int, start: int = 0) -> int:
    """The state of the SplitMix64 stream keyed by ``key`` (continuing from ``start``)."""
    h = start
    for part in key:
        h = _mix64((h ^ (int(part) & _M64)) + _GAMMA & _M64)
    return h


def key_hashes(start: int, last: np.ndarray) -> np.ndarray:
    """``key_hash(k, start=start)`` for every ``k`` of ``last`` (uint64), vectorised."""
    with np.errstate(over="ignore"):
        return _np_mix64((_U64(start) ^ last.astype(_U64)) + _NP_GAMMA)


def key_hashes_from(start: np.ndarray, *key: int | np.ndarray) -> np.ndarray:
    """``key_hash(*key, start=start)`` element by element (``start`` uint64, key parts ints or arrays)."""
    h = start.astype(_U64)
    with np.errstate(over="ignore"):
        for part in key:
            h = _np_mix64((h ^ np.asarray(part).astype(_U64)) + _NP_GAMMA)
    return h


def _np_mix64(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> _S30)) * _NP_M1
    z = (z ^ (z >> _S27)) * _NP_M2
    return z ^ (z >> _S31)


def uniforms_at(h: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    """Number ``n`` (uniform on [0, 1), 53 bits) of each stream ``h`` (uint64 arrays or an int ``n``)."""
    with np.errstate(over="ignore"):
        z = _np_mix64(h + (np.asarray(n, dtype=_U64) + _U64(1)) * _NP_GAMMA)
    return (z >> _S11).astype(np.float64) * (1.0 / (1 << 53))


def uniform_at(h: int, n: int) -> float:
    """Scalar :func:`uniforms_at`."""
    z = (h + (n + 1) * _GAMMA) & _M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64  # _mix64, inlined
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return ((z ^ (z >> 31)) >> 11) * (1.0 / (1 << 53))


def quantiles(dist: object, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of a validated distribution config at uniforms ``u`` (seconds), vectorised."""
    if isinstance(dist, Exponential):
        return -dist.mean * np.log1p(-u)
    if isinstance(dist, Deterministic):
        return np.full(u.shape, float(dist.value))
    if isinstance(dist, Uniform):
        return dist.low + u * (dist.high - dist.low)
    from scipy import special  # journey mode only: keep it out of the start-up path

    if isinstance(dist, Lognormal):
        sigma = math.sqrt(math.log1p(dist.cv**2))
        return dist.mean * np.exp(sigma * special.ndtri(u) - sigma * sigma / 2)
    if isinstance(dist, Gamma):
        shape = 1.0 / dist.cv**2
        return special.gammaincinv(shape, u) * (dist.mean / shape)
    if isinstance(dist, Empirical):
        cum = np.cumsum(dist.weights or [1.0] * len(dist.values))
        idx = np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), len(cum) - 1)
        return np.asarray(dist.values, dtype=float)[idx]
    raise TypeError(f"unknown distribution {dist!r}")


def poisson_at(mean: float, u: float) -> int:
    """Poisson count at uniform ``u`` by inversion (the small means journey mode uses)."""
    k, p = 0, math.exp(-mean)
    cum = p
    while u > cum and k < 1000:
        k += 1
        p *= mean / k
        cum += p
    return k


def poisson_counts(mean: float, u: np.ndarray) -> np.ndarray:
    """:func:`poisson_at` at every uniform of ``u``: the same cumulative sums (built the same
    way, in Python floats), searched instead of walked, so the counts are the same."""
    cum, p = [math.exp(-mean)], math.exp(-mean)
    for k in range(1, 1001):
        p *= mean / k
        cum.append(cum[-1] + p)
        if p == 0.0:
            break
    # poisson_at stops at the first k with u <= cum[k], else (past every sum) at 1000.
    k = np.searchsorted(np.array(cum), u, side="left")
    return np.where(k == len(cum), 1000, k)

