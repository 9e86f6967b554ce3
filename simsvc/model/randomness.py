"""Random streams: one root seed, one generator per purpose, numbers drawn in blocks.

A stream is named by its purpose (``arrivals/phone``, ``patience/chat``…) and
derived from ``SeedSequence(root_seed, spawn_key=(replication, crc32(purpose)))``.
Naming by purpose rather than by creation order means that adding a channel or a
pool to a scenario leaves every other stream untouched: two scenarios that share
a purpose see the same numbers (common random numbers).
"""
from __future__ import annotations

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
