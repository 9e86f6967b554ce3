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
            v = verification[(verification["target"] == target) & (verification["status"] != "few contacts")]
            # Every interval on the axis, NaN where there is no verdict: bands break over closed hours.
            n = int(staffing["interval"].max()) + 1
            v = v.set_index("interval").reindex(range(n))
            x = (np.arange(n) * interval_s + interval_s / 2) / DAY_S
            ax.fill_between(x, v["ci_low"], v["ci_high"], color=style.ALL_COLOUR, alpha=style.BAND_ALPHA,
                            lw=0, label="95 % CI")
            ax.plot(x, v["value"], ".", color=style.ALL_COLOUR, ms=3, label="fresh replications")
            miss = v["status"].isin(["uncertain", "not met"]).to_numpy()
            ax.plot(x[miss], v["value"].to_numpy()[miss], "x", color=style.HIGHLIGHT, ms=5,
                    label="missed (uncertain or not met)")
            value = float(target.split()[2])
            ax.axhline(value, color=style.REFERENCE_COLOUR, ls="--", lw=1, label="target")
            met = (v["status"].dropna() == "met").mean()
            ax.set_title(f"{target}: met in {met:.0%} of intervals with contacts".replace("%", " %"))
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        axes[-1].set_xlabel("simulated time (days from time 0)")
        fig.suptitle("Staffing plan: Erlang vs simulation, and its verification", x=0.01, ha="left")
    return fig


def staffed_required_busy(pools: pd.DataFrame | None) -> Figure:
    """Per pool: agents on duty vs the Erlang requirement (``required_on_duty``) vs busy agents.

    Where the busy line approaches the staffed area while staffing meets the Erlang line,
    the simulation sees work Erlang does not (redials, retries, repeats, transfers).
    """
    from simsvc.report.plots import PlotSkipped

    if pools is None or pools.empty:
        raise PlotSkipped("pools.parquet is absent (no agent pools)")
    if "required_on_duty" not in pools or pools["required_on_duty"].isna().all():
        raise PlotSkipped("no Erlang requirement in pools.parquet (the scenario sets no "
                          "service_level_target, or the run predates it)")
    step = float(np.median(np.diff(np.unique(pools["start_s"])))) if pools["start_s"].nunique() > 1 else 1.0
    df = pools.assign(pool=pools["pool"].astype(str), busy=pools["busy_agent_s"] / step)
    mean = df.groupby(["pool", "start_s"])[["agents_staffed", "busy", "required_on_duty"]].mean().reset_index()
    names = list(dict.fromkeys(df["pool"]))
    colours = style.pool_colours(names)
    with style.context():
        fig = style.new_figure(rows=len(names))
        axes = fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
        for ax, name in zip(axes, names):
            d = mean[mean["pool"] == name]
            start = d["start_s"].to_numpy(dtype=float)
            x, staffed = _steps(start, d["agents_staffed"].to_numpy(dtype=float), step)
            ax.fill_between(x, 0, staffed, step="post", color=colours[name], alpha=0.3, lw=0,
                            label="staffed (on duty)")
            ax.step(*_steps(start, d["required_on_duty"].to_numpy(dtype=float), step), where="post",
                    color=style.REFERENCE_COLOUR, ls="--", lw=1.2, label="required (Erlang, on duty)")
            ax.step(*_steps(start, d["busy"].to_numpy(dtype=float), step), where="post",
                    color=colours[name], lw=1.4, label="busy")
            ax.set_title(name, color=colours[name])
            ax.set_ylim(bottom=0)
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        axes[-1].set_xlabel("simulated time (days from time 0)")
        fig.supylabel("agents (mean over replications)", fontsize=10)
        fig.suptitle("Agents staffed vs required (Erlang) vs busy per pool", x=0.01, ha="left")
    return fig


STAFFING_CAPTION = (
    "Agents on duty (shaded), the agents on duty an Erlang calculator requires for the "
    "scenario's service-level targets from the forecast alone (dashed; simsvc requirements), "
    "and busy agents (line), mean over replications. Erlang sees neither redials, retries, "
    "repeats and transfers nor blending and shift ends, the simulation does: where they "
    "disagree, trust the simulation.")
