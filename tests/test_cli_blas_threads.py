"""The command line keeps numpy's BLAS to one thread (``simsvc.cli``; issue 13).

OpenBLAS starts a thread per core when numpy is imported, and each spins about 0.1 s before
it sleeps: CPU taken from the command's own start-up on two cores. These run fresh
interpreters, since numpy is already imported in the test process.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="counts threads in /proc (Linux)")

THREADS = "import os; print(len(os.listdir('/proc/self/task')), os.environ.get('OPENBLAS_NUM_THREADS'))"


def _python(code: str, **env: str) -> tuple[int, str]:
    # Without any thread-count setting OpenBLAS reads (other tests, dask among them, may have
    # set OMP_NUM_THREADS and the like in this process's environment).
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    environ.update(env)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ,
                         check=True).stdout.split()
    return int(out[0]), out[1]


def test_the_command_line_imports_numpy_with_one_blas_thread():
    threads, setting = _python("import simsvc.cli, numpy; " + THREADS)
    assert (threads, setting) == (1, "1")


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="OpenBLAS starts no second thread on one core")
def test_without_it_numpy_starts_blas_threads():
    """The control: the test above could fail (numpy imported alone starts more threads)."""
    threads, setting = _python("import numpy; " + THREADS)
    assert threads > 1 and setting == "None"


def test_a_users_setting_is_kept():
    threads, setting = _python("import simsvc.cli, numpy; " + THREADS, OPENBLAS_NUM_THREADS="2")
    assert setting == "2"
    if (os.cpu_count() or 1) >= 2:
        assert threads > 1
