"""The result store: one file per (variant, replication), written the moment it finishes.

Layout of an experiment folder::

    experiment.json                 definition, variants (resolved scenarios, hashes), seeds, versions
    runs/<variant key>/rep-00007.parquet    per-replication metrics (replication, channel, metric, value)
    summary.csv, comparison.csv, points.csv   written when the experiment completes

Each replication file is written to a temporary name and renamed into place, so
a file either exists complete or not at all. The variant key includes a hash of
the resolved scenario and the seed, so re-running the same definition finds its
replications and skips them, and a changed definition never reuses stale ones.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd

REP_FILE = "rep-{:05d}.parquet"


class ResultStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.runs = self.root / "runs"

    def path(self, key: str, replication: int) -> Path:
        return self.runs / key / REP_FILE.format(replication)

    def remove_partial(self) -> int:
        """Delete temporary files left by a run that was killed mid-write."""
        stale = list(self.runs.glob("*/.rep-*.tmp")) if self.runs.is_dir() else []
        stale += list(self.root.glob(".*.tmp")) if self.root.is_dir() else []
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)

    def stored(self, key: str) -> set[int]:
        folder = self.runs / key
        if not folder.is_dir():
            return set()
        return {int(p.stem.split("-")[1]) for p in folder.glob("rep-*.parquet")}

    def save(self, key: str, replication: int, metrics: pd.DataFrame) -> Path:
        target = self.path(key, replication)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".rep-", suffix=".tmp", dir=target.parent)
        os.close(fd)
        try:
            metrics.to_parquet(tmp, index=False)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def load(self, key: str, replications: list[int] | None = None) -> pd.DataFrame:
        reps = sorted(self.stored(key)) if replications is None else replications
        frames = [pd.read_parquet(self.path(key, r)) for r in reps]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
            columns=["replication", "channel", "metric", "value"])

    def write_text(self, name: str, text: str) -> Path:
        """Write a file at the top of the store atomically."""
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / name
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.root)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
        return target

    def write_csv(self, name: str, frame: pd.DataFrame) -> Path:
        return self.write_text(name, frame.to_csv(index=False, float_format="%.6g"))

    def write_json(self, name: str, data: dict) -> Path:
        return self.write_text(name, json.dumps(data, indent=2, default=str))

    def read_json(self, name: str) -> dict | None:
        path = self.root / name
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
