"""Agent pools and routing: who takes which contact, and what an agent does when free.

Routing: an idle agent takes the oldest contact from the highest-priority queue
it is skilled for (queues of one skill entry share a priority level; async
queues compare by due date; a reason's ``queue_credit`` moves its contacts
ahead by that much). An arriving contact goes to the first pool, in the order
of how high the queue stands in each pool's skills, with a free agent; a chat
goes to that pool's least-loaded agent. Agents are integer ids (one per duty
period: a person on one shift) into the centre's ``a_*`` lists.

A pool's blending reserve (which work an agent may start while others must stay
idle) is its own room: :mod:`simsvc.model.reserve`.

:class:`Routing` holds the centre's methods for this part of the event loop;
:class:`~simsvc.model.centre.ContactCentre` mixes it in (with :class:`~simsvc.model.reserve.Reserve`).
"""
from __future__ import annotations

from collections import deque
from heapq import heappush

import simpy
from simpy.events import NORMAL, Timeout

from simsvc.config.references import skill_queues
from simsvc.config.schema import AGENT_KINDS, Deterministic, Scenario
from simsvc.domain.randomness import BlockSampler, Streams
from simsvc.model.channels import ASYNC, CHAT, ChannelState, Queue
from simsvc.model.events import bad_delay, reusable
from simsvc.model.reserve import guard
from simsvc.observe.records import ANSWERED, TRANSFER, WAITING


class PoolState:
    """Run-time state of one agent pool."""

    def __init__(self, index: int, name: str, handling_mult: float, resolution_mult: float,
                 wrap: BlockSampler | float, max_concurrency: int):
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
        # A fixed wrap-up is a number (no draw); otherwise a sampler and wrap_s is unused.
        self.wrap: BlockSampler | None = None if isinstance(wrap, float) else wrap
        self.wrap_s = wrap if isinstance(wrap, float) else 0.0
        # Blending reserve: queues held back -> lift_before_due (async) or None (real time).
        self.guarded: dict[Queue, float | None] | None = None
        self.reserve_agents = 0
        # The pool's only queue when it has one, no reserve and no chat (set by build_pools):
        # an agent who finishes a contact looks there without the general search.
        self.only: Queue | None = None


def build_pools(s: Scenario, st: Streams, channels: list[ChannelState]
                ) -> tuple[list[PoolState], dict[tuple[int, int], Queue]]:
    """The pools with their skill levels, and the transfer queues keyed by (pool, channel)."""
    reasons = list(s.reasons)
    channel_names = list(s.channels)
    pools: list[PoolState] = []
    transfer_queue: dict[tuple[int, int], Queue] = {}
    transfer_targets = {r.transfer.to for r in s.reasons.values() if r.transfer is not None}
    max_conc = max([ch.concurrency for ch in channels] + [1])
    # Priority classes: within a level, queues compare by arrival (+ due offset) minus the credit.
    for ch in channels:
        for q, reason in zip(ch.queues, s.reasons.values()):
            q.key_offset -= reason.queue_credit
    for p, (name, cfg) in enumerate(s.agents.items()):
        # A deterministic wrap-up draws nothing from its stream, so a constant is the same numbers.
        wrap = (float(cfg.wrap_up.value) if isinstance(cfg.wrap_up, Deterministic)
                else st.sampler(f"wrap/{name}", cfg.wrap_up))
        pool = PoolState(p, name, cfg.proficiency.handling, cfg.proficiency.resolution, wrap, max_conc)
        levels: list[list[Queue]] = []
        if name in transfer_targets:
            # Transferred contacts wait in the target pool's own queues, served first.
            tq = []
            for c, cn in enumerate(channel_names):
                if channels[c].kind in AGENT_KINDS:
                    target = s.channels[cn]
                    offset = target.response_target if target.kind == ASYNC else 0.0
                    q = Queue(f"transfer:{name}/{cn}", target.kind == CHAT, None, offset, channels[c].concurrency,
                              channels[c].resolution)
                    transfer_queue[(p, c)] = q
                    tq.append(q)
            levels.append(tq)
        for entry in cfg.skills:
            group = entry if isinstance(entry, list) else [entry]
            level = []
            for skill in group:
                for cn, rn in skill_queues(s, skill):
                    q = channels[channel_names.index(cn)].queues[reasons.index(rn)]
                    if q not in level:
                        level.append(q)
            levels.append(level)
        pool.levels = levels
        if cfg.reserve is not None:
            guard(pool, s, cfg.reserve, channels, len(levels) - len(cfg.skills))
        pool.chat_levels = [[q for q in lv if q.chat] for lv in levels]
        pool.chat_levels = [lv for lv in pool.chat_levels if lv]
        queues_of_pool = [q for lv in levels for q in lv]
        if len(queues_of_pool) == 1 and pool.guarded is None and not queues_of_pool[0].chat:
            pool.only = queues_of_pool[0]
        pools.append(pool)
    # Each queue lists the pools that serve it, best-placed first (rank of the
    # queue's level in the pool's skills), then in declaration order.
    serving: dict[int, list[tuple[int, int, PoolState]]] = {}
    queues: dict[int, Queue] = {}
    for pool in pools:
        for rank, level in enumerate(pool.levels):
            for q in level:
                serving.setdefault(id(q), []).append((rank, pool.index, pool))
                queues[id(q)] = q
    for qid, entries in serving.items():
        queues[qid].pools = [pool for _, _, pool in sorted(entries, key=lambda e: e[:2])]
    return pools, transfer_queue


class Routing:
    """Agents taking contacts: answer now, take the next, hold chats, go idle or home.

    A waiting contact is a queue entry ``(i, reason, handle_draw, resolution_uniform, queue)``:
    the row number, its reason and the two numbers its service needs (drawn on arrival, kept
    out of the record), with its queue, so the same tuple is the value of its patience event.
    """

    def _chat_slot(self, pool: PoolState, q: Queue) -> int:
        """A chat agent of ``pool`` with room for one more chat from ``q`` (least loaded), or -1."""
        loads = pool.chat_load
        for k in range(1, min(q.concurrency, len(loads))):
            if loads[k]:
                a = next(iter(loads[k]))
                del loads[k][a]
                return a
        return -1

    def _serve(self, a: int, pool: PoolState, i: int, r: int, q: Queue, now: float, handle: float,
               uniform: float) -> None:
        """Agent ``a`` of ``pool`` answers contact ``i`` (reason ``r``, taken from queue ``q``) at
        ``now``; ``handle`` and ``uniform`` are the contact's handling draw and resolution uniform."""
        rec = self.rec
        rec.outcome[i] = ANSWERED
        rec.wait_s[i] = now - rec.arrival_s[i]
        rec.agent[i] = a  # the pool column follows from the agent (ContactCentre.run)
        handle *= pool.handling_mult
        chat = q.chat
        if chat:
            c = rec.channel[i]
            handle *= 1.0 + self.channels[c].slowdown * self.a_chats[a]
        rec.handle_s[i] = handle
        if pool.wrap is None:
            wrap = pool.wrap_s  # a fixed wrap-up: its column is filled by pool at the end
        else:
            wrap = rec.wrap_s[i] = pool.wrap()

        # What happens to the customer's issue, decided now, acted on when talk ends.
        if not (self.any_transfer and self._transfers(i, r, pool.index, handle)):
            if uniform < q.resolution[r] * pool.resolution_mult:
                rec.resolved[i] = 1
            else:
                rec.resolved[i] = 0
                self._maybe_repeat(rec.channel[i], r, rec.issue[i], rec.attempt[i], handle)
            if self.journey is not None:  # the customer feels the contact when the talk ends
                self.at(handle, i, self._on_attempt_end)

        delay = handle + wrap
        if chat:
            held = self.a_chats[a]
            if held == 0:
                self.a_busy_since[a] = now
                self.a_chat_channel[a] = c
            self.a_chats[a] = held + 1
            if not self.a_leaving[a] and held + 1 < q.concurrency:
                pool.chat_load[held + 1][a] = None
            self.post(delay, a, self.on_chat_end)
        else:
            # The agent's own Timeout, re-armed (events.arm, inlined): it has no other pending.
            # The busy segment [now, now + handle + wrap) is derived from the record at the end.
            try:
                ev = self.a_timer[a]
            except IndexError:
                ev = self._new_timers(a)
            if not delay >= 0.0:
                bad_delay(self.env, delay, self._on_free)
            ev.callbacks = self.on_free
            heappush(self.env_queue, (now + delay, NORMAL, next(self.env_eid), ev))

    def _new_timers(self, a: int) -> Timeout:
        """End-of-service timers for agents up to ``a`` (agents come on duty with fresh ids)."""
        timers = self.a_timer
        for b in range(len(timers), a + 1):
            timers.append(reusable(self.env, (b, self.pools[self.a_pool[b]])))
        return timers[a]

    def _transfers(self, i: int, r: int, p: int, handle: float) -> bool:
        """Whether contact ``i`` (reason ``r``, answered in pool ``p``) is handed to another pool
        when the talk ends; if so, the transfer leg is on its way."""
        p_transfer, to_pool = self.transfer[r]
        rec = self.rec
        if p_transfer > 0 and to_pool != p and rec.origin[i] != TRANSFER and self.u_transfer() < p_transfer:
            c = rec.channel[i]
            rec.transferred[i] = 1
            rec.resolved[i] = 0
            if self.journey is not None:
                self.journey.carry(rec.issue[i], rec.attempt[i], c, rec.wait_s[i], False, True)
            self._later(handle, c, r, rec.issue[i], rec.attempt[i], rec.leg[i] + 1, TRANSFER, to_pool)
            return True
        return False

    def _on_free(self, ev: simpy.events.Timeout) -> None:
        """End of a (non-chat) contact and its wrap-up: the agent takes the next one or idles."""
        a, pool = ev._value
        if self.a_leaving[a]:
            self._available(a)  # goes home
            return
        q = pool.only
        if q is not None:  # one queue, no reserve, no chat: the oldest live entry, if any
            if q.n and (not q.lazy or self._expire(q, self.env._now)):
                items = q.items
                outcome = self.rec.outcome
                while outcome[items[0][0]] != WAITING:
                    items.popleft()  # abandoned while waiting
                q.n -= 1
                i, r, handle, uniform, _ = items.popleft()
                self._serve(a, pool, i, r, q, self.env._now, handle, uniform)
                return
        else:
            found = self._next_contact(pool, pool.levels, 0)
            if found is not None:
                i, r, handle, uniform, q = found
                self._serve(a, pool, i, r, q, self.env._now, handle, uniform)
                if q.chat:
                    self._fill_chats(a, pool)
                return
        self.a_idle[a] = True
        pool.idle.append(a)

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
            i, r, handle, uniform, q = found
            self._serve(a, pool, i, r, q, self.env.now, handle, uniform)
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
            i, r, handle, uniform, q = found
            self._serve(a, pool, i, r, q, now, handle, uniform)

    def _next_contact(self, pool: PoolState, levels: list[list[Queue]], chats_held: int):
        """The queue entry of the oldest waiting contact in the highest-priority level that has
        one (and that the pool's reserve lets an agent with nothing in hand start), taken off
        its queue; None if there is none."""
        outcome = self.rec.outcome
        arrival = self.rec.arrival_s
        guarded = None if chats_held else pool.guarded  # another chat does not use up an idle agent
        for level in levels:
            best = None
            best_key = 0.0
            for q in level:
                if q.n == 0 or (chats_held and chats_held >= q.concurrency):
                    continue
                items = q.items
                if q.lazy:
                    if not self._expire(q, self.env._now):
                        continue
                else:
                    while outcome[items[0][0]] != WAITING:
                        items.popleft()  # abandoned while waiting
                key = arrival[items[0][0]] + q.key_offset
                if guarded and q in guarded and not self._reserve_lets(pool, guarded[q], key, 0):
                    continue
                if best is None or key < best_key:
                    best, best_key = q, key
            if best is not None:
                best.n -= 1
                return best.items.popleft()
        return None
