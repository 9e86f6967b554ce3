"""`simsvc staff --objective profit`: net value per staffing level of a journey scenario."""
from __future__ import annotations

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from cli_helpers import assert_one_error_line
from conftest import ROOT
from simsvc.cli import main
from simsvc.config.load import load_scenario
from simsvc.plan import PlanError
from simsvc.plan.profit import parse_agents, parse_factors, scaled_staffing, staffing_levels

JOURNEY = ROOT / "scenarios" / "journey_baseline.yaml"


def _tiny(tmp_path, feedback: bool = True):
    """The journey baseline shrunk to a couple of seconds per replication: 2,000 customers,
    two weeks after a 4-day warm-up, the service pool at a third of its shifts."""
    doc = {
        "extends": str(JOURNEY), "name": "tiny_journey", "warmup": "4d", "horizon": "14d",
        "customers": {"initial": 2000, "acquisition": "25/d", "feedback": feedback},
        "agents": {"service": {"staffing": {"shifts": [
            {"start": "08:00", "end": "14:00", "agents": 4, "days": "mon-sat"},
            {"start": "14:00", "end": "20:00", "agents": 3, "days": "mon-sat"},
            {"start": "10:00", "end": "16:00", "agents": 3, "days": "sun"}]}}},
    }
    path = tmp_path / f"tiny_{feedback}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_scaling_rounds_each_shift_half_up_and_keeps_the_shape():
    pool = load_scenario(JOURNEY).agents["service"]
    scaled = scaled_staffing(pool, 0.5)
    assert [s["agents"] for s in scaled["shifts"]] == [7, 2, 5, 6]   # 14, 3, 9, 11 × 0.5, half up
    assert [(s["start"], s["end"], s["days"]) for s in scaled["shifts"]] == [
        (s.start, s.end, s.days) for s in pool.staffing.shifts]
    assert scaled_staffing(pool, 1.0)["shifts"] == [s.model_dump(mode="json") for s in pool.staffing.shifts]


def test_levels_always_include_the_own_staffing_and_cost_rises_with_the_factor():
    scenario = load_scenario(JOURNEY)
    levels = staffing_levels(scenario, ("service",), parse_factors("0.5,1.5,0.8"))
    assert [lv.name for lv in levels] == ["x0.5", "x0.8", "x1", "x1.5"]
    own = [lv for lv in levels if lv.own]
    assert len(own) == 1 and own[0].scenario is scenario
    from simsvc.domain.calendar import scheduled_agent_seconds

    hours = [scheduled_agent_seconds(lv.scenario, lv.scenario.agents["service"], 0, scenario.horizon)
             for lv in levels]
    assert hours == sorted(hours) and len(set(hours)) == len(hours)
    # The pool not varied keeps its schedule.
    assert all(lv.scenario.agents["specialists"] == scenario.agents["specialists"] for lv in levels)


def test_agent_counts_give_constant_staffing_per_pool():
    scenario = load_scenario(JOURNEY)
    levels = staffing_levels(scenario, None, None, parse_agents(("service=10,20", "specialists=1,2")))
    assert [lv.name for lv in levels] == ["own", "service=10,specialists=1", "service=20,specialists=2"]
    assert levels[2].scenario.agents["service"].staffing == 20
    assert levels[2].scenario.agents["specialists"].staffing == 2


@pytest.mark.parametrize("call, message", [
    (lambda s: staffing_levels(s, ("nobody",)), "'nobody' is not a pool"),
    (lambda s: parse_factors("1.3:0.7:0.1"), "START <= STOP"),
    (lambda s: parse_factors(","), "no levels"),
    (lambda s: parse_factors("-1,1"), "not a scaling factor"),
    (lambda s: staffing_levels(s, None, [1.0]), "other than 1"),
    (lambda s: parse_agents(("service=10,20", "specialists=1")), "same number of values"),
    (lambda s: parse_agents(("service=ten",)), "POOL=N1,N2"),
])
def test_bad_levels_are_plan_errors(call, message):
    with pytest.raises(PlanError, match=message):
        call(load_scenario(JOURNEY))


def test_without_churn_feedback_revenue_ignores_staffing_and_the_cheapest_level_wins(tmp_path):
    """``feedback: false``: nobody churns or refers, so service cannot move revenue; on common
    random numbers every level sells the same, and net value is highest where agents cost least."""
    out = tmp_path / "profit"
    res = _invoke("staff", _tiny(tmp_path, feedback=False), "--objective", "profit", "--vary-pools", "service",
                  "--levels", "0.6,1.4", "--reps", "3", "-w", "1", "-o", out)
    assert res.exit_code == 0, res.output + res.stderr
    t = pd.read_csv(out / "levels.csv").sort_values("agent_hours")
    assert list(t["level"]) == ["x0.6", "x1", "x1.4"]
    # Service does move with staffing (else the test would prove nothing) ...
    # (x0.6 significantly worse than x1; x1.4 better on average: with 3 replications its paired
    # gain of a few points, positive in each replication, need not be significant.)
    assert t["service_level_diff_high"].iloc[0] < 0, t
    assert t["service_level"].is_monotonic_increasing and t["service_level"].is_unique, t
    # ... revenue does not: every paired difference's CI contains 0, and no churn is lost.
    assert ((t["revenue_diff_low"] <= 0) & (t["revenue_diff_high"] >= 0)).all(), t
    assert (t["revenue_lost_to_churn"] == 0).all() and (t["churned"] == 0).all()
    assert t["agent_cost"].is_monotonic_increasing and t["agent_cost"].is_unique
    assert t.loc[t["verdict"] == "best", "level"].tolist() == ["x0.6"]
    # The scenario written runs as it is, at the best level's staffing.
    best = load_scenario(out / "scenario.yaml")
    assert [s.agents for s in best.agents["service"].staffing.shifts] == [2, 2, 2]   # 4, 3, 3 × 0.6
    assert best.agents["specialists"] == load_scenario(_tiny(tmp_path, False)).agents["specialists"]
    assert (out / "profit.png").stat().st_size > 10_000
    reps = pd.read_csv(out / "replications.csv")
    assert set(reps["level"]) == {"x0.6", "x1", "x1.4"} and set(reps["replication"]) == {0, 1, 2}
    assert "best: x0.6" in res.stdout and "edge of the range" in res.stdout


@pytest.mark.parametrize("args, message", [
    (["--vary-pools", "nobody"], "'nobody' is not a pool"),
    (["--levels", ","], "no levels"),
    (["--levels", "0.8", "--agents", "service=3"], "either --levels"),
    (["--target", "service_level >= 0.8 on phone"], "--target does not apply"),
    (["--overall", "--confirm-reps", "3"], "--confirm-reps, --every-interval/--overall do(es) not apply"),
])
def test_bad_profit_input_is_one_line_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "out"
    res = _invoke("staff", _tiny(tmp_path), "--objective", "profit", *args, "-o", out)
    assert message in assert_one_error_line(res)
    assert not out.exists()


def test_forecast_scenario_is_refused_for_profit(tmp_path):
    out = tmp_path / "out"
    res = _invoke("staff", ROOT / "scenarios" / "baseline.yaml", "--objective", "profit", "-o", out)
    assert "needs a journey-mode scenario" in assert_one_error_line(res)
    assert not out.exists()


def test_profit_options_without_the_profit_objective_are_refused(tmp_path):
    res = _invoke("staff", _tiny(tmp_path), "--levels", "0.8,1.2", "-o", tmp_path / "out")
    assert "belong to --objective profit" in assert_one_error_line(res)


@pytest.mark.slow
def test_with_churn_feedback_more_staff_keeps_customers(tmp_path):
    """The other side of the curve: with feedback on, a thin service pool loses customers
    (churn after bad contacts) that a well-staffed one keeps, on common random numbers."""
    from simsvc.plan.profit import evaluate

    scenario = load_scenario(_tiny(tmp_path, feedback=True))
    levels = staffing_levels(scenario, ("service",), [0.4, 2.0])
    t = evaluate(scenario, levels, replications=4, seed=3).table.set_index("level")
    assert t.loc["x2", "service_level"] > t.loc["x0.4", "service_level"]
    # Paired differences to the own staffing (x1, service level ~95 %): the thin level loses more
    # customers (CI excluding zero) and more future revenue (noisier: the value of who churns
    # varies); doubling keeps more customers than the thin level.
    assert t.loc["x0.4", "churned_diff_low"] > 0, t.T
    assert t.loc["x0.4", "revenue_lost_to_churn_diff"] > 0, t.T
    assert t.loc["x2", "churned"] < t.loc["x0.4", "churned"]
    assert t.loc["x2", "agent_cost"] > t.loc["x1", "agent_cost"] > t.loc["x0.4", "agent_cost"]
