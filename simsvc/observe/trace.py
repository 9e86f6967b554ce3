"""One customer's journey, event by event, in words a student can follow (``simsvc trace``).

Merges the customer's journey events (stages, purchases, churn…) with the legs
of their contacts (channel, wait, outcome, experience and satisfaction after
each attempt) into one time-ordered story.
"""
from __future__ import annotations

import math

import pandas as pd

from simsvc.config.fields import DAYS
from simsvc.config.schema import Scenario


def clock(scenario: Scenario, t: float) -> str:
    """``day 3 Thu 10:12:05`` for a simulation time in seconds."""
    day = int(t // 86400)
    name = DAYS[(DAYS.index(scenario.start_day) + day) % 7].capitalize()
    s = int(round(t - day * 86400))
    return f"day {day:>3} {name} {s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _duration(seconds: float) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}min {seconds % 60:02.0f}s"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def _leg_text(leg) -> str:
    verb = {"new": "contacts", "redial": "tries again on", "repeat": "comes back (unresolved) on",
            "escalation": "is passed from the bot to", "transfer": "is transferred on",
            "retry": "retries (it was closed) on", "chase": "chases on", "outbound": "is called back by the business on"}
    head = (f"{verb.get(leg.origin, leg.origin)} {leg.channel} about {leg.reason} "
            f"(issue {leg.issue_id}, attempt {leg.attempt}{'' if leg.leg == 1 else f', leg {leg.leg}'})")
    if leg.outcome == "answered":
        what = (f"waits {_duration(leg.wait_s)}, answered by {leg.pool} agent {leg.agent}, "
                f"talks {_duration(leg.handle_s)}, "
                + ("transferred" if leg.transferred else
                   "resolved" if not pd.isna(leg.resolved) and bool(leg.resolved) else "NOT resolved"))
    elif leg.outcome == "abandoned":
        what = f"hangs up after waiting {_duration(leg.wait_s)} (patience {_duration(leg.patience_s)})"
    elif leg.outcome == "lost":
        what = "finds the channel closed" if leg.closed else "finds the queue full"
    elif leg.outcome == "contained":
        what = f"the bot solves it in {_duration(leg.handle_s)}"
    elif leg.outcome == "escalated":
        what = f"the bot cannot solve it after {_duration(leg.handle_s)}"
    else:
        what = "still waiting at the end of the run"
    return f"{head}: {what}"


def _attempt_end_s(leg) -> float:
    if leg.outcome == "answered":
        return leg.answered_s + leg.handle_s
    if leg.outcome == "abandoned":
        return leg.arrival_s + leg.wait_s
    if leg.outcome == "contained":
        return leg.arrival_s + leg.handle_s
    return leg.arrival_s


def customer_trace(scenario: Scenario, customers: pd.DataFrame, events: pd.DataFrame,
                   contacts: pd.DataFrame, customer: int) -> list[str]:
    """Lines telling customer ``customer``'s story in one replication's tables."""
    row = customers[customers.customer_id == customer]
    if row.empty:
        raise KeyError(f"no customer {customer}; this run has customers 0 to {len(customers) - 1}")
    c = row.iloc[0]
    lines = [f"Customer {customer}: segment {c.segment}, came by {c.source}"
             + (f" (referred by customer {c.referred_by})" if not pd.isna(c.referred_by) else "")]
    story: list[tuple[float, int, str]] = []
    for e in events[events.customer_id == customer].itertuples():
        text = {
            "acquired": "becomes a prospect" if e.detail != 0 else "is in the population at the start",
            "stage": f"enters {e.stage}",
            "purchase": f"buys (value {e.value:g})",
            "lost_prospect": (f"drops out after {e.stage}: a lost prospect" if e.detail != 1 else
                              f"is put off by the contact during {e.stage}: a lost prospect (risk was {e.value:.1%})"),
            "churn": (f"CHURNS {'at the post-purchase evaluation' if e.detail == 0 else 'after a contact'} "
                      f"(risk was {e.value:.1%})"),
            "lapse": "does not buy again: lapses",
            "referral": f"as a promoter, refers someone who arrives in {_duration(e.value)}",
            "contact": f"needs to contact the business ({e.stage})",
            "followup": "the business schedules a proactive follow-up",
        }.get(e.event, e.event)
        story.append((e.time_s, 0, text))
    legs = contacts[contacts.customer_id == customer].sort_values(["arrival_s", "leg"])
    for leg in legs.itertuples():
        story.append((leg.arrival_s, 1, _leg_text(leg)))
        if not pd.isna(leg.experience):
            # The customer feels the attempt when it ends (after the talk, at hanging up…),
            # which is when satisfaction moves; other events may come in between.
            story.append((_attempt_end_s(leg), 2,
                          f"feels issue {leg.issue_id}'s attempt {leg.attempt}: experience {leg.experience:.2f}"
                          f" → satisfaction {leg.satisfaction:.2f} (churn risk {leg.churn_risk:.1%})"))
    for t, _, text in sorted(story, key=lambda s: (s[0], s[1])):
        lines.append(f"{clock(scenario, t)}  {text}")
    lines.append(f"End ({clock(scenario, scenario.horizon)}): {c.status}"
                 + (f", in {c.stage_end}" if c.status == "active" and not pd.isna(c.stage_end) else "")
                 + f"; purchases {c.purchases}, revenue {c.revenue:g}, issues {c.issues} "
                 f"({c.issues_resolved_first_contact} resolved at first contact), "
                 f"satisfaction {c.satisfaction:.2f}, lifetime value {c.clv:.1f}"
                 if not pd.isna(c.clv) else
                 f"End ({clock(scenario, scenario.horizon)}): {c.status}; never bought; issues {c.issues}, "
                 f"satisfaction {c.satisfaction:.2f}")
    return lines
