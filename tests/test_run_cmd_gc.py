"""`simsvc run` keeps the cycle collector off its start-up and its exit (issue 13, the whole
run), and leaves a process that goes on after the command as it found it."""
from __future__ import annotations

import gc
import subprocess
import sys
from types import SimpleNamespace

import yaml
from click.testing import CliRunner

from simsvc.cli import main
from simsvc.cli import run_cmd

SMALL = {"name": "small", "seed": 3, "horizon": "2h", "channels": {"phone": {"kind": "voice"}},
         "demand": {"phone": {"rate": "60/h"}}, "handling": {"phone": {"dist": "exponential", "mean": "3min"}},
         "agents": {"team": {"skills": ["phone"], "staffing": 3}}}


def test_in_process_runs_leave_the_collector_as_they_found_it(tmp_path, monkeypatch):
    registered = []
    monkeypatch.setattr(run_cmd, "atexit", SimpleNamespace(register=registered.append))
    monkeypatch.setattr(run_cmd, "_LEFT_TO_THE_OS", [])
    scenario = tmp_path / "small.yaml"
    scenario.write_text(yaml.safe_dump(SMALL))
    assert gc.isenabled() and gc.get_freeze_count() == 0
    ok = CliRunner().invoke(main, ["run", str(scenario), "--reps", "1", "-w", "1", "--no-report",
                                   "--out", str(tmp_path / "out")])
    assert ok.exit_code == 0, ok.output
    refused = CliRunner().invoke(main, ["run", str(scenario), "--out", str(tmp_path / "out")])  # not empty
    assert refused.exit_code == 2
    assert gc.isenabled() and gc.get_freeze_count() == 0   # nothing left frozen, collecting again
    assert registered == [gc.freeze]                        # the exit's freeze: registered once


def test_start_up_pauses_collecting_then_freezes_what_it_made():
    assert gc.isenabled()
    with run_cmd._start_up() as started:
        assert not gc.isenabled()
        started()
        assert gc.isenabled() and gc.get_freeze_count() > 0
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:   # a caller that had the collector off keeps it off
        with run_cmd._start_up() as started:
            started()
            assert not gc.isenabled()
        assert not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_a_run_process_exits_with_every_file_written(tmp_path):
    """The objects frozen at exit are left to the OS: the folder is complete and the printed
    results are all there (nothing of the output depends on the exit's collections)."""
    scenario = tmp_path / "small.yaml"
    scenario.write_text(yaml.safe_dump(SMALL))
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-c", "from simsvc.cli import main; main()", "run", str(scenario),
                          "--reps", "2", "-w", "1", "--no-report", "--out", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.rstrip().endswith(f"results: {out}")
    assert {p.name for p in out.iterdir()} >= {"contacts.parquet", "summary.csv", "manifest.json"}
    import pandas as pd

    assert len(pd.read_parquet(out / "contacts.parquet")) > 100
