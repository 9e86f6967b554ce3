"""The contact centre as a discrete-event model: the event loop that ties the rooms together.

Written for speed: SimPy is the scheduler, but there is no process per contact.
Every event is a ``Timeout`` with a callback (arrival, patience expiry, end of
service, bot session end, duty change), contacts are integer row numbers into
the columnar :class:`~simsvc.observe.records.ContactBuffer`, queues are deques of
those numbers, and abandonment is lazy: a caller who runs out of patience is
marked, and the queue skips marked heads when an agent next looks. A patience
timer is armed only for callers who actually queue.

The rooms: channels and their queues (:mod:`~simsvc.model.channels`), agent
pools and routing (:mod:`~simsvc.model.agents`), the bot
(:mod:`~simsvc.model.bot`), duty and shifts (:mod:`~simsvc.model.duty`), and
customers on their journey (:mod:`~simsvc.model.journey`, journey mode only).
This module holds what every contact goes through: arrival, the open/closed
check, queueing, patience, redials, and the record of the leg.

Per-contact random numbers (handling time, patience, a resolution uniform) are
drawn when the contact arrives, from streams named by purpose, so a staffing
change does not reshuffle them (common random numbers across scenarios).
"""
from __future__ import annotations

import time
from array import array

import numpy as np
import simpy

from simsvc.config.schema import Scenario
from simsvc.domain.randomness import Streams
from simsvc.model.agents import Routing, build_pools
from simsvc.model.bot import BotSessions
from simsvc.model.channels import BOT, ChannelState, build_channels
from simsvc.model.demand import Arrivals, forecast_arrivals
from simsvc.model.duty import DutyRoster
from simsvc.model.journey import Journey
from simsvc.observe.records import (
    ABANDONED,
    CHASE,
    ESCALATION,
    LOST,
    NEW,
    OUTBOUND,
    REDIAL,
    RETRY,
    TRANSFER,
    WAITING,
    ContactBuffer,
    RawRun,
    SegmentBuffer,
)

NAN = float("nan")


class ContactCentre(Routing, BotSessions, DutyRoster):
    """One replication of the contact-centre model. Build, then :meth:`run` once."""

    def __init__(self, scenario: Scenario, root_seed: int, replication: int,
                 arrivals: Arrivals | None = None) -> None:
        self.scenario = scenario
        self.replication = replication
        self.root_seed = root_seed
        self.streams = Streams(root_seed, replication)
        self.env = simpy.Environment()
        self.rec = ContactBuffer()
        self.busy = SegmentBuffer()
        self.duty = SegmentBuffer()
        self.channel_names = list(scenario.channels)
        self.reason_names = list(scenario.reasons)
        self.pool_names = list(scenario.agents)
        self.arrivals = arrivals if arrivals is not None else forecast_arrivals(scenario, self.streams)
        self._build()
        # Journey mode: a customer population opens issues and hears how each attempt ended.
        self.journey = Journey(self, self.streams) if scenario.customers is not None else None

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        s, st = self.scenario, self.streams
        self.channels: list[ChannelState] = build_channels(s, st)
        self.pools, self.transfer_queue = build_pools(s, st, self.channels)

        # Reasons that transfer, and the random streams for decisions.
        self.transfer = [(r.transfer.probability, self.pool_names.index(r.transfer.to))
                         if r.transfer is not None else (0.0, -1) for r in s.reasons.values()]
        self.u_resolve = st.uniform("resolution")
        self.u_resolve_follow = st.uniform("resolution_followup")
        self.u_transfer = st.uniform("transfer")
        self.u_redial = st.uniform("redial")
        self.u_repeat = st.uniform("repeat")
        self.u_switch = st.uniform("switch")
        self.u_retry = st.uniform("retry")
        self.u_chase = st.uniform("chase")
        self.repeat_delay = st.sampler("repeat_delay", s.repeat.delay)
        self.repeat_p = s.repeat.probability
        self.max_attempts = s.repeat.max_attempts

        # Agents (one id per duty period: a person on one shift).
        self.a_pool: list[int] = []
        self.a_group: list[int | None] = []
        self.a_idle: list[bool] = []
        self.a_leaving: list[bool] = []
        self.a_chats: list[int] = []
        self.a_duty_start: list[float] = []
        self.a_busy_since: list[float] = []
        self.a_chat_channel: list[int] = []
        self.in_bot = [0] * len(self.channels)
        self.n_issues = 0
        self._given: tuple[float, float, float] | None = None  # see start_issue

    # ------------------------------------------------------------------ run
    def run(self) -> RawRun:
        wall0 = time.perf_counter()
        env = self.env
        self._schedule_duty()
        # Compact arrays (8 + 2 + 2 bytes an arrival) that index to plain Python numbers.
        self._arr_t = array("d", self.arrivals.time_s.astype(np.float64).tobytes())
        self._arr_c = array("h", self.arrivals.channel.astype(np.int16).tobytes())
        self._arr_r = array("h", self.arrivals.reason.astype(np.int16).tobytes())
        self.arrivals = None  # the arrays above are all the loop needs
        self._k = 0
        self._n_arrivals = len(self._arr_t)
        self._schedule_next_arrival()
        if self.journey is not None:
            self.journey.start()
        env.run(until=self.scenario.horizon)
        self._finish_duty()
        contacts = self.rec.arrays()
        self.rec = None  # free the event-loop buffers before the caller builds tables
        journey = self.journey.arrays() if self.journey is not None else None
        return RawRun(self.replication, self.root_seed, contacts, self._busy_segments(contacts),
                      self.duty.arrays(), time.perf_counter() - wall0, journey)

    # ------------------------------------------------------------------ arrivals
    def _schedule_next_arrival(self) -> None:
        k = self._k
        if k < self._n_arrivals:
            self.env.timeout(self._arr_t[k] - self.env._now).callbacks.append(self._on_arrival)

    def _on_arrival(self, _ev: object) -> None:
        k = self._k
        self._k = k + 1
        issue = self.n_issues
        self.n_issues = issue + 1
        self._contact(self._arr_c[k], self._arr_r[k], issue, 1, 1, NEW, -1)
        if k + 1 < self._n_arrivals:
            self.env.timeout(self._arr_t[k + 1] - self.env._now).callbacks.append(self._on_arrival)

    def open_issue(self) -> int:
        """A new issue id (journey mode opens issues itself)."""
        issue = self.n_issues
        self.n_issues = issue + 1
        return issue

    def start_issue(self, channel: int, reason: int, issue: int, outbound: bool,
                    draws: tuple[float, float, float] | None = None) -> None:
        """First contact of an issue opened by a customer (or an outbound follow-up) now.

        ``draws`` = (handling, resolution uniform, patience) the customer drew from its own
        stream, so the contact keeps its numbers whatever happened to other customers.
        """
        self._given = draws
        self._contact(channel, reason, issue, 1, 1, OUTBOUND if outbound else NEW, -1)
        self._given = None

    def _on_attempt_end(self, ev: simpy.events.Timeout) -> None:
        self.journey.attempt_end(ev._value)

    def _later(self, delay: float, channel: int, reason: int, issue: int, attempt: int, leg: int,
               origin: int, target_pool: int = -1) -> None:
        """A contact that will arrive after ``delay`` (redial, repeat, transfer, retry)."""
        ev = self.env.timeout(delay, (channel, reason, issue, attempt, leg, origin, target_pool))
        ev.callbacks.append(self._on_later)

    def _on_later(self, ev: simpy.events.Timeout) -> None:
        self._contact(*ev._value)

    def _contact(self, c: int, r: int, issue: int, attempt: int, leg: int, origin: int, target_pool: int) -> None:
        """A contact leg arrives: record it and send it where its channel sends it."""
        journey = self.journey
        if journey is not None and not journey.may_contact(issue, origin == ESCALATION or origin == TRANSFER):
            return  # the customer has churned: no redial, repeat, retry or chase
        now = self.env._now
        ch = self.channels[c]
        rec = self.rec
        i = rec.n
        if i == rec.capacity:
            rec.grow()
        rec.n = i + 1
        rec.issue[i] = issue
        rec.attempt[i] = attempt
        rec.leg[i] = leg
        rec.origin[i] = origin
        rec.channel[i] = c
        rec.reason[i] = r
        rec.arrival_s[i] = now
        # New issues and follow-up legs draw from separate streams: new issues arrive
        # in the same order whatever the staffing, so each keeps its numbers
        # (common random numbers); follow-ups depend on what happened before.
        patience = NAN
        if self._given is not None:
            rec.handle_draw[i], rec.uniform_draw[i], patience = self._given
            if ch.patience is None:
                patience = NAN
        elif origin == NEW or origin == OUTBOUND:
            rec.handle_draw[i] = ch.handling[r]()
            rec.uniform_draw[i] = self.u_resolve()
            if ch.patience is not None:
                patience = ch.patience()
        else:
            rec.handle_draw[i] = ch.handling_follow[r]()
            rec.uniform_draw[i] = self.u_resolve_follow()
            if ch.patience is not None:
                patience = ch.patience_follow()
        if patience == patience:
            if journey is not None:
                patience *= journey.patience_factor(issue)  # the customer's segment
            rec.patience_s[i] = patience

        kind = ch.kind
        # A transfer continues a contact already in progress, so closing time does not stop it.
        if not ch.always_open and target_pool < 0 and not ch.hours.is_open(now):
            self._closed(i, ch, c, r, issue, attempt)
            return
        if kind == BOT:
            self._bot_start(i, ch, c)
            return
        q = ch.queues[r] if target_pool < 0 else self.transfer_queue[(target_pool, c)]
        if q.n == 0:
            # Nobody is waiting, so an agent may be free (when someone waits, none is).
            for pool in q.pools:
                a = self._free_agent(pool, q)
                if a >= 0:
                    self._serve(a, i, q, now)
                    return
        if q.capacity is not None and q.n >= q.capacity:
            rec.outcome[i] = LOST
            rec.blocked[i] = 1
            rec.wait_s[i] = 0.0
            rec.resolved[i] = 0
            if journey is not None:
                journey.attempt_end(i)
            self._maybe_redial(ch, c, r, issue, attempt)
            return
        q.items.append(i)
        q.n += 1
        if patience == patience:  # not NaN: this channel's customers can abandon
            ev = self.env.timeout(patience, (i, q))
            ev.callbacks.append(self._on_patience)
        elif ch.chase_p > 0:  # async: the customer may chase if nobody has answered by then
            self.env.timeout(ch.chase_after, i).callbacks.append(self._on_chase)

    def _closed(self, i: int, ch: ChannelState, c: int, r: int, issue: int, attempt: int) -> None:
        rec = self.rec
        rec.outcome[i] = LOST
        rec.closed[i] = 1
        rec.wait_s[i] = 0.0
        rec.resolved[i] = 0
        if self.journey is not None:
            self.journey.attempt_end(i)
        if ch.retry_on_close and attempt < self.max_attempts:
            now = self.env.now
            opening = ch.hours.next_open(now)
            if opening is not None:
                delay = opening - now + self.u_retry() * ch.retry_spread
                self._later(delay, c, r, issue, attempt + 1, 1, RETRY)

    # ------------------------------------------------------------------ waiting
    def _on_patience(self, ev: simpy.events.Timeout) -> None:
        i, q = ev._value
        rec = self.rec
        if rec.outcome[i] != WAITING:
            return  # answered before patience ran out
        rec.outcome[i] = ABANDONED
        rec.wait_s[i] = self.env.now - rec.arrival_s[i]
        rec.resolved[i] = 0
        q.n -= 1
        c = rec.channel[i]
        if self.journey is not None:
            self.journey.attempt_end(i)
        self._maybe_redial(self.channels[c], c, rec.reason[i], rec.issue[i], rec.attempt[i])

    def _on_chase(self, ev: simpy.events.Timeout) -> None:
        """Still unanswered: the customer tries another channel (the original stays in the backlog)."""
        i = ev._value
        rec = self.rec
        if rec.outcome[i] != WAITING or rec.attempt[i] >= self.max_attempts:
            return
        ch = self.channels[rec.channel[i]]
        if self.u_chase() < ch.chase_p:
            self._contact(ch.chase_to, rec.reason[i], rec.issue[i], rec.attempt[i] + 1, 1, CHASE, -1)

    def _maybe_redial(self, ch: ChannelState, c: int, r: int, issue: int, attempt: int) -> None:
        if ch.redial_p > 0 and attempt < self.max_attempts and self.u_redial() < ch.redial_p:
            self._later(ch.redial_delay(), c, r, issue, attempt + 1, 1, REDIAL)


def simulate(scenario: Scenario, root_seed: int, replication: int) -> RawRun:
    """Run one replication and return what it recorded."""
    return ContactCentre(scenario, root_seed, replication).run()
