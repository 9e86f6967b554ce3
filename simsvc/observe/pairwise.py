"""numpy's sums and means of a selection of values, to the last bit, fed a slice at a time.

``np.sum(x)`` and ``np.mean(x)`` of a contiguous float array add its values pairwise:
a block of n > 128 values is split at ``n2 = n // 2 - (n // 2) % 8`` and the halves'
sums added; blocks of up to 128 are summed with eight running totals. The result
depends on that tree, so the sum of per-slice sums is not the same float. A
:class:`PairwiseSum` is told ``n`` first, cuts the same tree down to blocks of at most
:data:`LEAF` values, sums each block with numpy as it fills (the same float numpy's
own recursion gives for that block) and adds the blocks' sums up the tree. The caller
can then gather a selection of a million values a slice at a time (the reducers of
``observe/customer.py``) instead of whole, and the metric is the same float.
Integer and boolean values need none of this: their sums are whole numbers, exact in
any order (:func:`mean_of_count`).
"""
from __future__ import annotations

import numpy as np

LEAF = 1 << 13  # values summed by one numpy call (at least 128, numpy's own unrolled block)


def _tree(n: int, leaf: int) -> int | tuple:
    """numpy's pairwise split of ``n`` values, down to blocks of at most ``leaf`` values."""
    if n <= leaf:
        return n
    half = n // 2
    half -= half % 8
    return (_tree(half, leaf), _tree(n - half, leaf))


def _leaves(tree: int | tuple) -> list[int]:
    out: list[int] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, int):
            out.append(node)
        else:
            stack.extend((node[1], node[0]))  # left first
    return out


def _combine(tree: int | tuple, sums) -> object:
    if isinstance(tree, int):
        return next(sums)
    left = _combine(tree[0], sums)
    return left + _combine(tree[1], sums)


class PairwiseSum:
    """``np.sum`` of ``n`` values of ``dtype`` given in order, in pieces of any size."""

    def __init__(self, n: int, dtype, leaf: int | None = None) -> None:
        leaf = LEAF if leaf is None else leaf
        if leaf < 128:
            raise ValueError("leaf must be at least 128 (numpy sums up to 128 values in one block)")
        self.n = int(n)
        self.dtype = np.dtype(dtype)
        self._tree = _tree(self.n, leaf)
        self._sizes = _leaves(self._tree)
        self._sums: list = []
        self._pending = np.empty(0, dtype=self.dtype)
        self._seen = 0

    def add(self, values: np.ndarray) -> None:
        """The next values (a 1-D array of ``dtype``; any length, possibly 0)."""
        if values.dtype != self.dtype:
            raise TypeError(f"values are {values.dtype}, this sum is of {self.dtype}")
        self._seen += values.size
        if self._seen > self.n:
            raise ValueError(f"more than the {self.n} values announced")
        pending = np.concatenate((self._pending, values)) if self._pending.size else values
        at = 0
        while len(self._sums) < len(self._sizes) and pending.size - at >= self._sizes[len(self._sums)]:
            size = self._sizes[len(self._sums)]
            self._sums.append(np.add.reduce(pending[at:at + size]))
            at += size
        self._pending = pending[at:].copy()

    def total(self):
        """The sum, as ``np.sum`` of all the values at once gives it (a numpy scalar)."""
        if self._seen != self.n:
            raise ValueError(f"{self._seen} values given of the {self.n} announced")
        if self.n == 0:
            return np.add.reduce(np.empty(0, dtype=self.dtype))
        return _combine(self._tree, iter(self._sums))

    def mean(self):
        """``np.mean`` of the values (NaN-free caller's concern: as numpy, with n > 0)."""
        total = self.total()
        return total.dtype.type(total / np.intp(self.n))


def mean_of_count(count: int, n: int) -> np.float64:
    """``np.mean`` of ``n`` booleans or small integers summing to ``count``: numpy adds them
    in float64, where whole numbers below 2**53 are exact in any order, then divides."""
    return np.float64(count) / np.intp(n)
