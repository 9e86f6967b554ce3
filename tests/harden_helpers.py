"""Shared pieces of the hardening tests (tests/test_harden_*.py): a tiny scenario and CLI checks."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from cli_helpers import problem_lines

from simsvc.cli import main

TINY_HEAD = """\
name: tiny
horizon: 2h
seed: 3
channels:
  phone:
    kind: voice
    patience: {dist: exponential, mean: 90s}
demand:
  phone: {rate: 60/h}
handling:
  phone: {dist: exponential, mean: 4min}
"""   # TINY without its agents, for tests that name their own pools
TINY = TINY_HEAD + """\
agents:
  team:
    skills: [phone]
    staffing: 5
"""


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def tiny(tmp_path: Path, extra: str = "", name: str = "tiny.yaml") -> Path:
    return write(tmp_path / name, TINY + extra)


def invoke(*args: object, cwd: Path | None = None) -> Result:
    import os

    old = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(main, [str(a) for a in args])
    finally:
        os.chdir(old)


def one_error(result: Result, *fragments: str, code: int = 2) -> str:
    """Exit ``code``, no traceback, exactly one ``error:`` line on stderr containing ``fragments``."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = problem_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]




def usage_error(result: Result, option: str, *fragments: str) -> str:
    """A click usage error about ``option`` (exit 2, no traceback) whose message has ``fragments``."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.stderr
    assert f"Invalid value for '{option}'" in lines[0] or f"Invalid value for {option}" in lines[0], lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]
