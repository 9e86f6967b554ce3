"""Recovery: `fit` on a log simulated from a known scenario finds that scenario's parameters.

tests/data/synthetic_log.csv was made by tests/data/make_synthetic_log.py (14 days,
lognormal handling, gamma patience, a weekly pattern, redials and repeats). Each
estimate must fall within its sampling interval around the truth: analytic standard
errors for means and shares, a bootstrap for Kaplan–Meier quantiles. The log is
fixed, so the test is deterministic.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import simsvc
from simsvc.calibrate.patience import kaplan_meier
from simsvc.calibrate.fit import FitOptions, fit, write_fit
from simsvc.calibrate.logs import read_log

DATA = Path(__file__).parent / "data"
Z = 3.5  # standard errors allowed for each comparison (several are made; none may flake: the data is fixed)


def _truth() -> dict:
    spec = importlib.util.spec_from_file_location("make_synthetic_log", DATA / "make_synthetic_log.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TRUTH


TRUTH = _truth()


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    log = read_log(DATA / "synthetic_log.csv")
    res = fit(log, options=FitOptions(search_steps=6, search_reps=1, refine_reps=1))  # no refining: CI time
    folder = tmp_path_factory.mktemp("fitted")
    path = write_fit(res, folder / "synthetic")
    return res, path


def test_weekly_volumes_of_new_issues(fitted):
    res, _ = fitted
    demand = res.tables["demand_phone.csv"]
    per_day = demand.groupby("day")["volume"].sum()
    for k, day in enumerate(("mon", "tue", "wed", "thu", "fri", "sat")):
        truth = TRUTH["daily_volume"] * TRUTH["weekly"][k]
        se = np.sqrt(truth / 2)  # Poisson, mean of the 2 days of that weekday in the log
        assert abs(per_day[day] - truth) < Z * se, (day, per_day[day], truth)
    assert per_day["sun"] < 5  # no new issues on sundays (only redials and repeats arrive)
    assert res.estimates["daily_cv"].value < 0.1  # the truth has no day-to-day busyness


def test_handling_mean_and_cv(fitted):
    res, _ = fitted
    h = res.estimates["handling"][("phone", None)]
    assert h.value["dist"] == "lognormal"
    mean, cv = TRUTH["handling"]["mean"], TRUTH["handling"]["cv"]
    sigma = np.sqrt(np.log1p(cv**2))
    se_mean = mean * cv / np.sqrt(h.n)
    se_cv = sigma * np.exp(sigma**2) / cv * sigma / np.sqrt(2 * h.n)  # delta method on the MLE of sigma
    assert abs(h.detail["lognormal"]["mean_s"] - mean) < Z * se_mean
    assert abs(h.detail["lognormal"]["cv"] - cv) < Z * se_cv


def test_patience_quantiles_from_censored_waits(fitted):
    res, _ = fitted
    c = res.log.contacts
    wait, ab = c["wait_s"].to_numpy(), (c["outcome"] == "abandoned").to_numpy()
    shape = 1 / TRUTH["patience"]["cv"] ** 2
    scale = TRUTH["patience"]["mean"] / shape
    rng = np.random.default_rng(7)
    p = res.estimates["patience"]["phone"]
    for q, key in ((0.25, "km_q25_s"), (0.5, "km_median_s")):
        boot = []
        for _ in range(200):
            i = rng.integers(0, len(wait), len(wait))
            boot.append(kaplan_meier(wait[i], ab[i]).quantile(q))
        lo, hi = np.quantile(boot, [0.005, 0.995])
        truth = stats.gamma.ppf(q, shape, scale=scale)
        assert lo <= truth <= hi, (q, truth, lo, hi, p.detail[key])
    # The exponential MLE is far off for this non-exponential patience: that is why KM is written.
    assert p.detail["exponential_mle_mean_s"] > 1.3 * TRUTH["patience"]["mean"]


def test_redial_and_repeat_shares(fitted):
    res, _ = fitted
    fu = res.estimates["follow_ups"]
    redial = fu["redial_share"]
    p = TRUTH["redial_probability"]
    assert abs(redial.value - p) < Z * np.sqrt(p * (1 - p) / redial.n)
    repeat = fu["repeat_share"]
    q = 1 - TRUTH["resolution"]
    assert abs(repeat.value - q) < Z * np.sqrt(q * (1 - q) / repeat.n)
    assert res.scenario["channels"]["phone"]["redial"]["probability"] == redial.value
    assert res.scenario["resolution"]["phone"] == pytest.approx(1 - repeat.value)


def test_effective_staffing_is_near_the_agents_on_duty(fitted):
    """Where abandonment and wait are informative (09:00–11:00, the busiest hours), effective
    staffing is near the 3 agents on duty; where nobody waited the factor stays 1."""
    res, _ = fitted
    table = res.availability.table.set_index("hour")
    assert (table.loc[[9, 10], "matched"] == "abandonment + wait").all()  # fit's default --availability-match
    eff = res.effective_staffing()
    morning = eff[(eff["day"].dt.day_of_week < 6) & (eff["start_s"] >= 9 * 3600) & (eff["start_s"] < 11 * 3600)]
    per_interval = morning.groupby(["day", "start_s"])["agents"].sum()
    assert 2.4 <= per_interval.mean() <= 3.6
    blind = table[table["matched"].str.startswith("none")]
    assert len(blind) and (blind["factor"] == 1.0).all()


def test_fitted_scenario_loads_round_trips_runs_and_has_a_report(fitted, tmp_path):
    from simsvc.config.load import scenario_hash, scenario_yaml

    res, path = fitted
    scenario = simsvc.load_scenario(path)
    assert scenario.horizon == 7 * 86400
    (tmp_path / "resolved.yaml").write_text(scenario_yaml(scenario))
    assert scenario_hash(simsvc.load_scenario(tmp_path / "resolved.yaml")) == scenario_hash(scenario)
    text = path.read_text()
    assert "# patience: Kaplan–Meier" in text and "n = " in text
    assert (path.parent / "fit_report.html").stat().st_size > 10_000
    # Two days (monday and tuesday) keep the run short.
    result = simsvc.run(simsvc.load_scenario(path, ["horizon=2d"]), replications=1, seed=3)
    c = res.log.contacts
    observed = (c["day"].dt.day_of_week < 2).sum() / 2  # the log has two of each
    assert abs(result.metric("offered", "phone") - observed) < 0.15 * observed


def test_fitted_staffing_is_whole_agents_and_availability_per_interval(fitted):
    """fit writes whole scheduled agents and the fraction as the pool's availability (no
    sub-interval steps): the on-duty level the simulator runs in each weekday × interval
    is the fit days' mean effective staffing, to the rounding of availability (3 decimals)."""
    from simsvc.domain.calendar import on_duty_pieces

    res, path = fitted
    scenario = simsvc.load_scenario(path)
    pool = scenario.agents["general"]
    assert all(s.start.count(":") == 1 for s in pool.staffing.steps)  # HH:MM: interval starts only
    assert all(0 <= s.availability <= 1 for s in pool.availability.steps)
    eff = res.effective_staffing()
    n_wd = pd.Series([d.weekday() for d in res.days]).value_counts()
    mean = eff.assign(wd=eff["day"].dt.day_of_week).groupby(["wd", "start_s"])["agents"].sum()
    mean = mean / mean.index.get_level_values("wd").map(n_wd)
    level = {a: (x, b - a) for a, b, x in on_duty_pieces(scenario, pool)}  # scenario starts on a monday
    got = np.array([level[wd * 86400 + s][0] for wd, s in mean.index])
    assert all(level[wd * 86400 + s][1] == 900 for wd, s in mean.index)  # one piece per interval
    heads = {a: x for a, _, x in on_duty_pieces(scenario, pool.model_copy(update={"availability": None}))}
    scheduled = np.array([heads[wd * 86400 + s] for wd, s in mean.index])
    assert (np.abs(got - mean.to_numpy()) <= 0.0005 * scheduled + 1e-9).all()
    assert (got % 1 > 0.01).sum() > 50  # fractional agents are kept, not rounded
    assert "# availability per interval = effective agents / scheduled agents" in path.read_text()
