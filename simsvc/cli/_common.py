"""Options and helpers shared by the CLI commands."""
from __future__ import annotations

import click

from simsvc.experiment import MAX_REPLICATIONS


class FiniteFloat(click.FloatRange):
    """A float option that must be a finite number (``nan`` and ``inf`` are refused, naming the
    option), optionally within bounds as :class:`click.FloatRange`. Every float option of the CLI
    uses it: click's own FLOAT/FloatRange take ``nan`` (which passes any range check) and ``inf``."""

    name = "finite float"

    def convert(self, value, param, ctx):
        import math

        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            allowed = f" in the range {self._describe_range()}" if (self.min, self.max) != (None, None) else ""
            self.fail(f"{value!r} is not a finite number; expected a number{allowed}", param, ctx)
        return super().convert(number, param, ctx)


class Replications(click.IntRange):
    """A replication count (``--reps``, ``--max-reps``...): a whole number from ``min`` to
    MAX_REPLICATIONS; beyond it one message says why (a run, and its tables, would not hold them)."""

    name = "replications"

    def __init__(self, min: int = 1) -> None:
        super().__init__(min=min, max=MAX_REPLICATIONS)

    def convert(self, value, param, ctx):
        number = click.INT.convert(value, param, ctx)
        if number > MAX_REPLICATIONS:
            self.fail(f"{value!r} is more replications than simsvc runs; expected {self.min} to "
                      f"{MAX_REPLICATIONS:,} (as a scenario's replications:)", param, ctx)
        return super().convert(number, param, ctx)


class OutFolder(click.Path):
    """An output folder option: an empty (or blank) value is refused rather than taken as
    "not given" (which would write to the default folder)."""

    def __init__(self) -> None:
        super().__init__(file_okay=False)

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail(f"{value!r} is an empty folder name; give a folder, or leave the option out for "
                      "the default folder", param, ctx)
        return super().convert(value, param, ctx)


class InPath(click.Path):
    """A file or folder to read (a scenario, a log, a rules file, a results folder): an empty (or
    blank) value is refused, naming the option, rather than taken as "not given" (an option's
    default) or as the current folder."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            what = "file" if self.file_okay else "folder"
            leave = ", or leave the option out" if isinstance(param, click.Option) and not param.required else ""
            self.fail(f"{value!r} is an empty {what} name; give a {what}{leave}", param, ctx)
        return super().convert(value, param, ctx)


def split_list(text: str, option: str, what: str = "names") -> list[str]:
    """``a,b`` -> ``["a", "b"]``; an empty list or an empty item (``''``, ``,``, ``a,,b``) is
    refused with one message naming the option (leave the option out for its default)."""
    items = [p.strip() for p in text.split(",")]
    if not any(items):
        raise click.BadParameter(f"{text!r} names no {what}; give {what} separated by commas, or leave the "
                                 "option out for the default", param_hint=option)
    if not all(items):
        raise click.BadParameter(f"{text!r} has an empty item; give {what} separated by single commas",
                                 param_hint=option)
    return items


no_report_option = click.option("--no-report", is_flag=True, help="Do not write report.html and plots/.")
svg_option = click.option("--svg", is_flag=True,
                          help="Also save each report plot as plots/*.svg (for slides; default PNG only).")


def check_report_options(no_report: bool, svg: bool) -> None:
    """``--svg`` asks for the report's plots as SVG: with ``--no-report`` there is none."""
    if svg and no_report:
        fail("--svg saves the report's plots as SVG and --no-report writes no report: give one of them")

set_option = click.option(
    "--set", "overrides", multiple=True, metavar="PATH=VALUE",
    help="Override a scenario field, e.g. --set agents.team.staffing=12 (repeatable).",
)


force_option = click.option(
    "--force", is_flag=True,
    help="Run even when the estimated work (contacts, memory, intervals) is beyond the documented limit.",
)


def fail(message: str, code: int = 2):
    """Print one ``error:`` line and exit (2: bad input; 130: interrupted)."""
    click.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def echo_scenario_error(exc) -> None:
    """A ScenarioError as one ``error:`` line, then its further problems indented."""
    click.echo(f"error: {exc}", err=True)
    for line in exc.details():
        click.echo(f"  also: {line}", err=True)


class CommandGroup(click.Group):
    """The top-level group: a run that stops on its own bad numbers (SimulationError) is one line, exit 2.

    Commands are registered by name as ``"module:function"`` in ``lazy_commands`` (modules
    of :mod:`simsvc.cli`) and imported on first use, so start-up imports one command only.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands: dict[str, str] = {}

    def list_commands(self, ctx) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx, name: str):
        if name not in self.commands and name in self.lazy_commands:
            import importlib

            module, attr = self.lazy_commands[name].split(":")
            self.add_command(getattr(importlib.import_module(f"simsvc.cli.{module}"), attr), name)
        return super().get_command(ctx, name)

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
        echo_scenario_error(exc)
        raise SystemExit(2) from None


def check_work(scenarios, replications: int, force: bool):
    """Estimate the work before simulating; refuse beyond the limits unless ``--force``."""
    from simsvc.experiment.budget import estimate_many, judge

    work = estimate_many(list(scenarios), replications)
    refuse, warn = judge(work)
    if refuse and not force:
        fail(f"too much work: {refuse}; check the horizon, interval and volumes, "
             "or run anyway with --force")
    if refuse or warn:
        click.echo(f"warning: {refuse or warn}", err=True)
    return work


def prepare_output(folder, need_bytes: float = 0, option: str = "--out") -> None:
    """Before any simulation: the output folder can be written and has room; report leftovers."""
    from pathlib import Path

    from simsvc.experiment.safepath import OutputError, check_output, leftover_temporaries

    try:
        check_output(folder, need_bytes, option)
    except OutputError as exc:
        fail(str(exc))
    folder = Path(folder)
    for where in (folder.parent, folder):
        left = leftover_temporaries(where)
        if left:
            names = ", ".join(p.name for p in left[:3]) + (" ..." if len(left) > 3 else "")
            click.echo(f"note: {len(left)} temporary folder(s) left in {where} by an interrupted write "
                       f"({names}); they hold no complete results and can be deleted", err=True)
def warn_capacity(scenario) -> None:
    """Staffing against the forecast, before anything runs: warnings on stderr, never an error."""
    from simsvc.experiment.preflight import capacity_warnings

    for text in capacity_warnings(scenario):
        click.echo(f"warning: {text}", err=True)


def executor_options(fn):
    """Options shared by the commands that run many replications."""
    options = [
        click.option("--reps", "-n", type=Replications(min=2), default=None,
                     help="Replications per variant (default: the experiment file's, else the first scenario's)."),
        click.option("--seed", "-s", type=click.IntRange(min=0), default=None,
                     help="Root seed shared by all variants (common random numbers; default: the experiment "
                          "file's, else the first scenario's, else 1)."),
        click.option("--workers", "-w", type=click.IntRange(min=1), default=None,
                     help="Local processes (default: number of cores)."),
        click.option("--dask", "dask_address", metavar="ADDRESS", default=None,
                     help="Run on an existing Dask cluster, e.g. tcp://scheduler:8786."),
        click.option("--out", "-o", type=OutFolder(), default=None,
                     help="Experiment folder (re-running with the same folder resumes)."),
        click.option("--precision", type=FiniteFloat(min=0, min_open=True), default=None,
                     help="Add replications until the 95 % CI half-width of --precision-metric is below this."),
        click.option("--precision-metric", "precision_metrics", multiple=True, metavar="METRIC[@CHANNEL]",
                     help="Metric(s) for --precision (default service_level@all)."),
        click.option("--max-reps", type=Replications(min=2), default=100, show_default=True,
                     help="Cap on replications per variant with --precision."),
        force_option,
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def run_design(design, out: str, workers: int | None, dask_address: str | None, force: bool = False):
    """Run an experiment design with a progress bar; Ctrl-C stops cleanly (exit 130).

    Before anything runs: the work is estimated (refused beyond the limits unless
    ``force``) and the output folder is checked.
    """
    import sys
    import warnings

    from tqdm import tqdm

    from simsvc.experiment.executors import ExecutorLost, make_executor
    from simsvc.experiment.experiment import Interrupted, run_experiment
    from simsvc.experiment.runner import default_workers
    from simsvc.experiment.store import StoreWarning

    try:
        design.check_channels()
    except ValueError as exc:
        fail(str(exc))
    reps = design.precision.max_replications if design.precision else design.replications
    work = check_work([v.scenario for v in design.variants], reps, force)
    prepare_output(out, work.variants * reps * 20_000)  # a stored replication is a few kB
    try:
        executor = make_executor(workers or default_workers(), dask_address)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        fail(f"--dask {dask_address}: cannot use this Dask scheduler ({reason}); "
             "expected an address such as tcp://scheduler:8786")
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
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", StoreWarning)
            try:
                result = run_experiment(design, out, executor, progress=progress)
            finally:
                for w in caught:
                    if issubclass(w.category, StoreWarning):
                        bar.clear()
                        click.echo(f"warning: {w.message}", err=True)
    except Interrupted as stop:
        bar.close()
        click.echo(f"\ninterrupted: {stop.stored} replications are stored in {out}; "
                   "run the same command again to resume.", err=True)
        raise SystemExit(130) from None
    except ExecutorLost as exc:
        bar.close()
        fail(f"{exc}; the replications finished so far are stored in {out}; "
             "run the same command again to resume", code=1)
    except OSError as exc:
        bar.close()
        fail(f"{out}: cannot write the results ({exc.strerror or exc}); the replications stored so far "
             "are kept; free space or fix permissions and run the same command again to resume")
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
        err = exc.errors(include_url=False)[0]
        msg = err["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
        if "half_width" in err.get("loc", ()):
            fail(f"--precision {precision}: expected a finite number > 0 ({msg})")
        fail(f"--precision-metric: {msg}")
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


def write_report_or_warn(path, svg: bool = False) -> None:
    """The report comes after the results, which stay valid if drawing it fails (``svg``: the
    plots as SVG too)."""
    import sys
    import time

    from simsvc.report import write_report

    # Drawing the plots takes seconds (about 20 s for the bundled week): say so while it happens.
    click.echo("writing report (plots and report.html)…", err=True, nl=not sys.stderr.isatty())
    t0 = time.perf_counter()
    try:
        report = write_report(path, svg=svg)
    except Exception as exc:  # noqa: BLE001 - any failure: warn, keep the results
        reason = (str(exc).strip().splitlines() or [""])[0]
        click.echo(f"warning: report not written ({type(exc).__name__}: {reason}); "
                   f"retry with: simsvc report {path}", err=True)
    else:
        if sys.stderr.isatty():
            click.echo(f" {time.perf_counter() - t0:.1f} s", err=True)
        click.echo(f"report: {report}")
