"""Per-day views for the report: service level by weekday × time of day, and the per-day KPI table.

A week's average hides its worst day; these read ``intervals.parquet`` (only the
columns they need) and ``daily.csv`` straight from the results folder.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap

from simsvc.config.fields import DAYS
from simsvc.report import style
from simsvc.report.data import GRID_COLUMNS
from simsvc.report.plots import PlotSkipped

CLOSED_COLOUR = style.CLOSED_FILL
# Red below 50 %, through amber, to green at 100 %: a planner reads the red cells first.
SL_COLOURS = LinearSegmentedColormap.from_list("sl", ["#B2182B", "#EF8A62", "#FDDBC7", "#D1E5F0",
                                                     "#67A9CF", "#1A9850"])


def read_grid_columns(folder: Path) -> pd.DataFrame | None:
    """The few intervals.parquet columns the heat map needs, or None when the file is absent."""
    path = Path(folder) / "intervals.parquet"
    if not path.is_file():
        return None
    import pyarrow.parquet as pq

    present = set(pq.read_schema(path).names)
    return pd.read_parquet(path, columns=[c for c in (*GRID_COLUMNS, "pending_not_due") if c in present])


def _not_due(iv: pd.DataFrame) -> pd.Series | int:
    """Async contacts censored at the horizon (deadline after it): neither met nor missed."""
    return iv["pending_not_due"] if "pending_not_due" in iv.columns else 0


def sl_grid(intervals: pd.DataFrame, channel: str, real_time: bool, interval_s: float,
            start_day: str) -> pd.DataFrame:
    """Service level by weekday (rows) × slot of the day (columns, seconds since midnight):
    each replication's same-weekday slots pooled, then the mean over replications.
    NaN where nothing was offered while open (closed hours)."""
    iv = intervals[(~intervals["in_warmup"].astype(bool)) & (intervals["channel"].astype(str) == channel)]
    if iv.empty:
        return pd.DataFrame()
    day = (iv["start_s"] // 86400).astype(int)
    weekday = (DAYS.index(start_day) + day) % 7
    slot = (iv["start_s"] - day * 86400) // interval_s * interval_s
    frame = pd.DataFrame({"replication": iv["replication"].to_numpy(), "weekday": weekday.to_numpy(),
                          "slot": slot.to_numpy(),
                          "open": (iv["offered"] - (iv["lost_closed"] if real_time else _not_due(iv))).to_numpy(),
                          "within": iv["answered_within_threshold"].to_numpy()})
    g = frame.groupby(["replication", "weekday", "slot"])[["open", "within"]].sum()
    rate = (g["within"] / g["open"].where(g["open"] > 0)).groupby(level=["weekday", "slot"]).mean()
    grid = rate.unstack("slot")
    slots = np.arange(0, 86400, interval_s)
    return grid.reindex(index=sorted(grid.index), columns=slots)


def closed_as_missing(grid: pd.DataFrame, info) -> pd.DataFrame:
    """Cells of a real-time channel's closed hours (by its weekday's opening hours) set to NaN:
    a transfer taken over after closing waits for the morning, which is not the service level
    of an open line (the time-of-day plot leaves these hours out the same way)."""
    if grid.empty or not info.real_time:
        return grid
    from simsvc.report.hours import open_span_by_weekday

    spans = open_span_by_weekday(info.hours)
    step = float(grid.columns[1] - grid.columns[0]) if len(grid.columns) > 1 else 86400.0
    mid = grid.columns.to_numpy(dtype=float) + step / 2
    out = grid.copy()
    for weekday in out.index:
        span = spans[int(weekday)]
        closed = np.ones(len(mid), bool) if span is None else (mid < span[0]) | (mid >= span[1])
        out.loc[weekday, closed] = np.nan
    return out


def service_level_heatmap(intervals: pd.DataFrame | None, channels: Mapping, interval_s: float,
                          start_day: str):
    """One panel per channel with a service level (bots have none): weekday × time of day."""
    if intervals is None:
        raise PlotSkipped("intervals.parquet is absent")
    shown = [info for info in channels.values() if info.kind != "bot"]
    grids = [(info, closed_as_missing(sl_grid(intervals, info.name, info.real_time, interval_s, start_day),
                                      info)) for info in shown]
    grids = [(info, g) for info, g in grids if not g.empty and g.notna().any().any()]
    if not grids:
        raise PlotSkipped("no channel with a service level after the warm-up")
    cmap = SL_COLOURS.with_extremes(bad=CLOSED_COLOUR)
    with style.context():
        fig = style.new_figure(height=0.6 + sum(0.35 + 0.28 * len(g) for _, g in grids))
        # The colour bar in a narrow column of its own, as long as 20 of its widths (a colour bar's
        # usual shape) and centred on the panels.
        gs = fig.add_gridspec(len(grids), 2, width_ratios=[1, 0.025])
        axes = [fig.add_subplot(gs[i, 0]) for i in range(len(grids))]
        cax = fig.add_subplot(gs[:, 1])
        cax.set_box_aspect(20)
        image = None
        for ax, (info, grid) in zip(axes, grids):
            values = np.ma.masked_invalid(grid.to_numpy(dtype=float))
            image = ax.imshow(values, aspect="auto", cmap=cmap, vmin=0.0, vmax=1.0, interpolation="nearest")
            ax.grid(False)
            ax.set_yticks(range(len(grid.index)), [DAYS[d] for d in grid.index])
            hours = [i for i, s in enumerate(grid.columns) if s % 3600 == 0 and (s // 3600) % 2 == 0]
            ax.set_xticks(hours, [f"{int(grid.columns[i] // 3600):02d}:00" for i in hours])
            ax.set_title(f"{info.name} — answered within {style.duration_text(info.threshold_s)}")
            for spine in ax.spines.values():
                spine.set_visible(False)
        cbar = fig.colorbar(image, cax=cax)
        cbar.set_ticks([0, 0.25, 0.5, 0.75, 1.0], labels=["0 %", "25 %", "50 %", "75 %", "100 %"])
        fig.suptitle("Service level by weekday and time of day\n(grey: closed, no contacts, or for a backlog "
                     "nothing due before the end)")
    return fig


def _stacked_bars(ax, x: np.ndarray, heights: np.ndarray, bottom: np.ndarray, colour: str,
                  label: str, width: float = 0.7) -> None:
    """Bars as one collection of rectangles (what ``ax.bar`` draws, as one artist instead of a
    patch per day: 90 days of three parts were 270 patches per panel)."""
    from matplotlib.collections import PolyCollection

    left, right, top = x - width / 2, x + width / 2, bottom + heights
    boxes = np.stack([np.column_stack([left, bottom]), np.column_stack([left, top]),
                      np.column_stack([right, top]), np.column_stack([right, bottom])], axis=1)
    bars = PolyCollection(boxes, facecolors=colour, edgecolors="none", linewidths=0, label=label)
    # As ax.bar: each bar's bottom is a sticky edge, which the axis's margin does not pass
    # (so the y axis starts at 0, and the same limits as the bars gave).
    bars.sticky_edges.y[:] = bottom.tolist()
    ax.add_collection(bars, autolim=True)
    # The limits autoscaled to the bars, as ax.bar asks: add_collection only widens the data
    # limits, and asks for the view to follow them only from matplotlib 3.11 on.
    ax.autoscale_view()


DAILY_LABELS_UP_TO = 21   # days: lost_by_day labels each day up to this many, else each 7th


def lost_by_day(daily: pd.DataFrame | None, channels: Mapping):
    """Per real-time channel and day: contacts abandoned, lost to a full queue and lost because
    the channel was closed (mean over replications) — what the service level does not show."""
    if daily is None or daily.empty:
        raise PlotSkipped("daily.csv is absent")
    shown = [info.name for info in channels.values() if info.real_time]
    d = daily[daily["channel"].astype(str).isin(shown)]
    if d.empty:
        raise PlotSkipped("no real-time channel")
    wide = d.pivot_table(index=["channel", "day", "weekday"], columns="metric", values="mean",
                         observed=True).reset_index()
    for col in ("abandoned", "lost", "lost_closed"):
        if col not in wide:
            wide[col] = 0.0
    wide["blocked"] = (wide["lost"] - wide["lost_closed"]).clip(lower=0)
    parts = [("abandoned", "abandoned", "#D55E00"), ("blocked", "lost: queue full", "#8C6D31"),
             ("lost_closed", "arrived while closed", "#9A9A9A")]
    with style.context():
        fig = style.new_figure(rows=len(shown))
        axes = fig.subplots(len(shown), 1, squeeze=False)[:, 0]
        for ax, name in zip(axes, shown):
            g = wide[wide["channel"].astype(str) == name].sort_values("day")
            x = np.arange(len(g))
            bottom = np.zeros(len(g))
            for col, label, colour in parts:
                values = g[col].fillna(0).to_numpy(dtype=float)
                _stacked_bars(ax, x, values, bottom, colour, label)
                bottom += values
            # A label per day while they fit (three weeks); beyond, one a week (the same weekday:
            # 90 daily labels ran into each other, and each tick is a line, a grid line and a text
            # laid out three times per rendering).
            labelled = x if len(x) <= DAILY_LABELS_UP_TO else x[::7]
            ax.set_xticks(labelled, [f"{int(g['day'].iloc[i])} {g['weekday'].iloc[i]}" for i in labelled])
            ax.set_title(name)
            ax.set_ylabel("contacts per day")
            ax.yaxis.set_major_formatter(style.thousands_formatter())
        axes[0].legend(loc="upper left", ncols=3)
        fig.suptitle("Contacts not answered, per day (mean over replications)")
    return fig


def daily_table_rows(daily: pd.DataFrame, channels: Mapping) -> tuple[list[str], list[tuple], dict]:
    """For the per-day KPI table: the columns (channel, metric), one (day, weekday) per row, and
    the worst day per channel (lowest mean service level)."""
    columns = []
    for info in channels.values():
        if info.kind == "bot":
            columns.append((info.name, "offered"))
            continue
        columns += [(info.name, "offered"), (info.name, "service_level")]
        columns.append((info.name, "abandon_rate") if info.real_time else (info.name, "asa_s"))
    days = list(dict.fromkeys(zip(daily["day"].astype(int), daily["weekday"].astype(str))))
    sl = daily[daily["metric"] == "service_level"].dropna(subset=["mean"])
    worst = {str(ch): int(g.loc[g["mean"].idxmin(), "day"]) for ch, g in sl.groupby("channel")}
    return columns, days, worst


def daily_section_html(run) -> str:
    """Per-day KPI table from ``daily.csv`` (days × channel metrics, worst day per channel marked)."""
    from html import escape

    from simsvc.report.page import _table, cell

    daily = getattr(run, "daily", None)
    path = run.path / "daily.csv"
    if daily is None:
        if not path.is_file():
            return ""
        try:
            daily = pd.read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError):
            return '<section id="days"><h2>Per day</h2><p class="note">daily.csv could not be read.</p></section>'
    if daily.empty:
        return ""
    columns, days, worst = daily_table_rows(daily, run.channels)
    index = {(int(r.day), str(r.channel), str(r.metric)): r for r in daily.itertuples(index=False)}
    short = {"offered": "offered", "service_level": "SL", "abandon_rate": "abandon", "asa_s": "response"}
    head = ["day"] + [f"{escape(ch)}<br><span class=\"small\">{short[m]}</span>" for ch, m in columns]
    rows, classes = [], []
    for day, weekday in days:
        row = [f"{day} ({escape(weekday)})"]
        marked = False
        for ch, metric in columns:
            r = index.get((day, ch, metric))
            text = cell(metric, r.mean, r.ci_low, r.ci_high) if r is not None else '<span class="na">–</span>'
            if metric == "service_level" and worst.get(ch) == day:
                text = f"<strong>{text}</strong> ▼"
                marked = True
            row.append(text)
        rows.append(row)
        classes.append("worst" if marked else "")
    return (f'<section id="days"><h2>Per day</h2><p>Each day after the warm-up (day 0 is the first '
            f'simulated day), per channel: contacts offered, service level, and abandonment (real-time) or '
            f'mean response time (async), mean over replications with the 95&nbsp;% CI; ▼ marks each '
            f"channel's worst day by service level. An async contact still unanswered at the end whose "
            f"deadline falls after it is neither met nor missed (<code>pending_not_due</code>), so the last "
            f"days' response SL counts only what was due. From <code>daily.csv</code>.</p>"
            f'<div style="font-size:.85em">{_table(head, rows, ["text"], classes)}</div></section>')
