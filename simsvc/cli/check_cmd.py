"""`simsvc check`: validate a scenario and print it as resolved."""
from __future__ import annotations

import click

from simsvc.cli._common import InPath, check_work, force_option, load_or_exit, set_option, text_table, warn_capacity


@click.command()
@click.argument("scenario", type=InPath(dir_okay=False))
@set_option
@click.option("--quiet", "-q", is_flag=True, help="Only validate; print nothing when it is fine.")
@click.option("--expected-contacts", is_flag=True,
              help="Journey mode: print the new issues the population is expected to open per stage and "
                   "reason (from the parameters alone, without churn and referrals) instead of the scenario.")
@force_option
def check(scenario: str, overrides: tuple[str, ...], quiet: bool, expected_contacts: bool, force: bool) -> None:
    """Validate SCENARIO and print it resolved (defaults filled, extends merged).

    Also estimates the work of running it (contacts, memory, intervals): beyond the
    limits `run` would refuse, and so does `check` unless --force.
    """
    from simsvc.config.load import scenario_hash, scenario_yaml

    resolved = load_or_exit(scenario, overrides)
    check_work([resolved], resolved.replications, force)
    warn_capacity(resolved)
    if expected_contacts:
        _print_expected_contacts(scenario, resolved)
        return
    if not quiet:
        click.echo(f"# {scenario}: valid; hash {scenario_hash(resolved)[:16]}")
        click.echo(scenario_yaml(resolved), nl=False)


def _print_expected_contacts(path: str, resolved) -> None:
    import sys

    from simsvc.analytic.journey import expected_new_issues
    from simsvc.config.customers import STAGES

    if resolved.customers is None:
        click.echo(f"error: {path}: customers: the scenario has no customer population (journey mode)", err=True)
        sys.exit(2)
    quiet = resolved.model_copy(update={"customers": resolved.customers.model_copy(update={"feedback": False})})
    table = expected_new_issues(quiet)
    days = resolved.horizon / 86400
    by = table.groupby(["stage", "reason"], observed=True)["expected"].sum()
    rows = [["stage", "reason", "expected issues", "per day"]]
    for stage in STAGES:
        for (st, reason), value in by.items():
            if st == stage and value > 0:
                rows.append([stage, reason, f"{value:,.0f}", f"{value / days:,.1f}"])
    total = float(by.sum())
    rows.append(["all", "all", f"{total:,.0f}", f"{total / days:,.1f}"])
    click.echo(f"# {path}: new issues opened by customers over {days:g} days, expected from the parameters "
               "alone (no churn or referrals, so an upper bound when feedback is on; follow-up "
               "suppression of complaints and contact_hours at the horizon edge ignored)")
    click.echo(text_table(rows))
