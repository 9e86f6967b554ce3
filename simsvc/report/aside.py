"""A run's report drawn in a process of its own, forked before the simulation starts.

The event loop keeps one core busy; on a machine with two or more, the other sits idle for
the whole simulation. A :class:`ReportAside` is forked before the simulation: it imports
matplotlib and the report's modules while the run simulates, then waits. Once the run is
summarised the parent sends it the report's data (a :class:`RunData`, small: aggregates
and histograms, see :mod:`simsvc.report.live`; written to the pipe from a thread, so the run
never waits for the process to read it) and goes on writing the tables; the process draws
and renders the figures (itself where the run leaves it one core, as on two cores; else in
forked processes of its own, :func:`simsvc.report.render.render_processes`) and sends back
the files. It was forked from a parent that held no simulation yet, so it holds none of the
run's tables either.

Linux only (``fork``); :func:`available` says whether it can be used.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from simsvc.report.data import ReportError, RunData


# The report process's niceness (added to the run's; its render processes inherit it). 0: the
# run's priority. A lower priority (10) kept the run's tables and writing as fast as without a
# report, but starved the report wherever other work held the cores: with two busy processes
# beside it the run then waited 16-36 s for its report instead of under 1 s (docs/performance.md "Tenth
# pass"). On two cores the report is one process beside the run (no render processes), so a
# quiet machine gives each its core without it. Kept as a setting for bench/bench_process.py.
NICENESS = 0


def available() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork")


class ReportAside:
    """The forked report process, seen from the run (see the module's docstring)."""

    def __init__(self, svg: bool = False) -> None:
        """Fork the report process; ``svg``: its report writes each plot's SVG too."""
        from multiprocessing import Pipe

        self._conn, child = Pipe()
        for stream in (sys.stdout, sys.stderr):   # nothing buffered is written twice
            stream.flush()
        pid = os.fork()
        if pid == 0:   # the report process: never returns into the caller's code
            try:
                self._conn.close()
                _serve(child, svg)
            finally:
                os._exit(0)
        child.close()
        self._sending = None   # the thread writing the last message sent (see _send)
        self.pid: int | None = pid
        try:
            os.setpgid(pid, pid)   # the child does it too; whichever runs first, no race with cancel()
        except OSError:
            pass

    def draw_early(self, run: RunData) -> None:
        """Send the data of the figures that need no contacts (see
        :class:`simsvc.report.build.EarlyFigures`): the process draws them and sets them
        rendering while the run reduces its contacts; :meth:`draw` follows with the rest."""
        self._send(("early", run))

    def draw(self, run: RunData | Path) -> None:
        """Send the report's data, or a written folder to read it from: the process draws and
        renders it while the caller goes on."""
        self._send(run)

    def _send(self, message) -> None:
        """Pickle ``message`` here and write it to the pipe from a thread, after the messages
        sent before it: the process may be busy (importing, or rendering the early figures,
        which on two cores it does itself) and read it only then, and a message larger than
        the pipe's buffer would hold the run until it does."""
        import threading
        from multiprocessing.reduction import ForkingPickler

        data = bytes(ForkingPickler.dumps(message))
        self._sending = threading.Thread(target=self._write, args=(data, self._sending),
                                         name="report-send", daemon=True)
        self._sending.start()

    def _write(self, data: bytes, after) -> None:
        if after is not None:
            after.join()
        try:
            self._conn.send_bytes(data)
        except OSError:   # the process is gone: finish() finds no report and says so
            pass

    def _wait_sent(self) -> None:
        if self._sending is not None:
            self._sending.join()
            self._sending = None

    def finish(self, path: str | Path) -> Path:
        """Wait for the report and write ``plots/`` and ``report.html`` into ``path``."""
        from simsvc.report.files import write_files

        try:
            self._wait_sent()
            status, payload = self._conn.recv()
        except (EOFError, OSError):
            raise ReportError("the report process ended without a report") from None
        finally:
            self._close()
        if status != "ok":
            raise ReportError(payload)
        files, blocks, text = payload
        return write_files(Path(path), files, blocks, text)

    def cancel(self) -> None:
        """Stop the process (and its render processes) now; nothing is written."""
        if self.pid is not None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except OSError:
                try:
                    os.kill(self.pid, signal.SIGTERM)
                except OSError:
                    pass
        self._close()

    def _close(self) -> None:
        self._wait_sent()   # the process read the message, or ended (then the write failed)
        self._conn.close()
        if self.pid is not None:
            pid, self.pid = self.pid, None
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _serve(conn, svg: bool = False) -> None:
    """The report process: import while the parent simulates, then draw what it is sent."""
    # A group of its own (with its render processes), so the run can stop them all at once;
    # the run handles Ctrl-C and stops this group.
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if NICENESS:
        try:
            os.nice(NICENESS)
        except OSError:
            pass
    try:
        from simsvc.report.build import EarlyFigures, RunReport

        early = None
        try:
            run = conn.recv()
            if isinstance(run, tuple) and run[0] == "early":
                try:
                    early = EarlyFigures(run[1], svg, beside_run=True)
                except Exception:  # noqa: BLE001 - drawn again with the rest
                    early = None
                run = conn.recv()
        except (EOFError, OSError):
            return   # the run ended (or failed) without a report
        beside_run = not isinstance(run, Path)   # a written folder: the run only waits for the report
        if not beside_run:
            from simsvc.report.data import load_run

            run = load_run(run)
        report = RunReport(run, early, svg, beside_run=beside_run)
        conn.send(("ok", report.page()))
    except Exception as exc:  # noqa: BLE001 - sent to the run, which warns
        reason = (str(exc).strip().splitlines() or [""])[0]
        try:
            conn.send(("error", f"{type(exc).__name__}: {reason}"))
        except OSError:
            pass
