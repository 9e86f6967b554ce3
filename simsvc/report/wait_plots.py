"""The wait-time distribution of one run (split from :mod:`simsvc.report.plots`, whose helpers it
uses; ``simsvc.report.wait_distribution`` is this function)."""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from simsvc.report import style
from simsvc.report.data import ChannelInfo, wait_histogram
from simsvc.report.plots import PlotSkipped, _channels_of, _grid


# --------------------------------------------------------------------------- waits
def _ecdf(values: np.ndarray, counts: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Share of the counted values at most each grid point (``values`` sorted)."""
    cum = np.concatenate([[0], np.cumsum(counts)])
    return cum[np.searchsorted(values, grid, side="right")] / cum[-1]


def _quantile(values: np.ndarray, counts: np.ndarray, q: float) -> float:
    """``np.quantile`` (linear interpolation) of the values repeated ``counts`` times."""
    cum = np.cumsum(counts)
    h = (cum[-1] - 1) * q
    lo = int(np.floor(h))
    at = values[np.searchsorted(cum, [lo, min(lo + 1, cum[-1] - 1)], side="right")]
    return float(at[0] + (h - lo) * (at[1] - at[0]))


def wait_distribution(contacts: pd.DataFrame, channels: Mapping[str, ChannelInfo]) -> Figure:
    """Cumulative distribution of waits per real-time channel, threshold marked.

    Solid: wait until answered (answered contacts); dashed: time until
    abandoning (abandoned contacts). Contacts after the warm-up, all
    replications pooled. ``contacts`` is the contacts table (``channel, outcome,
    wait_s, in_warmup``) or its :func:`~simsvc.report.data.wait_histogram`, which
    is what the report passes: a few thousand counts, however large the run.
    """
    if contacts is None or contacts.empty:
        raise PlotSkipped("contacts.parquet is absent or empty")
    names = _channels_of(contacts, channels, "voice", "chat")
    if not names:
        raise PlotSkipped("the scenario has no real-time (voice or chat) channel")
    hist = contacts if "count" in contacts.columns else wait_histogram(contacts)
    df = hist[hist["channel"].astype(str).isin(names)]
    if df.empty:
        raise PlotSkipped("no real-time contacts after the warm-up")
    df = df.assign(channel=df["channel"].astype(str), outcome=df["outcome"].astype(str))
    colours = style.channel_colours(channels)
    ncols = min(3, len(names))
    with style.context():
        fig = style.new_figure(height=3.4 * math.ceil(len(names) / ncols))
        axes = _grid(fig, len(names), ncols)
        for ax, name in zip(axes, names):
            info, colour = channels[name], colours[name]
            d = df[df["channel"] == name].sort_values("wait_s")
            ans = d[d["outcome"] == "answered"]
            abd = d[d["outcome"] == "abandoned"]
            answered, n_answered = ans["wait_s"].to_numpy(dtype=float), ans["count"].to_numpy()
            abandoned, n_abandoned = abd["wait_s"].to_numpy(dtype=float), abd["count"].to_numpy()
            both = pd.concat([ans, abd]).sort_values("wait_s", kind="stable")
            both_size = int(both["count"].sum())
            threshold = info.threshold_s or 0.0
            q99 = (_quantile(both["wait_s"].to_numpy(dtype=float), both["count"].to_numpy(), 0.99)
                   if both_size else 0.0)
            x_max = max(2.5 * threshold, q99, 1.0)
            grid = np.linspace(0.0, x_max, 400)
            within = ""
            if threshold > 0 and n_answered.sum():
                share = n_answered[answered <= threshold].sum() / n_answered.sum()
                within = f"; {f'{share:.1%}'.replace('%', ' %')} ≤ {style.duration_text(threshold)}"
            if n_answered.sum():
                ax.plot(grid, _ecdf(answered, n_answered, grid), color=colour, drawstyle="steps-post",
                        label=f"answered (n = {int(n_answered.sum()):,}{within})")
            if n_abandoned.sum():
                ax.plot(grid, _ecdf(abandoned, n_abandoned, grid), color=style.ALL_COLOUR, ls="--",
                        lw=1.1, drawstyle="steps-post", label=f"abandoned (n = {int(n_abandoned.sum()):,})")
            if threshold > 0:
                ax.axvline(threshold, color=style.REFERENCE_COLOUR, ls=":", lw=1.3,
                           label=f"threshold {style.duration_text(threshold)}")
            if not both_size:
                ax.text(0.5, 0.5, "no answered or abandoned contacts", transform=ax.transAxes,
                        ha="center", va="center", color=style.MUTED)
            ax.set_xlim(0, x_max)
            ax.set_ylim(0, 1.02)
            ax.yaxis.set_major_formatter(style.percent_formatter())
            ax.set_title(name, color=colour)
            ax.set_xlabel("wait (s)")
            ax.set_ylabel("share waiting ≤ x (%)")
            ax.legend(loc="best", frameon=True, framealpha=0.9, edgecolor="none")
        fig.suptitle("Wait-time distribution of real-time contacts (after warm-up, "
                     "replications pooled)", x=0.01, ha="left")
    return fig
