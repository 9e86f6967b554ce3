"""The output contract: columns, dtypes and meaning of the tables a run produces.

Column lists are pinned here on purpose: adding, removing, renaming or retyping a
column must be a deliberate change to this file (and to the documentation).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simsvc.config.load import validate
from simsvc.experiment.runner import run
from simsvc.observe.records import ORIGINS, OUTCOMES
from simsvc.observe.summary import ALL

CONTACT_COLUMNS = {
    "replication": "int32",
    "contact_id": "int64",
    "issue_id": "int64",
    "attempt": "int16",
    "leg": "int16",
    "origin": "category",
    "channel": "category",
    "reason": "category",
    "arrival_s": "float64",
    "outcome": "category",
    "wait_s": "float64",
    "answered_s": "float64",
    "pool": "category",
    "agent": "Int32",
    "handle_s": "float64",
    "wrap_s": "float64",
    "resolved": "boolean",
    "transferred": "bool",
    "blocked": "bool",
    "closed": "bool",
    "patience_s": "float64",
    "in_warmup": "bool",
    "experience": "float32",
    "satisfaction": "float32",
    "churn_risk": "float32",
    "csat": "Int8",
    "nps": "Int8",
}

INTERVAL_COLUMNS = {
    "replication": "int32",
    "interval": "int32",
    "start_s": "float64",
    "day": "int32",
    "weekday": "category",
    "time_of_day": "category",
    "channel": "category",
    "offered": "int64",
    "answered": "int64",
    "abandoned": "int64",
    "contained": "int64",
    "escalated": "int64",
    "lost": "int64",
    "lost_closed": "int64",
    "waiting_end": "int64",
    "answered_within_threshold": "int64",
    "pending_not_due": "int64",
    "wait_sum_s": "float64",
    "asa_s": "float64",
    "service_level": "float64",
    "agents_staffed": "float64",
    "busy_agent_s": "float64",
    "occupancy": "float64",
    "backlog_end": "int64",
    "in_warmup": "bool",
}

POOL_COLUMNS = {
    "replication": "int32",
    "interval": "int32",
    "start_s": "float64",
    "pool": "category",
    "agents_scheduled": "float64",
    "agents_staffed": "float64",
    "staffed_agent_s": "float64",
    "busy_agent_s": "float64",
    "occupancy": "float64",
    "cost": "float64",
    "in_warmup": "bool",
}

SUMMARY_COLUMNS = ["channel", "metric", "mean", "ci_low", "ci_high", "reps"]
PER_REP_COLUMNS = ["replication", "channel", "metric", "value"]

# Metrics every channel block reports (bots drop the waiting-time metrics and add their own).
COMMON_METRICS = {"offered", "offered_new_issues", "answered", "abandoned", "contained", "escalated",
                  "lost", "lost_closed", "waiting_end", "transferred", "fcr", "backlog_end"}
WAIT_METRICS = {"abandon_rate", "p_wait", "wait_mean_s", "asa_s", "wait_p90_s", "service_level", "aht_s"}
# Abandonment and P(wait) do not apply to a backlog; nothing agent-related applies to a bot.
ASYNC_METRICS = {"wait_mean_s", "asa_s", "wait_p90_s", "service_level", "aht_s", "occupancy",
                 "response_within_target", "response_time_mean_s", "pending_not_due"}

REPS = 3
HOURS = 10
WARMUP_H = 2

SCENARIO = {
    "name": "contract",
    "horizon": f"{HOURS}h",
    "warmup": f"{WARMUP_H}h",
    "interval": "1h",
    "seed": 5,
    "reasons": {"billing": {}, "tech": {"transfer": {"probability": 0.3, "to": "specialists"}}},
    "channels": {
        "phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "2min"},
                  "redial": {"probability": 0.5, "delay": {"dist": "exponential", "mean": "10min"}},
                  "hours": "01:00-09:00", "when_closed": "retry", "retry_spread": "30min"},
        "chat": {"kind": "chat", "concurrency": 2, "concurrency_slowdown": 0.2,
                 "patience": {"dist": "exponential", "mean": "3min"}, "queue_capacity": 3},
        "bot": {"kind": "bot", "containment": 0.5, "escalate_to": "chat"},
        "email": {"kind": "async", "response_target": "4h"},
    },
    "demand": {
        "phone": {"rate": "40/h", "mix": {"billing": 0.7, "tech": 0.3}},
        "chat": {"rate": "15/h", "mix": {"billing": 0.5, "tech": 0.5}},
        "bot": {"rate": "15/h", "mix": {"billing": 0.5, "tech": 0.5}},
        "email": {"rate": "10/h", "mix": {"billing": 0.5, "tech": 0.5}},
    },
    "handling": {"phone": {"dist": "lognormal", "mean": "4min", "cv": 0.8},
                 "chat": {"dist": "exponential", "mean": "6min"},
                 "bot": {"dist": "gamma", "mean": "2min", "cv": 0.7},
                 "email": {"dist": "exponential", "mean": "5min"}},
    "resolution": {"phone": 0.8, "chat": 0.7, "email": 0.6},
    "repeat": {"probability": 0.5, "delay": {"dist": "exponential", "mean": "1h"}, "max_attempts": 3,
               "switch": {"phone": {"phone": 0.7, "email": 0.3}}},
    "agents": {
        "generalists": {"skills": ["phone", "email"], "wrap_up": {"dist": "gamma", "mean": "30s", "cv": 0.5},
                        "cost_per_hour": 30, "shrinkage": 0.2,
                        "staffing": {"shifts": [{"start": "00:00", "end": "06:00", "agents": 5},
                                                {"start": "04:00", "end": "10:00", "agents": 4}]}},
        "digital": {"skills": ["chat", "email"], "cost_per_hour": 28, "staffing": 2},
        "specialists": {"skills": ["phone/tech", "chat/tech"], "cost_per_hour": 40,
                        "staffing": {"steps": [{"start": "00:00", "agents": 1}, {"start": "03:00", "agents": 2}]}},
    },
}


@pytest.fixture(scope="module")
def scenario():
    return validate(SCENARIO)


@pytest.fixture(scope="module")
def result(scenario):
    return run(scenario, replications=REPS, workers=1)


def _dtypes(df: pd.DataFrame) -> dict[str, str]:
    return {k: str(v) for k, v in df.dtypes.items()}


# --------------------------------------------------------------------------- contacts
def test_contacts_columns_and_dtypes(result):
    assert _dtypes(result.contacts) == CONTACT_COLUMNS
    assert list(result.contacts.columns) == list(CONTACT_COLUMNS)


def test_contacts_categories_and_keys(result, scenario):
    c = result.contacts
    assert list(c["origin"].cat.categories) == list(ORIGINS)
    assert list(c["outcome"].cat.categories) == list(OUTCOMES)
    assert list(c["channel"].cat.categories) == list(scenario.channels)
    assert list(c["reason"].cat.categories) == list(scenario.reasons)
    assert list(c["pool"].cat.categories) == list(scenario.agents)
    assert sorted(c["replication"].unique()) == list(range(REPS))
    # (replication, contact_id) is the key; contact ids count 0.. within a replication.
    assert not c.duplicated(["replication", "contact_id"]).any()
    for _, g in c.groupby("replication"):
        np.testing.assert_array_equal(g["contact_id"].to_numpy(), np.arange(len(g)))


def test_contacts_field_meanings(result):
    c = result.contacts
    ans = c["outcome"] == "answered"
    np.testing.assert_allclose(c.loc[ans, "answered_s"], c.loc[ans, "arrival_s"] + c.loc[ans, "wait_s"])
    assert c.loc[~ans, "answered_s"].isna().all()
    assert c.loc[ans, "pool"].notna().all() and c.loc[ans, "agent"].notna().all()
    assert c.loc[~ans, "pool"].isna().all() and c.loc[~ans, "agent"].isna().all()
    waiting = c["outcome"] == "waiting"
    assert c.loc[waiting, "resolved"].isna().all()
    assert c.loc[~waiting, "resolved"].notna().all()
    # The scenario exercises every outcome but "waiting" may or may not occur; every origin but none missing.
    assert {"answered", "abandoned", "contained", "escalated", "lost"} <= set(c["outcome"].astype(str))
    assert {"new", "redial", "repeat", "escalation", "transfer", "retry"} <= set(c["origin"].astype(str))


def test_contacts_in_warmup_flag(result, scenario):
    c = result.contacts
    np.testing.assert_array_equal(c["in_warmup"].to_numpy(), (c["arrival_s"] < scenario.warmup).to_numpy())
    assert c["in_warmup"].any() and (~c["in_warmup"]).any()


# --------------------------------------------------------------------------- intervals, pools
def test_intervals_columns_and_dtypes(result, scenario):
    iv = result.intervals
    assert list(iv.columns) == list(INTERVAL_COLUMNS)
    assert _dtypes(iv) == INTERVAL_COLUMNS
    assert list(iv["channel"].cat.categories) == list(scenario.channels)
    # One row per replication × interval × channel.
    assert len(iv) == REPS * HOURS * len(scenario.channels)
    assert not iv.duplicated(["replication", "interval", "channel"]).any()
    np.testing.assert_array_equal(np.sort(iv["start_s"].unique()), 3600.0 * np.arange(HOURS))
    # Calendar keys: the day from time 0, its weekday (start_day onwards) and the clock time.
    np.testing.assert_array_equal(iv["day"], (iv["start_s"] // 86400).astype(int))
    first = iv[iv["interval"] == 1].iloc[0]
    assert first["weekday"] == scenario.start_day and first["time_of_day"] == "01:00"


def test_pools_columns_and_dtypes(result, scenario):
    p = result.pools
    assert list(p.columns) == list(POOL_COLUMNS)
    assert _dtypes(p) == POOL_COLUMNS
    assert list(p["pool"].cat.categories) == list(scenario.agents)
    assert len(p) == REPS * HOURS * len(scenario.agents)
    assert not p.duplicated(["replication", "interval", "pool"]).any()


def test_pools_schedule_and_cost(result):
    p = result.pools[result.pools["replication"] == 0].set_index(["pool", "interval"])
    # generalists: 5 (00-06) + 4 (04-10) scheduled; shrinkage 0.2 -> 4 and 3 (5*.8=4, 4*.8=3.2->3).
    sched = np.array([5, 5, 5, 5, 9, 9, 4, 4, 4, 4], dtype=float)
    staffed = np.array([4, 4, 4, 4, 7, 7, 3, 3, 3, 3], dtype=float)
    np.testing.assert_allclose(p.loc["generalists", "agents_scheduled"], sched)
    np.testing.assert_allclose(p.loc["generalists", "cost"], sched * 30.0)
    # Staffed may exceed the plan only while leaving agents finish a contact.
    got = p.loc["generalists", "agents_staffed"].to_numpy()
    assert (got >= staffed - 1e-9).all()
    np.testing.assert_allclose(p.loc["digital", "agents_scheduled"], 2.0)
    np.testing.assert_allclose(p.loc["specialists", "agents_scheduled"], [1, 1, 1] + [2] * 7)


def test_intervals_in_warmup_flags(result, scenario):
    for df in (result.intervals, result.pools):
        np.testing.assert_array_equal(df["in_warmup"].to_numpy(), (df["start_s"] < scenario.warmup).to_numpy())
        per_rep = df[df["replication"] == 0]
        n_groups = per_rep["in_warmup"].sum() / WARMUP_H
        assert n_groups == len(per_rep) / HOURS  # WARMUP_H warm-up intervals per channel or pool


# --------------------------------------------------------------------------- summary
def test_summary_long_format(result, scenario):
    s = result.summary
    assert list(s.columns) == SUMMARY_COLUMNS
    assert str(s["reps"].dtype) == "int64"
    for col in ("mean", "ci_low", "ci_high"):
        assert str(s[col].dtype) == "float64"
    assert list(dict.fromkeys(s["channel"])) == list(scenario.channels) + [ALL]
    assert not s.duplicated(["channel", "metric"]).any()
    for name, cfg in scenario.channels.items():
        metrics = set(s.loc[s["channel"] == name, "metric"])
        assert COMMON_METRICS <= metrics, (name, COMMON_METRICS - metrics)
        if cfg.kind == "bot":
            assert {"containment_rate", "bot_time_mean_s"} <= metrics
            assert not metrics & (WAIT_METRICS | {"occupancy"})
        elif cfg.kind == "async":
            assert ASYNC_METRICS <= metrics
            assert not metrics & {"abandon_rate", "p_wait", "containment_rate"}
        else:
            assert WAIT_METRICS | {"occupancy"} <= metrics
            assert not metrics & {"response_within_target", "response_time_mean_s"}
    centre = set(s.loc[s["channel"] == ALL, "metric"])
    assert {"agent_cost", "cost_per_contact", "occupancy"} | WAIT_METRICS <= centre
    if any(ch.kind == "async" for ch in scenario.channels.values()):
        assert {"response_within_target", "response_time_mean_s"} <= centre
    ok = s["reps"] >= 2
    assert ((s.loc[ok, "ci_low"] <= s.loc[ok, "mean"] + 1e-12) | s.loc[ok, "ci_low"].isna()).all()
    assert ((s.loc[ok, "ci_high"] >= s.loc[ok, "mean"] - 1e-12) | s.loc[ok, "ci_high"].isna()).all()
    assert (s["reps"] <= REPS).all()


def test_per_replication_long_format_and_summary_means(result):
    per = result.per_replication
    assert list(per.columns) == PER_REP_COLUMNS
    assert sorted(per["replication"].unique()) == list(range(REPS))
    means = per.groupby(["channel", "metric"], sort=False)["value"].mean()
    s = result.summary.set_index(["channel", "metric"])["mean"]
    pd.testing.assert_series_equal(s.sort_index(), means.reindex(s.index).sort_index(), check_names=False)
    assert result.metric("offered") == pytest.approx(s[(ALL, "offered")])


def test_summary_totals_match_post_warmup_contacts(result):
    c = result.contacts[~result.contacts["in_warmup"]]
    per = result.per_replication.set_index(["replication", "channel", "metric"])["value"]
    for (rep, ch), g in c.groupby(["replication", "channel"], observed=True):
        assert per[(rep, ch, "offered")] == len(g)
        for outcome in ("answered", "abandoned", "contained", "escalated", "lost"):
            assert per[(rep, ch, outcome)] == (g["outcome"] == outcome).sum()


# --------------------------------------------------------------------------- reproducibility
def test_parallel_run_matches_serial(scenario, result):
    par = run(scenario, replications=REPS, workers=2)
    pd.testing.assert_frame_equal(par.summary, result.summary)
    pd.testing.assert_frame_equal(par.per_replication, result.per_replication)
    pd.testing.assert_frame_equal(par.intervals, result.intervals)
    pd.testing.assert_frame_equal(par.contacts, result.contacts)
    assert par.seed == result.seed == 5


def test_parallel_run_under_a_fork_server_matches_serial(scenario, result, monkeypatch):
    # Python 3.14 starts process pools with a fork server on Linux: the workers then share no
    # memory with the run and import simsvc themselves; the numbers must not notice.
    import multiprocessing

    from simsvc.experiment import executors, runner

    monkeypatch.setattr(runner, "process_pool",
                        lambda n: executors.process_pool(n, multiprocessing.get_context("forkserver")))
    par = run(scenario, replications=REPS, workers=2)
    pd.testing.assert_frame_equal(par.summary, result.summary)
    pd.testing.assert_frame_equal(par.contacts, result.contacts)


def test_same_seed_same_result_other_seed_differs(scenario, result):
    again = run(scenario, replications=1, seed=5)
    pd.testing.assert_frame_equal(again.contacts, result.contacts[result.contacts["replication"] == 0])
    other = run(scenario, replications=1, seed=6)
    assert not other.contacts["arrival_s"].equals(again.contacts["arrival_s"])


def test_slicing_over_legs_does_not_change_results(scenario, monkeypatch):
    """intervals_frame and replication_metrics work slice by slice over the contact legs;
    tiny slices (many boundaries) give exactly the same tables as one slice for all."""
    from simsvc.experiment.runner import simulate
    from simsvc.observe import summary, tables

    raw = simulate(scenario, scenario.seed, 0)
    rows = [("phone", "csat", 0.5)]
    whole_i = tables.intervals_frame(scenario, raw)
    whole_m = summary.replication_metrics(scenario, raw, customer_rows=list(rows))
    monkeypatch.setattr(tables, "_CHUNK", 7)
    monkeypatch.setattr(summary, "_CHUNK", 7)
    pd.testing.assert_frame_equal(tables.intervals_frame(scenario, raw), whole_i, check_exact=True)
    pd.testing.assert_frame_equal(summary.replication_metrics(scenario, raw, customer_rows=list(rows)),
                                  whole_m, check_exact=True)


def test_row_tables_written_a_group_at_a_time_equal_the_whole_frames(scenario, tmp_path):
    """contacts and issues are written from row tables, their columns built a row group at a
    time (issue 13, memory): on a run with redials, repeats, transfers and bot escalations,
    slices put together equal the whole DataFrames, and so do the Parquet files written in
    row groups (several, and a partial last one) from the row table and from the whole frame."""
    from simsvc.experiment.output import TableWriter
    from simsvc.experiment.runner import simulate
    from simsvc.observe import customer, tables
    from simsvc.observe.rows import RowTable

    raw = simulate(scenario, scenario.seed, 1)
    view = customer.customer_view(scenario, raw)
    extra = customer.contact_columns(view, raw.contacts["issue"].size)
    origins = set(pd.Categorical.from_codes(raw.contacts["origin"], categories=list(ORIGINS)))
    assert {"redial", "repeat", "transfer", "escalation"} <= origins
    for name, rows in (("contacts", tables.contact_rows(scenario, raw, extra)),
                       ("issues", customer.issue_rows(scenario, raw, view))):
        assert isinstance(rows, RowTable) and len(rows) > 50
        whole = rows.frame()
        assert list(whole.columns) == rows.columns
        pieces = pd.concat([rows.frame(s, s + 113) for s in range(0, len(rows), 113)], ignore_index=True)
        pd.testing.assert_frame_equal(pieces, whole, check_exact=True)
        pd.testing.assert_frame_equal(rows[["channel", "arrival_s"]], whole[["channel", "arrival_s"]])
        for source, file in ((rows, tmp_path / f"{name}-rows.parquet"), (whole, tmp_path / f"{name}.parquet")):
            writer = TableWriter(file, rows_per_group=97)
            writer.append(source)
            writer.close()
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / f"{name}-rows.parquet"),
                                      pd.read_parquet(tmp_path / f"{name}.parquet"), check_exact=True)
