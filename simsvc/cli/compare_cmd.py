"""`simsvc compare`: several scenarios on common random numbers, with paired differences."""
from __future__ import annotations

from pathlib import Path

import click

from simsvc.cli._common import (
    InPath,
    check_report_options,
    executor_options,
    mean_ci_text,
    no_report_option,
    run_design,
    set_option,
    svg_option,
    text_table,
    with_precision,
    write_report_or_warn,
)


@click.command()
@click.argument("scenarios", nargs=-1, required=True, type=InPath(dir_okay=False))
@executor_options
@no_report_option
@svg_option
@set_option
@click.option("--independent-seeds", is_flag=True,
              help="Give each scenario its own seed instead of common random numbers.")
@click.option("--metric", "-m", "metrics", multiple=True, metavar="METRIC[@CHANNEL]",
              help="Metrics to show (default: service level, abandonment, ASA, occupancy, cost).")
def compare(scenarios, reps, seed, workers, dask_address, out, precision, precision_metrics, max_reps,
            force, overrides, independent_seeds, metrics, no_report, svg):
    """Compare SCENARIOS (the first is the baseline) on common random numbers.

    Prints each scenario's mean and 95 % CI per metric and the paired difference
    to the first scenario; * marks differences whose CI excludes zero.
    """
    check_report_options(no_report, svg)
    from simsvc.cli._common import load_or_exit
    from simsvc.experiment.safepath import RESULTS_ROOT, results_folder
    from simsvc.experiment.design import Design, MetricRef, Variant, baseline_settings, unique_names

    if len(scenarios) < 2:
        raise click.BadParameter("give at least two scenario files", param_hint="SCENARIOS")
    variants = []
    for path in scenarios:
        scenario = load_or_exit(path, overrides)
        variants.append(Variant(scenario.name, scenario, {}, str(path), tuple(overrides)))
    variants = unique_names(variants)
    try:
        refs = [MetricRef.parse(m) for m in metrics]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--metric") from None
    n_reps, root_seed, sources = baseline_settings(variants, reps, seed)
    design = Design(name="-vs-".join(v.name for v in variants), kind="compare", variants=variants,
                    replications=n_reps, seed=root_seed, sources=sources,
                    independent_seeds=independent_seeds, metrics=refs)
    design = with_precision(design, precision, precision_metrics, max_reps)
    folder = Path(out) if out else results_folder(RESULTS_ROOT, "compare", design.name)
    result = run_design(design, folder, workers, dask_address, force)
    click.echo(comparison_table(result))
    click.echo(f"\n{design.settings_text()}; {result.ran} replications run, {result.reused} reused")
    click.echo(f"results: {folder}")
    if not no_report:
        write_report_or_warn(folder, svg=svg)


def comparison_table(result) -> str:
    """Means with CIs per scenario and paired differences to the first.

    A channel or metric only some scenarios have gets ``–`` for the others, and no
    difference where the baseline lacks it (nothing to pair with); a line under the
    table says so. A metric asked for by name that no scenario has is shown as ``–``
    throughout, not left out.
    """
    import pandas as pd

    from simsvc.cli._common import NA
    from simsvc.experiment.experiment import DEFAULT_METRICS

    cmp = result.comparison
    refs = result.design.metrics or DEFAULT_METRICS
    names = [v.name for v in result.design.variants]
    header = ["metric"] + names + [f"{n} - {names[0]}" for n in names[1:]]
    rows = [header]
    channels = list(dict.fromkeys(cmp["channel"]))
    shown: dict[str, None] = {}   # channels with a row in the table, in table order
    for ref in refs:
        for channel in ([ref.channel] if ref.channel != "all" or result.design.metrics else channels):
            sel = cmp[(cmp.metric == ref.metric) & (cmp.channel == channel)]
            if (sel.empty or sel["mean"].isna().all()) and not result.design.metrics:
                continue
            row = [f"{ref.metric}@{channel}"]
            for name in names:
                r = sel[sel.name == name]
                row.append(NA if r.empty else mean_ci_text(r.iloc[0]["mean"], r.iloc[0]["ci_low"],
                                                           r.iloc[0]["ci_high"]))
            for name in names[1:]:
                r = sel[sel.name == name]
                if r.empty or pd.isna(r.iloc[0]["diff"]):
                    row.append(NA + "  ")
                    continue
                r = r.iloc[0]
                row.append(mean_ci_text(r["diff"], r["diff_low"], r["diff_high"], signed=True)
                           + (" *" if r["significant"] else "  "))
            rows.append(row)
            shown[channel] = None
    table = text_table(rows)
    if any(cell.strip() == NA for row in rows[1:] for cell in row[1:]):
        lacking = [f"{v.name} has no {', '.join(c for c in shown if c != 'all' and c not in v.scenario.channels)}"
                   for v in result.design.variants
                   if any(c != "all" and c not in v.scenario.channels for c in shown)]
        table += (f"\n\n{NA}: not measured in that scenario" + (f" ({'; '.join(lacking)})" if lacking else "")
                  + f"; what the baseline {names[0]} lacks has no paired difference")
    return table
