"""Per-day views: daily.csv adds up to the summary, and the worst day and slots are found.

The scenario is the Erlang-A queue over three days (Monday is warm-up) with Wednesday
understaffed (7 agents instead of 12 from 10:00 to 14:00), so the worst day and the worst
slots are known in advance.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simsvc.config.load import load_scenario
from simsvc.experiment.runner import run
from simsvc.observe.daily import daily_replications, weekday_time_grid, worst_days, worst_slots

ERLANG_A = Path(__file__).resolve().parent.parent / "scenarios" / "erlang_a_check.yaml"
OVERRIDES = [
    "horizon=3d", "warmup=1d", "start_day=mon", "interval=1h",
    "agents.team.staffing={steps: [{day: all, start: '00:00', agents: 12}, "
    "{day: wed, start: '10:00', agents: 7}, {day: wed, start: '14:00', agents: 12}]}",
]


@pytest.fixture(scope="module")
def result():
    return run(load_scenario(ERLANG_A, OVERRIDES), replications=3, seed=4)


def test_intervals_carry_day_weekday_and_time_of_day(result):
    iv = result.intervals
    row = iv[iv["start_s"] == 2 * 86400 + 10 * 3600].iloc[0]
    assert (row["day"], row["weekday"], row["time_of_day"]) == (2, "wed", "10:00")


def test_daily_adds_up_to_the_summary(result):
    per = daily_replications(result.scenario, result.intervals)
    assert set(per["day"]) == {1, 2} and set(per["weekday"]) == {"tue", "wed"}
    offered = per[per["metric"] == "offered"].groupby(["replication", "channel"])["value"].sum()
    rep = result.per_replication
    summary = rep[rep["metric"] == "offered"].set_index(["replication", "channel"])["value"]
    for (r, ch), v in offered.items():
        assert v == summary[(r, ch)]
    d = result.daily
    assert list(d.columns) == ["day", "weekday", "channel", "metric", "mean", "ci_low", "ci_high", "reps"]
    sl = d[d["metric"] == "service_level"]
    assert ((sl["mean"] >= 0) & (sl["mean"] <= 1)).all() and (sl["reps"] == 3).all()


def test_worst_day_and_slots_are_the_understaffed_ones(result):
    worst = worst_days(result.daily).iloc[0]
    assert (worst["day"], worst["weekday"]) == (2, "wed")
    assert worst["service_level"] < worst["best_service_level"]
    slots = worst_slots(result.scenario, result.intervals, "phone", n=3)
    assert (slots["weekday"] == "wed").all()
    assert set(slots["time_of_day"]) <= {"10:00", "11:00", "12:00", "13:00", "14:00"}
    grid = weekday_time_grid(result.scenario, result.intervals, "phone")
    assert list(grid.index) == ["tue", "wed"] and grid.shape[1] == 24
    assert np.nanmin(grid.loc["wed"]) < np.nanmin(grid.loc["tue"])


def test_run_prints_the_worst_day_and_writes_daily_csv(tmp_path):
    from simsvc.cli import main

    out = tmp_path / "r"
    args = ["run", str(ERLANG_A), "-n", "2", "-w", "1", "--no-report", "--out", str(out)]
    for o in OVERRIDES:
        args += ["--set", o]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "worst day and worst intervals by service level" in res.stdout
    line = next(x for x in res.stdout.splitlines() if x.strip().startswith("phone: day"))
    assert "day 2 (wed)" in line and "slots wed" in line
    daily = pd.read_csv(out / "daily.csv")
    assert set(daily["weekday"]) == {"tue", "wed"}
