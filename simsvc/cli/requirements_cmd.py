"""`simsvc requirements`: the agents an Erlang calculator staffs, per pool × interval."""
from __future__ import annotations

import click

from simsvc.cli._common import InPath, OutFolder

from simsvc.cli._plan_common import fail, load_targets, max_occupancy_option, out_dir_or_exit, pool_table, target_option


@click.command()
@click.argument("scenario", type=InPath(dir_okay=False))
@target_option
@max_occupancy_option
@click.option("--out", "-o", type=OutFolder(), default=None,
              help="Folder to write (default: results/<scenario-name>/requirements/<UTC timestamp>/).")
def requirements(scenario: str, targets: tuple[str, ...], max_occupancy: float | None, out: str | None) -> None:
    """Analytic requirements of SCENARIO per pool × interval (Erlang A/C, async workload, shrinkage).

    Writes requirements.csv (pool × channel × interval, and each pool's total as
    channel 'all'), staffing_<pool>.csv and scenario.yaml: the Erlang plan as a
    scenario that extends SCENARIO and runs as it is.
    """
    from simsvc.plan import PlanError
    from simsvc.experiment.safepath import write_folder
    from simsvc.plan.requirements import erlang_blind_spots, erlang_plan, plan_totals, requirements as compute
    from simsvc.plan.scenarios import plan_files

    resolved, goals = load_targets(scenario, targets)
    path = out_dir_or_exit(out, resolved.name, "requirements")
    try:
        req = compute(resolved, goals, max_occupancy)
        plan, unplannable = erlang_plan(req)
        files = plan_files(resolved, scenario, path, plan, "erlang",
                           f"Erlang requirements of {resolved.name} ({'; '.join(map(str, goals)) or 'no target'})")
    except PlanError as exc:
        fail(str(exc))
    files["requirements.csv"] = req
    write_folder(path, files, float_format="%.6g")
    click.echo("targets: " + ("; ".join(map(str, goals)) or "none")
               + (f"; occupancy <= {max_occupancy:g}" if max_occupancy else ""))
    click.echo(pool_table(plan_totals(resolved, req)))
    for note in [*unplannable, *erlang_blind_spots(resolved)]:
        click.echo(f"warning: {note}", err=True)
    click.echo(f"\nrequirements: {path / 'requirements.csv'}")
    click.echo(f"scenario: {path / 'scenario.yaml'}  (simsvc run it to see how the Erlang plan does)")
