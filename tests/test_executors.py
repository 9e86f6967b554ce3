"""Local process pools: stopping one mid-run must not leave the interpreter hanging at exit."""
from __future__ import annotations

import multiprocessing
import os
import struct

import pytest

from simsvc.experiment.executors import process_pool, stop_pool


def test_stop_pool_ends_a_manager_thread_stuck_in_a_half_received_result() -> None:
    # On Ctrl-C every worker exits at once, possibly half-way through sending a
    # replication's tables. Here that half message is written by hand: a header that
    # promises 1,000 bytes, then 10 of them. The pool's manager thread then waits for
    # the rest; the interpreter joins that thread at exit, so the process would hang.
    pool = process_pool(1)
    assert pool.submit(os.getpid).result(timeout=60) != os.getpid()  # the worker exists
    manager = pool._executor_manager_thread
    os.write(pool._result_queue._writer.fileno(), struct.pack("!i", 1000) + b"x" * 10)
    manager.join(timeout=0.5)
    assert manager.is_alive()  # stuck in the read, as after a real Ctrl-C

    stop_pool(pool)
    manager.join(timeout=30)
    assert not manager.is_alive()


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_workers_start_under_every_start_method(method: str) -> None:
    # Python 3.14 starts pools with a fork server on Linux: the worker's parent is then the
    # server, not this process, which the parent watch once took for a dead run (every
    # worker exited at once and `run -w 2` failed with BrokenProcessPool).
    pool = process_pool(2, multiprocessing.get_context(method))
    try:
        pids = {pool.submit(os.getpid).result(timeout=120) for _ in range(4)}
        assert pids and os.getpid() not in pids
    finally:
        stop_pool(pool)
