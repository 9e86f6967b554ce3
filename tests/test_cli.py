"""``simsvc check`` and ``simsvc run`` driven through click's CliRunner.

Each command runs in a fresh temporary cwd or with --out in tmp_path.
Runs are kept short (2-3 simulated days, 2 replications) so the whole file takes seconds.
Runs pass ``--no-report`` unless the test looks at the report's files (``erlang_run``):
drawing the plots was most of their time (tests/test_report.py checks the report itself).
The table of bad ``--set`` inputs is shared with ``test_config.py``
(``tests/data/bad_inputs.yaml``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result

from cli_helpers import assert_one_error_line
from simsvc.cli import main
from simsvc.config import load_scenario, scenario_hash

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
ERLANG_A = ROOT / "scenarios" / "erlang_a_check.yaml"
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SHORT = ["--set", "horizon=2d", "--set", "warmup=1d"]
RESULT_FILES = {"contacts.parquet", "intervals.parquet", "pools.parquet", "issues.parquet", "summary.csv",
                "replications.csv", "daily.csv", "manifest.json", "scenario.yaml", "report.html", "plots"}


def invoke(*args: object) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def shown(value: object) -> str:
    """How ScenarioError prints a value (strings quoted, everything else as JSON)."""
    return repr(value) if isinstance(value, str) else json.dumps(value)


def bad_input_cases() -> list[Any]:
    cases = yaml.safe_load((DATA / "bad_inputs.yaml").read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["id"],
                         marks=[pytest.mark.xfail(reason=f"BUG: {case['bug']}", strict=True)]
                         if case.get("bug") else [])
            for case in cases]


def tree(path: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every entry under ``path`` (hidden ones included) with size, mtime and content."""
    out = {}
    for p in sorted(path.rglob("*")):
        st = p.stat()
        out[str(p.relative_to(path))] = (st.st_size, st.st_mtime_ns,
                                         p.read_bytes() if p.is_file() else b"")
    return out


# =========================================================================== check
def test_check_baseline_prints_resolved_yaml_that_loads_again(tmp_path: Path) -> None:
    result = invoke("check", BASELINE)
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    expected = load_scenario(BASELINE)
    assert first == f"# {BASELINE}: valid; hash {scenario_hash(expected)[:16]}"
    resolved = tmp_path / "resolved.yaml"
    resolved.write_text(result.stdout, encoding="utf-8")
    again = load_scenario(resolved)
    assert again == expected
    assert scenario_hash(again) == scenario_hash(expected)
    # checking the printout prints the same scenario again
    second = invoke("check", resolved)
    assert second.exit_code == 0
    assert second.stdout.split("\n", 1)[1] == result.stdout.split("\n", 1)[1]


def test_check_fills_defaults_and_merges_extends(tmp_path: Path) -> None:
    child = tmp_path / "child.yaml"
    child.write_text(f"extends: {ERLANG_A}\nname: child\nagents: {{team: {{staffing: 11}}}}\n",
                     encoding="utf-8")
    result = invoke("check", child)
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.stdout)
    assert "extends" not in data
    assert data["name"] == "child"
    assert data["agents"]["team"]["skills"] == ["phone"]  # inherited
    assert data["agents"]["team"]["staffing"] == 11  # overridden
    assert data["interval"] == "15min" and data["replications"] == 10  # defaults shown
    assert data["demand"]["phone"]["rate"] == "150/h"
    assert data["channels"]["phone"]["patience"] == {"dist": "exponential", "mean": "90s"}


def test_check_with_set_shows_the_override() -> None:
    plain = invoke("check", ERLANG_A)
    result = invoke("check", ERLANG_A, "--set", "agents.team.staffing=12", "--set", "horizon=3d",
                    "--set", "channels.phone.patience.mean=2min", "--set", "agents.team.skills=[phone]")
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.stdout)
    assert data["agents"]["team"]["staffing"] == 12
    assert data["horizon"] == "3d"
    assert data["channels"]["phone"]["patience"]["mean"] == "2min"
    assert yaml.safe_load(plain.stdout)["agents"]["team"]["staffing"] == 9
    assert plain.stdout.splitlines()[0] != result.stdout.splitlines()[0]  # the hash changed


def test_check_quiet_prints_nothing() -> None:
    # Nothing on stdout; the Erlang-A file (10 Erlangs on 9 agents) still gets its capacity warning.
    result = invoke("check", "--quiet", ERLANG_A)
    assert result.exit_code == 0 and result.stdout == ""
    assert result.stderr.startswith("warning: phone: offered load exceeds")
    quiet = invoke("check", "--quiet", ERLANG_A, "--set", "agents.team.staffing=12")
    assert quiet.exit_code == 0 and quiet.output == ""


# =========================================================================== run
@pytest.fixture(scope="module")
def erlang_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    out = tmp_path_factory.mktemp("erlang") / "out"
    result = invoke("run", ERLANG_A, "--reps", 2, "--workers", 1, "--out", out,
                    "--set", "horizon=3d", "--set", "warmup=1d")
    return result, out


def test_run_exits_0_and_prints_a_per_channel_table(erlang_run: tuple[Result, Path]) -> None:
    result, out = erlang_run
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = lines[0].split()
    assert header[0] == "channel"
    for column in ("offered", "answered", "abandon", "SL", "ASA", "AHT", "occ", "FCR"):
        assert column in lines[0]
    assert set(lines[1]) <= {"-", " "}
    rows = {line.split()[0] for line in lines[2:] if line.strip() and not line.startswith(" ")}
    assert {"phone", "all"} <= rows
    assert "2 replications, seed 11" in result.stdout
    assert f"results: {out}" in result.stdout


def test_run_writes_the_results_folder(erlang_run: tuple[Result, Path]) -> None:
    result, out = erlang_run
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == RESULT_FILES
    assert [p.name for p in out.parent.iterdir()] == ["out"], "a temporary folder was left behind"

    summary_text = (out / "summary.csv").read_text(encoding="utf-8")
    assert summary_text.splitlines()[0] == "channel,metric,mean,ci_low,ci_high,reps"
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["channel"]) == {"phone", "all"}
    assert (summary["reps"] == 2).all()
    assert {"offered", "answered", "abandon_rate", "service_level"} <= set(summary["metric"])

    reps = pd.read_csv(out / "replications.csv")
    assert sorted(reps["replication"].unique()) == [0, 1]

    contacts = pd.read_parquet(out / "contacts.parquet")
    assert len(contacts) > 0
    assert len(pd.read_parquet(out / "intervals.parquet")) > 0
    assert len(pd.read_parquet(out / "pools.parquet")) > 0


def test_run_manifest_and_scenario_reproduce_the_run(erlang_run: tuple[Result, Path]) -> None:
    result, out = erlang_run
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    expected = load_scenario(ERLANG_A, ["horizon=3d", "warmup=1d"])
    assert manifest["scenario_hash"] == scenario_hash(expected)
    assert manifest["root_seed"] == 11  # the scenario's seed
    assert manifest["replications"] == 2
    deps = manifest["dependencies"]
    for pkg in ("simpy", "numpy", "pandas", "pyarrow", "scipy", "pydantic", "PyYAML", "click"):
        assert isinstance(deps.get(pkg), str) and deps[pkg][0].isdigit(), pkg
    assert manifest["simsvc_version"]
    written = load_scenario(out / "scenario.yaml")
    assert written == expected
    assert scenario_hash(written) == manifest["scenario_hash"]


def test_run_csv_scenario(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", DATA / "csv_scenario.yaml", "--workers", 1, "--out", out, "--no-report")
    assert result.exit_code == 0, result.output
    assert (out / "summary.csv").is_file()
    assert "2 replications, seed 3" in result.stdout


def test_run_without_out_writes_under_results(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("run", ERLANG_A, "--reps", 1, "--no-contacts", "--no-report", *SHORT)
    assert result.exit_code == 0, result.output
    runs = list((tmp_path / "results" / "erlang-a-check").iterdir())
    assert len(runs) == 1
    assert {p.name for p in runs[0].iterdir()} == RESULT_FILES - {"contacts.parquet", "issues.parquet",
                                                                  "report.html", "plots"}


# --------------------------------------------------------------------------- reproducibility
@pytest.fixture(scope="module")
def seeded_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("seeded") / "a"
    result = invoke("run", BASELINE, "--reps", 2, "--workers", 1, "--seed", 4242, "--out", out,
                    "--no-contacts", "--no-report", *SHORT)
    assert result.exit_code == 0, result.output
    return out


def test_same_seed_twice_gives_identical_summary(seeded_run: Path, tmp_path: Path) -> None:
    again = tmp_path / "b"
    result = invoke("run", BASELINE, "--reps", 2, "--workers", 1, "--seed", 4242, "--out", again,
                    "--no-contacts", "--no-report", *SHORT)
    assert result.exit_code == 0, result.output
    assert (again / "summary.csv").read_bytes() == (seeded_run / "summary.csv").read_bytes()
    assert (again / "replications.csv").read_bytes() == (seeded_run / "replications.csv").read_bytes()


def test_one_or_two_workers_give_identical_summary(seeded_run: Path, tmp_path: Path) -> None:
    parallel = tmp_path / "c"
    result = invoke("run", BASELINE, "--reps", 2, "--workers", 2, "--seed", 4242, "--out", parallel,
                    "--no-contacts", "--no-report", *SHORT)
    assert result.exit_code == 0, result.output
    assert (parallel / "summary.csv").read_bytes() == (seeded_run / "summary.csv").read_bytes()
    assert (parallel / "replications.csv").read_bytes() == (seeded_run / "replications.csv").read_bytes()
    manifest = json.loads((parallel / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["workers"] == 2 and manifest["root_seed"] == 4242


def test_different_seed_gives_a_different_summary(seeded_run: Path, tmp_path: Path) -> None:
    other = tmp_path / "d"
    result = invoke("run", BASELINE, "--reps", 2, "--workers", 1, "--seed", 4243, "--out", other,
                    "--no-contacts", "--no-report", *SHORT)
    assert result.exit_code == 0, result.output
    assert (other / "summary.csv").read_bytes() != (seeded_run / "summary.csv").read_bytes()


# --------------------------------------------------------------------------- --out safety
def test_out_existing_non_empty_folder_is_refused_untouched(tmp_path: Path) -> None:
    parent = tmp_path / "results"
    out = parent / "taken"
    out.mkdir(parents=True)
    (out / "keep.txt").write_text("precious\n", encoding="utf-8")
    (out / "summary.csv").write_text("old,results\n", encoding="utf-8")
    before = tree(parent)
    result = invoke("run", ERLANG_A, "--reps", 1, "--workers", 1, "--out", out, *SHORT)
    assert result.exit_code == 2, result.output
    assert "--out" in result.output and "not empty" in result.output
    assert str(out) in result.output
    assert tree(parent) == before  # same files, contents and mtimes; no hidden temp folder


def test_out_existing_empty_folder_is_used(tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    result = invoke("run", ERLANG_A, "--reps", 1, "--workers", 1, "--no-contacts", "--no-report", "--out", out,
                    *SHORT)
    assert result.exit_code == 0, result.output
    assert (out / "summary.csv").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["empty"]


# =========================================================================== bad inputs
@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A fresh cwd holding only an empty ``runs`` parent for --out; returns (cwd, out)."""
    cwd = tmp_path / "cwd"
    (cwd / "runs").mkdir(parents=True)
    monkeypatch.chdir(cwd)
    return cwd, cwd / "runs" / "out"


def assert_nothing_written(cwd: Path, out: Path) -> None:
    assert not out.exists()
    assert list(out.parent.iterdir()) == [], "a hidden temporary folder was left behind"
    assert sorted(p.name for p in cwd.iterdir()) == ["runs"], "something was written to the cwd"


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize("case", bad_input_cases())
def test_bad_set_input_gives_one_error_line_and_no_results(
        case: dict[str, Any], command: str, workspace: tuple[Path, Path]) -> None:
    cwd, out = workspace
    sets = [a for s in case["set"] for a in ("--set", s)]
    args = ["run", ERLANG_A, "--reps", 1, "--workers", 1, "--out", out] if command == "run" \
        else ["check", ERLANG_A]
    result = invoke(*args, *sets)
    line = assert_one_error_line(result)
    assert result.exit_code == 2
    # The message names the file and the --set that wrote the bad value.
    assert line.startswith(f"error: {ERLANG_A} (--set ")
    assert f": {case['path']} = {shown(case['value'])[:77]}" in line
    for fragment in case["says"]:
        assert fragment in line
    assert_nothing_written(cwd, out)


def _extends_cycle(d: Path) -> tuple[Path, list[str]]:
    (d / "a.yaml").write_text("extends: b.yaml\nname: a\n", encoding="utf-8")
    (d / "b.yaml").write_text("extends: a.yaml\n" + ERLANG_A.read_text(encoding="utf-8"),
                              encoding="utf-8")
    return d / "a.yaml", ["b.yaml", "extends", "a.yaml -> b.yaml -> a.yaml"]


def _self_extends(d: Path) -> tuple[Path, list[str]]:
    (d / "me.yaml").write_text("extends: me.yaml\nname: me\n", encoding="utf-8")
    return d / "me.yaml", ["me.yaml", "extends", "cycle"]


def _malformed_yaml(d: Path) -> tuple[Path, list[str]]:
    (d / "broken.yaml").write_text("name: x\nchannels:\n  phone: {kind: voice\nhorizon: 2d\n",
                                   encoding="utf-8")
    return d / "broken.yaml", ["broken.yaml", "line 4", "well-formed YAML"]


def _missing_file(d: Path) -> tuple[Path, list[str]]:
    return d / "nope.yaml", ["nope.yaml", "existing scenario file"]


def _csv_scenario(d: Path, demand_csv: str) -> Path:
    (d / "demand.csv").write_text(demand_csv, encoding="utf-8")
    data = yaml.safe_load(ERLANG_A.read_text(encoding="utf-8"))
    data["demand"]["phone"] = {"csv": "demand.csv"}
    (d / "s.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return d / "s.yaml"


def _csv_missing_column(d: Path) -> tuple[Path, list[str]]:
    return (_csv_scenario(d, "day,start,calls\nmon,00:00,10\n"),
            ["demand.csv", "demand.phone.csv", '"calls"', "missing ['volume']"])


def _csv_not_a_number(d: Path) -> tuple[Path, list[str]]:
    return (_csv_scenario(d, "day,start,volume\nmon,00:00,ten\n"),
            ["demand.csv", "line 2", "'ten'", "number >= 0"])


FILE_CASES: dict[str, Callable[[Path], tuple[Path, list[str]]]] = {
    "extends-cycle": _extends_cycle,
    "self-extends": _self_extends,
    "malformed-yaml": _malformed_yaml,
    "missing-file": _missing_file,
    "csv-missing-column": _csv_missing_column,
    "csv-not-a-number": _csv_not_a_number,
}


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize("make", FILE_CASES.values(), ids=FILE_CASES.keys())
def test_bad_file_gives_one_error_line_and_no_results(
        make: Callable[[Path], tuple[Path, list[str]]], command: str,
        tmp_path: Path, workspace: tuple[Path, Path]) -> None:
    cwd, out = workspace
    src = tmp_path / "src"
    src.mkdir()
    scenario, fragments = make(src)
    args = ["run", scenario, "--reps", 1, "--workers", 1, "--out", out] if command == "run" \
        else ["check", scenario]
    line = assert_one_error_line(invoke(*args))
    for fragment in fragments:
        assert fragment in line
    assert_nothing_written(cwd, out)


@pytest.mark.parametrize("command", ["check", "run"])
def test_bad_set_syntax_is_one_error_line(command: str, workspace: tuple[Path, Path]) -> None:
    cwd, out = workspace
    extra = ["--out", out] if command == "run" else []
    line = assert_one_error_line(invoke(command, ERLANG_A, *extra, "--set", "horizon"))
    assert "--set" in line and "dotted.path=value" in line
    assert_nothing_written(cwd, out)


def test_run_without_out_and_bad_input_creates_no_results_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert_one_error_line(invoke("run", ERLANG_A, "--set", "warmup=20d"))
    assert os.listdir(tmp_path) == []


def test_infinite_horizon_is_one_error_line(workspace: tuple[Path, Path]) -> None:
    cwd, out = workspace
    line = assert_one_error_line(invoke("run", ERLANG_A, "--reps", 1, "--workers", 1,
                                        "--out", out, "--set", "horizon=inf"))
    assert "horizon" in line
    assert_nothing_written(cwd, out)


def test_csv_short_row_is_one_error_line(tmp_path: Path, workspace: tuple[Path, Path]) -> None:
    cwd, out = workspace
    src = tmp_path / "src"
    src.mkdir()
    scenario = _csv_scenario(src, "day,start,volume\nmon,00:00\n")
    line = assert_one_error_line(invoke("check", scenario))
    assert "demand.csv" in line
