"""Trace-driven demand (`demand.<channel>.arrivals`, `arrivals_csv`) and the replays that use it
(`fit`/`backtest --replay-arrivals trace`): the trace's times, reasons and handle times come
out exactly, the other random streams are drawn as before, bad traces get one clear message."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simsvc.calibrate.replay import replay_dict, simulate_contacts
from simsvc.cli import main
from simsvc.config.errors import ScenarioError
from simsvc.config.load import load_scenario, validate

SYNTHETIC = Path(__file__).parent / "data" / "synthetic_log.csv"


def _scenario(arrivals, **demand) -> dict:
    return {
        "name": "trace", "seed": 5, "horizon": "2d",
        "channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "90s"}}},
        "reasons": {"billing": {}, "tech": {}},
        "demand": {"phone": {"arrivals": arrivals, "mix": {"billing": 0.5, "tech": 0.5}, **demand}},
        "handling": {"phone": {"dist": "exponential", "mean": "4min"}},
        "resolution": {"phone": 1.0},
        "agents": {"team": {"skills": ["phone"], "staffing": 2}},
    }


def _rows(n: int = 300, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(0, 2 * 86400, n))
    return [{"day": int(x // 86400), "start": float(x % 86400), "reason": ["billing", "tech"][k % 2]}
            for k, x in enumerate(t)]


def _run(data: dict) -> pd.DataFrame:
    c = simulate_contacts(validate(data, file="<trace>"), 5, 0)
    return c[c["leg"] == 1].sort_values("arrival_s", kind="stable").reset_index(drop=True)


def test_the_trace_arrives_exactly_with_its_reasons():
    rows = _rows()
    c = _run(_scenario(rows))
    first = c[c["attempt"] == 1]
    expected = np.array([r["day"] * 86400 + r["start"] for r in rows])
    assert len(first) == len(rows)
    np.testing.assert_array_equal(first["arrival_s"].to_numpy(), expected)
    assert first["reason"].astype(str).tolist() == [r["reason"] for r in rows]


def test_clock_strings_and_rows_out_of_order_and_rows_without_reason():
    rows = [{"day": 1, "start": "09:00:30"}, {"day": 0, "start": "08:00", "reason": "tech"},
            {"day": 0, "start": 100.25}] + [{"day": 1, "start": 3600.0 + k} for k in range(400)]
    c = _run(_scenario(rows))
    assert c["arrival_s"].tolist()[:3] == [100.25, 8 * 3600.0, 86400 + 3600.0]
    assert c.loc[c["arrival_s"] == 8 * 3600.0, "reason"].astype(str).item() == "tech"
    # the 401 rows without a reason draw theirs from the mix (50/50)
    drawn = c[c["arrival_s"] != 8 * 3600.0]["reason"].astype(str)
    assert 0.4 < (drawn == "billing").mean() < 0.6


def test_a_rows_handle_replaces_the_draw_and_the_other_streams_stay_as_they_were():
    rows = _rows()
    with_handle = [dict(r, handle=f"{7 + k}s") if k % 3 == 0 else r for k, r in enumerate(rows)]
    plain, own = _run(_scenario(rows)), _run(_scenario(with_handle))
    answered = own["outcome"] == "answered"
    given = np.array([k % 3 == 0 for k in range(len(rows))])
    np.testing.assert_allclose(own.loc[answered & given, "handle_s"],
                               [7.0 + k for k in np.flatnonzero(given & answered.to_numpy())])
    # the patience stream is drawn as before: every contact keeps its patience
    np.testing.assert_array_equal(plain["patience_s"].to_numpy(), own["patience_s"].to_numpy())
    # and a contact without a handle of its own keeps its draw (drawn on arrival, with its chunk)
    both = ~given & answered.to_numpy() & (plain["outcome"] == "answered").to_numpy()
    assert both.sum() > 50
    np.testing.assert_array_equal(plain.loc[both, "handle_s"].to_numpy(), own.loc[both, "handle_s"].to_numpy())


def test_arrivals_ahead_keeps_the_handles_when_it_lets_go_of_converted_arrivals():
    from simsvc.model.ahead import ArrivalsAhead
    from simsvc.model.demand import Arrivals

    n = 10
    a = Arrivals(np.arange(n, dtype=float), np.zeros(n, dtype=np.int16), np.zeros(n, dtype=np.int16),
                 np.arange(n, dtype=float) * 10)
    ahead = ArrivalsAhead(a)
    ahead.step = 4
    kept = ahead.converted(5)
    assert kept.handle_s is not None
    assert kept.handle_s[5:8].tolist() == [50.0, 60.0, 70.0]
    assert kept.time_s[5:8].tolist() == [5.0, 6.0, 7.0]


def test_arrivals_csv(tmp_path):
    (tmp_path / "calls.csv").write_text("day,start,reason,handle\n0,08:00,tech,2min\n0,08:00,,\n1,3600.5,billing,\n",
                                        encoding="utf-8")
    data = _scenario(None)
    del data["demand"]["phone"]["arrivals"]
    data["demand"]["phone"]["arrivals_csv"] = "calls.csv"
    import yaml

    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    s = load_scenario(tmp_path / "s.yaml")
    rows = s.demand["phone"].arrivals
    assert [(r.day, r.start, r.reason, r.handle) for r in rows] == [
        (0, "08:00", "tech", 120.0), (0, "08:00", None, None), (1, 3600.5, "billing", None)]
    c = simulate_contacts(s, 1, 0)
    assert sorted(c.loc[c["leg"] == 1, "arrival_s"].tolist())[:3] == [28800.0, 28800.0, 86400 + 3600.5]


@pytest.mark.parametrize("change, path, allowed", [
    ({"rate": "100/h"}, "demand.phone", "exactly one of rate"),
    ({"arrivals": [{"day": 0, "start": "08:00", "reason": "sales"}]}, "demand.phone.arrivals.0.reason",
     "one of the reasons"),
    ({"arrivals": [{"day": 2, "start": "08:00"}]}, "demand.phone.arrivals.0", "within the horizon"),
    ({"arrivals": [{"day": 0, "start": 90000}]}, "demand.phone.arrivals.0.start", ""),
    ({"arrivals": [{"day": -1, "start": "08:00"}]}, "demand.phone.arrivals.0.day", ""),
    ({"arrivals": [{"day": 0, "start": "08:00", "handle": "-3s"}]}, "demand.phone.arrivals.0.handle", ""),
    ({"arrivals": [{"day": 0, "start": "08:00", "colour": "red"}]}, "demand.phone.arrivals.0.colour", ""),
    ({"mix": None}, "demand.phone.mix", "some arrivals rows have no reason"),
])
def test_bad_traces_get_a_clear_message(change, path, allowed):
    data = _scenario([{"day": 0, "start": "08:00"}])
    data["demand"]["phone"].update(change)
    with pytest.raises(ScenarioError) as err:
        validate(data, file="x.yaml")
    problems = [(err.value.path, err.value.allowed)] + [(p, a) for p, _, a in err.value.others]
    assert any(p == path and allowed in a for p, a in problems), problems


def test_every_row_with_a_reason_needs_no_mix():
    data = _scenario([{"day": 0, "start": "08:00", "reason": "tech"}])
    data["demand"]["phone"].pop("mix")
    assert validate(data, file="x.yaml").demand["phone"].mix is None


def test_bad_arrivals_csv_cell_names_file_and_line(tmp_path):
    (tmp_path / "calls.csv").write_text("day,start\n0,08:00\n0,25:99\n", encoding="utf-8")
    data = _scenario(None)
    del data["demand"]["phone"]["arrivals"]
    data["demand"]["phone"]["arrivals_csv"] = str(tmp_path / "calls.csv")
    import yaml

    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(tmp_path / "s.yaml")
    assert err.value.file.endswith("calls.csv") and err.value.path == "line 3.start"


def test_checks_see_the_trace_per_interval():
    from simsvc.domain.rates import expected_arrivals

    s = validate(_scenario([{"day": 0, "start": "08:01"}, {"day": 0, "start": "08:14"}, {"day": 1, "start": "00:00"}]),
                 file="x.yaml")
    grid = [0.0, 8 * 3600.0, 8.25 * 3600.0, 86400.0, 86400.0 + 900.0, 2 * 86400.0]
    assert expected_arrivals(s, s.demand["phone"], grid) == pytest.approx([0.0, 2.0, 0.0, 1.0, 0.0])


# --------------------------------------------------------------------------- replays of a log
def _log() -> tuple[pd.DataFrame, list]:
    days = [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-06")]
    rng = np.random.default_rng(3)
    rows = []
    for d in days:
        for k, t in enumerate(np.sort(rng.uniform(8 * 3600, 17 * 3600, 200))):
            answered = k % 4 != 0
            rows.append((d, float(t), "AB"[k % 2], "answered" if answered else "abandoned",
                         float(60 + k) if answered else np.nan))
    c = pd.DataFrame(rows, columns=["day", "clock_s", "reason", "outcome", "handle_s"]).assign(channel="phone")
    return c, days


def _behaviour(trace: bool, own: bool) -> dict:
    return {"channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "2min"}}},
            "reasons": ["A", "B"], "handling": {"phone": {"dist": "exponential", "mean": "180s"}},
            "pools": {"general": ["phone"]}, "mix_by_interval": True,
            "replay_arrivals": "trace" if trace else "counts", "own_handles": own}


def _staffing(days) -> pd.DataFrame:
    return pd.DataFrame([(d, "general", k * 900.0, 40.0) for d in days for k in range(96)],
                        columns=["day", "pool", "start_s", "agents"])


def test_a_trace_replay_takes_the_logs_contacts_and_their_handle_times():
    c, days = _log()
    data = replay_dict(_behaviour(True, True), c, _staffing(days), days, 900.0, name="x")
    sim = simulate_contacts(validate(data, file="<replay>"), 1, 0)
    sim = sim[sim["leg"] == 1].sort_values("arrival_s", kind="stable")
    logged = c.assign(t=c["day"].map({d: i for i, d in enumerate(days)}) * 86400 + c["clock_s"]).sort_values("t")
    np.testing.assert_array_equal(sim["arrival_s"].to_numpy(), logged["t"].to_numpy())
    assert sim["reason"].astype(str).tolist() == logged["reason"].tolist()
    # 40 agents: everyone is answered at once; the logged answered ones keep their handle time
    own = logged["outcome"].to_numpy() == "answered"
    np.testing.assert_allclose(sim["handle_s"].to_numpy()[own], logged["handle_s"].to_numpy()[own])
    # without own handles, they draw
    data = replay_dict(_behaviour(True, False), c, _staffing(days), days, 900.0, name="x")
    drawn = simulate_contacts(validate(data, file="<replay>"), 1, 0).sort_values("arrival_s", kind="stable")
    assert not np.allclose(drawn["handle_s"].to_numpy()[own], logged["handle_s"].to_numpy()[own])


def test_a_counts_replay_draws_poisson_arrivals_instead():
    c, days = _log()
    data = replay_dict(_behaviour(False, False), c, _staffing(days), days, 900.0, name="x")
    assert "arrivals" not in data["demand"]["phone"] and "volumes" in data["demand"]["phone"]
    sim = simulate_contacts(validate(data, file="<replay>"), 1, 0)
    assert len(sim) != len(c) or not np.isin(sim["arrival_s"] % 86400, c["clock_s"]).all()


def test_backtest_replay_arrivals_trace_end_to_end(tmp_path):
    """The option reaches the replays: the synthetic log's back-test runs with it, and its
    replays' predictions differ from the Poisson ones."""
    summaries = {}
    for mode in ("counts", "trace"):
        out = tmp_path / mode
        result = CliRunner().invoke(main, ["backtest", str(SYNTHETIC), "--fit-days", "1-4", "--test-days", "5-7",
                                           "--mode", "replay", "--no-report", "--reps", "2", "--search-steps", "3",
                                           "--replay-arrivals", mode, "--out", str(out), "-w", "1"])
        assert result.exit_code == 0, result.output
        summaries[mode] = pd.read_csv(out / "backtest_summary.csv")
    key = ["mode", "staffing", "channel", "metric"]
    a = summaries["counts"].set_index(key)["predicted"]
    b = summaries["trace"].set_index(key)["predicted"]
    assert (a.index == b.index).all() and not np.allclose(a.to_numpy(), b.to_numpy())
    assert (summaries["counts"]["observed"] == summaries["trace"]["observed"]).all()


def test_a_handle_in_journey_mode_is_refused_and_a_trace_without_one_runs():
    """Journey mode draws a contact's numbers on arrival, so a trace there carries no handle."""
    import yaml

    root = Path(__file__).resolve().parents[1]
    data = yaml.safe_load((root / "scenarios" / "journey_baseline.yaml").read_text(encoding="utf-8"))
    reason = list(data["reasons"])[0]
    data["demand"] = {"phone": {"arrivals": [{"day": 0, "start": "09:00", "reason": reason, "handle": "3min"}]}}
    with pytest.raises(ScenarioError) as err:
        validate(data, file="j.yaml")
    assert err.value.path == "demand.phone.arrivals.0.handle" and "journey mode" in err.value.allowed
    del data["demand"]["phone"]["arrivals"][0]["handle"]
    assert validate(data, file="j.yaml").demand["phone"].arrivals[0].reason == reason
