"""The summary's definitions, checked on a replication whose right answers are known by hand.

Seven contact legs (three calls, four emails) and two agents are written straight
into a replication's records, so every per-channel and centre (`all`) metric can
be worked out on paper: the centre's real-time metrics must count only the calls,
its response metrics only the emails, occupancy is busy over staffed time of all
pools, metrics that do not apply have no row at all, and an email still unanswered
at the end whose deadline falls after the horizon is neither met nor missed.
"""
from __future__ import annotations

import numpy as np
import pytest

from simsvc.config.load import validate
from simsvc.observe.records import ABANDONED, ANSWERED, NEW, WAITING, RawRun
from simsvc.observe.daily import daily_replications
from simsvc.observe.summary import ALL, replication_metrics
from simsvc.observe.tables import intervals_frame

DAY = 86_400.0
HORIZON = 2 * DAY
DAYS_INDEX = {d: i for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}

SCENARIO = {
    "name": "by-hand",
    "horizon": "2d",
    "channels": {"phone": {"kind": "voice", "service_level_threshold": "20s"},
                 "email": {"kind": "async", "response_target": "24h"}},
    "demand": {"phone": {"rate": "1/h"}, "email": {"rate": "1/h"}},
    "handling": {"phone": {"dist": "exponential", "mean": "2min"},
                 "email": {"dist": "exponential", "mean": "5min"}},
    "agents": {"team": {"skills": ["phone", "email"], "staffing": 2, "cost_per_hour": 10}},
}

# channel 0 = phone, 1 = email; one issue per leg, all first contacts.
LEGS = [
    # channel, arrival_s, wait_s, outcome, agent, handle_s, resolved
    (0, 1000.0, 10.0, ANSWERED, 0, 100.0, 1),      # call within 20 s
    (0, 2000.0, 50.0, ANSWERED, 1, 200.0, 0),      # call answered late, unresolved
    (0, 3000.0, 30.0, ABANDONED, -1, np.nan, 0),   # call abandoned after 30 s
    (1, 4000.0, 7200.0, ANSWERED, 1, 300.0, 1),    # email answered in 2 h (target 24 h)
    (1, DAY, np.nan, WAITING, -1, np.nan, -1),     # email unanswered when its deadline came: a miss
    (1, 1.5 * DAY, np.nan, WAITING, -1, np.nan, -1),  # unanswered, deadline after the horizon: censored
    (1, 1.6 * DAY, 3600.0, ANSWERED, 0, 300.0, 1),  # deadline after the horizon, answered in 1 h: met
]


def _raw() -> RawRun:
    n = len(LEGS)
    ch, arr, wait, out, agent, handle, resolved = (np.array(col) for col in zip(*LEGS))
    contacts = {
        "issue": np.arange(n, dtype=np.int64), "attempt": np.ones(n, np.int16), "leg": np.ones(n, np.int16),
        "origin": np.full(n, NEW, np.int8), "channel": ch.astype(np.int16), "reason": np.zeros(n, np.int16),
        "arrival_s": arr.astype(float), "patience_s": np.full(n, np.nan), "wait_s": wait.astype(float),
        "outcome": out.astype(np.int8), "pool": np.where(agent >= 0, 0, -1).astype(np.int16),
        "agent": agent.astype(np.int32), "handle_s": handle.astype(float),
        "wrap_s": np.where(agent >= 0, 0.0, np.nan), "resolved": resolved.astype(np.int8),
        "transferred": np.zeros(n, bool), "blocked": np.zeros(n, bool), "closed": np.zeros(n, bool),
    }
    # Busy segments (agent-seconds on each channel) and two agents on duty all the time.
    t = 1.6 * DAY + 3600.0
    busy = {"start_s": np.array([1010.0, 2050.0, 11200.0, t]), "end_s": np.array([1110.0, 2250.0, 11500.0, t + 300]),
            "channel": np.array([0, 0, 1, 1], np.int16), "pool": np.zeros(4, np.int16),
            "agent": np.array([0, 1, 1, 0], np.int32)}
    duty = {"start_s": np.zeros(2), "end_s": np.full(2, HORIZON), "channel": np.full(2, -1, np.int16),
            "pool": np.zeros(2, np.int16), "agent": np.array([0, 1], np.int32)}
    return RawRun(replication=0, seed=0, contacts=contacts, busy=busy, duty=duty, wall_s=0.0)


@pytest.fixture(scope="module")
def metrics() -> dict[tuple[str, str], float]:
    m = replication_metrics(validate(SCENARIO), _raw(), customer_rows=[])
    return {(c, k): v for c, k, v in zip(m["channel"], m["metric"], m["value"])}


def test_phone_metrics_by_hand(metrics):
    assert metrics[("phone", "offered")] == 3
    assert metrics[("phone", "abandon_rate")] == pytest.approx(1 / 3)
    assert metrics[("phone", "service_level")] == pytest.approx(1 / 3)
    assert metrics[("phone", "asa_s")] == pytest.approx(30.0)           # (10 + 50) / 2
    assert metrics[("phone", "wait_mean_s")] == pytest.approx(30.0)     # (10 + 50 + 30) / 3
    assert metrics[("phone", "aht_s")] == pytest.approx(150.0)
    assert metrics[("phone", "occupancy")] == pytest.approx(300 / (2 * HORIZON))


def test_email_metrics_by_hand_and_not_applicable_ones_absent(metrics):
    # Met: the two answered in time; missed: the one whose deadline passed unanswered; the one
    # whose deadline is after the horizon is censored (neither), counted in pending_not_due.
    assert metrics[("email", "service_level")] == pytest.approx(2 / 3)
    assert metrics[("email", "response_within_target")] == pytest.approx(2 / 3)
    assert metrics[("email", "pending_not_due")] == 1
    assert metrics[("email", "response_time_mean_s")] == pytest.approx((7200.0 + 3600.0) / 2)
    assert metrics[("email", "asa_s")] == pytest.approx((7200.0 + 3600.0) / 2)
    assert metrics[("email", "backlog_end")] == 2
    for na in ("abandon_rate", "p_wait"):
        assert ("email", na) not in metrics
    for na in ("response_within_target", "response_time_mean_s"):
        assert ("phone", na) not in metrics


def test_centre_metrics_do_not_mix_calls_with_emails(metrics):
    assert metrics[(ALL, "offered")] == 7
    # Real-time metrics: the three calls only (not an average with a 2-hour email).
    assert metrics[(ALL, "asa_s")] == pytest.approx(30.0)
    assert metrics[(ALL, "service_level")] == pytest.approx(1 / 3)
    assert metrics[(ALL, "abandon_rate")] == pytest.approx(1 / 3)
    assert metrics[(ALL, "wait_p90_s")] <= 50.0
    # Response metrics: the emails only, the censored one out of the denominator.
    assert metrics[(ALL, "response_within_target")] == pytest.approx(2 / 3)
    assert metrics[(ALL, "pending_not_due")] == 1
    assert metrics[(ALL, "response_time_mean_s")] == pytest.approx(5400.0)
    # Work and capacity: every answered leg, every pool.
    assert metrics[(ALL, "aht_s")] == pytest.approx(225.0)              # (100 + 200 + 300 + 300) / 4
    assert metrics[(ALL, "occupancy")] == pytest.approx(900 / (2 * HORIZON))
    assert metrics[(ALL, "fcr")] == pytest.approx(3 / 5)                 # the waiting emails are left out
    assert metrics[(ALL, "agent_cost")] == pytest.approx(2 * 48 * 10)
    assert metrics[(ALL, "cost_per_contact")] == pytest.approx(960 / 4)


def test_centre_without_async_channels_has_no_response_metrics():
    sc = {**SCENARIO, "channels": {"phone": SCENARIO["channels"]["phone"]},
          "demand": {"phone": {"rate": "1/h"}}, "handling": {"phone": SCENARIO["handling"]["phone"]},
          "agents": {"team": {"skills": ["phone"], "staffing": 2}}}
    raw = _raw()
    keep = raw.contacts["channel"] == 0
    contacts = {k: v[keep] for k, v in raw.contacts.items()}
    busy = {k: v[:2] for k, v in raw.busy.items()}
    m = replication_metrics(validate(sc), RawRun(0, 0, contacts, busy, raw.duty, 0.0), customer_rows=[])
    centre = set(m.loc[m["channel"] == ALL, "metric"])
    assert "service_level" in centre and "response_within_target" not in centre


def test_intervals_and_days_censor_the_email_not_yet_due():
    sc = validate(SCENARIO)
    iv = intervals_frame(sc, _raw())
    email = iv[iv["channel"] == "email"]
    assert email["pending_not_due"].sum() == 1
    censored_slot = email[email["start_s"] == 1.5 * DAY // sc.interval * sc.interval]
    assert censored_slot["service_level"].isna().all()   # nothing due in it: no rate, not 0 %
    day = daily_replications(sc, iv)
    email_sl = day[(day["channel"] == "email") & (day["metric"] == "service_level")].set_index("day")["value"]
    # Day 0: the one email met. Day 1: one missed, one met, one censored -> 1 / 2 (not 1 / 3).
    assert email_sl.to_dict() == pytest.approx({0: 1.0, 1: 0.5})
    pending = day[(day["channel"] == "email") & (day["metric"] == "pending_not_due")]
    assert pending.set_index("day")["value"].to_dict() == {0: 0.0, 1: 1.0}


def test_heat_map_leaves_the_not_yet_due_email_grey_not_at_zero():
    from simsvc.report.daily_plots import sl_grid

    sc = validate(SCENARIO)
    iv = intervals_frame(sc, _raw())
    iv["in_warmup"] = False
    grid = sl_grid(iv, "email", False, sc.interval, sc.start_day)
    day1 = grid.loc[(DAYS_INDEX[sc.start_day] + 1) % 7]
    slot = lambda t: (t - DAY) // sc.interval * sc.interval  # noqa: E731
    assert np.isnan(day1[slot(1.5 * DAY)])          # only a censored email: no rate, grey
    assert day1[slot(1.6 * DAY)] == 1.0             # answered in time after the deadline passed the horizon
    assert day1[slot(DAY)] == 0.0                   # its deadline came and went: a miss
