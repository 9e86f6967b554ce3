"""Class 4: no hang, no memory blow-up from input.

Alias bombs fail fast without expanding (also inside messages); files have a size cap;
nesting and extends chains are bounded; run/sweep/compare/experiment/check estimate the
work first and refuse beyond the documented limit unless --force; grids and --vary
ranges are capped; erlang --agents ranges are capped.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from harden_helpers import TINY, invoke, one_error, tiny, write
from simsvc.config.yamlio import MAX_FILE_BYTES


def _bomb(levels: int = 9, width: int = 9) -> str:
    lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("where", ["scenario", "set", "experiment", "extends"])
def test_alias_bombs_fail_fast(tmp_path: Path, where: str) -> None:
    bomb = _bomb()
    assert len(bomb) < 1000
    t0 = time.perf_counter()
    if where == "scenario":
        result = invoke("check", write(tmp_path / "b.yaml", TINY + bomb))
    elif where == "set":
        flow = "{" + bomb.replace("\n", ", ").rstrip(", ") + "}"
        result = invoke("check", tiny(tmp_path), "--set", f"description={flow}")
    elif where == "experiment":
        tiny(tmp_path)
        result = invoke("experiment", write(tmp_path / "e.yaml", "name: e\nscenarios: {a: tiny.yaml}\n" + bomb))
    else:
        write(tmp_path / "parent.yaml", TINY + bomb)
        result = invoke("run", write(tmp_path / "child.yaml", "extends: parent.yaml\n"), "--no-report",
                        "-o", tmp_path / "out")
        assert not (tmp_path / "out").exists()
    assert time.perf_counter() - t0 < 5
    line = one_error(result, "aliases")
    assert len(line) < 400


def test_self_referencing_alias_is_refused(tmp_path: Path) -> None:
    one_error(invoke("check", write(tmp_path / "r.yaml", TINY + "x: &x [1, *x]\n")))


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    for depth in (60, 1000):
        f = write(tmp_path / f"d{depth}.yaml", TINY + "description: " + "[" * depth + "]" * depth + "\n")
        one_error(invoke("check", f), "nesting at most")


def test_long_extends_chain_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "s0.yaml", TINY)
    for i in range(1, 15):
        write(tmp_path / f"s{i}.yaml", f"extends: s{i - 1}.yaml\n")
    assert invoke("check", "-q", tmp_path / "s9.yaml").exit_code == 0
    one_error(invoke("check", tmp_path / "s14.yaml"), "extends", "at most 10 files")


@pytest.mark.parametrize("which", ["scenario", "csv"])
def test_files_have_a_size_cap(tmp_path: Path, which: str) -> None:
    if which == "scenario":
        f = write(tmp_path / "big.yaml", TINY + "description: '" + "x" * MAX_FILE_BYTES + "'\n")
        one_error(invoke("check", f), "big.yaml", "at most 4 MB")
    else:
        big = tmp_path / "d.csv"
        with big.open("w") as fh:
            fh.write("day,start,volume\n")
            fh.truncate(65 * 1024 * 1024)  # sparse: no disk used
        f = write(tmp_path / "s.yaml", TINY.replace("{rate: 60/h}", "{csv: d.csv}"))
        one_error(invoke("check", f), "d.csv", "at most 64 MB")


WORK = [
    ("horizon=100000d", "intervals"),
    ("demand.phone.rate=1e8/h", "contacts"),
]


@pytest.mark.parametrize("override,figure", WORK, ids=[w[1] for w in WORK])
@pytest.mark.parametrize("command", ["check", "run", "sweep", "compare"])
def test_too_much_work_is_refused_unless_forced(tmp_path: Path, command: str, override: str, figure: str) -> None:
    f = tiny(tmp_path)
    out = tmp_path / "out"
    args = {
        "check": ["check", f],
        "run": ["run", f, "-n", 1, "--no-report", "-o", out],
        "sweep": ["sweep", f, "--vary", "agents.team.staffing=4,5", "-n", 2, "--no-report", "-o", out],
        "compare": ["compare", f, f, "-n", 2, "--no-report", "-o", out],
    }[command]
    line = one_error(invoke(*args, "--set", override), "too much work", figure, "--force")
    assert "limit" in line
    assert not out.exists()
    if command == "check":  # --force lets it through (with a warning); run is not attempted here
        forced = invoke(*args, "--set", override, "-q", "--force")
        assert forced.exit_code == 0 and forced.stderr.startswith("warning: "), forced.output


def test_experiment_estimates_work_too(tmp_path: Path) -> None:
    tiny(tmp_path)
    f = write(tmp_path / "e.yaml", "name: e\nscenarios: {a: {path: tiny.yaml, set: ['horizon=100000d']}}\n")
    one_error(invoke("experiment", f, "--no-report", "-o", tmp_path / "out"), "too much work", "--force")
    assert not (tmp_path / "out").exists()


def test_grids_are_capped_before_they_are_built(tmp_path: Path) -> None:
    t0 = time.perf_counter()
    result = invoke("sweep", tiny(tmp_path), "--vary", "agents.team.staffing=1:999", "--vary",
                    "agents.team.shrinkage=0:0.99:0.01", "--no-report", "-o", tmp_path / "o")
    one_error(result, "at most 10,000 points", "99,900")
    assert time.perf_counter() - t0 < 5
    tiny(tmp_path)
    f = write(tmp_path / "e.yaml", "name: e\nscenarios: {a: tiny.yaml}\nsweep: {vary: {agents.team.staffing: "
              "'1:999', agents.team.shrinkage: '0:0.99:0.01'}}\n")
    one_error(invoke("experiment", f, "--no-report"), "at most 10,000 points")


@pytest.mark.parametrize("agents", ["1:100000000", "0:10000000:1"])
def test_erlang_agent_ranges_are_capped(agents: str) -> None:
    t0 = time.perf_counter()
    result = invoke("erlang", "--rate", "100/h", "--aht", "4min", "--agents", agents)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "--agents" in result.output
    assert time.perf_counter() - t0 < 5
