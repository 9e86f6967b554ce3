"""From one replication's records to tidy tables (the output contract).

* ``contacts``: one row per contact leg; keys ``replication, contact_id``.
* ``intervals``: one row per replication × interval × channel.
* ``pools``: one row per replication × interval × agent pool.

This is where pandas starts. Column names, dtypes and meanings are documented
in the README; keep them stable.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from simsvc.config.schema import Scenario
from simsvc.domain.calendar import schedule_changes, scheduled_per_interval
from simsvc.observe.daily import calendar_columns
from simsvc.observe.records import (
    ABANDONED,
    ANSWERED,
    CONTAINED,
    ESCALATED,
    LOST,
    WAITING,
    RawRun,
)
from simsvc.observe.rows import ContactRows


def thresholds(scenario: Scenario) -> np.ndarray:
    """Service-level threshold per channel (response target for async), seconds."""
    return np.array([ch.service_level_threshold for ch in scenario.channels.values()])


def effective_wait(scenario: Scenario, c: dict[str, np.ndarray]) -> np.ndarray:
    """Wait per leg, with legs still waiting at the horizon counted up to the horizon."""
    wait = c["wait_s"].copy()
    open_ = c["outcome"] == WAITING
    wait[open_] = scenario.horizon - c["arrival_s"][open_]
    return wait


def not_yet_due(scenario: Scenario, c: dict[str, np.ndarray]) -> np.ndarray:
    """Async legs still unanswered at the horizon whose response deadline falls after it.

    Their response is censored: the run ended before they could be late, so they are
    neither met nor missed and stay out of the response service level's denominator
    (counted as ``pending_not_due``). One unanswered after its deadline is a miss.
    """
    async_channel = np.array([ch.kind == "async" for ch in scenario.channels.values()], dtype=bool)
    out = (c["outcome"] == WAITING) & async_channel[c["channel"]]
    idx = np.flatnonzero(out)  # the deadline only of those (no full-length float temporaries)
    out[idx] = c["arrival_s"][idx] + thresholds(scenario)[c["channel"][idx]] > scenario.horizon
    return out


def contacts_frame(scenario: Scenario, run: RawRun, extra: dict | None = None) -> pd.DataFrame:
    """One row per contact leg; the customer's experience columns sit on each attempt's last leg.

    ``extra`` is :func:`simsvc.observe.customer.contact_columns` when the caller has it already.
    """
    return contact_rows(scenario, run, extra).frame()


def contact_rows(scenario: Scenario, run: RawRun, extra: dict | None = None) -> ContactRows:
    """:func:`contacts_frame` as a :class:`~simsvc.observe.rows.RowTable`: its columns are
    built a range of rows at a time when written (no whole-table DataFrame)."""
    from simsvc.observe.customer import contact_columns, customer_view, journey_lookup

    c = run.contacts
    if extra is None:
        extra = contact_columns(customer_view(scenario, run), len(c["arrival_s"]))
    categories = {"channel": list(scenario.channels), "reason": list(scenario.reasons),
                  "pool": list(scenario.agents)}
    return ContactRows(c, run.replication, categories, scenario.warmup, extra, journey_lookup(run))


def _grid(scenario: Scenario) -> np.ndarray:
    n = int(np.ceil(scenario.horizon / scenario.interval))
    return np.minimum(np.arange(n + 1) * scenario.interval, scenario.horizon)


def _covered_until(points: np.ndarray, grid: np.ndarray, own: bool) -> np.ndarray:
    """Σ max(0, t − p) over ``points`` for each time t of ``grid``; ``own``: ``points`` is a
    temporary of the caller's, clipped and sorted in place (no second full-length array)."""
    points = np.clip(points, grid[0], grid[-1], out=points if own else None)
    points.sort()  # in place: one full-length temporary at a time
    k = np.searchsorted(points, grid, side="left")
    csum = np.cumsum(points, out=points)  # Σ of the k smallest is csum[k - 1]
    sums = np.zeros(len(k))
    sums[k > 0] = csum[k[k > 0] - 1]
    return k * grid - sums


def _time_in(seg, pool: int | None, channel: int | None, grid: np.ndarray) -> np.ndarray:
    """Total length of the segments [start, end) of ``pool`` and ``channel`` (None: any)
    falling in each interval of ``grid``, the starts let go before the ends are read: busy segments are
    derived from the record on each read (:class:`simsvc.model.duty.BusySegments`), so a
    read is the caller's own array, worked on in place (24 → 8 bytes per leg at the peak).
    The time of all the segments of a table that keeps sums (``kept_sums``: busy segments)
    is computed once per grid: with one channel and one pool, the interval table's busy time
    and the pool table's are that one sum."""
    m = _segment_mask(seg, pool, channel)
    kept = getattr(seg, "kept_sums", None) if m is None else None
    key = grid.tobytes()
    if kept is not None and key in kept:
        return kept[key].copy()
    own = m is not None or not isinstance(seg, dict)  # a stored column is read, not changed
    covered = _covered_until(_segment_column(seg, "start_s", m), grid, own)
    covered -= _covered_until(_segment_column(seg, "end_s", m), grid, own)
    out = np.maximum(np.diff(covered), 0.0)  # no -1e-16 from rounding
    if kept is not None:
        kept[key] = out.copy()
    return out


def _count_open(entry: np.ndarray, exit_: np.ndarray, t: np.ndarray) -> np.ndarray:
    """How many [entry, exit) spans contain each time in ``t`` (exit exclusive)."""
    return np.searchsorted(np.sort(entry), t, side="right") - np.searchsorted(np.sort(exit_), t, side="right")


_CHUNK = 1 << 16  # contact legs per slice in intervals_frame (bounded temporaries)

_INTERVAL_COUNTS = ("offered", "answered", "abandoned", "contained", "escalated", "lost", "lost_closed",
                    "waiting_end", "answered_within_threshold", "pending_not_due", "sl_denominator")


def _interval_sums(scenario: Scenario, run: RawRun, n_int: int, grid: np.ndarray) -> list[dict[str, np.ndarray]]:
    """Per channel, per interval of arrival: counts, wait sums and the backlog at each interval's end.

    Built slice by slice over the contact legs, so that no full-length temporary exists.
    Counts and backlogs add up exactly across slices; the wait sums are accumulated
    leg by leg in record order (``np.add.at``), the same additions in the same order as
    one ``np.bincount`` over all legs, hence the same floats.
    """
    c = run.contacts
    n = len(c["arrival_s"])
    n_ch = len(scenario.channels)
    thr = thresholds(scenario)
    async_channel = np.array([ch.kind == "async" for ch in scenario.channels.values()], dtype=bool)
    acc = [{**{k: np.zeros(n_int, dtype=np.int64) for k in (*_INTERVAL_COUNTS, "backlog_end")},
            "wait_sum_s": np.zeros(n_int), "wait_answered": np.zeros(n_int)} for _ in range(n_ch)]
    ends = grid[1:]
    for s in range(0, n, _CHUNK):
        sl = slice(s, s + _CHUNK)
        arrival = c["arrival_s"][sl]
        outcome = c["outcome"][sl]
        channel = c["channel"][sl]
        closed = c["closed"][sl]
        idx = np.minimum((arrival // scenario.interval).astype(np.int64), n_int - 1)
        waiting = outcome == WAITING
        wait = c["wait_s"][sl].copy()  # effective_wait
        wait[waiting] = scenario.horizon - arrival[waiting]
        pending = waiting & async_channel[channel]  # not_yet_due
        pending[pending] = arrival[pending] + thr[channel[pending]] > scenario.horizon
        queued_exit = np.where(waiting, np.inf,
                               np.where(np.isin(outcome, (ANSWERED, ABANDONED)), arrival + np.nan_to_num(wait), arrival))
        for ch_i in range(n_ch):
            m = channel == ch_i
            if not m.any():
                continue
            a = acc[ch_i]
            k = idx[m]
            out = outcome[m]
            w = wait[m]
            ans = out == ANSWERED
            cl = closed[m]
            nd = pending[m]

            def add(key: str, mask: np.ndarray) -> None:
                a[key] += np.bincount(k[mask], minlength=n_int)

            a["offered"] += np.bincount(k, minlength=n_int)
            add("answered", ans)
            add("abandoned", out == ABANDONED)
            add("contained", out == CONTAINED)
            add("escalated", out == ESCALATED)
            add("lost", out == LOST)
            add("lost_closed", cl)
            add("waiting_end", out == WAITING)
            add("answered_within_threshold", ans & (w <= thr[ch_i]))
            add("pending_not_due", nd)
            add("sl_denominator", ~cl & ~nd)
            np.add.at(a["wait_sum_s"], k, w)
            np.add.at(a["wait_answered"], k[ans], w[ans])
            in_queue = m & (queued_exit > arrival)
            a["backlog_end"] += _count_open(arrival[in_queue], queued_exit[in_queue], ends)
    return acc


def intervals_frame(scenario: Scenario, run: RawRun) -> pd.DataFrame:
    grid = _grid(scenario)
    n_int = len(grid) - 1
    sums = _interval_sums(scenario, run, n_int, grid)
    staffed_by_pool = {p: _time_in(run.duty, p, None, grid) for p in range(len(scenario.agents))}
    skilled = occupancy_pools(scenario)
    calendar = calendar_columns(scenario, grid[:-1])  # day, weekday, time_of_day of each interval
    rows = []
    for ch_i, (name, cfg) in enumerate(scenario.channels.items()):
        s = sums[ch_i]
        answered = s["answered"]
        busy = _time_in(run.busy, None, ch_i if len(scenario.channels) > 1 else None, grid)
        staffed = sum((staffed_by_pool[p] for p in skilled[name]), np.zeros(n_int))
        length = np.diff(grid)
        with np.errstate(divide="ignore", invalid="ignore"):
            rows.append(pd.DataFrame({
                "replication": np.full(n_int, run.replication, dtype=np.int32),
                "interval": np.arange(n_int, dtype=np.int32),
                "start_s": grid[:-1],
                **calendar,
                "channel": name,
                "offered": s["offered"],
                "answered": answered,
                "abandoned": s["abandoned"],
                "contained": s["contained"],
                "escalated": s["escalated"],
                "lost": s["lost"],
                "lost_closed": s["lost_closed"],
                "waiting_end": s["waiting_end"],
                "answered_within_threshold": s["answered_within_threshold"],
                "pending_not_due": s["pending_not_due"],
                "wait_sum_s": s["wait_sum_s"],
                "asa_s": np.where(answered > 0, s["wait_answered"] / answered, np.nan),
                # Like the summary: contacts that found the channel closed, and async ones not
                # yet due at the horizon, are not in the denominator.
                "service_level": np.where(s["sl_denominator"] > 0,
                                          s["answered_within_threshold"] / s["sl_denominator"], np.nan)
                if cfg.kind != "bot" else np.nan,
                "agents_staffed": staffed / length,
                "busy_agent_s": busy,
                "occupancy": np.where(staffed > 0, busy / staffed, np.nan),
                "backlog_end": s["backlog_end"],
                "in_warmup": grid[:-1] < scenario.warmup,
            }))
    df = pd.concat(rows, ignore_index=True)
    for col in ("offered", "answered", "abandoned", "contained", "escalated", "lost", "lost_closed",
                "waiting_end", "answered_within_threshold", "pending_not_due", "backlog_end"):
        df[col] = df[col].astype(np.int64)
    df["channel"] = pd.Categorical(df["channel"], categories=list(scenario.channels))
    return df


def pools_frame(scenario: Scenario, run: RawRun) -> pd.DataFrame:
    grid = _grid(scenario)
    n_int = len(grid) - 1
    length = np.diff(grid)
    rows = []
    for p, (name, pool) in enumerate(scenario.agents.items()):
        staffed = _time_in(run.duty, p, None, grid)
        busy = _time_in(run.busy, p if len(scenario.agents) > 1 else None, None, grid)
        scheduled = scheduled_per_interval(schedule_changes(scenario, pool, 0.0), grid)
        with np.errstate(divide="ignore", invalid="ignore"):
            rows.append(pd.DataFrame({
                "replication": np.full(n_int, run.replication, dtype=np.int32),
                "interval": np.arange(n_int, dtype=np.int32),
                "start_s": grid[:-1],
                "pool": name,
                "agents_scheduled": scheduled / length,
                "agents_staffed": staffed / length,
                "staffed_agent_s": staffed,
                "busy_agent_s": busy,
                "occupancy": np.where(staffed > 0, busy / staffed, np.nan),
                "cost": scheduled / 3600.0 * pool.cost_per_hour,
                "in_warmup": grid[:-1] < scenario.warmup,
            }))
    if not rows:
        return pd.DataFrame()
    df = pd.concat(rows, ignore_index=True)
    df["pool"] = pd.Categorical(df["pool"], categories=list(scenario.agents))
    return df


def _segment_mask(seg: dict[str, np.ndarray], pool: int | None, channel: int | None = None):
    """Which segments belong to ``pool`` and ``channel`` (None: any); None when all do."""
    m = None
    if pool is not None:
        m = seg["pool"] == pool
    if channel is not None:
        m = seg["channel"] == channel if m is None else m & (seg["channel"] == channel)
    return None if m is None or m.all() else m


def _segment_column(seg: dict[str, np.ndarray], key: str, m: np.ndarray | None) -> np.ndarray:
    return seg[key] if m is None else seg[key][m]


def occupancy_pools(scenario: Scenario) -> dict[str, list[int]]:
    """Pool indices whose staffed time is a channel's occupancy denominator.

    The pools skilled for the channel plus every pool named as a transfer target
    (``reasons.*.transfer.to``): a transferred contact keeps its channel and is
    handled by the target pool whatever its skills, so that pool's busy time on
    the channel must be matched by its staffed time. Each pool's busy time never
    exceeds its staffed time, hence per-channel occupancy <= 1.
    """
    out = _pools_serving(scenario)
    names = list(scenario.agents)
    targets = [names.index(r.transfer.to) for r in scenario.reasons.values()
               if r.transfer is not None and r.transfer.to in names]
    for pools in out.values():
        pools.extend(p for p in dict.fromkeys(targets) if p not in pools)
    return out


def _pools_serving(scenario: Scenario) -> dict[str, list[int]]:
    """Pool indices whose skills include each channel."""
    out: dict[str, list[int]] = {name: [] for name in scenario.channels}
    for p, pool in enumerate(scenario.agents.values()):
        for entry in pool.skills:
            for skill in entry if isinstance(entry, list) else [entry]:
                ch = skill.split("/", 1)[0]
                if ch in out and p not in out[ch]:
                    out[ch].append(p)
    return out

