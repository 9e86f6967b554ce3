"""``simsvc compare | sweep | experiment | results``: through click's CliRunner, and as
real processes for the tests that kill or interrupt a run.

In-process runs use ``-w 1`` (no forking from the test process); the
subprocess runs use ``-w 2``. Horizons are 2-6 simulated days, with few
replications, so the file takes about half a minute.

Runs pass ``--no-report`` unless the test is about the report: drawing the plots took
about two thirds of these tests' time. The report of an experiment file is still drawn
by the ``staffing_sweep`` fixture's run, compare's by
``test_compare_writes_the_report_unless_asked_not_to``; tests/test_report.py checks
the contents of compare and sweep reports.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result

from cli_helpers import assert_one_error_line, interrupt
from simsvc.cli import main
from simsvc.experiment.design import Target, load_experiment

ROOT = Path(__file__).resolve().parents[1]
ERLANG_A = ROOT / "scenarios" / "erlang_a_check.yaml"
BASELINE = ROOT / "scenarios" / "baseline.yaml"
EXPERIMENTS = ROOT / "experiments"
SHORT = ("--set", "horizon=2d", "--set", "warmup=1d")
OUTPUTS = ("summary.csv", "points.csv", "comparison.csv")
COUNTS = re.compile(r"(\d+) replications run, (\d+) reused")


def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def counts(output: str) -> tuple[int, int]:
    m = COUNTS.search(output)
    assert m, output
    return int(m.group(1)), int(m.group(2))


def assert_usage_error(result: Result, option: str) -> None:
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert f"Invalid value for {option}" in result.stderr, result.stderr


def stored_reps(folder: Path) -> list[Path]:
    return sorted((folder / "runs").glob("*/rep-*.parquet")) if (folder / "runs").is_dir() else []


def simsvc_command() -> list[str]:
    script = Path(sys.executable).parent / "simsvc"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from simsvc.cli import main; main()"]


def write_experiment(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# =========================================================================== compare
def test_compare_two_scenarios_significant_difference(tmp_path: Path) -> None:
    ten = tmp_path / "ten.yaml"
    ten.write_text(f"extends: {ERLANG_A}\nname: ten-agents\nagents: {{team: {{staffing: 10}}}}\n",
                   encoding="utf-8")
    out = tmp_path / "cmp"
    result = invoke("compare", ERLANG_A, ten, *SHORT, "--reps", 5, "-w", 1, "--out", out, "--no-report",
                    "-m", "wait_mean_s@phone", "-m", "service_level@phone")
    assert result.exit_code == 0, result.output
    assert counts(result.stdout) == (10, 0)
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["metric", "erlang-a-check", "ten-agents", "ten-agents", "-", "erlang-a-check"]
    wait_line = next(line for line in lines if line.startswith("wait_mean_s@phone"))
    assert wait_line.rstrip().endswith("*"), wait_line
    cmp = pd.read_csv(out / "comparison.csv")
    r = cmp[(cmp.name == "ten-agents") & (cmp.metric == "wait_mean_s") & (cmp.channel == "phone")].iloc[0]
    assert r.baseline == "erlang-a-check"
    assert r["diff"] < 0 and r.diff_high < 0 and bool(r.significant)
    for name in ("summary.csv", "comparison.csv", "points.csv", "experiment.json"):
        assert (out / name).is_file()
    manifest = json.loads((out / "experiment.json").read_text())
    assert manifest["kind"] == "compare" and manifest["status"] == "complete"
    # The baseline scenario's own seed (erlang_a_check.yaml: seed 11), said and recorded.
    assert {v["seed"] for v in manifest["variants"].values()} == {11} and manifest["seed"] == 11
    assert manifest["settings_source"] == {"seed": "scenario erlang-a-check", "replications": "--reps"}
    assert "seed 11 (scenario erlang-a-check), 5 replications per variant (--reps)" in result.stdout


def test_compare_uses_the_scenarios_replications_and_seed_unless_overridden(tmp_path: Path) -> None:
    from simsvc.config.load import load_scenario
    from simsvc.experiment.design import Variant, baseline_settings

    sc = load_scenario(ERLANG_A, ["replications=4"])
    v = [Variant("a", sc), Variant("b", sc.model_copy(update={"seed": 99, "replications": 7}))]
    assert baseline_settings(v) == (4, 11, {"seed": "scenario erlang-a-check",
                                            "replications": "scenario erlang-a-check"})
    assert baseline_settings(v, reps=3, seed=5)[:2] == (3, 5)
    assert baseline_settings(v, file_reps=6, file_seed=8)[:2] == (6, 8)
    unseeded = [Variant("u", sc.model_copy(update={"seed": None, "replications": 1}))]
    n, seed, why = baseline_settings(unseeded)
    assert (n, seed) == (2, 1) and "sets no seed" in why["seed"] and "a CI needs 2" in why["replications"]


def test_compare_same_file_twice_gives_zero_differences(tmp_path: Path) -> None:
    out = tmp_path / "same"
    result = invoke("compare", ERLANG_A, ERLANG_A, *SHORT, "--reps", 3, "-w", 1, "--seed", 9, "--out", out,
                    "--no-report")
    assert result.exit_code == 0, result.output
    cmp = pd.read_csv(out / "comparison.csv")
    second = cmp[cmp.name == "erlang-a-check#2"].dropna(subset=["diff"])
    assert len(second) > 20
    assert (second["diff"] == 0).all() and not second.significant.any()
    assert " *" not in result.stdout


# Found by fuzzing: scenarios with different channels crashed the table (IndexError) after
# the results were written. A channel one side lacks shows "–" there and no difference.
def test_compare_scenarios_with_different_channels(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    result = invoke("compare", ERLANG_A, BASELINE, "--set", "horizon=1d", "--set", "warmup=0", "--reps", 2,
                    "-w", 1, "--out", out, "--no-report")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    email = next(line for line in lines if line.startswith("service_level@email "))
    assert email.split()[1:] == ["–", "1.000", "±0", "–"], email
    both = next(line for line in lines if line.startswith("occupancy@all "))
    assert "–" not in both and both.rstrip().endswith("*"), both
    assert "–: not measured in that scenario (erlang-a-check has no email, social, chat)" in result.stdout
    cmp = pd.read_csv(out / "comparison.csv")
    email_rows = cmp[cmp.channel == "email"]
    assert set(email_rows.name) == {"baseline"} and email_rows["diff"].isna().all()
    assert json.loads((out / "experiment.json").read_text())["status"] == "complete"


def test_compare_shows_a_metric_the_baseline_lacks(tmp_path: Path) -> None:
    # erlang_a_check has no async channel, hence no response_within_target: the metric asked
    # for by name was dropped from the table without a word; now the baseline shows "–".
    out = tmp_path / "cmp"
    result = invoke("compare", ERLANG_A, BASELINE, "-m", "response_within_target", "--set", "horizon=1d",
                    "--set", "warmup=0", "--reps", 2, "-w", 1, "--out", out, "--no-report")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith("response_within_target@all "))
    cells = row.split()
    assert cells[1] == "–" and cells[-1] == "–" and float(cells[2]) > 0, row
    assert "–: not measured in that scenario; what the baseline erlang-a-check lacks" in result.stdout
    cmp = pd.read_csv(out / "comparison.csv")
    assert cmp[(cmp.metric == "response_within_target") & (cmp.channel == "all")].name.tolist() == ["baseline"]
    same = invoke("compare", ERLANG_A, ERLANG_A, *SHORT, "--reps", 2, "-w", 1, "--out", tmp_path / "same",
                  "--no-report")
    assert same.exit_code == 0 and "not measured" not in same.stdout, same.output


def test_compare_needs_two_scenarios_and_valid_metric(tmp_path: Path) -> None:
    assert_usage_error(invoke("compare", ERLANG_A, "--out", tmp_path / "x"), "SCENARIOS")
    assert_usage_error(invoke("compare", ERLANG_A, ERLANG_A, "-m", "Service Level", "--out", tmp_path / "x"),
                       "--metric")
    line = assert_one_error_line(invoke("compare", ERLANG_A, tmp_path / "missing.yaml", "--out", tmp_path / "x"))
    assert "missing.yaml" in line
    assert not (tmp_path / "x").exists()


# =========================================================================== sweep
def test_sweep_grid_of_two_varies(tmp_path: Path) -> None:
    out = tmp_path / "grid"
    result = invoke("sweep", ERLANG_A, *SHORT, "--vary", "agents.team.staffing=8:12:2",
                    "--vary", "channels.phone.service_level_threshold=10s,20s,30s",
                    "--reps", 2, "-w", 1, "--out", out, "--no-report")
    assert result.exit_code == 0, result.output
    assert "9 points, 18 replications run, 0 reused" in result.stdout
    points = pd.read_csv(out / "points.csv")
    staff, thr = "agents.team.staffing", "channels.phone.service_level_threshold"
    assert list(points.columns[:4]) == ["variant", "name", staff, thr]
    assert list(zip(points[staff], points[thr])) == [(s, t) for s in (8, 10, 12) for t in ("10s", "20s", "30s")]
    assert points[staff].dtype.kind == "i"
    assert {"meets_targets", "cheapest"} <= set(points.columns)
    assert len(stored_reps(out)) == 18
    # Every point ran the scenario its parameters say.
    manifest = json.loads((out / "experiment.json").read_text())
    assert manifest["kind"] == "sweep"
    for key, v in manifest["variants"].items():
        assert v["scenario"]["agents"]["team"]["staffing"] == v["params"][staff]
        assert v["scenario"]["channels"]["phone"]["service_level_threshold"] == v["params"][thr]
        assert v["scenario"]["horizon"] == "2d"
        assert (out / "runs" / key).is_dir()
    # Common random numbers: the SL threshold does not change what happens, only how it is
    # counted, so points with the same staffing have exactly the same abandonment ...
    for _, group in points.groupby(staff):
        assert group["abandon_rate@all"].nunique() == 1
        # ... and a longer threshold counts more calls as answered in time.
        assert group["service_level@all"].is_monotonic_increasing
    by_staff = points.groupby(staff)["abandon_rate@all"].first()
    assert by_staff.is_monotonic_decreasing


@pytest.mark.parametrize("vary", [
    "agents.team.staffing", "agents.team.staffing=", "=8:10", "agents.team.staffing=12:8",
    "agents.team.staffing=8:12:0", "agents.team.staffing=8:12:-2",
])
def test_sweep_bad_vary_is_a_usage_error(tmp_path: Path, vary: str) -> None:
    result = invoke("sweep", ERLANG_A, "--vary", vary, "--reps", 2, "-w", 1, "--out", tmp_path / "x")
    line = assert_one_error_line(result)  # one line about the option (issue 11, class 7)
    assert line.startswith(f"error: --vary '{vary}'"), line
    assert not (tmp_path / "x").exists()


# Found by fuzzing: --vary seed=1,2 ran two identical points (every point runs on the root
# seed), and a varied replications was ignored. Both are experiment-wide: refused.
@pytest.mark.parametrize("vary, instead", [("seed=1,2", "--seed"), ("replications=2:4", "--reps")])
def test_sweep_refuses_to_vary_seed_and_replications(tmp_path: Path, vary: str, instead: str) -> None:
    result = invoke("sweep", ERLANG_A, *SHORT, "--vary", vary, "--reps", 2, "-w", 1, "--out", tmp_path / "x")
    line = assert_one_error_line(result)
    assert line.startswith(f"error: --vary: {vary.split('=')[0]} = ["), line
    assert instead in line, line
    assert not (tmp_path / "x").exists()


# Found by fuzzing: a repeated value made two points with one result folder (ValueError from
# paired_differences after experiment.json and runs/ were written). Refused before running.
@pytest.mark.parametrize("vary", ["agents.team.staffing=9,9", "channels.phone.service_level_threshold=1min,60s"])
def test_sweep_refuses_repeated_points(tmp_path: Path, vary: str) -> None:
    result = invoke("sweep", ERLANG_A, *SHORT, "--vary", vary, "--reps", 2, "-w", 1, "--out", tmp_path / "x")
    line = assert_one_error_line(result)
    assert line.startswith(f"error: --vary: {vary.split('=')[0]} = ["), line
    assert "give the same scenario" in line and "list each value once" in line, line
    assert not (tmp_path / "x").exists()


def test_sweep_needs_a_vary(tmp_path: Path) -> None:
    result = invoke("sweep", ERLANG_A, "--reps", 2, "--out", tmp_path / "x")
    assert result.exit_code == 2 and "--vary" in result.stderr


@pytest.mark.parametrize("vary, override", [
    ("agents.team.staffing=-1,9", "--vary agents.team.staffing=-1"),
    ("agents.team.staffing=9:10:0.5", "--vary agents.team.staffing=9.5"),
    ("channels.phone.patience.mean=90s,soon", "--vary channels.phone.patience.mean=soon"),
])
def test_sweep_invalid_point_names_the_override(tmp_path: Path, vary: str, override: str) -> None:
    result = invoke("sweep", ERLANG_A, *SHORT, "--vary", vary, "--reps", 2, "-w", 1, "--out", tmp_path / "x")
    line = assert_one_error_line(result)
    assert override in line, line
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("command, option, value", [
    ("sweep", "--target", "service_level >= 0.8 on fax"),
    ("sweep", "--metric", "service_level@fax"),
    ("sweep", "--precision-metric", "service_level@fax"),
    ("compare", "--metric", "asa_s@fax"),
])
def test_unknown_channel_is_an_error_before_running(tmp_path: Path, command: str, option: str,
                                                    value: str) -> None:
    first = ("--vary", "agents.team.staffing=9,10") if command == "sweep" else (ERLANG_A,)
    extra = ("--precision", 0.01) if option == "--precision-metric" else ()
    result = invoke(command, ERLANG_A, *first, option, value, *extra, "--reps", 2, "-w", 1,
                    "--out", tmp_path / "x")
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "fax" in result.stderr
    assert not (tmp_path / "x").exists()


# Found by fuzzing: a service level target of 2 was accepted. One error naming the option, the
# target text, the value and the range, before anything runs (experiment files: same parser).
def test_sweep_target_out_of_the_metrics_range(tmp_path: Path) -> None:
    result = invoke("sweep", ERLANG_A, *SHORT, "--vary", "agents.team.staffing=9,10", "--reps", 2, "-w", 1,
                    "--target", "service_level@phone >= 2", "--out", tmp_path / "x")
    assert_usage_error(result, "--target")
    assert ("'service_level@phone >= 2': service_level is a share between 0 and 1, got 2"
            in result.stderr), result.stderr
    assert not (tmp_path / "x").exists()
    spec = write_experiment(tmp_path / "e.yaml", {"name": "x", "scenarios": {"a": str(ERLANG_A)},
                                                  "targets": ["asa_s <= -5 on phone"]})
    line = assert_one_error_line(invoke("experiment", spec, "-w", 1, "--out", tmp_path / "x"))
    assert line.endswith("'asa_s <= -5 on phone': asa_s is a time in seconds, 0 or more, got -5"), line
    assert not (tmp_path / "x").exists()


def test_sweep_bad_target_and_metric(tmp_path: Path) -> None:
    for option, value in (("--target", "service_level > 0.8"), ("--metric", "Service Level")):
        result = invoke("sweep", ERLANG_A, "--vary", "agents.team.staffing=9,10", option, value,
                        "--out", tmp_path / "x")
        assert result.exit_code == 2, result.output
        assert isinstance(result.exception, SystemExit)
        assert "is not a" in result.stderr
    assert not (tmp_path / "x").exists()


# =========================================================================== resume after kill / Ctrl-C
KILL_ARGS = ("sweep", str(ERLANG_A), "--set", "horizon=6d", "--set", "warmup=1d",
             "--vary", "agents.team.staffing=8:11", "--reps", "8", "--no-report", "-w", "2")
KILL_TOTAL = 4 * 8


def start(args: tuple[str, ...], out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*simsvc_command(), *args, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True, cwd=out.parent,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for_reps(proc: subprocess.Popen, out: Path, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(stored_reps(out)) < at_least:
        if proc.poll() is not None:
            pytest.fail(f"finished before it could be stopped: {proc.communicate()}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("no replications stored in time")
        time.sleep(0.02)


def run_to_end(args: tuple[str, ...], out: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([*simsvc_command(), *args, "--out", str(out)], capture_output=True, text=True,
                          cwd=out.parent, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def test_resume_after_hard_kill(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    proc = start(KILL_ARGS, out)
    try:
        wait_for_reps(proc, out, 4)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    kept = len(stored_reps(out))
    assert 4 <= kept < KILL_TOTAL
    # What a kill in the middle of writing a replication leaves behind.
    key = sorted((out / "runs").iterdir())[0]
    (key / ".rep-00007.abcd.tmp").write_bytes(b"PAR1 half written")

    resumed = run_to_end(KILL_ARGS, out)
    assert counts(resumed.stdout) == (KILL_TOTAL - kept, kept)
    assert not list(out.rglob(".rep-*.tmp"))
    assert len(stored_reps(out)) == KILL_TOTAL

    fresh = run_to_end(KILL_ARGS, tmp_path / "fresh")
    assert counts(fresh.stdout) == (KILL_TOTAL, 0)
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name
    assert json.loads((out / "experiment.json").read_text())["status"] == "complete"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_exits_130_and_keeps_replications(tmp_path: Path, workers: str) -> None:
    out = tmp_path / "interrupted"
    args = (*KILL_ARGS[:-1], workers)
    proc = start(args, out)
    stdout, stderr = interrupt(proc, lambda: wait_for_reps(proc, out, 3))
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr, stderr
    assert "Traceback" not in stdout
    message = [line for line in stderr.splitlines() if line.startswith("interrupted")]
    assert len(message) == 1, stderr
    m = re.fullmatch(r"interrupted: (\d+) replications are stored in (.+); run the same command again to "
                     r"resume\.", message[0])
    assert m, message[0]
    assert Path(m.group(2)) == out
    kept = stored_reps(out)
    assert int(m.group(1)) == len(kept) >= 3
    assert not list(out.rglob(".rep-*.tmp"))
    for p in kept:  # every stored replication is a complete table
        frame = pd.read_parquet(p)
        assert list(frame.columns) == ["replication", "channel", "metric", "value"]
        assert (frame.replication == int(p.stem.split("-")[1])).all()
    assert not (out / "summary.csv").exists()
    assert json.loads((out / "experiment.json").read_text())["status"] == "running"


# =========================================================================== experiment files
def short_copy(source: Path, tmp_path: Path, **changes) -> Path:
    """A shipped experiment file with absolute scenario paths and a 2-day horizon."""
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["scenarios"] = {
        name: {"path": str((source.parent / (entry if isinstance(entry, str) else entry["path"])).resolve()),
               "set": ["horizon=2d", "warmup=1d"]}
        for name, entry in data["scenarios"].items()}
    data.update(changes)
    return write_experiment(tmp_path / source.name, data)


def check_points(points: pd.DataFrame, targets: list[Target], cost: str, by_mean: bool = False) -> None:
    """target_status, meets_targets and cheapest agree with the means and CIs in the table."""
    for _, p in points.iterrows():
        statuses = [t.status(p[str(t.ref)], p[str(t.ref) + "_ci_low"], p[str(t.ref) + "_ci_high"])
                    for t in targets]
        if by_mean:
            assert bool(p.meets_targets) == all(t.met(p[str(t.ref)]) for t in targets), p
        else:
            assert bool(p.meets_targets) == all(s == "met" for s in statuses), p
        expected = "met" if all(s == "met" for s in statuses) else (
            "not met" if "not met" in statuses else "uncertain")
        assert p.target_status == expected, p
    feasible = points[points.meets_targets]
    if feasible.empty or (feasible[cost] == feasible[cost].min()).sum() > 1:
        assert not points.cheapest.any()
    else:
        assert points.cheapest.sum() == 1
        assert points.loc[points.cheapest, cost].iloc[0] == feasible[cost].min()


def test_staffing_comparison_experiment(tmp_path: Path) -> None:
    spec = short_copy(EXPERIMENTS / "staffing_comparison.yaml", tmp_path)
    out = tmp_path / "out"
    result = invoke("experiment", spec, "--reps", 2, "-w", 1, "--out", out, "--no-report")
    assert result.exit_code == 0, result.output
    assert "3 points, 6 replications run, 0 reused" in result.stdout
    design = load_experiment(spec)
    points = pd.read_csv(out / "points.csv")
    assert list(points.name) == ["baseline", "morning_boost", "wider_retry"]
    assert {"meets_targets", "cheapest", "service_level@phone", "abandon_rate@phone",
            "agent_cost@all"} <= set(points.columns)
    check_points(points, design.targets, "agent_cost@all")
    # The morning boost pays for 8 more part-timers; spreading retries costs nothing.
    cost = points.set_index("name")["agent_cost@all"]
    assert cost["morning_boost"] > cost["baseline"] == cost["wider_retry"]
    if points.cheapest.any():
        assert f"cheapest point meeting {', '.join(map(str, design.targets))} (with 95 % confidence): " \
               f"{points.loc[points.cheapest, 'name'].iloc[0]}" in result.stdout
    manifest = json.loads((out / "experiment.json").read_text())
    assert manifest["name"] == "staffing-comparison" and manifest["seed"] == 2026
    # When complete, "replications" is what each variant ran.
    assert manifest["replications_per_variant"] == {key: 2 for key in points.variant}


@pytest.fixture(scope="module")
def staffing_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    """Baseline over 2 days with 0, 10 and 30 morning part-timers (30 is the shipped value)."""
    tmp = tmp_path_factory.mktemp("sweep-exp")
    spec = write_experiment(tmp / "sweep.yaml", {
        "name": "morning-part-timers",
        "scenarios": {"baseline": {"path": str(BASELINE), "set": ["horizon=2d", "warmup=1d"]}},
        "sweep": {"vary": {"agents.generalists.staffing.shifts.1.agents": [0, 10, 30]}},
        "replications": 2, "seed": 2026,
        "metrics": ["service_level@phone", "abandon_rate@phone"],
        "targets": ["service_level >= 0.7 on phone", "abandon_rate@phone <= 0.08"],
    })
    # Two replications give wide CIs: pick by the means here (the default, by confidence, is
    # checked in test_experiment_by_confidence_with_few_replications).
    result = invoke("experiment", spec, "-w", 1, "--out", tmp / "out", "--by-mean")
    assert result.exit_code == 0, result.output
    return tmp, result


def test_experiment_sweep_cheapest_feasible_point(staffing_sweep: tuple[Path, Result]) -> None:
    tmp, result = staffing_sweep
    points = pd.read_csv(tmp / "out" / "points.csv")
    param = "agents.generalists.staffing.shifts.1.agents"
    assert list(points[param]) == [0, 10, 30]
    assert points["agent_cost@all"].is_monotonic_increasing
    design = load_experiment(tmp / "sweep.yaml")
    check_points(points, design.targets, "agent_cost@all", by_mean=True)
    # Without the 30 morning part-timers the phone line misses its targets; the shipped
    # staffing meets them.
    assert not points.meets_targets.iloc[0]
    assert points.meets_targets.iloc[-1]
    cheapest = points[points.cheapest]
    assert len(cheapest) == 1
    assert "cheapest point meeting" in result.stdout and cheapest.name.iloc[0] in result.stdout
    assert "(by their means)" in result.stdout and "(cheapest)" in result.stdout
    assert json.loads((tmp / "out" / "experiment.json").read_text())["cheapest_by"] == "mean"


def test_experiment_by_confidence_with_few_replications(staffing_sweep: tuple[Path, Result]) -> None:
    tmp, by_mean = staffing_sweep
    # The same stored replications, judged by confidence (the default): with two replications
    # a point near its target is uncertain, and only points met with confidence can be cheapest.
    result = invoke("experiment", tmp / "sweep.yaml", "-w", 1, "--out", tmp / "out", "--no-report")
    assert result.exit_code == 0, result.output
    assert counts(result.stdout) == (0, 6)
    points = pd.read_csv(tmp / "out" / "points.csv")
    check_points(points, load_experiment(tmp / "sweep.yaml").targets, "agent_cost@all")
    assert set(points.target_status) <= {"met", "not met", "uncertain"}
    assert "(with 95 % confidence)" in result.stdout


def test_experiment_no_feasible_point(staffing_sweep: tuple[Path, Result]) -> None:
    tmp, _ = staffing_sweep
    data = yaml.safe_load((tmp / "sweep.yaml").read_text())
    data["targets"] = ["service_level >= 0.999 on phone"]
    spec = write_experiment(tmp / "impossible.yaml", data)
    # Targets are not part of the variants: the stored replications are reused.
    result = invoke("experiment", spec, "-w", 1, "--out", tmp / "out", "--no-report")
    assert result.exit_code == 0, result.output
    assert counts(result.stdout) == (0, 6)
    points = pd.read_csv(tmp / "out" / "points.csv")
    assert not points.meets_targets.any() and not points.cheapest.any()
    assert "no point meets service_level@phone >= 0.999 (with 95 % confidence)" in result.stdout
    assert "cheapest point" not in result.stdout


# Found while writing these tests (the table had no name column with a sweep); fixed.
def test_experiment_table_identifies_scenarios(tmp_path: Path) -> None:
    spec = write_experiment(tmp_path / "two.yaml", {
        "name": "two-by-two",
        "scenarios": {"nine": {"path": str(ERLANG_A), "set": ["horizon=2d", "warmup=1d"]},
                      "slow": {"path": str(ERLANG_A),
                               "set": ["horizon=2d", "warmup=1d", "handling.phone.mean=5min"]}},
        "sweep": {"vary": {"channels.phone.service_level_threshold": ["10s", "30s"]}},
        "replications": 2,
    })
    result = invoke("experiment", spec, "-w", 1, "--out", tmp_path / "out", "--no-report")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines()[2:]
            if " points, " not in line and not line.startswith(("report: ", "seed "))]
    assert len(rows) == 4, result.stdout
    assert sum("nine" in r for r in rows) == 2 and sum("slow" in r for r in rows) == 2


@pytest.mark.parametrize("body, needle", [
    ("name: x\nscenarios: {a: SCEN}\ncolour: red\n", "colour"),
    ("name: x\nscenarios: {a: SCEN}\ntargets: ['service_level > 0.8 on phone']\n", "is not a target"),
    ("name: x\nscenarios: {a: SCEN}\ntargets: ['service_level >= lots']\n", "is not a target"),
    ("name: x\nscenarios: {a: no-such-scenario.yaml}\n", "no-such-scenario.yaml"),
    ("name: x\nscenarios: {a: SCEN}\nsweep: {vary: {agents.team.staffing: [-1]}}\n", "agents.team.staffing=-1"),
    ("just text\n", "(top level)"),
    ("name: x\nscenarios: {a: SCEN}\nsweep: {vary: {agents.team.staffing: []}}\n",
     "sweep.vary.agents.team.staffing = []: expected at least one value"),
    ("name: x\nscenarios: {a: SCEN}\nsweep: {vary: {seed: [1, 2]}}\n", "sweep.vary: seed = [1, 2]"),
    ("name: x\nscenarios: {a: SCEN}\nsweep: {vary: {replications: [2, 3]}}\n", "sweep.vary: replications"),
    ("name: x\nscenarios: {a: SCEN}\nsweep: {vary: {agents.team.staffing: [9, 9]}}\n",
     "give the same scenario"),
], ids=["unknown-key", "bad-op", "bad-value", "missing-scenario", "invalid-point", "not-a-mapping",
        "empty-values", "vary-seed", "vary-replications", "repeated-value"])
def test_bad_experiment_file_one_error_line(tmp_path: Path, body: str, needle: str) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(body.replace("SCEN", str(ERLANG_A)), encoding="utf-8")
    line = assert_one_error_line(invoke("experiment", spec, "-w", 1, "--out", tmp_path / "out"))
    assert needle in line, line
    assert not (tmp_path / "out").exists()
    line = assert_one_error_line(invoke("experiment", tmp_path / "none.yaml", "--out", tmp_path / "out"))
    assert "none.yaml" in line


# Found by fuzzing: `set: [seed=7]` (or replications=5) on a scenario of an experiment file was
# accepted and ignored (every scenario runs on the experiment's root seed and replications; the
# run printed three identical rows for seeds 11, 7 and 99). Refused before anything runs, on
# the first scenario too (its set would apply to all of them, not to it alone).
@pytest.mark.parametrize("which, text, instead", [
    ("b", "seed=7", "seed: (or --seed)"),
    ("b", "replications = 5", "replications: (or --reps"),
    ("a", "seed=7", "seed: (or --seed)"),
])
def test_experiment_file_refuses_a_scenarios_own_seed_or_replications(tmp_path: Path, which: str, text: str,
                                                                       instead: str) -> None:
    entry = {"path": str(ERLANG_A), "set": ["horizon=2d", "warmup=1d"]}
    scenarios = {"a": dict(entry), "b": dict(entry, set=[*entry["set"], "agents.team.staffing=12"])}
    scenarios[which]["set"] = [*scenarios[which]["set"], text]
    spec = write_experiment(tmp_path / "e.yaml", {"name": "x", "scenarios": scenarios, "replications": 2})
    line = assert_one_error_line(invoke("experiment", spec, "-w", 1, "--out", tmp_path / "out"))
    key = text.split("=")[0].strip()
    assert line.startswith(f"error: {spec}: scenarios.{which}.set = '{text}': expected a scenario "
                           f"parameter, not {key}: "), line
    assert instead in line and "one scenario cannot have its own" in line, line
    assert not (tmp_path / "out").exists()


# Found while writing these tests (ValueError traceback, exit 1); fixed.
@pytest.mark.parametrize("body", [
    "name: x\nscenarios: {a: SCEN}\ncost_metric: Agent Cost\n",
    "name: x\nscenarios: {a: {path: SCEN, set: [horizon=2d]}}\nreplications: 2\n"
    "precision: {half_width: 0.01, metrics: ['bad metric']}\n",
], ids=["cost-metric", "precision-metric"])
def test_bad_metric_in_experiment_file_one_error_line(tmp_path: Path, body: str) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(body.replace("SCEN", str(ERLANG_A)), encoding="utf-8")
    assert_one_error_line(invoke("experiment", spec, "-w", 1, "--out", tmp_path / "out"))


# =========================================================================== precision
PRECISION_ARGS = ("sweep", ERLANG_A, "--set", "horizon=3d", "--set", "warmup=1d",
                  "--vary", "agents.team.staffing=9,12", "--reps", 3, "-w", 1,
                  "--precision", 0.02, "--precision-metric", "service_level@phone", "--max-reps", 30,
                  "--no-report")


@pytest.fixture(scope="module")
def precision_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result, dict, Result]:
    out = tmp_path_factory.mktemp("precision") / "out"
    first = invoke(*PRECISION_ARGS, "--out", out)
    assert first.exit_code == 0, first.output
    files = {name: (out / name).read_bytes() for name in OUTPUTS}
    again = invoke(*PRECISION_ARGS, "--out", out)
    assert again.exit_code == 0, again.output
    return out, first, files, again


def test_precision_adds_replications_until_half_width(precision_runs) -> None:
    out, first, _, _ = precision_runs
    summary = pd.read_csv(out / "summary.csv")
    sl = summary[(summary.metric == "service_level") & (summary.channel == "phone")]
    assert len(sl) == 2
    for _, r in sl.iterrows():
        assert 3 < r.reps <= 30
        assert (r.ci_high - r.ci_low) / 2 <= 0.02 + 1e-6 or r.reps == 30, r
    reps = json.loads((out / "experiment.json").read_text())["replications_per_variant"]
    assert sorted(reps.values()) == sorted(sl.reps)
    for key, n in reps.items():
        assert sorted(int(p.stem.split("-")[1]) for p in (out / "runs" / key).glob("rep-*.parquet")) \
            == list(range(n))
    assert counts(first.stdout) == (int(sl.reps.sum()), 0)


def test_precision_rerun_is_identical_and_runs_nothing(precision_runs) -> None:
    out, _, files, again = precision_runs
    ran, _ = counts(again.stdout)
    assert ran == 0
    for name in OUTPUTS:
        assert (out / name).read_bytes() == files[name], name


# Found while writing these tests (only the initial --reps were counted); fixed.
def test_precision_rerun_reports_all_reused(precision_runs) -> None:
    out, _, _, again = precision_runs
    total = sum(json.loads((out / "experiment.json").read_text())["replications_per_variant"].values())
    assert counts(again.stdout) == (0, total)


def test_precision_never_exceeds_the_cap(tmp_path: Path) -> None:
    result = invoke("sweep", ERLANG_A, *SHORT, "--vary", "agents.team.staffing=9,12", "--reps", 2, "-w", 1,
                    "--precision", 0.0001, "--precision-metric", "service_level@phone",
                    "--precision-metric", "asa_s@phone", "--max-reps", 5, "--out", tmp_path / "cap",
                    "--no-report")
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(tmp_path / "cap" / "summary.csv")
    assert set(summary.reps) == {5}
    assert counts(result.stdout) == (10, 0)
    assert len(stored_reps(tmp_path / "cap")) == 10


# Found while writing these tests (OverflowError / ValueError tracebacks); fixed.
@pytest.mark.parametrize("metric", ["servce_level@phone", "Service Level"])
def test_precision_bad_metric_is_a_clear_error(tmp_path: Path, metric: str) -> None:
    result = invoke("sweep", ERLANG_A, *SHORT, "--vary", "agents.team.staffing=9,10", "--reps", 2, "-w", 1,
                    "--precision", 0.01, "--precision-metric", metric, "--out", tmp_path / "x")
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and metric.split("@")[0] in result.stderr
    assert not (tmp_path / "x").exists()


# =========================================================================== dask address
# Found while writing these tests (OSError traceback); fixed.
def test_unreachable_dask_address_is_a_clear_error(tmp_path: Path) -> None:
    # A real process: dask logs to the process's stderr, which CliRunner would not see. The
    # connect timeout (10 s unless dask's config says otherwise) is set to 1 s through
    # dask's own environment variable: nothing listens on port 9, the wait is only idle time.
    cli = "from simsvc.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", cli, "sweep", str(ERLANG_A), *SHORT, "--vary",
                           "agents.team.staffing=9,10", "--reps", "2", "--dask", "tcp://127.0.0.1:9",
                           "--out", str(tmp_path / "x")], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"})
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "127.0.0.1:9" in lines[0]


# =========================================================================== results
@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("results") / "run"
    result = invoke("run", ERLANG_A, *SHORT, "--reps", 2, "-w", 1, "--out", out, "--no-report")
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("kind", ["run", "experiment"])
def test_results_in_three_formats(kind: str, run_folder: Path, staffing_sweep) -> None:
    folder = run_folder if kind == "run" else staffing_sweep[0] / "out"
    table = pd.read_csv(folder / ("summary.csv" if kind == "run" else "points.csv"))

    as_json = invoke("results", folder, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["kind"] == kind
    assert data["name"] == ("erlang-a-check" if kind == "run" else "morning-part-timers")
    assert len(data["summary"]) == len(table)
    assert list(data["summary"][0]) == list(table.columns)
    paths = {f["path"] for f in data["files"]}
    assert {"summary.csv"} <= paths and all(f["bytes"] > 0 for f in data["files"])
    assert data["stored_replications"] == (0 if kind == "run" else 6)

    as_csv = invoke("results", folder, "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    from io import StringIO

    pd.testing.assert_frame_equal(pd.read_csv(StringIO(as_csv.stdout)), table)

    for args in (("--format", "markdown"), ()):
        md = invoke("results", folder, *args)
        assert md.exit_code == 0, md.output
        lines = md.stdout.splitlines()
        assert lines[0].startswith("# ") and f"({kind})" in lines[0]
        # A readable table: runs as metrics × channels, experiments one row per point, each
        # metric as "mean ±half-width" (no raw floats, no separate CI columns).
        if kind == "run":
            columns = ["metric", *dict.fromkeys(table["channel"])]
            rows = len(set(table["metric"]))
        else:
            columns = [c for c in table.columns if not c.endswith(("_ci_low", "_ci_high")) and c != "variant"]
            columns = [c + " %" if c.split("@")[0] in ("service_level", "abandon_rate") else c for c in columns]
            rows = len(table)
        header = lines.index("| " + " | ".join(columns) + " |")
        assert re.fullmatch(r"\|(---\|)+", lines[header + 1])
        body = [x for x in lines[header + 2:] if x.startswith("| ")]
        assert len(body) == rows
        assert all("e+" not in x and "e-0" not in x for x in body)
        assert "±" in body[0] or kind == "run"
        assert "- summary.csv (" in md.stdout


def test_results_on_a_folder_without_results(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for folder, needle in ((tmp_path / "empty", "neither a run"), (tmp_path / "nowhere", "not a folder")):
        for fmt in ("csv", "json", "markdown"):
            line = assert_one_error_line(invoke("results", folder, "--format", fmt))
            assert needle in line


@pytest.mark.parametrize("flag", [[], ["--no-report"]], ids=["default", "no-report"])
def test_compare_writes_the_report_unless_asked_not_to(tmp_path: Path, flag: list[str]) -> None:
    out = tmp_path / "out"
    result = invoke("compare", ERLANG_A, ERLANG_A, "--set", "horizon=2d", "--reps", 2, "-w", 1,
                    "--out", out, *flag)
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file() == (not flag)
    assert (out / "plots").is_dir() == (not flag)
