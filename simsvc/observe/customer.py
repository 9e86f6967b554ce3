"""The customer's view of a run: contact attempts and issues, scored for experience.

A customer experiences an *attempt* (a first contact, a redial, a repeat), which
may pass through several legs (bot → chat escalation, a transfer between pools).
This module groups the leg records into attempts and issues, and applies
:mod:`simsvc.domain.experience` to them. In forecast mode customers are anonymous:
each attempt starts from the scenario's prior satisfaction.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simsvc.config.customers import STAGES
from simsvc.config.schema import Scenario
from simsvc.domain import experience as xp
from simsvc.domain.randomness import Streams
from simsvc.observe.records import (
    ANSWERED,
    CONTAINED,
    ESCALATION,
    WAITING,
    CopyOnRead,
    RawRun,
    share_constants,
)
from simsvc.observe import groups as g
from simsvc.observe.rows import IssueRows
from simsvc.observe.scores import AttemptScores, SurveyAnswers, WaitRatios, all_scores, wait_ratios


@dataclass(frozen=True)
class CustomerView:
    """Per-attempt and per-issue arrays (attempts ordered by issue, then attempt)."""

    # attempts
    last_leg: np.ndarray  # row of the attempt's last leg in the contacts record
    a_issue: np.ndarray
    a_attempt: np.ndarray
    a_channel: np.ndarray  # channel of the attempt's first leg (the one the customer chose)
    a_arrival_s: np.ndarray
    a_finished: np.ndarray  # False while a leg is still waiting at the horizon
    a_handled: np.ndarray  # answered by an agent or contained by the bot
    a_resolved: np.ndarray
    experience: np.ndarray
    satisfaction: np.ndarray
    responded: np.ndarray
    csat: np.ndarray
    nps: np.ndarray
    churn_risk: np.ndarray
    # issues
    i_issue: np.ndarray
    i_channel: np.ndarray
    i_reason: np.ndarray
    i_arrival_s: np.ndarray
    i_attempts: np.ndarray
    i_resolved: np.ndarray
    i_first_contact_resolved: np.ndarray
    i_transfers: np.ndarray
    i_escalations: np.ndarray
    i_wait_ratio: np.ndarray
    i_finished: np.ndarray
    i_ces_responded: np.ndarray
    i_ces: np.ndarray
    # Every leg its own attempt, in record order (``last_leg`` is 0, 1, 2…): per-leg columns
    # are then the attempts' arrays themselves.
    legs_are_attempts: bool = False


def customer_view(scenario: Scenario, run: RawRun) -> CustomerView:
    c = run.contacts
    spec = scenario.experience
    channels = list(scenario.channels.values())
    # Waits in multiples of the channel's expected wait; float32 is ample for a score.
    expected = xp.expected_waits(scenario).astype(np.float32)
    public = np.array([ch.kind == "async" and ch.public for ch in channels])

    # Attempts: legs grouped by (issue, attempt), ordered by leg.
    if g.attempts_in_record_order(c["issue"], c["attempt"]):
        # Every leg its own attempt, in record order (the sort and the grouping would give
        # 0, 1, 2… for each of these): one index array, without the full-length sort keys.
        order = a_start = a_end = first = last = np.arange(c["issue"].size, dtype=np.int32)
    else:
        akey = c["issue"].astype(np.int64) * 64 + c["attempt"]
        order = np.lexsort((c["leg"], akey)).astype(np.int32)
        a_start, a_end = g.groups(akey[order])
        del akey
        first, last = order[a_start], order[a_end]
    n_a = a_start.size
    # Every leg its own attempt, in record order (first is then 0, 1, 2…): the attempts'
    # columns taken at ``first`` are the record's columns, shared rather than copied.
    legs_are_attempts = n_a == order.size and bool(np.all(first[1:] > first[:-1]))

    def at_first(values: np.ndarray) -> np.ndarray:
        return g.shared(values) if legs_are_attempts else values[first]

    # Per-attempt sums over the legs, a chunk of attempts at a time: each chunk's legs
    # are a contiguous run of ``order``, and a sum over one attempt's legs is the same
    # whichever chunk computes it, so the result does not depend on the chunk size.
    one_leg_each = n_a == order.size
    finished = np.empty(n_a, dtype=bool)
    resolved = np.empty(n_a, dtype=bool)
    handled = np.empty(n_a, dtype=bool)
    late_public = np.empty(n_a, dtype=bool)
    escalated = np.empty(n_a, dtype=np.int16)
    transferred = np.empty(n_a, dtype=np.int16)
    # Every leg its own attempt in record order: the ratios are computed when read (WaitRatios).
    wait_ratio = None if legs_are_attempts else np.empty(n_a, dtype=np.float32)
    for a0 in range(0, n_a, g.ATTEMPT_CHUNK):
        a1 = min(a0 + g.ATTEMPT_CHUNK, n_a)
        p0, p1 = int(a_start[a0]), int(a_end[a1 - 1]) + 1
        # Legs in record order, one per attempt: the chunk's legs are rows p0 to p1, read as
        # views (a gather by an int32 index is numpy's slow path, ~4 ms per column per 1M legs).
        rows = slice(p0, p1) if legs_are_attempts else order[p0:p1]
        starts = a_start[a0:a1] - p0
        outcome = c["outcome"][rows]
        channel = c["channel"][rows]
        waiting = outcome == WAITING
        ratio = wait_ratios(c, rows, scenario.horizon, expected)

        def per_attempt(values: np.ndarray) -> np.ndarray:
            if one_leg_each:  # every leg its own attempt: the sums are the values themselves
                return values
            return np.add.reduceat(values, starts)

        finished[a0:a1] = per_attempt(waiting.astype(np.int16)) == 0
        resolved[a0:a1] = per_attempt((c["resolved"][rows] == 1).astype(np.int16)) > 0
        handled[a0:a1] = per_attempt(np.isin(outcome, (ANSWERED, CONTAINED)).astype(np.int16)) > 0
        escalated[a0:a1] = per_attempt((c["origin"][rows] == ESCALATION).astype(np.int16))
        transferred[a0:a1] = per_attempt(c["transferred"][rows].astype(np.int16))
        if wait_ratio is not None:
            wait_ratio[a0:a1] = per_attempt(ratio)
        late_public[a0:a1] = per_attempt((public[channel] & (ratio > 1)).astype(np.int16)) > 0
    del order, a_start, a_end  # the largest temporaries go before the scores are computed
    if wait_ratio is None:
        wait_ratio = WaitRatios(c, scenario.horizon, expected)
    # No transfers, escalations or late public posts at all (a single queue): one value each,
    # not one per attempt (they are kept for the scores and the issues table).
    shared = share_constants({"escalated": escalated, "transferred": transferred, "late_public": late_public})
    escalated, transferred, late_public = shared["escalated"], shared["transferred"], shared["late_public"]
    del shared
    attempt = at_first(c["attempt"])
    # Forecast mode: the scores are computed from these inputs whenever they are read (issue 13,
    # memory: 12 bytes per attempt not held through the writing), never stored whole.
    scores = AttemptScores(spec, c["outcome"], None if legs_are_attempts else last, wait_ratio, resolved,
                           attempt, escalated, transferred, late_public, finished)
    if run.journey is not None:
        # Journey mode scored its customers' attempts in the loop, from each customer's own
        # satisfaction; an attempt the customer had not yet finished feeling at the horizon
        # (the talk still running) counts as unfinished.
        s, sat, risk, finished = _journey_scores(run, last, *all_scores(scores, g.ATTEMPT_CHUNK), finished)
        scores = None
    a_issue = at_first(c["issue"])
    responded = np.empty(n_a, dtype=bool)
    csat = np.empty(n_a, dtype=np.int8)
    nps = np.empty(n_a, dtype=np.int8)
    survey_key = Streams(run.seed, run.replication).key("survey")
    for a0 in range(0, n_a, g.ATTEMPT_CHUNK):  # keyed answers: the same whatever the slices
        sl = slice(a0, min(a0 + g.ATTEMPT_CHUNK, n_a))
        sat_part = scores.part(sl.start, sl.stop)[1] if scores is not None else sat[sl]
        responded[sl], csat[sl], nps[sl] = xp.survey_answers(spec.survey, np.nan_to_num(sat_part),  # NaN: unfinished
                                                             survey_key, a_issue[sl], attempt[sl])
    sat_part = None
    responded &= finished

    # Issues: attempts grouped by issue (they are already in issue order). Where every attempt
    # is its own issue the groups are the attempts themselves (``last`` is then 0, 1, 2…
    # when every leg is its own attempt too): no boundary search, no second index array.
    if g.strictly_increasing(a_issue):
        i_start = i_end = last if legs_are_attempts else np.arange(n_a, dtype=np.int32)
    else:
        i_start, i_end = g.groups(a_issue)
    n_i = i_start.size
    single = n_i == n_a  # every attempt its own issue: the per-issue reductions are the attempts' values

    def per_issue(values: np.ndarray, ufunc: np.ufunc = np.add, dtype=None) -> np.ndarray:
        return g.per_group(ufunc, values, i_start, n_a, dtype)

    i_finished = per_issue(finished, np.logical_and)
    i_resolved = per_issue(resolved, np.logical_or)
    # Summed in int16, the dtype of the attempts' counts and of the issues table's columns:
    # the same values as an int64 sum cast to int16, at a quarter of the memory.
    i_transfers = per_issue(transferred, dtype=np.int16)
    i_escalations = per_issue(escalated, dtype=np.int16)
    del transferred, escalated, late_public
    i_ratio = per_issue(wait_ratio)
    i_attempts = attempt if single else attempt[i_end]
    del i_end
    ces = xp.customer_effort(spec.survey, i_attempts - 1, i_transfers, i_escalations, i_ratio,
                             ~i_resolved, Streams(run.seed, run.replication).generator("survey/ces"))
    ces_responded = xp.responses(Streams(run.seed, run.replication).generator("survey/ces_response"),
                                 n_i, spec.survey.response_rate)
    ces_responded &= i_finished
    if scores is not None:
        s, sat, risk = (scores.column(name) for name in ("experience", "satisfaction", "churn_risk"))
    else:
        for score in (s, sat, risk):  # unfinished attempts have no score (in place: no copies)
            score[~finished] = np.nan
    # The remaining columns one at a time, each index let go once its columns are built.
    a_channel = at_first(c["channel"])
    a_arrival_s = at_first(c["arrival_s"])
    if legs_are_attempts and single:
        i_channel, i_reason, i_arrival_s, i_issue = (g.shared(c[k]) for k in ("channel", "reason", "arrival_s", "issue"))
        del first
    else:
        i_first = first[i_start]
        del first
        i_channel = c["channel"][i_first]
        i_reason = c["reason"][i_first]
        i_arrival_s = c["arrival_s"][i_first]
        del i_first
        i_issue = a_issue[i_start]
    # A copy even when every attempt is its own issue (made for each range of rows read):
    # ``resolved`` is the issues table's ``resolved`` column too, and two columns on one
    # array would change together.
    i_first_contact_resolved = CopyOnRead(resolved) if single else resolved[i_start]
    per_issue = i_start = None  # released (per_issue holds i_start too)
    return CustomerView(
        last_leg=last, a_issue=a_issue, a_attempt=attempt, a_channel=a_channel,
        a_arrival_s=a_arrival_s, a_finished=finished, a_handled=handled, a_resolved=resolved,
        experience=s, satisfaction=sat, responded=responded, csat=csat, nps=nps, churn_risk=risk,
        i_issue=i_issue, i_channel=i_channel, i_reason=i_reason,
        i_arrival_s=i_arrival_s, i_attempts=i_attempts, i_resolved=i_resolved,
        i_first_contact_resolved=i_first_contact_resolved, i_transfers=i_transfers, i_escalations=i_escalations,
        i_wait_ratio=i_ratio, i_finished=i_finished, i_ces_responded=ces_responded, i_ces=ces,
        legs_are_attempts=legs_are_attempts,
    )


def issue_lookup(run: RawRun) -> tuple[np.ndarray, np.ndarray]:
    """Journey mode: customer id and stage (−1: not a customer's issue) indexed by issue id."""
    ji = run.journey["issues"]
    size = int(max(run.contacts["issue"].max(initial=-1), ji["issue"].max(initial=-1))) + 1
    customer = np.full(size, -1, dtype=np.int64)
    stage = np.full(size, -1, dtype=np.int8)
    customer[ji["issue"]] = ji["customer"]
    stage[ji["issue"]] = ji["stage"]
    return customer, stage


def journey_lookup(run: RawRun) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """Journey mode: :func:`issue_lookup` and the stages' names (what the contacts' and issues'
    ``customer_id`` and ``stage`` columns are read from); None outside journey mode."""
    if run.journey is None:
        return None
    customer, stage = issue_lookup(run)
    return customer, stage, list(STAGES)


def _journey_scores(run: RawRun, last: np.ndarray, s, sat, risk, finished):
    att = run.journey["attempts"]
    customer_issue = issue_lookup(run)[0] >= 0
    n = run.contacts["issue"].size
    scored = np.zeros(n, dtype=bool)
    scored[att["leg_row"]] = True
    full = {name: np.full(n, np.nan, dtype=np.float32) for name in ("experience", "satisfaction", "churn_risk")}
    for name, values in full.items():
        values[att["leg_row"]] = att[name]
    mine = customer_issue[run.contacts["issue"][last]]  # attempts of customers (not forecast demand)
    return (np.where(mine, full["experience"][last], s), np.where(mine, full["satisfaction"][last], sat),
            np.where(mine, full["churn_risk"][last], risk), np.where(mine, scored[last], finished))


def contact_columns(view: CustomerView, n_legs: int) -> dict[str, object]:
    """Per-leg columns for contacts.parquet: filled on each attempt's last leg, empty elsewhere.

    When every leg is its own attempt, the attempts' arrays are the columns (no copy; in
    forecast mode the scores' columns are :class:`~simsvc.observe.scores.ScoreColumn` s,
    computed for each range of rows as it is read).
    """
    same_rows = view.legs_are_attempts and view.last_leg.size == n_legs

    def place_float(values: np.ndarray) -> np.ndarray:
        if same_rows:
            return values.astype(np.float32, copy=False)
        full = np.full(n_legs, np.nan, dtype=np.float32)
        full[view.last_leg] = values
        return full

    def place_answer(values: np.ndarray) -> pd.arrays.IntegerArray | SurveyAnswers:
        if same_rows:  # each range of rows its own mask, made when read
            return SurveyAnswers(values.astype(np.int8, copy=False), view.responded)
        full = np.zeros(n_legs, dtype=np.int8)
        missing = np.ones(n_legs, dtype=bool)
        full[view.last_leg] = values
        missing[view.last_leg] = ~view.responded
        return pd.arrays.IntegerArray(full, missing)

    return {
        "experience": place_float(view.experience),
        "satisfaction": place_float(view.satisfaction),
        "churn_risk": place_float(view.churn_risk),
        "csat": place_answer(view.csat),
        "nps": place_answer(view.nps),
    }


def issue_kinds(scenario: Scenario, run: RawRun, reason: np.ndarray) -> pd.Categorical:
    """Sub-kind of each issue (complaint: product, service…) drawn from its reason's shares.

    The uniforms are drawn a slice at a time (the same numbers as one draw of all), and
    not at all when no reason has kinds (the stream serves nothing else).
    """
    labels: list[str] = []
    for spec in scenario.reasons.values():
        for k in (spec.kinds or {}):
            if k not in labels:
                labels.append(k)
    code_type = np.int8 if len(labels) < 127 else np.int16  # the codes pandas keeps (no second copy)
    codes = np.full(reason.size, -1, dtype=code_type)
    shares = [(r, np.cumsum(list(spec.kinds.values())), np.array([labels.index(k) for k in spec.kinds],
                                                                  dtype=code_type))
              for r, spec in enumerate(scenario.reasons.values()) if spec.kinds]
    if shares:
        rng = Streams(run.seed, run.replication).generator("issue_kind")
        for start in range(0, reason.size, KIND_SLICE):
            sl = slice(start, min(start + KIND_SLICE, reason.size))
            u = rng.random(sl.stop - sl.start)
            part, out = reason[sl], codes[sl]
            for r, cum, kind_codes in shares:
                m = part == r
                pick = np.minimum(np.searchsorted(cum / cum[-1], u[m], side="right"), len(cum) - 1)
                out[m] = kind_codes[pick]
    return pd.Categorical.from_codes(codes, categories=labels)


KIND_SLICE = 1 << 16


def issues_frame(scenario: Scenario, run: RawRun, view: CustomerView) -> pd.DataFrame:
    """One row per customer issue (``issues.parquet``)."""
    return issue_rows(scenario, run, view).frame()


def issue_rows(scenario: Scenario, run: RawRun, view: CustomerView) -> IssueRows:
    """:func:`issues_frame` as a :class:`~simsvc.observe.rows.RowTable` over the view's
    arrays (shared, not copied): its columns are built a range of rows at a time."""
    kind = issue_kinds(scenario, run, view.i_reason)
    columns = {
        "issue_id": view.i_issue, "channel": view.i_channel, "reason": view.i_reason,
        "arrival_s": view.i_arrival_s, "attempts": view.i_attempts.astype(np.int16, copy=False),
        "resolved": view.i_resolved, "resolved_first_contact": view.i_first_contact_resolved,
        "transfers": view.i_transfers.astype(np.int16, copy=False),
        "escalations": view.i_escalations.astype(np.int16, copy=False), "wait_ratio": view.i_wait_ratio,
        "finished": view.i_finished, "ces": view.i_ces.astype(np.int8, copy=False),
        "ces_responded": view.i_ces_responded, "kind": kind.codes,
    }
    categories = {"channel": list(scenario.channels), "reason": list(scenario.reasons),
                  "kind": list(kind.categories)}
    columns["kind"] = share_constants({"kind": columns["kind"]})["kind"]  # no kinds: one code, -1
    return IssueRows(columns, run.replication, categories, scenario.warmup, journey_lookup(run))
