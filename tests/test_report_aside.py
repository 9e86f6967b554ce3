"""The report process beside a run (`simsvc run`): it leaves the run its core and never holds it."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from simsvc.report import aside, render
from simsvc.report.data import ReportError
from test_report import small_figures


@pytest.mark.parametrize("cores, alone, beside", [(1, 0, 0), (2, 2, 0), (3, 3, 2), (4, 4, 3), (8, 4, 4)])
def test_render_processes_beside_a_run_leave_the_run_its_core(monkeypatch: pytest.MonkeyPatch, cores: int,
                                                              alone: int, beside: int) -> None:
    monkeypatch.setattr(render, "RENDER_PROCESSES", None)
    monkeypatch.setattr(render, "available_cores", lambda: cores)
    assert render.render_processes() == alone
    assert render.render_processes(beside_run=True) == beside
    monkeypatch.setattr(render, "RENDER_PROCESSES", 1)   # the setting wins
    assert render.render_processes() == render.render_processes(beside_run=True) == 1


def test_beside_a_run_without_render_processes_the_figures_render_as_soon_as_drawn(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On two cores the report process renders the figures itself, at once (it has nothing
    else to do until the run sends the rest), rather than when they are collected; the same
    bytes as rendered one after another."""
    monkeypatch.setattr(render, "RENDER_PROCESSES", 0)
    serial = render.render_all(small_figures(), svg=False)
    monkeypatch.setattr(render, "RENDER_PROCESSES", None)
    monkeypatch.setattr(render, "available_cores", lambda: 2)
    rendered = []
    plain = render.render
    monkeypatch.setattr(render, "render", lambda fig, svg=True: rendered.append(fig) or plain(fig, svg))
    figures = small_figures()
    later = render.Rendering(figures, svg=False)   # not beside a run: 2 processes, forked
    assert rendered == [] and later._pool is not None
    assert later.result() == serial
    now = render.Rendering(figures, svg=False, beside_run=True)
    assert rendered == figures and now._pool is None   # rendered here, before result()
    assert now.result() == serial


def test_the_report_process_runs_at_the_niceness_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """``aside.NICENESS`` (0 by default: the run's priority, see its comment) is added to the
    report process's niceness, the run's own left as it is."""
    if not aside.available():
        pytest.skip("the report process needs fork")
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    monkeypatch.setattr(aside, "NICENESS", 3)   # the forked process inherits it
    process = aside.ReportAside()
    try:
        deadline = time.monotonic() + 20
        while os.getpriority(os.PRIO_PROCESS, process.pid) != min(mine + 3, 19):
            assert time.monotonic() < deadline, "the report process did not lower its priority"
            time.sleep(0.02)
    finally:
        process.cancel()
    assert os.getpriority(os.PRIO_PROCESS, 0) == mine   # the run's own is unchanged


def _busy_then_read(conn, svg: bool = False) -> None:
    """A report process busy for a while (rendering), then reading what it was sent."""
    time.sleep(2.0)
    first, second = conn.recv(), conn.recv()
    conn.send(("error", f"read {first[0]} {len(first[1])} and {len(second)}"))


def test_a_busy_report_process_does_not_hold_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's data is larger than a pipe holds; the process reads it only when it is free.
    The run hands it over and goes on (a thread writes it), in the order sent."""
    if not aside.available():
        pytest.skip("the report process needs fork")
    monkeypatch.setattr(aside, "_serve", _busy_then_read)   # what the forked process runs
    process = aside.ReportAside()
    big = b"x" * 3_000_000
    start = time.perf_counter()
    process.draw_early(big)
    process.draw(big + b"y")
    assert time.perf_counter() - start < 1.0   # the process sleeps 2 s before it reads
    with pytest.raises(ReportError, match="read early 3000000 and 3000001"):
        process.finish(tmp_path)
    assert process.pid is None and not (tmp_path / "report.html").exists()


def test_a_report_process_gone_before_reading_is_a_report_error(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    if not aside.available():
        pytest.skip("the report process needs fork")
    monkeypatch.setattr(aside, "_serve", lambda conn, svg=False: None)   # ends at once
    process = aside.ReportAside()
    process.draw(b"z" * 3_000_000)   # the write fails in its thread; the run is not told here
    with pytest.raises(ReportError, match="ended without a report"):
        process.finish(tmp_path)
