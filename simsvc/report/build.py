"""``write_report``: draw the plots of a folder and write ``report.html`` beside them."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Mapping

import matplotlib
from matplotlib.figure import Figure

from simsvc.report import html
from simsvc.report.daily_plots import lost_by_day, read_grid_columns, service_level_heatmap
from simsvc.report.compare_plots import comparison_differences, comparison_means, sweep_plot
from simsvc.report.data import (ExperimentData, RunData, ReportError, _first_line, contacts_absent, is_experiment,
                                load_experiment, load_run, point_columns, run_warnings, split_metric)
from simsvc.report.journey_plots import (churn_over_time, journey_funnel, revenue_by_segment,
                                         satisfaction_distribution)
from simsvc.report.plots import (PlotSkipped, async_backlog, pool_staffing,
                                 service_level_by_time_of_day, volumes_by_interval)
from simsvc.report.wait_plots import wait_distribution
from simsvc.report.files import plots_problem, write_files
from simsvc.report.render import Plots


def _seconds_or(value, default: float) -> float:
    """A duration from scenario.yaml (seconds or text such as "30min") in seconds."""
    from simsvc.config.units import parse_duration

    try:
        return float(parse_duration(value)) if value is not None else default
    except (TypeError, ValueError):
        return default


def _read_daily(folder: Path):
    import pandas as pd

    path = Path(folder) / "daily.csv"
    if not path.is_file():
        return None
    try:
        return pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - pandas raises many kinds
        raise PlotSkipped(f"daily.csv could not be read ({_first_line(exc)})") from None


def _absent(run: RunData, file: str, absent: str) -> str:
    """Why a plot needing ``file`` is not drawn: it could not be read (the note above says
    why), or ``absent``."""
    if any(problem.startswith(f"{file} ") for problem in run.problems):
        return f"{file} could not be read"
    return absent


def _grid_of(run: RunData, reason: str):
    """The intervals.parquet columns the heat map reads (PlotSkipped when they cannot be had)."""
    if run.grid is not None:
        return run.grid
    if run.intervals is None:
        raise PlotSkipped(reason)
    try:
        return read_grid_columns(run.path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds
        raise PlotSkipped(f"intervals.parquet could not be read ({_first_line(exc)})") from None


DEFAULT_EXPERIMENT_METRICS = ("service_level", "abandon_rate", "asa_s", "occupancy", "agent_cost")
MAX_PANELS = 9


def _use_agg() -> None:
    """Draw off-screen. Left alone when pyplot is already in use (a notebook's backend)."""
    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")


def _block(key: str, title: str, caption: str, draw: Callable[[], Figure],
           files: Plots) -> html.Block:
    try:
        fig = draw()
    except PlotSkipped as exc:
        return html.Block(key, title, note=str(exc))
    block = html.Block(key, title, caption)
    files.add(block, fig)
    return block


def _needs(frame, reason: str):
    if frame is None:
        raise PlotSkipped(reason)
    return frame


# --------------------------------------------------------------------------- one run
# The run plots drawn from the contacts (their wait histogram); every other run plot needs
# only the interval and pool tables, the per-day table and the scenario (EarlyFigures).
FROM_CONTACTS = ("waits",)


def run_blocks(run: RunData, files: Plots, drawn: Mapping[str, html.Block] | None = None,
               early: bool = False) -> list[html.Block]:
    """The plots of one results folder (files collects PNG, and SVG if asked, bytes by name).

    ``drawn`` holds blocks already drawn for this run by :class:`EarlyFigures` (used as they
    are); ``early`` draws only the plots that need no contacts and no summary, and returns
    those blocks.
    """
    no_intervals = _absent(run, "intervals.parquet", "intervals.parquet is missing from the folder")
    day = run.start_day
    specs = [
        ("service_level", "Service level and ASA by time of day",
         "Per real-time channel, intervals pooled by time of day over the days after the "
         "warm-up, then averaged over replications (band: 95 % CI across replications). "
         + ("Dashed lines are the service-level targets set in the scenario; "
            if any(info.target is not None for info in run.channels.values()) else
            "The dashed line is the conventional 80 % reference (the scenario sets no target); ")
         + "each channel's threshold is in the legend. Closed hours are left out.",
         lambda: service_level_by_time_of_day(_needs(run.intervals, no_intervals), run.channels)),
        ("volumes", "Offered, answered and abandoned per interval",
         "Contacts counted in the interval they arrived in, mean over replications; bots show "
         "contacts contained instead of answered. The grey span is the warm-up.",
         lambda: volumes_by_interval(_needs(run.intervals, no_intervals), run.channels, day)),
        ("pools", "Agents staffed vs busy per pool",
         "Agents on duty (shaded) and busy agents (busy agent-seconds / interval length), "
         "mean over replications; the gap is idle capacity.",
         lambda: pool_staffing(_needs(run.pools, _absent(run, "pools.parquet",
                                                      "pools.parquet is absent (no agent pools)")),
                               day)),
        ("waits", "Wait-time distribution",
         "Share of real-time contacts whose wait is at most x: answered contacts (solid, wait "
         "until answered) and abandoned ones (dashed, time until abandoning), after the "
         "warm-up, all replications pooled. The dotted line is the service-level threshold.",
         lambda: wait_distribution(_needs(run.waits, contacts_absent(run)), run.channels)),
        ("backlog", "Backlog of async channels",
         "Contacts waiting at the end of each interval (mean over replications, 95 % CI band). "
         "The dashed target line counts the contacts that arrived within the last response-"
         "target period: the backlog is worked in due-date order, so a backlog above the line "
         "holds contacts already past their target.",
         lambda: async_backlog(_needs(run.intervals, no_intervals), run.channels, day)),
    ]
    interval_s = _seconds_or(run.scenario.get("interval"), 900.0)
    specs.insert(1, (
        "service_level_heatmap", "Service level by weekday and time of day",
        "Per channel, the share answered within the threshold (async: the response target) in each "
        "slot of each weekday after the warm-up, that weekday's slots pooled per replication, then "
        "averaged over replications. Grey cells are closed hours or slots without contacts. The "
        "time-of-day plot below pools all days; this one shows which day fails.",
        lambda: service_level_heatmap(_grid_of(run, no_intervals),
                                      run.channels, interval_s, day)))
    specs.insert(2, (
        "lost_by_day", "Contacts not answered, per day",
        "Per real-time channel and day after the warm-up: contacts that abandoned, that were lost "
        "to a full queue, and that arrived while the channel was closed (lost, or retried later "
        "when the channel retries), mean over replications (daily.csv). Service level leaves the "
        "closed ones out; this is where they show.",
        lambda: lost_by_day(run.daily if run.daily is not None else _read_daily(run.path), run.channels)))
    # Issue 9: staffed vs the analytic requirement vs busy, per pool.
    from simsvc.report.staffing_plots import STAFFING_CAPTION, staffed_required_busy
    specs.append(("staffing_required", "Agents staffed vs required (Erlang) vs busy per pool",
                  STAFFING_CAPTION, lambda: staffed_required_busy(_needs(
                      run.pools, _absent(run, "pools.parquet", "pools.parquet is absent (no agent pools)")))))
    if early:
        specs = [spec for spec in specs if spec[0] not in FROM_CONTACTS]
    drawn = drawn or {}
    blocks = [drawn[key] if key in drawn else _block(key, title, caption, draw, files)
              for key, title, caption, draw in specs]
    backlog = next(block for block in blocks if block.key == "backlog")
    if not early and backlog.png is not None:
        backlog.caption += _response_within_target(run)
    return blocks


def journey_blocks(run: RunData, files: Plots) -> list[html.Block]:
    """The journey plots of a journey-mode run (none for a forecast-mode run)."""
    if not run.is_journey:
        return []
    no_journey = "journey.csv is absent"
    no_customers = contacts_absent(run, "customers.parquet")
    specs = [
        ("journey_funnel", "Customer funnel",
         "Stage entries in the measurement window, all segments (journey.csv: mean over "
         "replications, error bars 95 % CI). A customer acquired or referred in the run enters "
         "each stage once in its first journey (dark); the initial customer base and repeat "
         "purchase cycles (light) enter purchase to loyalty again each cycle, so later stages "
         "can exceed evaluation. The thin bar under each stage is what left the journey there: "
         "prospects dropping out at the end of the stage, customers (and prospects) churning in "
         "it, and customers lapsing at the end of loyalty; shares are of the stage's entries.",
         lambda: journey_funnel(_needs(run.journey, no_journey), run.customers, run.warmup_s,
                                run.horizon_s)),
        ("journey_satisfaction", "Satisfaction at the end: active vs churned customers",
         "Customers' satisfaction (0–1) at the horizon for those past a purchase and still "
         "active, and when they left for those that churned in the window; share of each group "
         "per bin, all replications pooled, dashed lines at the group means; counts per "
         "replication in the legends. Customers without a contact keep their segment's prior "
         "satisfaction, hence the spike there; the spikes just above it are one or two good "
         "contacts.",
         lambda: satisfaction_distribution(_needs(run.customers, no_customers), run.segments,
                                           run.warmup_s, run.horizon_s)),
        ("journey_churn", "Churn over time by cause",
         "Customers churning per day over the whole run, by cause (stacked; mean over "
         "replications): at evaluation, the stay-or-go decision at the end of post-purchase, "
         "and right after a contact. The line is the centred 7-day mean of all churn. The "
         "grey span is the warm-up, which the summary leaves out.",
         lambda: churn_over_time(_needs(run.customers, no_customers), run.warmup_s,
                                 run.horizon_s, run.start_day)),
        ("journey_revenue", "Revenue and revenue lost to churn per segment",
         "Revenue of the purchases in the window beside the revenue lost to churn — the "
         "purchases the customers who churned in the window would still have made had they "
         "stayed content (future revenue, not revenue of the window) — per segment (journey.csv: "
         "mean over replications, error bars 95 % CI).",
         lambda: revenue_by_segment(_needs(run.journey, no_journey), run.segments)),
    ]
    return [_block(key, title, caption, draw, files) for key, title, caption, draw in specs]


def _response_within_target(run: RunData) -> str:
    """The summary's share answered within target per async channel, as a sentence."""
    parts = []
    for info in run.channels.values():
        row = run.summary[(run.summary["channel"].astype(str) == info.name)
                          & (run.summary["metric"] == "response_within_target")]
        if info.is_async and not row.empty:
            share = html.number("response_within_target", row["mean"].iloc[0])
            parts.append(f"{info.name} {share}".replace("\u00a0", " "))
    if not parts:
        return ""
    return " Answered within the response target (after warm-up): " + ", ".join(parts) + "."


# --------------------------------------------------------------------------- experiments
def experiment_metrics(exp: ExperimentData) -> list[tuple[str, str]]:
    """The (metric, channel) pairs to show: the experiment's reported metrics (by default
    those of ``simsvc compare/sweep``), the targets', the cost metric."""
    named = exp.meta.get("metrics") or [f"{m}@all" for m in DEFAULT_EXPERIMENT_METRICS]
    pairs: list[tuple[str, str]] = [split_metric(str(m)) for m in named]
    for t in exp.targets:
        if t.get("metric"):
            pairs.append((str(t["metric"]), str(t.get("channel") or "all")))
    if exp.meta.get("cost_metric"):
        pairs.append(split_metric(str(exp.meta["cost_metric"])))
    present = set(zip(exp.summary["metric"].astype(str), exp.summary["channel"].astype(str)))
    if exp.points is not None:
        present |= {split_metric(k) for k in point_columns(exp.points)[1]}
    pairs = [p for p in dict.fromkeys(pairs) if p in present]
    if not pairs:
        pairs = [(m, "all") for m in DEFAULT_EXPERIMENT_METRICS if (m, "all") in present]
    return pairs[:MAX_PANELS]


def _scenario_series(exp: ExperimentData) -> dict[str, str] | None:
    """Variant → scenario for an experiment that sweeps several scenarios (grid points
    are named ``scenario[param=value,…]``); None when there is one scenario."""
    series = {key: str(spec.get("name") or key).split("[", 1)[0]
              for key, spec in exp.variants.items()}
    return series if len(set(series.values())) > 1 else None


def experiment_blocks(exp: ExperimentData, metrics: list[tuple[str, str]],
                      files: Plots) -> list[html.Block]:
    labels = {key: exp.label(key) for key in exp.variants}
    blocks = []
    if exp.points is not None and point_columns(exp.points)[0]:   # something was varied
        point_metrics = [f"{m}@{c}" for m, c in metrics
                         if f"{m}@{c}" in exp.points.columns] or None
        blocks.append(_block(
            "sweep", "Sweep", "Each metric against the varied parameter (band: 95 % CI); "
            "dashed lines are the targets; filled points meet every target (with 95 % confidence "
            "unless --by-mean was given), hollow ones do not or are uncertain; the star is the "
            "cheapest point that meets them all (none when several cost the same).",
            lambda: sweep_plot(exp.points, point_metrics, exp.targets,
                               series=_scenario_series(exp)), files))
    blocks.append(_block(
        "comparison", "Metrics per variant",
        "Mean and 95 % CI per variant for each metric; dashed lines are the targets.",
        lambda: comparison_means(exp.summary, metrics, labels, exp.targets), files))
    if exp.comparison is not None:
        blocks.append(_block(
            "differences", "Paired differences against the baseline",
            "Difference of each variant from the baseline with its 95 % CI (common random "
            "numbers make these pairs); highlighted points are significant at 5 %; rates "
            "in percentage points. A metric of a channel the baseline lacks has no panel "
            "(nothing to pair it with; its means are above).",
            lambda: comparison_differences(exp.comparison, metrics, labels), files))
    elif exp.kind == "compare":
        blocks.append(html.Block("differences", "Paired differences against the baseline",
                                 note="comparison.csv is absent"))
    return blocks


# --------------------------------------------------------------------------- entry point
def write_report(results_dir: str | Path, svg: bool = False,
                 warn: Callable[[str], None] | None = None) -> Path:
    """Write ``results_dir/report.html`` and ``results_dir/plots/*.png``; return the report path.

    ``results_dir`` is a results folder of ``simsvc run`` or an experiment
    folder (with ``experiment.json``). Raises :class:`ReportError` with a
    one-line message when it is neither (e.g. it has no ``summary.csv``).
    ``svg`` also writes each plot as ``plots/*.svg`` (``--svg``; not rendered otherwise,
    and an earlier report's SVGs are removed, since they would not match the PNGs).
    ``warn`` is called with each thing the report of a run notes as missing or damaged.
    """
    path = Path(results_dir)
    if not path.is_dir():
        raise ReportError(f"{path}: no such folder")
    problem = plots_problem(path)   # before drawing: the plots would go through a link
    if problem is not None:
        raise ReportError(problem)
    if not is_experiment(path):
        run = load_run(path)
        for text in run_warnings(run) if warn is not None else ():
            warn(text)
        return RunReport(run, svg=svg).finish()
    _use_agg()
    drawn = Plots(svg)
    exp = load_experiment(path)
    metrics = experiment_metrics(exp)
    blocks = experiment_blocks(exp, metrics, drawn)
    drawn.render()
    text = html.experiment_page(exp, blocks, metrics, matplotlib.__version__)
    return write_files(path, drawn.files, _skipped(blocks), text)


class EarlyFigures:
    """The figures of a run that need neither its contacts nor its summary, drawn and set
    rendering as soon as the last replication's interval and pool tables exist: ``simsvc run``
    then reduces the contacts and computes the summary while these render.

    ``run`` is a :class:`RunData` with the scenario, intervals, pools, per-day table and grid
    (its summary may be empty). :class:`RunReport` uses these figures only if the complete
    run's data for them is equal (:meth:`fits`); otherwise it draws them again, so the report
    is the same either way. ``svg``: render each figure's SVG too; ``beside_run``: drawn in
    ``simsvc run``'s report process (see :func:`simsvc.report.render.render_processes`).
    """

    def __init__(self, run: RunData, svg: bool = False, beside_run: bool = False) -> None:
        _use_agg()
        self.run = run
        self.drawn = Plots(svg, beside_run)
        try:
            self.blocks = {block.key: block for block in run_blocks(run, self.drawn, early=True)}
            self.drawn.start()
        except BaseException:
            self.drawn.cancel()
            raise

    def fits(self, run: RunData, svg: bool = False) -> bool:
        """Whether ``run`` gives these figures the very data they were drawn from (and they
        render the files asked for: ``svg`` or not)."""
        a = self.run
        return (self.drawn.svg == svg and not run.is_journey and a.scenario == run.scenario and a.channels == run.channels
                and all(_same(getattr(a, name), getattr(run, name)) for name in ("intervals", "pools", "daily", "grid")))

    def cancel(self) -> None:
        self.drawn.cancel()


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.columns.equals(b.columns) and a.index.equals(b.index) and a.equals(b)


class RunReport:
    """The report of one run, in two steps: the figures are drawn and set rendering when it
    is made (from a :class:`RunData`, read from a folder or built from a run in memory),
    and :meth:`finish` waits for them and writes ``plots/`` and ``report.html``.

    Between the two the caller is free: ``simsvc run`` writes the last replication's tables
    while the figures render in other processes. ``early`` (optional) holds the figures
    already drawn from the interval tables (:class:`EarlyFigures`); those that fit are kept.
    ``svg`` also renders and writes each figure's SVG (not rendered otherwise); ``beside_run``:
    drawn in ``simsvc run``'s report process (see :func:`simsvc.report.render.render_processes`).
    """

    def __init__(self, run: RunData, early: EarlyFigures | None = None, svg: bool = False,
                 beside_run: bool = False) -> None:
        _use_agg()
        self.run = run
        if early is not None and not early.fits(run, svg):
            early.cancel()
            early = None
        self.reused = sorted(early.blocks) if early is not None else []
        self.drawn = early.drawn if early is not None else Plots(svg, beside_run)
        try:
            self.customer_blocks = journey_blocks(run, self.drawn)
            self.blocks = run_blocks(run, self.drawn, drawn=early.blocks if early is not None else None)
            self.drawn.start()
        except BaseException:
            self.drawn.cancel()
            raise

    def page(self) -> tuple[dict[str, bytes], list[str], str]:
        """Wait for the figures; (plot files by name, keys of the plots skipped, report.html's text)."""
        self.drawn.collect()
        text = html.run_page(self.run, self.blocks, matplotlib.__version__, self.customer_blocks)
        return self.drawn.files, _skipped(self.blocks + self.customer_blocks), text

    def finish(self, path: str | Path | None = None) -> Path:
        """Write the report into ``path`` (default: the run's folder); return the report's path."""
        if path is not None:
            self.run.path = Path(path)
        return write_files(self.run.path, *self.page())

    def cancel(self) -> None:
        """Stop rendering; nothing is written."""
        self.drawn.cancel()


def _skipped(blocks: list[html.Block]) -> list[str]:
    """The keys of the plots not drawn (their files must not survive from an earlier report)."""
    return [block.key for block in blocks if block.png is None]
