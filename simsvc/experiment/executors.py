"""Where replications run: local processes or an existing Dask cluster.

An executor takes independent tasks (a pure function and its arguments) and
yields results as they finish. Because each task is a pure function of
(scenario, seed, replication), the numbers are the same whichever executor
runs them.

Local workers watch their parent (:func:`watch_parent`): if it dies, even by
SIGKILL, they exit instead of living on as orphans. A Dask cluster that has
had no workers for ``no_workers_timeout_s`` fails the run with
:class:`ExecutorLost`; every replication finished before that is stored.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Callable, Iterable, Iterator

DASK_CONNECT_TIMEOUT_S = 10
DASK_NO_WORKERS_TIMEOUT_S = 120.0


class ExecutorLost(Exception):
    """The workers are gone (a Dask cluster without workers for too long)."""


def watch_parent(parent_pid: int | None = None, poll_s: float = 0.5) -> None:
    """Process-pool initializer: end this worker when the run's process (``parent_pid``, by
    default this worker's parent) dies, or on Ctrl-C.

    Under the start methods fork and spawn the worker is the run's child, and Linux delivers
    SIGKILL at once when its parent dies (``PR_SET_PDEATHSIG``). Under forkserver (Python
    3.14's default on Linux) it is the child of a fork server, which outlives the run as long
    as any worker does (each worker holds the pipe whose end tells the server the run is
    gone), so the worker watches the run's process itself: a daemon thread waits on a pidfd
    of it (Linux), or polls it, and the parent id, every ``poll_s`` seconds elsewhere.
    """
    import signal

    run = parent_pid or os.getppid()
    parent = os.getppid()   # the run's process, or its fork server (a child of it)
    if run not in (parent, _parent_of(parent, default=run)):
        os._exit(1)   # started after the run had died: this worker now belongs to init
    # Ctrl-C reaches the whole process group: the parent reports it; a worker just stops
    # (without a traceback of its own), which ends the pool at once.
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the prctl took effect
        os._exit(1)
    try:
        exited = os.pidfd_open(run)   # readable once the run's process has exited
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):   # not Linux, or a kernel before 5.3
        exited = None

    def watch() -> None:
        if exited is not None:
            import select

            select.select([exited], [], [])
        else:
            while os.getppid() == parent and _alive(run):
                time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="simsvc-watch-parent", daemon=True).start()


def _parent_of(pid: int, default: int) -> int:
    """The parent process id of ``pid`` (Linux's ``/proc``; ``default`` where it cannot be read)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return default


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the platform says, else the count)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def process_pool(workers: int, context=None) -> ProcessPoolExecutor:
    """A process pool whose workers do not outlive this process, started by ``context`` (a
    :mod:`multiprocessing` context; by default the platform's start method: fork on Linux up to
    Python 3.13, forkserver from 3.14, spawn on macOS and Windows)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=watch_parent,
                               initargs=(os.getpid(),))


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Shut ``pool`` down now, without waiting for its running tasks (Ctrl-C, an error).

    The workers are terminated. One of them may die half-way through sending its
    result (a replication's tables are megabytes, and on Ctrl-C every worker exits
    at once); the pool's manager thread then waits for the rest of that message
    forever, and the interpreter joins that thread at exit: the process would hang.
    Closing this process's copy of the result pipe's writing end, once no worker is
    alive, ends that read with EOF, so the manager thread finds the pool broken and ends.

    That thread is then joined here: while it tears the pool down it closes its wake-up
    pipe, and Python 3.11's exit hook writes to that pipe without a lock, so a thread
    still tearing down at exit printed "Bad file descriptor" with a traceback.
    """
    # CPython keeps these here; shutdown() drops its references to them.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
    if writer is not None and not any(process.is_alive() for process in processes):
        writer.close()
        if manager is not None:
            manager.join(timeout=10)


class SerialExecutor:
    """Runs tasks one after another in this process (workers=1)."""

    def run(self, fn: Callable[..., Any], tasks: Iterable[tuple]) -> Iterator[Any]:
        for args in tasks:
            yield fn(*args)

    def close(self) -> None:
        pass


class LocalExecutor:
    """A pool of local processes; keeps at most 2 × workers tasks in flight.

    A run that ends early (Ctrl-C, a failed task, a consumer that stops reading)
    stops the workers at once; the executor cannot be used again after that.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = process_pool(workers)

    def run(self, fn: Callable[..., Any], tasks: Iterable[tuple]) -> Iterator[Any]:
        pending: set = set()
        queue = iter(tasks)
        stopped = False
        try:
            for args in queue:
                pending.add(self._pool.submit(fn, *args))
                if len(pending) >= 2 * self.workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        yield fut.result()
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
        except BaseException:
            # Ctrl-C, a failed task, or the consumer gave up: do not wait for the running tasks.
            stopped = True
            stop_pool(self._pool)
            raise
        finally:
            if not stopped:
                for fut in pending:
                    fut.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def connect_timeout_s() -> float:
    """How long to try to reach a Dask scheduler: dask's ``distributed.comm.timeouts.connect``
    where the user set it (``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=60s``, a dask config
    file, ``dask.config.set``), else ``DASK_CONNECT_TIMEOUT_S`` (dask's own default, 30 s, is
    long to wait for a mistyped address)."""
    import dask.config
    from dask.utils import parse_timedelta

    key = "distributed.comm.timeouts.connect"
    value = dask.config.get(key, default=None)
    if value is None:
        return DASK_CONNECT_TIMEOUT_S
    # Set in the environment or a config file (whatever the value), or in the session to
    # something other than what distributed ships (its defaults, loaded once it is imported).
    from_user = dask.config.get(key, config=dask.config.collect(), default=None) is not None
    packaged = (dask.config.get(key, config=d, default=None) for d in dask.config.defaults)
    if not from_user and value == next((v for v in packaged if v is not None), None):
        return DASK_CONNECT_TIMEOUT_S
    return parse_timedelta(value, default="seconds")


class DaskExecutor:
    """Tasks on a Dask distributed cluster, e.g. ``tcp://scheduler:8786``.

    The workers need simsvc installed (the same version, for identical numbers).
    """

    def __init__(self, address: str, no_workers_timeout_s: float = DASK_NO_WORKERS_TIMEOUT_S,
                 poll_s: float = 2.0) -> None:
        from dask.distributed import Client

        self.client = Client(address, timeout=connect_timeout_s())
        self.no_workers_timeout_s = no_workers_timeout_s
        self.poll_s = poll_s

    def _workers(self) -> int:
        try:
            return len(self.client.scheduler_info().get("workers", {}))
        except Exception:  # noqa: BLE001 - the scheduler itself is unreachable: no workers either
            return 0

    def run(self, fn: Callable[..., Any], tasks: Iterable[tuple]) -> Iterator[Any]:
        from dask.distributed import wait as dask_wait

        pending = {self.client.submit(fn, *args, pure=False) for args in tasks}
        alone_since: float | None = None
        try:
            while pending:
                try:
                    done, pending = dask_wait(pending, timeout=self.poll_s, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    done = set()
                for fut in done:
                    yield fut.result()
                if done or self._workers():
                    alone_since = None
                    continue
                # No worker: wait a while for one to (re)join, then give up.
                now = time.monotonic()
                alone_since = alone_since or now
                if now - alone_since > self.no_workers_timeout_s:
                    raise ExecutorLost(f"the Dask cluster has had no workers for {self.no_workers_timeout_s:g} s")
        finally:
            self.client.cancel([f for f in pending if not f.done()])

    def close(self) -> None:
        self.client.close()


def make_executor(workers: int = 1, dask: str | None = None):
    if dask:
        return DaskExecutor(dask)
    if workers <= 1:
        return SerialExecutor()
    return LocalExecutor(workers)
