"""Key performance indicators per replication, and their means with confidence intervals.

Every metric is computed per replication from contacts that arrived after the
warm-up, then summarised across replications with a 95 % Student-t interval
(replications are independent, so this is the textbook method of independent
replications). Definitions follow industry usage; see the README's metric table.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simsvc.config.schema import REAL_TIME_KINDS, Scenario
from simsvc.domain.calendar import scheduled_agent_seconds
from simsvc.domain.student_t import t_quantile  # scipy's, without importing scipy in a run
from simsvc.observe.pairwise import PairwiseSum
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
from simsvc.observe.tables import _segment_column, _segment_mask, not_yet_due, occupancy_pools, thresholds

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


def _clip_sum_of(seg: dict[str, np.ndarray], m: np.ndarray | None, a: float, b: float) -> float:
    """Total length inside [a, b] of the segments ``m`` of ``seg`` (None: all).

    The ends are read first and let go before the starts are read (busy segments are
    derived from the record on each read), and each segment's covered length is computed
    a slice at a time into one array, then summed at once: the same float as the
    whole-array expression ``clip(min(end, b) - max(start, a), 0)`` summed.
    """
    end = _segment_column(seg, "end_s", m)
    own = m is not None or not isinstance(seg, dict)  # the caller's own array: changed in place
    covered = np.minimum(end, b, out=end if own else None)
    del end
    start = _segment_column(seg, "start_s", m)
    for s in range(0, len(covered), _CHUNK):
        sl = slice(s, s + _CHUNK)
        covered[sl] -= np.maximum(start[sl], a)
    del start
    return float(np.sum(np.clip(covered, 0.0, None, out=covered)))


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else np.nan


def _effective_wait_of(scenario: Scenario, c: dict[str, np.ndarray], sel: np.ndarray,
                       waiting: np.ndarray) -> np.ndarray:
    """:func:`effective_wait` of the legs in ``sel`` only (same values, same order)."""
    w = c["wait_s"][sel]
    idx = np.flatnonzero(sel & waiting)
    if len(idx):
        w[waiting[sel]] = scenario.horizon - c["arrival_s"][idx]
    return w


_CHUNK = 1 << 16


def _wait_flags(scenario: Scenario, c: dict[str, np.ndarray], waiting: np.ndarray,
                thr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per leg: effective wait > 0, and effective wait <= its channel's threshold.

    Computed in slices so that no full-length float temporary exists.
    """
    n = len(waiting)
    positive = np.empty(n, dtype=bool)
    within = np.empty(n, dtype=bool)
    for s in range(0, n, _CHUNK):
        sl = slice(s, s + _CHUNK)
        w = c["wait_s"][sl].copy()
        o = waiting[sl]
        w[o] = scenario.horizon - c["arrival_s"][sl][o]
        np.greater(w, 0, out=positive[sl])
        np.less_equal(w, thr[c["channel"][sl]], out=within[sl])
    return positive, within


def _mean_of(sel: np.ndarray, values_in) -> float:
    """``np.mean`` of the values of the legs ``sel``, to the last bit, without gathering them:
    ``values_in(sl)`` gives the values of the legs of slice ``sl`` (float64), and the
    selected ones are summed a slice at a time along numpy's pairwise tree."""
    total = PairwiseSum(int(np.count_nonzero(sel)), np.float64)
    for s in range(0, len(sel), _CHUNK):
        sl = slice(s, s + _CHUNK)
        total.add(values_in(sl)[sel[sl]])
    return float(total.mean())


def _handle_and_wrap(c: dict[str, np.ndarray], sel: np.ndarray) -> float:
    """Mean ``handle_s + wrap_s`` of the legs ``sel`` (each sum the same float as over all legs)."""
    return _mean_of(sel, lambda sl: c["handle_s"][sl] + c["wrap_s"][sl])


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x))


def replication_metrics(scenario: Scenario, run: RawRun,
                        customer_rows: list[tuple[str, str, float]] | None = None,
                        centre: CentreRows | None = None) -> pd.DataFrame:
    """Long table ``replication, channel, metric, value`` for one replication.

    ``customer_rows`` are :func:`simsvc.observe.customer_metrics.customer_metrics` (plus, in
    journey mode, :func:`simsvc.observe.journey.journey_metrics`) and ``centre``
    :func:`centre_rows` when the caller has computed them already (a caller keeping
    memory low computes ``centre`` before the customer view exists: their temporaries
    then never add up).
    """
    from simsvc.observe.customer import customer_view
    from simsvc.observe.customer_metrics import customer_metrics

    if centre is None:
        centre = centre_rows(scenario, run)
    if customer_rows is None:
        view = customer_view(scenario, run)
        customer_rows = customer_metrics(scenario, view)
        if run.journey is not None:
            from simsvc.observe.journey import CustomerTable, journey_metrics

            customer_rows += journey_metrics(scenario, CustomerTable(scenario, run, view))
    rows, cost = list(centre.rows), centre.cost
    rows.extend(customer_rows)
    journey = {m: v for ch, m, v in customer_rows if ch == ALL}
    if run.journey is not None and "revenue" in journey and "revenue_lost_to_churn" in journey:
        # Money in one number, so that variants can be ranked by it: revenue in the window,
        # minus the expected future revenue lost to churn in the window, minus agent cost.
        rows.append((ALL, "net_value", journey["revenue"] - journey["revenue_lost_to_churn"] - cost))
    df = pd.DataFrame(rows, columns=["channel", "metric", "value"])
    df.insert(0, "replication", run.replication)
    return df


@dataclass(frozen=True)
class CentreRows:
    """The contact centre's rows of :func:`replication_metrics` (counts, waits, service level,
    occupancy, cost) and the agent cost, from the record alone."""

    rows: list[tuple[str, str, float]]
    cost: float


def centre_rows(scenario: Scenario, run: RawRun) -> CentreRows:
    """The centre's metrics of one replication (see :func:`replication_metrics`).

    Memory: every selection is a full-length boolean mask (one byte per leg); float
    values are gathered only for a quantile (the waits), one selection at a time; the
    other means are summed a slice of legs at a time along numpy's pairwise tree
    (:mod:`simsvc.observe.pairwise`: the same floats).
    """
    c = run.contacts
    keep = c["arrival_s"] >= scenario.warmup
    outcome = c["outcome"]
    channel = c["channel"]
    thr = thresholds(scenario)
    kinds = [ch.kind for ch in scenario.channels.values()]
    a, b = scenario.warmup, scenario.horizon
    staffed_pool = [_clip_sum_of(run.duty, _segment_mask(run.duty, p), a, b) for p in range(len(scenario.agents))]
    busy_pool = [_clip_sum_of(run.busy, _segment_mask(run.busy, p), a, b) for p in range(len(scenario.agents))]
    serving = occupancy_pools(scenario)
    fcr_num, fcr_den = _first_contact_resolution(scenario, c)
    rows: list[tuple[str, str, float]] = []
    waiting = outcome == WAITING
    answered_leg = outcome == ANSWERED
    positive, within = _wait_flags(scenario, c, waiting, thr)

    def count(*masks: np.ndarray) -> int:
        m = masks[0]
        for x in masks[1:]:
            m = m & x
        return int(np.count_nonzero(m))

    def wait_of(sel: np.ndarray) -> np.ndarray:
        return _effective_wait_of(scenario, c, sel, waiting)

    def wait_metrics(metrics: dict, sel: np.ndarray, answered_in_sel: np.ndarray) -> None:
        """Mean wait, ASA and p90 wait of the legs ``sel`` (NaN without legs); ``answered_in_sel``
        marks the answered ones among them. ASA is taken before the quantile overwrites the waits."""
        if not sel.any():
            metrics.update(wait_mean_s=np.nan, asa_s=np.nan, wait_p90_s=np.nan)
            return
        w = wait_of(sel)
        metrics["wait_mean_s"] = _mean(w)
        metrics["asa_s"] = _mean_of(answered_in_sel, lambda sl: w[sl]) if answered_in_sel.any() else np.nan
        metrics["wait_p90_s"] = float(np.quantile(w, 0.9, overwrite_input=True))

    def add_block(name: str, m: np.ndarray, busy: float, staffed: float,
                  fcr: tuple[float, float], kind: str | None, like: dict | None = None) -> dict:
        """One channel (``kind``) or the whole centre (``kind`` None); ``m`` selects its kept legs.

        Real-time metrics (abandonment, waits, SL, ASA) count the real-time legs in
        ``m`` that found their channel open; response metrics count the async legs.
        A metric that does not apply (no such legs by kind) gets no row at all.
        ``like``: the metrics of a block over the very same legs with the same rows (the
        centre of a one-channel real-time scenario is that channel): its counts and waits
        are taken as they are, only occupancy and FCR are computed from this block's inputs.
        """
        if like is not None:
            metrics = dict(like, occupancy=_ratio(busy, staffed), fcr=_ratio(*fcr))
            rows.extend((name, k, float(v)) for k, v in metrics.items())
            return metrics
        offered = count(m)
        ans = m & answered_leg
        answered = count(ans)
        metrics = {
            "offered": offered,
            "offered_new_issues": count(m, c["origin"] == NEW),
            "answered": answered,
            "abandoned": count(m, outcome == ABANDONED),
            "contained": count(m, outcome == CONTAINED),
            "escalated": count(m, outcome == ESCALATED),
            "lost": count(m, outcome == LOST),
            "lost_closed": count(m, closed),
            "waiting_end": count(m, waiting),
            "transferred": count(m, c["transferred"]),
        }
        real_time_applies = kind in REAL_TIME_KINDS or (kind is None and has_real_time)
        if real_time_applies:
            rt = m & real_time
            n_rt = count(rt)
            ans_rt = rt & answered_leg
            metrics["abandon_rate"] = _ratio(count(rt, outcome == ABANDONED), n_rt)
            metrics["p_wait"] = _ratio(count(rt, positive), n_rt)
            wait_metrics(metrics, rt, ans_rt[rt])
            metrics["service_level"] = _ratio(count(ans_rt, within), n_rt)
            del rt, ans_rt
        elif kind == "async":
            # A backlog's "wait" is its response time; nobody abandons, everyone is answered
            # eventually, so abandonment and P(wait) do not apply. One still unanswered at the
            # horizon whose deadline is after it is censored: neither met nor missed.
            wait_metrics(metrics, m, answered_leg[m])
            metrics["service_level"] = _ratio(count(ans, within), offered - count(m, not_due))
        if kind != "bot":
            metrics["aht_s"] = _handle_and_wrap(c, ans) if answered else np.nan
            metrics["occupancy"] = _ratio(busy, staffed)
        metrics["fcr"] = _ratio(*fcr)
        if kind == "async" or (kind is None and has_async):
            asy = m & is_async
            ans_a = asy & answered_leg
            pending = count(m, not_due)
            metrics["response_within_target"] = _ratio(count(ans_a, within), count(asy) - pending)
            metrics["response_time_mean_s"] = _mean(wait_of(ans_a)) if ans_a.any() else np.nan
            metrics["pending_not_due"] = pending
        if kind == "bot":
            metrics["containment_rate"] = _ratio(count(m, outcome == CONTAINED), offered)
            metrics["bot_time_mean_s"] = _mean_of(m & ~waiting, lambda sl: c["handle_s"][sl]) if offered else np.nan
        rows.extend((name, k, float(v)) for k, v in metrics.items())
        return metrics

    # Rates of real-time service (SL, abandonment, waits) count contacts that found the
    # channel open; those arriving while it was closed are counted as lost_closed.
    closed = c["closed"]
    real_time = np.isin(channel, [i for i, k in enumerate(kinds) if k in REAL_TIME_KINDS]) & ~closed
    is_async = np.isin(channel, [i for i, k in enumerate(kinds) if k == "async"])
    not_due = not_yet_due(scenario, c)  # async, unanswered at the horizon, deadline after it
    has_real_time = any(k in REAL_TIME_KINDS for k in kinds)
    has_async = "async" in kinds
    channel_metrics = None
    for i, (name, cfg) in enumerate(scenario.channels.items()):
        in_channel = channel == i
        busy = _clip_sum_of(run.busy, _segment_mask(run.busy, None, i), a, b)
        staffed = sum(staffed_pool[p] for p in serving[name])
        channel_metrics = add_block(name, keep & in_channel, busy, staffed, (fcr_num[i], fcr_den[i]), cfg.kind)
        rows.append((name, "backlog_end", float(count(waiting, in_channel))))
    # The centre: real-time metrics over the real-time channels, response metrics over the
    # async ones, AHT over every answered leg, occupancy = busy / staffed over all pools.
    # One real-time channel: the centre's legs are its legs, its rows the same metrics.
    one_real_time = len(kinds) == 1 and kinds[0] in REAL_TIME_KINDS
    add_block(ALL, keep, sum(busy_pool), sum(staffed_pool), (fcr_num.sum(), fcr_den.sum()), None,
              like=channel_metrics if one_real_time else None)
    rows.append((ALL, "backlog_end", float(count(waiting))))
    cost = sum(scheduled_agent_seconds(scenario, pool, a, b) / 3600.0 * pool.cost_per_hour
               for pool in scenario.agents.values())
    answered_all = float(count(keep, answered_leg))
    rows.append((ALL, "agent_cost", cost))
    rows.append((ALL, "cost_per_contact", _ratio(cost, answered_all)))
    return CentreRows(rows, cost)


def _first_contact_resolution(scenario: Scenario, c: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per channel of first contact: issues resolved within attempt 1, and issues.

    An issue counts when its first contact arrived after the warm-up and the
    first attempt has finished (an attempt includes bot escalation and transfers).
    """
    n_ch = len(scenario.channels)
    first = c["attempt"] == 1
    if not first.any():
        return np.zeros(n_ch), np.zeros(n_ch)
    n_issues = max(int(c["issue"][s:s + _CHUNK][first[s:s + _CHUNK]].max(initial=-1))
                   for s in range(0, len(first), _CHUNK)) + 1
    # Boolean per issue, set by fancy assignment (same as a logical_or.at, without the copies),
    # a slice of legs at a time (the same stores in the same order as over all legs at once).
    resolved = np.zeros(n_issues, dtype=bool)
    unknown = np.zeros(n_issues, dtype=bool)
    first_channel = np.full(n_issues, -1, dtype=c["channel"].dtype)
    counted = np.zeros(n_issues, dtype=bool)  # the issue's first leg arrived after the warm-up
    for s in range(0, len(first), _CHUNK):
        sl = slice(s, s + _CHUNK)
        issue, f, res = c["issue"][sl], first[sl], c["resolved"][sl]
        resolved[issue[f & (res == 1)]] = True
        unknown[issue[f & (res < 0)]] = True
        start = (c["leg"][sl] == 1) & f
        first_channel[issue[start]] = c["channel"][sl][start]
        counted[issue[start]] = (c["arrival_s"][sl] >= scenario.warmup)[start]
    del first
    counted &= ~unknown
    counted &= first_channel >= 0
    # Whole counts, so exact as floats in any order of addition.
    num = _count_codes(first_channel[counted & resolved], n_ch).astype(float)
    den = _count_codes(first_channel[counted], n_ch).astype(float)
    return num, den


def _count_codes(codes: np.ndarray, n: int) -> np.ndarray:
    """``np.bincount(codes, minlength=n)`` a slice at a time (bincount widens small integer
    codes to 8 bytes each); whole counts, so the same numbers."""
    out = np.zeros(n, dtype=np.int64)
    for s in range(0, len(codes), _CHUNK):
        out += np.bincount(codes[s:s + _CHUNK], minlength=n)
    return out


def summarise(per_rep: pd.DataFrame, confidence: float = 0.95,
              keys: tuple[str, ...] = ("channel", "metric")) -> pd.DataFrame:
    """Mean and t-interval across replications: ``*keys, mean, ci_low, ci_high, reps``.

    Groups keep the order in which they first appear in ``per_rep``.
    """
    keys = list(keys)
    values = per_rep["value"].to_numpy(dtype=float)
    # One pass of numpy per group (the same operations on the same values as before, so the
    # same floats), without a pandas Series per group: ~100 groups cost milliseconds, not ~0.5 s.
    first, stats = [], []
    for positions in per_rep.groupby(keys, sort=False).indices.values():
        v = values[positions]
        v = v[~np.isnan(v)]
        n = len(v)
        mean = float(v.mean()) if n else np.nan
        half = t_quantile(n - 1, 0.5 + confidence / 2) * v.std(ddof=1) / np.sqrt(n) if n >= 2 else np.nan
        first.append(positions[0])
        stats.append((mean, mean - half, mean + half, n))
    out = per_rep[keys].iloc[first].reset_index(drop=True)
    for i, name in enumerate(("mean", "ci_low", "ci_high", "reps")):
        out[name] = np.array([row[i] for row in stats], dtype=int if name == "reps" else float)
    orders = {k: {v: i for i, v in enumerate(dict.fromkeys(per_rep[k]))} for k in keys}
    out = out.sort_values(keys, key=lambda s: s.map(orders[s.name]))
    return out[[*keys, "mean", "ci_low", "ci_high", "reps"]].reset_index(drop=True)
