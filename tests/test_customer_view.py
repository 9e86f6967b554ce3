"""The customer's view: its per-issue counts against sums taken straight from the leg records."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simsvc.config.load import load_scenario
from view_helpers import assert_same_view
from simsvc.model.centre import ContactCentre
from simsvc.observe import customer, groups
from simsvc.observe.records import ESCALATION, ComputedColumn
from simsvc.observe.scores import ScoreColumn

ROOT = Path(__file__).resolve().parents[1]


def _run_and_view(name: str):
    s = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    raw = ContactCentre(s, 7, 0).run()
    return s, raw, customer.customer_view(s, raw)


@pytest.fixture(scope="module")
def run_and_view():
    return _run_and_view("baseline")  # transfers, escalations, redials: attempts of several legs


@pytest.fixture(scope="module")
def single_leg_run_and_view():
    return _run_and_view("erlang_a_check")  # every leg its own attempt and issue


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


@pytest.mark.parametrize("which", ["run_and_view", "single_leg_run_and_view"])
def test_view_issue_columns_come_from_each_issue_first_leg(which, request):
    _, raw, view = request.getfixturevalue(which)
    c = raw.contacts
    first = {}
    for row in np.lexsort((c["leg"], c["attempt"], c["issue"]))[::-1]:
        first[int(c["issue"][row])] = row
    rows = np.array([first[int(i)] for i in view.i_issue])
    np.testing.assert_array_equal(view.i_channel, c["channel"][rows])
    np.testing.assert_array_equal(view.i_reason, c["reason"][rows])
    np.testing.assert_array_equal(view.i_arrival_s, c["arrival_s"][rows])
    assert np.all(np.diff(view.i_issue) > 0)


def test_single_leg_attempts_share_the_record_columns_read_only(single_leg_run_and_view, run_and_view):
    _, raw, view = single_leg_run_and_view
    c = raw.contacts
    assert view.a_issue.size == c["issue"].size == view.i_issue.size
    for name, column in [("a_issue", "issue"), ("a_attempt", "attempt"), ("a_channel", "channel"),
                         ("a_arrival_s", "arrival_s"), ("i_issue", "issue"), ("i_channel", "channel"),
                         ("i_reason", "reason"), ("i_arrival_s", "arrival_s")]:
        values = getattr(view, name)
        if isinstance(c[column], ComputedColumn):  # computed when read (the issue id = row number)
            assert values is c[column], name
        else:
            assert np.shares_memory(values, c[column]) and not values.flags.writeable, name
        np.testing.assert_array_equal(values, c[column][view.last_leg], err_msg=name)
    with pytest.raises(ValueError):
        view.a_arrival_s[0] = 0.0  # the records cannot be changed through the view
    _, raw, view = run_and_view  # attempts of several legs: copies, as before
    assert not np.shares_memory(view.a_arrival_s, raw.contacts["arrival_s"]) and view.a_arrival_s.flags.writeable


def test_single_leg_contact_columns_are_the_view_arrays_and_the_placed_values(single_leg_run_and_view):
    import dataclasses

    _, raw, view = single_leg_run_and_view
    n = raw.contacts["issue"].size
    shared = customer.contact_columns(view, n)
    placed = customer.contact_columns(dataclasses.replace(view, legs_are_attempts=False), n)  # the general path
    # Forecast mode: the scores are the view's columns computed when read, not stored arrays.
    assert view.legs_are_attempts and shared["experience"] is view.experience
    assert isinstance(view.experience, ScoreColumn)
    for name in ("experience", "satisfaction", "churn_risk"):
        assert shared[name].dtype == placed[name].dtype == np.float32
        np.testing.assert_array_equal(shared[name], placed[name], err_msg=name)
    for name in ("csat", "nps"):
        np.testing.assert_array_equal(shared[name].to_numpy(dtype=float, na_value=np.nan),
                                      placed[name].to_numpy(dtype=float, na_value=np.nan), err_msg=name)
        rows = shared[name][0:n]  # a range of rows as the writer reads it: its own mask
        assert not np.shares_memory(rows._mask, shared["csat" if name == "nps" else "nps"][0:n]._mask)


def test_single_leg_tables_columns_do_not_share_memory(single_leg_run_and_view):
    """Sharing arrays saves memory only where no two columns of one table would change together."""
    from simsvc.observe.tables import contacts_frame

    s, raw, view = single_leg_run_and_view
    extra = customer.contact_columns(view, raw.contacts["issue"].size)
    for frame in (customer.issues_frame(s, raw, view), contacts_frame(s, raw, extra=extra)):
        arrays = {}
        for name in frame.columns:
            a = frame[name].array
            for part in ("_ndarray", "_data", "_mask"):
                if isinstance(getattr(a, part, None), np.ndarray):
                    arrays[f"{name}.{part}"] = getattr(a, part)
        names = sorted(arrays)
        assert len(names) >= len(frame.columns)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                assert not np.shares_memory(arrays[a], arrays[b]), (a, b)


def test_attempts_in_record_order_skip_the_sort_with_the_same_view(single_leg_run_and_view, run_and_view,
                                                                   monkeypatch):
    """Where every leg is its own attempt in record order the view skips the sort and the
    grouping (issue 13, memory); forced through them, it is the same view, array for array."""

    s, raw, view = single_leg_run_and_view
    c = raw.contacts
    assert groups.attempts_in_record_order(c["issue"], c["attempt"])
    _, multi, _ = run_and_view
    assert not groups.attempts_in_record_order(multi.contacts["issue"], multi.contacts["attempt"])
    swapped = c["issue"].copy()
    swapped[[3, 4]] = swapped[[4, 3]]  # one pair out of order, across a slice boundary too
    assert not groups.attempts_in_record_order(swapped, c["attempt"])
    monkeypatch.setattr(groups, "GROUP_CHUNK", 3)
    assert groups.attempts_in_record_order(c["issue"], c["attempt"])
    monkeypatch.setattr(groups, "attempts_in_record_order", lambda issue, attempt: False)
    general = customer.customer_view(s, raw)
    assert_same_view(view, general)
