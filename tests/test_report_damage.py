"""`simsvc report` and `simsvc results` on a damaged or tampered results folder (found by
fuzzing): a page that says plainly what is missing or damaged, or one error naming the file
(exit 2), never a traceback; nothing shown as a fact that the folder does not support."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from harden_helpers import invoke, one_error, tiny

ROOT = Path(__file__).resolve().parents[1]
ROSTER = ROOT / "tests" / "data" / "roster_day.yaml"
JOURNEY = ROOT / "scenarios" / "journey_baseline.yaml"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny run folder (and a tiny journey-mode one) to copy before each tampering."""
    base = tmp_path_factory.mktemp("damage")
    result = invoke("run", ROSTER, "-n", 2, "-w", 1, "-o", base / "run", "--no-report")
    assert result.exit_code == 0, result.output
    (base / "j.yaml").write_text(f"extends: {JOURNEY.as_posix()}\nname: journey_small\nhorizon: 4d\n"
                                 "warmup: 1d\ncustomers: {initial: 300, acquisition: 20/d}\n",
                                 encoding="utf-8")
    result = invoke("run", base / "j.yaml", "-n", 1, "-w", 1, "-o", base / "journey", "--no-report")
    assert result.exit_code == 0, result.output
    return base


def copy(made: Path, tmp_path: Path, name: str = "run") -> Path:
    return Path(shutil.copytree(made / name, tmp_path / name))


def report(folder: Path) -> tuple[str, list[str]]:
    """(report.html's text, warning lines) of a report that must succeed without a traceback."""
    result = invoke("report", folder)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    warnings = stderr_lines(result.stderr)
    assert all(line.startswith(f"warning: {folder}: ") for line in warnings), result.stderr
    return (folder / "report.html").read_text(encoding="utf-8"), warnings


def stderr_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def notes(text: str) -> list[str]:
    return re.findall(r'<p class="note">([^<]*)', text)


def manifest(folder: Path, **fields) -> None:
    data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    data.update(fields)
    (folder / "manifest.json").write_text(json.dumps(data), encoding="utf-8")


# --------------------------------------------------------------------------- 1 intervals.parquet
@pytest.mark.parametrize("damage", ["random", "truncated"])
def test_damaged_intervals_are_noted_in_the_page(made: Path, tmp_path: Path, damage: str) -> None:
    folder = copy(made, tmp_path)
    file = folder / "intervals.parquet"
    file.write_bytes(os.urandom(3000) if damage == "random" else file.read_bytes()[:2000])
    text, warnings = report(folder)
    said = notes(text)
    assert any(n.startswith("intervals.parquet could not be read (") for n in said), said
    # every plot that needs the intervals says why it is missing, and never "absent"
    assert said.count("Not shown: intervals.parquet could not be read.") == 4, said
    assert not any("intervals.parquet is absent" in n or "missing" in n for n in said), said
    assert any("intervals.parquet could not be read" in w for w in warnings), warnings


# --------------------------------------------------------------------------- 2 manifest.json
def test_manifest_values_of_the_wrong_type_or_range_are_shown_as_damaged(made: Path,
                                                                         tmp_path: Path) -> None:
    folder = copy(made, tmp_path)
    manifest(folder, dependencies=[1], replications=-3, wall_s="fast", root_seed=1.5)
    text, warnings = report(folder)
    facts = dict(re.findall(r"<dt>([^<]*)</dt><dd>(.*?)</dd>", text))
    assert facts["versions"] == ('<span class="na">damaged in manifest.json: dependencies is [1], '
                                 'not package names with versions</span>')
    assert "damaged in manifest.json: replications is -3, not a whole number ≥ 1" in facts["replications"]
    assert "damaged in manifest.json: wall_s is &quot;fast&quot;" in facts["wall time"]
    assert "damaged in manifest.json: root_seed is 1.5" in facts["root seed"]
    # the KPI text counts the replications summary.csv holds, not the manifest's -3
    assert "Mean over 2 replications" in text and "-3 replications" not in text
    assert f"warning: {folder}: manifest.json: replications is -3, not a whole number ≥ 1" in warnings
    assert len(warnings) == 4, warnings

    result = invoke("results", folder)
    assert result.exit_code == 0, result.output
    assert "-3 replications" not in result.stdout
    assert "replications damaged in manifest.json (-3, not a whole number ≥ 1)" in result.stdout
    assert "root seed damaged in manifest.json (1.5, not a whole number ≥ 0)" in result.stdout


# --------------------------------------------------------------------------- 3 summary.csv for results
def test_results_on_a_summary_with_text_for_numbers_is_one_error(made: Path, tmp_path: Path) -> None:
    folder = copy(made, tmp_path)
    summary = folder / "summary.csv"
    summary.write_text(summary.read_text(encoding="utf-8").replace(",0.", ",nan", 3), encoding="utf-8")
    for command in ("results", "report"):
        line = one_error(invoke(command, folder), f"{summary}: column mean holds 'nan", "not a number")
        assert "line " in line
    assert not (folder / "report.html").exists()


@pytest.mark.parametrize("damage", ["empty", "passwd"])
def test_results_names_the_summary_it_cannot_read(made: Path, tmp_path: Path, damage: str) -> None:
    folder = copy(made, tmp_path)
    summary = folder / "summary.csv"
    if damage == "empty":
        summary.write_bytes(b"")
    else:
        if not Path("/etc/passwd").is_file():
            pytest.skip("no /etc/passwd")
        summary.unlink()
        summary.symlink_to("/etc/passwd")
    for fmt in ("markdown", "csv", "json"):
        one_error(invoke("results", folder, "--format", fmt), f"{summary}: cannot be read as CSV (")


def test_results_on_a_summary_without_a_column_is_one_error(made: Path, tmp_path: Path) -> None:
    folder = copy(made, tmp_path)
    summary = folder / "summary.csv"
    lines = [line.split(",") for line in summary.read_text(encoding="utf-8").splitlines()]
    summary.write_text("".join(",".join(x[:3] + x[4:]) + "\n" for x in lines), encoding="utf-8")
    for command in ("results", "report"):
        one_error(invoke(command, folder), f"{summary}: missing column(s) ci_low")


# --------------------------------------------------------------------------- 4 summary without rows
def test_a_summary_without_rows_is_said_by_report_and_results(made: Path, tmp_path: Path) -> None:
    folder = copy(made, tmp_path)
    summary = folder / "summary.csv"
    summary.write_text(summary.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    text, warnings = report(folder)
    assert "summary.csv has no rows: no KPIs to show." in notes(text)
    assert warnings == [f"warning: {folder}: summary.csv has no rows: no KPIs to show"]

    result = invoke("results", folder)
    assert result.exit_code == 0, result.output
    assert "(summary.csv has no rows: no KPIs to show)" in result.stdout
    assert "interrupted" not in result.output
    assert stderr_lines(result.stderr) == [f"warning: {folder}: summary.csv has no rows: no KPIs to show"]


# --------------------------------------------------------------------------- 5 wording
def test_a_deleted_contacts_file_is_missing_not_no_contacts(made: Path, tmp_path: Path) -> None:
    folder = copy(made, tmp_path)
    (folder / "contacts.parquet").unlink()
    text, _ = report(folder)
    assert "Not shown: contacts.parquet is missing from the folder." in notes(text)
    assert "--no-contacts" not in text


def test_no_contacts_is_said_when_the_manifest_records_it(made: Path, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    result = invoke("run", ROSTER, "-n", 1, "-w", 1, "-o", folder, "--no-contacts", "--no-report")
    assert result.exit_code == 0, result.output
    assert json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["contacts_written"] is False
    text, warnings = report(folder)
    assert "Not shown: contacts.parquet is absent (the run was written with --no-contacts)." in notes(text)
    assert warnings == []


def test_a_deleted_customers_file_is_missing_not_no_contacts(made: Path, tmp_path: Path) -> None:
    folder = copy(made, tmp_path, "journey")
    (folder / "customers.parquet").unlink()
    text, _ = report(folder)
    said = notes(text)
    assert said.count("Not shown: customers.parquet is missing from the folder.") == 2, said
    assert "--no-contacts" not in text


def test_damaged_pools_are_said_to_be_unreadable_only(made: Path, tmp_path: Path) -> None:
    folder = copy(made, tmp_path)
    (folder / "pools.parquet").write_bytes(os.urandom(2000))
    text, warnings = report(folder)
    said = notes(text)
    assert any(n.startswith("pools.parquet could not be read (") for n in said), said
    assert said.count("Not shown: pools.parquet could not be read.") == 2, said
    assert "no agent pools" not in text
    assert len(warnings) == 1 and "pools.parquet could not be read" in warnings[0], warnings


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("exp")
    result = invoke("sweep", tiny(base), "--vary", "agents.team.staffing=4,5", "-n", 2, "-w", 1, "--no-report",
                    "-o", base / "exp")
    assert result.exit_code == 0, result.output
    return base / "exp"


@pytest.mark.parametrize("field, value, path", [
    ("variants", 5, "variants"), ("variants", [1], "variants"), ("metrics", 5, "metrics"),
    ("targets", "x", "targets"), ("targets", [1], "targets.0"), ("cost_metric", [1], "cost_metric"),
])
def test_report_on_a_mistyped_experiment_json_is_one_error(sweep_folder: Path, tmp_path: Path, field: str,
                                                           value: object, path: str) -> None:
    # Each of these was a TypeError/AttributeError/ValueError traceback from the report.
    folder = Path(shutil.copytree(sweep_folder, tmp_path / "exp"))
    meta = json.loads((folder / "experiment.json").read_text())
    meta[field] = value
    (folder / "experiment.json").write_text(json.dumps(meta))
    line = one_error(invoke("report", folder), "experiment.json", f"{path} = ")
    assert "expected" in line and not (folder / "report.html").exists()
