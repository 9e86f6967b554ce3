"""Class 11: options found by fuzzing. Day ranges are checked against the log before they are
expanded; float options refuse nan/inf; an empty --out or list is refused; a --set path with
an empty part is refused and --set errors name their --set; unreachable planning targets and
a break as long as its shift are refused. Each: one message naming the option, exit 2, nothing
written."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from conftest import ROOT
from harden_helpers import invoke, one_error, tiny, usage_error

from simsvc.cli import main

DATA = ROOT / "tests" / "data"
SYNTHETIC = DATA / "synthetic_log.csv"   # 14 days from 2026-01-05, no class column
SINUSOID = DATA / "plan_sinusoid.yaml"
JOURNEY = ROOT / "scenarios" / "journey_baseline.yaml"
ROSTER_DAY = DATA / "roster_day.yaml"


# --------------------------------------------------------------------------- 1. backtest days
def test_a_huge_day_range_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    """`--test-days 3-100000000000000000000` was expanded into a set first (OOM-killed). Under a
    1 GB address-space limit it must be refused at once, naming the option and the log's days."""
    script = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
              "from simsvc.cli import main; main()")
    out = tmp_path / "bt"
    proc = subprocess.run([sys.executable, "-c", script, "backtest", str(SYNTHETIC), "--fit-days", "1-2",
                           "--test-days", "3-100000000000000000000", "--out", str(out)],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "--test-days" in errors[0] and "the log has no day 100000000000000000000" in errors[0]
    assert "between 1" in errors[0] and "and 14" in errors[0]
    assert not out.exists()


@pytest.mark.parametrize("fit_days, test_days, option, fragment", [
    ("0-2", "3-4", "--fit-days", "day 0 does not exist"),
    ("1-2", "3-20", "--test-days", "the log has no day 20"),
    ("1-2", "4-3", "--test-days", "a range runs from low to high"),
    ("1-2", "3-", "--test-days", "day numbers like 1-15"),
    ("", "3", "--fit-days", "day numbers like 1-15"),
    ("1-2,", "3", "--fit-days", "day numbers like 1-15"),
])
def test_backtest_day_numbers_outside_the_log_are_refused(tmp_path: Path, fit_days: str, test_days: str,
                                                          option: str, fragment: str) -> None:
    out = tmp_path / "bt"
    result = invoke("backtest", SYNTHETIC, "--fit-days", fit_days, "--test-days", test_days, "--out", out)
    one_error(result, f"{option} = ", fragment)
    assert not out.exists()


def test_fit_days_range_is_checked_too(tmp_path: Path) -> None:
    result = invoke("fit", SYNTHETIC, "--days", "0-3", "--out", tmp_path / "f")
    one_error(result, "--days = '0-3'", "day 0 does not exist")
    assert not (tmp_path / "f").exists()


@pytest.mark.parametrize("weekdays", ["", " ", ",", "mon,,tue"])
def test_an_empty_weekday_list_is_refused(tmp_path: Path, weekdays: str) -> None:
    result = invoke("backtest", SYNTHETIC, "--fit-days", "1-7", "--test-days", "8-14", "--weekdays", weekdays,
                    "--out", tmp_path / "bt")
    one_error(result, "--weekdays = ", "no empty list or item")
    assert not (tmp_path / "bt").exists()


@pytest.mark.parametrize("command", ["backtest", "fit"])
@pytest.mark.parametrize("flags", [["--class-patience"], ["--routing-delay"], ["--class-patience", "--routing-delay"]])
def test_class_options_on_a_log_without_classes_are_refused(tmp_path: Path, command: str, flags: list) -> None:
    days = ["--fit-days", "1-7", "--test-days", "8-14"] if command == "backtest" else []
    out = tmp_path / "o"
    result = invoke(command, SYNTHETIC, *days, *flags, "--no-patience-by-queue", "--out", out)
    usage_error(result, flags[0], " and ".join(flags), "a value per routing class", "one class only")
    assert not out.exists()


def test_class_options_with_no_classes_are_refused(tmp_path: Path) -> None:
    result = invoke("fit", SYNTHETIC, "--routing-delay", "--no-classes", "--out", tmp_path / "o")
    usage_error(result, "--routing-delay", "--no-classes ignores the log's class column")


# --------------------------------------------------------------------------- 2. finite floats
FLOAT_OPTIONS = [
    (["staff", "nosuch.yaml"], "--min-contacts"),
    (["staff", "nosuch.yaml"], "--max-occupancy"),
    (["requirements", "nosuch.yaml"], "--max-occupancy"),
    (["roster", "nosuch.yaml", "--requirements", "r.csv", "--rules", "r.yaml"], "--gap"),
    (["roster", "nosuch.yaml", "--requirements", "r.csv", "--rules", "r.yaml"], "--time-limit"),
    (["sweep", "nosuch.yaml", "--vary", "horizon=1h,2h"], "--precision"),
    (["compare", "nosuch.yaml", "nosuch2.yaml"], "--precision"),
    (["experiment", "nosuch.yaml"], "--precision"),
]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "+Infinity"])
@pytest.mark.parametrize("args, option", FLOAT_OPTIONS, ids=[f"{a[0]} {o}" for a, o in FLOAT_OPTIONS])
def test_float_options_refuse_nan_and_inf(args: list, option: str, value: str) -> None:
    result = invoke(*args, option, value)
    usage_error(result, option, repr(value), "is not a finite number")


def test_finite_float_keeps_the_range_and_the_value() -> None:
    from simsvc.cli._common import FiniteFloat

    gap = FiniteFloat(0, 0.5)
    assert gap.convert("0.25", None, None) == 0.25
    with pytest.raises(click.BadParameter, match="not in the range 0<=x<=0.5"):
        gap.convert("0.7", None, None)
    with pytest.raises(click.BadParameter, match="expected a number in the range 0<=x<=0.5"):
        gap.convert("nan", None, None)


def test_every_float_option_of_the_cli_is_finite() -> None:
    """No option of any command takes click's FLOAT or FloatRange (which accept nan and inf)."""
    from simsvc.cli._common import FiniteFloat

    ctx = click.Context(main)
    floats = []
    for name in main.list_commands(ctx):
        for param in main.get_command(ctx, name).params:
            if isinstance(param.type, click.types.FloatParamType):
                floats.append((name, param.name))
                assert isinstance(param.type, FiniteFloat), (name, param.name, param.type)
    assert len(floats) >= 6   # the check can fail: there are float options to check


# --------------------------------------------------------------------------- 3. empty --out
OUT_COMMANDS = [
    ["run", "nosuch.yaml"],
    ["sweep", "nosuch.yaml", "--vary", "horizon=1h,2h"],
    ["compare", "nosuch.yaml", "nosuch2.yaml"],
    ["experiment", "nosuch.yaml"],
    ["requirements", "nosuch.yaml"],
    ["staff", "nosuch.yaml"],
    ["roster", "nosuch.yaml", "--requirements", "r.csv", "--rules", "r.yaml"],
    ["fit", "nosuch.csv"],
    ["backtest", "nosuch.csv", "--fit-days", "1", "--test-days", "2"],
]


@pytest.mark.parametrize("value", ["", "  "])
@pytest.mark.parametrize("args", OUT_COMMANDS, ids=[a[0] for a in OUT_COMMANDS])
def test_an_empty_out_is_refused(tmp_path: Path, args: list, value: str) -> None:
    result = invoke(*args, "--out", value, cwd=tmp_path)
    usage_error(result, "--out", "is an empty folder name")
    assert list(tmp_path.iterdir()) == []


def test_run_with_an_empty_out_writes_nothing(tmp_path: Path) -> None:
    """It wrote the run to results/tiny/<timestamp> as if -o had not been given."""
    scenario = tiny(tmp_path)
    result = invoke("run", scenario, "-n", "1", "-o", "", "--no-report", cwd=tmp_path)
    usage_error(result, "--out", "''")
    assert not (tmp_path / "results").exists()


# --------------------------------------------------------------------------- 4. empty lists
@pytest.mark.parametrize("value, fragment", [("", "names no pools"), (",", "names no pools"),
                                             (" , ", "names no pools"), ("team,,other", "has an empty item")])
def test_staff_pools_must_name_pools(tmp_path: Path, value: str, fragment: str) -> None:
    result = invoke("staff", tmp_path / "nosuch.yaml", "--pools", value, cwd=tmp_path)
    usage_error(result, "--pools", fragment)


@pytest.mark.parametrize("value", ["", ","])
def test_profit_vary_pools_must_name_pools(tmp_path: Path, value: str) -> None:
    result = invoke("staff", tmp_path / "nosuch.yaml", "--objective", "profit", "--vary-pools", value)
    usage_error(result, "--vary-pools", "names no pools")


def test_profit_levels_with_an_empty_item_are_refused(tmp_path: Path) -> None:
    result = invoke("staff", JOURNEY, "--objective", "profit", "--levels", "1,,2", "--agents", "service=20",
                    "--out", tmp_path / "p")
    one_error(result, "--levels '1,,2'", "an empty item")
    assert not (tmp_path / "p").exists()


def test_profit_agents_with_an_empty_item_are_refused(tmp_path: Path) -> None:
    result = invoke("staff", JOURNEY, "--objective", "profit", "--levels", "1", "--agents", "service=20,,24",
                    "--out", tmp_path / "p")
    one_error(result, "--agents 'service=20,,24'", "whole numbers")


# --------------------------------------------------------------------------- 5. --set paths
@pytest.mark.parametrize("override", ["horizon.=1d", "channels..phone=1", ".horizon=1d", "horizon. =1d"])
def test_a_set_path_with_an_empty_part_is_refused(tmp_path: Path, override: str) -> None:
    result = invoke("check", tiny(tmp_path), "--set", override)
    one_error(result, f"(--set {override})", "a dotted path with a name between every two dots")


def test_a_top_level_error_names_the_sets_given(tmp_path: Path) -> None:
    result = invoke("check", JOURNEY, "--set", "customers=null", "--set", "seed=4")
    one_error(result, "journey_baseline.yaml (with --set customers=null, --set seed=4): (top level)",
              "expected demand (forecast mode) or customers (journey mode)")


def test_a_set_path_with_spaces_still_names_its_set(tmp_path: Path) -> None:
    result = invoke("check", tiny(tmp_path), "--set", "channels. phone=1")
    one_error(result, "(--set channels. phone=1): channels.phone = 1")


def test_a_valid_set_still_works(tmp_path: Path) -> None:
    result = invoke("check", tiny(tmp_path), "--set", "agents.team.staffing=7", "-q")
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------- 6. --agents pools
def test_profit_agents_unknown_pool_names_agents() -> None:
    result = invoke("staff", JOURNEY, "--objective", "profit", "--agents", "nosuch=5")
    line = one_error(result, "--agents: 'nosuch' is not a pool of journey_baseline")
    assert "--vary-pools" not in line


def test_profit_vary_pools_unknown_pool_still_names_vary_pools() -> None:
    result = invoke("staff", JOURNEY, "--objective", "profit", "--vary-pools", "nosuch")
    one_error(result, "--vary-pools: 'nosuch' is not a pool")


# --------------------------------------------------------------------------- 7. unreachable targets
@pytest.mark.parametrize("target", ["asa_s <= 0 on phone", "service_level >= 1 on phone",
                                    "abandon_rate <= 0 on phone", "service_level >= 1.0 on phone"])
def test_targets_no_finite_staffing_meets_are_refused(tmp_path: Path, target: str) -> None:
    out = tmp_path / "req"
    result = invoke("requirements", SINUSOID, "--target", target, "--out", out)
    one_error(result, f"--target {target!r}: no finite staffing meets it")
    assert not out.exists()


def test_targets_just_inside_the_range_are_kept(tmp_path: Path) -> None:
    from simsvc.config.load import load_scenario
    from simsvc.plan.targets import parse_targets

    scenario = load_scenario(SINUSOID)
    goals = parse_targets(["asa_s <= 0.5 on phone", "service_level >= 0.99 on phone",
                           "abandon_rate <= 0.001 on phone"], scenario)
    assert [g.value for g in goals] == [0.5, 0.99, 0.001]


# --------------------------------------------------------------------------- 8. roster breaks
@pytest.mark.parametrize("length", ["8h", "9h"])
def test_a_break_as_long_as_the_shift_is_refused(length: str) -> None:
    from simsvc.config.errors import ScenarioError
    from simsvc.config.load import load_scenario
    from simsvc.plan.rules import check_against, parse_rules

    rules = parse_rules({"pools": {"team": {"shift_types": [
        {"days": "mon-fri", "starts": {"from": "08:00", "to": "10:00", "every": "1h"},
         "lengths": {"min": "8h", "max": "8h"}, "break": {"length": length}}]}}}, "rules.yaml")
    with pytest.raises(ScenarioError) as info:
        check_against(rules, load_scenario(ROSTER_DAY), "rules.yaml", ["team"])
    text = str(info.value)
    assert "pools.team.shift_types[0].break.length" in text and "has no paid time" in text, text


def test_a_break_as_long_as_the_shift_is_refused_by_roster(tmp_path: Path) -> None:
    from simsvc.config.load import load_scenario
    from simsvc.plan.requirements import requirements
    from simsvc.plan.targets import with_scenario_targets

    scenario = load_scenario(ROSTER_DAY)
    req = tmp_path / "requirements.csv"
    requirements(scenario, with_scenario_targets([], scenario)).to_csv(req, index=False)
    rules = tmp_path / "rules.yaml"
    rules.write_text("pools:\n  team:\n    shift_types:\n      - days: mon-fri\n"
                     "        starts: {from: '08:00', to: '10:00', every: 1h}\n"
                     "        lengths: {min: 6h, max: 6h}\n        break: {over: 1h, length: 6h}\n")
    out = tmp_path / "r"
    result = invoke("roster", ROSTER_DAY, "--requirements", req, "--rules", rules, "--out", out)
    one_error(result, "break.length = '360min'", "has no paid time")
    assert not out.exists()
