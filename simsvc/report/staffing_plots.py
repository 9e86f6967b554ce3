"""Staffing-plan plots: the analytic (Erlang) plan vs the simulated plan, and how it verifies."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from simsvc.report import style

DAY_S = 86400.0


def _steps(start_s: np.ndarray, values: np.ndarray, step_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Step-plot coordinates with the last interval drawn to its end (x in days)."""
    x = np.append(start_s, start_s[-1] + step_s) / DAY_S
    return x, np.append(values, values[-1])


def staffing_plan(staffing: pd.DataFrame, verification: pd.DataFrame, interval_s: float) -> Figure:
    """One panel per planned pool (scheduled agents: Erlang plan vs simulated plan, and on duty),
    then one per target (its value per interval in the fresh replications, 95 % CI band, target line)."""
    pools = list(dict.fromkeys(staffing["pool"]))
    targets = list(dict.fromkeys(verification["target"])) if not verification.empty else []
    colours = style.pool_colours(pools)
    with style.context():
        fig = style.new_figure(rows=len(pools) + len(targets))
        axes = fig.subplots(len(pools) + len(targets), 1, sharex=True, squeeze=False)[:, 0]
        for ax, pool in zip(axes, pools):
            d = staffing[staffing["pool"] == pool].sort_values("interval")
            start = d["start_s"].to_numpy(dtype=float)
            for column, label, kw in (("analytic_scheduled", "Erlang plan (scheduled)", {"ls": "--", "color": style.MUTED}),
                                      ("scheduled", "simulated plan (scheduled)", {"color": colours[pool], "lw": 1.6}),
                                      ("on_duty", "on duty (after shrinkage)", {"color": colours[pool], "lw": 0.8, "alpha": 0.6})):
                x, y = _steps(start, d[column].to_numpy(dtype=float), interval_s)
                ax.step(x, y, where="post", label=label, **kw)
            a_cost, s_cost = (d["analytic_scheduled"] * interval_s / 3600).sum(), d["agent_hours"].sum()
            ax.set_title(f"{pool}: {s_cost:,.0f} agent hours simulated plan vs {a_cost:,.0f} Erlang plan",
                         color=colours[pool])
            ax.set_ylim(bottom=0)
            ax.set_ylabel("agents")
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        for ax, target in zip(axes[len(pools):], targets):
            v = verification[verification["target"] == target].sort_values("interval")
            x = (v["interval"].to_numpy() * interval_s + interval_s / 2) / DAY_S
            ax.fill_between(x, v["ci_low"], v["ci_high"], color=style.ALL_COLOUR, alpha=style.BAND_ALPHA,
                            lw=0, label="95 % CI")
            ax.plot(x, v["value"], ".", color=style.ALL_COLOUR, ms=3, label="fresh replications")
            miss = v["status"] != "met"
            ax.plot(x[miss.to_numpy()], v["value"][miss], "x", color=style.HIGHLIGHT, ms=5, label="missed")
            value = float(target.split()[2])
            ax.axhline(value, color=style.REFERENCE_COLOUR, ls="--", lw=1, label="target")
            met = (v["status"] == "met").mean()
            ax.set_title(f"{target}: met in {met:.0%} of intervals".replace("%", " %"))
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        axes[-1].set_xlabel("simulated time (days from time 0)")
        fig.suptitle("Staffing plan: Erlang vs simulation, and its verification", x=0.01, ha="left")
    return fig
