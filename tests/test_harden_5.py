"""Class 5: fail before the work, not after.

The output location is checked (writable, free space for a rough estimate) before the
simulation starts; a failed write after the run keeps what was computed elsewhere and
says where; temporary folders of killed writers are reported on the next run.
"""
from __future__ import annotations

import os
import tempfile
from collections import namedtuple
from pathlib import Path

import pytest

from harden_helpers import invoke, one_error, tiny, write
from simsvc.experiment import safepath


def _no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    import simsvc.experiment.runner as runner

    def boom(*args, **kwargs):
        raise AssertionError("the simulation started before the output was checked")

    monkeypatch.setattr(runner, "run", boom)
    monkeypatch.setattr(runner, "run_replication", boom)


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_output_under_a_file_fails_before_simulating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    command: str) -> None:
    _no_simulation(monkeypatch)
    blocker = write(tmp_path / "blocker", "a file")
    f = tiny(tmp_path)
    args = ["run", f, "-n", 1] if command == "run" else ["sweep", f, "--vary", "agents.team.staffing=4,5", "-n", 2,
                                                          "-w", 1]
    one_error(invoke(*args, "--no-report", "-o", blocker / "out"), "--out", "is a file")


@pytest.mark.parametrize("command", ["run", "sweep", "compare"])
def test_unwritable_or_full_output_fails_before_simulating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          command: str) -> None:
    _no_simulation(monkeypatch)
    f = tiny(tmp_path)
    args = {"run": ["run", f, "-n", 1], "sweep": ["sweep", f, "--vary", "agents.team.staffing=4,5", "-n", 2, "-w", 1],
            "compare": ["compare", f, f, "-n", 2, "-w", 1]}[command]
    out = tmp_path / "new" / "out"
    # Read-only (simulated: the tests may run as root, for whom every folder is writable).
    real_access = os.access
    monkeypatch.setattr(safepath.os, "access", lambda path, mode, **kw: False if mode & os.W_OK
                        else real_access(path, mode, **kw))
    one_error(invoke(*args, "--no-report", "-o", out), "--out", "not writable")
    monkeypatch.undo()
    _no_simulation(monkeypatch)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(safepath.shutil, "disk_usage", lambda path: usage(10, 10, 0))
    one_error(invoke(*args, "--no-report", "-o", out), "--out", "free")
    assert not (tmp_path / "new").exists()


def test_a_failed_write_after_the_run_keeps_the_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = safepath.os.replace
    target = tmp_path / "out"

    def failing(src, dst, *args, **kwargs):
        if Path(dst) == target:  # the final rename of the streamed results folder
            raise OSError(28, "No space left on device")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(safepath.os, "replace", failing)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    result = invoke("run", tiny(tmp_path), "-n", 1, "--no-report", "-o", target)
    assert result.exit_code == 0, result.output
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warning) == 1 and "No space left on device" in warning[0]
    rescued = list((tmp_path / "tmp" / "simsvc-rescue" / "tiny").iterdir())
    assert len(rescued) == 1 and str(rescued[0]) in warning[0]
    assert (rescued[0] / "summary.csv").is_file() and (rescued[0] / "manifest.json").is_file()
    assert not target.exists()


def test_leftover_temporary_folders_are_reported(tmp_path: Path) -> None:
    f = tiny(tmp_path)
    (tmp_path / "res" / ".run.abc123.tmp").mkdir(parents=True)
    result = invoke("run", f, "-n", 1, "--no-report", "-o", tmp_path / "res" / "run2")
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and ".run.abc123.tmp" in notes[0] and "interrupted write" in notes[0]
