"""Journey-mode tables: customers, journey events, the funnel, and customer metrics.

Everything here is computed after the run from the journey's event records
(:mod:`simsvc.model.journey`, codes in :mod:`simsvc.domain.journey`) and the customer view of the contacts
(:mod:`simsvc.observe.customer`). Counts cover the measurement window
[warm-up, horizon]; a customer's lifetime value covers the whole run plus the
expected future.

Definitions (also in the README):

* churn_rate = churned in the window / customer-days at risk in the window × 30
  (a customer is at risk from first reaching purchase, or from time 0 for an
  initial customer placed past it, until churn, lapse or the horizon);
* revenue_lost_to_churn = Σ over churns of the segment's purchase value × the
  purchases a content customer still makes, q / (1 − q) with
  q = repeat_purchase × (1 − base evaluation risk);
* clv = discounted margin of the purchases made + for a customer active at the
  end, margin × value × qδ / (1 − qδ) discounted to the horizon, with q at the
  customer's final satisfaction and δ = exp(−ρ·cycle), ρ = ln(1 + discount_rate)
  per year, cycle = mean purchase + usage + post-purchase + loyalty dwell.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from simsvc.config.customers import STAGES
from simsvc.config.schema import Scenario
from simsvc.domain import experience as xp
from simsvc.domain.journey import (
    ACQUIRED,
    ACTIVE,
    AFTER_CONTACT,
    CHURN,
    CHURNED,
    CONTACT,
    DROPPED,
    EVENTS,
    LAPSE,
    PURCHASE,
    PURCHASED,
    SOURCES,
    STAGE,
    STATUSES,
)
from simsvc.observe.customer import CustomerView, issue_lookup
from simsvc.observe.records import RawRun

YEAR_S = 365.25 * 86400.0
MONTH_S = 30 * 86400.0
ALL = "all"

# Summary metrics journey mode adds (channel "all").
JOURNEY_METRICS = (
    "customers_acquired", "referred_customers", "lost_prospects", "purchases", "revenue", "churned",
    "churned_after_contact", "churn_rate", "lapsed", "customers_active_end", "prospects_end",
    "revenue_lost_to_churn", "clv_mean", "satisfaction_end_mean",
)


def _segment_constants(scenario: Scenario) -> dict[str, np.ndarray]:
    """Per segment: value, repeat, evaluation hazard, mean cycle length, future purchases of a content customer."""
    cust = scenario.customers
    names = list(cust.segments)
    value, repeat, cycle, future = [], [], [], []
    for n in names:
        seg = cust.segments[n]
        value.append(seg.purchase_value)
        repeat.append(seg.repeat_purchase)
        cycle.append(sum(cust.dwell_for(n, s).mean_s for s in ("purchase", "usage", "post_purchase", "loyalty")))
        q = seg.repeat_purchase * (1 - seg.churn.at_evaluation.base_risk)
        future.append(q / (1 - q) if q < 1 else np.inf)
    return {"value": np.array(value), "repeat": np.array(repeat), "cycle_s": np.array(cycle),
            "future_purchases": np.array(future)}


class CustomerTable:
    """Per-customer arrays of one replication, from the journey records and the customer view."""

    def __init__(self, scenario: Scenario, run: RawRun, view: CustomerView) -> None:
        j = run.journey
        cust = scenario.customers
        ev = j["events"]
        cu = j["customers"]
        n = cu["segment"].size
        self.n = n
        self.segment = cu["segment"]
        self.status = cu["status"]
        self.stage_end = cu["stage"]
        self.satisfaction = cu["satisfaction"]
        self.parent = cu["parent"]
        self.source = cu["source"]
        t, who, kind, stage = ev["time_s"], ev["customer"], ev["event"], ev["stage"]
        self.events = ev

        def first(mask: np.ndarray) -> np.ndarray:
            out = np.full(n, np.nan)
            # events are in time order, so the first occurrence per customer is the earliest
            idx, pos = np.unique(who[mask], return_index=True)
            out[idx] = t[mask][pos]
            return out

        self.acquired_s = first(kind == ACQUIRED)
        self.reached_s = np.column_stack([first((kind == STAGE) & (stage == k)) for k in range(len(STAGES))])
        self.ended_s = first(np.isin(kind, (DROPPED, CHURN, LAPSE)))
        churn = kind == CHURN
        self.churn_cause = np.full(n, -1, dtype=np.int8)
        self.churn_cause[who[churn]] = ev["detail"][churn]
        buy = kind == PURCHASED
        self.purchases = np.bincount(who[buy], minlength=n).astype(np.int32)
        self.revenue = np.bincount(who[buy], weights=ev["value"][buy], minlength=n)
        self.referrals = np.bincount(self.parent[self.parent >= 0], minlength=n).astype(np.int32)
        # First time the customer is a customer (purchase or later); initial customers placed
        # past purchase count from time 0.
        past = np.where(np.arange(len(STAGES)) >= PURCHASE, self.reached_s, np.inf)
        self.customer_since_s = np.nanmin(np.where(np.isnan(past), np.inf, past), axis=1)

        # Contacts: issues the customers opened, their first-contact resolution and surveys.
        ji = j["issues"]
        iss_c = issue_lookup(run)[0]
        inbound = ~ji["proactive"]
        self.issues = np.bincount(ji["customer"][inbound], minlength=n).astype(np.int32)
        i_cust = iss_c[view.i_issue] if view.i_issue.size else np.empty(0, np.int64)
        ok = (i_cust >= 0) & view.i_finished
        self.issues_fcr = np.bincount(i_cust[ok], weights=view.i_first_contact_resolved[ok], minlength=n).astype(
            np.int32)
        a_cust = iss_c[view.a_issue] if view.a_issue.size else np.empty(0, np.int64)
        self.attempts = np.bincount(a_cust[a_cust >= 0], minlength=n).astype(np.int32)
        self.csat_last = np.full(n, -1, dtype=np.int8)
        self.nps_last = np.full(n, -1, dtype=np.int8)
        answered = (a_cust >= 0) & view.responded
        order = np.argsort(view.a_arrival_s[answered], kind="stable")  # later answers overwrite earlier
        self.csat_last[a_cust[answered][order]] = view.csat[answered][order]
        self.nps_last[a_cust[answered][order]] = view.nps[answered][order]
        self.constants = _segment_constants(scenario)  # per segment, used by clv and the measures
        self.clv = self._clv(scenario, cust, run, buy, who, t, ev)

    def _clv(self, scenario, cust, run, buy, who, t, ev) -> np.ndarray:
        k = self.constants
        rho = math.log1p(cust.discount_rate) / YEAR_S
        m = cust.margin
        realised = np.bincount(who[buy], weights=m * ev["value"][buy] * np.exp(-rho * t[buy]), minlength=self.n)
        seg = self.segment
        # The evaluation risk at each customer's final satisfaction, with libm's exp as in the
        # loop: numpy's own exp differs from it in the last bit for about 5 % of arguments
        # (checked on 2M values), which moved CLV digits; one resolved formula per segment.
        risk_of = [xp.churn_risk_of(spec.churn.at_evaluation) for spec in cust.segments.values()]
        risk = np.array([risk_of[g](s) for g, s in zip(seg.tolist(), self.satisfaction.tolist())])
        q = k["repeat"][seg] * (1 - risk) * np.exp(-rho * k["cycle_s"][seg])
        future = m * k["value"][seg] * q / (1 - q) * math.exp(-rho * scenario.horizon)
        active = (self.status == ACTIVE) & np.isfinite(self.customer_since_s)
        clv = realised + np.where(active, future, 0.0)
        return np.where(np.isfinite(self.customer_since_s), clv, np.nan)

    def frame(self, scenario: Scenario, replication: int) -> pd.DataFrame:
        """``customers.parquet``: one row per customer."""
        def answer(values: np.ndarray) -> pd.arrays.IntegerArray:
            return pd.arrays.IntegerArray(np.maximum(values, 0).astype(np.int8), values < 0)

        cols = {
            "replication": np.full(self.n, replication, dtype=np.int32),
            "customer_id": np.arange(self.n, dtype=np.int64),
            "segment": pd.Categorical.from_codes(self.segment, categories=list(scenario.customers.segments)),
            "source": pd.Categorical.from_codes(self.source, categories=list(SOURCES)),
            "referred_by": pd.arrays.IntegerArray(np.maximum(self.parent, 0), self.parent < 0),
            "acquired_s": self.acquired_s,
        }
        for k, name in enumerate(STAGES):
            cols[f"reached_{name}_s"] = self.reached_s[:, k]
        never = self.stage_end < 0
        cols.update({
            "stage_end": pd.Categorical.from_codes(np.where(never, -1, self.stage_end), categories=list(STAGES)),
            "status": pd.Categorical.from_codes(self.status, categories=list(STATUSES)),
            "ended_s": self.ended_s,
            "churned": self.status == CHURNED,
            "churn_cause": pd.Categorical.from_codes(self.churn_cause, categories=["at_evaluation", "after_contact"]),
            "purchases": self.purchases,
            "revenue": self.revenue,
            "issues": self.issues,
            "attempts": self.attempts,
            "issues_resolved_first_contact": self.issues_fcr,
            "satisfaction": self.satisfaction.astype(np.float32),
            "csat_last": answer(self.csat_last),
            "nps_last": answer(self.nps_last),
            "referrals": self.referrals,
            "clv": self.clv,
        })
        return pd.DataFrame(cols)


def events_frame(scenario: Scenario, run: RawRun) -> pd.DataFrame:
    """``journey_events.parquet``: what happened to each customer, in time order."""
    ev = run.journey["events"]
    n = ev["time_s"].size
    return pd.DataFrame({
        "replication": np.full(n, run.replication, dtype=np.int32),
        "time_s": ev["time_s"],
        "customer_id": ev["customer"],
        "event": pd.Categorical.from_codes(ev["event"], categories=list(EVENTS)),
        "stage": pd.Categorical.from_codes(ev["stage"], categories=list(STAGES)),
        "detail": ev["detail"],
        "value": ev["value"],
    })


def _in_window(scenario: Scenario, t: np.ndarray) -> np.ndarray:
    return (t >= scenario.warmup) & (t <= scenario.horizon)


def journey_metrics(scenario: Scenario, table: CustomerTable) -> list[tuple[str, str, float]]:
    """(channel, metric, value) rows for the summary (channel ``all``)."""
    return [(ALL, m, v) for m, v in _measures(scenario, table, np.ones(table.n, bool)).items()]


def _measures(scenario: Scenario, tb: CustomerTable, who: np.ndarray) -> dict[str, float]:
    """Customer measures over the customers selected by ``who``."""
    ev = tb.events
    sel = who[ev["customer"]]
    win = _in_window(scenario, ev["time_s"]) & sel
    kind = ev["event"]
    k = tb.constants
    churn = win & (kind == CHURN)
    start = np.maximum(tb.customer_since_s, scenario.warmup)
    stop = np.where(np.isnan(tb.ended_s), scenario.horizon, np.minimum(tb.ended_s, scenario.horizon))
    exposure = float(np.sum(np.clip(stop - start, 0, None)[who & np.isfinite(tb.customer_since_s)]))
    churn_who = ev["customer"][churn]
    acquired = win & (kind == ACQUIRED)
    active_end = who & (tb.status == ACTIVE) & (tb.stage_end >= PURCHASE)
    was_customer = who & np.isfinite(tb.customer_since_s)
    return {
        "customers_acquired": float(np.sum(acquired & (ev["detail"] > 0))),
        "referred_customers": float(np.sum(acquired & (ev["detail"] == 2))),
        "lost_prospects": float(np.sum(win & (kind == DROPPED))),
        "purchases": float(np.sum(win & (kind == PURCHASED))),
        "revenue": float(np.sum(ev["value"][win & (kind == PURCHASED)])),
        "churned": float(churn.sum()),
        "churned_after_contact": float(np.sum(churn & (ev["detail"] == AFTER_CONTACT))),
        "churn_rate": float(churn.sum()) / exposure * MONTH_S if exposure > 0 else np.nan,
        "lapsed": float(np.sum(win & (kind == LAPSE))),
        "customers_active_end": float(active_end.sum()),
        "prospects_end": float(np.sum(who & (tb.status == ACTIVE) & (tb.stage_end >= 0) & (tb.stage_end < PURCHASE))),
        "revenue_lost_to_churn": float(np.sum(k["value"][tb.segment[churn_who]]
                                              * k["future_purchases"][tb.segment[churn_who]])),
        "clv_mean": float(np.mean(tb.clv[was_customer])) if was_customer.any() else np.nan,
        "satisfaction_end_mean": float(np.mean(tb.satisfaction[active_end])) if active_end.any() else np.nan,
    }


def journey_rows(scenario: Scenario, tb: CustomerTable, replication: int) -> pd.DataFrame:
    """Long rows ``replication, segment, stage, metric, value``: the funnel and segment breakdowns."""
    ev = tb.events
    win = _in_window(scenario, ev["time_s"])
    kind, stage = ev["event"], ev["stage"]
    rows = []
    segments = [(ALL, np.ones(tb.n, bool))] + [
        (name, tb.segment == i) for i, name in enumerate(scenario.customers.segments)]
    for seg_name, who in segments:
        sel = win & who[ev["customer"]]
        for k, st in enumerate(STAGES):
            at = sel & (stage == k)
            reached = float(np.sum(at & (kind == STAGE)))
            contacts = float(np.sum(at & (kind == CONTACT)))
            rows += [(seg_name, st, "reached", reached), (seg_name, st, "contacts", contacts),
                     (seg_name, st, "contacts_per_visit", contacts / reached if reached else np.nan),
                     (seg_name, st, "lost_prospects", float(np.sum(at & (kind == DROPPED)))),
                     (seg_name, st, "churned", float(np.sum(at & (kind == CHURN))))]
        for metric, value in _measures(scenario, tb, who).items():
            rows.append((seg_name, ALL, metric, value))
    df = pd.DataFrame(rows, columns=["segment", "stage", "metric", "value"])
    df.insert(0, "replication", replication)
    return df
