"""The replays' replications in several processes (calibrate/replay.workers) give the same numbers."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from simsvc.calibrate import replay
from simsvc.config.load import load_scenario

ERLANG_A = Path(__file__).resolve().parents[1] / "scenarios" / "erlang_a_check.yaml"


def test_simulate_hours_in_two_processes_equals_one() -> None:
    scenario = load_scenario(ERLANG_A, ["horizon=1d", "warmup=0s"])
    serial = replay.simulate_hours(scenario, 3, seed=5)
    with replay.workers(2):
        assert replay._WORKERS == 2
        parallel = replay.simulate_hours(scenario, 3, seed=5, keep_days=None)
    assert replay._WORKERS == 1   # the block restores the setting
    pd.testing.assert_frame_equal(serial, parallel)
    # The replications differ from each other (the test would pass trivially if they did not).
    per_rep = serial.groupby("replication")["offered"].sum()
    assert per_rep.nunique() == 3


def test_each_replication_keeps_replication_order() -> None:
    with replay.workers(2):
        got = replay.each_replication(_label, "s", 5, seed=7)
    assert got == [("s", 7, r) for r in range(5)]


def _label(scenario, seed, replication):
    return scenario, seed, replication


class _Unpicklable:
    """A scenario stand-in that cannot be pickled: the workers must inherit it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self):
        raise TypeError("this scenario was pickled into a task")


def _name(scenario, seed, replication):
    return scenario.name, seed, replication


@pytest.mark.skipif(__import__("multiprocessing").get_start_method() != "fork",
                    reason="the workers inherit the scenario only where they fork")
def test_the_workers_inherit_the_scenario_instead_of_unpickling_it_per_task() -> None:
    """A month's trace replay is 1.6 MB pickled (0.2 s a task): forked workers read it from
    memory they inherit; nothing of it is left behind once the replications are done."""
    with replay.workers(2):
        got = replay.each_replication(_name, _Unpicklable("trace"), 4, seed=3)
    assert got == [("trace", 3, r) for r in range(4)]
    assert replay._SHARED == {}
    with pytest.raises(TypeError, match="pickled"):   # the stand-in does refuse pickling
        __import__("pickle").dumps(_Unpicklable("x"))


@pytest.mark.slow
def test_ctrl_c_in_fit_with_workers_exits_130_and_writes_nothing(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from cli_helpers import interrupt

    log = Path(__file__).parent / "data" / "synthetic_log.csv"
    out = tmp_path / "fitted"
    proc = subprocess.Popen([sys.executable, "-c", "from simsvc.cli import main; main()", "fit", str(log),
                             "-w", "2", "--no-report", "-o", str(out),
                             # long searches: the default fit of this log is done 3 s after its notice
                             # on a quiet machine, before the interrupt comes
                             "--search-steps", "20", "--search-reps", "8", "--refine-reps", "8"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen: list[str] = []

    def searching() -> None:  # the notice comes once the log is read; the searches follow
        while not any(line.startswith("running ") for line in seen):
            line = proc.stderr.readline()
            assert line, "the process ended before it started"
            seen.append(line)
        time.sleep(3.0)
        assert proc.poll() is None, "fit ended before it could be interrupted"

    _, stderr = interrupt(proc, searching)
    stderr = "".join(seen) + stderr
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("interrupted: nothing was written"), stderr
    assert not out.exists()
