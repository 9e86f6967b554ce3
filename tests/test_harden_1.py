"""Class 1: nothing is written outside the chosen results folder.

A scenario or experiment ``name`` is a label: names that are paths, too long or
hold control characters are refused with one message; any valid label becomes a
safe folder name under ``results/`` (simsvc.config.names, simsvc.experiment.safepath).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from harden_helpers import TINY_HEAD, invoke, one_error, tiny, write
from simsvc.config.names import check_label, file_stem, folder_name
from simsvc.experiment.safepath import results_folder, write_folder

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


# Pool and channel names are scenario keys, not labels: they may hold / or .., and some
# commands name the files they write after them (requirements' and staff's
# staffing_<pool>.csv, fit's demand_<channel>.csv and staffing_<pool>.csv).
PATH_LIKE_KEYS = ["a/../../../../escape", "../up", "a/b", "a b", "x" * 300, "..", "/abs"]


def test_file_stems_stay_inside_and_apart() -> None:
    stems = [file_stem(k) for k in PATH_LIKE_KEYS]
    for stem in stems:
        assert 1 <= len(stem) <= 80 and not stem.startswith(".")
        assert set(stem) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    assert len(set(stems)) == len(stems)   # a/b and a b do not share a file
    assert file_stem("general") == "general" and file_stem("team-2.b") == "team-2.b"
    assert ".." not in file_stem("a/../../x")


def test_write_folder_refuses_a_file_name_that_leaves_it(tmp_path: Path) -> None:
    for name in ("../x.csv", "a/../../x.csv", str(tmp_path / "abs.csv")):
        with pytest.raises(ValueError, match="must stay inside"):
            write_folder(tmp_path / "out", {"ok.csv": "a\n", name: "b\n"})
        assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_requirements_with_path_like_pool_names_writes_only_its_folder(tmp_path: Path) -> None:
    work = tmp_path / "work"
    scenario = write(work / "p.yaml", TINY_HEAD + "agents:\n  'a/../../../../escape':\n    skills: [phone]\n"
                                                  "    staffing: 3\n")
    assert invoke("check", scenario, "--quiet").exit_code == 0
    result = invoke("requirements", scenario, "--max-occupancy", "0.85", "--out", work / "req", cwd=work)
    assert result.exit_code == 0, result.output
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert {w for w in written if not w.startswith("work/req/")} == {"work/p.yaml"}
    assert [p.name for p in (work / "req").glob("staffing_*.csv")] == ["staffing_a-escape-14d025064f.csv"]
    check = invoke("check", work / "req" / "scenario.yaml", "--quiet")
    assert check.exit_code == 0, check.output


def test_a_channel_name_with_a_slash_is_refused(tmp_path: Path) -> None:
    # Skills read "channel/reason", so a channel "a/b" was refused as "one of ['a/b']".
    text = TINY_HEAD.replace("  phone:", "  'a/b':").replace("phone: {", "'a/b': {") + (
        "agents:\n  team:\n    skills: [a]\n    staffing: 5\n")
    result = invoke("check", write(tmp_path / "s.yaml", text))
    assert result.exit_code == 2
    assert "channels.a/b = 'a/b': expected a channel name without /" in result.output.splitlines()[0]


@pytest.mark.parametrize("plant", ["link", "file"])
def test_report_refuses_a_plots_link_out_of_the_folder(tmp_path: Path, plant: str) -> None:
    # A plots/ symlink made `simsvc report` write its PNGs, and remove "stale" SVGs, in the
    # folder the link points to (found by fuzzing). A plots file crashed the report.
    scenario = tiny(tmp_path / "work")
    run = tmp_path / "work" / "run"
    assert invoke("run", scenario, "-n", 1, "-w", 1, "--no-report", "-o", run).exit_code == 0
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "volumes.svg").write_text("keep")
    if plant == "link":
        (run / "plots").symlink_to(victim, target_is_directory=True)
    else:
        (run / "plots").write_text("not a folder")
    line = one_error(invoke("report", run), "plots")
    assert ("symbolic link" in line) if plant == "link" else ("is a file" in line)
    assert sorted(p.name for p in victim.iterdir()) == ["volumes.svg"]
    assert not (run / "report.html").exists()


def test_resuming_an_experiment_refuses_a_link_inside_its_folder(tmp_path: Path) -> None:
    # A resumed sweep stored its new replication in the folder a runs/<variant> link points
    # to, outside the experiment folder (found by fuzzing).
    work = tmp_path / "work"
    scenario = tiny(work)
    args = ("sweep", scenario, "--vary", "agents.team.staffing=4,5", "-w", 1, "--no-report", "-o", work / "exp")
    assert invoke(*args, "-n", 2).exit_code == 0
    variant = sorted((work / "exp" / "runs").iterdir())[0]
    victim = tmp_path / "victim"
    variant.rename(victim)
    variant.symlink_to(victim, target_is_directory=True)
    line = one_error(invoke(*args, "-n", 3), "symbolic link")
    assert variant.name in line
    assert sorted(p.name for p in victim.iterdir()) == ["rep-00000.parquet", "rep-00001.parquet"]
