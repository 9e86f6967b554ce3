"""The chatbot: automated sessions that contain a contact or escalate it with context kept.

A bot session starts when the contact arrives (no agents; an optional cap on
concurrent sessions escalates at once when full), lasts the contact's handling
draw, and ends contained (resolved) with the reason's containment probability,
else escalated to the bot's target channel as a new leg of the same attempt.

:class:`BotSessions` holds the centre's methods for this part of the event loop;
:class:`~simsvc.model.centre.ContactCentre` mixes it in.
"""
from __future__ import annotations

import simpy

from simsvc.model.channels import ChannelState
from simsvc.observe.records import CONTAINED, ESCALATED, ESCALATION


class BotSessions:
    """Bot sessions of the contact centre."""

    def _bot_start(self, i: int, ch: ChannelState, c: int, handle: float, uniform: float) -> None:
        """Contact ``i`` starts a session lasting its handling draw ``handle``; its resolution
        uniform ``uniform`` decides containment when the session ends."""
        rec = self.rec
        rec.wait_s[i] = 0.0
        if ch.capacity is not None and self.in_bot[c] >= ch.capacity:
            rec.handle_s[i] = 0.0
            self._bot_end(i, contained=False)
            return
        self.in_bot[c] += 1
        rec.handle_s[i] = handle
        self.at(handle, (i, uniform), self._on_bot_end)

    def _on_bot_end(self, ev: simpy.events.Timeout) -> None:
        i, uniform = ev._value
        c = self.rec.channel[i]
        self.in_bot[c] -= 1
        self._bot_end(i, uniform < self.channels[c].containment[self.rec.reason[i]])

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
