"""Waiting: a contact that finds no agent joins its queue, and may run out of patience there.

A queue entry is ``(row, reason, handling draw, resolution uniform, queue)`` (see
:class:`~simsvc.model.agents.Routing`); a full queue loses the contact (and the
caller may redial). Abandonment is lazy: a caller who runs out of patience is
marked, and the queue skips marked heads when an agent next looks. Where
abandoning starts something at that moment (a redial, a journey customer's
score) or a queue limit counts who is still there, each waiting caller has a
patience event. Elsewhere there is none (:func:`patience_without_events`): the
queue's head is checked when an agent looks, and a caller whose patience ended
before then is recorded as abandoned at that moment (:meth:`Waiting._expire`);
the rest are settled at the horizon.

:class:`Waiting` holds the centre's methods for this part of the event loop;
:class:`~simsvc.model.centre.ContactCentre` mixes it in.
"""
from __future__ import annotations

import simpy

from simsvc.config.schema import Scenario
from simsvc.model.channels import ChannelState, Queue
from simsvc.observe.records import ABANDONED, LOST, WAITING

CONTINUOUS = ("exponential", "lognormal", "gamma", "uniform")  # patience distributions without atoms


def patience_without_events(s: Scenario, channels: list[ChannelState]) -> None:
    """Mark the queues whose callers' patience runs out without an event (``Queue.lazy``):
    where abandoning starts nothing at that moment (no redial, forecast mode), no queue
    limit counts who is still there, the queue is neither held back nor chat, and patience
    is continuous (a tie between running out and an agent's end of service has probability
    zero, so the order the two events would have run in cannot matter), and no
    ``patience_by_queue`` counts who is still waiting when a caller arrives."""
    for ch in channels:
        dists = ch.patience_dists or [ch.patience_dist]  # a reason's own patience too
        if (ch.patience is not None and ch.redial_p == 0 and ch.capacity is None and s.customers is None
                and ch.queue_factors is None
                and all(getattr(d, "dist", None) in CONTINUOUS for d in dists)):
            for q in ch.queues:
                q.lazy = not q.reserved and not q.chat


class Waiting:
    """Contacts joining a queue, running out of patience, abandoning."""

    def _lost(self, i: int, reason) -> None:
        """Contact ``i`` is lost without waiting (a full queue or a closed channel): ``reason``
        is the record's flag column that says which."""
        rec = self.rec
        rec.outcome[i] = LOST
        reason[i] = 1
        rec.wait_s[i] = 0.0
        rec.resolved[i] = 0
        if self.journey is not None:
            self.journey.attempt_end(i)

    def _wait(self, i: int, ch: ChannelState, c: int, r: int, issue: int, attempt: int, q: Queue,
              patience: float, handle: float, uniform: float) -> None:
        """Contact ``i`` finds no agent: it joins queue ``q`` (or is lost if ``q`` is full)."""
        if q.capacity is not None and q.n >= q.capacity:
            self._lost(i, self.rec.blocked)
            self._maybe_redial(ch, c, r, issue, attempt)
            return
        entry = (i, r, handle, uniform, q)
        q.items.append(entry)
        q.n += 1
        if patience == patience:  # not NaN: this channel's customers can abandon
            if not q.lazy:
                self.post(patience, entry, self.on_patience)
        elif ch.chase_p > 0:  # async: the customer may chase if nobody has answered by then
            self.at(ch.chase_after, i, self._on_chase)

    def _on_arrival_by_queue(self, ev: simpy.events.Timeout) -> None:
        """The centre's ``_on_arrival`` where some channel's patience depends on the queue the
        caller finds (``patience_by_queue``): its pre-drawn patience × the factor of the contacts
        waiting on its channel now. Chosen once at build time, so other scenarios skip this step."""
        a = ev._value
        if a[5] == a[5]:  # not NaN: the channel has a patience
            ch = self.channels[a[1]]
            if ch.queue_factors is not None:
                ev._value = (*a[:5], a[5] * ch.patience_factor(), *a[6:])
        self._on_arrival(ev)

    def _on_patience(self, ev: simpy.events.Timeout) -> None:
        i, _, _, _, q = ev._value  # its queue entry
        rec = self.rec
        if rec.outcome[i] != WAITING:
            return  # answered before patience ran out
        rec.outcome[i] = ABANDONED
        rec.wait_s[i] = self.env._now - rec.arrival_s[i]
        rec.resolved[i] = 0
        q.n -= 1
        c = rec.channel[i]
        if self.journey is not None:
            self.journey.attempt_end(i)
        self._maybe_redial(self.channels[c], c, rec.reason[i], rec.issue[i], rec.attempt[i])

    def _expire(self, q: Queue, now: float) -> bool:
        """Patience without events, for a ``lazy`` queue (its contacts stay WAITING while queued):
        the contacts at its head whose patience ran out before ``now`` leave it, recorded as
        abandoned at that moment, as their patience events would have; whether one still waits.

        A contact's patience ends at ``arrival_s + patience_s``, the very float its patience
        event's time would be (``now + patience`` when it queued); :meth:`_expire_all` settles
        the rest at the horizon, where an event strictly before it would have run."""
        items = q.items
        rec = self.rec
        arrival = rec.arrival_s
        patience = rec.patience_s
        while q.n:
            i = items[0][0]
            end = arrival[i] + patience[i]
            if not end < now:
                return True
            items.popleft()
            q.n -= 1
            rec.outcome[i] = ABANDONED
            rec.wait_s[i] = end - arrival[i]
            rec.resolved[i] = 0
        return False

    def _expire_all(self, horizon: float) -> None:
        """At the horizon: every contact of a lazy queue whose patience ran out before it abandoned."""
        rec = self.rec
        for ch in self.channels:
            for q in ch.queues:
                if q.lazy:
                    for i, *_ in q.items:
                        end = rec.arrival_s[i] + rec.patience_s[i]
                        if end < horizon:
                            rec.outcome[i] = ABANDONED
                            rec.wait_s[i] = end - rec.arrival_s[i]
                            rec.resolved[i] = 0
