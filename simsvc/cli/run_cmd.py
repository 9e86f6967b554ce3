"""`simsvc run`: simulate a scenario and write a results folder."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import click

from simsvc.cli._common import load_or_exit, no_report_option, set_option, text_table, write_report_or_warn


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--reps", "-n", type=click.IntRange(min=1), default=None,
              help="Replications (default: the scenario's `replications`).")
@click.option("--seed", "-s", type=click.IntRange(min=0), default=None,
              help="Root seed (default: the scenario's `seed`, else a fresh one, recorded).")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=None,
              help="Local processes for replications (default: number of cores).")
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="Results folder (default: results/<scenario-name>/<UTC timestamp>/).")
@set_option
@click.option("--no-contacts", is_flag=True, help="Do not write contacts.parquet and issues.parquet (large runs).")
@no_report_option
def run(scenario: str, reps: int | None, seed: int | None, workers: int | None, out: str | None,
        overrides: tuple[str, ...], no_contacts: bool, no_report: bool) -> None:
    """Simulate SCENARIO and write contacts, intervals, summary and a manifest."""
    from simsvc.experiment.output import default_out_dir, write_results
    from simsvc.experiment.runner import default_workers
    from simsvc.experiment.runner import run as run_scenario

    resolved = load_or_exit(scenario, overrides)
    n_reps = reps or resolved.replications
    n_workers = workers or min(default_workers(), n_reps)
    out_dir = Path(out) if out else default_out_dir("results", resolved.name)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise click.BadParameter(f"{out_dir} already exists and is not empty", param_hint="--out")

    from tqdm import tqdm

    bar = tqdm(total=n_reps, unit="rep", desc=resolved.name, delay=1.0, file=sys.stderr,
               disable=None, leave=False)

    def progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    try:
        result = run_scenario(resolved, replications=n_reps, seed=seed, workers=n_workers,
                              keep_contacts=not no_contacts, progress=progress)
    finally:
        bar.close()
    from simsvc.plan.requirements import required_columns  # issue 9: Erlang's answer beside the simulation
    result.intervals, result.pools = required_columns(resolved, result.intervals, result.pools)
    path = write_results(result, out_dir)
    click.echo(summary_table(result.summary))
    if not result.journey.empty:
        click.echo("\n" + customers_table(result.journey))
    click.echo(f"\n{n_reps} replications, seed {result.seed}, "
               f"{result.manifest['arrivals']:,} contacts, {result.manifest['wall_s']:.1f} s")
    click.echo(f"results: {path}")
    if not no_report:
        write_report_or_warn(path)


_COLUMNS = [
    # (metric, header, scale, decimals)
    ("offered", "offered", 1, 0),
    ("answered", "answered", 1, 0),
    ("abandon_rate", "abandon %", 100, 1),
    ("service_level", "SL %", 100, 1),
    ("asa_s", "ASA s", 1, 1),
    ("aht_s", "AHT s", 1, 0),
    ("occupancy", "occ %", 100, 1),
    ("fcr", "FCR %", 100, 1),
    ("csat", "CSAT %", 100, 1),
    ("backlog_end", "backlog", 1, 0),
]


def _cell(summary, channel: str, metric: str, scale: float, decimals: int) -> str:
    row = summary[(summary.channel == channel) & (summary.metric == metric)]
    if row.empty or not math.isfinite(row["mean"].iloc[0]):
        return "-"
    mean = row["mean"].iloc[0] * scale
    text = f"{mean:,.{decimals}f}"
    low, high = row["ci_low"].iloc[0], row["ci_high"].iloc[0]
    if decimals and math.isfinite(low) and math.isfinite(high):
        text += f" ±{(high - low) / 2 * scale:.{decimals}f}"
    return text


def summary_table(summary) -> str:
    """A plain aligned table, one row per channel (means ± 95 % CI half-widths)."""
    channels = list(dict.fromkeys(summary["channel"]))
    header = ["channel"] + [h for _, h, _, _ in _COLUMNS]
    rows = [header] + [[ch] + [_cell(summary, ch, m, s, d) for m, _, s, d in _COLUMNS] for ch in channels]
    return text_table(rows)


_CUSTOMER_COLUMNS = [
    # (metric, header, scale, decimals): journey.csv's per-segment rows (stage "all")
    ("customers_active_end", "active at end", 1, 0),
    ("purchases", "purchases", 1, 0),
    ("revenue", "revenue", 1, 0),
    ("lost_prospects", "lost prospects", 1, 0),
    ("churned", "churned", 1, 0),
    ("churn_rate", "churn %/30d", 100, 2),
    ("revenue_lost_to_churn", "revenue lost", 1, 0),
    ("clv_mean", "mean CLV", 1, 1),
    ("satisfaction_end_mean", "satisfaction", 1, 3),
]


def customers_table(journey) -> str:
    """Journey mode: one row per segment (and all), customer metrics with 95 % CI half-widths."""
    per_segment = journey[journey["stage"] == "all"].rename(columns={"segment": "channel"})
    segments = [s for s in dict.fromkeys(per_segment["channel"]) if s != "all"] + ["all"]
    header = ["segment"] + [h for _, h, _, _ in _CUSTOMER_COLUMNS]
    rows = [header] + [[seg] + [_cell(per_segment, seg, m, s, d) for m, _, s, d in _CUSTOMER_COLUMNS]
                       for seg in segments]
    return text_table(rows)
