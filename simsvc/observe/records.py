"""Columnar buffers the model writes into while it runs: the output contract of a run.

One row per contact leg (a first contact, a redial, a repeat, an escalation from
the bot or a transfer between pools), kept in ``array.array`` columns indexed by
the contact id, so the event loop appends and updates without touching pandas;
agents' busy and duty segments; and, in journey mode, the customers' events.
The model writes these and knows nothing of how they are reduced; the reducers
in :mod:`simsvc.observe.tables` (and ``customer``, ``journey``) turn them into
DataFrames and never import the model.
"""
from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

import numpy as np

# Outcome of one contact leg. WAITING = still in a queue or a bot session at the horizon.
WAITING, ANSWERED, ABANDONED, CONTAINED, ESCALATED, LOST = range(6)
OUTCOMES = ("waiting", "answered", "abandoned", "contained", "escalated", "lost")

# Why the leg exists.
# OUTBOUND: the business contacts the customer (journey mode's proactive follow-up).
NEW, REDIAL, REPEAT, ESCALATION, TRANSFER, RETRY, CHASE, OUTBOUND = range(8)
ORIGINS = ("new", "redial", "repeat", "escalation", "transfer", "retry", "chase", "outbound")

# resolved: 1 = the issue was resolved on this leg, 0 = it was not, -1 = not known (still waiting).
UNKNOWN = -1


class ContactBuffer:
    """Columns of the contacts table, grown in blocks.

    Each column is a typed buffer (8 bytes or less per value, no Python object per
    entry, converted to numpy without copying; the issue id is kept in 4 bytes and
    widened when the run ends). The event loop writes a new contact's fixed fields by
    index and updates the others (wait, outcome, agent…) when they become known;
    growing every column by a block of defaults at once keeps per-contact work to a
    few stores, and the stores are the cheapest Python has for the type: 1-byte codes
    live in a ``bytearray`` (negative defaults stored as their two's complement, read
    back as int8; at run time they only ever receive values 0..127, codes and flags),
    and the other columns are ``array.array`` written through a ``memoryview`` (the
    array's own item assignment parses a format string on every store), except
    ``arrival_s``, which the loop reads on every answer and an array reads faster.
    """

    BLOCK = 8192
    # column: (typecode, default while unknown, dtype in the output)
    COLUMNS = {
        "issue": ("i", 0, np.int64), "attempt": ("h", 1, np.int16), "leg": ("h", 1, np.int16),
        "origin": ("b", NEW, np.int8), "channel": ("h", 0, np.int16), "reason": ("h", 0, np.int16),
        "arrival_s": ("d", 0.0, np.float64), "patience_s": ("d", np.nan, np.float64),
        "wait_s": ("d", np.nan, np.float64), "outcome": ("b", WAITING, np.int8),
        "pool": ("h", -1, np.int16), "agent": ("i", -1, np.int32),
        "handle_s": ("d", np.nan, np.float64), "wrap_s": ("d", np.nan, np.float64),
        "resolved": ("b", UNKNOWN, np.int8),
        "transferred": ("b", 0, np.bool_),  # handed to another pool after this leg
        "blocked": ("b", 0, np.bool_),  # lost because the queue was full
        "closed": ("b", 0, np.bool_),  # lost (or retried) because the channel was closed
    }

    def __init__(self) -> None:
        self.n = 0
        self.capacity = 0
        self._store: dict[str, array | bytearray] = {}
        self._blocks: dict[str, array | bytes] = {}
        for name, (code, default, _) in self.COLUMNS.items():
            if code == "b":
                self._store[name] = bytearray()
                self._blocks[name] = bytes([default & 0xFF]) * self.BLOCK
            else:
                self._store[name] = array(code)
                self._blocks[name] = array(code, [default]) * self.BLOCK
        self._expose()

    def _expose(self) -> None:
        """Set each column's attribute to the object the event loop writes through."""
        for name, store in self._store.items():
            setattr(self, name, memoryview(store) if isinstance(store, array) and name != "arrival_s"
                    else store)

    def grow(self) -> None:
        """Add a block of default rows to every column (the loop's references to the
        columns must be taken again afterwards: the views are new)."""
        for name, store in self._store.items():
            view = getattr(self, name)
            if isinstance(view, memoryview):
                view.release()  # an array cannot grow while a view of it exists
            store.extend(self._blocks[name])
        self._expose()
        self.capacity += self.BLOCK

    def arrays(self, widen: bool = True) -> dict[str, np.ndarray]:
        """Numpy views of the columns (no copy; the buffer must not grow afterwards), in the
        output's dtypes (``widen``) or as the buffers hold them (see :meth:`widened`)."""
        n = self.n
        held = {name: np.frombuffer(self._store[name], dtype=np.dtype(code))[:n]
                for name, (code, _, _) in self.COLUMNS.items()}
        return self.widened(held) if widen else held

    @classmethod
    def widened(cls, held: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Columns as the buffers hold them, in the output's dtypes: a view where the size is
        the same (a copy for the issue id, kept in 4 bytes); a broadcast stays a broadcast."""
        return {name: held[name] if isinstance(held[name], ComputedColumn) else _as(held[name], dtype)
                for name, (_, _, dtype) in cls.COLUMNS.items()}


def share_constants(contacts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The record with each column whose values are all the same, bit for bit, replaced by a
    read-only broadcast of that one value (no memory per leg; a write through it raises).

    A replication with one channel, one reason, no redials, repeats or transfers (the
    reference queue, an Erlang check) records the same attempt, leg, origin, channel, reason
    and flags on every leg: 12 of its 64 bytes per leg, held through every reduction after
    the loop (issue 13, memory). Readers see the same values; a column read for a range of
    rows is a broadcast too, which numpy, pandas and Arrow read as any other array. An issue
    id that is the row number (plus the first id) becomes :class:`RowNumbers`, in the
    output's dtype.
    """
    out = {name: np.broadcast_to(values[:1].copy(), values.shape) if _constant(values) else values
           for name, values in contacts.items()}
    issue = out.get("issue")
    if isinstance(issue, np.ndarray) and _row_numbers(issue):  # every leg its own issue, in order
        out["issue"] = RowNumbers(int(issue[0]), issue.size, ContactBuffer.COLUMNS["issue"][2])
    return out


class ComputedColumn(np.lib.mixins.NDArrayOperatorsMixin):
    """A column computed when read, used as the numpy array it stands for: a slice of rows
    is computed alone (what the reducers and the writers read); operators, numpy functions
    and any other array attribute see the whole column (``np.asarray``)."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(np.asarray(x) if isinstance(x, ComputedColumn) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)  # (unpickling looks attributes up before they exist)
        return getattr(np.asarray(self), name)

    # What a subclass gives: ``n`` (its rows), ``dtype``, and ``rows(a0, a1)`` (a new array).
    ndim = 1
    SLICE = 1 << 16  # rows computed at a time when the whole column is read
    n: int
    dtype: np.dtype

    def rows(self, a0: int, a1: int) -> np.ndarray:
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int]:
        return (self.n,)

    @property
    def size(self) -> int:
        return self.n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key):
        if isinstance(key, slice) and key.step in (None, 1):
            a0, a1, _ = key.indices(self.n)
            return self.rows(a0, max(a0, a1))
        return np.asarray(self)[key]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = np.empty(self.n, dtype=self.dtype)
        for a0 in range(0, self.n, self.SLICE):
            a1 = min(a0 + self.SLICE, self.n)
            out[a0:a1] = self.rows(a0, a1)
        return out if dtype is None else out.astype(dtype, copy=False)

    def copy(self) -> np.ndarray:
        return np.asarray(self)


class CopyOnRead(ComputedColumn):
    """An array read a copy at a time: a second column of a table with the same values as
    another, which must not share its memory (a change to one would change both)."""

    def __init__(self, values: np.ndarray) -> None:
        self.values, self.dtype, self.n = values, values.dtype, values.size

    def rows(self, a0: int, a1: int) -> np.ndarray:
        return np.array(self.values[a0:a1])

    def __getitem__(self, key):
        return np.array(self.values[key])  # a copy, whatever the key

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return np.array(self.values, dtype=dtype)


class FixedWrap(ComputedColumn):
    """``wrap_s`` of a run whose every agent pool has a fixed wrap-up: each answered leg's is its
    pool's, the others' NaN, computed for the rows read (the loop stores none of them; a
    column of 8 bytes per leg not held after it, issue 13). Read like the array it stands
    for: a slice gives an array, any other index or ``np.asarray`` the whole column."""

    dtype = np.dtype(np.float64)

    def __init__(self, agent: np.ndarray, pool: np.ndarray, wrap_by_pool: np.ndarray) -> None:
        self.agent, self.pool, self.n = agent, pool, agent.size
        self.wrap_by_pool = np.asarray(wrap_by_pool, dtype=np.float64)
        # Every pool's wrap-up the same (one pool, say): each answered leg's is that value.
        values = np.unique(self.wrap_by_pool)
        self.one_wrap = values[0] if values.size == 1 else None

    def rows(self, a0: int, a1: int) -> np.ndarray:
        agent, pool = self.agent[a0:a1], self.pool[a0:a1]
        if self.one_wrap is not None:   # no gather by pool: the same floats
            return np.where(agent >= 0, self.one_wrap, np.nan)
        out = np.full(agent.size, np.nan)
        answered = agent >= 0
        out[answered] = self.wrap_by_pool[pool[answered]]
        return out


class RowNumbers(ComputedColumn):
    """A column whose row k holds ``first + k`` (the issue id where every leg opens its own issue,
    in order: forecast mode without redials, repeats or transfers), computed when read."""

    def __init__(self, first: int, n: int, dtype) -> None:
        self.first, self.n, self.dtype = int(first), int(n), np.dtype(dtype)

    def rows(self, a0: int, a1: int) -> np.ndarray:
        return np.arange(self.first + a0, self.first + a1, dtype=self.dtype)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self.rows(0, self.n)
        return out if dtype is None else out.astype(dtype, copy=False)


class AgentPools(ComputedColumn):
    """The pool column: each answered leg's agent's pool, -1 for the others (what the loop's
    end fills in), computed when read from the agent column and each agent's pool."""

    dtype = np.dtype(np.int16)

    def __init__(self, agent: np.ndarray, agent_pool: np.ndarray) -> None:
        self.agent, self.n = agent, agent.size
        self.agent_pool = np.asarray(agent_pool, dtype=np.int16)
        # Every agent in one pool: each answered leg's pool is that one.
        pools = np.unique(self.agent_pool)
        self.one_pool = pools[0] if pools.size == 1 else None

    def rows(self, a0: int, a1: int) -> np.ndarray:
        agent = self.agent[a0:a1]
        if self.one_pool is not None:   # no gather by agent: the same codes
            return np.where(agent >= 0, self.one_pool, np.int16(-1))
        out = np.full(agent.size, -1, dtype=np.int16)
        answered = agent >= 0
        out[answered] = self.agent_pool[agent[answered]]
        return out


def _row_numbers(values: np.ndarray) -> bool:
    """Whether row k holds ``values[0] + k``, checked a slice at a time."""
    if values.size == 0 or values.strides == (0,):
        return False
    first = int(values[0])
    return all(bool(np.all(values[s:s + _SLICE] == np.arange(first + s, first + min(s + _SLICE, values.size))))
               for s in range(0, values.size, _SLICE))


def _constant(values: np.ndarray) -> bool:
    """Whether every value has the first one's bits (NaN included), checked a slice at a time."""
    if values.size == 0 or values.strides == (0,):
        return values.size > 0
    bits = values.view(np.dtype(f"u{values.dtype.itemsize}"))
    first = bits[0]
    return all(bool(np.all(bits[s:s + _SLICE] == first)) for s in range(0, bits.size, _SLICE))


_SLICE = 1 << 16


def _as(values: np.ndarray, dtype: type) -> np.ndarray:
    """``values`` as ``dtype``: a view when the buffer already holds it, else a copy (a
    column kept narrower in the buffer than in the output, such as the issue id)."""
    if values.dtype.itemsize == np.dtype(dtype).itemsize:
        return values.view(dtype)
    if values.size and values.strides == (0,):  # one value (share_constants)
        return np.broadcast_to(values[:1].astype(dtype), values.shape)
    return values.astype(dtype)


class SegmentBuffer:
    """Time segments: agents busy on a channel, or agents on duty in a pool."""

    def __init__(self) -> None:
        self.start_s = array("d")
        self.end_s = array("d")
        self.channel = array("h")  # -1 for duty segments
        self.pool = array("h")
        self.agent = array("i")

    def add(self, start: float, end: float, channel: int, pool: int, agent: int) -> None:
        self.start_s.append(start)
        self.end_s.append(end)
        self.channel.append(channel)
        self.pool.append(pool)
        self.agent.append(agent)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.array(getattr(self, name), dtype=dt) for name, dt in
                (("start_s", np.float64), ("end_s", np.float64), ("channel", np.int16),
                 ("pool", np.int16), ("agent", np.int32))}


class EventBuffer:
    """Columns of the journey-events table (codes in :mod:`simsvc.domain.journey`)."""

    def __init__(self) -> None:
        self.time_s = array("d")
        self.customer = array("q")
        self.event = array("b")
        self.stage = array("b")
        self.detail = array("q")  # source, churn cause, issue id or referred customer id
        self.value = array("d")  # purchase value, churn risk, …

    def add(self, t: float, customer: int, event: int, stage: int, detail: int = -1, value: float = math.nan):
        self.time_s.append(t)
        self.customer.append(customer)
        self.event.append(event)
        self.stage.append(stage)
        self.detail.append(detail)
        self.value.append(value)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.array(getattr(self, name), dtype=dt) for name, dt in
                (("time_s", np.float64), ("customer", np.int64), ("event", np.int8), ("stage", np.int8),
                 ("detail", np.int64), ("value", np.float64))}


@dataclass(frozen=True)
class RawRun:
    """Everything one replication recorded, as numpy arrays (picklable, compact)."""

    replication: int
    seed: int
    contacts: dict[str, np.ndarray]
    busy: dict[str, np.ndarray]
    duty: dict[str, np.ndarray]
    wall_s: float
    journey: dict | None = None  # journey mode: events, customers, issues' customers, in-loop scores
