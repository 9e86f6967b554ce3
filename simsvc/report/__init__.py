"""Reports and plots of results folders.

``write_report(results_dir)`` writes ``report.html`` (one self-contained page)
and every plot as PNG under ``plots/`` (``svg=True``: as SVG too). The plot functions return
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

import importlib
from typing import Any

# Name -> module: imported on first use, so that importing this package (or one of its
# modules, e.g. simsvc.report.live in a run that reports from another process) does not
# import matplotlib.
_EXPORTS = {
    "write_report": "build",
    "comparison_differences": "compare_plots", "comparison_means": "compare_plots", "sweep_plot": "compare_plots",
    "ChannelInfo": "data", "ExperimentData": "data", "ReportError": "data", "RunData": "data",
    "channels_from_scenario": "data", "load_experiment": "data", "load_run": "data",
    "churn_over_time": "journey_plots", "journey_funnel": "journey_plots", "revenue_by_segment": "journey_plots",
    "satisfaction_distribution": "journey_plots",
    "PlotSkipped": "plots", "async_backlog": "plots", "pool_staffing": "plots",
    "service_level_by_time_of_day": "plots", "volumes_by_interval": "plots", "wait_distribution": "wait_plots",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"simsvc.report.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'simsvc.report' has no attribute {name!r}")


__all__ = [
    "write_report", "ReportError", "PlotSkipped", "load_run", "load_experiment", "RunData",
    "ExperimentData", "ChannelInfo", "channels_from_scenario",
    "service_level_by_time_of_day", "volumes_by_interval", "pool_staffing", "wait_distribution",
    "async_backlog", "comparison_means", "comparison_differences", "sweep_plot",
    "journey_funnel", "satisfaction_distribution", "churn_over_time", "revenue_by_segment",
]
