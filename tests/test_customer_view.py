"""The customer's view: its per-issue counts against sums taken straight from the leg records."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simsvc.config.load import load_scenario
from simsvc.model.centre import ContactCentre
from simsvc.observe import customer
from simsvc.observe.records import ESCALATION

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_and_view():
    s = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    raw = ContactCentre(s, 7, 0).run()
    return s, raw, customer.customer_view(s, raw)


def test_issue_transfer_and_escalation_counts_match_the_legs(run_and_view):
    _, raw, view = run_and_view
    c = raw.contacts
    size = int(c["issue"].max()) + 1
    transfers = np.bincount(c["issue"], weights=c["transferred"], minlength=size)[view.i_issue]
    escalations = np.bincount(c["issue"], weights=c["origin"] == ESCALATION, minlength=size)[view.i_issue]
    assert transfers.sum() > 0 and escalations.sum() > 0
    # Stored in int16, the dtype of the issues table's columns (a quarter of an int64 sum).
    assert view.i_transfers.dtype == np.int16 and view.i_escalations.dtype == np.int16
    np.testing.assert_array_equal(view.i_transfers, transfers.astype(np.int64))
    np.testing.assert_array_equal(view.i_escalations, escalations.astype(np.int64))


def test_view_issue_columns_come_from_each_issue_first_leg(run_and_view):
    _, raw, view = run_and_view
    c = raw.contacts
    first = {}
    for row in np.lexsort((c["leg"], c["attempt"], c["issue"]))[::-1]:
        first[int(c["issue"][row])] = row
    rows = np.array([first[int(i)] for i in view.i_issue])
    np.testing.assert_array_equal(view.i_channel, c["channel"][rows])
    np.testing.assert_array_equal(view.i_reason, c["reason"][rows])
    np.testing.assert_array_equal(view.i_arrival_s, c["arrival_s"][rows])
    assert np.all(np.diff(view.i_issue) > 0)
