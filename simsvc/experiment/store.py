"""The result store: one file per (variant, replication), written the moment it finishes.

Layout of an experiment folder::

    experiment.json                 definition, variants (resolved scenarios, hashes), seeds, versions
    runs/<variant key>/rep-00007.parquet    per-replication metrics (replication, channel, metric, value)
    summary.csv, comparison.csv, points.csv   written when the experiment completes

Each replication file is written to a temporary name, flushed to disk (file and
folder) and renamed into place, so a file either exists complete or not at all,
even after a power loss. The variant key includes a hash of the resolved
scenario and the seed, so re-running the same definition finds its replications
and skips them, and a changed definition never reuses stale ones.

The store trusts nothing it did not verify: every file carries its variant key,
replication number and a checksum of its rows in the Parquet metadata, and on
first use each variant's files are checked. A truncated, empty, foreign or
tampered file is set aside (renamed ``.rejected-…``) and its replication runs
again; a stray file is left alone; both are reported as a :class:`StoreWarning`.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from simsvc.experiment.safepath import fsync_dir, fsync_file

REP_FILE = "rep-{:05d}.parquet"
_REP_NAME = re.compile(r"rep-(\d{5})\.parquet")
_META = b"simsvc"


class StoreWarning(UserWarning):
    """Something in the store was not what it claimed to be (reported, then handled)."""


def rows_checksum(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's column names, dtypes and values (stable across a Parquet round trip)."""
    h = hashlib.sha256()
    for col in frame.columns:
        values = frame[col].to_numpy()
        h.update(f"{col}\x1f{values.dtype.kind}\x1e".encode())
        if values.dtype.kind in "iufb":
            h.update(np.ascontiguousarray(values.astype(values.dtype.newbyteorder("<"))).tobytes())
        else:
            h.update("\x1f".join(map(str, values)).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


class ResultStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.runs = self.root / "runs"
        self._verified: dict[str, set[int]] = {}

    def path(self, key: str, replication: int) -> Path:
        return self.runs / key / REP_FILE.format(replication)

    def remove_partial(self) -> int:
        """Delete temporary files left by a run that was killed mid-write."""
        stale = list(self.runs.glob("*/.rep-*.tmp")) if self.runs.is_dir() else []
        stale += [p for p in self.root.glob(".*.tmp") if p.is_file()] if self.root.is_dir() else []
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)

    def stored(self, key: str) -> set[int]:
        """Replications of ``key`` whose files passed verification (checked once per store)."""
        if key not in self._verified:
            self._verified[key] = self.verify(key)
        return set(self._verified[key])

    def verify(self, key: str) -> set[int]:
        """Check every file of a variant; set aside bad ones and report them and stray files."""
        folder = self.runs / key
        good: set[int] = set()
        if not folder.is_dir():
            return good
        for path in sorted(folder.iterdir()):
            if path.name.startswith("."):
                continue
            m = _REP_NAME.fullmatch(path.name)
            if not m or not path.is_file():
                warnings.warn(StoreWarning(f"{path}: not a replication file of this store; ignored"),
                              stacklevel=2)
                continue
            problem = self._check(path, key, int(m.group(1)))
            if problem is None:
                good.add(int(m.group(1)))
                continue
            rejected = path.with_name(f".rejected-{path.name}")
            os.replace(path, rejected)
            warnings.warn(StoreWarning(f"{path}: {problem}; set aside as {rejected.name}, "
                                       "the replication runs again"), stacklevel=2)
        return good

    @staticmethod
    def _check(path: Path, key: str, replication: int) -> str | None:
        """Why ``path`` cannot be trusted as replication ``replication`` of ``key`` (None: it can)."""
        import pyarrow.parquet as pq

        if path.stat().st_size == 0:
            return "empty"
        try:
            table = pq.read_table(path)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is one that cannot be trusted
            return f"unreadable ({type(exc).__name__}: truncated or not Parquet)"
        meta = (table.schema.metadata or {}).get(_META)
        if meta is None:
            return "carries no variant key, replication number or checksum"
        try:
            info = json.loads(meta)
        except ValueError:
            return "has damaged metadata"
        if info.get("variant") != key:
            return f"belongs to another variant ({str(info.get('variant'))[:40]})"
        if info.get("replication") != replication:
            return f"holds replication {info.get('replication')}, not {replication}"
        frame = table.to_pandas()
        if rows_checksum(frame) != info.get("checksum"):
            return "its rows do not match their checksum"
        return None

    def save(self, key: str, replication: int, metrics: pd.DataFrame) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        target = self.path(key, replication)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".rep-", suffix=".tmp", dir=target.parent)
        os.close(fd)
        placed = False
        try:
            table = pa.Table.from_pandas(metrics, preserve_index=False)
            info = {"variant": key, "replication": replication, "checksum": rows_checksum(metrics)}
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), _META: json.dumps(info)})
            pq.write_table(table, tmp)
            fsync_file(tmp)
            os.replace(tmp, target)
            placed = True
            fsync_dir(target.parent)
        except BaseException:
            # Ctrl-C may land between the rename and ``placed = True``: the file is then in place.
            placed = placed or not Path(tmp).exists() and target.exists()
            if not placed:
                Path(tmp).unlink(missing_ok=True)
            raise
        finally:
            if placed:  # counted as stored even if Ctrl-C arrives during the folder sync
                self._verified.setdefault(key, set()).add(replication)
        return target

    def load(self, key: str, replications: list[int] | None = None) -> pd.DataFrame:
        reps = sorted(self.stored(key)) if replications is None else replications
        frames = [pd.read_parquet(self.path(key, r)) for r in reps]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
            columns=["replication", "channel", "metric", "value"])

    def write_text(self, name: str, text: str) -> Path:
        """Write a file at the top of the store atomically (flushed before the rename)."""
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.root / name
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        fsync_dir(self.root)
        return target

    def write_csv(self, name: str, frame: pd.DataFrame) -> Path:
        return self.write_text(name, frame.to_csv(index=False, float_format="%.6g"))

    def write_json(self, name: str, data: dict) -> Path:
        return self.write_text(name, json.dumps(data, indent=2, default=str))

    def read_json(self, name: str) -> dict | None:
        """A JSON file at the top of the store; None if absent, ValueError if damaged."""
        path = self.root / name
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: damaged ({exc})") from None
