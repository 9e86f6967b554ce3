"""Command-line interface: a thin click layer over the simsvc library.

Each command lives in its own module, parses options and calls one library
function; no simulation logic lives here.
"""
from __future__ import annotations

import os

# numpy's OpenBLAS starts a thread per core when numpy is imported, and each new thread
# spins for about 0.1 s before it sleeps: 0.14 CPU s per process on two cores (perf stat),
# beside the command's own imports. The products simsvc computes (a dot product, Erlang A's
# banded solve, a roster's coverage) are small enough that one thread does them as fast, so
# the command's processes, and the workers they start, keep BLAS to one thread: also the
# one order of sums whatever the machine's cores. Set before numpy is imported; a value the
# user set is kept; not set for the library imported in a notebook.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click  # noqa: E402

from simsvc import __version__  # noqa: E402
from simsvc.cli._common import CommandGroup  # noqa: E402


@click.group(cls=CommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="simsvc")
def main() -> None:
    """simsvc: simulate a customer-service operation."""


# Each command's module is imported only when that command runs (or `--help` lists the
# commands): `simsvc check` does not pay for importing the others. Name -> "module:function".
COMMANDS = {
    "run": "run_cmd:run",
    "check": "check_cmd:check",
    "erlang": "erlang_cmd:erlang",
    "report": "report_cmd:report",
    "compare": "compare_cmd:compare",
    "sweep": "sweep_cmd:sweep",
    "experiment": "experiment_cmd:experiment",
    "results": "results_cmd:results",
    "trace": "trace_cmd:trace",
    "fit": "fit_cmd:fit",  # calibration from contact logs (issue 10)
    "backtest": "backtest_cmd:backtest",
    "requirements": "requirements_cmd:requirements",  # staffing plans (issue 9)
    "staff": "staff_cmd:staff",
    "roster": "roster_cmd:roster",  # shifts from requirements (issue 9 item 3)
}
main.lazy_commands.update(COMMANDS)
