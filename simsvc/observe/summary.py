"""Key performance indicators per replication, and their means with confidence intervals.

Every metric is computed per replication from contacts that arrived after the
warm-up, then summarised across replications with a 95 % Student-t interval
(replications are independent, so this is the textbook method of independent
replications). Definitions follow industry usage; see the README's metric table.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import stdtrit  # Student t quantile; far lighter to import than scipy.stats

from simsvc.config.schema import REAL_TIME_KINDS, Scenario
from simsvc.domain.calendar import scheduled_agent_seconds
from simsvc.observe.records import (
    ABANDONED,
    ANSWERED,
    CONTAINED,
    ESCALATED,
    LOST,
    NEW,
    WAITING,
    RawRun,
)
from simsvc.observe.tables import _segments, effective_wait, not_yet_due, occupancy_pools, thresholds

ALL = "all"

# Every metric name the summary can contain (per channel and for "all").
METRICS = (
    "offered", "offered_new_issues", "answered", "abandoned", "contained", "escalated", "lost",
    "lost_closed", "waiting_end", "transferred", "abandon_rate", "p_wait", "wait_mean_s", "asa_s",
    "wait_p90_s", "service_level", "aht_s", "occupancy", "fcr", "response_within_target",
    "response_time_mean_s", "pending_not_due",
    "containment_rate", "bot_time_mean_s", "backlog_end", "agent_cost", "cost_per_contact",
    "experience_mean", "satisfaction_mean", "csat", "csat_responses", "nps", "ces", "churn_risk",
    "expected_churn", "fcr_contact",
    # journey mode (simsvc.observe.journey.JOURNEY_METRICS)
    "customers_acquired", "referred_customers", "lost_prospects", "purchases", "revenue", "churned",
    "churned_after_contact", "churn_rate", "lapsed", "customers_active_end", "prospects_end",
    "revenue_lost_to_churn", "clv_mean", "satisfaction_end_mean", "net_value",
)


def _clip_sum(start: np.ndarray, end: np.ndarray, a: float, b: float) -> float:
    return float(np.sum(np.clip(np.minimum(end, b) - np.maximum(start, a), 0.0, None)))


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else np.nan


def replication_metrics(scenario: Scenario, run: RawRun,
                        customer_rows: list[tuple[str, str, float]] | None = None) -> pd.DataFrame:
    """Long table ``replication, channel, metric, value`` for one replication.

    ``customer_rows`` are :func:`simsvc.observe.customer.customer_metrics` (plus, in
    journey mode, :func:`simsvc.observe.journey.journey_metrics`) when the caller has
    computed them already.
    """
    from simsvc.observe.customer import customer_metrics, customer_view

    if customer_rows is None:
        view = customer_view(scenario, run)
        customer_rows = customer_metrics(scenario, view)
        if run.journey is not None:
            from simsvc.observe.journey import CustomerTable, journey_metrics

            customer_rows += journey_metrics(scenario, CustomerTable(scenario, run, view))
    c = run.contacts
    keep = c["arrival_s"] >= scenario.warmup
    arrival = c["arrival_s"][keep]
    outcome = c["outcome"][keep]
    channel = c["channel"][keep]
    wait = effective_wait(scenario, c)[keep]
    work = (c["handle_s"] + c["wrap_s"])[keep]
    handle = c["handle_s"][keep]
    thr = thresholds(scenario)
    kinds = [ch.kind for ch in scenario.channels.values()]
    a, b = scenario.warmup, scenario.horizon
    staffed_pool = [_clip_sum(*_segments(run.duty, p), a, b) for p in range(len(scenario.agents))]
    busy_pool = [_clip_sum(*_segments(run.busy, p), a, b) for p in range(len(scenario.agents))]
    serving = occupancy_pools(scenario)
    fcr_num, fcr_den = _first_contact_resolution(scenario, c)
    rows: list[tuple[str, str, float]] = []

    def add_block(name: str, m: np.ndarray, real_time: np.ndarray, threshold: np.ndarray,
                  busy: float, staffed: float, fcr: tuple[float, float], kind: str | None) -> None:
        """One channel (``kind``) or the whole centre (``kind`` None).

        Real-time metrics (abandonment, waits, SL, ASA) count the real-time legs in
        ``m`` that found their channel open; response metrics count the async legs.
        A metric that does not apply (no such legs by kind) gets no row at all.
        """
        out, w = outcome[m], wait[m]
        offered = int(m.sum())
        ans = out == ANSWERED
        rt = real_time[m]
        asy = is_async[m]
        n_rt = int(rt.sum())
        answered = int(ans.sum())
        metrics = {
            "offered": offered,
            "offered_new_issues": int(np.sum(c["origin"][keep][m] == NEW)),
            "answered": answered,
            "abandoned": int(np.sum(out == ABANDONED)),
            "contained": int(np.sum(out == CONTAINED)),
            "escalated": int(np.sum(out == ESCALATED)),
            "lost": int(np.sum(out == LOST)),
            "lost_closed": int(np.sum(closed[m])),
            "waiting_end": int(np.sum(out == WAITING)),
            "transferred": int(np.sum(c["transferred"][keep][m])),
        }
        real_time_applies = kind in REAL_TIME_KINDS or (kind is None and has_real_time)
        if real_time_applies:
            ans_rt = ans[rt]
            metrics.update({
                "abandon_rate": _ratio(np.sum(out[rt] == ABANDONED), n_rt),
                "p_wait": _ratio(np.sum(w[rt] > 0), n_rt),
                "wait_mean_s": float(np.mean(w[rt])) if n_rt else np.nan,
                "asa_s": float(np.mean(w[rt][ans_rt])) if ans_rt.any() else np.nan,
                "wait_p90_s": float(np.quantile(w[rt], 0.9)) if n_rt else np.nan,
                "service_level": _ratio(np.sum(ans_rt & (w[rt] <= threshold[m][rt])), n_rt),
            })
        elif kind == "async":
            # A backlog's "wait" is its response time; nobody abandons, everyone is answered
            # eventually, so abandonment and P(wait) do not apply. One still unanswered at the
            # horizon whose deadline is after it is censored: neither met nor missed.
            metrics.update({
                "wait_mean_s": float(np.mean(w)) if offered else np.nan,
                "asa_s": float(np.mean(w[ans])) if answered else np.nan,
                "wait_p90_s": float(np.quantile(w, 0.9)) if offered else np.nan,
                "service_level": _ratio(np.sum(ans & (w <= threshold[m])), offered - int(not_due[m].sum())),
            })
        if kind != "bot":
            metrics["aht_s"] = float(np.mean(work[m][ans])) if answered else np.nan
            metrics["occupancy"] = _ratio(busy, staffed)
        metrics["fcr"] = _ratio(*fcr)
        if kind == "async" or (kind is None and has_async):
            ans_a = ans[asy]
            pending = int(not_due[m].sum())
            metrics["response_within_target"] = _ratio(np.sum(ans_a & (w[asy] <= threshold[m][asy])),
                                                       int(asy.sum()) - pending)
            metrics["response_time_mean_s"] = float(np.mean(w[asy][ans_a])) if ans_a.any() else np.nan
            metrics["pending_not_due"] = pending
        if kind == "bot":
            metrics["containment_rate"] = _ratio(np.sum(out == CONTAINED), offered)
            metrics["bot_time_mean_s"] = float(np.mean(handle[m][out != WAITING])) if offered else np.nan
        rows.extend((name, k, float(v)) for k, v in metrics.items())

    # Rates of real-time service (SL, abandonment, waits) count contacts that found the
    # channel open; those arriving while it was closed are counted as lost_closed.
    closed = c["closed"][keep]
    real_time = np.isin(channel, [i for i, k in enumerate(kinds) if k in REAL_TIME_KINDS]) & ~closed
    is_async = np.isin(channel, [i for i, k in enumerate(kinds) if k == "async"])
    not_due = not_yet_due(scenario, c)[keep]  # async, unanswered at the horizon, deadline after it
    has_real_time = any(k in REAL_TIME_KINDS for k in kinds)
    has_async = "async" in kinds
    threshold = thr[channel]
    waiting_now = c["outcome"] == WAITING
    for i, (name, cfg) in enumerate(scenario.channels.items()):
        m = channel == i
        busy = _clip_sum(*_segments(run.busy, None, i), a, b)
        staffed = sum(staffed_pool[p] for p in serving[name])
        add_block(name, m, real_time, threshold, busy, staffed, (fcr_num[i], fcr_den[i]), cfg.kind)
        rows.append((name, "backlog_end", float(np.sum(waiting_now & (c["channel"] == i)))))
    # The centre: real-time metrics over the real-time channels, response metrics over the
    # async ones, AHT over every answered leg, occupancy = busy / staffed over all pools.
    add_block(ALL, np.ones(len(arrival), dtype=bool), real_time, threshold,
              sum(busy_pool), sum(staffed_pool), (fcr_num.sum(), fcr_den.sum()), None)
    rows.append((ALL, "backlog_end", float(np.sum(waiting_now))))
    cost = sum(scheduled_agent_seconds(scenario, pool, a, b) / 3600.0 * pool.cost_per_hour
               for pool in scenario.agents.values())
    answered_all = float(np.sum(outcome == ANSWERED))
    rows.append((ALL, "agent_cost", cost))
    rows.append((ALL, "cost_per_contact", _ratio(cost, answered_all)))
    rows.extend(customer_rows)
    journey = {m: v for ch, m, v in customer_rows if ch == ALL}
    if run.journey is not None and "revenue" in journey and "revenue_lost_to_churn" in journey:
        # Money in one number, so that variants can be ranked by it: revenue in the window,
        # minus the expected future revenue lost to churn in the window, minus agent cost.
        rows.append((ALL, "net_value", journey["revenue"] - journey["revenue_lost_to_churn"] - cost))
    df = pd.DataFrame(rows, columns=["channel", "metric", "value"])
    df.insert(0, "replication", run.replication)
    return df


def _first_contact_resolution(scenario: Scenario, c: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per channel of first contact: issues resolved within attempt 1, and issues.

    An issue counts when its first contact arrived after the warm-up and the
    first attempt has finished (an attempt includes bot escalation and transfers).
    """
    n_ch = len(scenario.channels)
    first = c["attempt"] == 1
    issue = c["issue"][first]
    if len(issue) == 0:
        return np.zeros(n_ch), np.zeros(n_ch)
    n_issues = int(issue.max()) + 1
    resolved = np.zeros(n_issues, dtype=bool)
    unknown = np.zeros(n_issues, dtype=bool)
    np.logical_or.at(resolved, issue, c["resolved"][first] == 1)
    np.logical_or.at(unknown, issue, c["resolved"][first] < 0)
    start = (c["leg"] == 1) & first
    first_channel = np.full(n_issues, -1)
    first_arrival = np.full(n_issues, -np.inf)
    first_channel[c["issue"][start]] = c["channel"][start]
    first_arrival[c["issue"][start]] = c["arrival_s"][start]
    counted = (first_arrival >= scenario.warmup) & ~unknown & (first_channel >= 0)
    num = np.bincount(first_channel[counted], weights=resolved[counted], minlength=n_ch)
    den = np.bincount(first_channel[counted], minlength=n_ch).astype(float)
    return num, den


def summarise(per_rep: pd.DataFrame, confidence: float = 0.95,
              keys: tuple[str, ...] = ("channel", "metric")) -> pd.DataFrame:
    """Mean and t-interval across replications: ``*keys, mean, ci_low, ci_high, reps``.

    Groups keep the order in which they first appear in ``per_rep``.
    """
    def one(values: pd.Series) -> pd.Series:
        v = values.dropna().to_numpy(dtype=float)
        n = len(v)
        mean = float(v.mean()) if n else np.nan
        if n >= 2:
            half = stdtrit(n - 1, 0.5 + confidence / 2) * v.std(ddof=1) / np.sqrt(n)
        else:
            half = np.nan
        return pd.Series({"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "reps": n})

    keys = list(keys)
    orders = {k: {v: i for i, v in enumerate(dict.fromkeys(per_rep[k]))} for k in keys}
    out = per_rep.groupby(keys, sort=False)["value"].apply(one).unstack().reset_index()
    out["reps"] = out["reps"].astype(int)
    out = out.sort_values(keys, key=lambda s: s.map(orders[s.name]))
    return out[[*keys, "mean", "ci_low", "ci_high", "reps"]].reset_index(drop=True)
