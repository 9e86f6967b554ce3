"""`simsvc trace`: one customer's journey, event by event (journey mode)."""
from __future__ import annotations

import sys

import click

from simsvc.cli._common import InPath, load_or_exit, set_option

MAX_REPLICATION = 2**31 - 1  # the tables store the replication as int32 (beyond: numpy OverflowError)


@click.command()
@click.argument("scenario", type=InPath(dir_okay=False))
@click.option("--customer", "-c", type=click.IntRange(min=0), required=True, help="Customer id (0, 1, …).")
@click.option("--replication", "-r", type=click.IntRange(min=0, max=MAX_REPLICATION), default=0, show_default=True,
              help="Which replication to trace (0, 1, …; the records keep it as a 32-bit number).")
@click.option("--seed", "-s", type=click.IntRange(min=0), default=None,
              help="Root seed (default: the scenario's seed).")
@set_option
def trace(scenario: str, customer: int, replication: int, seed: int | None, overrides: tuple[str, ...]) -> None:
    """Run one replication of SCENARIO and tell customer ID's story: stages, contacts
    (wait, outcome, experience, satisfaction), purchases, churn.

    The same scenario, seed and replication give the same story as `simsvc run`.
    """
    from simsvc.experiment.runner import resolve_seed, run_replication
    from simsvc.observe.trace import customer_trace

    resolved = load_or_exit(scenario, overrides)
    if resolved.customers is None:
        click.echo(f"error: {scenario}: customers: the scenario has no customer population "
                   "(journey mode); trace needs a customers section", err=True)
        sys.exit(2)
    root = resolve_seed(resolved, seed)
    tables = run_replication(resolved, root, replication)
    try:
        lines = customer_trace(resolved, tables.customers, tables.journey_events, tables.contacts, customer)
    except KeyError as exc:
        click.echo(f"error: --customer {customer}: {exc.args[0]}", err=True)
        sys.exit(2)
    click.echo(f"# {resolved.name}, seed {root}, replication {replication}")
    for line in lines:
        click.echo(line)
