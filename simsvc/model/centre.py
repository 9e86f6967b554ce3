"""The contact centre as a discrete-event model: the event loop that ties the rooms together.

Written for speed: SimPy is the scheduler, but there is no process per contact.
Every event is a ``Timeout`` with a callback (arrival, patience expiry, end of
service, bot session end, duty change), contacts are integer row numbers into
the columnar :class:`~simsvc.observe.records.ContactBuffer`, queues are deques of
those numbers, and abandonment is lazy: a caller who runs out of patience is
marked, and the queue skips marked heads when an agent next looks. A patience
timer is armed only for callers who actually queue, and only where abandoning
starts something at that moment (a redial, a journey's score) or a queue limit
counts who is still there; elsewhere a caller whose patience ended before an
agent looks is recorded as abandoned then, without an event (:mod:`~simsvc.model.waiting`).

The rooms: channels and their queues (:mod:`~simsvc.model.channels`), agent
pools and routing (:mod:`~simsvc.model.agents`), a pool's blending reserve
(:mod:`~simsvc.model.reserve`), follow-up legs: redials, repeats, retries,
chases (:mod:`~simsvc.model.followups`), the bot (:mod:`~simsvc.model.bot`),
duty and shifts (:mod:`~simsvc.model.duty`), queueing and patience
(:mod:`~simsvc.model.waiting`), and customers on their journey
(:mod:`~simsvc.model.journey`, journey mode only). This module holds what every
contact goes through: arrival, the open/closed check, the way to an agent or a
queue, and the record of the leg.

Per-contact random numbers (handling time, patience, a resolution uniform) are
drawn when the contact arrives, from streams named by purpose, so a staffing
change does not reshuffle them (common random numbers across scenarios).
"""
from __future__ import annotations

import gc
import time

import numpy as np
import simpy
from simpy.events import NORMAL

from simsvc.config.schema import Scenario
from simsvc.domain.randomness import Streams
from simsvc.model.agents import Routing, build_pools
from simsvc.model.bot import BotSessions
from simsvc.model.channels import BOT, ChannelState, build_channels
from simsvc.model.ahead import ArrivalsAhead
from simsvc.model.demand import Arrivals, arrival_chunk, forecast_arrivals
from simsvc.model.duty import DutyRoster
from simsvc.model.events import Environment, bad_delay, poster, reusable, scheduler, to_lane
from simsvc.model.followups import FollowUps
from simsvc.model.journey import Journey
from simsvc.model.reserve import Reserve
from simsvc.model.routing_delay import setup_routing_delay
from simsvc.model.waiting import Waiting, patience_without_events
from simsvc.observe.records import (
    ESCALATION,
    NEW,
    OUTBOUND,
    TRANSFER,
    AgentPools,
    ContactBuffer,
    FixedWrap,
    RawRun,
    SegmentBuffer,
    share_constants,
)

NAN = float("nan")
ARRIVAL_CHUNK = 16384  # forecast arrivals converted (and their numbers drawn) at a time
FILL_SLICE = 1 << 16  # legs completed at a time after the loop


class ContactCentre(Waiting, Routing, Reserve, FollowUps, BotSessions, DutyRoster):
    """One replication of the contact-centre model. Build, then :meth:`run` once."""

    def __init__(self, scenario: Scenario, root_seed: int, replication: int,
                 arrivals: Arrivals | None = None) -> None:
        self.scenario = scenario
        self.replication = replication
        self.root_seed = root_seed
        self.streams = Streams(root_seed, replication)
        self.env = Environment()  # SimPy's, with a leaner run loop (events.Environment)
        self.at = scheduler(self.env)  # at(delay, value, callback): the one checked scheduling path
        self.post = poster(self.env)  # the same for the loop's own callbacks, as shared lists
        self.env_queue = self.env._queue  # where _serve re-arms an agent's end of service
        self.env_eid = self.env._eid
        self.rec = ContactBuffer()
        self.busy = SegmentBuffer()
        self.duty = SegmentBuffer()
        self.channel_names = list(scenario.channels)
        self.reason_names = list(scenario.reasons)
        self.pool_names = list(scenario.agents)
        self.arrivals = arrivals if arrivals is not None else forecast_arrivals(scenario, self.streams)
        self._build()
        # Journey mode: a customer population opens issues and hears how each attempt ended.
        # Resolved here, once: a forecast-mode run has no journey and its hot path tests for none.
        self.journey = Journey(self, self.streams) if scenario.customers is not None else None

    # ------------------------------------------------------------------ build
    def _build(self) -> None:
        s, st = self.scenario, self.streams
        self.channels: list[ChannelState] = build_channels(s, st)
        self.pools, self.transfer_queue = build_pools(s, st, self.channels)
        # direct[c][r]: the queue a new contact of channel c, reason r joins when nothing but
        # free agents decides its way (always open, served by agents, no reserve, no chat), so
        # the arrival path finds it an agent itself; None where _route must decide.
        self.direct = [[q if ch.always_open and not q.reserved and not q.chat else None for q in ch.queues]
                       or [None] * len(self.reason_names) for ch in self.channels]
        patience_without_events(s, self.channels)  # which queues need no patience event
        setup_routing_delay(self)  # a reason's routing step, where one has it (model/routing_delay.py)

        # Reasons that transfer, and the random streams for decisions.
        self.transfer = [(r.transfer.probability, self.pool_names.index(r.transfer.to))
                         if r.transfer is not None else (0.0, -1) for r in s.reasons.values()]
        self.any_transfer = any(p > 0 for p, _ in self.transfer)
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
        self.a_timer: list[simpy.events.Timeout] = []  # each agent's end of service (model/agents.py)
        self.in_bot = [0] * len(self.channels)
        # Each kind of event's callback list, made once (SimPy only reads it).
        self.on_free = [self._on_free]
        self.on_chat_end = [self._on_chat_end]
        self.on_patience = [self._on_patience]
        self.n_issues = 0  # opened in journey mode (forecast-mode arrivals carry their issue id)

    # ------------------------------------------------------------------ run
    def run(self) -> RawRun:
        wall0 = time.perf_counter()
        self._schedule_duty()
        # One arrival is pending at a time, so one Timeout serves them all, re-armed by each
        # with the next arrival's tuple as its value. The handler is chosen here, once.
        self._arrival = reusable(self.env, None)
        self.on_arrival = [self._on_arrival_drawing if self.journey is not None else
                           self._on_arrival_by_queue if any(ch.queue_factors is not None for ch in self.channels)
                           else self._on_arrival]
        self._k0 = 0  # arrival number of the next chunk's first entry
        self._ahead = ArrivalsAhead(self.arrivals)  # the arrivals not yet converted
        self._upcoming = iter(())  # the rest of the current chunk of arrivals
        self._next_arrival()
        if self.journey is not None:
            self.journey.start()
        # The loop makes no reference cycles of its own (each event's objects are freed by
        # reference counting), so the cycle collector would only walk the heap again and
        # again for nothing: off during a forecast-mode loop, back on after.
        gc_on = gc.isenabled() and self.journey is None
        if gc_on:
            gc.disable()
        try:
            self.env.run(until=self.scenario.horizon)
        finally:
            if gc_on:
                gc.enable()
        self._expire_all(self.scenario.horizon)
        self._finish_duty()
        self.arrivals = self._ahead = self._upcoming = None
        # The record as the buffers hold it (no copies), completed, then its constant columns
        # let go and the rest freed before the issue id is widened: the loop's end is where a
        # run's memory peaks, so nothing is copied while every buffer is still there.
        contacts = self.rec.arrays(widen=False)
        fixed_wrap = all(p.wrap is None for p in self.pools)  # then the loop stored no wrap-up
        self._fill_by_agent(contacts, wrap=not fixed_wrap)
        contacts = share_constants(contacts)  # a column of one value holds one value
        self.rec = None  # free the event-loop buffers before the caller builds tables
        contacts = ContactBuffer.widened(contacts)
        contacts["pool"] = AgentPools(contacts["agent"], self.a_pool)  # 2 bytes per leg less
        if fixed_wrap:  # each answered leg's pool's wrap-up, computed when read
            contacts["wrap_s"] = FixedWrap(contacts["agent"], contacts["pool"], [p.wrap_s for p in self.pools])
        journey = self.journey.arrays() if self.journey is not None else None
        return RawRun(self.replication, self.root_seed, contacts, self._busy_segments(contacts),
                      self.duty.arrays(), time.perf_counter() - wall0, journey)

    def _fill_by_agent(self, contacts: dict, wrap: bool = True) -> None:
        """The columns the loop leaves to the end: each answered leg's pool (its agent's) and,
        for a pool with a fixed wrap-up, its wrap-up time (one store less per answer; not
        ``wrap``: every pool's is fixed, and the column is read as :class:`FixedWrap`)."""
        a_pool = np.asarray(self.a_pool, dtype=contacts["pool"].dtype)
        fixed_wrap = [(p.index, p.wrap_s) for p in self.pools if p.wrap is None] if wrap else []
        for s in range(0, len(contacts["agent"]), FILL_SLICE):  # a slice at a time: no full-length masks
            agent, pool, wrap = (contacts[k][s:s + FILL_SLICE] for k in ("agent", "pool", "wrap_s"))
            answered = agent >= 0
            pool[answered] = a_pool[agent[answered]]
            for index, wrap_s in fixed_wrap:
                wrap[answered & (pool == index)] = wrap_s

    def _next_arrival(self) -> None:
        """Schedule the next forecast arrival, refilling the chunk of arrivals when it runs out
        (:meth:`_on_arrival` inlines the common case)."""
        a = next(self._upcoming, None)
        if a is None:
            chunk = self._arrival_chunk(self._k0)
            if not chunk:
                return
            self._k0 += len(chunk)
            self._upcoming = iter(chunk)
            a = next(self._upcoming)
        self._arrival._value = a
        to_lane(self.env, self._arrival, a[0] - self.env._now, self.on_arrival)

    def _arrival_chunk(self, k0: int) -> list[tuple]:
        """Arrivals ``k0`` to ``k0 + ARRIVAL_CHUNK`` as tuples (:func:`~simsvc.model.demand.arrival_chunk`):
        forecast mode pre-draws their numbers, journey mode draws on arrival."""
        ahead = self._ahead
        k1 = min(k0 + ARRIVAL_CHUNK, ahead.n)
        chunk = arrival_chunk(ahead.arrivals, k0, k1, None if self.journey is not None else self.channels,
                              self.u_resolve)
        self.arrivals = ahead.converted(k1)
        return chunk

    # ------------------------------------------------------------------ arrivals
    def _on_arrival(self, ev: simpy.events.Timeout) -> None:
        """A new issue's first contact (forecast demand, its numbers drawn with its chunk),
        then the next arrival."""
        _, c, r, handle, uniform, patience, issue = ev._value
        now = self.env._now
        rec = self.rec
        i = rec.n
        if i == rec.capacity:
            rec.grow()
        rec.n = i + 1
        # attempt, leg and origin keep the columns' defaults (1, 1, NEW), and so do channel and
        # reason where they are the first (0): a store is about 160 machine instructions, a test 20.
        rec.issue[i] = issue
        if c:
            rec.channel[i] = c
        if r:
            rec.reason[i] = r
        rec.arrival_s[i] = now
        if patience == patience:
            rec.patience_s[i] = patience
        q = self.direct[c][r]
        if q is None:
            self._route(i, self.channels[c], c, r, issue, 1, -1, patience, now, handle, uniform)
        elif q.n:  # someone waits, so no agent who could take it is free
            self._wait(i, self.channels[c], c, r, issue, 1, q, patience, handle, uniform)
        else:  # the first agent still idle in the pools serving q (what _route does, inlined)
            a_idle = self.a_idle
            for pool in q.pools:
                idle = pool.idle
                while idle:
                    a = idle.popleft()
                    if a_idle[a]:
                        a_idle[a] = False
                        self._serve(a, pool, i, r, q, now, handle, uniform)
                        break
                else:
                    continue  # nobody idle in this pool
                break  # served
            else:
                self._wait(i, self.channels[c], c, r, issue, 1, q, patience, handle, uniform)
        a = next(self._upcoming, None)
        if a is None:
            self._next_arrival()
            return
        # The next arrival on the same Timeout, in the arrival lane (events.to_lane, inlined).
        delay = a[0] - now
        if not delay >= 0.0:
            bad_delay(self.env, delay, self._on_arrival)
        ev._value = a
        ev.callbacks = self.on_arrival
        self.env.lane = (now + delay, NORMAL, next(self.env_eid), ev)  # beside the heap (events.Environment)

    def _on_arrival_drawing(self, ev: simpy.events.Timeout) -> None:
        """A new issue's first contact from the forecast that draws its numbers on arrival
        (journey mode, where customers' contacts share the streams)."""
        _, c, r = ev._value
        self._contact(c, r, self.open_issue(), 1, 1, NEW, -1)
        self._next_arrival()

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
        origin = OUTBOUND if outbound else NEW
        if draws is None:
            self._contact(channel, reason, issue, 1, 1, origin, -1)
        else:
            self._contact(channel, reason, issue, 1, 1, origin, -1, *draws)

    def _on_attempt_end(self, ev: simpy.events.Timeout) -> None:
        self.journey.attempt_end(ev._value)

    def _contact(self, c: int, r: int, issue: int, attempt: int, leg: int, origin: int, target_pool: int,
                 handle: float | None = None, uniform: float = 0.0, patience: float = NAN) -> None:
        """A contact leg arrives: record it and send it where its channel sends it.

        ``handle``, ``uniform``, ``patience``: the contact's own draws when the caller
        has them (pre-drawn forecast arrivals, a journey customer's), else drawn here.
        """
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
        if attempt != 1:  # the columns' defaults are a first attempt's first leg of a new issue
            rec.attempt[i] = attempt
        if leg != 1:
            rec.leg[i] = leg
        if origin != NEW:
            rec.origin[i] = origin
        if c:  # channel and reason 0 are the columns' defaults too
            rec.channel[i] = c
        if r:
            rec.reason[i] = r
        rec.arrival_s[i] = now
        # New issues and follow-up legs draw from separate streams: new issues arrive
        # in the same order whatever the staffing, so each keeps its numbers
        # (common random numbers); follow-ups depend on what happened before.
        if handle is None:
            if origin == NEW or origin == OUTBOUND:
                handle = ch.handling[r]()
                uniform = self.u_resolve()
                if ch.patience is not None:
                    patience = ch.patience() if ch.patience_by_reason is None else ch.patience_by_reason[r]()
            else:
                handle = ch.handling_follow[r]()
                uniform = self.u_resolve_follow()
                if ch.patience is not None:
                    patience = (ch.patience_follow() if ch.patience_follow_by_reason is None
                                else ch.patience_follow_by_reason[r]())
        elif ch.patience is None:
            patience = NAN  # a journey customer draws a placeholder where the channel has none
        if patience == patience:
            if journey is not None:
                patience *= journey.patience_factor(issue)  # the customer's segment
            if ch.queue_factors is not None:
                patience *= ch.patience_factor()  # by the queue the caller finds (patience_by_queue)
            rec.patience_s[i] = patience

        self._route(i, ch, c, r, issue, attempt, target_pool, patience, now, handle, uniform)

    def _route(self, i: int, ch: ChannelState, c: int, r: int, issue: int, attempt: int, target_pool: int,
               patience: float, now: float, handle: float, uniform: float) -> None:
        """Send recorded contact ``i`` where its channel sends it: closed, bot, an agent, or the
        queue (with its handling draw and resolution uniform, which its service needs)."""
        # A transfer continues a contact already in progress, so closing time does not stop it.
        if not ch.always_open and target_pool < 0 and not ch.hours.is_open(now):
            self._closed(i, ch, c, r, issue, attempt)
            return
        if ch.kind == BOT:
            self._bot_start(i, ch, c, handle, uniform)
            return
        q = ch.queues[r] if target_pool < 0 else self.transfer_queue[(target_pool, c)]
        if q.reserved:  # a pool's blending reserve may hold it back (model/agents.py)
            if self._reserved_arrival(i, r, q, now, handle, uniform):
                return
        elif q.n == 0:
            # Nobody is waiting, so an agent may be free (when someone waits, none is).
            a_idle = self.a_idle
            for pool in q.pools:
                idle = pool.idle
                while idle:  # the first agent still idle (ids of agents gone home are skipped)
                    a = idle.popleft()
                    if a_idle[a]:
                        a_idle[a] = False
                        self._serve(a, pool, i, r, q, now, handle, uniform)
                        return
                if q.chat:
                    a = self._chat_slot(pool, q)
                    if a >= 0:
                        self._serve(a, pool, i, r, q, now, handle, uniform)
                        return
        self._wait(i, ch, c, r, issue, attempt, q, patience, handle, uniform)

def simulate(scenario: Scenario, root_seed: int, replication: int) -> RawRun:
    """Run one replication and return what it recorded."""
    return ContactCentre(scenario, root_seed, replication).run()
