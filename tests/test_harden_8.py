"""Class 8: no orphans.

Killing the parent of `run -w 2` or `sweep -w 2` (SIGKILL included) leaves no worker
behind; a Dask cluster without workers fails the run after a timeout.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harden_helpers import tiny


def _descendants(pid: int) -> set[int]:
    """Every process under ``pid``: the workers, and under forkserver the server between them
    and the run (and multiprocessing's resource tracker)."""
    parent_of = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent_of[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    out, front = set(), [pid]
    while front:
        p = front.pop()
        for child, parent in parent_of.items():
            if parent == p and child not in out:
                out.add(child)
                front.append(child)
    return out


def _workers(pid: int) -> set[int]:
    """The pool's workers under ``pid``: its descendants but a fork server and the tracker."""
    out = set()
    for p in _descendants(pid):
        cmdline = _cmdline(p)
        server = b"forkserver import main" in cmdline and b"forkserver import main" not in _cmdline(_parent(p))
        if not server and b"resource_tracker" not in cmdline:
            out.add(p)
    return out


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("command", ["run", "sweep"])
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_sigkill_of_the_parent_leaves_no_worker(tmp_path: Path, command: str, method: str) -> None:
    # forkserver is Python 3.14's default on Linux: there the workers are the fork server's
    # children, and the server outlives the run as long as a worker does.
    f = tiny(tmp_path)
    args = {"run": ["run", str(f), "-n", "40"],
            "sweep": ["sweep", str(f), "--vary", "agents.team.staffing=4,5", "-n", "20"]}[command]
    start = f"import multiprocessing; multiprocessing.set_start_method({method!r}, force=True); "
    proc = subprocess.Popen([sys.executable, "-c", start + "from simsvc.cli import main; main()", *args, "-w", "2",
                             "--set", "horizon=10d", "--no-report", "-o", str(tmp_path / "out")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    left: set[int] = set()
    deadline = time.monotonic() + 60
    try:
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            workers = _workers(proc.pid)
            time.sleep(0.05)
        assert len(workers) >= 2, "no workers started"
        left = _descendants(proc.pid)   # the workers, and a fork server and tracker if any
        proc.send_signal(signal.SIGKILL)  # the parent only: the workers are on their own now
        proc.wait(timeout=10)
        gone_by = time.monotonic() + 10
        while any(_alive(p) for p in left) and time.monotonic() < gone_by:
            time.sleep(0.1)
        assert not any(_alive(p) for p in left), "workers outlived their parent"
    finally:
        for w in left | workers:
            try:
                os.kill(w, signal.SIGKILL)
            except OSError:
                pass
        if proc.poll() is None:
            proc.kill()


def _square(x: int) -> int:
    return x * x


def test_dask_without_workers_fails_after_the_timeout() -> None:
    pytest.importorskip("dask.distributed")
    from dask.distributed import LocalCluster

    from simsvc.experiment.executors import DaskExecutor, ExecutorLost

    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        executor = DaskExecutor(cluster.scheduler_address, no_workers_timeout_s=1.0, poll_s=0.2)
        try:
            t0 = time.monotonic()
            with pytest.raises(ExecutorLost, match="no workers for 1 s"):
                list(executor.run(_square, [(1,), (2,)]))
            assert time.monotonic() - t0 < 15
        finally:
            executor.close()
