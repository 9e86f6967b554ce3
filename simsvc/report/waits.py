"""The wait histogram the report plots instead of every contact's wait (see :func:`wait_histogram`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

_CONTACT_COLUMNS = ["channel", "outcome", "wait_s", "in_warmup"]


WAIT_BIN_S = 1 / 16        # resolution of the wait histogram up to WAIT_COARSE_FROM_S ...
WAIT_COARSE_FROM_S = 3600.0
WAIT_COARSE_BIN_S = 60.0   # ... and beyond it (both powers of two apart: bin edges are exact)
HISTOGRAM_COLUMNS = ["channel", "outcome", "wait_s", "count"]


def wait_histogram(contacts: pd.DataFrame) -> pd.DataFrame:
    """Waits of contacts after the warm-up, as counts per (channel, outcome, wait bin):
    what the wait-distribution plot draws, in a few thousand rows however many
    contacts there are.

    ``wait_s`` is a bin's upper edge: waits are rounded up to the next multiple of
    1/16 s (of 60 s beyond an hour), so a wait of exactly 0 stays 0, the curve moves
    by at most 1/16 s, and "wait ≤ T" is exact for any whole-second threshold T.
    """
    df = contacts
    keep = df["wait_s"].notna().to_numpy().copy()
    if "in_warmup" in df.columns:
        keep &= ~df["in_warmup"].to_numpy(dtype=bool)
    channel = pd.Categorical(df["channel"])   # no copy when already categorical
    outcome = pd.Categorical(df["outcome"])
    keys, counts = _counted_keys(channel.codes, outcome.codes, len(outcome.categories),
                                 df["wait_s"].to_numpy(dtype=float), keep)
    return _histogram_frame(keys, counts, list(channel.categories), list(outcome.categories))


def _counted_keys(channel: np.ndarray, outcome: np.ndarray, n_outcomes: int, wait_s: np.ndarray,
                  keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (channel, outcome, wait bin) keys of the rows ``keep`` selects, and how many
    rows each: one integer key per row, counted with one sort."""
    wait = wait_s[keep]
    upper = np.where(wait <= WAIT_COARSE_FROM_S, np.ceil(wait / WAIT_BIN_S) * WAIT_BIN_S,
                     np.ceil(wait / WAIT_COARSE_BIN_S) * WAIT_COARSE_BIN_S)
    n_out = max(n_outcomes, 1)
    bins = np.rint(upper / WAIT_BIN_S).astype(np.int64)
    key = ((channel[keep].astype(np.int64) * n_out + outcome[keep]) << 40) + bins
    return np.unique(key, return_counts=True)


def _histogram_frame(key: np.ndarray, count: np.ndarray, channels: list, outcomes: list) -> pd.DataFrame:
    """:func:`wait_histogram`'s rows from the counted keys of :func:`_counted_keys`."""
    n_out = max(len(outcomes), 1)
    group = key >> 40
    return pd.DataFrame({
        "channel": np.asarray(channels, dtype=object)[group // n_out].astype(str),
        "outcome": np.asarray(outcomes, dtype=object)[group % n_out].astype(str),
        "wait_s": (key & ((1 << 40) - 1)) * WAIT_BIN_S,
        "count": count.astype(np.int64),
    }, columns=HISTOGRAM_COLUMNS).sort_values(["channel", "outcome", "wait_s"], ignore_index=True)


def wait_histogram_of_rows(contacts, slice_rows: int = 65_536) -> pd.DataFrame:
    """:func:`wait_histogram` of a contacts row table (:class:`simsvc.observe.rows.ContactRows`),
    from its arrays a slice of rows at a time (no DataFrame, no column of the table built whole),
    the slices' counts added up per key: the same rows as :func:`wait_histogram` of the whole
    table, at a fraction of its cost (issue 13: the report of a large run)."""
    keys, counts = [], []
    channels = outcomes = ()
    for start in range(0, len(contacts), slice_rows):
        rows = slice(start, start + slice_rows)
        wait_s = contacts.values("wait_s", rows)
        keep = ~np.isnan(wait_s)
        keep &= ~contacts.values("in_warmup", rows)
        channel, outcome = contacts.values("channel", rows), contacts.values("outcome", rows)
        channels, outcomes = channel.labels, outcome.labels
        k, c = _counted_keys(channel.codes, outcome.codes, len(outcomes), wait_s, keep)
        keys.append(k)
        counts.append(c)
    if not keys:
        return merge_wait_histograms([])
    key, where = np.unique(np.concatenate(keys), return_inverse=True)
    count = np.bincount(where, weights=np.concatenate(counts), minlength=key.size).astype(np.int64)
    return _histogram_frame(key, count, list(channels), list(outcomes))


def wait_histogram_of_file(file: Path, batch_rows: int = 500_000) -> pd.DataFrame:
    """:func:`wait_histogram` of a ``contacts.parquet``, read a batch of rows at a time
    (four columns), so a run of millions of contacts is never held in memory."""
    import pyarrow.parquet as pq

    parts = []
    with pq.ParquetFile(file) as handle:
        names = set(handle.schema_arrow.names)
        columns = [c for c in _CONTACT_COLUMNS if c in names]
        for batch in handle.iter_batches(batch_size=batch_rows, columns=columns):
            parts.append(wait_histogram(batch.to_pandas()))
    return merge_wait_histograms(parts)


def merge_wait_histograms(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One histogram of several (batches of rows, replications): counts summed per bin."""
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                             zip(HISTOGRAM_COLUMNS, (str, str, float, np.int64))})
    merged = pd.concat(parts, ignore_index=True)
    return (merged.groupby(["channel", "outcome", "wait_s"], sort=True)["count"].sum()
            .reset_index()[HISTOGRAM_COLUMNS])
