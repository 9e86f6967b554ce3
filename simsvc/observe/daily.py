"""Per-day views of the intervals table: the day a weekly average hides.

A week's summary pools Saturday with Tuesday; a planner needs to see the worst
day and the worst half-hours. Everything here is computed from
``intervals.parquet`` (grain replication × interval × channel), after the
warm-up, with the same definitions as the summary:

* ``service_level`` = answered within threshold / offered that found the channel
  open (real-time), / offered less those still pending at the horizon with their
  response deadline after it (async, ``pending_not_due``); not for bots;
* ``abandon_rate`` = abandoned / offered that found the channel open (real-time only);
* ``asa_s`` = mean wait of answered contacts (async: their response time);
* ``occupancy`` = busy / staffed agent-seconds of the pools counted for the channel.

A day or slot with no contact offered has no rate (empty, not 0).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from simsvc.config.fields import DAYS
from simsvc.config.schema import REAL_TIME_KINDS, Scenario

DAY_S = 86_400.0

DAILY_METRICS = ("offered", "answered", "abandoned", "lost", "lost_closed", "service_level",
                 "abandon_rate", "asa_s", "occupancy", "pending_not_due")


def calendar_columns(scenario: Scenario, start_s: np.ndarray) -> dict[str, object]:
    """``day`` (0, 1, … from time 0), ``weekday`` (mon..sun) and ``time_of_day`` ("HH:MM")
    of interval starts."""
    day = (np.asarray(start_s) // DAY_S).astype(np.int32)
    weekday_code = (DAYS.index(scenario.start_day) + day) % 7
    seconds = np.asarray(start_s) - day * DAY_S
    minutes = np.round(seconds / 60.0).astype(np.int64)
    slots = sorted(set(minutes.tolist()))
    labels = [f"{m // 60:02d}:{m % 60:02d}" for m in slots]
    codes = np.searchsorted(np.array(slots, dtype=np.int64), minutes)
    return {
        "day": day,
        "weekday": pd.Categorical.from_codes(weekday_code, categories=list(DAYS)),
        "time_of_day": pd.Categorical.from_codes(codes, categories=labels, ordered=True),
    }


def _pending(g: pd.DataFrame) -> pd.Series | float:
    """Async legs censored at the horizon (``pending_not_due``); 0 in tables written before it."""
    return g["pending_not_due"] if "pending_not_due" in g else 0.0


def _rates(g: pd.DataFrame, real_time: bool, is_bot: bool) -> dict[str, float]:
    offered = float(g["offered"].sum())
    closed = float(g["lost_closed"].sum())
    pending = float(np.sum(_pending(g)))
    open_ = offered - closed if real_time else offered - pending
    answered = float(g["answered"].sum())
    wait_answered = float((g["asa_s"].fillna(0.0) * g["answered"]).sum())
    staffed = float((g["agents_staffed"] * g["length_s"]).sum())
    busy = float(g["busy_agent_s"].sum())
    out = {"offered": offered, "answered": answered, "abandoned": float(g["abandoned"].sum()),
           "lost": float(g["lost"].sum()), "lost_closed": closed}
    if not is_bot:
        out["service_level"] = float(g["answered_within_threshold"].sum()) / open_ if open_ > 0 else np.nan
        out["asa_s"] = wait_answered / answered if answered > 0 else np.nan
        out["occupancy"] = busy / staffed if staffed > 0 else np.nan
    if not real_time and not is_bot:
        out["pending_not_due"] = pending
    if real_time:
        out["abandon_rate"] = float(g["abandoned"].sum()) / open_ if open_ > 0 else np.nan
    return out


def daily_replications(scenario: Scenario, intervals: pd.DataFrame) -> pd.DataFrame:
    """Long rows ``replication, day, weekday, channel, metric, value`` after the warm-up."""
    iv = intervals[~intervals["in_warmup"]].copy()
    if iv.empty:
        return pd.DataFrame(columns=["replication", "day", "weekday", "channel", "metric", "value"])
    if "day" not in iv:
        iv = iv.assign(**calendar_columns(scenario, iv["start_s"].to_numpy()))
    ends = np.minimum(iv["start_s"].to_numpy() + scenario.interval, scenario.horizon)
    iv["length_s"] = ends - iv["start_s"].to_numpy()
    kinds = {name: ch.kind for name, ch in scenario.channels.items()}
    rows = []
    for (rep, day, channel), g in iv.groupby(["replication", "day", "channel"], observed=True, sort=True):
        kind = kinds[str(channel)]
        weekday = DAYS[(DAYS.index(scenario.start_day) + int(day)) % 7]
        for metric, value in _rates(g, kind in REAL_TIME_KINDS, kind == "bot").items():
            rows.append((int(rep), int(day), weekday, str(channel), metric, value))
    return pd.DataFrame(rows, columns=["replication", "day", "weekday", "channel", "metric", "value"])


def daily_summary(scenario: Scenario, intervals: pd.DataFrame) -> pd.DataFrame:
    """``daily.csv``: ``day, weekday, channel, metric, mean, ci_low, ci_high, reps`` (95 % t-interval
    over replications), one row per day after the warm-up × channel × metric."""
    from simsvc.observe.summary import summarise

    per_rep = daily_replications(scenario, intervals)
    if per_rep.empty:
        return pd.DataFrame(columns=["day", "weekday", "channel", "metric", "mean", "ci_low", "ci_high", "reps"])
    return summarise(per_rep, keys=("day", "weekday", "channel", "metric"))


def worst_days(daily: pd.DataFrame, channels: list[str] | None = None) -> pd.DataFrame:
    """Per channel with a service level: the day with the lowest mean service level,
    with its abandonment. Columns ``channel, day, weekday, service_level, sl_low, sl_high,
    abandon_rate, best_service_level`` (the best day, for contrast)."""
    sl = daily[daily["metric"] == "service_level"].dropna(subset=["mean"])
    ab = daily[daily["metric"] == "abandon_rate"].set_index(["channel", "day"])["mean"]
    rows = []
    for channel, g in sl.groupby("channel", sort=False):
        if channels is not None and channel not in channels:
            continue
        w = g.loc[g["mean"].idxmin()]
        rows.append({"channel": channel, "day": int(w["day"]), "weekday": w["weekday"],
                     "service_level": w["mean"], "sl_low": w["ci_low"], "sl_high": w["ci_high"],
                     "abandon_rate": ab.get((channel, w["day"]), np.nan),
                     "best_service_level": g["mean"].max()})
    return pd.DataFrame(rows)


def weekday_time_grid(scenario: Scenario, intervals: pd.DataFrame, channel: str,
                      metric: str = "service_level") -> pd.DataFrame:
    return _grids(scenario, intervals, channel, metric)[0]


def _grids(scenario: Scenario, intervals: pd.DataFrame, channel: str,
           metric: str = "service_level") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Service level (or ``abandon_rate``) by weekday (rows, mon..sun) × time of day
    (columns), each replication's same-weekday intervals pooled, then the mean over
    replications. Cells where the channel was closed or nothing was offered are NaN."""
    iv = intervals[(~intervals["in_warmup"]) & (intervals["channel"].astype(str) == channel)]
    if iv.empty:
        return pd.DataFrame(), pd.DataFrame()
    if "weekday" not in iv:
        iv = iv.assign(**calendar_columns(scenario, iv["start_s"].to_numpy()))
    kind = scenario.channels[channel].kind
    real_time = kind in REAL_TIME_KINDS
    keys = ["replication", "weekday", "time_of_day"]
    cols = ["offered", "lost_closed", "answered_within_threshold", "abandoned"]
    if "pending_not_due" in iv:
        cols.append("pending_not_due")
    g = iv.groupby(keys, observed=True)[cols].sum()
    open_ = g["offered"] - (g["lost_closed"] if real_time else _pending(g))
    num = g["answered_within_threshold"] if metric == "service_level" else g["abandoned"]
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = (num / open_.where(open_ > 0)).rename("rate")
    levels = ["weekday", "time_of_day"]
    grid = rate.groupby(level=levels, observed=True).mean().unstack("time_of_day")
    volume = open_.groupby(level=levels, observed=True).mean().unstack("time_of_day")
    present = [d for d in DAYS if d in grid.index]
    return grid.loc[present], volume.loc[present]


def worst_slots(scenario: Scenario, intervals: pd.DataFrame, channel: str, n: int = 3) -> pd.DataFrame:
    """The ``n`` weekday × time-of-day slots with the lowest mean service level
    (``weekday, time_of_day, service_level``), among slots carrying at least a quarter of the
    channel's mean volume per open slot (a closing slot with three transferred contacts
    at 0 % is not what a planner needs to see first)."""
    grid, volume = _grids(scenario, intervals, channel)
    if grid.empty:
        return pd.DataFrame(columns=["weekday", "time_of_day", "service_level"])
    long = grid.stack().rename("service_level").reset_index().dropna()
    vol = volume.stack().rename("open").reset_index()
    long = long.merge(vol, on=["weekday", "time_of_day"])
    long = long[long["open"] >= 0.25 * long["open"].mean()]
    return long.nsmallest(n, "service_level")[["weekday", "time_of_day", "service_level"]].reset_index(drop=True)


def daily_csv(daily: pd.DataFrame) -> str:
    """The text of ``daily.csv`` (what the results folder holds and the report reads back)."""
    return daily.to_csv(index=False, float_format="%.6g")
