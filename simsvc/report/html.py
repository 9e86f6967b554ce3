"""The report's HTML, in three modules readable in one sitting: ``page`` (skeleton, style,
numbers), ``run_page`` (one run) and ``experiment_page`` (compare, sweep, experiment).
This module keeps the names callers used before the split."""
from __future__ import annotations

from simsvc.report.experiment_page import experiment_page
from simsvc.report.page import Block, blocks_html, cell, number, page
from simsvc.report.run_page import customers_table, funnel_table, kpi_table, run_page

__all__ = ["Block", "blocks_html", "cell", "number", "page", "run_page", "experiment_page",
           "kpi_table", "customers_table", "funnel_table"]
