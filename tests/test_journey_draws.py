"""Journey mode's numbers drawn ahead, and the evaluations decided without an event of their own.

* The vector forms used to draw lives in batches give exactly the numbers of the scalar
  forms they replace (:func:`~simsvc.domain.randomness.quantiles` per code,
  :func:`~simsvc.domain.randomness.poisson_at`, :func:`~simsvc.domain.randomness.key_hash`).
* An evaluation whose promoter could refer nobody has no event: it is decided when its
  customer is next touched. A run with an event for every evaluation records the same
  journey, contacts and customers, number for number.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import test_journey as tj
from simsvc.config.load import validate
from simsvc.config.schema import Deterministic, Empirical, Exponential, Gamma, Lognormal, Uniform
from simsvc.domain.randomness import (
    QuantileTable,
    key_hash,
    key_hashes_from,
    poisson_at,
    poisson_counts,
    quantiles,
)
from simsvc.experiment.runner import run_replication
from simsvc.model.journey import Journey


def test_quantile_table_gives_quantiles_of_each_code():
    dists = [Exponential(dist="exponential", mean=300.0), Lognormal(dist="lognormal", mean=200.0, cv=1.3),
             Gamma(dist="gamma", mean=50.0, cv=2.0), Deterministic(dist="deterministic", value=30.0),
             Uniform(dist="uniform", low=10.0, high=70.0), Exponential(dist="exponential", mean=7.0),
             Empirical(dist="empirical", values=[1.0, 5.0, 9.0], weights=[1, 2, 1]), None]
    rng = np.random.default_rng(4)
    u = rng.random(5000)
    code = rng.integers(0, 7, u.size)
    got = QuantileTable(dists)(code, u)
    expected = np.empty(u.size)
    for k in range(7):
        for i in np.flatnonzero(code == k):  # one at a time, as a batch of one customer draws them
            expected[i] = quantiles(dists[k], u[i:i + 1])[0]
    assert np.array_equal(got, expected)
    only_exponential = QuantileTable(dists[:1] + dists[5:6])
    c2 = code % 2
    assert np.array_equal(only_exponential(c2, u), np.where(c2 == 0, quantiles(dists[0], u), quantiles(dists[5], u)))
    with pytest.raises(TypeError):
        QuantileTable(dists)(np.array([0, 7]), u[:2])


@pytest.mark.parametrize("mean", [0.3, 2.5, 40.0])
def test_poisson_counts_are_poisson_at(mean):
    u = np.random.default_rng(5).random(20000)
    u[:3] = [0.0, np.nextafter(1.0, 0.0), 0.5]
    assert np.array_equal(poisson_counts(mean, u), [poisson_at(mean, x) for x in u.tolist()])


def test_key_hashes_from_are_key_hash():
    rng = np.random.default_rng(6)
    start = rng.integers(0, 2**63, 500, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    nth = rng.integers(0, 4, 500).astype(np.uint64)
    got = key_hashes_from(start, 2, nth)
    assert got.tolist() == [key_hash(2, j, start=h) for h, j in zip(start.tolist(), nth.tolist())]


class _EveryEvaluationAnEvent(Journey):
    quiet_evaluations = False


def test_quiet_evaluations_decide_what_events_would(monkeypatch):
    """The same seed with and without quiet evaluations: identical tables. The scenario churns
    at evaluations and after contacts, refers, and calls buyers back, so a quiet evaluation
    decided at the wrong time or with the wrong satisfaction shows."""
    cust = tj.busy_day(initial=600, acquisition="60/d",
                       initial_stages={"usage": 0.5, "post_purchase": 0.3, "loyalty": 0.2},
                       referrals={"per_promoter": 0.5, "delay": tj.exp("1d")},
                       proactive={"channel": "outbound", "after": ["purchase"], "probability": 0.5,
                                  "delay": tj.exp("6h"), "reason": "followup"})
    cust["dwell"]["post_purchase"] = tj.exp("6h")
    for seg in cust["segments"].values():
        seg["churn"] = {"after_contact": {"base_risk": 0.05, "sensitivity": 8},
                        "at_evaluation": {"base_risk": 0.15, "sensitivity": 8}}
    sc = validate(tj.journey(cust, horizon="3d", agents=tj._staffed(2)))
    quiet = run_replication(sc, 3, 0)
    monkeypatch.setattr("simsvc.model.centre.Journey", _EveryEvaluationAnEvent)
    evented = run_replication(sc, 3, 0)
    ev = quiet.journey_events
    assert (ev["event"] == "churn").sum() > 20 and (ev["event"] == "referral").sum() > 5
    pd.testing.assert_frame_equal(ev, evented.journey_events)
    pd.testing.assert_frame_equal(quiet.customers, evented.customers)
    pd.testing.assert_frame_equal(quiet.contacts, evented.contacts)
