"""Writing a run's results folder atomically.

Everything is written into a hidden temporary folder beside the target and
renamed into place at the end, so a results folder either exists complete or
not at all (an interrupted or failed run leaves nothing half-written).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from simsvc.config.load import scenario_yaml
from simsvc.experiment.runner import RunResult, release_memory

FILES = ("contacts.parquet", "intervals.parquet", "pools.parquet", "issues.parquet", "summary.csv",
         "replications.csv", "manifest.json", "scenario.yaml")


def default_out_dir(base: str | Path, scenario_name: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = Path(base) / scenario_name / stamp
    n = 1
    while path.exists():
        path = Path(base) / scenario_name / f"{stamp}-{n}"
        n += 1
    return path


def _json_default(value: object) -> object:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return str(value)


def write_parquet(frame, path: Path, rows_per_group: int = 100_000) -> None:
    """Write ``frame`` in row groups, so only one group at a time is converted to Arrow
    (writing a million contacts in one go would briefly double their memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.Schema.from_pandas(frame.iloc[:0], preserve_index=False)
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, max(len(frame), 1), rows_per_group):
            chunk = frame.iloc[start:start + rows_per_group]
            writer.write_table(pa.Table.from_pandas(chunk, schema=schema, preserve_index=False))


def write_results(result: RunResult, out_dir: str | Path) -> Path:
    """Write the results folder ``out_dir`` (which must not exist yet, or be empty)."""
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} already exists and is not empty; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    release_memory()  # temporaries of the run are gone; start writing from a lean heap
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; results are ordinary files
        for name, frame in (("contacts", result.contacts), ("intervals", result.intervals),
                            ("pools", result.pools), ("issues", result.issues),
                            ("customers", result.customers), ("journey_events", result.journey_events)):
            if not frame.empty or name == "intervals":
                write_parquet(frame, tmp / f"{name}.parquet")
        result.summary.to_csv(tmp / "summary.csv", index=False, float_format="%.6g")
        if not result.journey.empty:
            result.journey.to_csv(tmp / "journey.csv", index=False, float_format="%.6g")
        if not result.daily.empty:
            result.daily.to_csv(tmp / "daily.csv", index=False, float_format="%.6g")
        result.per_replication.to_csv(tmp / "replications.csv", index=False, float_format="%.6g")
        (tmp / "scenario.yaml").write_text(scenario_yaml(result.scenario), encoding="utf-8")
        (tmp / "manifest.json").write_text(
            json.dumps(result.manifest, indent=2, default=_json_default), encoding="utf-8")
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
