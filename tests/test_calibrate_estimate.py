"""Estimators on small hand-made inputs: Kaplan–Meier and its intervals, handling choice, follow-ups, tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simsvc.calibrate import estimate as est
from simsvc.calibrate import patience as pt
from simsvc.calibrate.tables import commented_yaml, staffing_rows
from simsvc.config.yamlio import load_yaml


def test_kaplan_meier_by_hand():
    # waits 1, 2 (censored), 3, 3 (censored), 5: events before censorings at ties.
    km = pt.kaplan_meier(np.array([1, 2, 3, 3, 5.0]), np.array([1, 0, 1, 0, 1], bool))
    assert list(km.times) == [1, 3, 5]
    assert list(km.at_risk) == [5, 3, 1]
    assert km.survival == pytest.approx([4 / 5, 4 / 5 * 2 / 3, 0.0])
    assert km.quantile(0.4) == 3 and km.quantile(0.5) == 5 and km.quantile(0.1) == 1


def test_patience_written_distribution_keeps_km_and_adds_a_tail():
    rng = np.random.default_rng(1)
    patience = rng.gamma(4, 30, 4000)
    wait_cap = rng.exponential(150, 4000)  # service arrives first for many: censoring
    wait = np.minimum(patience, wait_cap)
    e = pt.fit_patience(wait, patience <= wait_cap)
    v, w = np.array(e.value["values"]), np.array(e.value["weights"])
    assert w.sum() == pytest.approx(1.0, abs=1e-4) and (v >= 0).all() and len(v) <= 100
    written_median = v[np.argsort(v)][np.searchsorted(np.cumsum(w[np.argsort(v)]), 0.5)]
    assert written_median == pytest.approx(np.median(patience), rel=0.08)
    assert e.detail["exponential_mle_mean_s"] > 1.2 * patience.mean()  # exponential misreads rising hazards


@pytest.mark.parametrize("family, draw", [
    ("lognormal", lambda r: r.lognormal(5, 0.9, 3000)),
    ("gamma", lambda r: r.gamma(2.0, 100, 3000)),
    ("empirical", lambda r: np.concatenate([r.normal(60, 5, 1500), r.normal(600, 30, 1500)])),
])
def test_handling_choice_follows_the_stated_criterion(family, draw):
    x = np.abs(draw(np.random.default_rng(2))) + 1
    e = est.fit_handling(x)
    assert e.value["dist"] == family
    assert e.detail["sample_mean_s"] == pytest.approx(x.mean(), rel=1e-3)


def test_follow_ups_redials_and_repeats():
    day = pd.Timestamp("2026-01-05")
    c = pd.DataFrame({
        "day": [day] * 5, "clock_s": [0.0, 100.0, 5000.0, 20000.0, 30000.0],
        "customer_id": pd.array(["a", "a", "a", "b", pd.NA], dtype="string"),
        "reason": ["r"] * 5, "outcome": ["abandoned", "answered", "answered", "answered", "abandoned"],
        "wait_s": [50.0, 10, 0, 0, 30], "handle_s": [np.nan, 200, 100, 100, np.nan], "wrap_s": [0.0] * 5})
    fu = est.follow_ups(c, redial_window_s=3600, repeat_window_s=86400)
    assert fu["redial_share"].value == 1.0 and fu["redial_share"].n == 1  # 'a' called again 50 s after giving up
    assert fu["repeat_share"].value == pytest.approx(1 / 3, abs=1e-3)  # 'a' came back after the answered call at 100 s
    assert list(fu["follow_up"]) == [False, True, True, False, False]
    assert list(fu["redial_delays_s"]) == [50.0]
    assert list(fu["repeat_delays_s"]) == [5000.0 - 310.0]


def test_daily_cv_is_net_of_poisson_noise():
    rng = np.random.default_rng(3)
    days = list(pd.date_range("2026-01-05", periods=56))
    n = rng.poisson(500, len(days))
    c = pd.DataFrame({"day": np.repeat(days, n)})
    assert est.daily_cv(c, days).value < 0.03
    busy = rng.poisson(500 * rng.gamma(25, 1 / 25, len(days)))  # cv 0.2
    c = pd.DataFrame({"day": np.repeat(days, busy)})
    assert est.daily_cv(c, days).value == pytest.approx(0.2, abs=0.06)


def test_fractional_staffing_keeps_agent_seconds():
    frame = pd.DataFrame({"day": [0, 0], "start_s": [0.0, 900.0], "agents": [6.4, 2.0]})
    rows = staffing_rows(frame, 900.0, [0])
    assert list(rows.itertuples(index=False))[:3] == [(0, "00:00", 7), (0, "00:06", 6), (0, "00:15", 2)]
    assert len(rows) == 4  # then 0 agents from 00:30 to midnight: one step
    assert list(rows.iloc[3]) == [0, "00:30", 0]


def test_shares_sum_to_one_after_rounding():
    s = est.shares(pd.Series({"a": 1, "b": 1, "c": 1}), ["a", "b", "c", "d"])
    assert sum(s.values()) == 1.0 and s["d"] == 0.0


def test_commented_yaml_reads_back():
    data = {"name": "x", "channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "90s"}}}}
    text = commented_yaml(data, {"channels.phone.patience": ["method; n = 3"]}, ["header"])
    assert "    # method; n = 3\n    patience:" in text
    assert load_yaml(text) == data


def test_greenwood_quantile_interval_by_hand():
    # S = 4/5, 8/15, 0 at 1, 3, 5; Greenwood var(log S) at 1: 1 / (5 · 4); at 3: + 1 / (3 · 2).
    km = pt.kaplan_meier(np.array([1, 2, 3, 3, 5.0]), np.array([1, 0, 1, 0, 1], bool))
    # Median: S(3) = 0.533 > 0.5, so 5. The band's lower edge at 3 is 0.533 · exp(−1.96 √(1/20 + 1/6))
    # = 0.21 ≤ 0.5, so the interval starts at 3; its upper edge never reaches 0.5 (S = 0 at 5 is
    # log-undefined and counts as the top of the band): open.
    low, high = km.quantile_ci(0.5)
    assert low == 3 and np.isnan(high)
    assert km.quantile_ci(0.1)[0] == 1


def test_greenwood_quantile_interval_covers_the_true_median():
    """Over 200 censored samples of 400 (lognormal patience, median 100 s; exponential
    service cuts most waits short) the 95 % interval holds the true median about 95 %
    of the time: 200 trials give 190 ± 3 (sd), so 180..198 fails by chance < 0.2 %."""
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(200):
        patience = rng.lognormal(np.log(100.0), 1.0, 400)
        served = rng.exponential(150.0, 400)
        km = pt.kaplan_meier(np.minimum(patience, served), patience <= served)
        low, high = km.quantile_ci(0.5)
        hits += low <= 100.0 <= high
    assert 180 <= hits <= 198


def test_fit_patience_reports_quantiles_with_intervals_and_the_tail():
    rng = np.random.default_rng(2)
    patience = rng.lognormal(np.log(100.0), 1.0, 5000)
    served = rng.exponential(120.0, 5000)
    wait = np.minimum(patience, served)
    e = pt.fit_patience(wait, patience <= served)
    q = {x["p"]: x for x in e.detail["quantiles"]}
    assert q[0.5]["source"] == "Kaplan–Meier" and q[0.5]["ci_low_s"] < q[0.5]["value_s"] < q[0.5]["ci_high_s"]
    assert q[0.5]["ci_low_s"] < 100.0 < q[0.5]["ci_high_s"]
    assert q[0.9]["source"] == "exponential tail" and np.isnan(q[0.9]["ci_low_s"])
    assert "p50" in pt.quantiles_text(e.detail["quantiles"]) and "(tail, no CI)" in pt.quantiles_text(
        e.detail["quantiles"])


@pytest.mark.parametrize("name", ["p" * 130, "q" * 1100, "a: b #c", "x\ny", "it's", "[a]", "1", "é" * 200,
                                  "l\u2028m"])
def test_commented_yaml_reads_back_any_key(name):
    # PyYAML writes a key over 128 characters as "? key", which the one-line writer turned into
    # YAML that does not load ("found unhashable key"); a line break in a name broke a comment.
    data = {"channels": {name: {"kind": "voice", "patience": {"dist": "exponential", "mean": "90s"},
                                "a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": {"h": 1}}},
            "demand": {name: {"csv": "demand.csv"}}, "mix": {name: 0.5, "other": 0.5}}
    text = commented_yaml(data, {f"channels.{name}": [f"about {name}"], f"demand.{name}": ["csv"]}, [name])
    assert load_yaml(text) == data
