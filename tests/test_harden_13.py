"""Class 13: CLI requests found by fuzzing. Erlang targets only infinitely many agents meet and
abandonment targets on channels nobody abandons are refused; empty file and folder names are
refused; replication counts are bounded; a damaged experiment.json is one error naming it; a
date-time format pandas cannot use is one error naming it; a back-test forecast of weekdays the
fit days lack says why it is empty. Each: one message naming the option (or file), exit 2."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT
from harden_helpers import invoke, one_error, tiny, usage_error, write

DATA = ROOT / "tests" / "data"
SYNTHETIC = DATA / "synthetic_log.csv"   # 14 days from 2026-01-05 (a Monday)
SINUSOID = DATA / "plan_sinusoid.yaml"
ROSTER_DAY = DATA / "roster_day.yaml"
ERLANG_A = ROOT / "scenarios" / "erlang_a_check.yaml"


# --------------------------------------------------------------------------- 1. erlang targets
@pytest.mark.parametrize("args, option, fragment", [
    (["--target-sl", "1"], "--target-sl", "service_level is a share between 0 and 1"),
    (["--target-sl", "100%"], "--target-sl", "give a value below 1"),
    (["--target-asa", "0"], "--target-asa", "some contacts wait"),
    (["--target-abandon", "0", "--patience", "90s"], "--target-abandon", "callers with a patience sometimes abandon"),
    (["--target-abandon", "0", "--model", "b"], "--target-abandon", "are blocked"),
])
def test_erlang_targets_no_finite_staffing_meets_are_refused(args: list[str], option: str, fragment: str) -> None:
    result = invoke("erlang", "--rate", "100/h", "--aht", "240", *args)
    usage_error(result, option, "no finite staffing meets it", fragment)
    assert "agents needed" not in result.stdout


def test_erlang_targets_just_inside_are_kept() -> None:
    result = invoke("erlang", "--rate", "100/h", "--aht", "240", "--target-sl", "0.99", "--target-asa", "1s")
    assert result.exit_code == 0, result.output
    assert "agents needed" in result.stdout


# --------------------------------------------------------------------------- 2. abandonment without patience
NO_PATIENCE = """\
name: calm
horizon: 1d
seed: 3
channels:
  phone: {kind: voice}
  blocked: {kind: voice, queue_capacity: 0}
demand:
  phone: {rate: 60/h}
  blocked: {rate: 30/h}
handling:
  phone: {dist: exponential, mean: 4min}
  blocked: {dist: exponential, mean: 4min}
agents:
  team:
    skills: [phone, blocked]
    staffing: 8
"""


@pytest.mark.parametrize("command, channel, why", [
    ("requirements", "phone", "nobody abandons there"),
    ("staff", "phone", "nobody abandons there"),
    # requirements' Erlang B counts the blocked as lost (test_plan_requirements); staff's simulation does not
    ("staff", "blocked", "abandon_rate counts abandonments only"),
])
def test_abandonment_target_on_a_channel_without_patience_is_refused(tmp_path: Path, command: str,
                                                                     channel: str, why: str) -> None:
    scenario = write(tmp_path / "calm.yaml", NO_PATIENCE)
    out = tmp_path / "out"
    result = invoke(command, scenario, "--target", f"abandon_rate <= 0.05 on {channel}",
                    "--target", "service_level >= 0.8 on phone", "--target", "service_level >= 0.8 on blocked",
                    "--out", out)
    one_error(result, f"--target 'abandon_rate <= 0.05 on {channel}'", f"channel {channel!r} has no patience",
              why, "always met")
    assert not out.exists()


def test_abandonment_target_on_a_channel_with_patience_is_kept(tmp_path: Path) -> None:
    from simsvc.config.load import load_scenario
    from simsvc.plan.targets import parse_targets

    goals = parse_targets(["abandon_rate <= 0.05 on phone"], load_scenario(tiny(tmp_path)), blocked_is_lost=False)
    assert [(g.metric, g.value) for g in goals] == [("abandon_rate", 0.05)]


def test_requirements_keeps_a_blocking_target_without_patience(tmp_path: Path) -> None:
    scenario = write(tmp_path / "calm.yaml", NO_PATIENCE)
    result = invoke("requirements", scenario, "--target", "abandon_rate <= 0.05 on blocked",
                    "--target", "service_level >= 0.8 on phone", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------- 3. empty paths
@pytest.mark.parametrize("args, option", [
    (["fit", SYNTHETIC, "--columns", ""], "--columns"),
    (["backtest", SYNTHETIC, "--fit-days", "1-2", "--test-days", "3-3", "--columns", " "], "--columns"),
    (["roster", ROSTER_DAY, "--requirements", "x.csv", "--rules", ""], "--rules"),
    (["staff", ROSTER_DAY, "--shifts", ""], "--shifts"),
    (["run", ""], "SCENARIO"),
    (["check", ""], "SCENARIO"),
    (["results", ""], "FOLDER"),
    (["report", ""], "RESULTS_DIR"),
    (["fit", ""], "LOG"),
    (["compare", ERLANG_A, ""], "SCENARIOS..."),
    (["experiment", ""], "EXPERIMENT_FILE"),
])
def test_empty_path_values_are_refused(tmp_path: Path, args: list, option: str) -> None:
    result = invoke(*args, cwd=tmp_path)
    usage_error(result, option, "is an empty", "name")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("spec, part", [("", "an empty file name"), ("team=", "an empty file name"),
                                        ("=x.csv", "an empty pool name")])
def test_empty_roster_requirements_are_refused(tmp_path: Path, spec: str, part: str) -> None:
    result = invoke("roster", ROSTER_DAY, "--requirements", spec, "--rules", DATA / "roster_day_rules.yaml",
                    cwd=tmp_path)
    usage_error(result, "--requirements", part)


# --------------------------------------------------------------------------- 4. replications
@pytest.mark.parametrize("args, option", [
    (["run", ERLANG_A, "-n", "3000000000"], "'--reps' / '-n'"),
    (["run", ERLANG_A, "-n", "100001"], "'--reps' / '-n'"),
    (["sweep", ERLANG_A, "--vary", "agents.team.staffing=9,10", "-n", "4294967297"], "'--reps' / '-n'"),
    (["sweep", ERLANG_A, "--vary", "agents.team.staffing=9,10", "--precision", "0.1", "--max-reps", "3000000000"],
     "--max-reps"),
    (["staff", SINUSOID, "--target", "service_level >= 0.8 on phone", "--confirm-reps", "3000000000"],
     "--confirm-reps"),
    (["backtest", SYNTHETIC, "--fit-days", "1-2", "--test-days", "3-3", "-n", "3000000000"], "'--reps' / '-n'"),
])
def test_replications_beyond_the_limit_are_refused(tmp_path: Path, args: list, option: str) -> None:
    """Before, run and sweep refused 3e9 only as "too much work" (and ran with --force); backtest
    and staff have no work limit and started on them."""
    result = invoke(*args, "--out", tmp_path / "out")
    usage_error(result, option.strip("'"), "more replications than simsvc runs", "to 100,000")
    assert not (tmp_path / "out").exists()


def test_the_replication_bound_fits_int32_and_a_scenario() -> None:
    from simsvc.config.schema import Scenario
    from simsvc.experiment import MAX_REPLICATIONS

    assert MAX_REPLICATIONS < 2**31   # the tables store the replication number as int32
    limit = [m for m in Scenario.model_fields["replications"].metadata if hasattr(m, "le")]
    assert limit and limit[0].le == MAX_REPLICATIONS


def test_experiment_file_replications_beyond_the_limit_are_refused(tmp_path: Path) -> None:
    spec = write(tmp_path / "e.yaml", f"name: e\nscenarios:\n  a: {ERLANG_A}\nreplications: 3000000000\n")
    one_error(invoke("experiment", spec, "--out", tmp_path / "out"), "replications", "100000")


# --------------------------------------------------------------------------- 5. damaged experiment.json
@pytest.fixture(scope="module")
def experiment_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sweep") / "exp"
    result = invoke("sweep", ERLANG_A, "--vary", "agents.team.staffing=9,10", "-n", "2", "-w", "1",
                    "--set", "horizon=2h", "--set", "warmup=0", "--no-report", "-o", out)
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("edit, field", [
    (lambda m: m.update(variants=5), "variants is 5"),
    (lambda m: m.update(variants=list(m["variants"])), "variants is ["),
    (lambda m: m.update(variants="ab"), "variants is \"ab\""),
    (lambda m: m.update(replications_per_variant=[2, 2]), "replications_per_variant is [2, 2]"),
    (lambda m: m.update(replications_per_variant=4), "replications_per_variant is 4"),
    (lambda m: m.update(replications_per_variant={k: "2" for k in m["variants"]}), "replications_per_variant."),
    (lambda m: m.update(replications_per_variant={k: [2] for k in m["variants"]}), "replications_per_variant."),
    (lambda m: m.update(replications="2"), "replications is \"2\""),
])
def test_results_names_a_mistyped_experiment_json_field(tmp_path: Path, experiment_folder: Path, edit,
                                                        field: str) -> None:
    folder = tmp_path / "exp"
    shutil.copytree(experiment_folder, folder)
    path = folder / "experiment.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))
    for fmt in ("markdown", "json"):
        one_error(invoke("results", folder, "--format", fmt), f"{path}: damaged: {field}")


def test_results_of_an_intact_experiment(experiment_folder: Path) -> None:
    result = invoke("results", experiment_folder)
    assert result.exit_code == 0, result.output
    assert "2 variants" in result.stdout


# --------------------------------------------------------------------------- 6. date-time formats
@pytest.mark.parametrize("text, field, value, why", [
    ('datetime_format: "%Q"\n', "datetime_format", "'%Q'", "'Q' is a bad directive"),
    ('datetime_format: "%Y-%m-%d %H:%M:%S%"\n', "datetime_format", "'%Y-%m-%d %H:%M:%S%'", "stray %"),
    ('datetime_format: "%Y %Y"\n', "datetime_format", "'%Y %Y'", "%Y appears twice"),
    ('datetime_format: 5\n', "datetime_format", "5", "strptime"),
    ('date_format: "%Q"\n', "date_format", "'%Q'", "bad directive"),
    ('time_format: "%Y"\n', "date_format + time_format", "'%Y-%m-%d %Y'", "%Y appears twice"),
])
@pytest.mark.parametrize("command", ["fit", "backtest"])
def test_a_datetime_format_pandas_cannot_use_is_one_error(tmp_path: Path, command: str, text: str, field: str,
                                                          value: str, why: str) -> None:
    columns = write(tmp_path / "columns.yaml", text)
    days = ["--fit-days", "1-2", "--test-days", "3-3"] if command == "backtest" else []
    out = tmp_path / "out"
    result = invoke(command, SYNTHETIC, *days, "--columns", columns, "--out", out)
    one_error(result, f"{columns}: {field} = {value}: expected a strptime date-time format", why)
    assert not out.exists()


def test_a_datetime_format_given_in_python_is_checked_too() -> None:
    from simsvc.calibrate.logs import ColumnMap, LogError, read_log

    with pytest.raises(LogError) as info:
        read_log(SYNTHETIC, ColumnMap(datetime_format="%Q"))
    assert "datetime_format = '%Q'" in str(info.value) and "bad directive" in str(info.value)


def test_a_usable_datetime_format_still_reads(tmp_path: Path) -> None:
    from simsvc.calibrate.logs import ColumnMap, read_log

    columns = write(tmp_path / "columns.yaml", 'datetime_format: "%Y-%m-%d %H:%M:%S.%f"\n')
    assert read_log(SYNTHETIC, ColumnMap.from_yaml(columns)).rows_read == 3199


# --------------------------------------------------------------------------- 7. back-test forecast weekdays
def test_backtest_says_why_the_forecast_rows_are_empty(tmp_path: Path) -> None:
    """Fit days Mon-Tue, test day Wed: the fitted weekday profile has no Wednesday, so the forecast
    rows are "-" (exit 0, as the replays are fine); a note says why."""
    result = invoke("backtest", SYNTHETIC, "--fit-days", "1-2", "--test-days", "3-3", "-n", "2", "--no-report",
                    "--out", tmp_path / "bt")
    assert result.exit_code == 0, result.output
    assert any(line.startswith("forecast / effective") and " - ±-" in line for line in result.stdout.splitlines())
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: forecast")]
    assert len(notes) == 1, result.stderr
    assert "no contacts on test day(s) 2026-01-07 (wed)" in notes[0] and "fit days: mon, tue" in notes[0]
    assert "the forecast rows show -" in notes[0]


def test_backtest_forecast_of_partly_missing_weekdays_says_which(tmp_path: Path) -> None:
    result = invoke("backtest", SYNTHETIC, "--fit-days", "1-2", "--test-days", "3-8", "-n", "2", "--no-report",
                    "--mode", "forecast", "--out", tmp_path / "bt")
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stderr.splitlines() if line.startswith("note: forecast")]
    assert len(notes) == 1 and "2026-01-07 (wed)" in notes[0] and "other test days only" in notes[0], notes


def test_backtest_forecast_only_that_can_forecast_nothing_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "bt"
    result = invoke("backtest", SYNTHETIC, "--fit-days", "1-2", "--test-days", "3-3", "--mode", "forecast",
                    "--out", out)
    one_error(result, "--test-days = '3-3'", "for --mode forecast", "(mon, tue)", "no contacts on wed")
    assert not out.exists()


def test_backtest_forecast_on_fitted_weekdays_has_no_note(tmp_path: Path) -> None:
    result = invoke("backtest", SYNTHETIC, "--fit-days", "1-2", "--test-days", "8-8", "-n", "2", "--no-report",
                    "--mode", "forecast", "--out", tmp_path / "bt")
    assert result.exit_code == 0, result.output
    assert "note: forecast" not in result.stderr
