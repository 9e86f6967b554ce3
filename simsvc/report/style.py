"""One look for every report plot: fonts, colours, sizes, units and axis formats.

Colours come from the Okabe–Ito palette (distinguishable with the common colour
vision deficiencies). A channel keeps its colour in every plot of a report
because colours are assigned in scenario order over *all* its channels.
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterable, Iterator

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator, PercentFormatter

# --------------------------------------------------------------------------- colours
CHANNEL_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9",
                   "#8C6D31", "#7F7F7F")
POOL_PALETTE = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860",
                "#DA8BC3", "#8C8C8C")
ALL_COLOUR = "#333333"          # the `all` channel / a single series
REFERENCE_COLOUR = "#555555"    # target and reference lines
HIGHLIGHT = "#D55E00"           # significant differences, the cheapest feasible point
MUTED = "#9A9A9A"               # not significant / infeasible
WARMUP_FILL = "#F2F2F2"
CLOSED_FILL = "#E6E6E6"        # closed hours (heat map cells, time-of-day plot)
PART_CLOSED_FILL = "#F4F4F4"   # closed on some of the pooled days, or for some channels
BAND_ALPHA = 0.2                # CI bands

# Journey mode (customers): fixed meanings, Okabe–Ito like the channels.
NEW_CUSTOMERS = "#0072B2"       # a prospect's first journey (acquired or referred in the run)
RETURNING = "#56B4E9"           # repeat cycles and the initial customer base
DROPPED = "#D55E00"             # lost prospects (drop-outs)
CHURNED = "#CC79A7"             # churn (and its cause "at evaluation")
AFTER_CONTACT = "#E69F00"       # churn decided right after a contact
ACTIVE = "#0072B2"              # customers active at the end
REVENUE = "#009E73"
LOST_REVENUE = "#D55E00"
CHURN_CAUSE_COLOURS = {"at_evaluation": CHURNED, "after_contact": AFTER_CONTACT}
STATUS_COLOURS = {"active": ACTIVE, "churned": DROPPED}

# --------------------------------------------------------------------------- sizes
WIDTH = 10.0                    # inches; at 150 dpi a 1500 px image, shown at page width
PANEL_HEIGHT = 2.1              # inches per row of small multiples
DPI = 150

RC = {
    "font.family": "DejaVu Sans",   # ships with matplotlib: same look on every machine
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titlelocation": "left",
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "figure.titlesize": 12,
    "figure.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#DDDDDD",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "lines.linewidth": 1.6,
    "lines.markersize": 5,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "svg.fonttype": "path",         # self-contained SVG (no font needed to view it)
    "svg.hashsalt": "simsvc",       # stable ids: the same plot gives the same SVG
    # Titles just above their axes (where the automatic placement puts them unless ticks or an
    # offset text sit on top, which report.layout sees to): the automatic placement lays out the
    # y axis's ticks again at every draw to find that out.
    "axes.titley": 1.0,
}


@contextmanager
def context() -> Iterator[None]:
    """Apply the report style while a figure is built or saved."""
    with mpl.rc_context(RC):
        yield


def new_figure(rows: int = 1, height: float | None = None, width: float = WIDTH) -> Figure:
    """A figure (not registered with pyplot, so nothing leaks or pops up)."""
    from simsvc.report.layout import MeasuredLayout

    return Figure(figsize=(width, height or max(2.6, PANEL_HEIGHT * rows + 0.8)),
                  layout=MeasuredLayout())


def channel_colours(channels: Iterable[str]) -> dict[str, str]:
    """Colour per channel name, in the given (scenario) order; ``all`` is dark grey."""
    out: dict[str, str] = {}
    i = 0
    for name in channels:
        if name == "all":
            out[name] = ALL_COLOUR
            continue
        out[name] = CHANNEL_PALETTE[i % len(CHANNEL_PALETTE)]
        i += 1
    return out


def pool_colours(pools: Iterable[str]) -> dict[str, str]:
    return {p: POOL_PALETTE[i % len(POOL_PALETTE)] for i, p in enumerate(pools)}


# --------------------------------------------------------------------------- metrics
# metric -> (readable name, unit kind); kinds: rate, seconds, count, money
METRICS: dict[str, tuple[str, str]] = {
    "offered": ("offered", "count"),
    "offered_new_issues": ("new issues", "count"),
    "answered": ("answered", "count"),
    "abandoned": ("abandoned", "count"),
    "contained": ("contained by bot", "count"),
    "escalated": ("escalated by bot", "count"),
    "lost": ("lost", "count"),
    "lost_closed": ("lost (closed)", "count"),
    "waiting_end": ("waiting at end", "count"),
    "transferred": ("transferred", "count"),
    "abandon_rate": ("abandonment", "rate"),
    "p_wait": ("P(wait > 0)", "rate"),
    "wait_mean_s": ("mean wait", "seconds"),
    "asa_s": ("ASA", "seconds"),
    "wait_p90_s": ("90th percentile wait", "seconds"),
    "service_level": ("service level", "rate"),
    "response_within_target": ("answered within response target", "rate"),
    "pending_not_due": ("unanswered at end, not yet due", "count"),
    "aht_s": ("AHT", "seconds"),
    "occupancy": ("occupancy", "rate"),
    "fcr": ("FCR", "rate"),
    "backlog_end": ("backlog at end", "count"),
    "containment_rate": ("bot containment", "rate"),
    "bot_time_mean_s": ("mean bot session", "seconds"),
    "agent_cost": ("agent cost", "money"),
    "cost_per_contact": ("cost per answered contact", "money"),
}
# Journey mode (channel "all" of summary.csv; per segment and stage in journey.csv).
JOURNEY_METRICS: dict[str, tuple[str, str]] = {
    "customers_acquired": ("customers acquired", "count"),
    "referred_customers": ("of them referred", "count"),
    "lost_prospects": ("lost prospects", "count"),
    "purchases": ("purchases", "count"),
    "revenue": ("revenue", "money"),
    "churned": ("churned", "count"),
    "churned_after_contact": ("churned after a contact", "count"),
    "churn_rate": ("churn rate per 30 days", "rate"),
    "lapsed": ("lapsed", "count"),
    "customers_active_end": ("customers active at end", "count"),
    "prospects_end": ("prospects at end", "count"),
    "revenue_lost_to_churn": ("revenue lost to churn", "money"),
    "clv_mean": ("mean customer lifetime value", "money"),
    "net_value": ("net value (revenue − revenue lost to churn − agent cost)", "money"),
    "satisfaction_end_mean": ("mean satisfaction at end", "score"),
    "reached": ("entered the stage", "count"),
    "contacts": ("contacts", "count"),
    "contacts_per_visit": ("contacts per visit", "score"),
}
METRICS.update(JOURNEY_METRICS)
# The customer's side of contacts (both modes). Kept out of METRICS so the KPI table,
# which lists METRICS' core rows first, still shows them after those rows.
CONTACT_EXPERIENCE: dict[str, tuple[str, str]] = {
    "experience_mean": ("experience score", "score"),
    "satisfaction_mean": ("satisfaction after contact", "score"),
    "csat": ("CSAT (share of 4–5)", "rate"),
    "csat_responses": ("CSAT answers", "count"),
    "nps": ("NPS", "points"),
    "ces": ("CES (1–7, 7 = easy)", "points"),
    "churn_risk": ("churn risk per contact", "rate"),
    "expected_churn": ("expected churn from contacts", "count"),
    "fcr_contact": ("FCR per contact", "rate"),
}
# Units of metrics whose unit is not their kind's (counts of contacts, cost units).
UNITS: dict[str, str] = {
    "customers_acquired": "customers", "referred_customers": "customers",
    "lost_prospects": "customers", "purchases": "purchases", "churned": "customers",
    "churned_after_contact": "customers", "lapsed": "customers",
    "customers_active_end": "customers", "prospects_end": "customers",
    "revenue": "currency units", "revenue_lost_to_churn": "currency units",
    "clv_mean": "currency units", "net_value": "currency units", "reached": "stage entries", "contacts": "contacts",
    "contacts_per_visit": "contacts per stage entry",
}


def metric_kind(metric: str) -> str:
    """rate (a fraction, shown as %), seconds, count, money or score (a 0–1 value)."""
    if metric in METRICS:
        return METRICS[metric][1]
    if metric in CONTACT_EXPERIENCE:
        return CONTACT_EXPERIENCE[metric][1]
    if metric.endswith("_rate") or metric in ("sl",):
        return "rate"
    if metric.endswith("_s"):
        return "seconds"
    if "cost" in metric:
        return "money"
    return "count"


def metric_name(metric: str) -> str:
    return METRICS.get(metric, CONTACT_EXPERIENCE.get(metric, (metric.replace("_", " "), "")))[0]


def axis_label(metric: str, channel: str | None = None, difference: bool = False) -> str:
    """An axis label with its unit, e.g. ``service level, phone (%)``."""
    kind = metric_kind(metric)
    unit = {"rate": "percentage points" if difference else "%", "seconds": "s",
            "count": "contacts" if metric not in ("backlog_end",) else "contacts",
            "money": "cost units", "score": "0–1", "points": "points"}[kind]
    if metric in UNITS and not (kind == "rate" and difference):
        unit = UNITS[metric]
    name = metric_name(metric)
    if difference:
        name = f"Δ {name}"
    where = f", {channel}" if channel else ""
    return f"{name}{where} ({unit})"


def percent_formatter() -> PercentFormatter:
    """Ticks for fractions shown as percentages ("80 %"), decimals as the span needs."""
    return PercentFormatter(1.0, symbol="\u2009%")


def thousands_formatter() -> FuncFormatter:
    """Ticks with thousands separators ("12,500"); small values with 3 significant digits."""
    return FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.3g}")


def format_metric_axis(ax: Axes, metric: str, axis: str = "y") -> None:
    """Percent ticks for rates (values are fractions), thousands separators otherwise."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    if metric_kind(metric) == "rate":
        target.set_major_formatter(percent_formatter())
    else:
        target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 100
                                                 else f"{v:,.3g}"))


# --------------------------------------------------------------------------- time axes
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekday(day: int, start_day: str | None) -> str:
    if not start_day or start_day.lower()[:3] not in DAY_NAMES:
        return ""
    return DAY_NAMES[(DAY_NAMES.index(start_day.lower()[:3]) + day) % 7].capitalize()


def format_day_axis(ax: Axes, days: float, start_day: str | None) -> None:
    """x in days from time 0: a labelled tick per day (fewer for long horizons)."""
    step = max(1, math.ceil(days / 14))
    ax.xaxis.set_major_locator(MultipleLocator(step))

    def label(v: float, _pos: int) -> str:
        if abs(v - round(v)) > 1e-6:
            return ""
        d = int(round(v))
        name = weekday(d, start_day)
        return f"day {d}\n{name}" if name else f"day {d}"

    ax.xaxis.set_major_formatter(FuncFormatter(label))
    ax.set_xlim(0, days)
    if days <= 10:
        minor_marks(ax, 0.25, step)


def format_clock_axis(ax: Axes, first_h: float = 0, last_h: float = 24) -> None:
    """x in hours after midnight, ticks as HH:00."""
    span = last_h - first_h
    step = 1 if span <= 8 else 2 if span <= 16 else 3
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{int(v) % 24:02d}:00"
                                               if abs(v - round(v)) < 1e-6 else ""))
    ax.set_xlim(first_h, last_h)
    minor_marks(ax, 0.5 if step < 3 else 1, step)


def minor_marks(ax: Axes, minor: float, major: float) -> None:
    """Minor tick marks every ``minor`` along the x axis of ``ax`` (and of the axes sharing it)
    between its limits, skipping the major ticks (every ``major``), as one line of tick-shaped
    markers per axes: the marks a minor locator gives, without a tick artist (two marks, a grid
    line, two texts) per mark to build and lay out at every draw (48 a panel for a day's clock)."""
    from matplotlib.lines import Line2D
    from matplotlib.markers import TICKDOWN

    lo, hi = sorted(ax.get_xlim())
    at = np.arange(math.ceil(lo / minor - 1e-9), math.floor(hi / minor + 1e-9) + 1) * minor
    on_major = np.abs(at / major - np.round(at / major)) < 1e-9
    at = at[~on_major]
    rc = mpl.rcParams
    for each in ax.get_shared_x_axes().get_siblings(ax):
        each.add_line(Line2D(at, np.zeros(at.size), transform=each.get_xaxis_transform(),
                             linestyle="none", marker=TICKDOWN, markersize=rc["xtick.minor.size"],
                             markeredgewidth=rc["xtick.minor.width"], color=rc["xtick.color"],
                             clip_on=False, zorder=2.5, label="_minor ticks"))


def stage_label(stage: str) -> str:
    """need_awareness → 'need awareness'."""
    return str(stage).replace("_", " ")


def shade_warmup(ax: Axes, warmup_days: float, label: bool = True) -> None:
    if warmup_days > 0:
        ax.axvspan(0, warmup_days, color=WARMUP_FILL, zorder=0, lw=0,
                   label="warm-up (not in summary)" if label else None)


def duration_text(seconds: float | None) -> str:
    """20 → '20 s', 90 → '90 s', 7200 → '2 h', 86400 → '24 h', 5400 → '1.5 h'."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    if seconds < 120:
        return f"{seconds:g} s"
    if seconds < 3600:
        return f"{seconds / 60:g} min"
    return f"{seconds / 3600:g} h"
