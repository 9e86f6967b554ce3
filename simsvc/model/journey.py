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
evaluation at the end of post-purchase, follow-up calls), chained per customer. An
evaluation whose promoter could refer nobody ("quiet") has no event: it is decided when
the customer is next touched, at the time and with the satisfaction its event would have had.
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
from heapq import heappush

import numpy as np

from simsvc.config.customers import STAGES, Customers
from simsvc.domain import experience as xp
from simsvc.domain.journey import (
    ACTIVE,
    AFTER_CONTACT,
    DROPPED,
    LAPSED,
    LOST_PROSPECT,
    PURCHASE,
)
from simsvc.domain.randomness import BLOCK, QuantileTable, Streams
from simsvc.model.events import bad_delay, reusable
from simsvc.model import journey_lives as lives
from simsvc.model.journey_lives import CONTACT_POINT, FOLLOWUP_POINT, QUIET
from simsvc.model.journey_population import Population
from simsvc.observe.records import ABANDONED, ANSWERED, LOST, EventBuffer
from simpy.events import NORMAL


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

    # Evaluations whose promoter could refer nobody get no event (journey_lives.QUIET). A test
    # switches this off to check that deciding them when the customer is next touched changes nothing.
    quiet_evaluations = True

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
        self.dwell_table = QuantileTable([cust.dwell_for(n, st) for n in names for st in STAGES])
        self.drop_table = np.array([[cust.drop_out_for(n, st) for st in STAGES[:3]] for n in names])
        self.repeat_table = np.array([cust.segments[n].repeat_purchase for n in names])
        self.contact_table = np.array([[min(1.0, cust.stage_contacts(st).contact_probability
                                            * cust.segments[n].contact_factor) for st in STAGES] for n in names])
        self.stage_reasons = []  # per stage: (reason indices, cumulative shares)
        for stage in STAGES:
            mix = {r: p for r, p in cust.stage_contacts(stage).reasons.items() if r in reason_index}
            self.stage_reasons.append(([reason_index[r] for r in mix], np.cumsum(list(mix.values()))))
        self.stage_has_reasons = np.array([len(ids) > 0 for ids, _ in self.stage_reasons])
        self.handling_table = QuantileTable([d for ch in centre.channels for d in ch.handling_dist])
        self.patience_table = [ch.patience_dist for ch in centre.channels]
        self.patience_by_reason = [ch.patience_dists for ch in centre.channels]  # None: the channel's for all
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
        self.u_churn = streams.generator("churn/after_contact")  # one number per attempt_end
        self.nps_noise = s.experience.survey.nps_noise
        self.expected_wait = xp.expected_waits(s).tolist()
        self.public = [ch.kind == "async" and ch.public for ch in s.channels.values()]
        self.weights = s.experience.weights

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
        self.c_clock = array("d")  # when its last point was handled (a quiet one: its chain time)
        self.c_points_end: list[int] = []
        self.v_t: list[float] = []  # visits of all customers, by customer then time
        self.v_stage: list[int] = []
        self.p_t: list[float] = []  # points of all customers, by customer then time
        self.p_kind: list[int] = []
        self.p_ref: list[int] = []  # contact index (contact points) or evaluation index (evaluations)
        # Stage contacts: (stage, channel, reason, handling, resolution uniform, patience,
        # suppression uniform, follow-up after a complaint?, its delay, start of the purchase cycle).
        self.k_rows: list[tuple] = []
        # Evaluations: the customer's churn and promoter uniforms, and the (stream, delay) of
        # each referral a promoter makes (journey_lives._evaluations).
        self.e_u_end = array("d")
        self.e_u_normal = array("d")
        self.e_referrals: list[tuple] = []
        self.on_point = [self._on_point]
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
        self.attempt_end = self._attempt_end_hook()
        self.patience_factor = self._patience_factor_hook()

    def contact_delays(self, now, dwell, u_time, u_hour) -> np.ndarray:
        return lives.contact_delays(self.contact_hours, now, dwell, u_time, u_hour)

    # ------------------------------------------------------------------ points
    def _on_point(self, ev) -> None:
        """The event of customer ``c``'s next point with an event: first its quiet evaluations."""
        c = ev._value
        if self.c_status[c] != ACTIVE:
            return
        p = self.c_point[c]
        if self.p_kind[p] == QUIET:  # (this point has an event: p is before the end)
            self._catch_up(c, self.env._now)
            if self.c_status[c] != ACTIVE:
                return
        self._point(c)

    def _point(self, c: int) -> None:
        """Customer ``c``'s point ``c_point[c]``, now: a moment of its life where the centre
        matters (or its first point, whatever it is); then the next point with an event."""
        if self.c_status[c] != ACTIVE:
            return
        p = self.c_point[c]
        kind = self.p_kind[p]
        now = self.env._now
        if kind == CONTACT_POINT:
            self._stage_contact(c, self.p_ref[p])
        elif kind == FOLLOWUP_POINT:
            self._followup(c)
        else:
            self._evaluate(c, self.p_ref[p], now)
        p += 1
        self.c_point[c] = p
        self.c_clock[c] = now
        if self.c_status[c] != ACTIVE:
            return
        # The next point with an event, at the time the chain of points would have reached it had
        # each had an event (each scheduled from the one before: t + (point − t)), so that a quiet
        # evaluation's time, and the time of the point after it, are what they would have been.
        kinds, p_t = self.p_kind, self.p_t
        end = self.c_points_end[c]
        t = now
        while p < end:
            delay = p_t[p] - t
            if not delay >= 0.0:
                bad_delay(self.env, delay, self._on_point)
            t += delay
            if kinds[p] != QUIET:
                ev = reusable(self.env, c)  # a Timeout at exactly t (SimPy's own heap entry)
                ev.callbacks = self.on_point
                ev._delay = t - now
                heappush(self.env._queue, (t, NORMAL, next(self.env._eid), ev))
                return
            p += 1

    def _catch_up(self, c: int, now: float) -> None:
        """Decide customer ``c``'s quiet evaluations due by ``now`` (at the times the chain of
        points gives them, see :meth:`_point`), before anything touches the customer."""
        p = self.c_point[c]
        end, kinds, p_t = self.c_points_end[c], self.p_kind, self.p_t
        if p == end or kinds[p] != QUIET:
            return
        t = self.c_clock[c]
        status = self.c_status
        while p < end and kinds[p] == QUIET and status[c] == ACTIVE:
            at = t + (p_t[p] - t)
            if at > now:
                break
            self._evaluate(c, self.p_ref[p], at)
            t = at
            p += 1
        self.c_point[c] = p
        self.c_clock[c] = t

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
        c = ev._value
        self._catch_up(c, self.env._now)
        self._followup(c)

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
        p = self.c_point[c]
        now = self.env._now
        if p < self.c_points_end[c] and self.p_kind[p] == QUIET:
            self._catch_up(c, now)
        status = self.c_status[c]  # self.status(c), inlined
        if status == ACTIVE and now >= self.c_nat_t[c]:
            status = self.c_nat_status[c]
        return status == ACTIVE or status == LAPSED

    def _patience_factor_hook(self):
        """``patience_factor(issue)``, the centre's call for every leg with patience: the factor
        of the segment of the customer whose issue it is (1 beside the population). Built once."""
        customer_of, c_segment = self.issue_customer.get, self.c_segment
        factors = [seg.patience_factor for seg in self.segments]

        def patience_factor(issue: int) -> float:
            c = customer_of(issue)
            return 1.0 if c is None else factors[c_segment[c]]

        return patience_factor

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

    def _attempt_end_hook(self):
        """``attempt_end(i)``, the centre's call when contact row ``i`` ended its attempt: score
        it, update the customer's satisfaction, maybe churn. Built once, with the weights, the
        tables and the churn stream bound to locals (it runs for every attempt)."""
        w = self.weights
        base, wait, cap, aband, unres, rep, esc, tra, pub = (
            w.base, w.wait, w.wait_cap, w.abandoned, w.unresolved, w.repeat, w.escalated, w.transferred,
            w.public_late)
        exp = math.exp
        rec, env = self.centre.rec, self.env
        issue_customer, carried, proactive_issues = self.issue_customer, self._carry, self.issue_proactive
        expected_wait, public, segments = self.expected_wait, self.public, self.segments
        c_segment, c_sat, c_followup_t = self.c_segment, self.c_sat, self.c_followup_t
        leg_row, leg_experience = self.leg_row, self.leg_experience
        leg_satisfaction, leg_churn_risk = self.leg_satisfaction, self.leg_churn_risk
        catch_up, u_churn, feedback = self._catch_up, self.u_churn, self.feedback
        c_point, c_points_end, p_kind = self.c_point, self.c_points_end, self.p_kind
        draws = [[], 0]  # the churn stream's current block (as BlockSampler draws it) and position

        def attempt_end(i: int) -> None:
            issue = rec.issue[i]
            c = issue_customer.get(issue)
            if c is None:
                return
            now = env._now
            p = c_point[c]
            if p < c_points_end[c] and p_kind[p] == QUIET:
                catch_up(c, now)
            attempt = rec.attempt[i]
            channel = rec.channel[i]
            ratio = rec.wait_s[i] / expected_wait[channel]
            outcome = rec.outcome[i]
            abandoned = outcome == ABANDONED or outcome == LOST
            late = public[channel] and ratio > 1
            acc = carried.pop((issue, attempt), None) if carried else None
            # experience.experience_score_one, the same arithmetic (a term that is 0 is left out:
            # adding 0.0 changes no sum).
            if acc is None:
                x = (base + wait * min(ratio, cap) + aband * abandoned
                     + unres * (not abandoned and not rec.resolved[i] == 1) + rep * (attempt - 1) + pub * late)
            else:
                x = (base + wait * min(acc[0] + ratio, cap) + aband * abandoned
                     + unres * (not abandoned and not rec.resolved[i] == 1) + rep * (attempt - 1)
                     + esc * acc[1] + tra * acc[2] + pub * (acc[3] or late))
            s = 1.0 / (1.0 + exp(-x))
            seg = segments[c_segment[c]]
            a = seg.anchoring
            sat = a * c_sat[c] + (1.0 - a) * s  # anchoring and adjustment (experience.update_satisfaction)
            c_sat[c] = sat
            risk = seg.contact_risk(sat)
            block, k = draws
            if k == len(block):
                block, k = u_churn.random(BLOCK).tolist(), 0
                draws[0] = block
            u = block[k]
            draws[1] = k + 1
            leg_row.append(i)
            leg_experience.append(s)
            leg_satisfaction.append(sat)
            leg_churn_risk.append(risk)
            if outcome == ANSWERED and issue in proactive_issues:
                c_followup_t[c] = now
            if feedback and u < risk and self.status(c) == ACTIVE:
                stage = self.stage_at(c, now)
                if stage < PURCHASE:  # a prospect put off by the contact: lost, not churned
                    self.c_status[c] = LOST_PROSPECT
                    self.c_end_t[c] = now
                    self.events.add(now, c, DROPPED, stage, AFTER_CONTACT, risk)
                else:
                    self._churn(c, AFTER_CONTACT, risk, stage, now)

        return attempt_end
