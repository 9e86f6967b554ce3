"""Reports and plots of results folders.

``write_report(results_dir)`` writes ``report.html`` (one self-contained page)
and every plot as PNG and SVG under ``plots/``. The plot functions return
matplotlib Figures, for notebooks::

    from simsvc import report
    run = report.load_run("results/baseline/20261122T134713Z")
    report.service_level_by_time_of_day(run.intervals, run.channels)
    report.wait_distribution(run.contacts, run.channels)
    # journey mode (a scenario with ``customers:``)
    report.journey_funnel(run.journey, run.customers, run.warmup_s, run.horizon_s)

Importing this package does not choose a matplotlib backend; ``write_report``
switches to Agg only when pyplot is not already in use.
"""
from __future__ import annotations

from simsvc.report.build import write_report
from simsvc.report.compare_plots import comparison_differences, comparison_means, sweep_plot
from simsvc.report.data import (ChannelInfo, ExperimentData, ReportError, RunData,
                                channels_from_scenario, load_experiment, load_run)
from simsvc.report.journey_plots import (churn_over_time, journey_funnel, revenue_by_segment,
                                         satisfaction_distribution)
from simsvc.report.plots import (PlotSkipped, async_backlog, pool_staffing,
                                 service_level_by_time_of_day, volumes_by_interval,
                                 wait_distribution)

__all__ = [
    "write_report", "ReportError", "PlotSkipped", "load_run", "load_experiment", "RunData",
    "ExperimentData", "ChannelInfo", "channels_from_scenario",
    "service_level_by_time_of_day", "volumes_by_interval", "pool_staffing", "wait_distribution",
    "async_backlog", "comparison_means", "comparison_differences", "sweep_plot",
    "journey_funnel", "satisfaction_distribution", "churn_over_time", "revenue_by_segment",
]
