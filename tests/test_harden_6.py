"""Class 6: the result store trusts nothing it did not verify.

Every stored replication carries its variant key, replication number and a checksum;
on resume a truncated, empty, foreign, tampered or stray file is reported and re-run,
and the final summary is byte-identical to an uninterrupted run. `simsvc results` on an
interrupted experiment says so instead of showing a stale summary.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harden_helpers import invoke, tiny
from simsvc.experiment.store import ResultStore, StoreWarning

OUTPUTS = ("summary.csv", "comparison.csv", "points.csv")


def _frame(rep: int) -> pd.DataFrame:
    return pd.DataFrame({"replication": [rep, rep], "channel": ["phone", "all"], "metric": ["offered", "offered"],
                         "value": [10.0 + rep, 10.0 + rep]})


def _corrupt(path: Path, how: str, other: Path) -> None:
    if how == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "foreign":
        shutil.copyfile(other, path)
    elif how == "tampered":  # valid Parquet, right metadata, other numbers
        table = pq.read_table(path)
        frame = table.to_pandas()
        frame["value"] = frame["value"] + 1
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(
            table.schema.metadata), path)
    elif how == "unlabelled":  # valid Parquet of the right rows, without the store's metadata
        pq.write_table(pa.Table.from_pandas(pq.read_table(path).to_pandas(), preserve_index=False), path)
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["truncated", "empty", "foreign", "tampered", "unlabelled"])
def test_store_rejects_and_reports_bad_files(tmp_path: Path, how: str) -> None:
    store = ResultStore(tmp_path)
    store.save("a-1", 0, _frame(0))
    store.save("a-1", 1, _frame(1))
    store.save("b-2", 1, _frame(5))
    _corrupt(store.path("a-1", 1), how, store.path("b-2", 1))
    (store.runs / "a-1" / "rep-abc.parquet").write_bytes(b"stray")
    fresh = ResultStore(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert fresh.stored("a-1") == {0}
    messages = [str(w.message) for w in caught if issubclass(w.category, StoreWarning)]
    assert len(messages) == 2, messages
    assert any("rep-00001.parquet" in m and "runs again" in m for m in messages)
    assert any("rep-abc.parquet" in m and "ignored" in m for m in messages)
    assert not store.path("a-1", 1).exists()


def test_saved_files_carry_key_replication_and_checksum(tmp_path: Path) -> None:
    path = ResultStore(tmp_path).save("k-1", 7, _frame(7))
    info = json.loads(pq.read_table(path).schema.metadata[b"simsvc"])
    assert info["variant"] == "k-1" and info["replication"] == 7 and len(info["checksum"]) == 64
    assert not list(path.parent.glob(".rep-*"))


def _cli() -> list[str]:
    return [sys.executable, "-c", "from simsvc.cli import main; main()"]


@pytest.mark.slow
def test_kill_mid_write_and_four_corruptions_then_resume_is_byte_identical(tmp_path: Path) -> None:
    scenario = tiny(tmp_path)
    args = ["sweep", str(scenario), "--set", "horizon=3d", "--vary", "agents.team.staffing=4,6", "-n", "12",
            "-w", "2", "--no-report"]
    out = tmp_path / "killed"
    proc = subprocess.Popen([*_cli(), *args, "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 90
    try:
        while len(list(out.glob("runs/*/rep-*.parquet"))) < 6:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no replications stored in time"
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    stored = sorted(out.glob("runs/*/rep-*.parquet"))
    assert 6 <= len(stored) < 24
    # A writer killed mid-write leaves a temporary file; then four kinds of damage and a stray file.
    (stored[0].parent / ".rep-00011.x.tmp").write_bytes(b"PAR1 half")
    for how, path in zip(["truncated", "empty", "foreign", "tampered"], stored[:4]):
        _corrupt(path, how, stored[-1])
    (stored[0].parent / "rep-00003.parquet.bak").write_bytes(b"stray")

    resumed = subprocess.run([*_cli(), *args, "-o", str(out)], capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    warned = [line for line in resumed.stderr.splitlines() if line.startswith("warning: ")]
    assert sum("runs again" in w for w in warned) == 4, resumed.stderr
    assert sum("ignored" in w for w in warned) == 1, resumed.stderr
    fresh = subprocess.run([*_cli(), *args, "-o", str(tmp_path / "fresh")], capture_output=True, text=True,
                           timeout=180)
    assert fresh.returncode == 0, fresh.stderr
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name


def test_results_on_an_interrupted_experiment_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "exp"
    done = invoke("sweep", tiny(tmp_path), "--vary", "agents.team.staffing=4,5", "-n", 2, "-w", 1, "--no-report",
                  "-o", folder)
    assert done.exit_code == 0, done.output
    manifest = json.loads((folder / "experiment.json").read_text())
    manifest["status"] = "running"  # what a re-run that was interrupted leaves
    (folder / "experiment.json").write_text(json.dumps(manifest))
    for fmt in ("markdown", "csv", "json"):
        result = invoke("results", folder, "--format", fmt)
        assert result.exit_code == 0, result.output
        assert "still running or was interrupted" in result.stderr and "4 of 4 replications" in result.stderr
        assert "0.62" not in result.stdout and "staffing=4" not in result.stdout  # no stale summary
