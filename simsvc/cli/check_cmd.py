"""`simsvc check`: validate a scenario and print it as resolved."""
from __future__ import annotations

import click

from simsvc.cli._common import load_or_exit, set_option


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@set_option
@click.option("--quiet", "-q", is_flag=True, help="Only validate; print nothing when it is fine.")
def check(scenario: str, overrides: tuple[str, ...], quiet: bool) -> None:
    """Validate SCENARIO and print it resolved (defaults filled, extends merged)."""
    from simsvc.config.load import scenario_hash, scenario_yaml

    resolved = load_or_exit(scenario, overrides)
    if not quiet:
        click.echo(f"# {scenario}: valid; hash {scenario_hash(resolved)[:16]}")
        click.echo(scenario_yaml(resolved), nl=False)
