"""The profit curve: net value per staffing level with its CI band, and what moves it."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from simsvc.report import style

# Paired differences to the own staffing, each as its effect on net value (sign flipped for costs).
COMPONENTS = (("revenue", 1.0, "revenue", style.REVENUE),
              ("revenue_lost_to_churn", -1.0, "− revenue lost to churn", style.LOST_REVENUE),
              ("agent_cost", -1.0, "− agent cost", style.MUTED),
              ("net_value", 1.0, "net value", style.ALL_COLOUR))


def profit_curve(table: pd.DataFrame) -> Figure:
    """Top: mean net value per level against its agent hours, 95 % CI band, the best level and
    those not distinguishable from it marked. Bottom: paired differences to the scenario's own
    staffing, per component of net value, with CI bands."""
    t = table.sort_values("agent_hours")
    x = t["agent_hours"].to_numpy(dtype=float)
    with style.context():
        fig = style.new_figure(rows=3)
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
        top.fill_between(x, t["net_value_ci_low"], t["net_value_ci_high"], color=style.ALL_COLOUR,
                         alpha=style.BAND_ALPHA, lw=0, label="95 % CI")
        top.plot(x, t["net_value"], "-o", color=style.ALL_COLOUR, ms=4, lw=1.2, label="net value (mean)")
        same = t[t["verdict"] == "not distinguishable"]
        top.plot(same["agent_hours"], same["net_value"], "o", mfc="white", mec=style.HIGHLIGHT, ms=8,
                 label="not distinguishable from the best (paired 95 % CI)")
        best = t[t["verdict"] == "best"]
        top.plot(best["agent_hours"], best["net_value"], "*", color=style.HIGHLIGHT, ms=14, label="best")
        own = t[t["own"]]
        top.plot(own["agent_hours"], own["net_value"], "s", mfc="none", mec=style.REFERENCE_COLOUR, ms=9,
                 label="the scenario's own staffing")
        for xi, yi, name in zip(x, t["net_value"], t["level"]):
            top.annotate(name, (xi, yi), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=7)
        top.set_ylabel("net value")
        top.yaxis.set_major_formatter(style.thousands_formatter())
        top.set_title(f"Net value = revenue − revenue lost to churn − agent cost; best {best['level'].iloc[0]}")
        top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        for metric, sign, label, colour in COMPONENTS:
            d, lo, hi = (sign * t[f"{metric}{s}"].to_numpy(dtype=float) for s in ("_diff", "_diff_low", "_diff_high"))
            lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
            bottom.fill_between(x, lo, hi, color=colour, alpha=style.BAND_ALPHA, lw=0)
            bottom.plot(x, d, "-o", color=colour, ms=3, lw=1.2, label=label)
        bottom.axhline(0.0, color=style.REFERENCE_COLOUR, lw=0.8)
        bottom.set_ylabel("change vs own staffing")
        bottom.yaxis.set_major_formatter(style.thousands_formatter())
        bottom.set_xlabel("scheduled agent hours of the varied pools (after the warm-up)")
        bottom.set_title("What moves it: paired differences to the own staffing (common random numbers)")
        bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig
