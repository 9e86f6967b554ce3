"""Values derived from an object, computed once per object and kept by its identity.

A scenario's parts are frozen once validated, and a fit or a replay hands the same ones
(a channel's ``DemandSpec``, a log's contact table) to many runs: what is derived from them
(a trace's arrays, its per-interval counts, a validated trace) is worth computing once.
Such objects need not be hashable, and hashing a large one would cost what the cache
saves, so they are keyed by ``id()``. But ``id()`` is only unique among live objects: once
an object is freed, a new one may be given its id and, from a plain dict keyed by ``id()``,
the freed one's values. :class:`IdentityCache` holds each object beside its values, so an
object stays alive (and its id its own) while the cache keeps anything computed from it,
and it hands values back only to that very object (``is``).

It lives in ``config`` (which imports nothing else of simsvc) so that every layer that
derives values from a scenario's parts can use it: ``domain`` (rates), ``model`` (demand)
and ``calibrate`` (replay). It is not a domain rule.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class IdentityCache(Generic[V]):
    """At most ``size`` values, each computed from one object (and a hashable ``key`` of the
    other arguments it depends on); when full, it is emptied before the next value is kept
    (the callers' working sets are a few objects, reused many times).

    Not for objects that change after their values are computed: they are keyed by identity,
    not by content.
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size}")
        self.size = size
        self._held: dict[tuple[int, Hashable], tuple[object, V]] = {}

    def get(self, obj: object, key: Hashable, compute: Callable[[], V]) -> V:
        """The value kept for ``obj`` and ``key``, else ``compute()``, kept (holding ``obj``)
        and returned. An exception from ``compute`` passes through and nothing is kept."""
        held = self._held.get((id(obj), key))
        if held is not None and held[0] is obj:
            return held[1]
        value = compute()
        if len(self._held) >= self.size:
            self._held.clear()
        self._held[(id(obj), key)] = (obj, value)
        return value

    def clear(self) -> None:
        self._held.clear()

    def __len__(self) -> int:
        return len(self._held)
