"""Plots of a journey-mode run (a scenario with ``customers:``), each a function to a Figure.

The inputs are the journey tables of a results folder (see ``load_run``):
``journey.csv`` (the funnel per stage and the customer measures per segment,
each a mean over replications with its 95 % CI) and ``customers.parquet``
(one row per customer per replication). Like the summary, counts cover the
measurement window [warm-up, horizon]. A function raises
:class:`~simsvc.report.plots.PlotSkipped` with a one-line reason when its
inputs hold nothing to plot.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MultipleLocator

from simsvc.report import style
from simsvc.report.data import STAGES
from simsvc.report.plots import DAY_S, PlotSkipped, _grid

PAST_PURCHASE = STAGES[STAGES.index("purchase"):]
CAUSES = {"at_evaluation": "at evaluation (end of post-purchase)",
          "after_contact": "right after a contact"}
_NO_CUSTOMERS = "customers.parquet holds no customers"


# --------------------------------------------------------------------------- helpers
def _values(journey: pd.DataFrame, segment: str, stage: str, metric: str) -> tuple[float, float, float]:
    """(mean, ci_low, ci_high) of one journey.csv row; NaNs when absent."""
    row = journey[(journey["segment"].astype(str) == segment) & (journey["stage"].astype(str) == stage)
                  & (journey["metric"].astype(str) == metric)]
    if row.empty:
        return math.nan, math.nan, math.nan
    r = row.iloc[0]
    return float(r["mean"]), float(r["ci_low"]), float(r["ci_high"])


def _xerr(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Error-bar lengths, zero where the CI is unknown (one replication)."""
    below = np.where(np.isfinite(low), np.clip(mean - low, 0, None), 0.0)
    above = np.where(np.isfinite(high), np.clip(high - mean, 0, None), 0.0)
    return np.vstack([below, above])


def _has_ci(low: np.ndarray, high: np.ndarray) -> bool:
    return bool(np.any(np.isfinite(low) & np.isfinite(high)))


def _reps(journey: pd.DataFrame | None = None, customers: pd.DataFrame | None = None) -> int:
    if customers is not None and "replication" in customers.columns and len(customers):
        return int(customers["replication"].nunique())
    if journey is not None and "reps" in journey.columns and journey["reps"].notna().any():
        return int(journey["reps"].max())
    return 1


def _in_window(times: pd.Series, warmup_s: float, horizon_s: float | None) -> pd.Series:
    t = times.astype(float)
    ok = t >= warmup_s
    return ok & (t <= horizon_s) if horizon_s is not None else ok


def _ci_text(reps: int) -> str:
    return f"mean of {reps} replications, 95 % CI bars" if reps > 1 else "1 replication, no CI"


def _text_number(value: float) -> str:
    return f"{value:,.0f}" if math.isfinite(value) else "–"


def _percent(value: float, digits: int = 1) -> str:
    return f"{value * 100:.{digits}f}\u2009%" if math.isfinite(value) else "–"


def _money(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    if abs(value) >= 1e6:
        return f"{value / 1e6:,.2f} M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:,.0f} k"
    return f"{value:,.0f}"


def first_journey_entries(customers: pd.DataFrame, warmup_s: float = 0.0,
                          horizon_s: float | None = None) -> pd.Series:
    """Stage entries in the window that belong to a customer's first journey, mean per replication.

    A customer acquired or referred during the run enters each stage for the
    first time in its first cycle (prospect → first purchase → … → loyalty),
    so its ``reached_<stage>_s`` (the first entry) says whether that entry
    fell in the window. Entries of initial customers and repeat cycles are
    the rest of journey.csv's ``reached``.
    """
    new = customers[customers["source"].astype(str) != "initial"]
    reps = _reps(customers=customers)
    out = {}
    for stage in STAGES:
        column = f"reached_{stage}_s"
        if column in new.columns:
            out[stage] = float(_in_window(new[column].dropna(), warmup_s, horizon_s).sum()) / reps
    return pd.Series(out, dtype=float)


# --------------------------------------------------------------------------- funnel
def journey_funnel(journey: pd.DataFrame, customers: pd.DataFrame | None = None,
                   warmup_s: float = 0.0, horizon_s: float | None = None) -> Figure:
    """Customers entering each stage in the window (all segments), CI error bars, losses marked.

    Bars are journey.csv's ``reached`` (stage entries; a repeat customer enters
    purchase → loyalty once per cycle). With ``customers`` the bars split into
    first journeys of customers acquired or referred in the run and the rest
    (the initial customer base and repeat cycles). The thin bar under each
    stage is what left the journey there: prospects dropping out at the end
    of the stage, customers churning in it and, under loyalty, customers
    lapsing (no repeat purchase; journey.csv ``lapsed``).
    """
    if journey is None or journey.empty:
        raise PlotSkipped("journey.csv is absent or empty")
    j = journey[journey["segment"].astype(str) == "all"]
    stages = [s for s in STAGES if not j[(j["stage"] == s) & (j["metric"] == "reached")].empty]
    if not stages:
        raise PlotSkipped("journey.csv has no funnel rows (metric reached, segment all)")
    stats = {m: np.array([_values(j, "all", s, m) for s in stages]).T
             for m in ("reached", "lost_prospects", "churned")}
    total, low, high = stats["reached"]
    dropped = np.nan_to_num(stats["lost_prospects"][0])
    churned = np.nan_to_num(stats["churned"][0])
    lapsed = np.zeros(len(stages))   # all lapses end a loyalty visit (no repeat purchase)
    if "loyalty" in stages:
        lapsed[stages.index("loyalty")] = np.nan_to_num(_values(j, "all", "all", "lapsed")[0])
    first = None
    if customers is not None and not customers.empty:
        first = first_journey_entries(customers, warmup_s, horizon_s).reindex(stages).to_numpy()
        first = np.minimum(np.nan_to_num(first), total)
    reps = _reps(journey, customers)
    y = np.arange(len(stages))
    with style.context():
        fig = style.new_figure(height=0.62 * len(stages) + 1.9)
        ax = fig.subplots()
        if first is not None:
            ax.barh(y, first, height=0.56, color=style.NEW_CUSTOMERS,
                    label="first journey of a customer acquired or referred in the run")
            ax.barh(y, total - first, left=first, height=0.56, color=style.RETURNING,
                    label="initial customer base and repeat purchase cycles")
        else:
            ax.barh(y, total, height=0.56, color=style.NEW_CUSTOMERS, label="entered the stage")
        if _has_ci(low, high):
            ax.errorbar(total, y, xerr=_xerr(total, low, high), fmt="none", ecolor=style.ALL_COLOUR,
                        elinewidth=1.1, capsize=3, label="95 % CI of the entries")
        lost_y = y + 0.38
        ax.barh(lost_y, dropped, left=total - dropped - churned, height=0.17, color=style.DROPPED,
                label="dropped out at the end of the stage (lost prospects)")
        ax.barh(lost_y, churned, left=total - churned, height=0.17, color=style.CHURNED,
                label="churned in the stage (or at its end)")
        if lapsed.any():
            ax.barh(lost_y, lapsed, left=total - churned - lapsed, height=0.17, color=style.MUTED,
                    label="lapsed at the end of loyalty (no repeat purchase)")
        right = np.nanmax(np.where(np.isfinite(high), high, total))
        for i, stage in enumerate(stages):
            x = (high[i] if np.isfinite(high[i]) else total[i]) + right * 0.012
            ax.text(x, y[i], _text_number(total[i]), va="center", ha="left", fontsize=9,
                    color=style.ALL_COLOUR, fontweight="bold")
            notes = []
            if dropped[i] > 0:
                notes.append((f"−{dropped[i]:,.0f} dropped out ({_percent(dropped[i] / total[i])})",
                              style.DROPPED))
            if churned[i] > 0:
                notes.append((f"−{churned[i]:,.0f} churned ({_percent(churned[i] / total[i])})",
                              style.CHURNED))
            if lapsed[i] > 0:
                notes.append((f"−{lapsed[i]:,.0f} lapsed ({_percent(lapsed[i] / total[i])})",
                              "#6F6F6F"))
            anchor = None
            for note, colour in notes:   # each note right after the previous one
                if anchor is None:
                    anchor = ax.text(x, lost_y[i] + 0.02, note, va="center", ha="left",
                                     fontsize=8, color=colour)
                else:
                    anchor = ax.annotate("  ·  " + note, xy=(1, 0.5), xycoords=anchor,
                                         va="center", ha="left", fontsize=8, color=colour)
        if "evaluation" in stages and "purchase" in stages:
            line = stages.index("purchase") - 0.3
            ax.axhline(line, color=style.MUTED, lw=0.8, ls=":")
            for dy, va, text in ((-0.06, "bottom", "prospects ↑"), (0.06, "top", "customers ↓")):
                ax.text(0.995, line + dy, text, transform=ax.get_yaxis_transform(), ha="right",
                        va=va, fontsize=8, color="#6F6F6F")
        ax.set_yticks(y, [style.stage_label(s) for s in stages])
        ax.set_ylim(len(stages) - 0.35, -0.6)
        ax.set_xlim(0, right * 1.55)
        ax.xaxis.set_major_formatter(style.thousands_formatter())
        ax.grid(axis="y", visible=False)
        ax.set_ylabel("journey stage (in order)")
        ax.set_xlabel("stage entries in the window, all segments (customers; a repeat customer "
                      "counts once per purchase cycle)")
        ax.set_title(f"Customer funnel in the measurement window ({_ci_text(reps)})")
        fig.legend(loc="outside lower center", ncols=2)
    return fig


# --------------------------------------------------------------------------- satisfaction
def satisfaction_distribution(customers: pd.DataFrame, segments: Sequence[str] | None = None,
                              warmup_s: float = 0.0, horizon_s: float | None = None) -> Figure:
    """Histogram of customers' final satisfaction: active at the end vs churned, per segment.

    Active customers are those past their first purchase and still active at
    the horizon (the summary's ``customers_active_end``); churned ones are those
    that churned in the window (its ``churned``), at their satisfaction when
    they left. Shares of each group per bin, all replications pooled; the
    dashed lines are the group means.
    """
    if customers is None or customers.empty:
        raise PlotSkipped(_NO_CUSTOMERS)
    c = customers
    status = c["status"].astype(str)
    groups = {
        "active": (status == "active") & c["stage_end"].astype(str).isin(PAST_PURCHASE),
        "churned": (status == "churned") & _in_window(c["ended_s"].fillna(-1.0), warmup_s, horizon_s),
    }
    labels = {"active": "active customers at the end", "churned": "churned in the window"}
    if not any(mask.any() for mask in groups.values()):
        raise PlotSkipped("no customer was active at the end or churned in the window")
    present = list(dict.fromkeys(c["segment"].astype(str)))
    order = [s for s in (segments or []) if s in present] + [s for s in present
                                                              if s not in (segments or [])]
    panels = [("all", np.ones(len(c), bool))] + [(s, (c["segment"].astype(str) == s).to_numpy())
                                                 for s in order]
    reps = _reps(customers=c)
    bins = np.linspace(0.0, 1.0, 41)
    sat = c["satisfaction"].to_numpy(dtype=float)
    ncols = min(3, len(panels))
    with style.context():
        fig = style.new_figure(height=2.75 * math.ceil(len(panels) / ncols) + 0.9)
        axes = _grid(fig, len(panels), ncols, sharex=True)
        for i, (ax, (name, who)) in enumerate(zip(axes, panels)):
            for key, mask in groups.items():
                values = sat[mask.to_numpy() & who]
                values = values[np.isfinite(values)]
                colour = style.STATUS_COLOURS[key]
                if not values.size:
                    continue
                share = np.histogram(values, bins=bins)[0] / values.size
                ax.stairs(share, bins, fill=True, color=colour, alpha=0.22, lw=0)
                ax.stairs(share, bins, color=colour, lw=1.3,
                          label=f"{labels[key] if i == 0 else key}: {values.size / reps:,.0f}, "
                                f"mean {values.mean():.2f}")
                ax.axvline(values.mean(), color=colour, ls="--", lw=1.0)
            ax.set_xlim(0, 1)
            ax.set_ylim(0, ax.get_ylim()[1] * 1.4)   # headroom: the legend sits above the bars
            ax.yaxis.set_major_formatter(style.percent_formatter())
            ax.set_title("all segments" if name == "all" else f"segment {name}")
            if i >= len(panels) - ncols:
                ax.set_xlabel("satisfaction at the end (0–1)")
            ax.tick_params(labelbottom=True)
            ax.legend(loc="upper left", fontsize=8, handlelength=1.2, frameon=True,
                      framealpha=0.92, edgecolor="none")
        fig.supylabel("share of the group per 0.025 bin (%)", fontsize=10)
        fig.suptitle(f"Final satisfaction of active and churned customers (counts per replication, "
                     f"{reps} replication{'s' * (reps != 1)} pooled)", x=0.01, ha="left")
    return fig


# --------------------------------------------------------------------------- churn over time
def churn_over_time(customers: pd.DataFrame, warmup_s: float = 0.0, horizon_s: float | None = None,
                    start_day: str | None = None) -> Figure:
    """Churn events per day by cause over the whole run: stacked bars of the mean over replications.

    Causes: at evaluation (the decision at the end of post-purchase, driven by
    the customer's satisfaction) and right after a contact. The line is the
    centred 7-day mean of all churn (it smooths the weekly pattern). The grey
    span is the warm-up, which the summary leaves out.
    """
    if customers is None or customers.empty:
        raise PlotSkipped(_NO_CUSTOMERS)
    c = customers[(customers["status"].astype(str) == "churned") & customers["ended_s"].notna()]
    if c.empty:
        raise PlotSkipped("no customer churned")
    reps = sorted(customers["replication"].unique()) if "replication" in customers.columns else [0]
    end_s = horizon_s if horizon_s else float(c["ended_s"].max())
    days = max(1, math.ceil(end_s / DAY_S - 1e-9))
    cause = c["churn_cause"].astype(str)
    causes = [k for k in CAUSES if (cause == k).any()] + [k for k in dict.fromkeys(cause)
                                                           if k not in CAUSES]
    frame = pd.DataFrame({
        "replication": c["replication"].to_numpy() if "replication" in c.columns else 0,
        "day": np.minimum((c["ended_s"].to_numpy(dtype=float) // DAY_S).astype(int), days - 1),
        "cause": cause.to_numpy(),
    })
    full = pd.MultiIndex.from_product([reps, range(days), causes], names=["replication", "day", "cause"])
    counts = (frame.groupby(["replication", "day", "cause"]).size().reindex(full, fill_value=0)
              .rename("n").reset_index())
    mean = counts.groupby(["cause", "day"])["n"].mean().unstack("day").reindex(causes)
    total = counts.groupby(["replication", "day"])["n"].sum().unstack("day")
    weekly = total.mean().rolling(7, center=True, min_periods=7).mean()
    with style.context():
        fig = style.new_figure(height=3.9)
        ax = fig.subplots()
        style.shade_warmup(ax, warmup_s / DAY_S)
        # The line first, so the legend lists it where it did when the causes were bar
        # containers (listed last); it is still drawn above the columns (a line's z-order).
        ax.plot(weekly.index.to_numpy(dtype=float) + 0.5, weekly.to_numpy(dtype=float),
                color=style.ALL_COLOUR, lw=1.6, label="all churn, centred 7-day mean")
        bottom = np.zeros(days)
        edges = np.arange(days + 1.0)
        for key in causes:
            values = mean.loc[key].to_numpy(dtype=float)
            # One filled step outline per cause, not a bar per day: the same columns (a day
            # wide, touching), without the seams anti-aliasing drew between adjacent bars,
            # and one artist instead of one per day.
            ax.stairs(bottom + values, edges, baseline=bottom.copy(), fill=True, lw=0,
                      color=style.CHURN_CAUSE_COLOURS.get(key, style.MUTED),
                      label=CAUSES.get(key, key))
            bottom += values
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(style.thousands_formatter())
        ax.set_ylabel("customers churning per day")
        style.format_day_axis(ax, days, start_day)
        if days > 28:   # ticks a week or two apart: the same weekday on every tick
            ax.xaxis.set_major_locator(MultipleLocator(14 if days > 98 else 7))
        ax.set_xlabel("simulated time (days from time 0)")
        ax.set_title(f"Churn per day by cause (stacked, mean of {len(reps)} replication"
                     f"{'s' * (len(reps) != 1)})")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


# --------------------------------------------------------------------------- revenue
def revenue_by_segment(journey: pd.DataFrame, segments: Sequence[str] | None = None) -> Figure:
    """Revenue in the window beside the revenue lost to churn, per segment, with 95 % CIs.

    Revenue lost to churn is the purchases a churned customer would still have
    made had it stayed content (journey.csv ``revenue_lost_to_churn``): future
    revenue, not revenue of the window.
    """
    if journey is None or journey.empty:
        raise PlotSkipped("journey.csv is absent or empty")
    j = journey[journey["stage"].astype(str) == "all"]
    present = [s for s in dict.fromkeys(j.loc[j["metric"] == "revenue", "segment"].astype(str))
               if s != "all"]
    names = [s for s in (segments or []) if s in present] + [s for s in present
                                                              if s not in (segments or [])]
    if not names:
        raise PlotSkipped("journey.csv has no revenue per segment")
    rev = np.array([_values(j, s, "all", "revenue") for s in names]).T
    lost = np.array([_values(j, s, "all", "revenue_lost_to_churn") for s in names]).T
    all_rev = _values(j, "all", "all", "revenue")[0]
    all_lost = _values(j, "all", "all", "revenue_lost_to_churn")[0]
    reps = _reps(journey)
    y = np.arange(len(names))
    with style.context():
        fig = style.new_figure(height=0.62 * len(names) + 1.7)
        ax = fig.subplots()
        ax.barh(y - 0.2, rev[0], height=0.38, color=style.REVENUE, label="revenue in the window")
        ax.barh(y + 0.2, lost[0], height=0.38, color=style.LOST_REVENUE,
                label="revenue lost to churn (future purchases of the churned)")
        for values, dy, label in ((rev, -0.2, None), (lost, 0.2, "95 % CI")):
            if _has_ci(values[1], values[2]):
                ax.errorbar(values[0], y + dy, xerr=_xerr(*values), fmt="none",
                            ecolor=style.ALL_COLOUR, elinewidth=1.0, capsize=2.5, label=label)
        right = np.nanmax(np.concatenate([np.where(np.isfinite(rev[2]), rev[2], rev[0]),
                                          np.where(np.isfinite(lost[2]), lost[2], lost[0])]))
        for i in range(len(names)):
            for values, dy in ((rev, -0.2), (lost, 0.2)):
                end = values[2][i] if np.isfinite(values[2][i]) else values[0][i]
                text = _money(values[0][i])
                if values is lost and rev[0][i] > 0:
                    text += f"  ({_percent(lost[0][i] / rev[0][i], 0)} of revenue)"
                ax.text(end + right * 0.012, y[i] + dy, text, va="center", ha="left", fontsize=8.5,
                        color=style.ALL_COLOUR)
        ax.set_yticks(y, names)
        ax.set_ylim(len(names) - 0.45, -0.55)
        ax.set_xlim(0, right * 1.35)
        ax.xaxis.set_major_formatter(style.thousands_formatter())
        ax.grid(axis="y", visible=False)
        ax.set_ylabel("segment")
        ax.set_xlabel("currency units (purchase values), mean per replication")
        share = f" ({_percent(all_lost / all_rev, 0)} of revenue)" if all_rev > 0 else ""
        ax.set_title(f"Revenue and revenue lost to churn per segment ({_ci_text(reps)})")
        ax.legend(loc="lower right", frameon=True, framealpha=0.92, edgecolor="none",
                  title=f"all segments: revenue {_money(all_rev)}, lost to churn "
                        f"{_money(all_lost)}{share}", title_fontsize=9,
                  alignment="left")
    return fig
