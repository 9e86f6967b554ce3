"""Duty and shifts: agents starting and ending duty, and the time segments they leave.

The pools' schedules (interval staffing or shifts, after shrinkage and
availability per interval) become a time-ordered list of duty changes (:func:`simsvc.domain.calendar.duty_changes`),
each a SimPy ``Timeout`` with a callback. A starting agent gets a fresh id and
takes work at once; an ending duty sends idle agents home first, then those
holding fewest contacts, who finish what they hold and take nothing new.
At the horizon every agent still on duty closes its duty (and chat busy) segment.

:class:`DutyRoster` holds the centre's methods for this part of the event loop;
:class:`~simsvc.model.centre.ContactCentre` mixes it in.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import simpy

from simsvc.domain.calendar import duty_changes
from simsvc.model.channels import CHAT
from simsvc.observe.records import ANSWERED


class DutyRoster:
    """Agents coming on and going off duty."""

    def _schedule_duty(self) -> None:
        """One event per start or end of duty, in time order (ends before starts at a tie)."""
        changes = sorted(
            (c for name, pool in self.scenario.agents.items()
             for c in duty_changes(self.scenario, name, pool, self._availability_stream(name, pool))),
            key=lambda c: (c.time_s, c.delta),
        )
        for change in changes:
            self.at(change.time_s, change, self._on_duty_change)

    def _availability_stream(self, name: str, pool) -> np.random.Generator | None:
        """A pool with availability per interval places its fractional agents with a stream
        of its own, so CRN holds: other pools, arrivals and patience draw nothing from it."""
        return self.streams.generator(f"availability/{name}") if pool.availability is not None else None

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

    def _busy_segments(self, c: dict[str, np.ndarray]) -> "BusySegments":
        """Agents' busy segments: one per answered non-chat contact (answer to end of
        wrap-up, taken from the record), plus chat agents' periods holding >= 1 chat."""
        chat = np.array([ch.kind == CHAT for ch in self.channels])
        return BusySegments(c, (c["outcome"] == ANSWERED) & ~chat[c["channel"]], self.busy.arrays())

    def _finish_duty(self) -> None:
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


class BusySegments(Mapping):
    """The busy-segment columns (``start_s``, ``end_s``, ``channel``, ``pool``, ``agent``),
    each derived from the contacts record when it is read.

    A segment per answered non-chat leg would be 24 bytes per leg held for the whole
    reduction (24 MB per million contacts, at the run's peak); this keeps one flag per
    leg instead. The non-chat segments come first, in record order, then the chat
    segments, as a concatenated table would hold them; every read computes the same
    floats (``arrival_s + wait_s``, then ``+ handle_s + wrap_s``).
    """

    _KEYS = ("start_s", "end_s", "channel", "pool", "agent")
    SLICE = 1 << 16  # legs read at a time

    def __init__(self, contacts: dict[str, np.ndarray], answered: np.ndarray, chats: dict[str, np.ndarray]):
        self._contacts = contacts
        self._answered = answered  # legs that are a busy segment
        self._chats = chats
        # The busy time per interval of all the segments, by grid (observe/tables._time_in):
        # read twice when there is one channel and one pool, derived from the record once.
        self.kept_sums: dict[bytes, np.ndarray] = {}

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._KEYS:
            raise KeyError(key)
        c, m, chats = self._contacts, self._answered, self._chats
        terms = {"start_s": ("arrival_s", "wait_s"),
                 "end_s": ("arrival_s", "wait_s", "handle_s", "wrap_s")}.get(key, (key,))
        n = int(np.count_nonzero(m))
        out = np.empty(n + len(chats[key]), dtype=chats[key].dtype)
        # A slice of legs at a time into the one output: no full-length temporaries.
        at = 0
        for s in range(0, m.size, self.SLICE):
            sl = slice(s, s + self.SLICE)
            sel = m[sl]
            values = c[terms[0]][sl][sel]
            for term in terms[1:]:  # the same additions in the same order for every leg
                values += c[term][sl][sel]
            out[at:at + values.size] = values
            at += values.size
        out[at:] = chats[key]
        return out

    def __iter__(self):
        return iter(self._KEYS)

    def __len__(self) -> int:
        return len(self._KEYS)
