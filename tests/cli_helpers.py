"""Assertions shared by the CLI tests."""
from __future__ import annotations

import os
import signal
import subprocess
from typing import Callable

from click.testing import Result


def problem_lines(stderr: str) -> list[str]:
    """Lines of stderr other than warnings about the scenario and the progress notice
    (both are printed before the run starts, so they may precede an error)."""
    return [line for line in stderr.splitlines()
            if line.strip() and not line.startswith(("warning: ", "running "))]


def assert_one_error_line(result: Result, code: int = 2) -> str:
    """The command failed with ``code``, without a traceback, and said one ``error:`` line."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"crashed with {result.exception!r}")
    assert "Traceback" not in result.output
    lines = problem_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert result.stdout == ""
    return lines[0]


def interrupt(proc: subprocess.Popen, ready: Callable[[], None], timeout_s: float = 60) -> tuple[str, str]:
    """Press Ctrl-C on ``proc`` (its own process group) once ``ready()`` returns, and return
    its (stdout, stderr). A process still alive afterwards, or after a failing ``ready``, is killed."""
    try:
        ready()
        os.killpg(proc.pid, signal.SIGINT)
        return proc.communicate(timeout=timeout_s)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
