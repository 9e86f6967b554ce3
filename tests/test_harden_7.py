"""Class 7 (and issue 12 item 5): every error is a message, not a traceback.

Wrong shapes and list lengths, bad --vary and --dask values, damaged manifests, typos in
--set/--vary paths (attributed to the option, with the nearest names), experiment-file
errors listing the known fields, several problems of one file reported at once.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_helpers import interrupt
from harden_helpers import TINY, invoke, one_error, tiny, write
from simsvc.config.errors import ScenarioError
from simsvc.config.load import load_scenario

SHAPES = [
    ("agents=[1, 2]", "agents", "a mapping of fields (name: value, ...), not a list"),
    ("demand=hello", "demand", "a mapping of fields (name: value, ...), not a text"),
    ("channels.phone=7", "channels.phone", "a mapping of fields (name: value, ...), not a number"),
    ("agents.team.skills=phone", "agents.team.skills", "a list"),
    ("handling.phone=[4min]", "handling.phone", ""),
    ("demand.phone={daily_volume: 100, weekly: [1, 1, 1, 1, 1, 1]}", "demand.phone.weekly",
     "7 values, one per day mon..sun"),
    ("demand.phone={daily_volume: 100, intraday: []}", "demand.phone", "intraday weights with a positive sum"),
    ("customers=3", "customers", ""),
]


@pytest.mark.parametrize("override,path,says", SHAPES, ids=[s[1] for s in SHAPES])
@pytest.mark.parametrize("command", ["check", "run"])
def test_wrong_shapes_are_one_message(tmp_path: Path, command: str, override: str, path: str, says: str) -> None:
    f = tiny(tmp_path)
    args = ["run", f, "-n", 1, "--no-report", "-o", tmp_path / "out"] if command == "run" else ["check", f]
    line = one_error(invoke(*args, "--set", override), path, says)
    assert f"(--set {override[:20]}" in line
    assert not (tmp_path / "out").exists()


# A field that takes a number or a mapping (staffing: 5 | {shifts, steps, csv}; resolution: 0.8 |
# {reason: share}; handling: a distribution | {reason: distribution}): a bad value inside the
# mapping is reported at its own field, not as "the mapping is not a number" (found by fuzzing).
INSIDE = [
    ('agents.team.staffing={shifts: [{start: 1.5, end: "16:00", agents: 5}]}',
     "agents.team.staffing.shifts.0.start = 1.5: expected a clock time HH:MM"),
    ('agents.team.staffing={shifts: [{start: "8am", end: "16:00", agents: 5}]}',
     "agents.team.staffing.shifts.0.start = '8am': expected a clock time HH:MM"),
    ('agents.team.staffing={shifts: [{start: "08:00", end: "16:00", agents: "5x"}]}',
     "agents.team.staffing.shifts.0.agents = '5x': expected a valid integer"),
    ('agents.team.staffing={shifts: [{start: "08:00", end: "16:00", agents: 5, days: 7}]}',
     "agents.team.staffing.shifts.0.days = 7: expected"),
    ("agents.team.staffing={csv: 5}", "agents.team.staffing.csv = 5: expected"),
    ('agents.team.staffing={steps: [{start: "25:00", agents: 5}]}',  # was a traceback from the calendar
     "agents.team.staffing.steps.0.start = '25:00': expected a clock time HH:MM (00:00 to 24:00)"),
    ("handling.phone={dist: lognormal, mean: 4min, cv: abc}", "handling.phone.cv = 'abc': expected a valid number"),
    ("resolution.phone={default: abc}", "resolution.phone.default = 'abc': expected a valid number"),
    ("agents.team.staffing=5x", "agents.team.staffing = '5x': expected a valid integer"),  # the number form
    ("resolution.phone=abc", "resolution.phone = 'abc': expected a valid number"),
]


@pytest.mark.parametrize("override,says", INSIDE, ids=[i[1].split(" =")[0] + f"-{n}" for n, i in enumerate(INSIDE)])
def test_a_bad_value_inside_a_number_or_mapping_field_is_reported_at_its_own_field(
        tmp_path: Path, override: str, says: str) -> None:
    line = one_error(invoke("check", tiny(tmp_path), "--set", override), says)
    assert "expected a finite duration" not in line   # handling: not the per-reason branch's reading of dist


TYPOS = [
    ("agents.generalist.staffing=30", "agents.generalist", "known: team", "set it whole"),
    ("agents.team.stafing=30", "agents.team.stafing", "did you mean staffing", "known fields"),
    ("channel.phone.kind=voice", "channel", "did you mean channels", "known fields"),
    ("demand.phon.rate=10/h", "demand.phon", "did you mean phone", "set it whole"),
]


@pytest.mark.parametrize("override,path,hint,more", TYPOS, ids=[t[1] for t in TYPOS])
def test_a_typo_in_set_is_an_error_about_that_option(tmp_path: Path, override: str, path: str, hint: str,
                                                      more: str) -> None:
    line = one_error(invoke("check", tiny(tmp_path), "--set", override), f"--set {override}", path, hint, more)
    assert "required" not in line  # not a complaint about a phantom entry's missing fields


def test_new_named_entry_needs_the_explicit_form(tmp_path: Path) -> None:
    f = tiny(tmp_path)
    ok = invoke("check", "-q", f, "--set", "agents.night={skills: [phone], staffing: 2}")
    assert ok.exit_code == 0, ok.output
    # A default entry of the schema (reasons.general) is a known path.
    ok = invoke("check", "-q", f, "--set", "reasons.general.transfer={probability: 0.1, to: team}")
    assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize("vary,says", [
    ("agents.tem.staffing=4,5", "--vary agents.tem.staffing"),
    ("agents.team.staffing=1:inf", "finite"),
    ("agents.team.staffing=nan:3", "finite"),
    ("agents.team.staffing=.nan", "agents.team.staffing"),
    ("channels.phone.patience.mean=.inf,2", "finite"),
    ("agents.team.staffing=1:1000000", "at most 1,000"),
    ("agents.team.staffing", "dotted.path"),
])
def test_bad_vary_is_an_error_about_that_option(tmp_path: Path, vary: str, says: str) -> None:
    result = invoke("sweep", tiny(tmp_path), "--vary", vary, "-n", 2, "-w", 1, "--no-report", "-o", tmp_path / "o")
    one_error(result, "--vary", says)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("address", ["not-an-address", "http://x:1", "tcp://[::1"])
def test_bad_dask_address_is_one_message(tmp_path: Path, address: str) -> None:
    result = invoke("sweep", tiny(tmp_path), "--vary", "agents.team.staffing=4,5", "-n", 2, "--dask", address,
                    "--no-report", "-o", tmp_path / "o")
    one_error(result, f"--dask {address}", "tcp://scheduler:8786")


@pytest.mark.parametrize("damage", [b"{broken", b"", b"[1, 2]", b"\xff\xfe\x00"])
@pytest.mark.parametrize("command", ["results", "report"])
def test_damaged_manifest_is_one_message(tmp_path: Path, damage: bytes, command: str) -> None:
    folder = tmp_path / "exp"
    done = invoke("sweep", tiny(tmp_path), "--vary", "agents.team.staffing=4,5", "-n", 2, "-w", 1, "--no-report",
                  "-o", folder)
    assert done.exit_code == 0, done.output
    (folder / "experiment.json").write_bytes(damage)
    result = invoke(command, folder)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "experiment.json" in lines[0], result.stderr


def test_experiment_file_errors_list_the_known_fields(tmp_path: Path) -> None:
    tiny(tmp_path)
    f = write(tmp_path / "e.yaml", "name: e\nscenarios: {a: tiny.yaml}\nreplicatons: 3\n")
    one_error(invoke("experiment", f, "--no-report"), "replicatons", "known fields", "replications", "sweep")
    f = write(tmp_path / "e.yaml", "name: e\nscenarios: {a: {path: tiny.yaml, sett: []}}\n")
    one_error(invoke("experiment", f, "--no-report"), "scenarios.a.sett", "known fields", "path", "set")


def test_experiment_set_typo_names_the_experiment_entry(tmp_path: Path) -> None:
    tiny(tmp_path)
    f = write(tmp_path / "e.yaml", "name: e\nscenarios: {a: {path: tiny.yaml, set: [agents.tim.staffing=3]}}\n")
    one_error(invoke("experiment", f, "--no-report"), "scenarios.a.set", "agents.tim")


def test_all_problems_of_a_file_are_reported_at_once(tmp_path: Path) -> None:
    text = TINY.replace("staffing: 5", "staffing: -5\n    shrinkage: 2").replace("seed: 3", "seed: -3")
    f = write(tmp_path / "s.yaml", text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    paths = {info.value.path, *(p for p, _, _ in info.value.others)}
    assert {"seed", "agents.team.staffing", "agents.team.shrinkage"} <= paths
    result = invoke("check", f)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: ") and "(and 2 more problems)" in lines[0]
    assert len(lines) == 3 and all(line.startswith("  also: ") for line in lines[1:])


def _cli() -> list[str]:
    return [sys.executable, "-c", "from simsvc.cli import main; main()"]


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_in_run_exits_130_with_one_line_and_writes_nothing(tmp_path: Path, workers: str) -> None:
    f = tiny(tmp_path, name="slow.yaml")
    proc = subprocess.Popen([*_cli(), "run", str(f), "-n", "400", "-w", workers, "--no-report", "--set", "horizon=20d",
                             "-o", str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    seen: list[str] = []

    def simulating() -> None:  # the notice is printed once the scenario is loaded, just before the run
        while not any(line.startswith("running ") for line in seen):
            line = proc.stderr.readline()
            assert line, "the process ended before it started simulating"
            seen.append(line)
        time.sleep(0.5)
        assert proc.poll() is None

    stdout, stderr = interrupt(proc, simulating)
    stderr = "".join(seen) + stderr
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith(("\r", "tiny"))]
    assert lines[-1].startswith("interrupted: nothing was written"), stderr
    assert sum(line.startswith("interrupted") for line in lines) == 1, stderr
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["slow.yaml"]


def test_unwritable_report_folder_is_one_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import simsvc.report as report

    folder = tmp_path / "run"
    done = invoke("run", tiny(tmp_path), "-n", 1, "--no-report", "-o", folder)
    assert done.exit_code == 0, done.output

    def read_only(path, *args, **kwargs):  # what a read-only folder does (tests may run as root)
        raise PermissionError(13, "Permission denied", str(Path(path) / "report.html"))

    monkeypatch.setattr(report, "write_report", read_only)
    one_error(invoke("report", folder), "report.html", "Permission denied", "results are unchanged")
