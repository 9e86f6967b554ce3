"""Journey mode: customers moving through the service cycle and contacting the centre.

Each customer is a small state machine driven by SimPy callbacks (no process per
customer): enter a stage → draw its dwell time and whether (and when, why, on
which channel) the stage makes a contact → at the end of the stage move on, drop
out (before purchase), churn or stay (at the end of post-purchase), buy again or
lapse (at the end of loyalty). Contacts go into the same
:class:`~simsvc.model.centre.ContactCentre` as forecast demand; when an attempt
ends the centre calls :meth:`Journey.attempt_end`, which scores the experience,
updates the customer's satisfaction (S ← ω·S + (1 − ω)·s) and draws churn.

Randomness, for common random numbers across scenarios: every customer owns a
generator seeded from its identity (initial k, acquired k, or the j-th referral
of a parent), and draws a fixed set of numbers per stage visit, so a staffing
change moves a customer's life only where its outcomes really differ (it
churned, or did not). A stage contact's handling time, patience and resolution
draw are the customer's too. Follow-up legs (redials, repeats), proactive
follow-up calls and churn after a contact draw from the centre's named streams
(``churn/after_contact`` for the last), so their alignment is approximate.
"""
from __future__ import annotations

import math
from array import array
from bisect import bisect_right

import numpy as np

from simsvc.config.customers import DAY_S, STAGES, Customers
from simsvc.domain import experience as xp
from simsvc.domain.randomness import SplitMix, Streams
from simsvc.domain.journey import (
    ACQUIRED,
    ACTIVE,
    AFTER_CONTACT,
    AT_EVALUATION,
    CHURN,
    CHURNED,
    CONTACT,
    DROPPED,
    FOLLOWUP,
    LAPSE,
    LAPSED,
    LOST_PROSPECT,
    LOYALTY,
    NEED,
    POST_PURCHASE,
    PURCHASE,
    PURCHASED,
    REFERRAL,
    STAGE,
)
from simsvc.observe.records import ABANDONED, ANSWERED, LOST, EventBuffer

_CUSTOMER_KEY = 0x5C0FFEE  # spawn-key component that separates customer generators from streams


def _pick(cum: list[float], u: float) -> int:
    """Index drawn by uniform ``u`` from cumulative shares ``cum`` (shares need not sum to 1)."""
    return min(bisect_right(cum, u * cum[-1]), len(cum) - 1)


class _Segment:
    """Run-time parameters of one segment, resolved once."""

    def __init__(self, cust: Customers, name: str, channel_index: dict[str, int], experience) -> None:
        seg = cust.segments[name]
        self.name = name
        self.dwell = [cust.dwell_for(name, s) for s in STAGES]
        self.drop_out = [cust.drop_out_for(name, s) for s in STAGES[:3]]
        self.value = seg.purchase_value
        self.repeat = seg.repeat_purchase
        self.patience_factor = seg.patience_factor
        self.anchoring = seg.anchoring if seg.anchoring is not None else experience.anchoring
        self.prior = seg.prior_satisfaction if seg.prior_satisfaction is not None else experience.prior_satisfaction
        self.churn_contact = seg.churn.after_contact or experience.churn
        self.churn_evaluation = seg.churn.at_evaluation
        pref = cust.channel_preference(name)
        self.channels = [channel_index[c] for c in pref]
        self.channel_cum = np.cumsum(list(pref.values())).tolist()
        self.contact_p = [min(1.0, cust.stage_contacts(s).contact_probability * seg.contact_factor)
                          for s in STAGES]


class Journey:
    """The customer population of one replication, attached to a contact centre."""

    def __init__(self, centre, streams: Streams) -> None:
        """``centre``: the contact centre the customers contact. The journey uses only its
        public side (``scenario``, ``env``, ``rec``, ``channels``, ``open_issue``,
        ``start_issue``) and does not import it: the centre builds the journey."""
        s = centre.scenario
        cust = s.customers
        self.centre = centre
        self.env = centre.env
        self.at = centre.at  # the centre's checked scheduling path
        self.spec = cust
        self.root_seed = streams.root_seed
        self.replication = streams.replication
        self.experience = s.experience
        self.feedback = cust.feedback
        channel_index = {c: i for i, c in enumerate(s.channels)}
        reason_index = {r: i for i, r in enumerate(s.reasons)}
        self.segment_cum = np.cumsum([seg.share for seg in cust.segments.values()]).tolist()
        self.segments = [_Segment(cust, n, channel_index, s.experience) for n in cust.segments]
        self.stage_reasons = []  # per stage: (reason indices, cumulative shares)
        for stage in STAGES:
            mix = {r: p for r, p in cust.stage_contacts(stage).reasons.items() if r in reason_index}
            self.stage_reasons.append(([reason_index[r] for r in mix], np.cumsum(list(mix.values())).tolist()))
        hours = cust.contact_hours
        self.contact_hours = list(hours) if hours is not None else None
        self.hours_cum = np.cumsum(hours).tolist() if hours is not None else None
        self.initial_stages = [STAGES.index(st) for st in cust.initial_stages]
        self.initial_cum = np.cumsum(list(cust.initial_stages.values())).tolist()
        pro = cust.proactive
        self.proactive = pro
        if pro is not None:
            self.pro_channel = channel_index[pro.channel]
            self.pro_reason = reason_index[pro.reason]
            self.pro_reduces = {reason_index[r] for r in pro.reduces}
            self.pro_after_purchase = "purchase" in pro.after
            self.pro_after_complaint = "complaint" in pro.after
        self.u_churn = streams.uniform("churn/after_contact")
        self.expected_wait = xp.expected_waits(s).tolist()
        self.public = [ch.kind == "async" and ch.public for ch in s.channels.values()]
        self.weights = s.experience.weights

        # Customers (columns indexed by customer id).
        self.c_key: list[tuple] = []
        self.c_rng: list[SplitMix] = []
        self.c_segment = array("h")
        self.c_stage = array("b")
        self.c_status = array("b")
        self.c_sat = array("d")
        self.c_followed_up = array("b")  # a proactive follow-up reached them since the last purchase
        self.c_parent = array("q")  # the promoter who referred them, or -1
        self.events = EventBuffer()
        # Issues the journey opened: customer and stage of each (issue ids are the centre's).
        self.issue_customer: dict[int, int] = {}
        self.issue_stage: dict[int, int] = {}
        self.issue_proactive: set[int] = set()
        # In-loop scores of finished attempts, keyed by the attempt's last leg.
        self.leg_row = array("q")
        self.leg_experience = array("f")
        self.leg_satisfaction = array("f")
        self.leg_churn_risk = array("f")
        self._carry: dict[tuple[int, int], list] = {}  # (issue, attempt) → [wait ratio, escalated, transferred, late]

    # ------------------------------------------------------------------ population
    def start(self) -> None:
        """Create the initial population at time 0 and schedule acquisitions."""
        cust = self.spec
        for k in range(cust.initial):
            c = self._new_customer((0, k), source=0)
            u = self.c_rng[c].random()
            stage = self.initial_stages[_pick(self.initial_cum, u)]
            self._enter(c, stage)
        if cust.acquisition > 0:
            rng = Streams(self.root_seed, self.replication).generator("acquisition")
            n = rng.poisson(cust.acquisition * self.centre.scenario.horizon)
            times = np.sort(rng.random(n)) * self.centre.scenario.horizon
            for k, t in enumerate(times.tolist()):
                self.at(t, (1, k), self._on_acquired)

    def _on_acquired(self, ev) -> None:
        self._enter(self._new_customer(ev._value, source=1), NEED)

    def _generator(self, key: tuple) -> SplitMix:
        return SplitMix(self.root_seed, self.replication, _CUSTOMER_KEY, *key)

    def _new_customer(self, key: tuple, source: int, rng: SplitMix | None = None,
                      parent: int = -1) -> int:
        """Register a customer arriving now; its first draw picks its segment."""
        c = len(self.c_key)
        rng = rng if rng is not None else self._generator(key)
        u = rng.random()
        segment = _pick(self.segment_cum, u)
        self.c_key.append(key)
        self.c_rng.append(rng)
        self.c_segment.append(segment)
        self.c_stage.append(-1)
        self.c_status.append(ACTIVE)
        self.c_sat.append(self.segments[segment].prior)
        self.c_followed_up.append(0)
        self.c_parent.append(parent)
        self.events.add(self.env._now, c, ACQUIRED, -1, source)
        return c

    # ------------------------------------------------------------------ stages
    def _enter(self, c: int, stage: int) -> None:
        now = self.env._now
        seg = self.segments[self.c_segment[c]]
        rng = self.c_rng[c]
        self.c_stage[c] = stage
        self.events.add(now, c, STAGE, stage)
        if stage == PURCHASE:
            self.events.add(now, c, PURCHASED, stage, -1, seg.value)
            self.c_followed_up[c] = 0
        # A fixed set of draws per visit (common random numbers): dwell, then
        # contact?, when, reason, channel, complaint suppressed?, follow-up?, stage-end decision.
        dwell = rng.draw(seg.dwell[stage])
        u = rng.random8()
        u_hour = rng.random()
        if self.proactive is not None:
            followup_delay = rng.draw(self.proactive.delay)  # one uniform, like the else branch
            if stage == PURCHASE and self.pro_after_purchase and u[6] < self.proactive.probability:
                self.at(followup_delay, c, self._on_followup)
        else:
            rng.random()  # the same count either way: adding a proactive block keeps every other draw
            followup_delay = 0.0
        if u[0] < seg.contact_p[stage]:
            reasons, cum = self.stage_reasons[stage]
            if len(reasons):
                r = reasons[_pick(cum, u[2])]
                ch = seg.channels[_pick(seg.channel_cum, u[3])]
                pro_again = u[5] < (self.proactive.probability if self.proactive is not None else 0.0)
                delay = self._contact_delay(now, dwell, u[1], u_hour)
                # The contact's own numbers (handling, resolution, patience), drawn now from the
                # customer's stream: three draws whenever there is a contact.
                cs = self.centre.channels[ch]
                draws = (rng.draw(cs.handling_dist[r]), rng.random(),
                         rng.draw(cs.patience_dist) if cs.patience_dist is not None else rng.random())
                self.at(delay, (c, stage, ch, r, u[4], pro_again, followup_delay, draws),
                        self._on_stage_contact)
        self.at(dwell, (c, stage, u[7]), self._on_stage_end)

    def _contact_delay(self, now: float, dwell: float, u_time: float, u_hour: float) -> float:
        """When in the visit [now, now + dwell) the contact comes.

        Without contact_hours, a uniform moment. With them, the moment has density
        proportional to the hour's weight: a visit of a day or more keeps the day of a
        uniform moment and takes the hour from the profile (shifted by a day when that
        falls outside the visit); a shorter visit draws exactly from the profile
        restricted to the hours it covers.
        """
        cum = self.hours_cum
        if cum is None:
            return u_time * dwell
        if dwell >= DAY_S:
            tod = self._hour_quantile(u_hour * cum[-1])
            t = math.floor((now + u_time * dwell) / DAY_S) * DAY_S + tod
            if t < now:
                t += DAY_S
            if t >= now + dwell:
                t -= DAY_S
            return min(max(t - now, 0.0), dwell)
        # Short visit: the hour pieces it covers, weighted by the profile.
        weights = self.contact_hours
        pieces = []
        t, end = now, now + dwell
        while t < end:
            h = int((t % DAY_S) // 3600)
            stop = min(end, (math.floor(t / 3600) + 1) * 3600.0)
            pieces.append((t, stop, weights[h] * (stop - t)))
            t = stop
        total = sum(p[2] for p in pieces)
        if total <= 0:
            return u_time * dwell
        target = u_hour * total
        for a, b, w in pieces:
            if target < w:
                return a - now + (b - a) * target / w
            target -= w
        return dwell * u_time

    def _hour_quantile(self, target: float) -> float:
        """Seconds after midnight at which the cumulative hourly weight reaches ``target``."""
        cum = self.hours_cum
        h = min(bisect_right(cum, target), 23)
        below = cum[h - 1] if h else 0.0
        frac = (target - below) / (cum[h] - below) if cum[h] > below else 0.5
        return (h + frac) * 3600.0

    def _on_stage_end(self, ev) -> None:
        c, stage, u = ev._value
        if self.c_status[c] != ACTIVE or self.c_stage[c] != stage:
            return
        seg = self.segments[self.c_segment[c]]
        now = self.env._now
        if stage < PURCHASE:
            if u < seg.drop_out[stage]:
                self.c_status[c] = LOST_PROSPECT
                self.events.add(now, c, DROPPED, stage)
            else:
                self._enter(c, stage + 1)
        elif stage == POST_PURCHASE:
            self._evaluate(c, seg, u)
        elif stage == LOYALTY:
            if u < seg.repeat:
                self._enter(c, PURCHASE)
            else:
                self.c_status[c] = LAPSED
                self.events.add(now, c, LAPSE, stage)
        else:
            self._enter(c, stage + 1)

    def _evaluate(self, c: int, seg: _Segment, u: float) -> None:
        """End of post-purchase: the customer decides whether to stay; promoters refer others."""
        now = self.env._now
        rng = self.c_rng[c]
        sat = self.c_sat[c]
        risk = xp.churn_risk_one(seg.churn_evaluation, sat)
        # Drawn whatever happens, so the customer's later draws line up across scenarios.
        z = rng.normal()
        n_referred = rng.poisson(self.spec.referrals.per_promoter)
        if self.feedback and u < risk:
            self._churn(c, AT_EVALUATION, risk)
            return
        self._enter(c, LOYALTY)
        promoter = round(10 * sat + self.experience.survey.nps_noise * z) >= 9
        if self.feedback and promoter:
            for j in range(n_referred):
                key = (2, *self.c_key[c], j)
                rng = self._generator(key)  # the referred person's own numbers, from the first
                delay = rng.draw(self.spec.referrals.delay)
                self.events.add(now, c, REFERRAL, LOYALTY, -1, delay)
                self.at(delay, (key, rng, c), self._on_referred_arrives)

    def _on_referred_arrives(self, ev) -> None:
        key, rng, parent = ev._value
        self._enter(self._new_customer(key, source=2, rng=rng, parent=parent), NEED)

    def _churn(self, c: int, cause: int, risk: float) -> None:
        self.c_status[c] = CHURNED
        self.events.add(self.env._now, c, CHURN, self.c_stage[c], cause, risk)

    # ------------------------------------------------------------------ contacts
    def _on_stage_contact(self, ev) -> None:
        c, stage, ch, r, u_suppress, pro_again, followup_delay, draws = ev._value
        if self.c_status[c] != ACTIVE or self.c_stage[c] != stage:
            return
        if self.proactive is not None and r in self.pro_reduces:
            if self.c_followed_up[c] and u_suppress >= self.proactive.factor:
                return  # a follow-up earlier in this cycle prevented this contact
            if self.pro_after_complaint and pro_again:
                self.at(followup_delay, c, self._on_followup)
        self._open(c, stage, ch, r, proactive=False, draws=draws)

    def _on_followup(self, ev) -> None:
        c = ev._value
        if self.c_status[c] != ACTIVE:
            return
        self._open(c, self.c_stage[c], self.pro_channel, self.pro_reason, proactive=True)

    def _open(self, c: int, stage: int, ch: int, r: int, proactive: bool,
              draws: tuple[float, float, float] | None = None) -> None:
        issue = self.centre.open_issue()
        self.issue_customer[issue] = c
        self.issue_stage[issue] = stage
        if proactive:
            self.issue_proactive.add(issue)
        self.events.add(self.env._now, c, FOLLOWUP if proactive else CONTACT, stage, issue)
        self.centre.start_issue(ch, r, issue, proactive, draws)

    def may_contact(self, issue: int, continuing: bool) -> bool:
        """Whether a leg of ``issue`` may arrive. A churned customer or a lost prospect starts
        nothing new; a lapsed customer (who simply did not buy again) still follows up open issues."""
        c = self.issue_customer.get(issue)
        if c is None:
            return True  # a forecast-mode issue beside the population
        if continuing:
            return True  # an escalation or transfer of an attempt already under way
        status = self.c_status[c]
        return status == ACTIVE or status == LAPSED

    def patience_factor(self, issue: int) -> float:
        c = self.issue_customer.get(issue)
        return 1.0 if c is None else self.segments[self.c_segment[c]].patience_factor

    def carry(self, issue: int, attempt: int, channel: int, wait_s: float, escalated: bool,
              transferred: bool) -> None:
        """A leg that hands the attempt on (bot escalation, transfer): keep its share of the experience."""
        if issue not in self.issue_customer:
            return
        ratio = wait_s / self.expected_wait[channel]
        acc = self._carry.setdefault((issue, attempt), [0.0, False, False, False])
        acc[0] += ratio
        acc[1] |= escalated
        acc[2] |= transferred
        acc[3] |= self.public[channel] and ratio > 1

    def attempt_end(self, i: int) -> None:
        """Contact row ``i`` ended its attempt: score it, update satisfaction, maybe churn."""
        rec = self.centre.rec
        issue = rec.issue[i]
        c = self.issue_customer.get(issue)
        if c is None:
            return
        attempt = rec.attempt[i]
        channel = rec.channel[i]
        ratio = rec.wait_s[i] / self.expected_wait[channel]
        acc = self._carry.pop((issue, attempt), None) or [0.0, False, False, False]
        outcome = rec.outcome[i]
        seg = self.segments[self.c_segment[c]]
        s = xp.experience_score_one(
            self.weights, acc[0] + ratio, outcome == ABANDONED or outcome == LOST, rec.resolved[i] == 1,
            attempt, acc[1], acc[2], acc[3] or (self.public[channel] and ratio > 1))
        w = seg.anchoring
        sat = w * self.c_sat[c] + (1.0 - w) * s  # anchoring and adjustment (experience.update_satisfaction)
        self.c_sat[c] = sat
        risk = xp.churn_risk_one(seg.churn_contact, sat)
        u = self.u_churn()
        self.leg_row.append(i)
        self.leg_experience.append(s)
        self.leg_satisfaction.append(sat)
        self.leg_churn_risk.append(risk)
        if issue in self.issue_proactive and outcome == ANSWERED:
            self.c_followed_up[c] = 1
        if self.feedback and self.c_status[c] == ACTIVE and u < risk:
            if self.c_stage[c] < PURCHASE:  # a prospect put off by the contact: lost, not churned
                self.c_status[c] = LOST_PROSPECT
                self.events.add(self.env._now, c, DROPPED, self.c_stage[c], AFTER_CONTACT, risk)
            else:
                self._churn(c, AFTER_CONTACT, risk)

    # ------------------------------------------------------------------ results
    def arrays(self) -> dict[str, object]:
        issues = np.fromiter(self.issue_customer.keys(), dtype=np.int64, count=len(self.issue_customer))
        return {
            "events": self.events.arrays(),
            "customers": {
                "segment": np.array(self.c_segment, dtype=np.int16),
                "status": np.array(self.c_status, dtype=np.int8),
                "stage": np.array(self.c_stage, dtype=np.int8),
                "satisfaction": np.array(self.c_sat, dtype=np.float64),
                "parent": np.array(self.c_parent, dtype=np.int64),
                "source": np.array([k[0] for k in self.c_key], dtype=np.int8),
            },
            "issues": {
                "issue": issues,
                "customer": np.fromiter(self.issue_customer.values(), dtype=np.int64, count=issues.size),
                "stage": np.fromiter(self.issue_stage.values(), dtype=np.int8, count=issues.size),
                "proactive": np.isin(issues, np.fromiter(self.issue_proactive, dtype=np.int64)),
            },
            "attempts": {
                "leg_row": np.array(self.leg_row, dtype=np.int64),
                "experience": np.array(self.leg_experience, dtype=np.float32),
                "satisfaction": np.array(self.leg_satisfaction, dtype=np.float32),
                "churn_risk": np.array(self.leg_churn_risk, dtype=np.float32),
            },
        }
