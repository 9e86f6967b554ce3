"""Handling and patience by hour band: band edges, the log-rank test, and the verdicts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simsvc.calibrate.bands import logrank, band_edges, by_hour_band, verdict_text


def _contacts(n: int, evening_handle: float, evening_patience: float, seed: int) -> pd.DataFrame:
    """Contacts 08:00–20:00; after 14:00 handling mean and patience median are the evening's."""
    rng = np.random.default_rng(seed)
    clock = rng.uniform(8 * 3600, 20 * 3600, n)
    evening = clock >= 14 * 3600
    handle = rng.lognormal(np.log(np.where(evening, evening_handle, 100.0)), 0.8)
    patience = rng.lognormal(np.log(np.where(evening, evening_patience, 60.0)), 1.0)
    served = rng.exponential(60.0, n)
    abandoned = patience < served
    return pd.DataFrame({"channel": "phone", "clock_s": clock, "wait_s": np.minimum(patience, served),
                         "outcome": np.where(abandoned, "abandoned", "answered"),
                         "handle_s": np.where(abandoned, np.nan, handle)})


def test_band_edges_are_whole_hours_with_about_equal_contacts():
    clock = np.random.default_rng(0).uniform(8 * 3600, 20 * 3600, 10_000)
    edges = band_edges(clock, 4)
    assert edges == [8 * 3600, 11 * 3600, 14 * 3600, 17 * 3600, 20 * 3600]


def test_logrank_agrees_with_scipy_for_two_groups():
    from scipy import stats

    rng = np.random.default_rng(4)
    t = np.round(rng.exponential(50, 600))  # ties, as in a log in whole seconds
    e = rng.random(600) < 0.6
    g = (rng.random(600) < 0.5).astype(int)
    t[g == 1] *= 1.3
    ours = logrank(t, e, g, 2)
    ref = stats.logrank(stats.CensoredData(uncensored=t[(g == 0) & e], right=t[(g == 0) & ~e]),
                        stats.CensoredData(uncensored=t[(g == 1) & e], right=t[(g == 1) & ~e])).pvalue
    assert ours == pytest.approx(ref, rel=1e-6)


def test_bands_find_a_real_difference_and_not_a_spurious_one():
    table, tests = by_hour_band(_contacts(6000, 200.0, 180.0, seed=1), "phone")
    verdict = {t["quantity"]: t for t in tests}
    assert verdict["handling"]["differs"] and verdict["patience"]["differs"]
    handling = table[table["quantity"] == "handling mean"].set_index("band")["value_s"]
    assert handling["17:00–20:00"] > 1.6 * handling["08:00–11:00"]
    assert "differs by hour band" in verdict_text(verdict["handling"])

    _, same = by_hour_band(_contacts(6000, 100.0, 60.0, seed=2), "phone")
    assert not any(t["differs"] for t in same), [verdict_text(t) for t in same]


def test_bands_need_enough_contacts():
    table, tests = by_hour_band(_contacts(60, 100.0, 60.0, seed=3), "phone")
    assert table.empty and tests == []


def test_band_value_picks_the_hours_band_and_the_nearest_outside():
    from simsvc.calibrate.bands import band_value

    table, _ = by_hour_band(_contacts(6000, 200.0, 180.0, seed=1), "phone")
    value = lambda h: band_value(table, "phone", "handling mean", h)  # noqa: E731
    rows = table[table["quantity"] == "handling mean"].set_index("band")["value_s"]
    assert value(9) == rows["08:00–11:00"] and value(15) == rows["14:00–17:00"]
    assert value(3) == rows["08:00–11:00"] and value(22) == rows["17:00–20:00"]
    assert band_value(table, "chat", "handling mean", 9) is None


def test_one_band_or_no_variance_skips_the_test_and_says_why():
    # Every contact at one clock time made one band, and scipy's Kruskal–Wallis failed
    # ("tuple index out of range") on a single group.
    c = _contacts(6000, 100.0, 60.0, seed=5).assign(clock_s=10 * 3600.0)
    table, tests = by_hour_band(c, "phone")
    assert set(table["band"]) == {"10:00–11:00"}
    assert [verdict_text(t) for t in tests] == [
        f"phone: {q} by hour band not tested ({test} skipped: every contact is in one hour band, "
        "10:00–11:00: no bands to compare)" for q, test in (("handling", "Kruskal–Wallis"), ("patience", "log-rank"))]
    assert not any(t["differs"] for t in tests)
    # Bands, but every handle time the same (scipy: p = nan), or every contact abandoned at the
    # same wait (a singular log-rank covariance): nothing to rank or compare.
    c = _contacts(6000, 100.0, 60.0, seed=5).assign(handle_s=120.0)
    _, tests = by_hour_band(c, "phone")
    assert verdict_text(tests[0]) == ("phone: handling by hour band not tested (Kruskal–Wallis skipped: every "
                                      "handle time is 120 s: nothing to rank)")
    assert tests[1]["quantity"] == "patience" and "skipped" not in tests[1]
    _, tests = by_hour_band(c.assign(wait_s=30.0, outcome="abandoned"), "phone")
    assert [verdict_text(t) for t in tests] == [(
        "phone: patience by hour band not tested (log-rank skipped: the waits have no variance to test: every "
        "abandonment at the same wait, or nobody else at risk then)")]
