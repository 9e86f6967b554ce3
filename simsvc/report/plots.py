"""Plots of one run, each a function from results tables to a matplotlib Figure.

Every function takes the DataFrames of a results folder (see ``load_run``) and
returns a :class:`matplotlib.figure.Figure` that is not attached to pyplot, so
it can be shown in a notebook, saved, or embedded in the report. A function
raises :class:`PlotSkipped` (with a one-line reason) when its inputs hold
nothing to plot, e.g. a scenario without async channels has no backlog plot.

Intervals are averaged over replications; CI bands are 95 % Student-t
intervals across replications (none with a single replication).
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from simsvc.report import style
from simsvc.report.data import ChannelInfo, ordered_channels
from simsvc.report.hours import closed_by_time_of_day, shade_closed

DAY_S = 86400.0
HOUR_S = 3600.0


class PlotSkipped(ValueError):
    """The inputs hold nothing this plot can show; the message says why (one line)."""


# --------------------------------------------------------------------------- helpers
def across_replications(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Mean of ``value`` over replications per ``keys``, with a 95 % t-interval (low, high)."""
    from simsvc.domain.student_t import t_quantile as stdtrit  # scipy's t quantile, without importing scipy

    data = frame.dropna(subset=[value])
    out = (data.groupby(keys, observed=True)[value]
           .agg(mean="mean", sd="std", n="count").reset_index())
    n = out["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(n >= 2, stdtrit(np.maximum(n - 1, 1), 0.975), np.nan)
        half = t * out["sd"].to_numpy(dtype=float) / np.sqrt(n)
    out["low"] = out["mean"] - half
    out["high"] = out["mean"] + half
    return out


def interval_seconds(frame: pd.DataFrame) -> float:
    """The reporting interval, from the spacing of ``start_s``."""
    starts = np.unique(frame["start_s"].to_numpy(dtype=float))
    steps = np.diff(starts)
    steps = steps[steps > 0]
    return float(steps.min()) if steps.size else 900.0


def _warmup_days(frame: pd.DataFrame, interval_s: float) -> float:
    if "in_warmup" not in frame.columns or not frame["in_warmup"].any():
        return 0.0
    return (float(frame.loc[frame["in_warmup"], "start_s"].max()) + interval_s) / DAY_S


def _horizon_days(frame: pd.DataFrame, interval_s: float) -> float:
    return (float(frame["start_s"].max()) + interval_s) / DAY_S


def _after_warmup(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~frame["in_warmup"]] if "in_warmup" in frame.columns else frame


def _n_reps(frame: pd.DataFrame) -> int:
    return int(frame["replication"].nunique()) if "replication" in frame.columns else 1


def _reps_text(n: int) -> str:
    return f"mean of {n} replications, 95 % CI band" if n > 1 else "1 replication, no CI band"


def _interval_text(interval_s: float) -> str:
    return style.duration_text(interval_s).replace(" ", "\u00a0")


def _channels_of(frame: pd.DataFrame, channels: Mapping[str, ChannelInfo], *kinds: str) -> list[str]:
    names = ordered_channels(channels, frame["channel"].astype(str).unique())
    return [c for c in names if channels[c].kind in kinds] if kinds else names


def _band(ax, x, stats: pd.DataFrame, colour: str, lo: float | None = None, hi: float | None = None
          ) -> None:
    low, high = stats["low"].to_numpy(dtype=float), stats["high"].to_numpy(dtype=float)
    if lo is not None or hi is not None:
        low, high = np.clip(low, lo, hi), np.clip(high, lo, hi)
    ok = np.isfinite(low) & np.isfinite(high)
    if ok.any():
        ax.fill_between(x, np.where(ok, low, np.nan), np.where(ok, high, np.nan),
                        color=colour, alpha=style.BAND_ALPHA, lw=0)


def _grid(fig: Figure, n: int, ncols: int, **kwargs) -> list:
    nrows = math.ceil(n / ncols)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False, **kwargs)).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return list(axes[:n])


# --------------------------------------------------------------------------- service level
def service_level_by_time_of_day(intervals: pd.DataFrame, channels: Mapping[str, ChannelInfo],
                                 reference: float = 0.8) -> Figure:
    """Service level and ASA per interval of the day, per real-time channel.

    Each replication's intervals are pooled by time of day over the days after
    the warm-up (SL = answered within threshold / offered, ASA = mean wait of
    answered), then averaged over replications with a 95 % CI band. Hours when
    every channel shown is closed on every pooled day are shaded (lighter where
    only some days or channels close), and a channel's line is not drawn where it
    is closed every day. Each channel's
    ``service_level_target`` is drawn in its colour; when no channel sets one, the
    ``reference`` line shows the conventional 80 %.
    """
    names = _channels_of(intervals, channels, "voice", "chat")
    if not names:
        raise PlotSkipped("the scenario has no real-time (voice or chat) channel")
    df = _after_warmup(intervals)
    df = df[df["channel"].astype(str).isin(names)]
    if df.empty:
        raise PlotSkipped("no real-time intervals after the warm-up")
    step = interval_seconds(intervals)
    # Like the summary, rates count contacts that found the channel open.
    closed = df["lost_closed"] if "lost_closed" in df.columns else 0
    df = df.assign(channel=df["channel"].astype(str), tod=df["start_s"] % DAY_S,
                   open_offered=df["offered"] - closed,
                   asa_w=df["asa_s"].fillna(0.0) * df["answered"])
    per_rep = (df.groupby(["channel", "tod", "replication"], observed=True)
               [["open_offered", "answered_within_threshold", "answered", "asa_w"]].sum()
               .reset_index())
    per_rep["sl"] = (per_rep["answered_within_threshold"] / per_rep["open_offered"]
                     ).where(per_rep["open_offered"] > 0)
    per_rep["asa"] = (per_rep["asa_w"] / per_rep["answered"]).where(per_rep["answered"] > 0)
    active = per_rep.loc[per_rep["open_offered"] > 0, "tod"]
    if active.empty:
        raise PlotSkipped("no real-time contacts found a channel open after the warm-up")
    first_h = math.floor(active.min() / HOUR_S)
    last_h = math.ceil((active.max() + step) / HOUR_S)
    days = int(np.unique(df["start_s"] // DAY_S).size)
    closed = closed_by_time_of_day(df, [channels[n] for n in names], step)
    if closed[0].any() or closed[1].any():
        first_h, last_h = 0, 24  # the whole day, so that closing hours show as closed
    reps = _n_reps(df)
    colours = style.channel_colours(channels)

    with style.context():
        fig = style.new_figure(height=6.2)
        ax_sl, ax_asa = fig.subplots(2, 1, sharex=True)
        for name in names:
            info, colour = channels[name], colours[name]
            label = f"{name} (SL: answered ≤ {style.duration_text(info.threshold_s)})"
            for ax, column, clip in ((ax_sl, "sl", (0.0, 1.0)), (ax_asa, "asa", (0.0, None))):
                stats = across_replications(per_rep[per_rep["channel"] == name], ["tod"], column)
                # Not drawn where the channel is closed every day: a transfer taken over after
                # closing waits for the morning, which is not the service of an open line.
                shut = closed[3][name]
                stats = stats[~shut[(stats["tod"].to_numpy() // step).astype(int) % len(shut)]]
                x = (stats["tod"].to_numpy() + step / 2) / HOUR_S
                ax.plot(x, stats["mean"], color=colour, marker="o" if len(x) <= 48 else None, ms=3,
                        label=label if ax is ax_sl else name)
                _band(ax, x, stats, colour, *clip)
        targets: dict[float, list[str]] = {}
        for name in names:
            if channels[name].target is not None:
                targets.setdefault(channels[name].target, []).append(name)
        for target, owners in targets.items():  # one line per value: channels sharing it share a line
            colour = colours[owners[0]] if len(owners) == 1 else style.REFERENCE_COLOUR
            label = (f"{owners[0]} target {target:.0%}" if len(owners) == 1
                     else f"target {target:.0%} ({', '.join(owners)})")
            ax_sl.axhline(target, color=colour, ls="--", lw=1.1, label=label.replace("%", " %"))
        shade_closed(ax_sl, ax_asa, closed, step)
        if not targets:
            ax_sl.axhline(reference, color=style.REFERENCE_COLOUR, ls="--", lw=1.1,
                          label=f"{reference:.0%} reference".replace("%", " %"))
        ax_sl.set_ylim(0, 1.04)
        ax_sl.yaxis.set_major_formatter(style.percent_formatter())
        ax_sl.set_ylabel("service level (%)")
        ax_sl.set_title(f"Service level by time of day ({days} day{'s' * (days != 1)} after "
                        f"warm-up pooled; {_reps_text(reps)})")
        ax_sl.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax_asa.set_ylim(bottom=0)
        ax_asa.set_ylabel("ASA (s)")
        ax_asa.set_title("Average speed of answer (answered contacts)")
        ax_asa.set_xlabel(f"time of day (midpoints of {_interval_text(step)} intervals)")
        style.format_clock_axis(ax_asa, first_h, last_h)
    return fig


# --------------------------------------------------------------------------- volumes
def volumes_by_interval(intervals: pd.DataFrame, channels: Mapping[str, ChannelInfo],
                        start_day: str | None = None) -> Figure:
    """Offered vs answered vs abandoned per interval over the horizon, one panel per channel.

    Bot channels show contacts contained instead of answered; async channels
    never abandon. Means over replications.
    """
    names = _channels_of(intervals, channels)
    if not names:
        raise PlotSkipped("intervals.parquet holds no channel")
    step = interval_seconds(intervals)
    df = intervals.assign(channel=intervals["channel"].astype(str))
    mean = df.groupby(["channel", "start_s"], observed=True)[
        ["offered", "answered", "abandoned", "contained"]].mean().reset_index()
    colours = style.channel_colours(channels)
    warmup, horizon = _warmup_days(df, step), _horizon_days(df, step)
    with style.context():
        # one panel: tall enough for the y label (on two lines) beside it, not clipped at both ends
        fig = style.new_figure(rows=len(names), height=3.4 if len(names) == 1 else None)
        axes = _grid(fig, len(names), 1, sharex=True)
        for i, (ax, name) in enumerate(zip(axes, names)):
            info, colour = channels[name], colours[name]
            d = mean[mean["channel"] == name]
            x = (d["start_s"].to_numpy() + step / 2) / DAY_S
            style.shade_warmup(ax, warmup, label=i == 0)
            ax.fill_between(x, 0, d["offered"], color=colour, alpha=0.25, lw=0)
            ax.plot(x, d["offered"], color=colour, lw=0.8, alpha=0.8, label="offered")
            served = "contained" if info.kind == "bot" else "answered"
            ax.plot(x, d[served], color=colour, lw=1.6, label=served)
            if info.kind not in ("bot", "async"):
                ax.plot(x, d["abandoned"], color=style.ALL_COLOUR, lw=1.0, ls="--",
                        label="abandoned")
            ax.set_ylim(bottom=0)
            ax.set_title(f"{name} ({info.kind})", color=colour)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        style.format_day_axis(axes[-1], horizon, start_day)
        axes[-1].set_xlabel("simulated time (days from time 0)")
        between = "\n" if len(names) == 1 else " "
        fig.supylabel(f"contacts per {_interval_text(step)} interval{between}"
                      f"(mean of {_n_reps(df)} replication{'s' * (_n_reps(df) != 1)})",
                      fontsize=10)
        fig.suptitle("Offered, answered and abandoned contacts per interval", x=0.01,
                     ha="left")
    return fig


# --------------------------------------------------------------------------- pools
def pool_staffing(pools: pd.DataFrame, start_day: str | None = None) -> Figure:
    """Agents staffed vs busy per pool over the horizon (busy = busy agent-seconds / interval).

    The gap between the two is idle capacity; the panel title gives occupancy
    after the warm-up (busy / staffed agent-seconds, all replications).
    """
    if pools is None or pools.empty:
        raise PlotSkipped("the scenario has no agent pools")
    step = interval_seconds(pools)
    df = pools.assign(pool=pools["pool"].astype(str), busy=pools["busy_agent_s"] / step)
    names = list(dict.fromkeys(df["pool"]))
    mean = df.groupby(["pool", "start_s"], observed=True)[
        ["agents_staffed", "busy"]].mean().reset_index()
    after = _after_warmup(df)
    colours = style.pool_colours(names)
    warmup, horizon = _warmup_days(df, step), _horizon_days(df, step)
    with style.context():
        fig = style.new_figure(rows=len(names))
        axes = _grid(fig, len(names), 1, sharex=True)
        for i, (ax, name) in enumerate(zip(axes, names)):
            colour = colours[name]
            d = mean[mean["pool"] == name]
            # Steps over each interval, the last one drawn to its end.
            x = np.append(d["start_s"].to_numpy(), d["start_s"].max() + step) / DAY_S
            staffed = np.append(d["agents_staffed"].to_numpy(), d["agents_staffed"].iloc[-1])
            busy = np.append(d["busy"].to_numpy(), d["busy"].iloc[-1])
            style.shade_warmup(ax, warmup, label=i == 0)
            ax.fill_between(x, 0, staffed, step="post", color=colour, alpha=0.3,
                            lw=0, label="staffed (on duty)")
            ax.step(x, busy, where="post", color=colour, lw=1.4, label="busy")
            a = after[after["pool"] == name]
            staffed_s = a["staffed_agent_s"].sum()
            occ = a["busy_agent_s"].sum() / staffed_s if staffed_s > 0 else float("nan")
            occ_text = f"occupancy {occ:.1%}".replace("%", " %") if math.isfinite(occ) else "no staff"
            ax.set_title(f"{name} — {occ_text} after warm-up", color=colour)
            ax.set_ylim(bottom=0)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        style.format_day_axis(axes[-1], horizon, start_day)
        axes[-1].set_xlabel("simulated time (days from time 0)")
        fig.supylabel(f"agents (mean of {_n_reps(df)} replication{'s' * (_n_reps(df) != 1)})",
                      fontsize=10)
        fig.suptitle("Agents staffed vs busy per pool (occupancy view)", x=0.01, ha="left")
    return fig


# --------------------------------------------------------------------------- backlog
def async_backlog(intervals: pd.DataFrame, channels: Mapping[str, ChannelInfo],
                  start_day: str | None = None) -> Figure:
    """Backlog of each async channel at the end of every interval, against its response target.

    The dashed target line is the number of contacts that arrived within the
    last response-target period: the backlog is worked in due-date order, so
    a backlog above the line means its oldest contact is already past target.
    """
    names = _channels_of(intervals, channels, "async")
    if not names:
        raise PlotSkipped("the scenario has no async (email, social) channel")
    step = interval_seconds(intervals)
    df = intervals[intervals["channel"].astype(str).isin(names)]
    df = df.assign(channel=df["channel"].astype(str)).sort_values(["channel", "replication", "start_s"])
    colours = style.channel_colours(channels)
    warmup, horizon = _warmup_days(df, step), _horizon_days(df, step)
    reps = _n_reps(df)
    with style.context():
        fig = style.new_figure(rows=len(names), height=max(3.0, 2.6 * len(names) + 0.8))
        axes = _grid(fig, len(names), 1, sharex=True)
        for i, (ax, name) in enumerate(zip(axes, names)):
            info, colour = channels[name], colours[name]
            target = info.threshold_s or DAY_S
            window = max(1, int(round(target / step)))
            d = df[df["channel"] == name].copy()
            d["recent"] = (d.groupby("replication", observed=True)["offered"]
                           .transform(lambda s: s.rolling(window, min_periods=1).sum()))
            backlog = across_replications(d, ["start_s"], "backlog_end")
            recent = d.groupby("start_s", observed=True)["recent"].mean()
            x = (backlog["start_s"].to_numpy() + step) / DAY_S
            style.shade_warmup(ax, warmup, label=i == 0)
            ax.plot(x, backlog["mean"], color=colour, lw=1.6, label="backlog (waiting)")
            _band(ax, x, backlog, colour, 0.0, None)
            ax.plot((recent.index.to_numpy() + step) / DAY_S, recent.to_numpy(),
                    color=style.REFERENCE_COLOUR, ls="--", lw=1.1,
                    label=f"target line: arrivals in last {style.duration_text(target)}")
            ax.set_ylim(bottom=0)
            ax.set_ylabel("contacts")
            ax.set_title(f"{name} — response target {style.duration_text(target)}", color=colour)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        style.format_day_axis(axes[-1], horizon, start_day)
        axes[-1].set_xlabel("simulated time (days from time 0; end of interval)")
        fig.suptitle(f"Backlog of async channels ({_reps_text(reps)})", x=0.01, ha="left")
    return fig
