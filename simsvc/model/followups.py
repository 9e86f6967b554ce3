"""Follow-up legs: what a customer does after a contact that did not settle the issue.

A caller lost to a full queue or who abandoned may redial (the channel's ``redial``);
an issue left unresolved may come back as a repeat, possibly on another channel
(``repeat``, ``repeat.switch``); a contact that finds its channel closed is lost
and may retry after opening (``when_closed: retry``); an async contact nobody has
answered by ``chase.after`` may chase on another channel. Each is a new leg that
arrives later (:meth:`FollowUps._later`), as does a transfer's next leg. Follow-ups
draw from their own streams, so new issues keep their numbers (common random numbers).

:class:`FollowUps` holds the centre's methods for this part of the event loop;
:class:`~simsvc.model.centre.ContactCentre` mixes it in.
"""
from __future__ import annotations

from bisect import bisect_right

import simpy

from simsvc.model.channels import ChannelState
from simsvc.observe.records import CHASE, REDIAL, REPEAT, RETRY, WAITING


class FollowUps:
    """Redials, repeats, retries after closing, chases, and the later arrival of any leg."""

    def _later(self, delay: float, channel: int, reason: int, issue: int, attempt: int, leg: int,
               origin: int, target_pool: int = -1) -> None:
        """A contact that will arrive after ``delay`` (redial, repeat, transfer, retry)."""
        self.at(delay, (channel, reason, issue, attempt, leg, origin, target_pool), self._on_later)

    def _on_later(self, ev: simpy.events.Timeout) -> None:
        self._contact(*ev._value)

    def _closed(self, i: int, ch: ChannelState, c: int, r: int, issue: int, attempt: int) -> None:
        """Contact ``i`` finds its channel closed: lost, and retried after opening if the channel says so."""
        self._lost(i, self.rec.closed)
        if ch.retry_on_close and attempt < self.max_attempts:
            now = self.env.now
            opening = ch.hours.next_open(now)
            if opening is not None:
                delay = opening - now + self.u_retry() * ch.retry_spread
                self._later(delay, c, r, issue, attempt + 1, 1, RETRY)

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
        """A caller lost to a full queue or who abandoned redials with the channel's probability."""
        if ch.redial_p > 0 and attempt < self.max_attempts and self.u_redial() < ch.redial_p:
            self._later(ch.redial_delay(), c, r, issue, attempt + 1, 1, REDIAL)

    def _maybe_repeat(self, c: int, r: int, issue: int, attempt: int, after: float) -> None:
        """An unresolved issue comes back ``after`` plus the repeat delay, maybe on another channel."""
        if attempt >= self.max_attempts or self.u_repeat() >= self.repeat_p:
            return
        ch = self.channels[c]
        nxt = c
        if ch.switch_cum is not None:
            nxt = bisect_right(ch.switch_cum, self.u_switch())  # np.searchsorted(side="right")
            nxt = min(nxt, len(self.channels) - 1)
        self._later(after + self.repeat_delay(), nxt, r, issue, attempt + 1, 1, REPEAT)
