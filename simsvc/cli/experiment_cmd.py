"""`simsvc experiment`: run an experiment file (scenarios, variants, sweeps, targets)."""
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
    svg_option,
    with_precision,
    write_report_or_warn,
)


@click.command()
@click.argument("experiment_file", type=InPath(dir_okay=False))
@executor_options
@no_report_option
@svg_option
@by_mean_option
def experiment(experiment_file, reps, seed, workers, dask_address, out, precision, precision_metrics,
               max_reps, force, no_report, svg, by_mean):
    """Run EXPERIMENT_FILE; mark the points that meet all targets and the cheapest one."""
    check_report_options(no_report, svg)
    import dataclasses

    from simsvc.cli._common import echo_scenario_error
    from simsvc.config.load import ScenarioError
    from simsvc.experiment.design import load_experiment
    from simsvc.experiment.safepath import RESULTS_ROOT, results_folder

    try:
        design = load_experiment(experiment_file)
    except ScenarioError as exc:
        echo_scenario_error(exc)
        raise SystemExit(2) from None
    if reps is not None:
        design = dataclasses.replace(design, replications=reps, sources={**design.sources, "replications": "--reps"})
    if seed is not None:
        design = dataclasses.replace(design, seed=seed, sources={**design.sources, "seed": "--seed"})
    design = with_precision(design, precision, precision_metrics, max_reps)
    if by_mean:
        design = dataclasses.replace(design, by_mean=True)
    folder = Path(out) if out else results_folder(RESULTS_ROOT, design.name)
    result = run_design(design, folder, workers, dask_address, force)
    click.echo(points_summary(result))
    if design.targets:
        click.echo(f"\n{decision_text(result)}")
    click.echo(f"{design.settings_text()}")
    click.echo(f"{len(design.variants)} points, {result.ran} replications run, {result.reused} reused; "
               f"results: {folder}")
    if not no_report:
        write_report_or_warn(folder, svg=svg)
