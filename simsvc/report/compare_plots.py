"""Plots of experiment folders: scenario comparisons and parameter sweeps.

Inputs are the tables of an experiment folder (see ``load_experiment``):
``summary.csv`` (variant, channel, metric, mean, ci_low, ci_high, reps),
``comparison.csv`` (… diff, diff_low, diff_high, significant against a
baseline) and ``points.csv`` (one row per variant: parameters, then
``metric@channel`` with ``_ci_low``/``_ci_high``, ``meets_targets``, ``cheapest``).
Metrics are given as ``(metric, channel)`` pairs or ``"metric@channel"`` keys.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from simsvc.report import style
from simsvc.report.data import point_columns, split_metric
from simsvc.report.plots import PlotSkipped, _grid

MetricKey = str | tuple[str, str]



def _panels(n_panels: int, n_variants: int):
    """A figure with one panel per metric (three a row), its axes, the variants' y positions
    and the number of columns."""
    ncols = min(3, n_panels)
    per_row = 0.32 * n_variants + 1.3
    fig = style.new_figure(height=max(2.8, per_row * math.ceil(n_panels / ncols) + 0.6))
    return fig, _grid(fig, n_panels, ncols, sharey=True), np.arange(n_variants)[::-1], ncols

def _pairs(metrics: Iterable[MetricKey]) -> list[tuple[str, str]]:
    out = []
    for m in metrics:
        pair = split_metric(m) if isinstance(m, str) else (str(m[0]), str(m[1]))
        if pair not in out:
            out.append(pair)
    return out


def _error(values) -> np.ndarray:
    """Error-bar lengths: negative, infinite or missing ones (e.g. one replication) become 0."""
    arr = np.asarray(values, dtype=float)
    return np.where(np.isfinite(arr) & (arr > 0), arr, 0.0)


def _targets_for(targets: Iterable[Mapping], metric: str, channel: str) -> list[Mapping]:
    return [t for t in targets or () if t.get("metric") == metric
            and str(t.get("channel", "all")) == channel]


def format_value(metric: str, value: float, difference: bool = False) -> str:
    """A value in the metric's unit: ``80 %``, ``+2.1 pp``, ``20 s``, ``1,234``."""
    if value is None or not math.isfinite(value):
        return "–"
    kind = style.metric_kind(metric)
    sign = "+" if difference and value > 0 else ""
    if kind == "rate":
        return f"{sign}{value * 100:.1f} pp" if difference else f"{value * 100:.1f} %"
    if kind == "seconds":
        return f"{sign}{value:,.1f} s" if abs(value) < 100 else f"{sign}{value:,.0f} s"
    return f"{sign}{value:,.2f}" if abs(value) < 100 else f"{sign}{value:,.0f}"


def _target_text(target: Mapping, metric: str) -> str:
    op = {">=": "≥", "<=": "≤"}.get(str(target.get("op")), str(target.get("op", "")))
    return f"target {op} {format_value(metric, float(target.get('value', float('nan'))))}"


def _value_axis(ax, metric: str, axis: str, difference: bool = False) -> None:
    target = ax.xaxis if axis == "x" else ax.yaxis
    if style.metric_kind(metric) == "rate":
        if difference:
            # Percentage points, with as many decimals as the tick's position needs (a tick at
            # -0.75 reads -0.75, not -0.8).
            target.set_major_formatter(FuncFormatter(
                lambda v, _: (f"{v * 100:+.4f}".rstrip("0").rstrip(".") if abs(v) > 1e-12 else "0")))
        else:
            target.set_major_formatter(style.percent_formatter())
    else:
        style.format_metric_axis(ax, metric, axis)


# --------------------------------------------------------------------------- comparison
def comparison_means(summary: pd.DataFrame, metrics: Sequence[MetricKey],
                     labels: Mapping[str, str] | None = None,
                     targets: Iterable[Mapping] = ()) -> Figure:
    """Each metric's mean and 95 % CI per variant (a panel per metric), target lines drawn."""
    variants = list(dict.fromkeys(summary["variant"].astype(str)))
    rows = summary.assign(variant=summary["variant"].astype(str),
                          channel=summary["channel"].astype(str))
    panels = [(m, c) for m, c in _pairs(metrics)
              if not rows[(rows["metric"] == m) & (rows["channel"] == c)].empty]
    if not panels or not variants:
        raise PlotSkipped("summary.csv holds none of the metrics to compare")
    labels = labels or {}
    with style.context():
        fig, axes, y, ncols = _panels(len(panels), len(variants))
        for ax, (metric, channel) in zip(axes, panels):
            d = rows[(rows["metric"] == metric) & (rows["channel"] == channel)].set_index("variant")
            d = d.reindex(variants)
            mean = d["mean"].to_numpy(dtype=float)
            low = _error(mean - d["ci_low"].to_numpy(dtype=float))
            high = _error(d["ci_high"].to_numpy(dtype=float) - mean)
            ax.errorbar(mean, y, xerr=[low, high], fmt="o",
                        color=style.ALL_COLOUR, ecolor=style.ALL_COLOUR, capsize=3, lw=1.2)
            for target in _targets_for(targets, metric, channel):
                ax.axvline(float(target["value"]), color=style.HIGHLIGHT, ls="--", lw=1.1,
                           label=_target_text(target, metric))
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.08), fontsize=8)
            ax.set_title(f"{style.metric_name(metric)} — {channel}")
            ax.set_xlabel(style.axis_label(metric))
            _value_axis(ax, metric, "x")
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(y, [labels.get(v, v) for v in variants])
        axes[0].set_ylim(-0.6, len(variants) - 0.4)
        for ax in axes[::ncols]:
            ax.set_ylabel("variant")
        fig.suptitle("Scenario comparison: mean and 95 % CI per variant", x=0.01, ha="left")
    return fig


def comparison_differences(comparison: pd.DataFrame, metrics: Sequence[MetricKey],
                           labels: Mapping[str, str] | None = None) -> Figure:
    """Paired differences against the baseline with 95 % CIs; significant ones highlighted."""
    rows = comparison.assign(variant=comparison["variant"].astype(str),
                             baseline=comparison["baseline"].astype(str),
                             channel=comparison["channel"].astype(str))
    labels = labels or {}
    # The baseline is named by key or by name; its own row (difference 0) is left out.
    is_base = (rows["variant"] == rows["baseline"]) | (
        rows["variant"].map(lambda v: labels.get(v, v)) == rows["baseline"])
    if "name" in rows.columns:
        is_base |= rows["name"].astype(str) == rows["baseline"]
    rows = rows[~is_base]
    # Only rows with a difference: a metric of a channel the baseline lacks has the variant's
    # mean and no difference (nothing to pair with), so it gets no panel (an empty one would
    # look like a difference of nothing), and a variant with no difference shown gets no row.
    if "diff" not in rows.columns:
        raise PlotSkipped("comparison.csv has no diff column")
    rows = rows[pd.to_numeric(rows["diff"], errors="coerce").notna()]
    pairs = list(zip(rows["metric"].astype(str), rows["channel"]))
    present = set(pairs)
    panels = [p for p in _pairs(metrics) if p in present]
    if not panels:
        raise PlotSkipped("comparison.csv holds no paired differences for the metrics compared")
    shown = set(panels)
    rows = rows[np.array([p in shown for p in pairs], dtype=bool)]   # a mask, never a column list
    variants = list(dict.fromkeys(rows["variant"]))
    baselines = list(dict.fromkeys(rows["baseline"]))
    with style.context():
        fig, axes, y, ncols = _panels(len(panels), len(variants))
        for ax, (metric, channel) in zip(axes, panels):
            d = rows[(rows["metric"] == metric) & (rows["channel"] == channel)]
            d = d.drop_duplicates("variant").set_index("variant").reindex(variants)
            ax.axvline(0, color=style.REFERENCE_COLOUR, lw=1.0)
            for yi, (_, r) in zip(y, d.iterrows()):
                if pd.isna(r["diff"]):
                    continue
                sig = bool(r["significant"]) if pd.notna(r["significant"]) else False
                colour = style.HIGHLIGHT if sig else style.MUTED
                err = [_error([r["diff"] - r["diff_low"]]), _error([r["diff_high"] - r["diff"]])]
                ax.errorbar([r["diff"]], [yi], xerr=err, fmt="o", color=colour,
                            ecolor=colour, capsize=3, lw=1.4 if sig else 1.0,
                            mfc=colour if sig else "white", mec=colour)
            ax.set_title(f"{style.metric_name(metric)} — {channel}")
            ax.set_xlabel(style.axis_label(metric, difference=True))
            _value_axis(ax, metric, "x", difference=True)
            ax.grid(axis="y", visible=False)
        axes[0].set_yticks(y, [labels.get(v, v) for v in variants])
        axes[0].set_ylim(-0.6, len(variants) - 0.4)
        for ax in axes[::ncols]:
            ax.set_ylabel("variant")
        base = ", ".join(labels.get(b, b) for b in baselines)
        proxies = [Line2D([], [], marker="o", color=style.HIGHLIGHT, label="significant (95 %)"),
                   Line2D([], [], marker="o", color=style.MUTED, mfc="white",
                          label="not significant")]
        fig.legend(handles=proxies, loc="outside lower center", ncols=2)
        fig.suptitle(f"Paired differences against {base} (95 % CI)", x=0.01, ha="left")
    return fig


# --------------------------------------------------------------------------- sweep
def _numeric(values: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """Numeric x values, or positions plus tick labels for a categorical parameter."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all():
        return numbers.to_numpy(dtype=float), None
    cats = list(dict.fromkeys(values.astype(str)))
    return np.array([cats.index(v) for v in values.astype(str)], dtype=float), cats


def sweep_plot(points: pd.DataFrame, metrics: Sequence[MetricKey] | None = None,
               targets: Iterable[Mapping] = (), param: str | None = None,
               series: Mapping[str, str] | None = None) -> Figure:
    """Each metric against the swept parameter with a 95 % CI band and target lines.

    With several varied parameters, ``param`` (default: the first) is the x
    axis and each combination of the others is a line; ``series`` (variant →
    label, e.g. the scenario a grid point belongs to) splits lines further.
    Points that meet every target are filled, the others hollow; the cheapest
    feasible one is a star.
    """
    params, available = point_columns(points)
    if not params:
        raise PlotSkipped("points.csv has no parameter column")
    keys = [f"{m}@{c}" for m, c in _pairs(metrics)] if metrics else available
    keys = [k for k in keys if k in points.columns]
    if not keys:
        raise PlotSkipped("points.csv holds none of the metrics to plot")
    x_param = param or params[0]
    others = [p for p in params if p != x_param]
    data = points.copy()
    x_all, categories = _numeric(data[x_param])
    data["_x"] = x_all
    by = list(others)
    if series:
        data["_series"] = data["variant"].astype(str).map(lambda v: series.get(v, ""))
        by.insert(0, "_series")
    groups = [("", data)] if not by else [
        (", ".join(str(v) if col == "_series" else f"{col.rsplit('.', 1)[-1]} = {v}"
                   for col, v in zip(by, key if isinstance(key, tuple) else (key,))), g)
        for key, g in data.groupby(by, sort=False)]
    feasible = data["meets_targets"] if "meets_targets" in data.columns else None
    if "target_status" in data.columns and not data["target_status"].dropna().astype(str).str.strip().ne("").any():
        feasible = None  # no targets were set: nothing is feasible or infeasible
    ncols = 1 if len(keys) == 1 else 2
    palette = style.CHANNEL_PALETTE
    with style.context():
        fig = style.new_figure(height=max(3.2, 3.0 * math.ceil(len(keys) / ncols) + 0.6))
        axes = _grid(fig, len(keys), ncols, sharex=True)
        for ax, key in zip(axes, keys):
            metric, channel = split_metric(key)
            for gi, (glabel, g) in enumerate(groups):
                g = g.sort_values("_x")
                colour = style.ALL_COLOUR if len(groups) == 1 else palette[gi % len(palette)]
                x, mean = g["_x"].to_numpy(), g[key].to_numpy(dtype=float)
                ax.plot(x, mean, color=colour, lw=1.4, label=glabel or None)
                lo, hi = f"{key}_ci_low", f"{key}_ci_high"
                if lo in g.columns and hi in g.columns:
                    low, high = g[lo].to_numpy(dtype=float), g[hi].to_numpy(dtype=float)
                    ok_band = np.isfinite(low) & np.isfinite(high)
                    ax.fill_between(x, np.where(ok_band, low, np.nan), np.where(ok_band, high, np.nan),
                                    color=colour, alpha=style.BAND_ALPHA, lw=0)
                ok = (g["meets_targets"].to_numpy(dtype=bool) if feasible is not None
                      else np.ones(len(g), bool))
                ax.scatter(x[ok], mean[ok], color=colour, s=22, zorder=3)
                ax.scatter(x[~ok], mean[~ok], facecolor="white", edgecolor=colour, s=22, zorder=3)
            if "cheapest" in data.columns and data["cheapest"].any():
                best = data[data["cheapest"]].iloc[0]
                ax.scatter([best["_x"]], [best[key]], marker="*", s=220, color=style.HIGHLIGHT,
                           edgecolor="black", lw=0.6, zorder=4, label="cheapest feasible",
                           clip_on=False)   # whole where the point sits on the axes' edge (a 100 % limit)
            for target in _targets_for(targets, metric, channel):
                ax.axhline(float(target["value"]), color=style.HIGHLIGHT, ls="--", lw=1.1,
                           label=_target_text(target, metric))
            ax.set_title(f"{style.metric_name(metric)} — {channel}")
            ax.set_ylabel(style.axis_label(metric))
            ax.set_xlabel(x_param)
            _value_axis(ax, metric, "y")
            if categories:
                ax.set_xticks(range(len(categories)), categories)
            elif len(np.unique(x_all)) <= 12:
                ax.set_xticks(np.unique(x_all))    # tick each point's value
            if ax is axes[0] or _targets_for(targets, metric, channel):
                if ax.get_legend_handles_labels()[0]:
                    ax.legend(loc="best", fontsize=8)
        for ax in axes:
            ax.xaxis.set_tick_params(labelbottom=True)
        note = "filled: meets all targets; hollow: misses one" if feasible is not None else ""
        fig.suptitle(f"Sweep over {x_param} (95 % CI band{'; ' + note if note else ''})",
                     x=0.01, ha="left")
    return fig
