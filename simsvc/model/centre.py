"""The contact centre as a discrete-event model: channels, queues, agent pools, routing.

Written for speed: SimPy is the scheduler, but there is no process per contact.
Every event is a ``Timeout`` with a callback (arrival, patience expiry, end of
service, bot session end, duty change), contacts are integer row numbers into
the columnar :class:`~simsvc.observe.records.ContactBuffer`, queues are deques of
those numbers, and abandonment is lazy: a caller who runs out of patience is
marked, and the queue skips marked heads when an agent next looks. A patience
timer is armed only for callers who actually queue.

Routing: an idle agent takes the oldest contact from the highest-priority queue
it is skilled for (queues of one skill entry share a priority level; async
queues compare by due date). An arriving contact goes to the first pool, in the
order of how high the queue stands in each pool's skills, with a free agent; a
chat goes to that pool's least-loaded agent.

Per-contact random numbers (handling time, patience, a resolution uniform) are
drawn when the contact arrives, from streams named by purpose, so a staffing
change does not reshuffle them (common random numbers across scenarios).
"""
from __future__ import annotations

import time
from array import array
from collections import deque

import numpy as np
import simpy

from simsvc.config.references import skill_queues
from simsvc.config.schema import AGENT_KINDS, Scenario
from simsvc.model.calendar import OpeningHours, duty_changes
from simsvc.model.demand import Arrivals, forecast_arrivals
from simsvc.model.journey import Journey
from simsvc.model.randomness import BlockSampler, Streams
from simsvc.observe.records import (
    ABANDONED,
    ANSWERED,
    CONTAINED,
    ESCALATED,
    LOST,
    NEW,
    REDIAL,
    REPEAT,
    RETRY,
    CHASE,
    OUTBOUND,
    TRANSFER,
    ESCALATION,
    UNKNOWN,
    WAITING,
    ContactBuffer,
    RawRun,
    SegmentBuffer,
)

VOICE, CHAT, BOT, ASYNC = "voice", "chat", "bot", "async"
NAN = float("nan")


class Queue:
    """Contacts waiting for an agent: one per (channel, reason), plus transfer queues."""

    __slots__ = ("name", "items", "n", "chat", "capacity", "pools", "key_offset", "concurrency")

    def __init__(self, name: str, chat: bool, capacity: int | None, key_offset: float, concurrency: int):
        self.name = name
        self.items: deque[int] = deque()
        self.n = 0  # live (not yet abandoned) contacts in items
        self.chat = chat
        self.capacity = capacity
        self.pools: list[PoolState] = []
        self.key_offset = key_offset  # response target for async (due-date order), else 0
        self.concurrency = concurrency


class PoolState:
    """Run-time state of one agent pool."""

    def __init__(self, index: int, name: str, handling_mult: float, resolution_mult: float,
                 wrap: BlockSampler, max_concurrency: int):
        self.index = index
        self.name = name
        self.levels: list[list[Queue]] = []
        self.chat_levels: list[list[Queue]] = []
        self.idle: deque[int] = deque()
        # chat_load[k]: agents holding k chats (1 <= k) who may take another; dicts keep order.
        self.chat_load: list[dict[int, None]] = [dict() for _ in range(max_concurrency + 1)]
        self.on_duty: dict[int, None] = {}
        self.handling_mult = handling_mult
        self.resolution_mult = resolution_mult
        self.wrap = wrap


class ChannelState:
    """Run-time parameters of one channel (resolved from the scenario once)."""

    def __init__(self) -> None:
        self.kind = VOICE
        self.queues: list[Queue] = []  # by reason
        self.patience: BlockSampler | None = None  # for new issues' first contacts
        self.patience_follow: BlockSampler | None = None  # for redials, repeats, escalations…
        self.handling: list[BlockSampler] = []  # by reason, new issues
        self.handling_follow: list[BlockSampler] = []  # by reason, follow-up legs
        self.handling_dist: list[object] = []  # by reason: the configs (journey customers draw their own)
        self.patience_dist: object | None = None
        self.resolution: list[float] = []  # by reason
        self.containment: list[float] = []  # by reason (bot)
        self.hours: OpeningHours | None = None
        self.always_open = True
        self.retry_on_close = False
        self.retry_spread = 0.0
        self.redial_p = 0.0
        self.redial_delay: BlockSampler | None = None
        self.capacity: int | None = None
        self.escalate_to = -1
        self.concurrency = 1
        self.slowdown = 0.0
        self.switch_cum: np.ndarray | None = None  # cumulative probabilities of next channel
        self.chase_after = 0.0  # async: an unanswered customer chases after this long ...
        self.chase_p = 0.0  # ... with this probability ...
        self.chase_to = -1  # ... on this channel


class ContactCentre:
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
        reasons = self.reason_names
        self.channels: list[ChannelState] = []
        for c, (name, cfg) in enumerate(s.channels.items()):
            ch = ChannelState()
            ch.kind = cfg.kind
            handling = s.handling[name]
            for r in reasons:
                dist = handling.get(r, handling.get("default")) if isinstance(handling, dict) else handling
                ch.handling.append(st.sampler(f"handling/{name}/{r}", dist))
                ch.handling_follow.append(st.sampler(f"handling_followup/{name}/{r}", dist))
                ch.handling_dist.append(dist)
            res = s.resolution.get(name, 1.0)
            ch.resolution = [res.get(r, res.get("default", 1.0)) if isinstance(res, dict) else res
                             for r in reasons]
            if cfg.kind in (VOICE, CHAT, BOT):
                ch.hours = OpeningHours(s, cfg.hours)
                ch.always_open = ch.hours.always
                ch.retry_on_close = cfg.when_closed == "retry"
                ch.retry_spread = cfg.retry_spread
            if cfg.kind in (VOICE, CHAT):
                if cfg.patience is not None:
                    ch.patience = st.sampler(f"patience/{name}", cfg.patience)
                    ch.patience_dist = cfg.patience
                    ch.patience_follow = st.sampler(f"patience_followup/{name}", cfg.patience)
                if cfg.redial is not None:
                    ch.redial_p = cfg.redial.probability
                    ch.redial_delay = st.sampler(f"redial_delay/{name}", cfg.redial.delay)
                ch.capacity = cfg.queue_capacity
            if cfg.kind == CHAT:
                ch.concurrency = cfg.concurrency
                ch.slowdown = cfg.concurrency_slowdown
            if cfg.kind == BOT:
                cont = cfg.containment
                ch.containment = [cont.get(r, cont.get("default", 0.0)) if isinstance(cont, dict) else cont
                                  for r in reasons]
                ch.capacity = cfg.capacity
                ch.escalate_to = self.channel_names.index(cfg.escalate_to)
            if cfg.kind == ASYNC and cfg.chase is not None:
                ch.chase_after = cfg.chase.after
                ch.chase_p = cfg.chase.probability
                ch.chase_to = self.channel_names.index(cfg.chase.to)
            if cfg.kind in AGENT_KINDS:
                offset = cfg.response_target if cfg.kind == ASYNC else 0.0
                ch.queues = [Queue(f"{name}/{r}", cfg.kind == CHAT, ch.capacity, offset, ch.concurrency)
                             for r in reasons]
            row = s.repeat.switch.get(name)
            if row:
                p = np.array([row.get(n, 0.0) for n in self.channel_names])
                ch.switch_cum = np.cumsum(p / p.sum())
            self.channels.append(ch)

        # Pools, their skill levels and transfer queues.
        self.pools: list[PoolState] = []
        self.transfer_queue: dict[tuple[int, int], Queue] = {}
        transfer_targets = {r.transfer.to for r in s.reasons.values() if r.transfer is not None}
        for p, (name, cfg) in enumerate(s.agents.items()):
            max_conc = max([self.channels[c].concurrency for c in range(len(self.channels))] + [1])
            pool = PoolState(p, name, cfg.proficiency.handling, cfg.proficiency.resolution,
                             st.sampler(f"wrap/{name}", cfg.wrap_up), max_conc)
            levels: list[list[Queue]] = []
            if name in transfer_targets:
                # Transferred contacts wait in the target pool's own queues, served first.
                tq = []
                for c, cn in enumerate(self.channel_names):
                    if self.channels[c].kind in AGENT_KINDS:
                        target = s.channels[cn]
                        offset = target.response_target if target.kind == ASYNC else 0.0
                        q = Queue(f"transfer:{name}/{cn}", target.kind == CHAT, None, offset,
                                  self.channels[c].concurrency)
                        self.transfer_queue[(p, c)] = q
                        tq.append(q)
                levels.append(tq)
            for entry in cfg.skills:
                group = entry if isinstance(entry, list) else [entry]
                level = []
                for skill in group:
                    for cn, rn in skill_queues(s, skill):
                        q = self.channels[self.channel_names.index(cn)].queues[reasons.index(rn)]
                        if q not in level:
                            level.append(q)
                levels.append(level)
            pool.levels = levels
            pool.chat_levels = [[q for q in lv if q.chat] for lv in levels]
            pool.chat_levels = [lv for lv in pool.chat_levels if lv]
            self.pools.append(pool)
        # Each queue lists the pools that serve it, best-placed first (rank of the
        # queue's level in the pool's skills), then in declaration order.
        serving: dict[int, list[tuple[int, int, PoolState]]] = {}
        queues: dict[int, Queue] = {}
        for pool in self.pools:
            for rank, level in enumerate(pool.levels):
                for q in level:
                    serving.setdefault(id(q), []).append((rank, pool.index, pool))
                    queues[id(q)] = q
        for qid, entries in serving.items():
            queues[qid].pools = [pool for _, _, pool in sorted(entries, key=lambda e: e[:2])]

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
        changes = sorted(
            (c for name, pool in self.scenario.agents.items() for c in duty_changes(self.scenario, name, pool)),
            key=lambda c: (c.time_s, c.delta),
        )
        for change in changes:
            ev = env.timeout(change.time_s, change)
            ev.callbacks.append(self._on_duty_change)
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
        self._finish()
        contacts = self.rec.arrays()
        self.rec = None  # free the event-loop buffers before the caller builds tables
        journey = self.journey.arrays() if self.journey is not None else None
        return RawRun(self.replication, self.root_seed, contacts, self._busy_segments(contacts),
                      self.duty.arrays(), time.perf_counter() - wall0, journey)

    def _busy_segments(self, c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Agents' busy segments: one per answered non-chat contact (answer to end of
        wrap-up, taken from the record), plus chat agents' periods holding >= 1 chat."""
        chat = np.array([ch.kind == CHAT for ch in self.channels])
        m = (c["outcome"] == ANSWERED) & ~chat[c["channel"]]
        start = c["arrival_s"][m] + c["wait_s"][m]
        chats = self.busy.arrays()
        return {
            "start_s": np.concatenate([start, chats["start_s"]]),
            "end_s": np.concatenate([start + c["handle_s"][m] + c["wrap_s"][m], chats["end_s"]]),
            "channel": np.concatenate([c["channel"][m], chats["channel"]]),
            "pool": np.concatenate([c["pool"][m], chats["pool"]]),
            "agent": np.concatenate([c["agent"][m], chats["agent"]]),
        }

    def _finish(self) -> None:
        horizon = self.scenario.horizon
        for pool in self.pools:
            for a in pool.on_duty:
                self.duty.add(self.a_duty_start[a], horizon, -1, pool.index, a)
                if self.a_chats[a] > 0:
                    self.busy.add(self.a_busy_since[a], horizon, self.a_chat_channel[a], pool.index, a)
        # Agents who were leaving but still busy at the horizon are on duty too.
        for a, leaving in enumerate(self.a_leaving):
            if leaving:
                self.duty.add(self.a_duty_start[a], horizon, -1, self.a_pool[a], a)
                if self.a_chats[a] > 0:
                    self.busy.add(self.a_busy_since[a], horizon, self.a_chat_channel[a], self.a_pool[a], a)

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

    # ------------------------------------------------------------------ agents
    def _free_agent(self, pool: PoolState, q: Queue) -> int:
        """An agent of ``pool`` who can take a contact from ``q`` now, or -1."""
        idle = pool.idle
        a_idle = self.a_idle
        while idle:
            a = idle.popleft()
            if a_idle[a]:
                a_idle[a] = False
                return a
        if q.chat:
            loads = pool.chat_load
            for k in range(1, min(q.concurrency, len(loads))):
                if loads[k]:
                    a = next(iter(loads[k]))
                    del loads[k][a]
                    return a
        return -1

    def _serve(self, a: int, i: int, q: Queue, now: float) -> None:
        """Agent ``a`` answers contact ``i`` (taken from queue ``q``) at ``now``."""
        rec = self.rec
        p = self.a_pool[a]
        pool = self.pools[p]
        c = rec.channel[i]
        r = rec.reason[i]
        ch = self.channels[c]
        rec.outcome[i] = ANSWERED
        rec.wait_s[i] = now - rec.arrival_s[i]
        rec.pool[i] = p
        rec.agent[i] = a
        handle = rec.handle_draw[i] * pool.handling_mult
        if q.chat:
            held = self.a_chats[a] + 1
            handle *= 1.0 + ch.slowdown * (held - 1)
        wrap = pool.wrap()
        rec.handle_s[i] = handle
        rec.wrap_s[i] = wrap

        # What happens to the customer's issue, decided now, acted on when talk ends.
        issue, attempt = rec.issue[i], rec.attempt[i]
        p_transfer, to_pool = self.transfer[r]
        if p_transfer > 0 and to_pool != p and rec.origin[i] != TRANSFER and self.u_transfer() < p_transfer:
            rec.transferred[i] = 1
            rec.resolved[i] = 0
            if self.journey is not None:
                self.journey.carry(issue, attempt, c, rec.wait_s[i], False, True)
            self._later(handle, c, r, issue, attempt, rec.leg[i] + 1, TRANSFER, to_pool)
        else:
            if rec.uniform_draw[i] < ch.resolution[r] * pool.resolution_mult:
                rec.resolved[i] = 1
            else:
                rec.resolved[i] = 0
                self._maybe_repeat(c, r, issue, attempt, handle)
            if self.journey is not None:  # the customer feels the contact when the talk ends
                self.env.timeout(handle, i).callbacks.append(self._on_attempt_end)

        env = self.env
        if q.chat:
            held = self.a_chats[a]
            if held == 0:
                self.a_busy_since[a] = now
                self.a_chat_channel[a] = c
            self.a_chats[a] = held + 1
            if not self.a_leaving[a] and held + 1 < q.concurrency:
                pool.chat_load[held + 1][a] = None
            ev = env.timeout(handle + wrap, a)
            ev.callbacks.append(self._on_chat_end)
        else:
            # The busy segment [now, now + handle + wrap) is derived from the record at the end.
            ev = env.timeout(handle + wrap, a)
            ev.callbacks.append(self._on_free)

    def _maybe_repeat(self, c: int, r: int, issue: int, attempt: int, after: float) -> None:
        if attempt >= self.max_attempts or self.u_repeat() >= self.repeat_p:
            return
        ch = self.channels[c]
        nxt = c
        if ch.switch_cum is not None:
            nxt = int(np.searchsorted(ch.switch_cum, self.u_switch(), side="right"))
            nxt = min(nxt, len(self.channels) - 1)
        self._later(after + self.repeat_delay(), nxt, r, issue, attempt + 1, 1, REPEAT)

    def _on_free(self, ev: simpy.events.Timeout) -> None:
        self._available(ev._value)

    def _on_chat_end(self, ev: simpy.events.Timeout) -> None:
        a = ev._value
        pool = self.pools[self.a_pool[a]]
        held = self.a_chats[a]
        loads = pool.chat_load
        if held < len(loads):
            loads[held].pop(a, None)
        held -= 1
        self.a_chats[a] = held
        if held == 0:
            self.busy.add(self.a_busy_since[a], self.env.now, self.a_chat_channel[a], pool.index, a)
            self._available(a)
            return
        if self.a_leaving[a]:
            return
        # Still chatting: may take more chats, nothing else.
        loads[held][a] = None
        self._fill_chats(a, pool)

    def _available(self, a: int) -> None:
        """Agent ``a`` has nothing in hand: take the next contact, go idle, or go home."""
        pool = self.pools[self.a_pool[a]]
        if self.a_leaving[a]:
            self.a_leaving[a] = False
            self.duty.add(self.a_duty_start[a], self.env.now, -1, pool.index, a)
            return
        found = self._next_contact(pool, pool.levels, 0)
        if found is None:
            self.a_idle[a] = True
            pool.idle.append(a)
        else:
            i, q = found
            self._serve(a, i, q, self.env.now)
            if q.chat:
                self._fill_chats(a, pool)

    def _fill_chats(self, a: int, pool: PoolState) -> None:
        """Give chat agent ``a`` waiting chats until its slots are full or none wait.

        This keeps the routing invariant the arrival path relies on: while a
        contact waits, no agent that could take it has room for it.
        """
        loads = pool.chat_load
        now = self.env.now
        while not self.a_leaving[a]:
            held = self.a_chats[a]
            found = self._next_contact(pool, pool.chat_levels, held)
            if found is None:
                return
            if held < len(loads):
                loads[held].pop(a, None)
            i, q = found
            self._serve(a, i, q, now)

    def _next_contact(self, pool: PoolState, levels: list[list[Queue]], chats_held: int):
        """The oldest waiting contact in the highest-priority level that has one."""
        outcome = self.rec.outcome
        arrival = self.rec.arrival_s
        for level in levels:
            best = None
            best_key = 0.0
            for q in level:
                if q.n == 0 or (chats_held and chats_held >= q.concurrency):
                    continue
                items = q.items
                while outcome[items[0]] != WAITING:
                    items.popleft()  # abandoned while waiting
                key = arrival[items[0]] + q.key_offset
                if best is None or key < best_key:
                    best, best_key = q, key
            if best is not None:
                best.n -= 1
                return best.items.popleft(), best
        return None

    # ------------------------------------------------------------------ bot
    def _bot_start(self, i: int, ch: ChannelState, c: int) -> None:
        rec = self.rec
        rec.wait_s[i] = 0.0
        if ch.capacity is not None and self.in_bot[c] >= ch.capacity:
            rec.handle_s[i] = 0.0
            self._bot_end(i, contained=False)
            return
        self.in_bot[c] += 1
        handle = rec.handle_draw[i]
        rec.handle_s[i] = handle
        ev = self.env.timeout(handle, i)
        ev.callbacks.append(self._on_bot_end)

    def _on_bot_end(self, ev: simpy.events.Timeout) -> None:
        i = ev._value
        c = self.rec.channel[i]
        self.in_bot[c] -= 1
        self._bot_end(i, self.rec.uniform_draw[i] < self.channels[c].containment[self.rec.reason[i]])

    def _bot_end(self, i: int, contained: bool) -> None:
        rec = self.rec
        if contained:
            rec.outcome[i] = CONTAINED
            rec.resolved[i] = 1
            if self.journey is not None:
                self.journey.attempt_end(i)
            return
        rec.outcome[i] = ESCALATED
        rec.resolved[i] = 0
        if self.journey is not None:
            self.journey.carry(rec.issue[i], rec.attempt[i], rec.channel[i], 0.0, True, False)
        target = self.channels[rec.channel[i]].escalate_to
        self._contact(target, rec.reason[i], rec.issue[i], rec.attempt[i], rec.leg[i] + 1, ESCALATION, -1)

    # ------------------------------------------------------------------ staffing
    def _on_duty_change(self, ev: simpy.events.Timeout) -> None:
        change = ev._value
        pool = self.pools[self.pool_names.index(change.pool)]
        now = self.env.now
        if change.delta > 0:
            for _ in range(change.delta):
                a = len(self.a_pool)
                self.a_pool.append(pool.index)
                self.a_group.append(change.group)
                self.a_idle.append(False)
                self.a_leaving.append(False)
                self.a_chats.append(0)
                self.a_duty_start.append(now)
                self.a_busy_since.append(now)
                self.a_chat_channel.append(-1)
                pool.on_duty[a] = None
                self._available(a)
            return
        # Ending duty: idle agents go at once, then those holding fewest contacts
        # finish what they hold and go (they take nothing new).
        candidates = [a for a in pool.on_duty if change.group is None or self.a_group[a] == change.group]
        candidates.sort(key=lambda a: (not self.a_idle[a], self.a_chats[a] or (0 if self.a_idle[a] else 1)))
        for a in candidates[: -change.delta]:
            del pool.on_duty[a]
            held = self.a_chats[a]
            if held and held < len(pool.chat_load):
                pool.chat_load[held].pop(a, None)
            if self.a_idle[a]:
                self.a_idle[a] = False  # its entry in pool.idle is skipped from now on
                self.duty.add(self.a_duty_start[a], now, -1, pool.index, a)
            else:
                self.a_leaving[a] = True


def simulate(scenario: Scenario, root_seed: int, replication: int) -> RawRun:
    """Run one replication and return what it recorded."""
    return ContactCentre(scenario, root_seed, replication).run()
