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


def _register() -> None:
    # Imported here so `simsvc --help` stays fast and modules stay independent.
    from simsvc.cli import check_cmd, erlang_cmd, report_cmd, run_cmd
    from simsvc.cli import compare_cmd, experiment_cmd, results_cmd, sweep_cmd, trace_cmd

    main.add_command(run_cmd.run)
    main.add_command(check_cmd.check)
    main.add_command(erlang_cmd.erlang)
    main.add_command(report_cmd.report)
    main.add_command(compare_cmd.compare)
    main.add_command(sweep_cmd.sweep)
    main.add_command(experiment_cmd.experiment)
    main.add_command(results_cmd.results)
    main.add_command(trace_cmd.trace)

    from simsvc.cli import backtest_cmd, fit_cmd  # calibration from contact logs (issue 10)

    main.add_command(fit_cmd.fit)
    main.add_command(backtest_cmd.backtest)
    # Staffing plans (issue 9)
    from simsvc.cli import requirements_cmd, staff_cmd

    main.add_command(requirements_cmd.requirements)
    main.add_command(staff_cmd.staff)
    from simsvc.cli import roster_cmd  # shifts from requirements (issue 9 item 3)

    main.add_command(roster_cmd.roster)


_register()
