"""Scenario tables and YAML text: demand, staffing and availability CSVs, commented YAML.

Staffing is fractional in the data (an agent present for part of an interval)
while the schema schedules whole agents. :func:`scheduled_and_availability`
writes it as whole scheduled agents (the agents seen in the interval) and an
availability per interval (the pool's ``availability`` field): 6.4 effective
agents of 9 seen are 9 scheduled at availability 0.711, which the simulator runs
as 6 agents on duty all interval and a 7th for a random 40 % of it.
:func:`staffing_rows` (fractions as sub-interval steps) is the older form.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import yaml

from simsvc.calibrate.estimate import DAY_S


def clock(s: float) -> str:
    s = int(round(s))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{sec:02d}" if sec else f"{h:02d}:{m:02d}"


def staffing_rows(frame: pd.DataFrame, interval_s: float, days: list) -> pd.DataFrame:
    """``day, start, agents`` steps covering ``days`` from ``frame`` (day, start_s, agents).

    Intervals missing from ``frame`` have no agents; fractions become a sub-interval
    step; a step repeating the level before it is left out.
    """
    per_day = int(DAY_S // interval_s)
    grid = pd.MultiIndex.from_product([days, np.arange(per_day) * interval_s], names=["day", "start_s"])
    agents = frame.groupby(["day", "start_s"])["agents"].sum().reindex(grid, fill_value=0.0)
    rows = []
    for (day, start), a in agents.items():
        a = max(0.0, float(a))
        whole = int(np.floor(a + 1e-9))
        extra_s = int(round((a - whole) * interval_s))
        if extra_s >= interval_s:
            whole, extra_s = whole + 1, 0
        if extra_s > 0:
            rows.append((day, clock(start), whole + 1))
            rows.append((day, clock(start + extra_s), whole))
        else:
            rows.append((day, clock(start), whole))
    frame = pd.DataFrame(rows, columns=["day", "start", "agents"])
    # A level holds until the next step: drop repeats (every day keeps its midnight row).
    same = (frame["agents"] == frame["agents"].shift()) & (frame["day"] == frame["day"].shift())
    return frame[~same.to_numpy()].reset_index(drop=True)


def scheduled_and_availability(frame: pd.DataFrame, interval_s: float, days: list,
                               decimals: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``day, start, agents`` and ``day, start, availability`` steps covering ``days``.

    ``frame`` has ``day, start_s, agents`` (effective, fractional) and optionally
    ``heads`` (agents seen in the interval). Scheduled = the larger of heads and
    agents, rounded up to whole agents; availability = agents / scheduled (1 where
    nobody is scheduled), to ``decimals`` if given. Intervals missing from
    ``frame`` have no agents; a step repeating the level before it is left out.
    """
    per_day = int(DAY_S // interval_s)
    grid = pd.MultiIndex.from_product([days, np.arange(per_day) * interval_s], names=["day", "start_s"])
    keys = ["day", "start_s"]
    agents = np.maximum(frame.groupby(keys)["agents"].sum().reindex(grid, fill_value=0.0).to_numpy(), 0.0)
    heads = (frame.groupby(keys)["heads"].sum().reindex(grid, fill_value=0.0).to_numpy()
             if "heads" in frame else agents)
    scheduled = np.maximum(np.ceil(heads - 1e-9), np.ceil(agents - 1e-9)).astype(np.int64)
    availability = np.minimum(agents / np.maximum(scheduled, 1), 1.0)
    if decimals is not None:
        availability = np.round(availability, decimals)
    day = [d for d, _ in grid]
    # Where nobody is scheduled availability does not matter: keep the level before (fewer steps).
    availability = (pd.Series(np.where(scheduled > 0, availability, np.nan))
                    .groupby(np.asarray(day, dtype=object)).ffill().fillna(1.0).to_numpy())
    start = [clock(t) for _, t in grid]
    return (_steps(pd.DataFrame({"day": day, "start": start, "agents": scheduled})),
            _steps(pd.DataFrame({"day": day, "start": start, "availability": availability})))


def _steps(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop rows repeating the level before them on the same day (a level holds until the next step)."""
    value = frame.columns[-1]
    same = (frame[value] == frame[value].shift()) & (frame["day"] == frame["day"].shift())
    return frame[~same.to_numpy()].reset_index(drop=True)


def demand_rows(frame: pd.DataFrame, interval_s: float, days: list) -> pd.DataFrame:
    """``day, start, volume`` rows for every interval of ``days`` (volumes to 3 decimals)."""
    per_day = int(DAY_S // interval_s)
    grid = pd.MultiIndex.from_product([days, np.arange(per_day) * interval_s], names=["day", "start_s"])
    vol = frame.groupby(["day", "start_s"])["volume"].sum().reindex(grid, fill_value=0.0)
    return pd.DataFrame({"day": [d for d, _ in vol.index], "start": [clock(s) for _, s in vol.index],
                         "volume": np.round(vol.to_numpy(), 3)})


# YAML reads a key without ``?`` (an implicit key) only up to 1024 characters on one line;
# PyYAML writes one only up to 128 (beyond, ``? key``, which breaks a one-line ``{key: value}``).
IMPLICIT_KEY_MAX = 1000
_BREAK = re.compile(r"[\r\n\x85\u2028\u2029]")  # what YAML reads as a line break


def _comment(text: str) -> str:
    """``text`` on one comment line: line breaks (a name from a log may hold one) shown as ``\\n``."""
    return _BREAK.sub(lambda m: repr(m.group())[1:-1], text)


def _key(key: object) -> str:
    """``key`` as a one-line YAML scalar (quoted where needed; line breaks escaped)."""
    text = yaml.safe_dump([key], default_flow_style=True, width=10**9, allow_unicode=True).strip()[1:-1]
    if _BREAK.search(text):   # a plain or single-quoted scalar would fold a line break over lines
        text = yaml.safe_dump([key], default_flow_style=True, default_style='"', width=10**9,
                              allow_unicode=True).strip()[1:-1]
    return text


def _flow(key: str, value: object, pad: str = "") -> str:
    """``pad`` + ``key: value`` on one line (value in flow style), or ``? key`` / ``: value`` on
    two when the key is too long for an implicit key."""
    text = yaml.safe_dump([value], default_flow_style=True, width=10**9, sort_keys=False,
                          allow_unicode=True).strip()[1:-1]
    k = _key(key)
    if len(k) > IMPLICIT_KEY_MAX:
        return f"{pad}? {k}\n{pad}: {text}"
    return f"{pad}{k}: {text}"


def _leaf(value: object) -> bool:
    if not isinstance(value, dict):
        return True
    return "dist" in value or "csv" in value or (len(value) <= 8 and all(
        not isinstance(v, (dict, list)) for v in value.values()))


def commented_yaml(data: dict, comments: dict[str, list[str]], header: list[str]) -> str:
    """YAML text of ``data`` with comment lines above the keys named in ``comments`` (dotted paths)."""
    lines = [f"# {_comment(h)}" if h else "#" for h in header]

    def emit(d: dict, path: str, indent: int) -> None:
        pad = " " * indent
        for k, v in d.items():
            p = f"{path}.{k}" if path else str(k)
            lines.extend(f"{pad}# {_comment(c)}" for c in comments.get(p, []))
            if isinstance(v, dict) and not _leaf(v):
                key = _key(str(k))
                lines.append(f"{pad}? {key}\n{pad}:" if len(key) > IMPLICIT_KEY_MAX else f"{pad}{key}:")
                emit(v, p, indent + 2)
            else:
                lines.append(_flow(str(k), v, pad))

    emit(data, "", 0)
    return "\n".join(lines) + "\n"


MIN_DAYS_SEEN = 0.5  # an interval whose agents were seen on fewer of its weekday's fit days is thin


def weekly_staffing(staff: pd.DataFrame, days: list) -> pd.DataFrame:
    """One pool's staffing per weekday × interval from its per-day rows over the fit ``days``.

    ``staff`` has ``day`` (date), ``start_s``, ``agents`` (effective) and ``distinct_agents``
    (seen). Returns ``day`` (weekday, 0 = mon), ``start_s``, ``agents`` and ``heads`` (means
    over the fit days of that weekday, days without agents counting 0), ``days_seen`` (share
    of those days with an agent seen) and ``thin``. A thin interval (agents seen on fewer
    than ``MIN_DAYS_SEEN`` of its weekday's days) is too thin to estimate an availability
    from: its mean mixes whether anyone came with how available they were (one agent on 1
    of 8 days would be written as 1 scheduled at availability 0.08, and a planner's
    ``staff`` would schedule 12 agents to have 1 on duty). There ``heads`` is the mean
    rounded to whole agents (half up) and ``agents`` = heads × the availability of the
    agents on the days they came (effective / seen).
    """
    n_wd = pd.Series([d.weekday() for d in days]).value_counts()
    s = staff.assign(day=staff["day"].dt.day_of_week, seen=(staff["distinct_agents"] > 0).astype(float))
    wk = s.groupby(["day", "start_s"], as_index=False)[["agents", "distinct_agents", "seen"]].sum()
    per_day = wk["day"].map(n_wd).to_numpy(float)
    present = wk["distinct_agents"].to_numpy(float)
    ratio = np.divide(wk["agents"].to_numpy(float), present, out=np.zeros(len(wk)), where=present > 0)
    out = pd.DataFrame({"day": wk["day"], "start_s": wk["start_s"], "agents": wk["agents"] / per_day,
                        "heads": present / per_day, "days_seen": wk["seen"] / per_day})
    out["thin"] = out["days_seen"].to_numpy() < MIN_DAYS_SEEN - 1e-9
    whole = np.floor(out["heads"].to_numpy() + 0.5)
    out.loc[out["thin"], "heads"] = whole[out["thin"].to_numpy()]
    out.loc[out["thin"], "agents"] = whole[out["thin"].to_numpy()] * ratio[out["thin"].to_numpy()]
    return out


def thin_staffing_notes(thin_cells: dict[str, tuple[int, int]]) -> list[str]:
    """One note per pool with thin weekday × intervals (see tables.weekly_staffing)."""
    return [f"pool {pool}: staffing too thin to estimate from in {n} of {of} weekday × intervals (agents seen on "
            f"fewer than {MIN_DAYS_SEEN:.0%} of that weekday's fit days): written as the mean agents seen rounded "
            "to whole agents at the availability of the agents on the days they came"
            for pool, (n, of) in thin_cells.items() if n]


def thin_hour_notes(table: pd.DataFrame) -> list[str]:
    """A note naming the hours whose availability factor the data could not fit (effective.py's rules)."""
    from simsvc.calibrate.effective import MEDIAN_OF_OTHERS, MIN_HOUR_CONTACTS

    thin = table[table["thin"]]
    if thin.empty:
        return []
    written = (f"the median factor of the other hours ({float(thin['factor'].iloc[0]):.3f})"
               if "matched" not in thin or thin["matched"].iloc[0] == MEDIAN_OF_OTHERS
               else "factor 1 (no other hour was fitted)")
    return [f"effective availability too thin to estimate from in hour{'s' if len(thin) > 1 else ''} "
            f"{', '.join(f'{h}:00 ({n})' for h, n in zip(thin['hour'], thin['contacts']))} (fewer than "
            f"{MIN_HOUR_CONTACTS} contacts over the fit days): written with {written}"]
