"""`simsvc run`: simulate a scenario and write a results folder."""
from __future__ import annotations

import atexit
import gc
import math
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import click

from simsvc.cli._common import (
    NA,
    InPath,
    OutFolder,
    Replications,
    check_report_options,
    check_work,
    fail,
    force_option,
    load_or_exit,
    mean_ci_text,
    no_report_option,
    prepare_output,
    progress_notice,
    set_option,
    svg_option,
    text_table,
    warn_capacity,
    write_report_or_warn,
)


@click.command()
@click.argument("scenario", type=InPath(dir_okay=False))
@click.option("--reps", "-n", type=Replications(min=1), default=None,
              help="Replications (default: the scenario's `replications`).")
@click.option("--seed", "-s", type=click.IntRange(min=0), default=None,
              help="Root seed (default: the scenario's `seed`, else a fresh one, recorded).")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=None,
              help="Local processes for replications (default: number of cores).")
@click.option("--out", "-o", type=OutFolder(), default=None,
              help="Results folder (default: results/<scenario-name>/<UTC timestamp>/).")
@set_option
@click.option("--no-contacts", is_flag=True, help="Do not write contacts.parquet and issues.parquet (large runs).")
@no_report_option
@svg_option
@force_option
def run(scenario: str, reps: int | None, seed: int | None, workers: int | None, out: str | None,
        overrides: tuple[str, ...], no_contacts: bool, no_report: bool, svg: bool, force: bool) -> None:
    """Simulate SCENARIO and write contacts, intervals, summary and a manifest."""
    check_report_options(no_report, svg)
    written: list[Path] = []
    _leave_objects_to_the_os()
    try:
        with _start_up() as started:
            _run(scenario, reps, seed, workers, out, overrides, no_contacts, no_report, force, written, started,
                 svg=svg)
    except KeyboardInterrupt:
        where = (f"the results are complete in {written[0]}" if written else
                 "nothing was written (a run's results are written only when it completes)")
        click.echo(f"\ninterrupted: {where}; run the same command again to start over.", err=True)
        raise SystemExit(130) from None


@contextmanager
def _start_up():
    """The cycle collector kept off what the run's start-up makes (issue 13, the whole run).

    Importing the libraries and loading the scenario make about half a million objects that
    live as long as the run, and no garbage worth collecting; the collector scanned them ~190
    times during the imports and again in every later full collection (0.1-0.2 s). It is
    paused during the start-up; what this yields, called when the start-up is done, freezes
    what exists (``gc.freeze``: later collections skip it) and resumes collecting, before the
    report process is forked (which then shares those pages untouched). When the block ends,
    however it ends, the objects are unfrozen and the collector is as it was, so a process
    that goes on after the command (tests invoking it in-process) collects as before."""
    was_on = gc.isenabled()
    gc.disable()
    done = []

    def resume() -> None:
        if not done:
            done.append(True)
            gc.freeze()
            if was_on:
                gc.enable()
    try:
        yield resume
    finally:
        resume()
        gc.unfreeze()


_LEFT_TO_THE_OS: list[bool] = []


def _leave_objects_to_the_os() -> None:
    """At interpreter exit, freeze every object before Python clears the modules: the exit's
    cycle collections then skip them (pandas' objects alone cost 0.3 s quiet, 0.8 s loaded;
    measured by ``bench/bench_process.py``'s "exit") and the OS takes the memory back. Runs at
    exit only (``atexit``, after the run's files are written, closed and placed), so a process
    that goes on after the command (tests invoking it in-process) collects as before. Objects
    are still freed by reference counting; only cyclic garbage left at exit is not collected,
    which Python does not promise to finalise anyway."""
    if not _LEFT_TO_THE_OS:
        _LEFT_TO_THE_OS.append(True)
        atexit.register(gc.freeze)


def _run(scenario: str, reps: int | None, seed: int | None, workers: int | None, out: str | None,
         overrides: tuple[str, ...], no_contacts: bool, no_report: bool, force: bool,
         written: list[Path], started=lambda: None, svg: bool = False) -> None:
    from simsvc.experiment.runner import default_workers
    from simsvc.experiment.runner import run as run_scenario
    from simsvc.experiment.safepath import RESULTS_ROOT, results_folder, timestamped

    resolved = load_or_exit(scenario, overrides)
    warn_capacity(resolved)
    n_reps = reps or resolved.replications
    n_workers = workers or min(default_workers(), n_reps)
    out_dir = Path(out) if out else timestamped(results_folder(RESULTS_ROOT, resolved.name))
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        fail(f"--out {out_dir}: already exists and is not empty (choose a new folder)")
    work = check_work([resolved], n_reps, force)
    prepare_output(out_dir, work.output_bytes(keep_contacts=not no_contacts))

    from tqdm import tqdm

    from simsvc.experiment.output import small_files
    from simsvc.plan.requirements import required_columns_adder  # issue 9: Erlang's answer beside the simulation
    from simsvc.report.live import LiveReport

    add_required = required_columns_adder(resolved)
    started()   # the cycle collector back on (see _start_up)
    # Before the progress bar (a thread) and the simulation: the report's process is forked here.
    report = None if no_report else LiveReport(out_dir, svg=svg)
    progress_notice(f"{n_reps} replications of {resolved.name}")
    bar = tqdm(total=n_reps, unit="rep", desc=resolved.name, delay=1.0, file=sys.stderr,
               disable=None, leave=False)

    def progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    try:
        # Each replication's tables are streamed into the folder as it finishes. The report is
        # drawn once the run is summarised; its figures render while the last tables are written.
        result = run_scenario(resolved, replications=n_reps, seed=seed, workers=n_workers,
                              keep_contacts=not no_contacts, progress=progress, out=out_dir,
                              extend_tables=report.keeping(add_required) if report else add_required,
                              on_summary=(lambda result: report.start(lambda: small_files(result))) if report else None,
                              on_intervals=report.early(resolved, add_required) if report else None)
    except BaseException as exc:
        if report is not None:
            report.cancel()
        if isinstance(exc, OSError):
            fail(f"{out_dir}: cannot write the results ({exc.strerror or exc}); nothing was kept")
        raise
    finally:
        bar.close()
    path = result.path
    if result.rescued is not None:
        intended, reason = result.rescued
        click.echo(f"warning: {intended}: cannot write the results ({reason}); "
                   f"they were written to {path} instead", err=True)
    written.append(path)
    click.echo(summary_table(result.summary))
    worst = worst_day_lines(result)
    if worst:
        click.echo("\n" + "\n".join(worst))
    if not result.journey.empty:
        click.echo("\n" + customers_table(result.journey))
    click.echo(f"\n{n_reps} replications, seed {result.seed}, "
               f"{result.manifest['arrivals']:,} contacts, {result.manifest['wall_s']:.1f} s")
    click.echo(f"results: {path}")
    if report is not None:
        _finish_report(report, path, rescued=result.rescued is not None, svg=svg)


def _finish_report(report, path: Path, rescued: bool, svg: bool = False) -> None:
    """The report drawn beside the run written into ``path``, or, where that cannot be (no
    report process, drawing failed, results in a rescue folder), drawn from the folder."""
    t0 = time.perf_counter()

    def announce() -> None:
        nonlocal t0
        click.echo("writing report (plots and report.html)…", err=True, nl=not sys.stderr.isatty())
        t0 = time.perf_counter()

    written = report.finish(path, rescued, announce)
    if written is None:
        write_report_or_warn(path, svg=svg)
        return
    if sys.stderr.isatty():
        click.echo(f" {time.perf_counter() - t0:.1f} s", err=True)
    click.echo(f"report: {written}")


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


def _lookup(summary) -> dict[tuple[str, str], tuple[float, float, float]]:
    """(channel, metric) -> (mean, ci_low, ci_high) of a summary table, the first row of each
    pair: read once, not filtered per cell (a cell's pandas filter cost a few ms, ×10 per channel)."""
    cells: dict[tuple[str, str], tuple[float, float, float]] = {}
    for key in zip(summary["channel"], summary["metric"], summary["mean"], summary["ci_low"], summary["ci_high"]):
        cells.setdefault((key[0], key[1]), tuple(float(v) for v in key[2:]))
    return cells


def _cell(cells: dict, channel: str, metric: str, scale: float, decimals: int) -> str:
    found = cells.get((channel, metric))
    if found is None or not math.isfinite(found[0]):
        return NA
    mean = found[0] * scale
    text = f"{mean:,.{decimals}f}"
    low, high = found[1], found[2]
    # Counts are shown bare (their CIs are in summary.csv), except the backlog, which swings.
    if (decimals or metric == "backlog_end") and math.isfinite(low) and math.isfinite(high):
        text += f" ±{(high - low) / 2 * scale:,.{decimals}f}"
    return text


def summary_table(summary) -> str:
    """A plain aligned table, one row per channel (means ± 95 % CI half-widths)."""
    channels = list(dict.fromkeys(summary["channel"]))
    cells = _lookup(summary)
    header = ["channel"] + [h for _, h, _, _ in _COLUMNS]
    rows = [header] + [[ch] + [_cell(cells, ch, m, s, d) for m, _, s, d in _COLUMNS] for ch in channels]
    return text_table(rows)


def worst_day_lines(result) -> list[str]:
    """Per real-time channel, the day with the lowest service level (beside the best day) and the
    weekday × time-of-day slots with the lowest: what a week's average hides."""
    from simsvc.config.schema import REAL_TIME_KINDS
    from simsvc.observe.daily import worst_days, worst_slots

    if result.daily.empty:
        return []
    real_time = [n for n, ch in result.scenario.channels.items() if ch.kind in REAL_TIME_KINDS]
    days = worst_days(result.daily, real_time)
    if days.empty or len(set(result.daily["day"])) < 2:
        return []
    lines = ["worst day and worst half-hours by service level (mean over replications):"
             if result.scenario.interval == 1800 else
             "worst day and worst intervals by service level (mean over replications):"]
    for _, d in days.iterrows():
        sl = mean_ci_text(d["service_level"] * 100, d["sl_low"] * 100, d["sl_high"] * 100)
        text = (f"  {d['channel']}: day {d['day']} ({d['weekday']}) SL {sl} %"
                + (f", abandon {d['abandon_rate'] * 100:.1f} %" if math.isfinite(d["abandon_rate"]) else "")
                + f" (best day {d['best_service_level'] * 100:.1f} %)")
        slots = worst_slots(result.scenario, result.intervals, d["channel"])
        if not slots.empty:
            text += "; slots " + ", ".join(f"{s.weekday} {s.time_of_day} {s.service_level * 100:.0f} %"
                                           for s in slots.itertuples())
        lines.append(text)
    return lines


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
    cells = _lookup(per_segment)
    rows = [header] + [[seg] + [_cell(cells, seg, m, s, d) for m, _, s, d in _CUSTOMER_COLUMNS]
                       for seg in segments]
    return text_table(rows)
