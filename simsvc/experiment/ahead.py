"""The first replication simulated in a process forked before the run's heavy imports.

The event loop needs numpy, SimPy and the scenario; reducing its records to tables and
writing them needs pandas, pyarrow and scipy, about a second of imports. ``simsvc run``
forks a :class:`SimulationAhead` as soon as the scenario is validated: the forked process
simulates replication 0 on one core while the run imports the rest on the other, then
hands the records over (:func:`send_raw`: each array goes through the pipe once, with no
pickled copy of it, into memory the run keeps). The records are those
``simulate(scenario, root_seed, 0)`` gives in the run's own process, so the tables are the
same bytes.

Also here, because the forked process needs them before pandas is imported: the root
seed's resolution and glibc's heap settings (re-exported by :mod:`simsvc.experiment.runner`).
Linux only (``fork``); :func:`available` says whether it can be used.
"""
from __future__ import annotations

import os
import pickle
import secrets
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simsvc.config.schema import Scenario
    from simsvc.observe.records import RawRun


def available() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def resolve_seed(scenario: Scenario, seed: int | None) -> int:
    """The concrete root seed: the one given, the scenario's, or a fresh one (recorded)."""
    if seed is not None:
        return int(seed)
    if scenario.seed is not None:
        return int(scenario.seed)
    return secrets.randbits(63)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def _libc():
    """The C library's handle (glibc), or None where there is none to tune."""
    global _LIBC
    if _LIBC is False:
        try:
            import ctypes

            _LIBC = ctypes.CDLL("libc.so.6")
        except OSError:
            _LIBC = None
    return _LIBC


_LIBC = False
_M_MMAP_THRESHOLD = -3  # mallopt parameter (malloc.h)


def steady_heap() -> None:
    """Serve every allocation of 1 MiB or more from its own mapping (glibc only).

    glibc raises its mmap threshold each time a large block is freed, so after the
    event loop's buffers go, the tables' arrays land in the process heap, which
    keeps their pages when they are freed: a 1M-contact replication then holds
    ~100 MB of dead heap through the later stages. A fixed threshold returns
    every large array's pages when it is freed, and lets the record columns grow
    by remapping instead of copying. The price is a page fault per fresh page of a
    large array (about +0.5 s of system time per million contacts); 1 MiB keeps the
    chunked reducers' temporaries in the heap, where they are reused (a 4 MiB
    threshold lets the 1M-run peak back up by ~20 MB). The setting is process-wide and
    stays (it changes only where large blocks come from, not what any code computes).
    """
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)


def release_memory() -> None:
    """Return freed heap pages to the operating system (glibc only; a no-op elsewhere).

    Large runs free hundreds of MB of temporaries between stages; glibc keeps them
    in the process heap, which inflates peak memory for the next stage.
    """
    libc = _libc()
    if libc is not None:
        try:
            libc.malloc_trim(0)
        except AttributeError:
            pass


class SimulationAhead:
    """One replication simulated in a forked process (see the module's docstring).

    :meth:`result` waits for its records; :meth:`cancel` stops it. A simulation error
    (:class:`simsvc.domain.errors.SimulationError`) is raised again by :meth:`result`.
    """

    def __init__(self, scenario: Scenario, root_seed: int, replication: int = 0) -> None:
        import time
        from multiprocessing import Pipe

        self.scenario, self.root_seed, self.replication = scenario, root_seed, replication
        self.started_s = time.perf_counter()   # the run's wall time counts from here
        self._conn, child = Pipe(duplex=False)   # (receiving end, sending end)
        for stream in (sys.stdout, sys.stderr):   # nothing buffered is written twice
            stream.flush()
        pid = os.fork()
        if pid == 0:   # the simulating process: never returns into the caller's code
            try:
                self._conn.close()
                _simulate(child, scenario, root_seed, replication)
            finally:
                os._exit(0)
        child.close()
        self.pid: int | None = pid

    def result(self) -> RawRun:
        """The replication's records (waits for them)."""
        try:
            status, payload = self._conn.recv()
            raw = recv_raw(self._conn, payload) if status == "ok" else None
        except (EOFError, OSError):
            self.cancel()
            raise RuntimeError("the simulation process ended without its records") from None
        except BaseException:   # Ctrl-C while waiting: stop it rather than wait for it
            self.cancel()
            raise
        self._close()
        if status != "ok":
            raise payload
        return raw

    def cancel(self) -> None:
        """Stop the process now (the run failed or was interrupted)."""
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except OSError:
                pass
        self._close()

    def _close(self) -> None:
        self._conn.close()
        if self.pid is not None:
            pid, self.pid = self.pid, None
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _simulate(conn, scenario: Scenario, root_seed: int, replication: int) -> None:
    # Ctrl-C reaches the whole process group: the run reports it and stops this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from simsvc.model.centre import simulate

        steady_heap()   # as run_replication does before simulating
        raw = simulate(scenario, root_seed, replication)
    except Exception as exc:  # noqa: BLE001 - raised again in the run
        try:
            conn.send(("error", exc))
        except Exception:  # noqa: BLE001 - not picklable: its type and first line
            conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        return
    send_raw(conn, raw)


def send_raw(conn, raw: RawRun) -> None:
    """Send a replication's records: a small pickle, then each array's bytes as they are."""
    buffers: list[pickle.PickleBuffer] = []
    header = pickle.dumps(raw, protocol=5, buffer_callback=buffers.append)
    views = [buffer.raw() for buffer in buffers]
    conn.send(("ok", (header, [view.nbytes for view in views])))
    for view in views:
        if view.nbytes:
            conn.send_bytes(view)


def recv_raw(conn, payload) -> RawRun:
    """The records :func:`send_raw` sent, each array in memory of its own (writable)."""
    header, sizes = payload
    buffers = []
    for size in sizes:
        buffer = bytearray(size)
        if size:
            conn.recv_bytes_into(buffer)
        buffers.append(buffer)
    return pickle.loads(header, buffers=buffers)
