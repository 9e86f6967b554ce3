"""Options and helpers shared by the CLI commands."""
from __future__ import annotations

import click

no_report_option = click.option("--no-report", is_flag=True, help="Do not write report.html and plots/.")

set_option = click.option(
    "--set", "overrides", multiple=True, metavar="PATH=VALUE",
    help="Override a scenario field, e.g. --set agents.team.staffing=12 (repeatable).",
)


class CommandGroup(click.Group):
    """The top-level group: a run that stops on its own bad numbers (SimulationError) is one line, exit 2."""

    def invoke(self, ctx):
        from simsvc.domain.errors import SimulationError

        try:
            return super().invoke(ctx)
        except SimulationError as exc:
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(2) from None


def load_or_exit(path: str, overrides: tuple[str, ...] = ()):
    """Load a scenario; on a bad scenario print one clear message and exit with status 2."""
    from simsvc.config.load import ScenarioError, load_scenario

    try:
        return load_scenario(path, overrides)
    except ScenarioError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


def executor_options(fn):
    """Options shared by the commands that run many replications."""
    options = [
        click.option("--reps", "-n", type=click.IntRange(min=2), default=None,
                     help="Replications per variant (default: 10, or the experiment file's)."),
        click.option("--seed", "-s", type=click.IntRange(min=0), default=None,
                     help="Root seed shared by all variants (common random numbers; default 1)."),
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


def points_summary(result, columns=None) -> str:
    """A plain table of the points: parameters, metric means ± CI half-width, targets."""
    points = result.points
    design = result.design
    params = list(dict.fromkeys(p for v in design.variants for p in v.params))
    metric_cols = [c for c in points.columns
                   if c not in ("variant", "name", "meets_targets", "cheapest", *params)
                   and not c.endswith(("_ci_low", "_ci_high"))]
    # A pure sweep is identified by its parameters; otherwise show the variant's name too.
    show_name = not params or design.kind != "sweep"
    header = (["name"] if show_name else []) + params + metric_cols
    if design.targets:
        header += ["targets"]
    rows = [header]
    for _, p in points.iterrows():
        row = ([str(p["name"])] if show_name else []) + [str(p[c]) for c in params]
        row += [mean_ci_text(p[c], p[c + "_ci_low"], p[c + "_ci_high"]) for c in metric_cols]
        if design.targets:
            row.append(("met" if p["meets_targets"] else "no") + (" (cheapest)" if p["cheapest"] else ""))
        rows.append(row)
    return text_table(rows, first_left=False)


def mean_ci_text(mean: float, low: float, high: float, signed: bool = False) -> str:
    """``mean ±half-width`` of a 95 % CI (large values without decimals); ``-`` when undefined."""
    import math

    if mean is None or not math.isfinite(mean):
        return "-"
    sign = "+" if signed else ""
    text = f"{mean:{sign},.0f}" if abs(mean) >= 1e4 else f"{mean:{sign},.4g}"
    if math.isfinite(low) and math.isfinite(high):
        text += f" ±{(high - low) / 2:.2g}"
    return text


def text_table(rows: list[list[str]], first_left: bool = True) -> str:
    """Aligned plain-text table: header row, a rule, then the rows (numbers right-aligned)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 and first_left else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_report_or_warn(path) -> None:
    """The report comes after the results, which stay valid if drawing it fails."""
    from simsvc.report import write_report

    try:
        report = write_report(path)
    except Exception as exc:  # noqa: BLE001 - any failure: warn, keep the results
        reason = (str(exc).strip().splitlines() or [""])[0]
        click.echo(f"warning: report not written ({type(exc).__name__}: {reason}); "
                   f"retry with: simsvc report {path}", err=True)
    else:
        click.echo(f"report: {report}")
