"""Journey mode: customers moving through the service cycle and contacting the centre.

A customer enters a stage, stays its dwell time, maybe makes one contact (when, why,
on which channel), and at the end of the stage moves on, drops out (before purchase),
churns or stays (at the end of post-purchase), buys again or lapses (at the end of
loyalty). Contacts go into the same :class:`~simsvc.model.centre.ContactCentre` as
forecast demand; when an attempt ends the centre calls :meth:`Journey.attempt_end`,
which scores the experience, updates the customer's satisfaction
(S ← ω·S + (1 − ω)·s) and draws churn.

Only churn and referrals depend on the centre, so a customer's visits are drawn
ahead, in batches (:mod:`~simsvc.model.journey_lives`), and the event loop sees one
event per moment where the centre matters ("points": the customer's contacts, the
evaluation at the end of post-purchase, follow-up calls), chained per customer.
Stage, purchase, drop-out, lapse and contact records are written after the run, up to
the customer's churn (:mod:`~simsvc.model.journey_population`, which also creates the
customers: the initial population and every acquisition at the start, referrals in
daily sweeps). A contact is opened with the handling, resolution and patience numbers
the customer drew, at a moment strictly inside its visit (a dwell is at least 1 µs).

Randomness, for common random numbers across scenarios: every customer owns a
counter-based stream keyed by its identity (initial k, acquired k, or the j-th
referral of a parent), and every number has a fixed place in it (segment, placement,
then a block per stage visit), so a staffing change moves a customer's life only
where its outcomes really differ (it churned, or did not). A stage contact's handling
time, patience and resolution draw are the customer's too. Follow-up legs (redials,
repeats), proactive follow-up calls and churn after a contact draw from the centre's
named streams (``churn/after_contact`` for the last), so their alignment is approximate.
"""
from __future__ import annotations

import math
from array import array

import numpy as np

from simsvc.config.customers import STAGES, Customers
from simsvc.domain import experience as xp
from simsvc.domain.journey import (
    ACTIVE,
    AFTER_CONTACT,
    AT_EVALUATION,
    CHURN,
    CHURNED,
    DROPPED,
    LAPSED,
    LOST_PROSPECT,
    LOYALTY,
    POST_PURCHASE,
    PURCHASE,
    REFERRAL,
)
from simsvc.domain.randomness import (
    Streams,
    key_hash,
    poisson_at,
    quantiles,
    uniform_at,
)
from simsvc.model import journey_lives as lives
from simsvc.model.journey_lives import CONTACT_POINT, EVALUATE
from simsvc.model.journey_population import Population
from simsvc.observe.records import ABANDONED, ANSWERED, LOST, EventBuffer

_SQRT2 = math.sqrt(2.0)


class _Segment:
    """Run-time parameters of one segment, resolved once."""

    def __init__(self, cust: Customers, name: str, channel_index: dict[str, int], experience) -> None:
        seg = cust.segments[name]
        self.name = name
        self.value = seg.purchase_value
        self.patience_factor = seg.patience_factor
        self.anchoring = seg.anchoring if seg.anchoring is not None else experience.anchoring
        self.prior = seg.prior_satisfaction if seg.prior_satisfaction is not None else experience.prior_satisfaction
        self.contact_risk = xp.churn_risk_of(seg.churn.after_contact or experience.churn)
        self.evaluation_risk = xp.churn_risk_of(seg.churn.at_evaluation)
        pref = cust.channel_preference(name)
        self.channels = [channel_index[c] for c in pref]
        self.channel_cum = np.cumsum(list(pref.values()))


class Journey(Population):
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
        self.horizon = float(s.horizon)
        self.root_seed = streams.root_seed
        self.replication = streams.replication
        self.experience = s.experience
        self.feedback = cust.feedback
        channel_index = {c: i for i, c in enumerate(s.channels)}
        reason_index = {r: i for i, r in enumerate(s.reasons)}
        self.reason_names = list(s.reasons)
        names = list(cust.segments)
        self.segment_cum = np.cumsum([seg.share for seg in cust.segments.values()])
        self.segments = [_Segment(cust, n, channel_index, s.experience) for n in names]
        # Tables the batch draws index by segment and stage (see journey_lives).
        self.dwell_table = [cust.dwell_for(n, st) for n in names for st in STAGES]
        self.drop_table = np.array([[cust.drop_out_for(n, st) for st in STAGES[:3]] for n in names])
        self.repeat_table = np.array([cust.segments[n].repeat_purchase for n in names])
        self.contact_table = np.array([[min(1.0, cust.stage_contacts(st).contact_probability
                                            * cust.segments[n].contact_factor) for st in STAGES] for n in names])
        self.stage_reasons = []  # per stage: (reason indices, cumulative shares)
        for stage in STAGES:
            mix = {r: p for r, p in cust.stage_contacts(stage).reasons.items() if r in reason_index}
            self.stage_reasons.append(([reason_index[r] for r in mix], np.cumsum(list(mix.values()))))
        self.stage_has_reasons = np.array([len(ids) > 0 for ids, _ in self.stage_reasons])
        self.handling_table = [d for ch in centre.channels for d in ch.handling_dist]
        self.patience_table = [ch.patience_dist for ch in centre.channels]
        self.contact_hours = list(cust.contact_hours) if cust.contact_hours is not None else None
        self.initial_stages = np.array([STAGES.index(st) for st in cust.initial_stages])
        self.initial_cum = np.cumsum(list(cust.initial_stages.values()))
        pro = cust.proactive
        self.proactive = pro
        self.pro_after_purchase = pro is not None and "purchase" in pro.after
        self.pro_reduces: set[int] = set()
        if pro is not None:
            self.pro_channel = channel_index[pro.channel]
            self.pro_reason = reason_index[pro.reason]
            self.pro_reduces = {reason_index[r] for r in pro.reduces}
            self.pro_after_complaint = "complaint" in pro.after
        self.u_churn = streams.uniform("churn/after_contact")
        self.nps_noise = s.experience.survey.nps_noise
        self.expected_wait = xp.expected_waits(s).tolist()
        self.public = [ch.kind == "async" and ch.public for ch in s.channels.values()]
        self.weights = w = s.experience.weights
        # experience.experience_score_one with the weights resolved once (the same arithmetic).
        base, wait, cap, aband, unres, rep, esc, tra, pub = (
            w.base, w.wait, w.wait_cap, w.abandoned, w.unresolved, w.repeat, w.escalated, w.transferred,
            w.public_late)
        exp = math.exp

        def score(ratio, abandoned, resolved, attempt, escalated, transferred, public_late) -> float:
            x = (base + wait * min(ratio, cap) + aband * abandoned + unres * (not abandoned and not resolved)
                 + rep * (attempt - 1) + esc * escalated + tra * transferred + pub * public_late)
            return 1.0 / (1.0 + exp(-x))

        self._score = score

        # Customers (lists indexed by customer id): who they are, their drawn life, their state.
        self.c_hash: list[int] = []
        self.c_segment: list[int] = []
        self.c_source: list[int] = []
        self.c_parent: list[int] = []  # the promoter who referred them, or -1
        self.c_t0: list[float] = []
        self.c_visits: list[int] = []  # first visit's index in v_t; the visits end at the next customer's
        self.c_nat_t: list[float] = []  # drawn drop-out or lapse (inf: none before the horizon)
        self.c_nat_status: list[int] = []
        self.c_nat_event: list[int] = []
        self.c_nat_stage: list[int] = []
        self.c_status: list[int] = []  # ACTIVE until the centre's service churns them
        self.c_end_t: list[float] = []  # when that happened (inf: never)
        self.c_sat: list[float] = []
        self.c_followup_t: list[float] = []  # last answered proactive follow-up
        self.c_point: list[int] = []  # next point (index into p_*)
        self.c_points_end: list[int] = []
        self.v_t: list[float] = []  # visits of all customers, by customer then time
        self.v_stage: list[int] = []
        self.p_t: list[float] = []  # points of all customers, by customer then time
        self.p_kind: list[int] = []
        self.p_ref: list[int] = []  # contact index (contact points) or visit number (evaluations)
        # Stage contacts: (stage, channel, reason, handling, resolution uniform, patience,
        # suppression uniform, follow-up after a complaint?, its delay, start of the purchase cycle).
        self.k_rows: list[tuple] = []
        self._pending: list[tuple[int, int, float]] = []  # referrals on their way: (stream, parent, arrival)
        self.events = EventBuffer()
        # Issues the journey opened: customer and stage of each (issue ids are the centre's).
        self.issue_customer: dict[int, int] = {}
        self.issue_stage: dict[int, int] = {}
        self.issue_proactive: set[int] = set()
        self.issue_time = array("d")
        # In-loop scores of finished attempts, keyed by the attempt's last leg.
        self.leg_row = array("q")
        self.leg_experience = array("f")
        self.leg_satisfaction = array("f")
        self.leg_churn_risk = array("f")
        self._carry: dict[tuple[int, int], list] = {}  # (issue, attempt) → [wait ratio, escalated, transferred, late]

    def contact_delays(self, now, dwell, u_time, u_hour) -> np.ndarray:
        return lives.contact_delays(self.contact_hours, now, dwell, u_time, u_hour)

    # ------------------------------------------------------------------ points
    def _on_point(self, ev) -> None:
        self._point(ev._value)

    def _point(self, c: int) -> None:
        """A moment of customer ``c``'s life where the centre matters; then the next one."""
        status = self.c_status
        if status[c] != ACTIVE:
            return
        p = self.c_point[c]
        kind = self.p_kind[p]
        if kind == CONTACT_POINT:
            self._stage_contact(c, self.p_ref[p])
        elif kind == EVALUATE:
            self._evaluate(c, self.p_ref[p])
        else:
            self._followup(c)
        p += 1
        self.c_point[c] = p
        if p < self.c_points_end[c] and status[c] == ACTIVE:
            self.at(self.p_t[p] - self.env._now, c, self._on_point)

    def _evaluate(self, c: int, v: int) -> None:
        """End of post-purchase: the customer decides whether to stay; promoters refer others.
        (Without feedback nothing happens here, and the lives have no evaluation points.)"""
        now = self.env._now
        sat = self.c_sat[c]
        h = self.c_hash[c]
        base = 2 + lives.PER_VISIT * v
        risk = self.segments[self.c_segment[c]].evaluation_risk(sat)
        if uniform_at(h, base + lives.U_END) < risk:
            self._churn(c, AT_EVALUATION, risk, POST_PURCHASE)
            return
        # A promoter answers 9 or 10: round(10·S + noise·z) ≥ 9 with z = Φ⁻¹(u), i.e. u > Φ((8.5 − 10·S)/noise).
        noise = self.nps_noise
        if noise > 0:
            promoter = uniform_at(h, base + lives.U_NORMAL) > 0.5 * (1.0 + math.erf((8.5 - 10 * sat) / (noise * _SQRT2)))
        else:
            promoter = round(10 * sat) >= 9
        if not promoter:
            return
        referrals = self.spec.referrals
        for j in range(poisson_at(referrals.per_promoter, uniform_at(h, base + lives.U_REFERRALS))):
            hr = key_hash(2, j, start=h)  # the referred person's own stream
            delay = float(quantiles(referrals.delay, np.array([uniform_at(hr, lives.U_PLACE)]))[0])
            self.events.add(now, c, REFERRAL, LOYALTY, -1, delay)
            if now + delay < self.horizon:
                self._pending.append((hr, c, now + delay))
                if now + delay < self._next_sweep:
                    self.at(delay, None, self._on_referral_due)

    def _churn(self, c: int, cause: int, risk: float, stage: int) -> None:
        now = self.env._now
        self.c_status[c] = CHURNED
        self.c_end_t[c] = now
        self.events.add(now, c, CHURN, stage, cause, risk)

    # ------------------------------------------------------------------ contacts
    def _stage_contact(self, c: int, k: int) -> None:
        stage, ch, r, handle, resolve_u, patience, suppress_u, again, followup_delay, cycle = self.k_rows[k]
        if r in self.pro_reduces:
            if self.c_followup_t[c] >= cycle and suppress_u >= self.proactive.factor:
                return  # a follow-up earlier in this cycle prevented this contact
            if self.pro_after_complaint and again:
                self.at(followup_delay, c, self._on_followup)
        self._open(c, stage, ch, r, False, (handle, resolve_u, patience))

    def _on_followup(self, ev) -> None:
        self._followup(ev._value)

    def _followup(self, c: int) -> None:
        if self.status(c) == ACTIVE:
            self._open(c, self.stage_at(c, self.env._now), self.pro_channel, self.pro_reason, True)

    def _open(self, c: int, stage: int, ch: int, r: int, proactive: bool,
              draws: tuple[float, float, float] | None = None) -> None:
        issue = self.centre.open_issue()
        self.issue_customer[issue] = c
        self.issue_stage[issue] = stage
        self.issue_time.append(self.env._now)  # its "contact" or "followup" record is written at the end
        if proactive:
            self.issue_proactive.add(issue)
        self.centre.start_issue(ch, r, issue, proactive, draws)

    def may_contact(self, issue: int, continuing: bool) -> bool:
        """Whether a leg of ``issue`` may arrive. A churned customer or a lost prospect starts
        nothing new; a lapsed customer (who simply did not buy again) still follows up open issues."""
        c = self.issue_customer.get(issue)
        if c is None:
            return True  # a forecast-mode issue beside the population
        if continuing:
            return True  # an escalation or transfer of an attempt already under way
        status = self.status(c)
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
        outcome = rec.outcome[i]
        late = self.public[channel] and ratio > 1
        acc = self._carry.pop((issue, attempt), None) if self._carry else None
        if acc is None:
            s = self._score(ratio, outcome == ABANDONED or outcome == LOST, rec.resolved[i] == 1, attempt,
                            False, False, late)
        else:
            s = self._score(acc[0] + ratio, outcome == ABANDONED or outcome == LOST, rec.resolved[i] == 1,
                            attempt, acc[1], acc[2], acc[3] or late)
        seg = self.segments[self.c_segment[c]]
        w = seg.anchoring
        sat = w * self.c_sat[c] + (1.0 - w) * s  # anchoring and adjustment (experience.update_satisfaction)
        self.c_sat[c] = sat
        risk = seg.contact_risk(sat)
        u = self.u_churn()
        self.leg_row.append(i)
        self.leg_experience.append(s)
        self.leg_satisfaction.append(sat)
        self.leg_churn_risk.append(risk)
        now = self.env._now
        if issue in self.issue_proactive and outcome == ANSWERED:
            self.c_followup_t[c] = now
        if self.feedback and u < risk and self.status(c) == ACTIVE:
            stage = self.stage_at(c, now)
            if stage < PURCHASE:  # a prospect put off by the contact: lost, not churned
                self.c_status[c] = LOST_PROSPECT
                self.c_end_t[c] = now
                self.events.add(now, c, DROPPED, stage, AFTER_CONTACT, risk)
            else:
                self._churn(c, AFTER_CONTACT, risk, stage)
