"""A pool's blending reserve: which work an agent may start while others must stay idle.

Blending by threshold reservation (a pool's ``reserve``): an agent starts work
outside the protected skills only while at least ``reserve.agents`` other agents
of the pool stay idle, the threshold policy that is optimal or near-optimal for
blending inbound calls with work that can wait (Bhulai & Koole 2003, "A queueing
model for call blending in call centers"; Gans & Zhou 2003). An async contact
within ``lift_before_due`` of its due date is taken despite the reserve, so a
backlog cannot starve unseen: a timer wakes an idle agent for it. Held-back work
breaks the "nobody waits while an agent idles" invariant only for the guarded
queues, which the arrival path sends here (:meth:`Reserve._reserved_arrival`).

:func:`guard` marks a pool's held-back queues when the pools are built
(:func:`simsvc.model.agents.build_pools`); :class:`Reserve` holds the centre's
methods for this part of the event loop, and
:class:`~simsvc.model.centre.ContactCentre` mixes it in.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import simpy

from simsvc.config.references import skill_queues
from simsvc.config.schema import Scenario
from simsvc.model.channels import ASYNC, ChannelState, Queue
from simsvc.observe.records import WAITING

if TYPE_CHECKING:
    from simsvc.model.agents import PoolState


def guard(pool: PoolState, s: Scenario, reserve, channels: list[ChannelState], first: int) -> None:
    """Mark the queues of ``pool``'s skills (from level ``first``: transfer queues are never held
    back) that its reserve does not protect."""
    reasons = list(s.reasons)
    channel_names = list(s.channels)
    protected = {channels[channel_names.index(cn)].queues[reasons.index(rn)]
                 for skill in reserve.protect for cn, rn in skill_queues(s, skill)}
    async_queues = {q for cn, ch in zip(channel_names, channels) if s.channels[cn].kind == ASYNC
                    for q in ch.queues}
    pool.reserve_agents = reserve.agents
    pool.guarded = {}
    for level in pool.levels[first:]:
        for q in level:
            if q not in protected:
                pool.guarded[q] = reserve.lift_before_due if q in async_queues else None
                q.reserved = True  # the arrival path hands it to the routing (Reserve._reserved_arrival)


class Reserve:
    """Agents of a pool with a reserve deciding whether held-back work may start now."""

    def _reserve_lets(self, pool: PoolState, lift: float | None, key: float, taking: int) -> bool:
        """Whether an agent of ``pool`` may start held-back work with queue key ``key`` now:
        async work near its due date always; otherwise only while ``reserve_agents`` agents
        stay idle besides the ``taking`` idle agent(s) who would start it."""
        if lift is not None and key - lift <= self.env._now:
            return True
        needed = pool.reserve_agents + taking
        if needed <= 0:
            return True
        a_idle = self.a_idle
        for a in pool.idle:  # entries of agents gone home or busy are skipped
            if a_idle[a]:
                needed -= 1
                if needed == 0:
                    return True
        return False

    def _reserved_arrival(self, i: int, r: int, q: Queue, now: float, handle: float, uniform: float) -> bool:
        """Contact ``i`` arrives at queue ``q`` that some pool holds back: serve it if a pool
        may (True); else it will queue, and async work arms the timer that lifts the reserve."""
        if q.n == 0:
            key = self.rec.arrival_s[i] + q.key_offset
            a_idle = self.a_idle
            for pool in q.pools:
                guarded = pool.guarded
                if not guarded or q not in guarded or self._reserve_lets(pool, guarded[q], key, 1):
                    idle = pool.idle
                    while idle:
                        a = idle.popleft()
                        if a_idle[a]:
                            a_idle[a] = False
                            self._serve(a, pool, i, r, q, now, handle, uniform)
                            return True
                if q.chat:
                    a = self._chat_slot(pool, q)
                    if a >= 0:
                        self._serve(a, pool, i, r, q, now, handle, uniform)
                        return True
        due = self.rec.arrival_s[i] + q.key_offset
        for lift in {pool.guarded[q] for pool in q.pools if pool.guarded and pool.guarded.get(q) is not None}:
            self.at(max(0.0, due - lift - now), (i, q), self._on_due_near)
        return False

    def _on_due_near(self, ev: simpy.events.Timeout) -> None:
        """Contact ``i`` is near its due date: if still waiting, an idle agent takes it
        (or older work of its queue) despite the reserve."""
        i, q = ev._value
        if self.rec.outcome[i] != WAITING:
            return
        a_idle = self.a_idle
        for pool in q.pools:
            idle = pool.idle
            while idle:
                a = idle.popleft()
                if a_idle[a]:
                    a_idle[a] = False
                    found = self._next_contact(pool, pool.levels, 0)
                    if found is None:  # not this pool's turn yet: the agent stays idle, first in line
                        a_idle[a] = True
                        idle.appendleft(a)
                        break
                    j, r, handle, uniform, qj = found
                    self._serve(a, pool, j, r, qj, self.env._now, handle, uniform)
                    if qj.chat:
                        self._fill_chats(a, pool)
                    return
