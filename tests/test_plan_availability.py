"""The planner's loop on pools with availability per interval: staff, roster, fit → staff → run.

On duty = scheduled × (1 − shrinkage) × availability, fractional; the plans search
and write *scheduled* agents and gross up by availability as ``requirements`` does.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from cli_helpers import assert_one_error_line
from conftest import ROOT
from simsvc.cli import main
from simsvc.config.load import load_scenario
from simsvc.plan import PlanError
from simsvc.plan.requirements import requirements
from simsvc.plan.roster import roster
from simsvc.plan.roster_io import coverage, rostered_scenario
from simsvc.plan.rules import check_against, parse_rules
from simsvc.plan.staff import staff
from simsvc.plan.staff_base import StaffOptions, plan_base
from simsvc.plan.targets import parse_targets, with_scenario_targets

DATA = ROOT / "tests" / "data"
SINUSOID = DATA / "plan_sinusoid.yaml"
PHONE_SL = "service_level >= 0.8 on phone"
SHRINK = 0.2
LOW = slice(10, 16)   # 10:00-16:00 at availability 0.6 (hourly intervals)


def _team_with(source: Path, tmp_path, name: str, steps: list | None, shrinkage: float | None = None,
               **top) -> Path:
    """``source``'s scenario written as ``name``.yaml, pool ``team`` given ``steps`` of availability
    (none if None), ``shrinkage`` and the top-level fields ``top``."""
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data.update(name=name, **top)
    if shrinkage is not None:
        data["agents"]["team"]["shrinkage"] = shrinkage
    if steps is not None:
        data["agents"]["team"]["availability"] = {"steps": [{"start": t, "availability": a} for t, a in steps]}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _sinusoid(tmp_path, name: str, availability: bool):
    steps = [("00:00", 1.0), ("10:00", 0.6), ("16:00", 1.0)] if availability else None
    return load_scenario(_team_with(SINUSOID, tmp_path, name, steps, SHRINK, horizon="1d"))


def test_staff_grosses_up_by_availability_and_meets_its_target(tmp_path):
    with_a = _sinusoid(tmp_path, "with_a", True)
    without = _sinusoid(tmp_path, "without", False)
    targets = parse_targets([PHONE_SL], with_a)
    # The Erlang start: ceil(net / (a (1 − s))), net as without availability.
    base_a = plan_base(with_a, targets, StaffOptions())
    base_1 = plan_base(without, parse_targets([PHONE_SL], without), StaffOptions())
    a = np.where(np.isin(np.arange(24), np.arange(24)[LOW]), 0.6, 1.0)
    assert (base_a.net["team"] == base_1.net["team"]).all()
    assert (base_a.analytic["team"] == np.ceil(base_1.net["team"] / (a * (1 - SHRINK)) - 1e-9)).all()
    assert (base_a.analytic["team"][LOW] > base_1.analytic["team"][LOW]).all()
    assert (base_a.analytic["team"][~np.isin(np.arange(24), np.arange(24)[LOW])]
            == base_1.analytic["team"][~np.isin(np.arange(24), np.arange(24)[LOW])]).all()
    req = requirements(with_a, targets)
    total = req[req["channel"] == "all"].sort_values("interval")
    assert (total["required_scheduled"].to_numpy() == base_a.analytic["team"]).all()   # as `requirements`

    opts = {"replications": 4, "seed": 3, "workers": 1}
    result = staff(with_a, targets, StaffOptions(confirm_replications=8, **opts))
    plain = staff(without, parse_targets([PHONE_SL], without), StaffOptions(confirm_replications=2, **opts))
    plan, on_duty = result.plan["team"], result.on_duty["team"]
    # The simulated on-duty level is fractional: scheduled × (1 − s) × a.
    assert on_duty == pytest.approx(plan * (1 - SHRINK) * a)
    table = result.staffing_table(with_a)
    assert table["availability"].to_numpy() == pytest.approx(a)
    assert table["on_duty"].to_numpy() == pytest.approx(on_duty)
    # The search meets every interval on its own common random numbers (the algorithm's contract) ...
    assert result.stable and result.iterations[-1].missed == 0
    # ... and the agents on duty it needs hardly depend on availability (the plain pool's are whole
    # agents, rounded up, so it carries a little more), but where availability is 0.6 it takes
    # about 1/0.6 times the scheduled agents to put them on duty.
    duty_ratio = on_duty[LOW].sum() / plain.on_duty["team"][LOW].sum()
    scheduled_ratio = plan[LOW].sum() / plain.plan["team"][LOW].sum()
    assert 0.8 <= duty_ratio <= 1.1, (on_duty, plain.on_duty["team"])
    assert scheduled_ratio >= 1.3 and (plan[LOW] > plain.plan["team"][LOW]).all(), (plan, plain.plan["team"])
    v = result.verification   # fresh replications (seed + 1): misses within the noise of 4 + 8 replications
    assert (v["status"] != "not met").mean() >= 0.85, v


def test_staff_and_roster_name_an_interval_with_availability_0_and_a_need(tmp_path):
    path = _team_with(SINUSOID, tmp_path, "gap", [("00:00", 1.0), ("03:00", 0.0), ("04:00", 1.0)], horizon="1d")
    s = load_scenario(path)
    targets = parse_targets([PHONE_SL], s)
    with pytest.raises(PlanError, match=r"staff: pool 'team', day 0 03:00 \(interval 3\).*availability is 0"):
        plan_base(s, targets, StaffOptions())
    net = np.full(24, 2.0)
    day_shifts = {"pools": {"team": {"shift_types": [
        {"name": "day", "days": "all", "starts": {"from": "00:00", "to": "23:00", "every": "1h"},
         "lengths": {"min": "4h", "max": "8h", "step": "1h"}}]}}}
    rules = parse_rules(day_shifts, "rules.yaml")
    with pytest.raises(PlanError, match=r"roster: pool 'team', day 0 03:00 \(interval 3\)"):
        roster(s, rules, {"team": net})
    # From the CLI: `requirements` writes the need (its scheduled figure empty; its Erlang plan schedules
    # nobody there, and says so), `roster` names the interval.
    erlang = CliRunner().invoke(main, ["requirements", str(path), "--target", PHONE_SL, "--out", str(tmp_path / "q")])
    assert erlang.exit_code == 0, erlang.output
    assert "warning: pool 'team', day 0 03:00 (interval 3): agents needed" in erlang.stderr
    assert "0,03:00,0\n" in (tmp_path / "q" / "staffing_team.csv").read_text()
    assert load_scenario(tmp_path / "q" / "scenario.yaml").agents["team"].availability is not None
    req = tmp_path / "q" / "requirements.csv"
    rules_path = tmp_path / "rules.yaml"
    rules_path.write_text(yaml.safe_dump(day_shifts), encoding="utf-8")
    out = CliRunner().invoke(main, ["roster", str(path), "--requirements", str(req), "--rules", str(rules_path),
                                    "--out", str(tmp_path / "r")])
    assert "03:00 (interval 3)" in assert_one_error_line(out)
    assert not (tmp_path / "r").exists()


def test_roster_covers_the_gross_need_with_availability(tmp_path):
    path = _team_with(DATA / "roster_day.yaml", tmp_path, "day_a", [("00:00", 0.9), ("10:00", 0.6), ("14:00", 0.85)])
    s = load_scenario(path)
    rules = parse_rules(yaml.safe_load((DATA / "roster_day_rules.yaml").read_text()), "rules.yaml")
    check_against(rules, s, "rules.yaml", ["team"])
    req = requirements(s, with_scenario_targets([], s))
    total = req[req["channel"] == "all"].sort_values("interval")
    net = {"team": total["required_on_duty"].to_numpy()}
    result = roster(s, rules, net)
    cov = coverage(rostered_scenario(s, result), net)
    a = np.array([0.9] * 20 + [0.6] * 8 + [0.85] * 20)
    gross = np.where(net["team"] > 0, np.ceil(net["team"] / ((1 - 0.25) * a) - 1e-9), 0)
    # Gross terms: required_scheduled is requirements' figure, and the roster schedules at least that.
    assert (cov["required_scheduled"].to_numpy() == gross).all()
    assert (cov["required_scheduled"].to_numpy() == total["required_scheduled"].to_numpy()).all()
    assert (cov["scheduled"] >= cov["required_scheduled"]).all()
    # Read back as the simulator runs it: fractional on duty = scheduled × (1 − s) × a ≥ net.
    assert cov["on_duty"].to_numpy() == pytest.approx(cov["scheduled"].to_numpy() * 0.75 * a)
    assert (cov["on_duty"] >= cov["required_on_duty"] - 1e-9).all() and cov["under_on_duty"].sum() == 0
    pr = result.pools["team"]
    assert pr.lp_bound - 1e-6 <= pr.cost <= pr.lp_bound * 1.01 and pr.repairs == 0


def test_fit_staff_run_reproduces_the_search_on_the_written_scenario(tmp_path):
    """The planner's loop from a contact log: fit (availability per interval written),
    staff a day of the fitted scenario, run the written scenario."""
    runner = CliRunner()
    fitted = tmp_path / "fitted"
    fit = runner.invoke(main, ["fit", str(DATA / "synthetic_log.csv"), "--out", str(fitted),
                               "--search-steps", "2", "--search-reps", "1"])
    assert fit.exit_code == 0, fit.output
    assert load_scenario(fitted / "scenario.yaml").agents["general"].availability is not None
    (fitted / "day.yaml").write_text("extends: scenario.yaml\nname: fitted_day\nhorizon: 1d\ninterval: 1h\n"
                                     "warmup: 0s\n", encoding="utf-8")
    out = tmp_path / "staff"
    result = runner.invoke(main, ["staff", str(fitted / "day.yaml"), "--target", PHONE_SL, "--reps", "2",
                                  "--confirm-reps", "3", "--max-iterations", "4", "-w", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "staffing.csv")
    planned = load_scenario(out / "scenario.yaml")
    pool = planned.agents["general"]
    assert pool.availability is not None   # kept: the written scenario extends the fitted one
    assert [s.agents for s in pool.staffing.steps] == list(table["scheduled"])
    assert table["on_duty"].to_numpy() == pytest.approx(
        table["scheduled"] * (1 - pool.shrinkage) * table["availability"], abs=1e-6)
    assert (table["availability"] < 1).any()
    # Same scenario + the confirming seed = the search's own verification figures.
    seed = re.search(r"fresh replications, seed (\d+)", result.output).group(1)
    run = runner.invoke(main, ["run", str(out / "scenario.yaml"), "-n", "3", "-s", seed, "-w", "1", "--no-report",
                               "--no-contacts", "--out", str(tmp_path / "run")])
    assert run.exit_code == 0, run.output
    from simsvc.plan.metrics import interval_metric

    v = pd.read_csv(out / "verification.csv")
    m = interval_metric(pd.read_parquet(tmp_path / "run" / "intervals.parquet"),
                        parse_targets([PHONE_SL], planned)[0])
    both = v.merge(m, on="interval", suffixes=("_staff", "_run"))
    assert len(both) == len(v) > 10
    assert both["value_run"].to_numpy() == pytest.approx(both["value_staff"].to_numpy())


def test_verification_marks_intervals_with_availability_0(tmp_path):
    """An interval whose pool has availability 0 is reported as such, never as met or missed."""
    from simsvc.plan.verification import UNAVAILABLE, verification

    s = _sinusoid(tmp_path, "v", True)
    target = parse_targets([PHONE_SL], s)[0]
    rows = [{"channel": "phone", "in_warmup": False, "interval": i, "replication": r, "offered": 20,
             "lost_closed": 0, "answered_within_threshold": 10, "abandoned": 5, "answered": 15, "asa_s": 30.0}
            for i in (2, 3) for r in (0, 1)]
    grid = np.arange(25) * 3600.0
    closed = {"team": np.isin(np.arange(24), [3])}
    v = verification(s, [target], pd.DataFrame(rows), {"phone": "team"}, {"team": np.zeros(24)}, grid, 5.0, closed)
    assert list(v["status"]) == ["not met", UNAVAILABLE]


@pytest.mark.slow
def test_overall_and_shifts_plan_scheduled_agents_with_availability(tmp_path):
    from simsvc.plan.roster_io import pool_on_duty
    from simsvc.plan.staff_overall import staff_overall
    from simsvc.plan.staff_shifts import staff_shifts

    s = _sinusoid(tmp_path, "variants", True)
    targets = parse_targets([PHONE_SL], s)
    opts = StaffOptions(replications=3, confirm_replications=4, seed=3, workers=1, max_iterations=6)
    a = np.where(np.isin(np.arange(24), np.arange(24)[LOW]), 0.6, 1.0)
    overall = staff_overall(s, targets, opts)
    assert overall.on_duty["team"] == pytest.approx(overall.plan["team"] * (1 - SHRINK) * a)
    assert overall.verification["status"].iloc[0] in ("met", "uncertain"), overall.verification
    assert overall.scenario.agents["team"].availability is not None
    rules = parse_rules({"pools": {"team": {"shift_types": [
        {"name": "day", "days": "all", "starts": {"from": "00:00", "to": "23:00", "every": "1h"},
         "lengths": {"min": "4h", "max": "8h", "step": "1h"}, "max_agents": 60}]}}}, "rules.yaml")
    shifts = staff_shifts(s, targets, rules, opts)
    rostered = shifts.scenario
    assert rostered.agents["team"].availability is not None
    on_duty = pool_on_duty(rostered, "team")
    # The roster covers the (raised) on-duty requirement as the simulator reads it, with availability.
    assert (on_duty >= shifts.requirement["team"] - 1e-9).all()
    assert (shifts.verification["status"] != "not met").mean() >= 0.9, shifts.verification


def test_roster_reads_a_staffing_table_back_to_its_schedule(tmp_path):
    """A staff table's fractional on duty, written to 6 digits, gives back the schedule it came from."""
    path = _team_with(DATA / "roster_day.yaml", tmp_path, "day_b", [("00:00", 0.9695)], 0.23)
    scheduled = np.where((np.arange(48) >= 16) & (np.arange(48) < 40), 17, 0)
    table = pd.DataFrame({"pool": "team", "interval": np.arange(48), "scheduled": scheduled,
                          "on_duty": scheduled * 0.77 * 0.9695})
    table.to_csv(tmp_path / "staffing.csv", index=False, float_format="%.6g")   # as staff writes it
    assert "12.6908" in (tmp_path / "staffing.csv").read_text()
    rules = tmp_path / "rules.yaml"
    rules.write_text((DATA / "roster_day_rules.yaml").read_text(), encoding="utf-8")
    out = CliRunner().invoke(main, ["roster", str(path), "--requirements", str(tmp_path / "staffing.csv"),
                                    "--rules", str(rules), "--out", str(tmp_path / "r")])
    assert out.exit_code == 0, out.output
    cov = pd.read_csv(tmp_path / "r" / "coverage.csv")
    assert (cov["required_scheduled"].to_numpy() == scheduled).all()
    assert cov["under_on_duty"].sum() == 0


def test_profit_levels_scale_the_schedule_and_keep_the_availability(tmp_path):
    from simsvc.plan.profit import parse_factors, staffing_levels

    doc = {"extends": str(ROOT / "scenarios" / "journey_baseline.yaml"), "name": "journey_a",
           "agents": {"service": {"availability": {"steps": [
               {"start": "00:00", "availability": 0.9}, {"start": "12:00", "availability": 0.7}]}}}}
    path = tmp_path / "journey_a.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    s = load_scenario(path)
    levels = staffing_levels(s, ("service",), parse_factors("0.8,1.2"))
    own = [s_.agents for s_ in s.agents["service"].staffing.shifts]
    for level in levels:
        pool = level.scenario.agents["service"]
        assert pool.availability == s.agents["service"].availability
        assert [x.agents for x in pool.staffing.shifts] == [int(v * level.factor + 0.5) for v in own]
