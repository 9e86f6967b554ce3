"""Class 12: validation found by fuzzing. Plain shape errors (``seed: x``) are counted beside
other problems while union alternatives stay hidden; a shift's ``days: 7`` is told what days
accepts; inline demand volumes refuse two rows for one day and start; experience weights lie
on a bounded logit scale; a share sum that is off because ``extends`` merged a parent's keys
names those keys and their file."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT
from harden_helpers import invoke, one_error, tiny, write

from simsvc.config.errors import ScenarioError
from simsvc.config.load import load_scenario

BASELINE = ROOT / "scenarios" / "baseline.yaml"
JOURNEY = ROOT / "scenarios" / "journey_baseline.yaml"
POOL = "generalists"  # a pool of scenarios/baseline.yaml


def error_of(path: Path, *overrides: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, list(overrides))
    return info.value


def all_problems(exc: ScenarioError) -> list[tuple[str, object, str]]:
    return [(exc.path, exc.value, exc.allowed), *exc.others]


# ------------------------------------------------------------------ 1. shape errors are counted
def test_shape_errors_of_plain_fields_are_counted_beside_another_problem() -> None:
    exc = error_of(BASELINE, "replications=abc", "seed=x", f"agents.{POOL}.cost_per_hour=-1")
    paths = {p for p, _, _ in all_problems(exc)}
    assert paths == {"replications", "seed", f"agents.{POOL}.cost_per_hour"}, all_problems(exc)
    assert "(and 2 more problems)" in str(exc)


def test_all_three_problems_reach_the_command_line() -> None:
    result = invoke("check", BASELINE, "--set", "replications=abc", "--set", "seed=x",
                    "--set", f"agents.{POOL}.cost_per_hour=-1")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("error: ") and "(and 2 more problems)" in lines[0], lines
    assert sorted(line.split(" =")[0] for line in lines[1:]) == ["  also: replications", "  also: seed"], lines


def test_a_value_fitting_no_shape_of_a_union_is_one_problem_with_one_message(tmp_path: Path) -> None:
    # staffing is a number or a mapping: '5x' fails both; one message, no alternatives counted
    one_error(invoke("check", BASELINE, "--set", f"agents.{POOL}.staffing=5x"),
              f"agents.{POOL}.staffing = '5x': expected a valid integer")
    one_error(invoke("check", tiny(tmp_path), "--set", "resolution.phone={default: abc}"),
              "resolution.phone.default = 'abc': expected a valid number")


def test_a_union_value_beside_another_problem_is_counted_once() -> None:
    exc = error_of(BASELINE, f"agents.{POOL}.staffing=5x", f"agents.{POOL}.cost_per_hour=-1")
    assert sorted(p for p, _, _ in all_problems(exc)) == [f"agents.{POOL}.cost_per_hour", f"agents.{POOL}.staffing"]


# ------------------------------------------------------------------ 2. a shift's days
def test_a_shifts_days_given_as_a_number_is_told_what_days_accepts() -> None:
    shifts = '{shifts: [{start: "08:00", end: "16:00", agents: 5, days: 7}]}'
    line = one_error(invoke("check", BASELINE, "--set", f"agents.{POOL}.staffing={shifts}"),
                     f"agents.{POOL}.staffing.shifts.0.days = 7: expected days such as mon, mon-fri, sat,sun or all")
    assert "valid string" not in line


# ------------------------------------------------------------------ 3. inline volumes
def test_two_inline_volume_rows_for_one_day_and_start_are_refused(tmp_path: Path) -> None:
    rows = '{volumes: [{day: mon, start: "08:00", volume: 10}, {day: mon, start: "8:00", volume: 20}]}'
    one_error(invoke("check", tiny(tmp_path), "--set", f"demand.phone={rows}"),
              "demand.phone.volumes.1 = 'mon 8:00': expected one row per day and start (row 0 has the same)")


def test_inline_volume_rows_for_different_starts_or_days_pass(tmp_path: Path) -> None:
    rows = ('{volumes: [{day: mon, start: "08:00", volume: 10}, {day: mon, start: "09:00", volume: 20}, '
            '{day: tue, start: "08:00", volume: 5}]}')
    result = invoke("check", tiny(tmp_path), "--set", f"demand.phone={rows}")
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------ 4. experience weights
@pytest.mark.parametrize("field,value", [("base", "101"), ("wait", "-1e6"), ("abandoned", "-100.5"),
                                         ("public_late", "1e11")])
def test_experience_weights_beyond_the_logit_scale_are_refused(tmp_path: Path, field: str, value: str) -> None:
    one_error(invoke("check", tiny(tmp_path), "--set", f"experience.weights.{field}={value}"),
              f"experience.weights.{field} = ", "a weight on the logit scale from -100 to 100")


@pytest.mark.parametrize("value", ["100", "-100", "0"])
def test_experience_weights_at_the_bounds_pass(tmp_path: Path, value: str) -> None:
    result = invoke("check", tiny(tmp_path), "--set", f"experience.weights.repeat={value}")
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------ 5. shares merged by extends
def test_a_share_sum_off_by_a_parents_keys_names_them_and_the_parent(tmp_path: Path) -> None:
    child = write(tmp_path / "child.yaml", f"extends: {JOURNEY}\ncustomers:\n  initial_stages: {{usage: 1}}\n")
    exc = error_of(child)
    assert exc.file == str(child) and exc.path == "customers.initial_stages", str(exc)
    assert "they sum to 1.6" in exc.allowed
    assert f"inherited through extends: post_purchase, loyalty from {JOURNEY}" in exc.allowed, exc.allowed
    assert "0 to drop one" in exc.allowed


def test_shares_given_whole_by_an_option_name_no_parent(tmp_path: Path) -> None:
    child = write(tmp_path / "child.yaml", f"extends: {JOURNEY}\ncustomers:\n  initial_stages: {{usage: 1}}\n")
    exc = error_of(child, "customers.initial_stages={usage: 0.5}")
    assert "they sum to 0.5" in exc.allowed and "inherited" not in exc.allowed, exc.allowed
    partly = error_of(child, "customers.initial_stages.loyalty=0")   # loyalty given, post_purchase inherited
    assert "inherited through extends: post_purchase from" in partly.allowed, partly.allowed


def test_a_child_restating_the_whole_share_mapping_passes(tmp_path: Path) -> None:
    child = write(tmp_path / "child.yaml", f"extends: {JOURNEY}\ncustomers:\n"
                  "  initial_stages: {usage: 1, post_purchase: 0, loyalty: 0}\n")
    load_scenario(child)
