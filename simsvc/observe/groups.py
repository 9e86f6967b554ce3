"""Grouping leg records into runs of equal keys (attempts, issues) and reducing each run, a
slice at a time so a large run's temporaries stay bounded (issue 13's memory goal); used by
:mod:`simsvc.observe.customer`. Every reduction runs over the same values in the same order
whatever the slice size, so the slices never change a result."""
from __future__ import annotations

import numpy as np

from simsvc.observe.records import ComputedColumn

ATTEMPT_CHUNK = 1 << 17  # attempts reduced at a time (bounds the temporaries of a large run)
GROUP_CHUNK = 1 << 18  # sorted keys scanned at a time for group boundaries


def groups(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (inclusive) positions of runs of equal sorted keys (int32), found a
    slice at a time (``np.flatnonzero`` of the whole would be 8 bytes per key)."""
    n = keys.size
    if n == 0:
        return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.int32)
    parts = [np.zeros(1, dtype=np.int32)]
    for s in range(1, n, GROUP_CHUNK):
        e = min(s + GROUP_CHUNK, n)
        parts.append((np.flatnonzero(keys[s:e] != keys[s - 1:e - 1]) + s).astype(np.int32))
    starts = np.concatenate(parts)
    del parts
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:] - 1
    ends[-1] = n - 1
    return starts, ends


def per_group(ufunc: np.ufunc, values: np.ndarray, starts: np.ndarray, n_values: int,
               dtype=None) -> np.ndarray:
    """``ufunc.reduceat(values, starts)`` a chunk of groups at a time.

    ``reduceat`` copies its indices to 8-byte integers and sums small integers in 8 bytes
    unless told otherwise; a chunk at a time bounds those temporaries. Each group's
    reduction runs over the same values in the same order whichever chunk holds it,
    so the result does not depend on the chunk size. ``n_values`` is ``values.size``
    (the end of the last group); when every group has one value, the values are the result.
    """
    out_dtype = dtype or values.dtype
    if starts.size == n_values:
        if isinstance(values, ComputedColumn) and out_dtype == values.dtype:
            return values  # computed when read, as it is
        return values.astype(out_dtype, copy=False)
    out = np.empty(starts.size, dtype=out_dtype)
    for g0 in range(0, starts.size, ATTEMPT_CHUNK):
        g1 = min(g0 + ATTEMPT_CHUNK, starts.size)
        p0 = int(starts[g0])
        p1 = int(starts[g1]) if g1 < starts.size else n_values
        ufunc.reduceat(values[p0:p1], (starts[g0:g1] - p0).astype(np.intp), dtype=dtype, out=out[g0:g1])
    return out


def shared(values: np.ndarray) -> np.ndarray:
    """A read-only view of a record column (no copy; a write through it raises). A column
    computed when read (:class:`~simsvc.observe.records.ComputedColumn`) is itself."""
    if isinstance(values, ComputedColumn):
        return values
    out = values.view()
    out.flags.writeable = False
    return out


def attempts_in_record_order(issue: np.ndarray, attempt: np.ndarray) -> bool:
    """Whether the key (issue, attempt) strictly increases from each leg to the next (so every
    leg is its own attempt, and the attempts are in record order), checked a slice at a time."""
    prev = None
    for s in range(0, issue.size, GROUP_CHUNK):
        key = issue[s:s + GROUP_CHUNK].astype(np.int64) * 64 + attempt[s:s + GROUP_CHUNK]
        if (prev is not None and key[0] <= prev) or np.any(key[1:] <= key[:-1]):
            return False
        prev = key[-1]
    return True


def strictly_increasing(values: np.ndarray) -> bool:
    """Whether each value is larger than the one before, checked a slice at a time."""
    n = values.size
    for s in range(1, n, GROUP_CHUNK):
        e = min(s + GROUP_CHUNK, n)
        if not np.all(values[s:e] > values[s - 1:e - 1]):
            return False
    return True
