"""The report's wait histogram of a run in memory, read from the contacts row table's arrays
(issue 13: the report of a large run costs a small part of the simulation)."""
from __future__ import annotations

import pandas as pd

from test_tables import SCENARIO
from simsvc.config.load import validate
from simsvc.model.centre import simulate
from simsvc.observe import customer, tables
from simsvc.report.data import merge_wait_histograms, wait_histogram
from simsvc.report.waits import wait_histogram_of_rows


def test_histogram_of_row_arrays_equals_histogram_of_the_contacts_frame():
    scenario = validate(SCENARIO)   # four channels, a warm-up, abandons, bot containment
    raw = simulate(scenario, scenario.seed, 0)
    view = customer.customer_view(scenario, raw)
    rows = tables.contact_rows(scenario, raw, customer.contact_columns(view, raw.contacts["issue"].size))
    frame = rows.frame()
    assert frame["in_warmup"].any() and frame["channel"].nunique() == 4 and frame["outcome"].nunique() >= 3
    whole = merge_wait_histograms([wait_histogram(frame)])
    for slice_rows in (len(rows) + 1, 29):   # one slice; many, the last one partial
        got = wait_histogram_of_rows(rows, slice_rows)
        pd.testing.assert_frame_equal(merge_wait_histograms([got]), whole, check_exact=True)
        pd.testing.assert_frame_equal(got, wait_histogram(frame), check_exact=True)
    assert whole["count"].sum() == (~frame["in_warmup"] & frame["wait_s"].notna()).sum()
