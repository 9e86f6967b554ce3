"""Routing classes in `fit`: a class column becomes reasons with a fitted queue credit.

The log is simulated here by simsvc from a known scenario (one day, one pool, two
classes, one of them with a queue credit), written as a CSV with a ``class`` column,
read back and fitted; the fitted credit must be near the truth, and zero where the
truth is zero.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simsvc.calibrate.fit import FitOptions, fit
from simsvc.calibrate.logs import ColumnMap, LogError, read_log

FIRST_DAY = pd.Timestamp("2026-01-05")


def _scenario(credit_s: float) -> dict:
    return {
        "name": "classes-truth", "seed": 5, "horizon": "1d",
        "channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": 400}}},
        # 7 agents, 170 s handling: offered load 6.6 Erlang, so most callers queue.
        "demand": {"phone": {"rate": "140/h", "mix": {"vip": 0.3, "std": 0.7}}},
        "reasons": {"vip": {"queue_credit": credit_s}, "std": {}},
        "handling": {"phone": {"dist": "exponential", "mean": 170}},
        "agents": {"team": {"skills": ["phone"], "staffing": 7}},
    }


def _log_csv(path, credit_s: float, days: int = 1) -> None:
    _simulated_log(path, {**_scenario(credit_s), "horizon": f"{days}d"})


def _simulated_log(path, data: dict) -> None:
    """A contact log (CSV, with a class column) of one replication of scenario ``data``."""
    import simsvc
    from simsvc.config.load import validate

    c = simsvc.run(validate(data, "test"), replications=1, seed=11).contacts
    c = c[c["outcome"].isin(["answered", "abandoned"])]
    answered = (c["outcome"] == "answered").to_numpy()
    pd.DataFrame({
        "arrival_time": (FIRST_DAY + pd.to_timedelta(c["arrival_s"].round(1), unit="s")).dt.strftime(
            "%Y-%m-%d %H:%M:%S"),
        "wait_s": c["wait_s"].round(1).to_numpy(), "outcome": c["outcome"].astype(str).to_numpy(),
        "handle_s": np.where(answered, c["handle_s"].round(1), np.nan),
        "agent": np.where(answered, "a" + c["agent"].astype("Int64").astype(str), ""),
        "class": c["reason"].astype(str).to_numpy(),
    }).to_csv(path, index=False)


@pytest.mark.parametrize("truth_s", [0.0, 120.0])
def test_fit_recovers_the_queue_credit_of_a_class(tmp_path, truth_s):
    path = tmp_path / "log.csv"
    _log_csv(path, truth_s)
    log = read_log(path)
    assert set(log.contacts["class"].astype(str)) == {"vip", "std"}
    res = fit(log, options=FitOptions(effective=False, credit_steps=6, search_reps=2))
    assert res.behaviour["classes"] == {"vip": "vip", "std": "std"}  # no reason column: classes are the reasons
    assert res.credits.reference == "std"
    # Bisection resolution 1800 / 2^6 = 28 s; the sampling error of one day's class wait ratio is similar.
    assert abs(res.credits.credit_s["vip"] - truth_s) <= 45.0, res.credits.table
    spec = res.scenario["reasons"]["vip"]
    assert (spec == {}) if res.credits.credit_s["vip"] == 0 else spec == {
        "queue_credit": f"{res.credits.credit_s['vip']:.0f}s"}
    if truth_s:  # the folder is written (with the report's class table) and runs as it is
        from simsvc.calibrate.fit import write_fit
        from simsvc.config.load import load_scenario

        scenario = load_scenario(write_fit(res, tmp_path / "out"))
        assert scenario.reasons["vip"].queue_credit == res.credits.credit_s["vip"]
        assert "Routing classes" in (tmp_path / "out" / "fit_report.html").read_text()


def test_classes_split_reasons_and_share_the_pools(tmp_path):
    """With reasons and classes, reasons are reason × class and a dedicated pool keeps both classes
    of its reason at one priority level; the written scenario loads."""
    from simsvc.calibrate import classes as cl

    c = pd.DataFrame({"reason": ["PS", "PS", "IN", "IN"], "class": ["a", "b", "a", "b"]})
    c = c.assign(base_reason=c["reason"], reason=c["reason"] + "_" + c["class"])
    skills = cl.expand_skills({"only_in": ["phone/IN"], "general": ["phone"]}, c)
    assert skills == {"only_in": [["phone/IN_a", "phone/IN_b"]], "general": ["phone"]}


def test_no_classes_option_ignores_the_column(tmp_path):
    path = tmp_path / "log.csv"
    _log_csv(path, 0.0)
    res = fit(read_log(path), options=FitOptions(effective=False, classes=False, routing_delay=True))
    assert res.credits is None and res.behaviour["reasons"] == ["general"]
    assert "routing_delay" not in res.estimates and any("no routing delay" in n for n in res.notes)


def _write(tmp_path, rows: list[str], header="arrival_time,outcome,wait_s,priority") -> str:
    p = tmp_path / "log.csv"
    p.write_text("\n".join([header, *rows]) + "\n")
    return str(p)


def test_class_values_map_and_its_errors(tmp_path):
    rows = ["2026-01-05 08:00:00,answered,3,0", "2026-01-05 08:01:00,abandoned,30,2"]
    path = _write(tmp_path, rows)
    cmap = ColumnMap(columns={"class": {"column": "priority", "values": {0: "anonymous", 2: "priority"}}})
    log = read_log(path, cmap)
    assert list(log.contacts["class"].astype(str)) == ["anonymous", "priority"]
    # a value the map does not name: row and value, and the values mapped
    with pytest.raises(LogError) as e:
        read_log(path, ColumnMap(columns={"class": {"column": "priority", "values": {0: "anonymous"}}}))
    assert "row 3 column priority (class)" in str(e.value) and "'2'" in str(e.value) and "['0']" in str(e.value)
    # a class name that cannot be part of a reason name
    with pytest.raises(LogError, match="class names of letters, digits and _"):
        read_log(path, ColumnMap(columns={"class": {"column": "priority", "values": {0: "a b", 2: "c"}}}))
    # a map without a column
    with pytest.raises(LogError, match=r"columns.class"):
        read_log(path, ColumnMap(columns={"class": {"values": {0: "a"}}}))
    # a missing class column: the columns found are named
    with pytest.raises(LogError, match=r"column 'tier' \(for class\).*found \['arrival_time'"):
        read_log(path, ColumnMap(columns={"class": "tier"}))
    # a plain class column with a value that is not a name
    bad = _write(tmp_path, ["2026-01-05 08:00:00,answered,3,gold star"], "arrival_time,outcome,wait_s,class")
    with pytest.raises(LogError, match=r"row 2 column class \(class\) = 'gold star'"):
        read_log(bad)


def test_backtest_reports_each_class_and_bad_class_values_exit_2(tmp_path):
    """End to end from the CLI: per-class rows beside the channel; an unmapped class value is one message."""
    from click.testing import CliRunner

    from simsvc.cli import main

    log = tmp_path / "log.csv"
    _log_csv(log, 120.0, days=2)
    runner = CliRunner()
    out = tmp_path / "bt"
    result = runner.invoke(main, ["backtest", str(log), "--fit-days", "1", "--test-days", "2", "--reps", "2",
                                  "--mode", "replay", "--search-steps", "3", "--search-reps", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "phone:vip" in result.output and "phone:std" in result.output
    assert (out / "plots" / "backtest_classes.png").is_file()
    summary = pd.read_csv(out / "backtest_summary.csv")
    vip = summary[(summary["channel"] == "phone:vip") & (summary["staffing"] == "effective")].set_index("metric")
    std = summary[(summary["channel"] == "phone:std") & (summary["staffing"] == "effective")].set_index("metric")
    # the credited class waits less, observed and replayed alike
    assert vip.loc["wait_mean_s", "observed"] < std.loc["wait_mean_s", "observed"]
    assert vip.loc["wait_mean_s", "predicted"] < std.loc["wait_mean_s", "predicted"]
    cmap = tmp_path / "map.yaml"
    cmap.write_text("columns:\n  class: {column: class, values: {vip: gold}}\n")
    result = runner.invoke(main, ["fit", str(log), "--columns", str(cmap), "--out", str(tmp_path / "f")])
    assert result.exit_code == 2 and not (tmp_path / "f").exists()
    assert "column class (class) = 'std': expected one of the mapped values ['vip']" in result.output


def test_fit_recovers_a_patience_per_class(tmp_path):
    """A log simulated with each class's own patience (vip exponential 200 s, std 900 s through the
    channel): `--class-patience` writes each class a Kaplan–Meier patience whose lower quantiles' intervals
    cover the truth (without it the reasons carry none: the credit test above). A class with too few
    abandonments keeps the channel's."""
    from simsvc.calibrate import classes as cl

    data = {**_scenario(0.0), "horizon": "1d"}
    data["channels"]["phone"]["patience"] = {"dist": "exponential", "mean": 900}
    data["reasons"]["vip"]["patience"] = {"dist": "exponential", "mean": 200}
    data["agents"]["team"]["staffing"] = 5  # load 6.6 on 5 agents: both classes abandon by the hundreds
    path = tmp_path / "log.csv"
    _simulated_log(path, data)
    log = read_log(path)
    res = fit(log, options=FitOptions(effective=False, credit_steps=1, search_reps=1, class_patience=True))
    cp = res.estimates["class_patience"]
    for k, mean in (("vip", 200.0), ("std", 900.0)):
        assert cp.estimates[k].detail["abandonments"] >= cl.MIN_CLASS_ABANDONED
        d = cp.estimates[k].detail
        bounded = [q for q in d["quantiles"] if q["source"] == "Kaplan–Meier" and q["p"] <= 0.5]
        assert bounded, d["quantiles"]
        for q in bounded:  # 10th, 25th (and 50th) percentiles where the curve bounds them
            truth = -mean * np.log(1 - q["p"])
            assert q["ci_low_s"] <= truth <= q["ci_high_s"], (k, q, truth)
        assert abs(d["exponential_mle_mean_s"] - mean) < 4 * d["exponential_mean_se_s"], (k, d)
        assert res.scenario["reasons"][k]["patience"]["dist"] == "empirical"
    thin = cl.fit_class_patience(log.contacts[log.contacts["class"].astype(str) == "vip"].head(300)
                                 .assign(reason="vip"), {"vip": "vip"}, ["phone"])
    assert thin.by_reason == {} and "too thin" in thin.notes[0]


def test_fit_recovers_a_routing_delay_per_class(tmp_path):
    """A log simulated with a routing delay on one class (vip: exponential, mean 40 s) and agents
    mostly free (load 2.8 on 8 agents, so the std callers are answered at once in most intervals):
    `simsvc fit --routing-delay` writes vip a delay whose mean is within sampling error of 40 s (the
    Kaplan–Meier curve undoes the censoring by abandonment: the answered callers' waits alone
    average 1 / (1/40 + 1/100) = 29 s), and std (never in a cell where vip is answered at once)
    none; the scenario it writes loads."""
    import yaml
    from click.testing import CliRunner

    from simsvc.cli import main
    from simsvc.config.load import load_scenario

    data = {**_scenario(0.0), "horizon": "1d"}
    data["demand"]["phone"] = {"rate": "60/h", "mix": {"vip": 0.5, "std": 0.5}}
    data["channels"]["phone"]["patience"] = {"dist": "exponential", "mean": 100}
    data["reasons"]["vip"]["routing_delay"] = {"dist": "exponential", "mean": 40}
    data["agents"]["team"]["staffing"] = 8
    path = tmp_path / "log.csv"
    _simulated_log(path, data)
    out = tmp_path / "fit"
    result = CliRunner().invoke(main, ["fit", str(path), "--routing-delay", "--no-effective", "--no-report",
                                       "--search-reps", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "routing delay" in result.output and "class std: no routing delay" in result.output
    reasons = yaml.safe_load((out / "scenario.yaml").read_text())["reasons"]
    assert "routing_delay" not in reasons["std"]
    delay = load_scenario(out / "scenario.yaml").reasons["vip"].routing_delay
    values = np.array(delay.values, float)
    assert len(values) == 40 and delay.weights is None
    # n: vip answered in the free cells (about 500 of the ~700 vip calls); 4 standard errors
    assert abs(values.mean() - 40.0) < 4 * 40.0 / np.sqrt(450), values.mean()
    assert abs(np.median(values) - 40.0 * np.log(2)) < 8.0, np.median(values)


def test_routing_delay_is_judged_free_around_each_contact_not_over_its_interval():
    """The delay estimate takes a class's waits only where agents were free around the contact's own
    arrival (every contact of the other classes within ± the window answered at once, at least 3).
    Here every 15-minute interval opens with three std callers answered at once, then a vip caller
    answered after 30 s; ten minutes in, another vip caller waits 400 s with no std caller
    near it. Over the whole interval (the estimator before issue 10's ninth look) both vip callers
    count as free, and the delay's mean is 215 s; around each arrival only the first does: 30 s."""
    from simsvc.calibrate.delays import fit_routing_delays

    rows = []
    for k in range(60):
        t0 = 900.0 * k
        rows += [(t0 + s, "std", 0.0) for s in (10.0, 20.0, 30.0)]
        rows += [(t0 + 40.0, "vip", 30.0), (t0 + 600.0, "vip", 400.0)]
    c = pd.DataFrame(rows, columns=["clock_s", "reason", "wait_s"]).assign(
        day=FIRST_DAY, channel="phone", outcome="answered")
    classes = {"vip": "vip", "std": "std"}
    around = fit_routing_delays(c, classes, ["phone"], 900.0, window_s=180.0)
    assert around.by_reason["vip"]["values"] == ["30s"] * 40
    assert "std" not in around.by_reason
    row = around.table.set_index("class").loc["vip"]
    assert (row["contacts"], row["answered"], row["mean_s"]) == (60, 60, 30.0)
    cells = fit_routing_delays(c, classes, ["phone"], 900.0, window_s=None)
    assert cells.table.set_index("class").loc["vip", "mean_s"] == pytest.approx(215.0)


def test_two_sided_credits_are_shifted_to_be_non_negative():
    """With routing delays the credit is bisected on both sides of the reference class; a class
    the agents take after the reference (negative credit) becomes a credit of the reference."""
    from simsvc.calibrate.classes import _shifted

    assert _shifted("ref", ["a", "b"], np.array([-120.0, 30.0])) == {"ref": 120.0, "a": 0.0, "b": 150.0}
    assert _shifted("ref", ["a"], np.array([45.0])) == {"ref": 0.0, "a": 45.0}
