"""The replays' replications in several processes (calibrate/replay.workers) give the same numbers."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

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
