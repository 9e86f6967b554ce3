"""Memory shapes of issue 13 give the values of the plain code, bit for bit.

Reducers that read a slice at a time give numpy's whole-array floats; the loop's arrivals
let go as they are converted, the record completed in slices and its constant columns shared
record the same legs. Each test runs the sliced code with tiny slices (7 values; numpy's
smallest pairwise block, 128) and compares it with the whole-array expression it replaces.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from simsvc.config.load import load_scenario
from view_helpers import assert_same_view
from simsvc.domain import experience as xp
from simsvc.model.centre import ContactCentre
from simsvc.observe import customer, customer_metrics, groups, pairwise
from simsvc.observe.pairwise import PairwiseSum, mean_of_count

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pairwise_sum_in_pieces_is_numpys_sum_and_mean(dtype):
    rng = np.random.default_rng(5)
    for n in (0, 1, 7, 128, 129, 1000, 4097, 40_001):
        x = (rng.standard_normal(n) * rng.exponential(50.0, n)).astype(dtype)
        for leaf in (128, 300, 8192):
            total = PairwiseSum(n, dtype, leaf)
            at = 0
            while at < n:
                k = int(rng.integers(0, 700))
                total.add(x[at:at + k])
                at += k
            assert total.total() == np.sum(x), (n, leaf)
            if n:
                assert total.mean() == np.mean(x) and total.mean().dtype == np.mean(x).dtype, (n, leaf)
    # The sum of per-piece sums is not numpy's float: what the tree is for.
    x = rng.standard_normal(40_001).astype(dtype)
    assert sum(np.sum(x[s:s + 1000]) for s in range(0, x.size, 1000)) != np.sum(x)


def test_pairwise_sum_refuses_a_wrong_count_or_dtype():
    total = PairwiseSum(3, np.float64)
    with pytest.raises(TypeError):
        total.add(np.ones(2, dtype=np.float32))
    total.add(np.ones(2))
    with pytest.raises(ValueError):
        total.total()
    with pytest.raises(ValueError):
        total.add(np.ones(2))


def test_mean_of_count_is_numpys_mean_of_flags():
    rng = np.random.default_rng(6)
    for n in (1, 3, 1001, 65_537):
        flags = rng.random(n) < 0.37
        assert mean_of_count(int(flags.sum()), n) == np.mean(flags)
        small = rng.integers(1, 8, n).astype(np.int8)
        assert mean_of_count(int(small.sum()), n) == np.mean(small)


def _whole_array_metrics(scenario, view):
    """customer_metrics as whole-array expressions (the code before it was sliced)."""
    rows = []
    keep_a = (view.a_arrival_s >= scenario.warmup) & view.a_finished
    keep_i = (view.i_arrival_s >= scenario.warmup) & view.i_finished
    groups = [(name, view.a_channel == i, view.i_channel == i) for i, name in enumerate(scenario.channels)]
    groups.append(("all", np.ones(view.a_channel.size, bool), np.ones(view.i_channel.size, bool)))
    for name, ma, mi in groups:
        a, i = keep_a & ma, keep_i & mi
        answered, handled, ces = a & view.responded, a & view.a_handled, i & view.i_ces_responded
        rows += [
            (name, "experience_mean", float(np.mean(view.experience[a])) if a.any() else np.nan),
            (name, "satisfaction_mean", float(np.mean(view.satisfaction[a])) if a.any() else np.nan),
            (name, "csat", xp.csat_score(view.csat[answered])),
            (name, "csat_responses", float(answered.sum())),
            (name, "nps", xp.nps_score(view.nps[answered])),
            (name, "ces", float(np.mean(view.i_ces[ces])) if ces.any() else np.nan),
            (name, "churn_risk", float(np.mean(view.churn_risk[a])) if a.any() else np.nan),
            (name, "expected_churn", float(np.sum(view.churn_risk[a]))),
            (name, "fcr_contact", float(np.mean(view.a_resolved[handled])) if handled.any() else np.nan),
        ]
    return rows


@pytest.fixture(scope="module")
def baseline_run():
    # Two days: transfers, escalations, redials and repeats, some legs still open at the horizon.
    s = load_scenario(ROOT / "scenarios" / "baseline.yaml", ["horizon=2d"])
    return s, ContactCentre(s, 11, 0).run()


def _same_rows(a, b):
    assert [r[:2] for r in a] == [r[:2] for r in b]
    for (ch, metric, x), (_, _, y) in zip(a, b):
        assert (np.isnan(x) and np.isnan(y)) or x == y, (ch, metric, x, y)


def test_customer_metrics_in_slices_equal_the_whole_array_floats(baseline_run, monkeypatch):
    s, raw = baseline_run
    view = customer.customer_view(s, raw)
    expected = _whole_array_metrics(s, view)
    _same_rows(customer_metrics.customer_metrics(s, view), expected)
    monkeypatch.setattr(customer_metrics, "METRIC_SLICE", 7)
    monkeypatch.setattr(pairwise, "LEAF", 128)
    _same_rows(customer_metrics.customer_metrics(s, view), expected)
    # A group with no kept attempts: NaN means, zero counts, as the whole-array code.
    late = dataclasses.replace(s, warmup=s.horizon + 1.0) if dataclasses.is_dataclass(s) else s.model_copy(
        update={"warmup": s.horizon + 1.0})
    _same_rows(customer_metrics.customer_metrics(late, view), _whole_array_metrics(late, view))


def test_view_scored_in_slices_of_seven_is_the_same_view(baseline_run, monkeypatch):
    s, raw = baseline_run
    view = customer.customer_view(s, raw)
    monkeypatch.setattr(groups, "ATTEMPT_CHUNK", 7)
    monkeypatch.setattr(groups, "GROUP_CHUNK", 7)
    sliced = customer.customer_view(s, raw)
    assert_same_view(view, sliced)


def test_attempts_that_are_their_own_issues_skip_the_grouping_with_the_same_view(monkeypatch):
    s = load_scenario(ROOT / "scenarios" / "erlang_a_check.yaml")
    raw = ContactCentre(s, 3, 0).run()
    view = customer.customer_view(s, raw)
    assert groups.strictly_increasing(view.a_issue)
    assert not groups.strictly_increasing(np.array([0, 2, 2, 5]))
    monkeypatch.setattr(groups, "strictly_increasing", lambda values: False)
    grouped = customer.customer_view(s, raw)
    assert_same_view(view, grouped)


def test_loop_memory_shapes_record_the_same_legs(monkeypatch):
    """Arrivals let go as they are converted, the record completed in slices and its constant
    columns shared: the same record as without them (every column, value for value)."""
    from simsvc.model import ahead, centre
    from simsvc.observe import records

    s = load_scenario(ROOT / "scenarios" / "baseline.yaml", ["horizon=1d", "warmup=0s"])
    default = ContactCentre(s, 4, 1).run().contacts
    copies = []
    converted = ahead.ArrivalsAhead.converted

    def spy(self, k):
        first = self.first
        out = converted(self, k)
        copies.append(self.first != first)
        return out

    monkeypatch.setattr(ahead.ArrivalsAhead, "converted", spy)
    monkeypatch.setattr(ahead, "CHUNK_MIN", 1)
    monkeypatch.setattr(centre, "ARRIVAL_CHUNK", 7)
    monkeypatch.setattr(centre, "FILL_SLICE", 7)
    monkeypatch.setattr(records, "share_constants", lambda contacts: dict(contacts))
    monkeypatch.setattr(centre, "share_constants", lambda contacts: dict(contacts))
    sliced = ContactCentre(s, 4, 1).run().contacts
    assert sum(copies) >= 7  # the arrivals were copied down about eight times
    assert list(default) == list(sliced)
    for name, column in sliced.items():
        assert column.strides != (0,), name  # nothing shared in this run
        assert default[name].dtype == column.dtype, name
        np.testing.assert_array_equal(default[name], column, err_msg=name)


def test_share_constants_keeps_the_values_read_only():
    from simsvc.observe.records import ContactBuffer, RowNumbers, share_constants

    n = 70_001
    held = {"attempt": np.ones(n, np.int16), "issue": np.arange(5, n + 5, dtype=np.int32),
            "patience_s": np.full(n, np.nan), "closed": np.zeros(n, np.int8), "wait_s": np.arange(n) * 0.5}
    held["closed"][-1] = 1  # differs only in the last slice
    shared = share_constants(held)
    assert shared["attempt"].strides == (0,) and shared["patience_s"].strides == (0,)
    assert shared["closed"] is held["closed"] and shared["wait_s"] is held["wait_s"]
    issue = shared["issue"]  # the row number plus 5: computed when read, in the output's dtype
    assert isinstance(issue, RowNumbers) and issue.dtype == np.int64 and len(issue) == n
    assert issue[3:9].tolist() == list(range(8, 14)) and issue[n - 2:n + 9].tolist() == [n + 3, n + 4]
    for name, values in held.items():
        np.testing.assert_array_equal(shared[name], values, err_msg=name)
    again = held["issue"].copy()
    again[-1] = again[-2]  # a repeat of the last issue: stored as it is
    assert share_constants({"issue": again})["issue"] is again
    with pytest.raises(ValueError):
        shared["attempt"][0] = 2
    assert share_constants({"x": np.empty(0)})["x"].size == 0
    one = {name: np.full(3, 5, dtype=np.dtype(code)) for name, (code, _, _) in ContactBuffer.COLUMNS.items()}
    wide = ContactBuffer.widened(share_constants(one))
    assert wide["issue"].dtype == np.int64 and wide["issue"].strides == (0,) and wide["issue"][2] == 5


def test_columns_computed_when_read_are_the_filled_columns():
    """The pool, a fixed wrap-up and a sequential issue id are computed from the record when
    read: the values the loop's end used to store, whole or a slice at a time."""
    from simsvc.observe.records import AgentPools, FixedWrap, RowNumbers, WAITING
    from simsvc.observe.scores import WaitRatios

    s = load_scenario(ROOT / "scenarios" / "erlang_a_check.yaml", ["horizon=2d"])
    sim = ContactCentre(s, 9, 0)
    c = sim.run().contacts
    assert isinstance(c["pool"], AgentPools) and isinstance(c["wrap_s"], FixedWrap)
    assert isinstance(c["issue"], RowNumbers)
    agent = c["agent"]
    answered = agent >= 0
    pool = np.where(answered, np.asarray(sim.a_pool, dtype=np.int16)[np.maximum(agent, 0)], -1)
    wrap = np.where(answered, np.array([p.wrap_s for p in sim.pools])[np.maximum(pool, 0)], np.nan)
    expected = {"pool": pool.astype(np.int16), "wrap_s": wrap, "issue": np.arange(len(agent), dtype=np.int64)}
    xp_ = xp.expected_waits(s).astype(np.float32)
    w = c["wait_s"].copy()
    w[c["outcome"] == WAITING] = s.horizon - c["arrival_s"][c["outcome"] == WAITING]
    ratio = np.nan_to_num(w).astype(np.float32)
    ratio /= xp_[c["channel"]]
    ratios = WaitRatios(c, s.horizon, xp_)
    for name, values in [*expected.items(), ("wait_ratio", ratio)]:
        column = ratios if name == "wait_ratio" else c[name]
        whole = np.asarray(column)
        assert whole.dtype == values.dtype, name
        np.testing.assert_array_equal(whole, values, err_msg=name)
        sliced = np.concatenate([column[k:k + 7] for k in range(0, len(column), 7)])
        np.testing.assert_array_equal(sliced, values, err_msg=name)
