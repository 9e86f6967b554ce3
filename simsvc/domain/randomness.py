"""Random streams: one root seed, one generator per purpose, numbers drawn in blocks.

A stream is named by its purpose (``arrivals/phone``, ``patience/chat``…) and
derived from ``SeedSequence(root_seed, spawn_key=(replication, crc32(purpose)))``.
Naming by purpose rather than by creation order means that adding a channel or a
pool to a scenario leaves every other stream untouched: two scenarios that share
a purpose see the same numbers (common random numbers).
"""
from __future__ import annotations

import functools
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

    def key(self, purpose: str) -> int:
        """The 64-bit start of ``purpose``'s counter-based streams (:func:`key_hashes_from`):
        numbers keyed by an identity (an attempt, a customer) rather than by draw order."""
        key = zlib.crc32(purpose.encode("utf-8"))
        seq = np.random.SeedSequence(self.root_seed, spawn_key=(self.replication, key))
        return int(seq.generate_state(1, np.uint64)[0])

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


def normal_pair(u1: np.ndarray, u2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two independent standard normals per pair of uniforms on [0, 1) (Box–Muller)."""
    r = np.sqrt(-2.0 * np.log1p(-u1))
    theta = (2.0 * math.pi) * u2
    return r * np.cos(theta), r * np.sin(theta)


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


class QuantileTable:
    """``quantiles(dists[code[i]], u[i])`` for every i: one vector call per distribution family
    (all exponentials at once, with each code's mean), not one per code, so a batch with
    many codes and few draws each costs few numpy calls. The arithmetic is :func:`quantiles`'
    (its scalar parts computed the same way, per code, here), so the numbers are the same.
    ``None`` entries are codes nobody draws from."""

    _FAMILIES = (Exponential, Deterministic, Uniform, Lognormal, Gamma, Empirical)

    def __init__(self, dists: list) -> None:
        self.dists = dists
        n = len(dists)
        self.family = np.array([-1 if d is None else self._FAMILIES.index(type(d)) for d in dists], dtype=np.int64)
        self.present = sorted(set(self.family.tolist()) - {-1})
        a, b, c = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        for k, d in enumerate(dists):
            if isinstance(d, Exponential):
                a[k] = -d.mean
            elif isinstance(d, Deterministic):
                a[k] = float(d.value)
            elif isinstance(d, Uniform):
                a[k], b[k] = d.low, d.high - d.low
            elif isinstance(d, Lognormal):
                sigma = math.sqrt(math.log1p(d.cv**2))
                a[k], b[k], c[k] = d.mean, sigma, sigma * sigma / 2
            elif isinstance(d, Gamma):
                shape = 1.0 / d.cv**2
                a[k], b[k] = shape, d.mean / shape
        self.a, self.b, self.c = a, b, c

    def __call__(self, code: np.ndarray, u: np.ndarray) -> np.ndarray:
        if code.size == 0:
            return np.empty(u.shape)
        if len(self.present) == 1 and self.present[0] != 5:
            return self._family(self.present[0], code, u)
        out = np.empty(u.shape)
        fam = self.family[code]
        for f in self.present:
            m = fam == f
            if not m.any():
                continue
            if f == 5:  # empirical: per code
                cm, um = code[m], u[m]
                part = np.empty(um.shape)
                for k in np.unique(cm).tolist():
                    mk = cm == k
                    part[mk] = quantiles(self.dists[k], um[mk])
                out[m] = part
            else:
                out[m] = self._family(f, code[m], u[m])
        if (fam < 0).any():
            raise TypeError("a draw from a code without a distribution")
        return out

    def _family(self, f: int, code: np.ndarray, u: np.ndarray) -> np.ndarray:
        a = self.a[code]
        if f == 0:
            return a * np.log1p(-u)  # (−mean)·log(1 − u)
        if f == 1:
            return a.copy()
        if f == 2:
            return a + u * self.b[code]
        from scipy import special  # journey mode only: keep it out of the start-up path

        if f == 3:
            return a * np.exp(self.b[code] * special.ndtri(u) - self.c[code])
        return special.gammaincinv(a, u) * self.b[code]


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
    cum = _poisson_cum(mean)
    # poisson_at stops at the first k with u <= cum[k], else (past every sum) at 1000.
    k = np.searchsorted(cum, u, side="left")
    return np.where(k == len(cum), 1000, k)


@functools.lru_cache(maxsize=16)
def _poisson_cum(mean: float) -> np.ndarray:
    cum, p = [math.exp(-mean)], math.exp(-mean)
    for k in range(1, 1001):
        p *= mean / k
        cum.append(cum[-1] + p)
        if p == 0.0:
            break
    return np.array(cum)

