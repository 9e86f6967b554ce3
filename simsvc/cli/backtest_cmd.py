"""`simsvc backtest`: fit on some days of a log, predict the others, print the errors."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from simsvc.cli._common import InPath, OutFolder, Replications
from simsvc.cli.fit_cmd import (Progress, check_basis, check_classes, fit_options, log_options, read_or_exit,
                                resolve_gap, simulation_workers)

METRIC_LABELS = {"abandon_rate": "abandonment", "wait_mean_s": "mean wait s", "p_wait": "P(wait)",
                 "service_level": "SL"}


@click.command()
@click.argument("log", type=InPath(dir_okay=False))
@click.option("--fit-days", required=True, metavar="N-M", help="Days to fit on, 1 = the log's first date (e.g. 1-15).")
@click.option("--test-days", required=True, metavar="N-M", help="Days to predict (e.g. 16-31).")
@log_options
@click.option("--reps", "-n", type=Replications(min=2), default=6, show_default=True,
              help="Replications per prediction.")
@click.option("--mode", "modes", type=click.Choice(["replay", "forecast"]), multiple=True,
              help="Predictions to make (default both): replay = the test days' own arrivals and agents; "
                   "forecast = the fitted scenario as written.")
@click.option("--replay-handling", type=click.Choice(["fitted", "own"]), default="own", show_default=True,
              help="Handle times of the replays: fitted on the fit days, or the test days' own (their observed "
                   "work per contact, as the replay takes their observed arrivals).")
@click.option("--out", "-o", type=OutFolder(), default=None,
              help="Folder for backtest CSVs, the fitted scenario and the report (default: results/backtest/<log>/).")
@click.option("--no-report", is_flag=True, help="Do not write report.html and plots/.")
def backtest(log, fit_days, test_days, columns, weekdays, reps, modes, replay_handling, out, no_report,
             **shared) -> None:
    """Fit LOG on --fit-days, predict --test-days, and print observed vs predicted per hour."""
    import time

    from simsvc.calibrate.backtest import VARIANTS, days_without_forecast
    from simsvc.calibrate.backtest import backtest as run_backtest
    from simsvc.calibrate.fit import scenario_text
    from simsvc.calibrate.logs import parse_days
    from simsvc.calibrate.logs import LogError
    from simsvc.experiment.safepath import write_folder

    t0 = time.perf_counter()
    out_dir = Path(out) if out else Path("results") / "backtest" / Path(log).stem
    if out_dir.exists() and any(out_dir.iterdir()):
        raise click.BadParameter(f"{out_dir} already exists and is not empty", param_hint="--out")
    check_basis(shared)
    contact_log = read_or_exit(log, columns)
    check_classes(shared, contact_log)
    progress = Progress(f"backtest of {Path(log).name}")
    variants = [v for v in VARIANTS if not modes or v[0] in modes]
    with progress.working():
        fd = parse_days(fit_days, contact_log, weekdays, "--fit-days")
        td = parse_days(test_days, contact_log, weekdays, "--test-days")
        if set(fd) & set(td):
            raise LogError(contact_log.file, "--test-days", test_days, "days that are not fit days")
        unforecast = days_without_forecast(fd, td) if any(m == "forecast" for m, _ in variants) else []
        if unforecast and len(unforecast) == len(td) and set(modes) == {"forecast"}:
            raise LogError(contact_log.file, "--test-days", test_days,
                           f"for --mode forecast, test days on a weekday the fit days have ({_weekdays(fd)}): "
                           f"the fitted scenario forecasts no contacts on {_weekdays(td)}, as no fit day is one")
        with simulation_workers(shared):
            gap = resolve_gap(shared, contact_log, fd, progress)  # on the fit days only
            result = run_backtest(contact_log, fd, td, reps=reps, seed=shared["seed"], variants=variants,
                                  progress=progress, options=fit_options(shared), handling=replay_handling)
        if gap is not None:
            result.fit.notes.extend(gap.notes())
    files = {"backtest_hours.csv": result.hours, "backtest_summary.csv": result.summary,
             "fit/scenario.yaml": scenario_text(result.fit),
             **{f"fit/{k}": v for k, v in result.fit.tables.items()}}
    command = "simsvc backtest " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else ""
    if not no_report:
        from simsvc.calibrate.report import backtest_report

        files.update(backtest_report(result, command))
    write_folder(out_dir, files)
    trace = shared["replay_arrivals"] == "trace"
    handles = ("their own" if trace else "test days’ own") if replay_handling == "own" else "fitted"
    click.echo(f"fit days {len(fd)}, test days {len(td)}, {reps} replications; errors are predicted − observed "
               f"over the test days (all hours), hourly MAE over hours with ≥ 100 contacts; replays with the "
               f"{'test days’ logged arrivals and ' if trace else ''}{handles} handle times"
               + (f", effective = agents seen × the hour's factor with a {result.fit.wrap.wrap_s:g}s wrap-up"
                  if result.fit.wrap is not None else ""))
    click.echo(summary_table(result.summary))
    click.echo(bands_line(result.summary))
    if unforecast:
        days = ", ".join(f"{d:%Y-%m-%d} ({_weekdays([d])})" for d in unforecast[:3]) + \
            (f" and {len(unforecast) - 3} more" if len(unforecast) > 3 else "")
        rows = ("so the forecast rows show -" if len(unforecast) == len(td) else
                "so the forecast rows are of the other test days only (observed: all of them)")
        click.echo(f"note: forecast: the fitted scenario forecasts no contacts on test day(s) {days}: no fit day "
                   f"is on their weekday (fit days: {_weekdays(fd)}), {rows}; give fit days on every test "
                   "day's weekday for a forecast of them", err=True)
    click.echo(f"\nresults: {out_dir}   ({time.perf_counter() - t0:.1f} s)")
    if not no_report:
        click.echo(f"report: {out_dir / 'report.html'}")


def _weekdays(days) -> str:
    """The weekdays of ``days``, in week order: ``mon, tue``."""
    from simsvc.calibrate.estimate import WEEKDAYS

    return ", ".join(WEEKDAYS[w] for w in sorted({d.weekday() for d in days}))


def summary_table(summary) -> str:
    from simsvc.cli._common import text_table

    rows = [["prediction", "channel", "metric", "observed", "simulated", "error", "hourly MAE",
             "Erlang A", "error", "hourly MAE"]]
    for r in summary.itertuples():
        f = _fmt(r.metric)
        rows.append([f"{r.mode} / {r.staffing}", r.channel, METRIC_LABELS.get(r.metric, r.metric), f(r.observed),
                     f"{f(r.predicted)} ±{f((r.ci_high - r.ci_low) / 2)}", _pct(r.rel_error),
                     f"{f(r.hourly_mae)} ({_pct(r.hourly_mae_rel, False)})", f(r.erlang_a),
                     _pct(r.erlang_rel_error), f"{f(r.erlang_hourly_mae)} ({_pct(r.erlang_hourly_mae_rel, False)})"])
    return text_table(rows)


def bands_line(summary) -> str:
    """What hour-band handling and patience would be worth, measured with Erlang A (the model has
    no hour bands yet): its hourly abandonment MAE with one value for all hours → with bands."""
    import math

    rows = summary[summary["metric"] == "abandon_rate"]
    parts = [f"{r.mode} / {r.staffing} {r.erlang_hourly_mae:.3f} → {r.erlang_bands_hourly_mae:.3f}"
             for r in rows.itertuples() if math.isfinite(r.erlang_bands_hourly_mae)]
    if not parts:
        return "Erlang A by hour band: not estimated (too few contacts per band)"
    return "Erlang A with handling and patience by hour band, hourly abandonment MAE: " + ", ".join(parts)


def _fmt(metric: str):
    import math

    digits = 1 if metric.endswith("_s") else 3
    return lambda x: f"{x:.{digits}f}" if x is not None and math.isfinite(x) else "-"


def _pct(x: float, signed: bool = True) -> str:
    import math

    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:+.0%}" if signed else f"{x:.0%}"
