"""`simsvc roster`: shifts from interval requirements (set-covering MILP) and `staff --shifts`."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from cli_helpers import assert_one_error_line
from conftest import ROOT
from simsvc.cli import main
from simsvc.config.load import load_scenario
from simsvc.plan.requirements import requirements
from simsvc.plan.roster import RosterOptions, gross_agents, roster
from simsvc.plan.roster_io import coverage, levels, read_requirements, rostered_scenario
from simsvc.plan.rules import check_against, parse_rules
from simsvc.plan.targets import with_scenario_targets

DAY = ROOT / "tests" / "data" / "roster_day.yaml"
DAY_RULES = ROOT / "tests" / "data" / "roster_day_rules.yaml"


def _net(scenario) -> dict[str, np.ndarray]:
    req = requirements(scenario, with_scenario_targets([], scenario))
    rows = req[req["channel"] == "all"].sort_values("interval")
    return {p: r["required_on_duty"].to_numpy() for p, r in rows.groupby("pool")}


def _rules(data: dict, scenario, pools=("team",)):
    rules = parse_rules(data, "rules.yaml")
    check_against(rules, scenario, "rules.yaml", list(pools))
    return rules


def _write_requirements(tmp_path, scenario) -> str:
    req = requirements(scenario, with_scenario_targets([], scenario))
    path = tmp_path / "requirements.csv"
    req.to_csv(path, index=False)
    return str(path)


def test_roster_covers_every_interval_at_no_less_than_the_lp_bound():
    scenario = load_scenario(DAY)
    rules = _rules(yaml.safe_load(DAY_RULES.read_text()), scenario)
    net = _net(scenario)
    result = roster(scenario, rules, net)
    pr = result.pools["team"]
    assert pr.cost >= pr.lp_bound - 1e-6
    assert pr.cost <= pr.lp_bound * 1.01, (pr.cost, pr.lp_bound)
    # Coverage as the simulator reads the written shifts (its own schedule reader).
    cov = coverage(rostered_scenario(scenario, result), net)
    assert (cov["on_duty"] >= cov["required_on_duty"]).all(), cov[cov["on_duty"] < cov["required_on_duty"]]
    assert (cov["scheduled"] >= cov["required_scheduled"]).all()
    assert cov["under"].sum() == 0 and cov["under_on_duty"].sum() == 0
    # Paid cost = paid hours × rate, and the scheduled hours are those paid for (breaks unpaid).
    assert pr.cost == pytest.approx(pr.paid_hours * 30.0)
    assert cov["scheduled"].sum() * 0.5 == pytest.approx(pr.paid_hours)


def test_breaks_are_respected_nobody_on_duty_during_a_break():
    """One 8-hour shift type whose 30-minute break can only be at 12:00: the agents of the
    shift are off duty 12:00-12:30 in the simulator's schedule, and a requirement then is
    one clear message."""
    scenario = load_scenario(DAY)
    rules = _rules({"pools": {"team": {"shift_types": [{
        "days": "mon", "starts": {"from": "08:00", "to": "08:00"}, "lengths": {"min": "8h", "max": "8h"},
        "break": {"over": "6h", "length": "30min", "after_start": "4h", "before_end": "3h30min"}}]}}}, scenario)
    n = 48
    need = np.zeros(n)
    need[16:24] = 3      # 08:00-12:00
    need[25:32] = 3      # 12:30-16:00
    result = roster(scenario, rules, {"team": need})
    rostered = rostered_scenario(scenario, result)
    on_duty = levels(rostered, "team", 0.25)
    scheduled = levels(rostered, "team", 0.0)
    assert (on_duty[16:24] >= 3).all() and (on_duty[25:32] >= 3).all()
    assert on_duty[24] == 0 and scheduled[24] == 0          # the break, 12:00-12:30
    assert scheduled[16] == gross_agents(3, 0.25) == 4
    assert result.pools["team"].paid_hours == pytest.approx(4 * 7.5)
    need[24] = 1
    with pytest.raises(ValueError, match=r"pool 'team', day 0 \(mon\) 12:00 \(interval 24\).*no shift"):
        roster(scenario, rules, {"team": need})


def test_min_and_max_agents_per_shift_are_kept():
    scenario = load_scenario(DAY)
    data = yaml.safe_load(DAY_RULES.read_text())
    for st in data["pools"]["team"]["shift_types"]:
        st["min_agents"], st["max_agents"] = 3, 5
    result = roster(scenario, _rules(data, scenario), _net(scenario))
    agents = result.pools["team"].agents
    assert ((agents >= 3) & (agents <= 5)).all(), agents


def test_cli_writes_a_roster_that_runs_as_it_is(tmp_path):
    scenario = load_scenario(DAY)
    req = _write_requirements(tmp_path, scenario)
    out = tmp_path / "roster"
    runner = CliRunner()
    result = runner.invoke(main, ["roster", str(DAY), "--requirements", req, "--rules", str(DAY_RULES),
                                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "LP bound" in result.output
    for name in ("shifts.yaml", "scenario.yaml", "roster.csv", "coverage.csv", "totals.csv", "coverage.png"):
        assert (out / name).is_file(), name
    shifts = yaml.safe_load((out / "shifts.yaml").read_text())["agents"]["team"]["staffing"]["shifts"]
    assert shifts and all(set(s) == {"start", "end", "agents", "days"} for s in shifts)
    totals = pd.read_csv(out / "totals.csv").set_index("pool")
    assert totals.loc["all", "cost"] >= totals.loc["all", "lp_bound"] - 1e-6
    loaded = load_scenario(out / "scenario.yaml")
    assert loaded.agents["team"].staffing.shifts is not None
    run = runner.invoke(main, ["run", str(out / "scenario.yaml"), "--reps", "1", "-w", "1", "--no-report",
                               "--out", str(tmp_path / "run")])
    assert run.exit_code == 0, run.output
    # The run's cost basis is the roster's paid hours.
    cov = pd.read_csv(out / "coverage.csv")
    assert cov["scheduled"].sum() * 0.5 == pytest.approx(totals.loc["all", "paid_hours"])


def _bad_rules(tmp_path, change) -> str:
    data = yaml.safe_load(DAY_RULES.read_text())
    change(data["pools"]["team"]["shift_types"][0])
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize("change, fragment", [
    (lambda st: st.update(min_agents=5, max_agents=2),
     "pools.team.shift_types[0].min_agents = 5: expected at most max_agents (2)"),
    (lambda st: st["lengths"].update(min="9h"), "pools.team.shift_types[0].lengths"),
    (lambda st: st["break"].update(length="5h"), "pools.team.shift_types[0].break"),
    (lambda st: st["lengths"].update(min="6h15min"), "pools.team.shift_types[0].lengths.min = '6.25h'"),
    (lambda st: st["starts"].update(every="45min"), "pools.team.shift_types[0].starts.every = '45min'"),
    (lambda st: st.update(days="mon-funday"), "pools.team.shift_types[0].days"),
    (lambda st: st.update(shift_length="8h"), "pools.team.shift_types[0].shift_length"),
])
def test_contradictory_rules_one_message_with_field_path(tmp_path, change, fragment):
    scenario = load_scenario(DAY)
    req = _write_requirements(tmp_path, scenario)
    out = tmp_path / "roster"
    result = CliRunner().invoke(main, ["roster", str(DAY), "--requirements", req,
                                       "--rules", _bad_rules(tmp_path, change), "--out", str(out)])
    line = assert_one_error_line(result)
    assert "rules.yaml" in line and fragment in line, line
    assert not out.exists()


def _roster_on_edited_requirements(tmp_path, edit, name: str):
    """Run `simsvc roster` on the one-day scenario's requirements.csv after ``edit``; (result, out folder)."""
    req = edit(pd.read_csv(_write_requirements(tmp_path, load_scenario(DAY))))
    path = tmp_path / name
    req.to_csv(path, index=False)
    out = tmp_path / "roster"
    result = CliRunner().invoke(main, ["roster", str(DAY), "--requirements", str(path), "--rules",
                                       str(DAY_RULES), "--out", str(out)])
    return result, out


def test_no_shift_covers_a_night_requirement(tmp_path):
    def night(req):
        req.loc[(req["channel"] == "all") & (req["clock"] == "03:00"), "required_on_duty"] = 1
        return req

    result, out = _roster_on_edited_requirements(tmp_path, night, "night.csv")
    line = assert_one_error_line(result)
    assert "pool 'team'" in line and "03:00" in line and "no shift" in line, line
    assert not out.exists()


@pytest.mark.parametrize("edit, fragment", [
    (lambda df: df[~((df["channel"] == "all") & (df["interval"].isin([30, 31])))], "2 of the scenario's 48 intervals missing (interval 30, 31)"),
    (lambda df: df.assign(pool=df["pool"].replace("team", "tem")), "pool 'tem' is not a pool"),
    (lambda df: df.drop(columns=["required_on_duty"]), "expected the requirements.csv"),
    # cells shown as the file has them, not as numpy reprs (np.int64(-5); np.float64(nan) for text)
    (lambda df: _cell(df, "required_on_duty", -5), "interval 10: required_on_duty = -5: expected a number >= 0"),
    (lambda df: _cell(df, "required_on_duty", "abc"), "required_on_duty = 'abc': expected a number >= 0"),
    (lambda df: _cell(df, "required_scheduled", -2), "required_scheduled = -2: expected a number >= 0"),
    (lambda df: _cell(df, "interval", -3), "interval -3 is not an interval of the scenario"),
])
def test_bad_requirements_csv_one_message(tmp_path, edit, fragment):
    result, out = _roster_on_edited_requirements(tmp_path, edit, "bad.csv")
    line = assert_one_error_line(result)
    assert fragment in line and "bad.csv" in line, line
    assert "np." not in line, line
    assert not out.exists()


def _cell(df: pd.DataFrame, column: str, value) -> pd.DataFrame:
    """``df`` with ``column`` of the pool-total row of interval 10 set to ``value``."""
    df = df.astype({column: object})
    df.loc[(df["channel"] == "all") & (df["interval"] == 10), column] = value
    return df


def test_staffing_csv_of_staff_is_read_as_on_duty(tmp_path):
    scenario = load_scenario(DAY)
    net = _net(scenario)["team"]
    path = tmp_path / "staffing.csv"
    pd.DataFrame({"pool": "team", "interval": np.arange(48), "scheduled": [gross_agents(int(v), 0.25) for v in net],
                  "on_duty": net}).to_csv(path, index=False)
    net_read, gross_read = read_requirements(path, scenario)
    assert np.array_equal(net_read["team"], net)
    assert np.array_equal(gross_read["team"], [gross_agents(int(v), 0.25) for v in net])


@pytest.mark.slow
def test_baseline_roster_is_within_the_lp_bound():
    """On the bundled baseline and its rules (the specialists pool: the generalists alone
    take a minute on a loaded machine, too long for the test budget).

    The set-covering program's first solve lands on (within 1 % of) its LP bound: shift
    columns are runs of consecutive intervals, so the LP is nearly integral. What the
    final roster costs beyond that comes from the simulator rounding shrinkage per
    shifts: entry (round(x · (1 − s)) per entry): re-solving for the intervals that
    rounding leaves short. On the whole baseline that is +0.9 % in total (generalists
    +0.9 %, digital +1.6 %: one to three agents at night, where one agent more is a
    large share), measured and reported in the README; held here to 2 %."""
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    net = {p: v for p, v in _net(scenario).items() if p == "specialists"}
    rules = parse_rules(yaml.safe_load((ROOT / "scenarios" / "baseline_roster_rules.yaml").read_text()), "r")
    result = roster(scenario, rules, net, RosterOptions(time_limit_s=60))
    for pr in result.pools.values():
        assert pr.cost >= pr.lp_bound - 1e-6
        assert pr.first_cost <= pr.lp_bound * 1.01, (pr.pool, pr.first_cost, pr.lp_bound)
        assert pr.cost <= pr.lp_bound * 1.02, (pr.pool, pr.cost, pr.lp_bound)
    cov = coverage(rostered_scenario(scenario, result), net)
    assert (cov["on_duty"] >= cov["required_on_duty"]).all()


def test_staff_shifts_ends_with_a_shift_plan_meeting_the_target(tmp_path):
    """Requirements → roster → simulate → raise → roster again: the answer is a shift plan
    whose fresh replications meet the target (a one-day single-channel scenario, few reps)."""
    out = tmp_path / "plan"
    result = CliRunner().invoke(main, ["staff", str(DAY), "--shifts", str(DAY_RULES), "--target",
                                       "service_level >= 0.8 on phone", "--reps", "3", "--confirm-reps", "4",
                                       "--workers", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    iterations = pd.read_csv(out / "iterations.csv")
    assert iterations["missed"].iloc[-1] == 0
    v = pd.read_csv(out / "verification.csv")
    checked = v[v["status"] != "few contacts"]
    assert len(checked) >= 20
    assert (checked["status"] != "not met").all(), checked
    assert (checked["status"] == "met").mean() >= 0.9, checked
    # The plan is shifts, and it runs as it is.
    loaded = load_scenario(out / "scenario.yaml")
    assert loaded.agents["team"].staffing.shifts
    # Raising requirements never makes the roster cheaper than the first (analytic) one.
    assert (iterations["cost"].diff().dropna() >= -1e-6).all()


def test_staff_shifts_iteration_cap_says_so_and_writes_the_best_plan(tmp_path):
    out = tmp_path / "plan"
    result = CliRunner().invoke(
        main, ["staff", str(DAY), "--shifts", str(DAY_RULES), "--target", "service_level >= 0.99 on phone",
               "--reps", "2", "--confirm-reps", "2", "--max-iterations", "1", "--workers", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "after 1 iterations some intervals still miss" in result.stderr
    assert (out / "shifts.yaml").is_file() and (out / "verification.csv").is_file()


def test_a_break_after_midnight_moves_the_rest_of_the_shift_to_the_next_weekday():
    from simsvc.plan.roster_io import _schema_shifts

    entry = {"days": [0, 6], "start_s": 20 * 3600.0, "length_s": 8 * 3600.0, "break_s": 4 * 3600.0,
             "break_len_s": 1800.0, "agents": 2, "paid_hours": 7.5}
    assert _schema_shifts(entry) == [
        {"start": "20:00", "end": "00:00", "agents": 2, "days": ["mon", "sun"]},
        {"start": "00:30", "end": "04:00", "agents": 2, "days": ["tue", "mon"]}]


def test_rules_for_a_pool_the_scenario_lacks_name_it():
    scenario = load_scenario(DAY)
    data = yaml.safe_load(DAY_RULES.read_text())
    data["pools"]["teem"] = data["pools"]["team"]
    with pytest.raises(Exception, match=r"pools\.teem = 'teem': expected a pool of the scenario \(team\)"):
        _rules(data, scenario)


def test_a_per_pool_staffing_table_is_a_requirement(tmp_path):
    """POOL=FILE.csv: a `staffing: {csv:}` table (scheduled agents); on duty as the simulator rounds it."""
    path = tmp_path / "team.csv"
    path.write_text("day,start,agents\nmon,00:00,0\nmon,08:00,10\nmon,12:00,6\nmon,20:00,0\n")
    out = tmp_path / "roster"
    result = CliRunner().invoke(main, ["roster", str(DAY), "--requirements", f"team={path}", "--rules",
                                       str(DAY_RULES), "--out", str(out)])
    assert result.exit_code == 0, result.output
    cov = pd.read_csv(out / "coverage.csv")
    assert list(cov["required_on_duty"][16:24]) == [8] * 8     # round(10 × 0.75)
    assert list(cov["required_on_duty"][24:40]) == [5] * 16    # round(6 × 0.75) = round(4.5) = 5
    assert (cov["on_duty"] >= cov["required_on_duty"]).all()
    bad = CliRunner().invoke(main, ["roster", str(DAY), "--requirements", f"crew={path}", "--rules",
                                    str(DAY_RULES), "--out", str(out / "x")])
    assert "'crew' is not a pool" in assert_one_error_line(bad)
