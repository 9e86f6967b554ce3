"""`simsvc staff`: the fewest agents per pool × interval that meet per-interval targets in simulation."""
from __future__ import annotations

import click

from simsvc.cli._common import FiniteFloat, InPath, OutFolder, Replications, split_list
from simsvc.cli._plan_common import fail, load_targets, max_occupancy_option, out_dir_or_exit, pool_table, target_option


@click.command()
@click.argument("scenario", type=InPath(dir_okay=False))
@target_option
@click.option("--pools", default=None, metavar="A,B",
              help="Pools to plan (default: every pool with work); the others keep the scenario's schedule.")
@click.option("--reps", "-n", type=Replications(min=2), default=4, show_default=True,
              help="Replications per iteration (common random numbers: the same customers every iteration).")
@click.option("--confirm-reps", type=Replications(min=2), default=10, show_default=True,
              help="Fresh replications (another seed) that verify the plan found.")
@click.option("--max-iterations", type=click.IntRange(min=1), default=15, show_default=True,
              help="Stop after this many iterations: the answer is then the cheapest plan that met every "
                   "target on the way (exit 2, with the best value reached, if none did).")
@click.option("--seed", "-s", type=click.IntRange(min=0), default=None,
              help="Root seed of the iterations (default: the scenario's); the confirmation uses seed + 1.")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=None,
              help="Local processes for replications (default: number of cores).")
@click.option("--min-contacts", type=FiniteFloat(min=0), default=5.0, show_default=True,
              help="Intervals with fewer contacts per replication are reported but not staffed for (noise).")
@max_occupancy_option
@click.option("--shifts", "shifts_rules", default=None, type=InPath(dir_okay=False), metavar="RULES.yaml",
              help="Plan shifts under these roster rules instead of per-interval staffing: requirements → "
                   "roster → simulate → raise where an interval misses → roster again (see simsvc roster).")
@click.option("--out", "-o", type=OutFolder(), default=None,
              help="Folder to write (default: results/<scenario-name>/staff/<UTC timestamp>/).")
@click.option("--every-interval/--overall", "every_interval", default=True, show_default=True,
              help="Meet each target in every open interval (default), or over the whole horizon after the "
                   "warm-up (--overall: the cheapest scaling of the Erlang plan, per target's pool).")
# --objective profit (journey mode): the staffing level with the highest net value.
@click.option("--objective", type=click.Choice(["targets", "profit"]), default="targets", show_default=True,
              help="targets: the fewest agents meeting --target; profit (journey mode): the staffing level "
                   "maximising net value = revenue - revenue lost to churn - agent cost.")
@click.option("--vary-pools", default=None, metavar="A,B",
              help="profit: pools whose staffing varies (default: every pool); the others keep theirs.")
@click.option("--levels", default=None, metavar="START:STOP:STEP|F1,F2",
              help="profit: factors scaling each varied pool's schedule, every shift's (step's) agents "
                   "rounded half up (default 0.7:1.3:0.1; 1 = the scenario's own staffing, always included).")
@click.option("--agents", "agent_counts", multiple=True, metavar="POOL=N1,N2,...",
              help="profit, instead of --levels: constant scheduled agents per pool (repeatable; level k "
                   "takes the k-th value of every pool).")
def staff(scenario: str, targets: tuple[str, ...], pools: str | None, reps: int, confirm_reps: int,
          max_iterations: int, seed: int | None, workers: int | None, min_contacts: float,
          max_occupancy: float | None, shifts_rules: str | None, out: str | None, objective: str, vary_pools: str | None,
          levels: str | None, agent_counts: tuple[str, ...], every_interval: bool) -> None:
    """Staff SCENARIO by simulation so every open interval meets every target.

    Starts from the Erlang requirement, simulates, raises intervals that miss and
    lowers those comfortably met until the staffing settles (Feldman, Mandelbaum,
    Massey & Whitt 2008), then verifies with fresh replications. Writes
    staffing_<pool>.csv, scenario.yaml (extends SCENARIO, runs as it is),
    staffing.csv, verification.csv, iterations.csv, totals.csv, requirements.csv and
    staffing.png.

    With --objective profit (journey mode) it evaluates staffing levels on common
    random numbers instead and writes levels.csv, replications.csv, profit.png and
    scenario.yaml (the best level).
    """
    import sys

    if objective == "profit":
        from simsvc.cli._plan_common import fail as _fail
        from simsvc.cli.profit_cmd import staff_profit

        if targets:
            _fail("--target does not apply to --objective profit (it maximises net value); drop one of them")
        ctx = click.get_current_context()
        given = ["/".join(p.opts + p.secondary_opts) if p.secondary_opts else p.opts[-1]
                 for p in ctx.command.params
                 if p.name in ("pools", "confirm_reps", "max_iterations", "min_contacts", "max_occupancy",
                               "shifts_rules", "every_interval")
                 and ctx.get_parameter_source(p.name) is not click.core.ParameterSource.DEFAULT]
        if given:
            _fail(f"{', '.join(given)} do(es) not apply to --objective profit (use --vary-pools, --levels "
                  "or --agents, --reps)")
        staff_profit(scenario, vary_pools, levels, agent_counts, reps, seed, workers, out)
        return
    if vary_pools is not None or levels is not None or agent_counts:
        from simsvc.cli._plan_common import fail as _fail

        _fail("--vary-pools, --levels and --agents belong to --objective profit")

    from tqdm import tqdm

    from simsvc.experiment.runner import default_workers
    from simsvc.plan import PlanError
    from simsvc.experiment.safepath import write_folder
    from simsvc.plan.scenarios import plan_files
    from simsvc.plan.staff import staff as run_staff
    from simsvc.plan.staff_base import StaffOptions
    from simsvc.plan.staff_overall import staff_overall

    pool_names = tuple(split_list(pools, "--pools", "pools")) if pools is not None else None
    resolved, goals = load_targets(scenario, targets, blocked_is_lost=False)   # the simulation's abandon_rate
    path = out_dir_or_exit(out, resolved.name, "staff")
    options = StaffOptions(replications=reps, confirm_replications=confirm_reps, max_iterations=max_iterations,
                           seed=seed, workers=workers or default_workers(),
                           pools=pool_names,
                           max_occupancy=max_occupancy, min_contacts=min_contacts)
    bar = tqdm(total=0, unit="rep", desc="iteration 1", file=sys.stderr, disable=None, leave=False,
               dynamic_ncols=True)

    current = {"stage": None, "base": 0, "total": 0}

    def progress(stage: str, done: int, total: int) -> None:
        # Replications accumulate over iterations; the description names the stage.
        if current["stage"] != stage:
            current["base"] = current["total"]
            current["total"] += total
            current["stage"] = stage
            bar.set_description_str(stage, refresh=False)
            bar.total = current["total"]
        bar.update(current["base"] + done - bar.n)

    if shifts_rules is not None:   # shifts under roster rules (issue 9 item 3)
        if not every_interval:
            bar.close()
            fail("--shifts meets the targets in every interval; it does not combine with --overall")
        from simsvc.cli.roster_cmd import staff_with_shifts

        try:
            staff_with_shifts(scenario, resolved, goals, shifts_rules, options, path, progress)
        finally:
            bar.close()
        return
    try:
        result = (run_staff if every_interval else staff_overall)(resolved, goals, options, progress)
        files = plan_files(resolved, scenario, path, result.plan, "staffed",
                           "Staffed by simulation: " + "; ".join(map(str, goals)))
    except PlanError as exc:
        bar.close()
        fail(str(exc))
    finally:
        bar.close()
    table = result.staffing_table(resolved)
    totals = result.totals(resolved)
    iterations = _iterations_frame(result)
    files.update({"staffing.csv": table, "verification.csv": result.verification, "totals.csv": totals,
                  "iterations.csv": iterations, "requirements.csv": result.requirements})
    by_interval = result.verification if every_interval else result.interval_verification
    if not every_interval:
        files["verification_intervals.csv"] = by_interval
    files.update(_plot(table, by_interval, resolved.interval))
    write_folder(path, files, float_format="%.6g")

    for note in result.warnings:
        click.echo(note)
    click.echo(_iterations_text(iterations, "intervals missed" if every_interval else "targets missed"))
    if not result.stable:
        click.echo(f"the staffing had not settled after {len(result.iterations)} iterations: the plan is the "
                   "cheapest one that met every target on the way (raise --max-iterations to go on lowering)")
    click.echo("")
    click.echo(pool_table(totals))
    click.echo("")
    v = result.verification
    if not every_interval:
        for r in v.itertuples():
            click.echo(f"{r.target} over the horizon: {r.value:.4g} (95 % CI {r.ci_low:.4g} to {r.ci_high:.4g}), "
                       f"{r.status}; {r.pool} at {r.factor:.3g} x the {r.of_plan} plan "
                       f"({result.confirm_replications} fresh replications, seed {result.confirm_seed})")
    for target, rows in (v.groupby("target", sort=False) if every_interval else ()):
        counts = rows["status"].value_counts()
        click.echo(f"{target}: met in {counts.get('met', 0)} of {len(rows)} intervals, uncertain "
                   f"{counts.get('uncertain', 0)}, not met {counts.get('not met', 0)}, "
                   f"few contacts {counts.get('few contacts', 0)}"
                   + (f", availability 0 {counts['availability 0']}" if counts.get("availability 0") else "")
                   + " "
                   f"({result.confirm_replications} fresh replications, seed {result.confirm_seed})")
    click.echo(f"scenario: {path / 'scenario.yaml'}")
    click.echo(f"results: {path}")


def _iterations_frame(result):
    import pandas as pd

    return pd.DataFrame([{"iteration": it.number, "replications": result.replications,
                          "missed": it.missed, "checked": it.checked, "changed": it.changed,
                          "agent_hours": it.agent_hours} for it in result.iterations])


def _iterations_text(frame, missed: str = "intervals missed") -> str:
    from simsvc.cli._common import text_table

    rows = [["iteration", "replications", missed, "levels changed" if missed.startswith("intervals") else "pools moved",
             "agent hours"]]
    rows += [[str(r.iteration), str(r.replications), f"{r.missed} of {r.checked}", str(r.changed),
              f"{r.agent_hours:,.0f}"] for r in frame.itertuples()]
    return text_table(rows)


def _plot(table, verification, interval_s: float) -> dict[str, bytes]:
    from io import BytesIO

    import matplotlib

    matplotlib.use("Agg")
    from simsvc.report import style
    from simsvc.report.staffing_plots import staffing_plan

    fig = staffing_plan(table, verification, interval_s)
    buf = BytesIO()
    with style.context():
        fig.savefig(buf, format="png", dpi=style.DPI, metadata={"Software": None})
    return {"staffing.png": buf.getvalue()}
