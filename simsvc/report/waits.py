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
    wait = df["wait_s"].to_numpy(dtype=float)[keep]
    upper = np.where(wait <= WAIT_COARSE_FROM_S, np.ceil(wait / WAIT_BIN_S) * WAIT_BIN_S,
                     np.ceil(wait / WAIT_COARSE_BIN_S) * WAIT_COARSE_BIN_S)
    # One integer key per (channel, outcome, bin), counted with one sort.
    n_out = max(len(outcome.categories), 1)
    bins = np.rint(upper / WAIT_BIN_S).astype(np.int64)
    key = ((channel.codes[keep].astype(np.int64) * n_out + outcome.codes[keep]) << 40) + bins
    key, count = np.unique(key, return_counts=True)
    group = key >> 40
    return pd.DataFrame({
        "channel": np.asarray(channel.categories, dtype=object)[group // n_out].astype(str),
        "outcome": np.asarray(outcome.categories, dtype=object)[group % n_out].astype(str),
        "wait_s": (key & ((1 << 40) - 1)) * WAIT_BIN_S,
        "count": count.astype(np.int64),
    }, columns=HISTOGRAM_COLUMNS).sort_values(["channel", "outcome", "wait_s"], ignore_index=True)


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
