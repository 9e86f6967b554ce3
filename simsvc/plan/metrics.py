"""Per-interval target metrics from replications' interval tables, with confidence intervals.

A metric per interval is a ratio pooled over replications (Σ numerator / Σ
denominator): with few contacts per interval, a mean of per-replication ratios
would be dominated by the noisiest replications. Its 95 % CI is the ratio
estimator's (delta method over replications, t quantile). Contacts that found
the channel closed, and async ones not yet due at the horizon, are not in the
denominator, as in the summary.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from simsvc.plan.targets import PlanTarget


def _num_den(frame: pd.DataFrame, metric: str) -> tuple[pd.Series, pd.Series]:
    open_ = frame["offered"] - frame["lost_closed"]
    if "pending_not_due" in frame:  # async: unanswered at the horizon but not yet due, censored
        open_ = open_ - frame["pending_not_due"]
    if metric == "service_level":
        return frame["answered_within_threshold"], open_
    if metric == "abandon_rate":
        return frame["abandoned"], open_
    if metric == "asa_s":
        return frame["asa_s"].fillna(0.0) * frame["answered"], frame["answered"]
    raise KeyError(metric)


def interval_metric(intervals: pd.DataFrame, target: PlanTarget) -> pd.DataFrame:
    """Per interval: ``value``, ``ci_low``, ``ci_high``, ``contacts`` (the denominator, all
    replications), ``reps``, ``met``; warm-up intervals and intervals without contacts are left out."""
    frame = intervals[(intervals["channel"] == target.channel) & ~intervals["in_warmup"]]
    num, den = _num_den(frame, target.metric)
    wide = pd.DataFrame({"interval": frame["interval"].to_numpy(), "replication": frame["replication"].to_numpy(),
                         "num": num.to_numpy(dtype=float), "den": den.to_numpy(dtype=float)})
    g = wide.groupby("interval")
    n = g["replication"].nunique()
    sum_num, sum_den = g["num"].sum(), g["den"].sum()
    value = sum_num / sum_den.where(sum_den > 0)
    wide["resid"] = wide["num"] - value.reindex(wide["interval"]).to_numpy() * wide["den"]
    ss = (wide["resid"] ** 2).groupby(wide["interval"]).sum()
    mean_den = sum_den / n
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(ss / (n - 1) / n) / mean_den
    half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * se
    out = pd.DataFrame({"value": value, "ci_low": value - half, "ci_high": value + half,
                        "contacts": sum_den, "reps": n})
    if target.metric != "asa_s":
        out["ci_low"] = out["ci_low"].clip(lower=0.0)
        out["ci_high"] = out["ci_high"].clip(upper=1.0)
    out = out[out["contacts"] > 0].copy()
    out["met"] = [target.met(v) for v in out["value"]]
    return out.reset_index()


def offered_rate(intervals: pd.DataFrame, channel: str, interval_s: float) -> pd.Series:
    """Mean contacts per second that found the channel open, per interval (redials and retries included)."""
    frame = intervals[intervals["channel"] == channel]
    open_ = (frame["offered"] - frame["lost_closed"]).groupby(frame["interval"]).mean()
    return open_ / interval_s
