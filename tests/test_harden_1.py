"""Class 1: nothing is written outside the chosen results folder.

A scenario or experiment ``name`` is a label: names that are paths, too long or
hold control characters are refused with one message; any valid label becomes a
safe folder name under ``results/`` (simsvc.config.names, simsvc.experiment.safepath).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from harden_helpers import invoke, one_error, tiny, write
from simsvc.config.names import check_label, folder_name
from simsvc.experiment.safepath import results_folder

HOSTILE_NAMES = ["../../x", "/etc/evil", "..", ".", "a/b", "a\\b", "x\x00y", "x" * 300, "", " lead", "tab\tname",
                 "new\nline"]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
@pytest.mark.parametrize("command", ["run", "sweep", "compare", "experiment"])
def test_hostile_names_are_refused_before_anything_is_written(tmp_path: Path, command: str, name: str) -> None:
    work = tmp_path / "work"
    scenario = tiny(work)
    quoted = name.replace("\\", "\\\\").replace("\x00", "\\0").replace("\t", "\\t").replace("\n", "\\n")
    if command == "run":
        result = invoke("run", scenario, "-n", 1, "--no-report", "--set", f'name="{quoted}"', cwd=work)
    elif command == "sweep":
        result = invoke("sweep", scenario, "--vary", "agents.team.staffing=4,5", "-n", 2, "-w", 1,
                        "--no-report", "--set", f'name="{quoted}"', cwd=work)
    elif command == "compare":
        result = invoke("compare", scenario, scenario, "-n", 2, "-w", 1, "--no-report",
                        "--set", f'name="{quoted}"', cwd=work)
    else:
        exp = write(work / "exp.yaml", f'name: "{quoted}"\nscenarios: {{a: tiny.yaml}}\nreplications: 2\n')
        result = invoke("experiment", exp, "-w", 1, "--no-report", cwd=work)
    line = one_error(result, "name")
    assert "a name of 1 to 100 characters" in line
    assert not (work / "results").exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(
        ["work", "tiny.yaml"] + (["exp.yaml"] if command == "experiment" else []))


@pytest.mark.parametrize("label", ["baseline", "a b (x)", "été 2024", "x" * 100, "a.b-c_d", "v1,v2=3"])
def test_valid_labels_become_safe_folders_inside_the_root(tmp_path: Path, label: str) -> None:
    assert check_label(label) == label
    folder = results_folder(tmp_path / "results", "compare", label)
    assert tmp_path / "results" in folder.parents
    name = folder.name
    assert 1 <= len(name) <= 80 and name not in (".", "..") and "/" not in name and not name.startswith(".")
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def test_folder_names_of_different_long_labels_differ() -> None:
    a, b = "x" * 99 + "a", "x" * 99 + "b"
    assert folder_name(a) != folder_name(b)
    assert folder_name("???") != folder_name("!!!")


def test_run_with_a_label_writes_only_under_results(tmp_path: Path) -> None:
    scenario = tiny(tmp_path, name="s.yaml")
    result = invoke("run", scenario, "-n", 1, "-w", 1, "--no-report", "--set", "name=a b (x)", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    tops = {p.name for p in tmp_path.iterdir()}
    assert tops == {"s.yaml", "results"}
    (folder,) = (tmp_path / "results").iterdir()
    assert folder.name == "a-b-x"
