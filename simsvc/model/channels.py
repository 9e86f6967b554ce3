"""Channels and their queues: how each channel behaves, resolved from the scenario once.

A :class:`ChannelState` holds what the event loop needs about one channel (its
kind, samplers for handling and patience, resolution and containment by reason,
opening hours, redial, chase and switching rules). Channels served by agents
have one :class:`Queue` per reason; transfer queues are built with the pools
(:mod:`simsvc.model.agents`).
"""
from __future__ import annotations

from bisect import bisect_right
from collections import deque
from typing import TYPE_CHECKING

import numpy as np

from simsvc.config.schema import AGENT_KINDS, Scenario
from simsvc.domain.calendar import OpeningHours
from simsvc.domain.randomness import BlockSampler, Streams

if TYPE_CHECKING:
    from simsvc.model.agents import PoolState

VOICE, CHAT, BOT, ASYNC = "voice", "chat", "bot", "async"


class Queue:
    """Contacts waiting for an agent: one per (channel, reason), plus transfer queues."""

    __slots__ = ("name", "items", "n", "chat", "capacity", "pools", "key_offset", "concurrency", "resolution",
                 "reserved", "lazy")

    def __init__(self, name: str, chat: bool, capacity: int | None, key_offset: float, concurrency: int,
                 resolution: list[float]):
        self.name = name
        # Entries (row, handling draw, resolution uniform, this queue): see model/agents.Routing.
        self.items: deque[tuple] = deque()
        self.n = 0  # live (not yet abandoned) contacts in items
        self.chat = chat
        self.capacity = capacity
        self.pools: list[PoolState] = []
        self.key_offset = key_offset  # response target for async (due-date order), else 0
        self.concurrency = concurrency
        self.resolution = resolution  # the channel's chance to resolve, by reason
        self.reserved = False  # some pool's blending reserve holds it back (model/reserve.py)
        # Patience runs out without an event (model/waiting.py: patience_without_events, Waiting._expire).
        self.lazy = False


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
        # With a reason's own patience (``reasons.<r>.patience``): one sampler per reason (the
        # channel's where the reason has none), and their configs; None otherwise, so a
        # scenario without it draws exactly as before.
        self.patience_by_reason: list[BlockSampler] | None = None
        self.patience_follow_by_reason: list[BlockSampler] | None = None
        self.patience_dists: list[object] | None = None
        # ``patience_by_queue``: the factor by contacts waiting on the channel's queues at arrival,
        # tabled up to the last band's edge, and the last band's beyond it; None without the field
        # (resolved once here, so a scenario without it pays one test per contact with patience).
        self.queue_factors: list[float] | None = None
        self.queue_factor_beyond = 1.0
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
        self.switch_cum: list[float] | None = None  # cumulative probabilities of next channel
        self.chase_after = 0.0  # async: an unanswered customer chases after this long ...
        self.chase_p = 0.0  # ... with this probability ...
        self.chase_to = -1  # ... on this channel

    def patience_factor(self) -> float:
        """The ``patience_by_queue`` factor of the contacts waiting on this channel now."""
        n = 0
        for q in self.queues:
            n += q.n
        table = self.queue_factors
        return table[n] if n < len(table) else self.queue_factor_beyond


def build_channels(s: Scenario, st: Streams) -> list[ChannelState]:
    """Every channel of the scenario, in declaration order, with its queues by reason."""
    reasons = list(s.reasons)
    channel_names = list(s.channels)
    channels: list[ChannelState] = []
    for name, cfg in s.channels.items():
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
                if any(s.reasons[r].patience is not None for r in reasons):
                    _patience_by_reason(ch, s, name, st)
                if cfg.patience_by_queue is not None:
                    edges, factors = cfg.patience_by_queue.queue_from, cfg.patience_by_queue.factor
                    ch.queue_factors = [factors[bisect_right(edges, n) - 1] for n in range(edges[-1])]
                    ch.queue_factor_beyond = factors[-1]
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
            ch.escalate_to = channel_names.index(cfg.escalate_to)
        if cfg.kind == ASYNC and cfg.chase is not None:
            ch.chase_after = cfg.chase.after
            ch.chase_p = cfg.chase.probability
            ch.chase_to = channel_names.index(cfg.chase.to)
        if cfg.kind in AGENT_KINDS:
            offset = cfg.response_target if cfg.kind == ASYNC else 0.0
            ch.queues = [Queue(f"{name}/{r}", cfg.kind == CHAT, ch.capacity, offset, ch.concurrency,
                               ch.resolution) for r in reasons]
        row = s.repeat.switch.get(name)
        if row:
            p = np.array([row.get(n, 0.0) for n in channel_names])
            ch.switch_cum = np.cumsum(p / p.sum()).tolist()  # for bisect: no numpy call per repeat
        channels.append(ch)
    return channels


def _patience_by_reason(ch: ChannelState, s: Scenario, name: str, st: Streams) -> None:
    """Per-reason patience samplers: a reason with its own patience draws from its own streams
    (``patience/<channel>/<reason>``), the others share the channel's, in their arrival order."""
    own = {r: spec.patience for r, spec in s.reasons.items() if spec.patience is not None}
    ch.patience_dists = [own.get(r, ch.patience_dist) for r in s.reasons]
    ch.patience_by_reason = [st.sampler(f"patience/{name}/{r}", own[r]) if r in own else ch.patience
                             for r in s.reasons]
    ch.patience_follow_by_reason = [st.sampler(f"patience_followup/{name}/{r}", own[r]) if r in own
                                    else ch.patience_follow for r in s.reasons]
