"""Does patience depend on the load a caller finds? Kaplan–Meier, exponential MLE (exact χ²
interval) and a log-rank test per band of a covariate known at arrival, on a log's fit days.

    .venv/bin/python bench/patience_by_load.py LOG --columns MAP --days 1-15 --weekdays sun-thu

Covariates: ``queue`` (contacts already waiting when the caller enters the queue, from the
log's arrival + wait), ``queue_per_agent`` (that over the distinct agents seen serving in the
hour), ``day_load`` (the day's contacts per agent-hour seen). Measurement only.
"""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from simsvc.calibrate.bands import exp_mean_ci, logrank
from simsvc.calibrate.logs import ColumnMap, parse_days, read_log
from simsvc.calibrate.patience import kaplan_meier
from simsvc.calibrate.patience_load import queue_found


def agents_in_hour(c: pd.DataFrame) -> pd.Series:
    served = c[c["agent"].notna()]
    hour = (served["clock_s"] + served["wait_s"].fillna(0)) // 3600
    seen = served.assign(hour=hour).groupby(["day", "hour"])["agent"].nunique()
    key = pd.MultiIndex.from_arrays([c["day"], c["clock_s"] // 3600])
    return pd.Series(seen.reindex(key).to_numpy(), index=c.index)


def table(c: pd.DataFrame, col: str, edges: list[float]) -> None:
    x = c[col].to_numpy()
    band = np.digitize(x, edges[1:-1], right=False)
    wait = c["wait_s"].fillna(0).to_numpy()
    ab = (c["outcome"] == "abandoned").to_numpy()
    p = logrank(wait, ab, band, len(edges) - 1)
    print(f"\n{col}: log-rank p = {p:.2g} over {len(edges) - 1} bands")
    print(f"{'band':>14} {'n':>6} {'aband':>6} {'share':>6} {'KM med':>7} {'exp mean [95%]':>22} {'early/h':>8}")
    for k in range(len(edges) - 1):
        m = band == k
        if m.sum() == 0:
            continue
        km = kaplan_meier(wait[m], ab[m])
        mean, lo, hi = exp_mean_ci(wait[m].sum(), int(ab[m].sum()))
        early = ab[m] & (wait[m] <= 30)
        expo = np.minimum(wait[m], 30).sum() / 3600
        print(f"{edges[k]:>6.3g}–{edges[k + 1]:<6.3g} {m.sum():>6} {ab[m].sum():>6} {ab[m].mean():>6.3f} "
              f"{km.quantile(0.5):>7.0f} {mean:>7.0f} [{lo:>5.0f}, {hi:>5.0f}] {early.sum() / expo:>8.1f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--columns")
    ap.add_argument("--days", default="1-15")
    ap.add_argument("--weekdays", default=None)
    a = ap.parse_args()
    log = read_log(a.log, ColumnMap.from_yaml(a.columns) if a.columns else None)
    c = log.contacts.copy()
    c["queue"] = queue_found(c)
    c["agents"] = agents_in_hour(c)
    c["queue_per_agent"] = c["queue"] / c["agents"].clip(lower=1)
    per_day = c.groupby("day").agg(n=("outcome", "size"))
    served = c[c["agent"].notna()]
    agent_hours = served.assign(h=served["clock_s"] // 3600).groupby("day")[["agent", "h"]].apply(
        lambda g: len(g.drop_duplicates()))
    c["day_load"] = c["day"].map(per_day["n"] / agent_hours)
    days = parse_days(a.days, log, a.weekdays)
    f = c[c["day"].isin(days)]
    print(f"{len(f):,} contacts on {len(days)} days; {int((f['outcome'] == 'abandoned').sum()):,} abandoned")
    print("queue found quantiles:", np.quantile(f["queue"], [0.1, 0.25, 0.5, 0.75, 0.9]))
    table(f, "queue", [0, 1, 3, 6, 10, 15, 1e9])
    qa = f["queue_per_agent"]
    table(f, "queue_per_agent", [0, 1e-9, *np.quantile(qa[qa > 0], [0.25, 0.5, 0.75]).round(3).tolist(), 1e9])
    dl = f.groupby("day")["day_load"].first()
    print("\nday load per day:", dl.round(2).to_dict())
    table(f, "day_load", [0, *np.quantile(dl, [1 / 3, 2 / 3]).tolist(), 1e9])
    for cls in sorted(f["class"].astype(str).unique()):
        print(f"\n=== class {cls}")
        table(f[f["class"] == cls], "queue", [0, 1, 3, 6, 10, 15, 1e9])


if __name__ == "__main__":
    main()
