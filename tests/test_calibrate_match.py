"""What the effective-availability search matches (``fit --availability-match``), on logs simulated
by simsvc itself from a known availability."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simsvc.calibrate import effective
from simsvc.calibrate.replay import replay_dict, simulate_contacts
from simsvc.cli import main
from simsvc.config.load import validate

SYNTHETIC = Path(__file__).parent / "data" / "synthetic_log.csv"
DAYS = [pd.Timestamp("1999-08-02") + pd.Timedelta(days=i) for i in range(3)]
HOURS = range(8, 14)
TRUTH = 0.7        # availability the log is simulated with
SEEN = 20          # agents seen per interval (the logged-in staffing the search scales)
STEPS = 7          # bisection steps: the factor's resolution is log(HIGH / LOW) / 2^7 ≈ 0.019 (log scale)
RESOLUTION = np.log(effective.HIGH / effective.LOW) / 2 ** STEPS


def _behaviour(patience_s: float) -> dict:
    return {"channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": f"{patience_s:g}s"}}},
            "reasons": ["PS"], "handling": {"phone": {"dist": "exponential", "mean": "180s"}},
            "pools": {"general": ["phone"]}}


def _staffing(agents: float = SEEN) -> pd.DataFrame:
    rows = [(d, "general", h * 3600.0 + q * 900.0) for d in DAYS for h in HOURS for q in range(4)]
    return pd.DataFrame(rows, columns=["day", "pool", "start_s"]).assign(
        agents=float(agents), distinct_agents=SEEN, busy_agents=0.0)


@pytest.fixture(scope="module")
def simulated_log() -> pd.DataFrame:
    """Three days, 8:00–14:00, 240 calls an hour (12 Erlangs of 180 s calls), 20 agents seen at
    availability 0.7 (14 on duty), exponential patience of 300 s: simulated, then read as a log."""
    arrivals = pd.DataFrame([(d, h * 3600.0 + q * 900.0 + 1.0) for d in DAYS for h in HOURS for q in range(4)
                             for _ in range(60)], columns=["day", "clock_s"]).assign(channel="phone", reason="PS")
    data = replay_dict(_behaviour(300), arrivals, _staffing(SEEN * TRUTH), DAYS, 900.0, name="truth", seed=12)
    c = simulate_contacts(validate(data, file="<truth>"), 12, 0)
    c = c[c["outcome"].isin(["answered", "abandoned"])]
    day = (c["arrival_s"].to_numpy() // 86400).astype(int)
    return pd.DataFrame({"day": np.array(DAYS)[day], "clock_s": c["arrival_s"].to_numpy() % 86400,
                         "channel": "phone", "reason": "PS", "outcome": c["outcome"].astype(str).to_numpy(),
                         "wait_s": c["wait_s"].to_numpy(), "handle_s": 180.0, "wrap_s": 0.0, "agent": "A",
                         "customer_id": None})


def _factors(log: pd.DataFrame, match: str, patience_s: float = 300) -> pd.DataFrame:
    return effective.fit_availability(_behaviour(patience_s), log, _staffing(), DAYS, 900.0, steps=STEPS, reps=2,
                                      seed=1, match=match).table


@pytest.mark.parametrize("match", ["wait", "pwait"])
def test_the_search_recovers_the_availability_the_log_was_simulated_with(simulated_log, match):
    """With the model right, matching the mean wait (or P(wait > 0)) finds the availability of
    the log: the hours' mean log factor lies within 3 standard errors of log 0.7 (the hours' own
    spread, each hour a sample of about 700 calls) plus the bisection's resolution."""
    table = _factors(simulated_log, match)
    assert set(table["matched"]) == {effective._LABEL[match]}
    err = np.log(table["factor"].to_numpy() / TRUTH)
    se = err.std(ddof=1) / np.sqrt(len(err))
    assert abs(err.mean()) <= 3 * se + RESOLUTION, (table["factor"].tolist(), se)
    assert se < 0.05  # each hour is identified, not only their mean


def test_one_factor_for_all_hours_recovers_the_availability(simulated_log):
    """``--availability-by all``: one factor, the same in every hour, bisected on all hours
    together. With the model right it is the hours' typical factor (within two bisection steps of
    the geometric mean of the per-hour fit) and finds the log's availability as the per-hour fit
    does (within 3 standard errors of the hours' spread plus the resolution)."""
    one = effective.fit_availability(_behaviour(300), simulated_log, _staffing(), DAYS, 900.0, steps=STEPS,
                                     reps=2, seed=1, match="abandonment+wait", by="all").table
    assert one["factor"].nunique() == 1, one
    assert set(one["matched"]) == {"all hours together (one factor)"}
    factor = one["factor"].iloc[0]
    per_hour = np.log(_factors(simulated_log, "abandonment+wait")["factor"].to_numpy())
    assert abs(np.log(factor) - per_hour.mean()) <= 2 * RESOLUTION, (factor, np.exp(per_hour))
    se = per_hour.std(ddof=1) / np.sqrt(len(per_hour))
    assert abs(np.log(factor / TRUTH)) <= 3 * se + RESOLUTION, (factor, se)


def test_with_a_wrong_patience_the_targets_disagree_and_abandonment_plus_wait_lies_between(simulated_log):
    """The model given twice the log's patience abandons too little at a given availability, so
    matching abandonment takes availability away that matching the wait does not: the factors
    split, in every hour; abandonment+wait, where their relative errors cancel, lies between
    (both fall as the factor rises, with the same replications at every factor)."""
    ab, wait, both = (_factors(simulated_log, m, patience_s=600)["factor"].to_numpy()
                      for m in ("abandonment", "wait", "abandonment+wait"))
    assert (wait > ab).all(), (ab, wait)
    assert np.mean(np.log(wait / ab)) > 0.05
    tol = np.exp(2 * RESOLUTION)
    assert ((both >= ab / tol) & (both <= wait * tol)).all(), (ab, both, wait)


def test_what_each_criterion_compares():
    """Too many agents = the replay falls short of the log on the matched quantity; with few
    abandonments the abandonment criteria fall back to the mean wait; P(wait) never does."""
    sim = {"abandon": np.array([0.10, 0.30, 0.20]), "wait": np.array([50.0, 50.0, 10.0]),
           "pwait": np.array([0.5, 0.5, 0.9])}
    obs = {"abandon": np.array([0.20, 0.20, 0.20]), "wait": np.array([40.0, 40.0, 40.0]),
           "pwait": np.array([0.6, 0.6, 0.6])}
    few = np.array([False, False, True])
    assert effective._too_many("abandonment", sim, obs, few).tolist() == [True, False, True]
    assert effective._too_many("wait", sim, obs, few).tolist() == [False, False, True]
    assert effective._too_many("pwait", sim, obs, few).tolist() == [True, True, False]
    # hour 0: −50 % + 25 % < 0; hour 1: +50 % + 25 % > 0; hour 2 falls back to the wait
    assert effective._too_many("abandonment+wait", sim, obs, few).tolist() == [True, False, True]
    with pytest.raises(ValueError, match="one of abandonment, wait, pwait, abandonment\\+wait"):
        effective.fit_availability({}, pd.DataFrame(), pd.DataFrame(), [], 900.0, match="queue")


def test_a_bad_availability_match_is_one_message(tmp_path):
    result = CliRunner().invoke(main, ["fit", str(SYNTHETIC), "--availability-match", "busy",
                                       "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "--availability-match" in result.output and "'busy' is not one of" in result.output
    assert "'abandonment+wait'" in result.output
    assert not (tmp_path / "x").exists()
