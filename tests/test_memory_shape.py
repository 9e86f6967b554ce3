"""The memory-saving shapes of the reducers give the same values as the plain expressions.

Issue 13 (peak memory per million contacts): busy segments are derived from the record
when read, reductions run a slice at a time, and per-leg columns share the customer
view's arrays. These tests pin that each shortcut is value-identical (bit for bit) to
the whole-array expression it replaces; they measure no time and no memory.
"""
from __future__ import annotations

import numpy as np
import pytest

from simsvc.domain import experience as xp
from simsvc.model.duty import BusySegments
from simsvc.observe import groups
from simsvc.observe.summary import _clip_sum_of


def _record(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    c = {k: rng.random(n) * 100 for k in ("arrival_s", "wait_s", "handle_s", "wrap_s")}
    c["channel"] = rng.integers(0, 3, n).astype(np.int16)
    c["pool"] = rng.integers(0, 2, n).astype(np.int16)
    c["agent"] = rng.integers(0, 50, n).astype(np.int32)
    return c


def test_busy_segments_read_from_the_record_equal_the_concatenated_columns():
    n = 3 * BusySegments.SLICE + 17  # several slices and a partial one
    c = _record(n)
    answered = np.random.default_rng(2).random(n) < 0.7
    chats = {"start_s": np.array([1.0, 2.0]), "end_s": np.array([3.0, 4.0]), "channel": np.array([1, 2], np.int16),
             "pool": np.array([0, 1], np.int16), "agent": np.array([3, 4], np.int32)}
    busy = BusySegments(c, answered, chats)
    start = c["arrival_s"][answered] + c["wait_s"][answered]
    expected = {"start_s": np.concatenate([start, chats["start_s"]]),
                "end_s": np.concatenate([start + c["handle_s"][answered] + c["wrap_s"][answered], chats["end_s"]])}
    for key in ("channel", "pool", "agent"):
        expected[key] = np.concatenate([c[key][answered], chats[key]])
    assert list(busy) == list(expected)
    for key, values in expected.items():
        assert busy[key].dtype == values.dtype
        assert np.array_equal(busy[key], values), key
    with pytest.raises(KeyError):
        busy["wait_s"]


def test_clip_sum_in_slices_is_the_whole_array_float():
    rng = np.random.default_rng(3)
    start = rng.random(200_001) * 1000
    seg = {"start_s": start, "end_s": start + rng.exponential(30, start.size)}
    m = rng.random(start.size) < 0.5
    for mask in (None, m):
        s = seg["start_s"] if mask is None else seg["start_s"][mask]
        e = seg["end_s"] if mask is None else seg["end_s"][mask]
        whole = float(np.sum(np.clip(np.minimum(e, 900.0) - np.maximum(s, 100.0), 0.0, None)))
        assert _clip_sum_of(seg, mask, 100.0, 900.0) == whole


@pytest.mark.parametrize("sizes", [[1] * 50, [1, 3, 2, 1, 5] * 40_000, [7]])
def test_groups_and_chunked_reductions_match_reduceat(sizes):
    keys = np.repeat(np.arange(len(sizes)) * 3, sizes)
    starts, ends = groups.groups(keys)
    assert np.array_equal(starts, np.cumsum([0] + sizes[:-1]))
    assert np.array_equal(ends, np.cumsum(sizes) - 1)
    rng = np.random.default_rng(4)
    ratio = rng.random(keys.size).astype(np.float32)
    flags = rng.random(keys.size) < 0.3
    counts = rng.integers(0, 3, keys.size).astype(np.int16)
    n = keys.size
    assert np.array_equal(groups.per_group(np.add, ratio, starts, n), np.add.reduceat(ratio, starts))
    assert np.array_equal(groups.per_group(np.logical_or, flags, starts, n),
                          np.add.reduceat(flags.astype(np.int16), starts) > 0)
    assert np.array_equal(groups.per_group(np.logical_and, flags, starts, n),
                          np.add.reduceat((~flags).astype(np.int16), starts) == 0)
    assert np.array_equal(groups.per_group(np.add, counts, starts, n, np.int16),
                          np.add.reduceat(counts, starts).astype(np.int16))


def test_survey_responses_in_slices_are_one_draw():
    n = 3 * xp.ANSWER_SLICE + 5
    a = xp.responses(np.random.default_rng(5), n, 0.3)
    assert np.array_equal(a, np.random.default_rng(5).random(n) < 0.3)


def _plain_time_in_intervals(start: np.ndarray, end: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The whole expression: total length of segments [start, end) in each interval of ``grid``
    (cumulative covered time up to t: Σ max(0, t − start) − Σ max(0, t − end))."""
    def cum(points: np.ndarray) -> np.ndarray:
        points = np.sort(np.clip(points, grid[0], grid[-1]))
        k = np.searchsorted(points, grid, side="left")
        csum = np.cumsum(points)
        sums = np.zeros(len(k))
        sums[k > 0] = csum[k[k > 0] - 1]
        return k * grid - sums
    return np.maximum(np.diff(cum(start) - cum(end)), 0.0)


def test_time_in_intervals_read_a_column_at_a_time_is_the_same_float_and_leaves_stored_columns():
    """Busy and staffed time per interval read the starts, then the ends, and clip the
    arrays a read gives them in place (issue 13): the same floats as the whole expression,
    and a stored segment table (duty) is not changed."""
    from simsvc.observe.tables import _time_in

    rng = np.random.default_rng(6)
    n = 5_000
    start = rng.random(n) * 1000 - 50
    seg = {"start_s": start, "end_s": start + rng.exponential(30, n),
           "channel": rng.integers(0, 2, n).astype(np.int16), "pool": np.zeros(n, np.int16)}
    stored = {k: v.copy() for k, v in seg.items()}
    grid = np.linspace(0.0, 950.0, 20)
    c = _record(n)
    busy = BusySegments(c, rng.random(n) < 0.6, {k: seg[k][:3] for k in ("start_s", "end_s", "channel", "pool")}
                        | {"agent": np.zeros(3, np.int32)})
    for table in (seg, busy):
        for pool, channel in ((None, None), (0, None), (None, 1)):
            m = np.ones(len(table["start_s"]), bool) if pool is None else table["pool"] == pool
            if channel is not None:
                m &= table["channel"] == channel
            expected = _plain_time_in_intervals(table["start_s"][m], table["end_s"][m], grid)
            assert np.array_equal(_time_in(table, pool, channel, grid), expected)
    for k, v in stored.items():
        assert np.array_equal(seg[k], v), k
