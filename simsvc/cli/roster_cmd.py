"""`simsvc roster`: shifts per pool that cover interval requirements at the least paid cost."""
from __future__ import annotations

import click

from simsvc.cli._common import FiniteFloat, InPath, OutFolder
from simsvc.cli._plan_common import fail, out_dir_or_exit

RULES_HELP = """Rules file (YAML): per pool, shift types with days, starts {from, to, every},
lengths {min, max, step} (start to end, unpaid break included), an optional
break {over, length, after_start, before_end}, min_agents and max_agents per
shift, and an optional cost_per_hour. Example: scenarios/baseline_roster_rules.yaml."""

time_limit_option = click.option("--time-limit", type=FiniteFloat(min=1), default=60.0, show_default=True,
                                 help="Seconds the integer-program solver may take per pool (per solve).")
gap_option = click.option("--gap", type=FiniteFloat(0, 0.5), default=0.002, show_default=True,
                          help="Relative optimality gap at which the solver stops (0.002 = 0.2 %).")


def load_rules_or_exit(path: str, scenario, pools: list[str]):
    from simsvc.config.errors import ScenarioError
    from simsvc.cli._common import echo_scenario_error
    from simsvc.plan.rules import check_against, load_rules

    try:
        rules = load_rules(path)
        check_against(rules, scenario, path, pools)
    except ScenarioError as exc:
        echo_scenario_error(exc)
        raise SystemExit(2)
    return rules


def coverage_png(cov, interval_s: float) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    from simsvc.report.roster_plots import png, roster_coverage

    return {"coverage.png": png(roster_coverage(cov, interval_s))}


def totals_text(tot) -> str:
    from simsvc.cli._common import text_table

    rows = [["pool", "shifts", "paid hours", "cost", "LP bound", "gap", "over hours", "input cost", "solve"]]
    for r in tot.itertuples():
        rows.append([r.pool, f"{r.shifts:,}", f"{r.paid_hours:,.1f}", f"{r.cost:,.0f}", f"{r.lp_bound:,.0f}",
                     f"{r.gap_to_lp:.2%}".replace("%", " %"), f"{r.over_hours:,.1f}", f"{r.input_cost:,.0f}",
                     f"{r.solve_s:.1f} s"])
    return text_table(rows)


def _requirement_specs(values: tuple[str, ...]) -> tuple[str, ...]:
    """Each --requirements names a file: an empty value, or POOL= / =FILE with an empty part, is refused."""
    from pathlib import Path

    for value in values:
        pool, sep, file = value.partition("=")
        if not value.strip():
            raise click.BadParameter(f"{value!r} is an empty file name; give FILE.csv or POOL=FILE.csv",
                                     param_hint="--requirements")
        if sep and not (pool.strip() and file.strip()) and not Path(value).exists():
            part = "pool" if not pool.strip() else "file"
            raise click.BadParameter(f"{value!r} has an empty {part} name; give FILE.csv or POOL=FILE.csv",
                                     param_hint="--requirements")
    return values


@click.command(epilog=RULES_HELP)
@click.argument("scenario", type=InPath(dir_okay=False))
@click.option("--requirements", "requirements_csv", required=True, multiple=True, metavar="[POOL=]FILE.csv",
              callback=lambda ctx, param, values: _requirement_specs(values),
              help="requirements.csv of simsvc requirements or staffing.csv of simsvc staff (agents on duty, "
                   "net of shrinkage, per pool × interval), or POOL=FILE.csv: one pool's staffing table "
                   "(day,start,agents scheduled, as staffing: {csv:} loads). Repeatable, one source per pool.")
@click.option("--rules", "rules_path", required=True, type=InPath(dir_okay=False), help="Roster rules (YAML).")
@time_limit_option
@gap_option
@click.option("--out", "-o", type=OutFolder(), default=None,
              help="Folder to write (default: results/<scenario-name>/roster/<UTC timestamp>/).")
def roster(scenario: str, requirements_csv: tuple[str, ...], rules_path: str, time_limit: float, gap: float,
           out: str | None) -> None:
    """Shifts for SCENARIO's pools that cover every interval's requirement at the least paid cost.

    A set-covering integer program per pool (scipy's HiGHS). Writes shifts.yaml
    (the shifts: block per pool), scenario.yaml (extends SCENARIO with the shifts,
    runs as it is), roster.csv, coverage.csv (required vs rostered per pool ×
    interval), totals.csv (paid hours, cost, LP bound, gap) and coverage.png.
    """
    from simsvc.cli._common import load_or_exit
    from simsvc.experiment.safepath import write_folder
    from simsvc.plan import PlanError
    from simsvc.plan.roster import RosterOptions, roster as solve
    from simsvc.plan.roster_io import read_requirement_files, roster_files

    resolved = load_or_exit(scenario)
    try:
        net = read_requirement_files(requirements_csv, resolved)   # net; gross = ceil(net / (1 − s))
    except PlanError as exc:
        fail(str(exc))
    rules = load_rules_or_exit(rules_path, resolved, list(net))
    path = out_dir_or_exit(out, resolved.name, "roster")
    try:
        result = solve(resolved, rules, net, RosterOptions(time_limit_s=time_limit, mip_rel_gap=gap))
        files, cov, tot = roster_files(resolved, scenario, path, result, net,
                                       f"Rostered from {', '.join(requirements_csv)} under {rules_path}")
    except PlanError as exc:
        fail(str(exc))
    files.update(coverage_png(cov, resolved.interval))
    write_folder(path, files, float_format="%.6g")
    click.echo(totals_text(tot))
    under = cov.groupby("pool", sort=False)["under_on_duty"].sum()
    if (under > 0).any():   # cannot happen by construction: say so loudly if it ever does
        click.echo("warning: some intervals are short of the requirement on duty: see coverage.csv", err=True)
    click.echo(f"\nshifts: {path / 'shifts.yaml'}")
    click.echo(f"scenario: {path / 'scenario.yaml'}  (simsvc run it to verify the roster by simulation)")


def staff_with_shifts(scenario: str, resolved, goals, rules_path: str, options, path, progress) -> None:
    """`simsvc staff --shifts RULES.yaml`: requirements → roster → simulate → raise, until the targets are met."""
    import pandas as pd

    from simsvc.experiment.safepath import write_folder
    from simsvc.plan import PlanError
    from simsvc.plan.roster_io import roster_files
    from simsvc.plan.staff_shifts import staff_shifts

    planned = list(options.pools) if options.pools else None
    try:
        if planned is None:
            from simsvc.plan.requirements import requirements

            planned = list(dict.fromkeys(requirements(resolved, goals, options.max_occupancy)["pool"]))
        rules = load_rules_or_exit(rules_path, resolved, planned)
        result = staff_shifts(resolved, goals, rules, options, progress=progress)
        files, cov, tot = roster_files(resolved, scenario, path, result.roster, result.requirement,
                                       "Shifts staffed by simulation: " + "; ".join(map(str, goals)))
    except PlanError as exc:
        fail(str(exc))
    iterations = pd.DataFrame([{"iteration": it.number, "replications": result.replications,
                                "missed": it.missed, "checked": it.checked, "raised": it.raised,
                                "paid_hours": it.paid_hours, "cost": it.cost} for it in result.iterations])
    files.update({"verification.csv": result.verification, "iterations.csv": iterations,
                  "requirements.csv": result.requirements})
    files.update(coverage_png(cov, resolved.interval))
    write_folder(path, files, float_format="%.6g")
    from simsvc.cli._common import text_table

    rows = [["iteration", "replications", "intervals missed", "requirements raised", "paid hours", "cost"]]
    rows += [[str(r.iteration), str(r.replications), f"{r.missed} of {r.checked}", str(r.raised),
              f"{r.paid_hours:,.1f}", f"{r.cost:,.0f}"] for r in iterations.itertuples()]
    click.echo(text_table(rows))
    if not result.met:
        click.echo(f"warning: after {len(result.iterations)} iterations some intervals still miss their target; "
                   "the plan written is the one with the fewest misses (raise --max-iterations, relax the target "
                   "or widen the rules)", err=True)
    click.echo("")
    click.echo(totals_text(tot))
    click.echo("")
    for target, rows_ in result.verification.groupby("target", sort=False):
        counts = rows_["status"].value_counts()
        click.echo(f"{target}: met in {counts.get('met', 0)} of {len(rows_)} intervals, uncertain "
                   f"{counts.get('uncertain', 0)}, not met {counts.get('not met', 0)}, "
                   f"few contacts {counts.get('few contacts', 0)}"
                   + (f", availability 0 {counts['availability 0']}" if counts.get("availability 0") else "")
                   + " "
                   f"({result.confirm_replications} fresh replications, seed {result.confirm_seed})")
    click.echo(f"shifts: {path / 'shifts.yaml'}")
    click.echo(f"scenario: {path / 'scenario.yaml'}")
    click.echo(f"results: {path}")
