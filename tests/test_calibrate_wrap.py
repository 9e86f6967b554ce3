"""The fitted wrap-up (unlogged after-call work) and thin staffing, on tiny hand-built logs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simsvc.calibrate.tables import weekly_staffing
from simsvc.calibrate.wrap import MAX_WRAP_S, fit_wrap
from simsvc.cli import main

SYNTHETIC = Path(__file__).parent / "data" / "synthetic_log.csv"
DAY = pd.Timestamp("1999-08-02")  # a Monday
BEHAVIOUR = {"channels": {"phone": {"kind": "voice"}}, "reasons": ["PS"],
             "handling": {"phone": {"dist": "exponential", "mean": "180s"}}, "pools": {"general": ["phone"]}}
STAFF = pd.DataFrame({"pool": ["general"], "day": [DAY], "start_s": [32_400.0], "agents": [2.0],
                      "busy_agents": [1.0], "distinct_agents": [2]})


def log(abandoned: int, answered: int, wait_s: float) -> pd.DataFrame:
    """``abandoned`` + ``answered`` calls at 9:00–9:15 of one day, each waiting ``wait_s``."""
    n = abandoned + answered
    return pd.DataFrame({"day": DAY, "clock_s": 32_400.0 + pd.RangeIndex(n) * 5.0, "channel": "phone",
                         "reason": "PS", "outcome": ["abandoned"] * abandoned + ["answered"] * answered,
                         "wait_s": wait_s, "handle_s": 120.0, "wrap_s": 0.0, "agent": "A", "customer_id": None})


def stand_in(rate_per_s: float, quantity: str):
    """A simulator whose abandonment (or mean wait) rises with the pools' wrap-up: ``rate_per_s`` × wrap."""
    seen = []

    def simulate(data, reps, seed):
        wraps = {p["wrap_up"] for p in data["agents"].values()} if data["agents"]["general"].get("wrap_up") else {"0s"}
        wrap = float(wraps.pop().rstrip("s"))
        seen.append(wrap)
        offered = 1000.0
        row = {"replication": 0, "channel": "phone", "hour": 9, "offered": offered, "abandoned": 0.0,
               "waited": offered, "wait_sum_s": 0.0, "within": 0.0}
        row[quantity] = rate_per_s * wrap * offered
        return pd.DataFrame([row])

    return simulate, seen


def test_the_wrap_up_is_bisected_to_the_observed_abandonment():
    # 25 of 100 abandoned; the stand-in abandons wrap / 1000: the answer is 250 s.
    simulate, seen = stand_in(1 / 1000, "abandoned")
    fit = fit_wrap(BEHAVIOUR, log(25, 75, 30.0), STAFF, [DAY], 900.0, steps=9, reps=1, simulate=simulate)
    assert fit.wrap_s == 250.0 and fit.matched == "abandonment" and fit.observed == 0.25
    assert len(seen) == 9 and seen[0] == MAX_WRAP_S / 2  # one simulation per step, from the middle
    assert (fit.contacts, fit.answered) == (100, 75)
    assert "wrap-up 250s per answered contact" in fit.comment() and "n = 100 contacts, 75 answered" in fit.comment()


def test_with_few_abandonments_the_mean_wait_is_matched_and_with_no_wait_nothing_is_fitted():
    # 5 abandoned (< 20): the mean wait of all arrivals (40 s) is matched; stand-in wait = wrap / 4.
    simulate, _ = stand_in(1 / 4, "wait_sum_s")
    fit = fit_wrap(BEHAVIOUR, log(5, 95, 40.0), STAFF, [DAY], 900.0, steps=12, reps=1, simulate=simulate)
    assert fit.wrap_s == 160.0 and fit.matched == "wait"
    simulate, seen = stand_in(1.0, "abandoned")
    none = fit_wrap(BEHAVIOUR, log(0, 50, 0.0), STAFF, [DAY], 900.0, simulate=simulate)
    assert none.wrap_s == 0.0 and none.matched.startswith("none") and seen == []


def test_thin_intervals_are_written_as_whole_agents_at_the_availability_of_those_who_came():
    """Four Mondays: at 9:00 two agents every Monday (availability 0.5 × 2 = 1 effective); at 10:00
    one agent on one Monday only (effective 0.6): 1 seen on 1 of 4 days is thin."""
    mondays = list(pd.date_range("1999-08-02", periods=4, freq="7D"))
    rows = [(d, 32_400.0, 1.0, 2) for d in mondays] + [(mondays[0], 36_000.0, 0.6, 1)]
    staff = pd.DataFrame(rows, columns=["day", "start_s", "agents", "distinct_agents"])
    wk = weekly_staffing(staff, mondays).set_index("start_s")
    assert wk.loc[32_400.0, ["agents", "heads", "days_seen", "thin"]].tolist() == [1.0, 2.0, 1.0, False]
    # thin: 0.25 heads round to 0 agents (not 1 scheduled at availability 0.6 × 0.25 = 0.15)
    assert wk.loc[36_000.0, ["agents", "heads", "days_seen", "thin"]].tolist() == [0.0, 0.0, 0.25, True]
    # on 2 of 4 Mondays (half): not thin, the mean stays
    rows.append((mondays[1], 36_000.0, 0.6, 1))
    wk = weekly_staffing(pd.DataFrame(rows, columns=staff.columns), mondays).set_index("start_s")
    assert wk.loc[36_000.0, ["agents", "heads", "days_seen", "thin"]].tolist() == [0.3, 0.5, 0.5, False]
    # 3 agents (1.2 effective) on 1 of 4 days: 0.75 heads round to 1 agent at their availability 1.2 / 3
    rows[-1] = (mondays[0], 39_600.0, 1.2, 3)
    wk = weekly_staffing(pd.DataFrame(rows, columns=staff.columns), mondays).set_index("start_s")
    assert wk.loc[39_600.0, ["heads", "thin"]].tolist() == [1.0, True]
    assert wk.loc[39_600.0, "agents"] == pytest.approx(0.4)


def test_a_bad_wrap_up_value_is_one_message(tmp_path):
    result = CliRunner().invoke(main, ["fit", str(SYNTHETIC), "--wrap-up", "maybe", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "--wrap-up" in result.output and "'maybe' is not one of 'fit', 'none'" in result.output
    assert not (tmp_path / "x").exists()


def test_thin_pools_and_hours_are_named_with_the_rule_and_what_is_written():
    from simsvc.calibrate.agents import PoolPlan, presence, thin_pools
    from simsvc.calibrate.tables import thin_hour_notes, thin_staffing_notes

    days = [DAY, DAY + pd.Timedelta(days=1), DAY + pd.Timedelta(days=2)]
    # general: agent A, 250 calls on each of the 3 days; only_in: agent Z, 5 calls on day 1 only
    calls = [(d, 32_400.0 + 10 * i, "A") for d in days for i in range(250)] + [(DAY, 40_000.0 + 10 * i, "Z")
                                                                                for i in range(5)]
    c = pd.DataFrame(calls, columns=["day", "clock_s", "agent"]).assign(
        channel="phone", reason="PS", outcome="answered", wait_s=0.0, handle_s=5.0, wrap_s=0.0)
    plan = PoolPlan({"only_in": ["phone/IN"], "general": ["phone"]}, {"A": "general", "Z": "only_in"}, [])
    notes = thin_pools(presence(c, plan, 900.0, basis="distinct_hour"), c, plan, days)
    assert len(notes) == 1 and notes[0].startswith("pool only_in: too thin to estimate from (agents seen on 1 of 3 "
                                                   "days, 5 answered contacts; the rule: seen on under half")
    assert thin_staffing_notes({"general": (0, 12), "only_in": (4, 4)}) == [
        "pool only_in: staffing too thin to estimate from in 4 of 4 weekday × intervals (agents seen on fewer than "
        "50% of that weekday's fit days): written as the mean agents seen rounded to whole agents at the "
        "availability of the agents on the days they came"]
    table = pd.DataFrame({"hour": [6, 9, 10], "factor": [0.7, 0.6, 0.8], "contacts": [14, 900, 800],
                          "thin": [True, False, False]})
    assert thin_hour_notes(table) == [
        "effective availability too thin to estimate from in hour 6:00 (14) (fewer than 200 contacts over the fit "
        "days): written with the median factor of the other hours (0.700)"]
    assert thin_hour_notes(table.assign(thin=False)) == []


def test_a_bad_replay_handling_value_is_one_message(tmp_path):
    result = CliRunner().invoke(main, ["backtest", str(SYNTHETIC), "--fit-days", "1-7", "--test-days", "8-14",
                                       "--replay-handling", "forecast", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "--replay-handling" in result.output and "'forecast' is not one of 'fitted', 'own'" in result.output
    assert not (tmp_path / "x").exists()


def test_no_after_call_work_is_found_in_a_log_simulated_without_it():
    """The synthetic log (tests/data, simulated from a known scenario without wrap-up): the fitted
    wrap-up is 0 within the search's resolution (600 s / 2^6 = 9 s) and its noise (1 replication)."""
    from simsvc.calibrate.fit import FitOptions, fit
    from simsvc.calibrate.logs import read_log

    res = fit(read_log(SYNTHETIC), options=FitOptions(effective=False))
    wrap = fit_wrap(res.behaviour, res.log.contacts, res.staffing, res.days, 900.0, steps=6, reps=1)
    assert wrap.matched == "abandonment" and wrap.wrap_s < 30.0, wrap


def _hours_log(counts: dict[int, int]) -> pd.DataFrame:
    """``counts[h]`` calls in hour h of one day, one in five abandoned after 60 s."""
    rows = [(DAY, h * 3600.0 + 3600.0 * i / n, "abandoned" if i % 5 == 0 else "answered")
            for h, n in counts.items() for i in range(n)]
    return pd.DataFrame(rows, columns=["day", "clock_s", "outcome"]).assign(
        channel="phone", reason="PS", wait_s=60.0, handle_s=120.0, wrap_s=0.0, agent="A", customer_id=None)


@pytest.mark.parametrize("by", ["hour", "all"])
def test_availability_labels_say_what_was_written(monkeypatch, by):
    """By hour, a thin hour follows the median of the fitted others and says so; with one factor
    for all hours every hour is in the one fit and none is called thin; where every hour is
    thin, the factor simulated and written is 1, said as such."""
    from simsvc.calibrate import effective
    from simsvc.calibrate.tables import thin_hour_notes

    def no_abandonment(data, reps, seed):   # always fewer abandonments than observed: factors fall
        return pd.DataFrame({"hour": [9, 10, 11], "offered": 1000.0, "abandoned": 0.0, "wait_sum_s": 0.0})

    monkeypatch.setattr(effective, "simulate_hours", no_abandonment)
    staff = pd.DataFrame({"pool": "general", "day": DAY, "start_s": [32_400.0, 36_000.0, 39_600.0],
                          "agents": 2.0, "busy_agents": 1.0, "distinct_agents": 2})
    table = effective.fit_availability(BEHAVIOUR, _hours_log({9: 20, 10: 400, 11: 400}), staff, [DAY], 3600.0,
                                       steps=4, by=by).table.set_index("hour")
    if by == "hour":
        assert list(table["matched"]) == ["median of other hours", "abandonment", "abandonment"]
        assert list(table["thin"]) == [True, False, False]
        assert table.loc[9, "factor"] == pytest.approx(table.loc[[10, 11], "factor"].median(), abs=1e-3)
    else:
        assert set(table["matched"]) == {"all hours together (one factor)"} and not table["thin"].any()
        assert table["factor"].nunique() == 1
    only_thin = effective.fit_availability(BEHAVIOUR, _hours_log({9: 20}), staff, [DAY], 3600.0, steps=4,
                                           by=by).table
    if by == "hour":
        assert list(only_thin["matched"]) == ["none: no other hour fitted (factor 1)"]
        assert list(only_thin["factor"]) == [1.0]
        assert thin_hour_notes(only_thin)[0].endswith("written with factor 1 (no other hour was fitted)")


def test_availability_search_refines_with_more_replications(monkeypatch):
    """The effective-staffing search's last steps re-open the bracket and simulate ``refine_reps``
    replications: where the longer average's root (0.515) lies outside the coarse steps' bracket
    (around 0.50), the refined factor finds it; without refining the factor stays at the coarse root.
    A root beyond the re-opened ±10 % (0.60) is not hidden: the factor ends at the edge, and a note says so."""
    from simsvc.calibrate import effective

    seen = []
    refined_root = {"value": 0.515}

    def stand_in(data, reps, seed):  # abandonment falls with the availability; its root depends on reps
        seen.append(reps)
        a = next(s["availability"] for s in data["agents"]["general"]["availability"]["steps"] if s["start"] == "09:00")
        root = 0.50 if reps <= 2 else refined_root["value"]
        abandoned = 1000.0 * min(1.0, max(0.0, 0.2 + root - a))
        return pd.DataFrame({"hour": [9], "offered": [1000.0], "abandoned": [abandoned], "wait_sum_s": [0.0]})

    monkeypatch.setattr(effective, "simulate_hours", stand_in)
    run = lambda **kw: effective.fit_availability(BEHAVIOUR, _hours_log({9: 400}), STAFF, [DAY], 3600.0, steps=9,
                                                  reps=2, **kw)
    refined = run(refine_reps=6)
    assert seen == [2] * 5 + [6] * 4
    assert refined.table["factor"].iloc[0] == pytest.approx(0.515, abs=0.004)
    assert refined.search_text() == "5 steps × 2 + 4 × 6 replications" and effective.refine_note(refined) == []
    seen.clear()
    plain = run()
    assert seen == [2] * 9 and plain.search_text() == "9 steps × 2 replications"
    assert plain.table["factor"].iloc[0] == pytest.approx(0.50, abs=0.004)
    refined_root["value"] = 0.60
    beyond = run(refine_reps=6)
    assert beyond.table["factor"].iloc[0] == pytest.approx(0.50 * np.exp(0.10), abs=0.025)
    assert effective.refine_note(beyond)[0].startswith("effective availability: in hours 9:00 the refined search")
