"""Columnar buffers the model writes into while it runs.

One row per contact leg (a first contact, a redial, a repeat, an escalation from
the bot or a transfer between pools), kept as plain Python lists indexed by the
contact id, so the event loop appends and updates without touching pandas. The
reducers in :mod:`simsvc.observe.tables` turn them into DataFrames.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Outcome of one contact leg. WAITING = still in a queue or a bot session at the horizon.
WAITING, ANSWERED, ABANDONED, CONTAINED, ESCALATED, LOST = range(6)
OUTCOMES = ("waiting", "answered", "abandoned", "contained", "escalated", "lost")

# Why the leg exists.
NEW, REDIAL, REPEAT, ESCALATION, TRANSFER, RETRY = range(6)
ORIGINS = ("new", "redial", "repeat", "escalation", "transfer", "retry")

# resolved: 1 = the issue was resolved on this leg, 0 = it was not, -1 = not known (still waiting).
UNKNOWN = -1


@dataclass
class ContactBuffer:
    issue: list[int] = field(default_factory=list)
    attempt: list[int] = field(default_factory=list)
    leg: list[int] = field(default_factory=list)
    origin: list[int] = field(default_factory=list)
    channel: list[int] = field(default_factory=list)
    reason: list[int] = field(default_factory=list)
    arrival_s: list[float] = field(default_factory=list)
    patience_s: list[float] = field(default_factory=list)
    wait_s: list[float] = field(default_factory=list)
    outcome: list[int] = field(default_factory=list)
    pool: list[int] = field(default_factory=list)
    agent: list[int] = field(default_factory=list)
    handle_s: list[float] = field(default_factory=list)
    wrap_s: list[float] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    transferred: list[int] = field(default_factory=list)
    blocked: list[int] = field(default_factory=list)  # lost because the queue was full
    closed: list[int] = field(default_factory=list)  # lost (or retried) because the channel was closed

    def arrays(self) -> dict[str, np.ndarray]:
        dtypes = {
            "issue": np.int64, "attempt": np.int16, "leg": np.int16, "origin": np.int8,
            "channel": np.int16, "reason": np.int16, "arrival_s": np.float64,
            "patience_s": np.float64, "wait_s": np.float64, "outcome": np.int8,
            "pool": np.int16, "agent": np.int32, "handle_s": np.float64, "wrap_s": np.float64,
            "resolved": np.int8, "transferred": np.bool_, "blocked": np.bool_, "closed": np.bool_,
        }
        return {name: np.asarray(getattr(self, name), dtype=dt) for name, dt in dtypes.items()}


@dataclass
class SegmentBuffer:
    """Time segments: agents busy on a channel, or agents on duty in a pool."""

    start_s: list[float] = field(default_factory=list)
    end_s: list[float] = field(default_factory=list)
    channel: list[int] = field(default_factory=list)  # -1 for duty segments
    pool: list[int] = field(default_factory=list)
    agent: list[int] = field(default_factory=list)

    def add(self, start: float, end: float, channel: int, pool: int, agent: int) -> None:
        self.start_s.append(start)
        self.end_s.append(end)
        self.channel.append(channel)
        self.pool.append(pool)
        self.agent.append(agent)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "start_s": np.asarray(self.start_s, dtype=np.float64),
            "end_s": np.asarray(self.end_s, dtype=np.float64),
            "channel": np.asarray(self.channel, dtype=np.int16),
            "pool": np.asarray(self.pool, dtype=np.int16),
            "agent": np.asarray(self.agent, dtype=np.int32),
        }


@dataclass(frozen=True)
class RawRun:
    """Everything one replication recorded, as numpy arrays (picklable, compact)."""

    replication: int
    seed: int
    contacts: dict[str, np.ndarray]
    busy: dict[str, np.ndarray]
    duty: dict[str, np.ndarray]
    wall_s: float
