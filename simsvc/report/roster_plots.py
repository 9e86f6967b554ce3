"""Roster coverage plot: required vs scheduled agents per interval, over- and under-staffing shaded."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from simsvc.report import style

DAY_S = 86400.0
UNDER_COLOUR = "#B2182B"   # dark red: apart from every pool colour


def roster_coverage(coverage: pd.DataFrame, interval_s: float) -> Figure:
    """One panel per pool: the gross requirement and the roster's scheduled agents (step lines),
    scheduled above requirement shaded as over-staffed, below as under-staffed, with the hours of each."""
    pools = list(dict.fromkeys(coverage["pool"]))
    colours = style.pool_colours(pools)
    with style.context():
        fig = style.new_figure(rows=len(pools))
        axes = fig.subplots(len(pools), 1, sharex=True, squeeze=False)[:, 0]
        for ax, pool in zip(axes, pools):
            d = coverage[coverage["pool"] == pool].sort_values("interval")
            x = np.append(d["start_s"].to_numpy(float), d["start_s"].iloc[-1] + interval_s) / DAY_S
            req = np.append(d["required_scheduled"].to_numpy(float), d["required_scheduled"].iloc[-1])
            sch = np.append(d["scheduled"].to_numpy(float), d["scheduled"].iloc[-1])
            # One bar per interval between requirement and roster: visible even for a single interval.
            start, r, k = x[:-1], req[:-1], sch[:-1]
            width = interval_s / DAY_S
            over, under = k > r, k < r
            ax.bar(start[over], (k - r)[over], bottom=r[over], width=width, align="edge", color=colours[pool],
                   alpha=0.3, lw=0)
            ax.bar(start[under], (r - k)[under], bottom=k[under], width=width, align="edge", color=UNDER_COLOUR,
                   alpha=0.7, lw=0)
            ax.step(x, req, where="post", color=style.MUTED, ls="--", lw=1.0, label="required (scheduled)")
            ax.step(x, sch, where="post", color=colours[pool], lw=1.4, label="rostered (scheduled)")
            hours = interval_s / 3600.0
            ax.set_title(f"{pool}: {d['over'].sum() * hours:,.0f} agent hours over, "
                         f"{d['under'].sum() * hours:,.0f} under, of {d['required_scheduled'].sum() * hours:,.0f} "
                         "required", color=colours[pool])
            ax.set_ylim(bottom=0)
            ax.set_ylabel("agents")
            handles = ax.get_legend_handles_labels()[0] + [
                Patch(color=colours[pool], alpha=0.3, label="over-staffed"),
                Patch(color=UNDER_COLOUR, alpha=0.7, label="under-staffed")]
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        axes[-1].set_xlabel("simulated time (days from time 0)")
        fig.suptitle("Roster coverage: required vs rostered agents per interval", x=0.01, ha="left")
    return fig


def png(fig: Figure) -> bytes:
    from io import BytesIO

    buf = BytesIO()
    with style.context():
        fig.savefig(buf, format="png", dpi=style.DPI, metadata={"Software": None})
    return buf.getvalue()
