"""Every option of `fit` and `backtest` reaches what it sets (none accepted and ignored), and
`--replay-mix` does what it says in the replays.

The options are checked where the CLI hands them over (the fit's ``FitOptions``, the log
reader's window), with the fit itself stopped there: what each option then does is tested
with the library (tests/test_calibrate_*.py); `--replay-mix` is tested here.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simsvc.calibrate.replay import replay_dict
from simsvc.cli import main

SYNTHETIC = Path(__file__).parent / "data" / "synthetic_log.csv"

# Options (other than the defaults) and the FitOptions field and value each must give.
SET = [
    (["--redial-window", "20min"], "redial_window_s", 1200.0),
    (["--repeat-window", "3d"], "repeat_window_s", 3 * 86400.0),
    (["--refine-reps", "3"], "refine_reps", 3),
    (["--no-classes"], "classes", False),
    (["--replay-mix", "period"], "replay_mix", "period"),
    (["--replay-arrivals", "counts"], "replay_arrivals", "counts"),
    (["--search-steps", "4"], "search_steps", 4),
    (["--availability-by", "all"], "availability_by", "all"),
]


class Stop(Exception):
    pass


@pytest.fixture
def captured(monkeypatch):
    seen: dict = {}

    def fake_fit(log, days, options, progress=None):
        seen["options"] = options
        raise Stop

    def fake_backtest(log, fit_days, test_days, *, options, **kwargs):
        seen["options"] = options
        raise Stop

    # backtest binds `fit` when first imported: imported here, before the patch, so that it keeps
    # the real one (imported under the patch, it kept fake_fit for the rest of the session)
    import simsvc.calibrate.backtest  # noqa: F401

    monkeypatch.setattr("simsvc.calibrate.fit.fit", fake_fit)
    monkeypatch.setattr("simsvc.calibrate.backtest.backtest", fake_backtest)
    return seen


@pytest.mark.parametrize("command", ["fit", "backtest"])
@pytest.mark.parametrize("args, field, value", SET, ids=[a[0] for a, _, _ in SET])
def test_each_option_reaches_the_fit(tmp_path, captured, command, args, field, value):
    days = [] if command == "fit" else ["--fit-days", "1-7", "--test-days", "8-14"]
    result = CliRunner().invoke(main, [command, str(SYNTHETIC), *days, *args, "-w", "1",
                                       "--out", str(tmp_path / "out")])
    assert isinstance(result.exception, Stop), result.output
    assert getattr(captured["options"], field) == value
    # and without the option, the field has another value (so the check can fail)
    CliRunner().invoke(main, [command, str(SYNTHETIC), *days, "-w", "1", "--out", str(tmp_path / "out2")])
    assert getattr(captured["options"], field) != value


def test_the_date_window_reaches_the_log_reader(tmp_path, monkeypatch):
    """`fit --from/--to`: the rows outside the window are set aside (counted), the rest kept."""
    seen = {}

    def fake_fit(log, days, options, progress=None):
        seen["log"] = log
        raise Stop

    # backtest binds `fit` when first imported: imported here, before the patch, so that it keeps
    # the real one (imported under the patch, it kept fake_fit for the rest of the session)
    import simsvc.calibrate.backtest  # noqa: F401

    monkeypatch.setattr("simsvc.calibrate.fit.fit", fake_fit)
    whole = pd.read_csv(SYNTHETIC, usecols=["arrival_time"])
    dates = pd.to_datetime(whole["arrival_time"]).dt.normalize()
    last = dates.min() + pd.Timedelta(days=2)
    result = CliRunner().invoke(main, ["fit", str(SYNTHETIC), "--to", last.strftime("%Y-%m-%d"), "-w", "1",
                                       "--out", str(tmp_path / "out")])
    assert isinstance(result.exception, Stop), result.output
    log = seen["log"]
    assert log.contacts["day"].max() <= last
    assert log.set_aside.get("after --to", 0) == int((dates > last).sum()) > 0


def _contacts() -> tuple[pd.DataFrame, list]:
    """Two days of contacts, two reasons whose shares move through the day: reason A all
    morning, B all afternoon."""
    days = [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-06")]
    rows = []
    for d in days:
        rows += [(d, 9 * 3600.0 + 60.0 * k, "A") for k in range(30)]
        rows += [(d, 15 * 3600.0 + 60.0 * k, "B") for k in range(10)]
    c = pd.DataFrame(rows, columns=["day", "clock_s", "reason"]).assign(channel="phone")
    return c, days


def _behaviour(mix_by_interval: bool) -> dict:
    return {"channels": {"phone": {"kind": "voice"}}, "reasons": ["A", "B"],
            "handling": {"phone": {"dist": "exponential", "mean": "180s"}}, "pools": {"general": ["phone"]},
            "mix_by_interval": mix_by_interval}


def _staffing(days) -> pd.DataFrame:
    return pd.DataFrame([(d, "general", h * 3600.0, 3.0) for d in days for h in range(24)],
                        columns=["day", "pool", "start_s", "agents"])


def test_replay_mix_interval_gives_each_row_its_own_reason_shares():
    c, days = _contacts()
    data = replay_dict(_behaviour(True), c, _staffing(days), days, 1800.0, name="x")
    spec = data["demand"]["phone"]
    assert spec["mix"] == pytest.approx({"A": 0.75, "B": 0.25})   # the period's shares, as without
    mixes = {(r["day"], r["start"]): r.get("mix") for r in spec["volumes"] if r["volume"] > 0}
    assert mixes[(0, "09:00")] == {"A": 1.0} and mixes[(1, "09:00")] == {"A": 1.0}
    assert mixes[(0, "15:00")] == {"B": 1.0} and mixes[(1, "15:00")] == {"B": 1.0}
    # each row's shares come from its own contacts: the row volumes and mixes add up to the counts
    a = sum(r["volume"] * r["mix"].get("A", 0.0) for r in spec["volumes"] if r.get("mix"))
    assert a == pytest.approx((c["reason"] == "A").sum())


def test_replay_mix_period_gives_one_mix_for_every_row():
    c, days = _contacts()
    data = replay_dict(_behaviour(False), c, _staffing(days), days, 1800.0, name="x")
    spec = data["demand"]["phone"]
    assert spec["mix"] == pytest.approx({"A": 0.75, "B": 0.25})
    assert not any("mix" in r for r in spec["volumes"])


def test_replay_mix_moves_the_simulated_reasons_through_the_day():
    """Simulated, the interval mix puts B's contacts in the afternoon only; one mix spreads
    them over the day."""
    from simsvc.calibrate.replay import simulate_contacts
    from simsvc.config.load import validate

    c, days = _contacts()
    afternoon = {}
    for by_interval in (True, False):
        scenario = validate(replay_dict(_behaviour(by_interval), c, _staffing(days), days, 1800.0, name="x"),
                            file="<replay>")
        sim = simulate_contacts(scenario, 1, 0)
        hour = (sim["arrival_s"].to_numpy() % 86400) // 3600
        b = sim["reason"].astype(str).to_numpy() == "B"
        afternoon[by_interval] = float(np.mean(hour[b] >= 15)) if b.any() else np.nan
    assert afternoon[True] == 1.0
    assert afternoon[False] < 0.6


def test_patience_by_queue_is_on_by_default_and_gives_way_to_a_class_patience(tmp_path, captured):
    """Patience by the queue found is fit's default since issue 10's ninth look; `--class-patience`
    alone turns it off (the two cannot be combined), `--no-patience-by-queue` turns it off. On a log
    with routing classes: on one without, `--class-patience` is refused (test_harden_opts.py)."""
    from test_calibrate_classes import _log_csv

    log = tmp_path / "classed.csv"
    _log_csv(log, 0.0)

    def options(*args):
        result = CliRunner().invoke(main, ["fit", str(log), *args, "-w", "1", "--out", str(tmp_path / "o")])
        assert isinstance(result.exception, Stop), result.output
        return captured["options"]

    assert options().patience_by_queue is True
    alone = options("--class-patience")
    assert alone.class_patience is True and alone.patience_by_queue is False
    assert options("--no-patience-by-queue").patience_by_queue is False


def test_fit_gives_the_default_factor_way_to_a_class_patience(tmp_path):
    """In Python too: with a patience per class the queue's factor (on by default) is not fitted,
    as the class's patience would be fitted without it; with one patience per channel it is."""
    from test_calibrate_classes import _log_csv

    from simsvc.calibrate.fit import FitOptions, fit
    from simsvc.calibrate.logs import read_log

    path = tmp_path / "log.csv"
    _log_csv(path, 0.0)
    log = read_log(path)
    plain = fit(log, options=FitOptions(effective=False))
    per_class = fit(log, options=FitOptions(effective=False, class_patience=True))
    assert "patience_by_queue" in plain.estimates
    assert "patience_by_queue" not in per_class.estimates and "class_patience" in per_class.estimates
    assert any("no patience by the queue found" in n for n in per_class.notes)
    assert not any("no patience by the queue found" in n for n in plain.notes)
