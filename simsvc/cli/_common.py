"""Options and helpers shared by the CLI commands."""
from __future__ import annotations

import click

set_option = click.option(
    "--set", "overrides", multiple=True, metavar="PATH=VALUE",
    help="Override a scenario field, e.g. --set agents.team.staffing=12 (repeatable).",
)


def load_or_exit(path: str, overrides: tuple[str, ...] = ()):
    """Load a scenario; on a bad scenario print one clear message and exit with status 2."""
    from simsvc.config.load import ScenarioError, load_scenario

    try:
        return load_scenario(path, overrides)
    except ScenarioError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
