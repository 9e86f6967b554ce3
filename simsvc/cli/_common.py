"""Options and helpers shared by the CLI commands."""
from __future__ import annotations

import click

no_report_option = click.option("--no-report", is_flag=True, help="Do not write report.html and plots/.")

set_option = click.option(
    "--set", "overrides", multiple=True, metavar="PATH=VALUE",
    help="Override a scenario field, e.g. --set agents.team.staffing=12 (repeatable).",
)


def load_or_exit(path: str, overrides: tuple[str, ...] = ()):
    """Load a scenario; on a bad scenario print one clear message and exit with status 2."""
    from simsvc.config.load import ScenarioError, load_scenario

    try:
        return load_scenario(path, overrides)
    except ScenarioError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


def warn_capacity(scenario) -> None:
    """Staffing against the forecast, before anything runs: warnings on stderr, never an error."""
    from simsvc.experiment.preflight import capacity_warnings

    for text in capacity_warnings(scenario):
        click.echo(f"warning: {text}", err=True)


def executor_options(fn):
    """Options shared by the commands that run many replications."""
    options = [
        click.option("--reps", "-n", type=click.IntRange(min=2), default=None,
                     help="Replications per variant (default: the experiment file's, else the first scenario's)."),
        click.option("--seed", "-s", type=click.IntRange(min=0), default=None,
                     help="Root seed shared by all variants (common random numbers; default: the experiment "
                          "file's, else the first scenario's, else 1)."),
        click.option("--workers", "-w", type=click.IntRange(min=1), default=None,
                     help="Local processes (default: number of cores)."),
        click.option("--dask", "dask_address", metavar="ADDRESS", default=None,
                     help="Run on an existing Dask cluster, e.g. tcp://scheduler:8786."),
        click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
                     help="Experiment folder (re-running with the same folder resumes)."),
        click.option("--precision", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="Add replications until the 95 % CI half-width of --precision-metric is below this."),
        click.option("--precision-metric", "precision_metrics", multiple=True, metavar="METRIC[@CHANNEL]",
                     help="Metric(s) for --precision (default service_level@all)."),
        click.option("--max-reps", type=click.IntRange(min=2), default=100, show_default=True,
                     help="Cap on replications per variant with --precision."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def run_design(design, out: str, workers: int | None, dask_address: str | None):
    """Run an experiment design with a progress bar; Ctrl-C stops cleanly (exit 130)."""
    import sys

    from tqdm import tqdm

    from simsvc.experiment.executors import make_executor
    from simsvc.experiment.experiment import Interrupted, run_experiment
    from simsvc.experiment.runner import default_workers

    try:
        design.check_channels()
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    try:
        executor = make_executor(workers or default_workers(), dask_address)
    except (OSError, TimeoutError) as exc:
        click.echo(f"error: --dask {dask_address}: cannot reach the Dask scheduler ({exc})", err=True)
        raise SystemExit(2) from None
    progress_notice(f"{design.name}: {design.replications} replications per variant × "
                    f"{len(design.variants)} variants")
    bar = tqdm(total=0, unit="rep", desc=design.name, file=sys.stderr, disable=None, delay=0.5,
               dynamic_ncols=True)

    def progress(done: int, total: int) -> None:
        if bar.total != total:
            bar.total = total
            bar.refresh()
        bar.update(done - bar.n)

    try:
        result = run_experiment(design, out, executor, progress=progress)
    except Interrupted as stop:
        bar.close()
        click.echo(f"\ninterrupted: {stop.stored} replications are stored in {out}; "
                   "run the same command again to resume.", err=True)
        raise SystemExit(130) from None
    finally:
        bar.close()
        executor.close()
    return result


def progress_notice(what: str) -> None:
    """When stderr is not a terminal the progress bar is off: one line says what is running."""
    import sys

    if not sys.stderr.isatty():
        click.echo(f"running {what} (no progress bar: not a terminal)…", err=True)


def with_precision(design, precision, metrics, max_reps):
    """The design with sequential replications switched on (if --precision was given)."""
    import dataclasses

    from pydantic import ValidationError

    from simsvc.experiment.design import Precision

    if precision is None:
        return design
    try:
        spec = Precision(half_width=precision, metrics=list(metrics) or ["service_level@all"],
                         max_replications=max_reps)
    except ValidationError as exc:
        msg = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
        raise click.BadParameter(msg, param_hint="--precision-metric") from None
    return dataclasses.replace(design, precision=spec)


by_mean_option = click.option(
    "--by-mean", is_flag=True,
    help="Pick the cheapest point among those whose target means are met (default: only points whose "
         "95 % CIs meet every target).")


def points_summary(result, columns=None) -> str:
    """A plain table of the points: parameters, metric means ± CI half-width, target status."""
    points = result.points
    design = result.design
    params = list(dict.fromkeys(p for v in design.variants for p in v.params))
    metric_cols = [c for c in points.columns
                   if c not in ("variant", "name", "meets_targets", "cheapest", "target_status", *params)
                   and not c.endswith(("_ci_low", "_ci_high"))]
    # A pure sweep is identified by its parameters; otherwise show the variant's name too.
    show_name = not params or design.kind != "sweep"
    header = (["name"] if show_name else []) + params + metric_cols
    if design.targets:
        header += ["targets"] + (["mean meets"] if design.by_mean else [])
    rows = [header]
    for _, p in points.iterrows():
        row = ([str(p["name"])] if show_name else []) + [str(p[c]) for c in params]
        row += [mean_ci_text(p[c], p[c + "_ci_low"], p[c + "_ci_high"]) for c in metric_cols]
        if design.targets:
            row.append(str(p["target_status"]) + (" (cheapest)" if p["cheapest"] else ""))
            if design.by_mean:
                row.append("yes" if p["meets_targets"] else "no")
        rows.append(row)
    return text_table(rows, first_left=False)


def decision_text(result) -> str:
    """What the targets decide: the cheapest point, a tie, or that none qualifies."""
    from simsvc.experiment.experiment import cheapest_tie

    design, points = result.design, result.points
    if not design.targets:
        return ""
    goals = ", ".join(str(t) for t in design.targets)
    how = "by their means" if design.by_mean else "with 95 % confidence"
    cost = str(design.cost_metric)
    cheapest = points[points.cheapest]
    if not cheapest.empty:
        return f"cheapest point meeting {goals} ({how}): {cheapest.iloc[0]['name']}"
    tie = cheapest_tie(points, cost)
    if tie:
        return (f"{len(tie)} points meet {goals} ({how}) at the same {cost}: cost does not decide "
                f"between {', '.join(tie)}")
    uncertain = points[points.target_status == "uncertain"]
    text = f"no point meets {goals} ({how})"
    if not uncertain.empty and not design.by_mean:
        text += (f"; uncertain (a CI straddles a target): {', '.join(map(str, uncertain['name']))} "
                 "— more replications (--reps or --precision) can decide")
    return text


NA = "–"  # a metric that does not apply, or could not be computed


def _round_to(value: float, sig: int) -> int:
    """Decimal places that keep ``sig`` significant digits of ``value`` (may be negative)."""
    import math

    return sig - 1 - math.floor(math.log10(abs(value))) if value else 0


def plain_number(value: float, decimals: int, sign: str = "") -> str:
    """``value`` rounded to ``decimals`` places (negative: to tens, hundreds…), thousands
    separated, never in scientific notation."""
    rounded = round(value, decimals)
    return f"{rounded:{sign},.{max(decimals, 0)}f}"


def mean_ci_text(mean: float, low: float, high: float, signed: bool = False) -> str:
    """``mean ±half-width`` of a 95 % CI, both rounded to two significant digits of the
    half-width (so the digits shown are the ones the CI supports); ``–`` when undefined.
    Never scientific notation: ``3,807,000 ±19,000``, ``0.7460 ±0.0062``."""
    import math

    if mean is None or not math.isfinite(mean):
        return NA
    sign = "+" if signed else ""
    half = (high - low) / 2 if math.isfinite(low) and math.isfinite(high) else math.nan
    if math.isfinite(half) and half > 0:
        d = min(_round_to(half, 2), 6)
        return f"{plain_number(mean, d, sign)} ±{plain_number(half, d)}"
    d = min(max(_round_to(mean, 4), 0), 6) if abs(mean) < 1e4 else 0
    text = plain_number(mean, d, sign)
    return text + " ±0" if half == 0 else text


def text_table(rows: list[list[str]], first_left: bool = True) -> str:
    """Aligned plain-text table: header row, a rule, then the rows (numbers right-aligned)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 and first_left else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_report_or_warn(path) -> None:
    """The report comes after the results, which stay valid if drawing it fails."""
    import sys
    import time

    from simsvc.report import write_report

    # Drawing the plots takes seconds (about 20 s for the bundled week): say so while it happens.
    click.echo("writing report (plots and report.html)…", err=True, nl=not sys.stderr.isatty())
    t0 = time.perf_counter()
    try:
        report = write_report(path)
    except Exception as exc:  # noqa: BLE001 - any failure: warn, keep the results
        reason = (str(exc).strip().splitlines() or [""])[0]
        click.echo(f"warning: report not written ({type(exc).__name__}: {reason}); "
                   f"retry with: simsvc report {path}", err=True)
    else:
        if sys.stderr.isatty():
            click.echo(f" {time.perf_counter() - t0:.1f} s", err=True)
        click.echo(f"report: {report}")
