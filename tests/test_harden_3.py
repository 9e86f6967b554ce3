"""Class 3: ambiguity is an error.

Duplicate YAML keys (scenario, experiment, --set value) name both lines; duplicate CSV
rows (same day and start) name both lines; a UTF-8 BOM is accepted; a file that is not
UTF-8 gets one message naming the file.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from harden_helpers import TINY, invoke, one_error, tiny, write

DUPLICATE_YAML = [
    ("top", "name: a\nname: b\n" + TINY.split("\n", 1)[1], "name", 1, 2),
    ("nested", TINY + "  team:\n    skills: [phone]\n    staffing: 2\n", "agents.team", 13, 16),
    ("deep", TINY.replace("    staffing: 5\n", "    staffing: 5\n    staffing: 6\n"), "agents.team.staffing", 15, 16),
    ("flow", TINY.replace("{rate: 60/h}", "{rate: 60/h, rate: 50/h}"), "demand.phone.rate", 9, 9),
]


@pytest.mark.parametrize("text,path,first,second", [c[1:] for c in DUPLICATE_YAML],
                         ids=[c[0] for c in DUPLICATE_YAML])
def test_duplicate_scenario_keys_name_both_lines(tmp_path: Path, text: str, path: str, first: int,
                                                 second: int) -> None:
    f = write(tmp_path / "dup.yaml", text)
    line = one_error(invoke("check", f), str(f), path)
    assert f"line {second}" in line and f"also at line {first}" in line


def test_duplicate_experiment_keys_name_both_lines(tmp_path: Path) -> None:
    tiny(tmp_path)
    exp = write(tmp_path / "exp.yaml", "name: e\nscenarios: {a: tiny.yaml}\nreplications: 2\nreplications: 3\n")
    line = one_error(invoke("experiment", exp, "-w", 1, "--no-report", "-o", tmp_path / "out"),
                     str(exp), "replications")
    assert "line 4" in line and "also at line 3" in line
    assert not (tmp_path / "out").exists()


def test_duplicate_key_in_a_set_value(tmp_path: Path) -> None:
    line = one_error(invoke("check", tiny(tmp_path), "--set", "demand.phone={rate: 1/h, rate: 2/h}"), "--set")
    assert "each key once" in line


CSV_SCENARIO = TINY.replace("{rate: 60/h}", "{csv: d.csv}")


@pytest.mark.parametrize("rows,first,second", [
    ("mon,08:00,10\nmon,08:00,12\n", 2, 3),
    ("mon,08:00,10\ntue,08:00,5\nmon,8:00,12\n", 2, 4),
    ("0,00:00,1\n1,00:00,2\n0,00:00:00,3\n", 2, 4),
], ids=["adjacent", "same-time-other-spelling", "day-numbers"])
def test_duplicate_csv_rows_name_both_lines(tmp_path: Path, rows: str, first: int, second: int) -> None:
    write(tmp_path / "d.csv", "day,start,volume\n" + rows)
    f = write(tmp_path / "s.yaml", CSV_SCENARIO)
    line = one_error(invoke("run", f, "-n", 1, "--no-report", "-o", tmp_path / "out"), "d.csv")
    assert f"line {second}" in line and f"line {first} has the same" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("override,path", [
    ('agents.team.staffing={steps: [{start: "08:00", agents: 5}, {start: "8:00", agents: 6}]}',
     "agents.team.staffing.steps.1"),
    ('agents.team.staffing={steps: [{day: 0, start: "00:00", agents: 1}, {day: 1, start: "08:00", agents: 2}, '
     '{day: 1, start: "08:00:00", agents: 3}]}', "agents.team.staffing.steps.2"),
    ('agents.team.availability={steps: [{start: "08:00", availability: 0.5}, {start: "08:00", availability: 0.6}]}',
     "agents.team.availability.steps.1"),
], ids=["staffing", "staffing-day-numbers", "availability"])
def test_duplicate_inline_steps_name_both_steps(tmp_path: Path, override: str, path: str) -> None:
    """Inline steps as a CSV table's rows: two for the same day and start are refused, not one silently kept."""
    first = int(path[-1]) - 1
    line = one_error(invoke("check", tiny(tmp_path), "--set", override), f"{path} = ")
    assert f"one step per day and start (step {first} has the same)" in line


def test_utf8_bom_is_accepted_in_yaml_and_csv(tmp_path: Path) -> None:
    write(tmp_path / "d.csv", "\ufeffday,start,volume\nmon,00:00,10\n".encode("utf-8"))
    f = write(tmp_path / "s.yaml", ("\ufeff" + CSV_SCENARIO).encode("utf-8"))
    result = invoke("check", "-q", f)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("which", ["yaml", "csv", "experiment"])
@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_non_utf8_files_get_one_message_naming_the_file(tmp_path: Path, which: str, encoding: str) -> None:
    if which == "yaml":
        bad = write(tmp_path / "s.yaml", (TINY.replace("tiny", "été")).encode(encoding))
        result = invoke("check", bad)
    elif which == "csv":
        bad = write(tmp_path / "d.csv", "day,start,volume\nmon,00:00,10 # été\n".encode(encoding))
        result = invoke("check", write(tmp_path / "s.yaml", CSV_SCENARIO))
    else:
        tiny(tmp_path)
        bad = write(tmp_path / "e.yaml", "name: été\nscenarios: {a: tiny.yaml}\n".encode(encoding))
        result = invoke("experiment", bad, "-w", 1, "--no-report", "-o", tmp_path / "out")
    line = one_error(result, bad.name, "UTF-8")
    assert "été" not in line
