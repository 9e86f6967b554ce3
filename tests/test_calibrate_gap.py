"""`--presence-gap auto`: the gap is chosen on the fit days only, by the least inner MAE."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from simsvc.calibrate.fit import FitOptions
from simsvc.calibrate.gap import choose_gap, pick_gap, split_days
from simsvc.calibrate.logs import read_log
from simsvc.cli import main

SYNTHETIC = Path(__file__).parent / "data" / "synthetic_log.csv"
QUICK = FitOptions(search_steps=3, search_reps=1)


def test_ties_go_to_the_larger_gap_and_the_least_mae_wins():
    scores = pd.DataFrame({"gap_s": [600.0, 900.0, 1800.0], "hourly_mae": [0.0502, 0.0498, 0.0611]})
    assert pick_gap(scores) == 900.0  # 0.050 and 0.050 tie at the printed precision
    scores["hourly_mae"] = [0.040, 0.050, 0.061]
    assert pick_gap(scores) == 600.0


def test_split_is_in_time_order_and_needs_two_days():
    days = list(pd.to_datetime(["2026-01-07", "2026-01-05", "2026-01-06"]))
    first, second = split_days(days)
    assert [d.day for d in first] == [5] and [d.day for d in second] == [6, 7]
    with pytest.raises(ValueError, match="at least 2 fit days"):
        split_days(days[:1])


def test_choice_uses_only_the_fit_days():
    log = read_log(SYNTHETIC)
    fit_days = log.days[:8]
    choice = choose_gap(log, fit_days, QUICK, grid=(900.0, 1800.0), reps=1)
    assert set(choice.inner_fit_days) | set(choice.inner_test_days) == set(fit_days)
    assert max(choice.inner_fit_days) < min(choice.inner_test_days)
    assert list(choice.scores["gap_s"]) == [900.0, 1800.0] and choice.scores["hours_scored"].gt(0).all()
    assert choice.gap_s == pick_gap(choice.scores)
    assert "presence gap" in choice.notes()[0] and "hourly abandonment MAE" in choice.notes()[0]


@pytest.mark.slow
def test_held_out_days_are_never_looked_at():
    log = read_log(SYNTHETIC)
    fit_days = log.days[:8]
    c = log.contacts
    fit_only = dataclasses.replace(log, contacts=c[c["day"].isin(fit_days)].copy())
    with_rest = choose_gap(log, fit_days, QUICK, grid=(1800.0,), reps=1)
    without = choose_gap(fit_only, fit_days, QUICK, grid=(1800.0,), reps=1)
    pd.testing.assert_frame_equal(without.scores, with_rest.scores)


@pytest.mark.parametrize("value", ["soon", "0min", "-5min"])
def test_bad_presence_gap_is_one_clear_message(tmp_path, value):
    out = tmp_path / "fitted"
    result = CliRunner().invoke(main, ["fit", str(SYNTHETIC), "--out", str(out), "--presence-gap", value])
    assert result.exit_code == 2
    assert "--presence-gap" in result.output and repr(value) in result.output and "auto" in result.output
    assert not out.exists()


def test_auto_on_one_fit_day_stops_with_a_message(tmp_path):
    out = tmp_path / "fitted"
    result = CliRunner().invoke(main, ["fit", str(SYNTHETIC), "--out", str(out), "--days", "1",
                                       "--staffing-basis", "present", "--presence-gap", "auto"])
    assert result.exit_code == 2
    assert "--presence-gap = 'auto'" in result.output and "at least 2 fit days" in result.output
    assert not out.exists()


@pytest.mark.parametrize("value", ["auto", "15min"])
def test_a_presence_gap_without_the_present_basis_is_refused(tmp_path, value):
    """The default basis (distinct_hour) has no gap: a gap given for it would be ignored, so it is refused."""
    out = tmp_path / "fitted"
    result = CliRunner().invoke(main, ["fit", str(SYNTHETIC), "--out", str(out), "--presence-gap", value])
    assert result.exit_code == 2
    assert "--presence-gap" in result.output and "only with --staffing-basis present" in result.output
    assert "distinct_hour" in result.output
    assert not out.exists()
