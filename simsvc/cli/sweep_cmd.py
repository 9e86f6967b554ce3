"""`simsvc sweep`: a grid over one or more scenario parameters."""
from __future__ import annotations

from pathlib import Path

import click

from simsvc.cli._common import (
    InPath,
    by_mean_option,
    check_report_options,
    decision_text,
    executor_options,
    no_report_option,
    points_summary,
    run_design,
    set_option,
    svg_option,
    with_precision,
    write_report_or_warn,
)


@click.command()
@click.argument("scenario", type=InPath(dir_okay=False))
@click.option("--vary", "varies", multiple=True, required=True, metavar="PATH=START:STOP[:STEP]|a,b,c",
              help="A parameter and its values, e.g. agents.team.staffing=8:16:1 (repeatable: a grid).")
@executor_options
@no_report_option
@svg_option
@set_option
@click.option("--metric", "-m", "metrics", multiple=True, metavar="METRIC[@CHANNEL]",
              help="Metrics to report per point (default: SL, abandonment, ASA, occupancy, cost).")
@click.option("--target", "-t", "targets", multiple=True, metavar="'METRIC[@CHANNEL] >= VALUE'",
              help="A requirement, e.g. 'service_level@phone >= 0.8' (repeatable); marks feasible points.")
@by_mean_option
def sweep(scenario, varies, reps, seed, workers, dask_address, out, precision, precision_metrics, max_reps,
          force, overrides, metrics, targets, no_report, svg, by_mean):
    """Run SCENARIO at every point of a parameter grid: one summary row per point."""
    check_report_options(no_report, svg)
    from simsvc.cli._common import echo_scenario_error, fail, load_or_exit
    from simsvc.experiment.safepath import RESULTS_ROOT, results_folder
    from simsvc.config.load import ScenarioError
    from simsvc.experiment.design import (Design, MetricRef, Target, Variant, baseline_settings, grid_variants,
                                          parse_vary)

    base_scenario = load_or_exit(scenario, overrides)
    pairs = []
    for text in varies:
        try:
            pairs.append(parse_vary(text))
        except (ValueError, ScenarioError) as exc:
            fail(f"--vary {exc}")
    vary = dict(pairs)
    if len(vary) < len(pairs):
        repeated = sorted({p for p, _ in pairs if sum(q == p for q, _ in pairs) > 1})
        fail(f"--vary: {', '.join(repeated)} is varied more than once; give its values in one "
             "--vary (a range or a list)")
    try:
        refs = [MetricRef.parse(m) for m in metrics]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--metric") from None
    try:
        goals = [Target.parse(t) for t in targets]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--target") from None
    try:
        variants = grid_variants(Variant("", base_scenario, {}, str(scenario), tuple(overrides)), vary, scenario)
    except ScenarioError as exc:
        echo_scenario_error(exc)
        raise SystemExit(2) from None
    label = "-".join(p.rsplit(".", 1)[-1] for p in vary)
    n_reps, root_seed, sources = baseline_settings(
        [Variant(base_scenario.name, base_scenario)], reps, seed)
    design = Design(name=f"{base_scenario.name}-sweep-{label}", kind="sweep", variants=variants,
                    replications=n_reps, seed=root_seed, sources=sources, metrics=refs, targets=goals,
                    by_mean=by_mean)
    design = with_precision(design, precision, precision_metrics, max_reps)
    folder = Path(out) if out else results_folder(RESULTS_ROOT, "sweep", design.name)
    result = run_design(design, folder, workers, dask_address, force)
    click.echo(points_summary(result))
    if goals:
        click.echo(f"\n{decision_text(result)}")
    click.echo(f"\n{design.settings_text()}")
    click.echo(f"{len(variants)} points, {result.ran} replications run, {result.reused} reused; "
               f"results: {folder}")
    if not no_report:
        write_report_or_warn(folder, svg=svg)
