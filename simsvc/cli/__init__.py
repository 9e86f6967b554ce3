"""Command-line interface: a thin click layer over the simsvc library.

Each command lives in its own module, parses options and calls one library
function; no simulation logic lives here.
"""
from __future__ import annotations

import click

from simsvc import __version__
from simsvc.cli._common import CommandGroup


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
