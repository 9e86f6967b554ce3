"""Pools and staffing from agent activity in a contact log.

Pools: an agent whose answered contacts are ≥ 95 % one (channel, reason) belongs to
a dedicated pool for it; everyone else is in ``general``, skilled for every channel
the log shows. Dedicated pools come first in the scenario, so their contacts go to
them before the general agents (an arriving contact goes to the first pool in file
order among those that rank it highest).

Staffing (``basis``): by default (``present``) an agent is counted as present from
the start of a service to its end, and between two services less than ``gap_s``
apart (a logged-in agent waiting for the next contact). Present agent-seconds per
interval / interval length is the *logged-in* staffing of that interval,
fractional. ``distinct_hour`` is the issue's "distinct agents seen in the log": an
agent who served in an hour counts as one whole agent for that hour (per pool);
``distinct_interval`` the same per interval. Busy agent-seconds (handling + wrap-up)
are kept beside it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simsvc.calibrate.estimate import DAY_S, absolute_s

DEDICATED_SHARE = 0.95
MIN_AGENT_CONTACTS = 20
MIN_POOL_CONTACTS = 200  # a pool with fewer answered contacts over the fit days is too thin to estimate from
GENERAL = "general"


def intervals_per_hour(interval_s: float) -> int:
    """Intervals in an hour; ValueError unless the interval divides an hour."""
    if interval_s > 3600 or 3600 % interval_s:
        raise ValueError(f"an interval that divides an hour (e.g. 15min, 30min, 1h) to count agents seen per "
                         f"hour (got {interval_s:g} s)")
    return int(3600 // interval_s)


# Logged-in staffing bases: how many agent-seconds of presence each agent contributes.
SEEN_BASES = {"distinct_hour": intervals_per_hour, "distinct_interval": lambda interval_s: 1}
BASES = ("present", *SEEN_BASES)


def basis_text(basis: str, gap_s: float) -> str:
    """What the logged-in staffing counts, for the scenario's comments and the fit report."""
    if basis == "present":
        return f"agents present (serving, or between services < {gap_s / 60:g} min apart)"
    return f"agents seen serving in the {'hour' if basis == 'distinct_hour' else 'interval'}, each a whole agent for it"


@dataclass(frozen=True)
class PoolPlan:
    """Pools found in the log: name → skills, agent → pool, and notes for the report."""

    skills: dict[str, list[str]]
    agent_pool: dict[str, str]
    notes: list[str]


def pool_name(channel: str, reason: str | None) -> str:
    safe = "".join(ch if ch.isalnum() else "_" for ch in (reason or channel)).lower()
    return f"only_{safe}"


def find_pools(contacts: pd.DataFrame, multi_reason: bool) -> PoolPlan:
    served = contacts[contacts["agent"].notna() & (contacts["outcome"] == "answered")]
    kind = served["channel"].astype(str) + ("/" + served["reason"].astype(str) if multi_reason else "")
    counts = pd.crosstab(served["agent"].astype(str), kind)
    channels = sorted(contacts["channel"].astype(str).unique())
    agent_pool: dict[str, str] = {}
    skills: dict[str, list[str]] = {}
    notes = []
    for agent, row in counts.iterrows():
        total = row.sum()
        top = row.idxmax()
        if total >= MIN_AGENT_CONTACTS and row[top] / total >= DEDICATED_SHARE and len(row[row > 0]) >= 1 \
                and (multi_reason or len(channels) > 1):
            ch, _, reason = top.partition("/")
            name = pool_name(ch, reason or None)
            agent_pool[agent] = name
            skills[name] = [top]
        else:
            agent_pool[agent] = GENERAL
    ordered = {k: skills[k] for k in sorted(skills)}
    if GENERAL in agent_pool.values() or not ordered:
        ordered[GENERAL] = channels
    for name in ordered:
        members = [a for a, p in agent_pool.items() if p == name]
        notes.append(f"{name}: {len(members)} agent{'s' if len(members) != 1 else ''} ({', '.join(sorted(members)[:8])}"
                     f"{'…' if len(members) > 8 else ''}); skills {ordered[name]}")
    return PoolPlan(ordered, agent_pool, notes)


def presence(contacts: pd.DataFrame, plan: PoolPlan, interval_s: float, gap_s: float = 1800.0,
             basis: str = "present") -> pd.DataFrame:
    """Logged-in and busy agents per pool × day × interval (fractional, from activity).

    Columns: ``pool, day`` (date), ``start_s``, ``agents`` (present agent-seconds /
    interval), ``busy_agents`` (busy agent-seconds / interval), ``distinct_agents``.
    """
    if basis not in BASES:
        raise ValueError(f"staffing basis {basis!r}: one of {', '.join(BASES)}")
    per = SEEN_BASES[basis](interval_s) if basis in SEEN_BASES else 0  # intervals per "seen" block
    c = contacts[contacts["agent"].notna() & (contacts["outcome"] == "answered")]
    day0 = contacts["day"].min()
    start = absolute_s(contacts)[contacts.index.get_indexer(c.index)] + c["wait_s"].fillna(0).to_numpy()
    end = start + c["handle_s"].fillna(0).to_numpy() + c["wrap_s"].fillna(0).to_numpy()
    agent = c["agent"].astype(str).to_numpy()
    frame = pd.DataFrame({"agent": agent, "start": start, "end": end}).sort_values(["agent", "start"])
    busy = _overlap(frame["start"].to_numpy(), frame["end"].to_numpy(), frame["agent"].to_numpy(), interval_s)
    busy_s = busy.rename(columns={"seconds": "busy_s"})
    if basis in SEEN_BASES:
        # The "distinct agents seen in the log": every agent who served (any part
        # of a service) in an hour, or an interval, counts as one whole agent for all of it.
        seen = busy[busy["seconds"] > 0].assign(block=lambda x: x["slot"] // per)[["agent", "block"]]
        seen = seen.drop_duplicates()
        slots = seen.loc[seen.index.repeat(per)].copy()
        slots["slot"] = slots["block"] * per + np.tile(np.arange(per), len(seen))
        present = slots[["agent", "slot"]].assign(present_s=float(interval_s))
    else:
        # Presence: merge services of one agent separated by less than gap_s.
        spans = []
        for a, g in frame.groupby("agent", sort=False):
            s, e = g["start"].to_numpy(), np.maximum.accumulate(g["end"].to_numpy())
            brk = np.nonzero(s[1:] - e[:-1] > gap_s)[0]
            starts = np.concatenate([[s[0]], s[brk + 1]])
            ends = np.concatenate([e[brk], [e[-1]]])
            spans.append(pd.DataFrame({"agent": a, "start": starts, "end": ends}))
        spans = pd.concat(spans, ignore_index=True)
        present = _overlap(spans["start"].to_numpy(), spans["end"].to_numpy(), spans["agent"].to_numpy(),
                           interval_s).rename(columns={"seconds": "present_s"})
    table = present.merge(busy_s, on=["agent", "slot"], how="left").fillna({"busy_s": 0.0})
    # One agent's overlapping records (a log anomaly) must not make busy exceed present.
    table["busy_s"] = np.minimum(table["busy_s"], table["present_s"])
    table["pool"] = table["agent"].map(plan.agent_pool)
    out = (table.groupby(["pool", "slot"])
           .agg(present_s=("present_s", "sum"), busy_s=("busy_s", "sum"), distinct_agents=("agent", "nunique"))
           .reset_index())
    per_day = int(DAY_S // interval_s)
    out["day"] = day0 + pd.to_timedelta(out["slot"] // per_day, unit="D")
    out["start_s"] = (out["slot"] % per_day) * interval_s
    out["agents"] = out["present_s"] / interval_s
    out["busy_agents"] = out["busy_s"] / interval_s
    return out[["pool", "day", "start_s", "agents", "busy_agents", "distinct_agents"]]


def _overlap(start: np.ndarray, end: np.ndarray, who: np.ndarray, interval_s: float) -> pd.DataFrame:
    """Seconds of each [start, end) span falling in each interval, per ``who``."""
    end = np.maximum(end, start)
    first = (start // interval_s).astype(np.int64)
    last = (np.maximum(end - 1e-9, start) // interval_s).astype(np.int64)
    count = last - first + 1
    rep = np.repeat(np.arange(len(start)), count)
    slot = np.repeat(first, count) + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
    lo = np.maximum(start[rep], slot * interval_s)
    hi = np.minimum(end[rep], (slot + 1) * interval_s)
    return (pd.DataFrame({"agent": who[rep], "slot": slot, "seconds": np.maximum(hi - lo, 0.0)})
            .groupby(["agent", "slot"], as_index=False)["seconds"].sum())


def thin_pools(staff: pd.DataFrame, contacts: pd.DataFrame, plan: PoolPlan, days: list) -> list[str]:
    """Pools whose data is too thin to estimate from (present on under half the days, or few contacts)."""
    warnings = []
    served = contacts[contacts["agent"].notna() & (contacts["outcome"] == "answered")]
    per_pool = served["agent"].astype(str).map(plan.agent_pool).value_counts()
    for name in plan.skills:
        on_days = staff.loc[staff["pool"] == name, "day"].nunique()
        n = int(per_pool.get(name, 0))
        if on_days < 0.5 * len(days) or n < MIN_POOL_CONTACTS:
            warnings.append(f"pool {name}: too thin to estimate from (agents seen on {on_days} of {len(days)} "
                            f"days, {n} answered contacts; the rule: seen on under half the fit days or under "
                            f"{MIN_POOL_CONTACTS} answered contacts): its staffing is the fit days' mean, its intervals "
                            "seen on under half their weekday's days rounded to whole agents (below), and it shares "
                            "the other pools' availability factor and wrap-up; check it by hand")
    return warnings
