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


def _children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_sigkill_of_the_parent_leaves_no_worker(tmp_path: Path, command: str) -> None:
    f = tiny(tmp_path)
    args = {"run": ["run", str(f), "-n", "40"],
            "sweep": ["sweep", str(f), "--vary", "agents.team.staffing=4,5", "-n", "20"]}[command]
    proc = subprocess.Popen([sys.executable, "-c", "from simsvc.cli import main; main()", *args, "-w", "2",
                             "--set", "horizon=10d", "--no-report", "-o", str(tmp_path / "out")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    deadline = time.monotonic() + 60
    try:
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            workers = _children(proc.pid)
            time.sleep(0.05)
        assert len(workers) >= 2, "no workers started"
        proc.send_signal(signal.SIGKILL)  # the parent only: the workers are on their own now
        proc.wait(timeout=10)
        gone_by = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < gone_by:
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers), "workers outlived their parent"
    finally:
        for w in workers:
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
