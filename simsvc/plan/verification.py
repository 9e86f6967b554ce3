"""Verification of a staffing plan per target × interval, in fresh replications.

Each target's metric per interval (pooled over the replications, with its 95 % CI)
and a status: ``met``, ``uncertain`` (a miss within the noise), ``not met`` (the
whole CI misses), ``few contacts`` (not staffed for: too few to judge), or
``availability 0`` (the pool's availability is 0 there: nobody can be put on duty).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from simsvc.config.schema import Scenario
from simsvc.plan.metrics import interval_metric
from simsvc.plan.requirements import interval_labels
from simsvc.plan.targets import PlanTarget


def verification(scenario: Scenario, targets: list[PlanTarget], intervals: pd.DataFrame,
                 primary: dict[str, str], on_duty: dict[str, np.ndarray], grid: np.ndarray,
                 min_contacts: float, closed: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """One row per target × interval with contacts; ``closed``: per pool, the intervals with
    availability 0 (status ``availability 0`` whatever the contacts)."""
    days, clocks = interval_labels(scenario, grid)
    frames = []
    for t in targets:
        m = interval_metric(intervals, t)
        pool = primary[t.channel]
        shut = closed[pool][m["interval"]] if closed else np.zeros(len(m), dtype=bool)
        frames.append(pd.DataFrame({
            "target": str(t), "channel": t.channel, "metric": t.metric, "interval": m["interval"],
            "day": days[m["interval"]], "clock": [clocks[i] for i in m["interval"]],
            "pool": pool, "on_duty": on_duty[pool][m["interval"]], "contacts": m["contacts"],
            "value": m["value"], "ci_low": m["ci_low"], "ci_high": m["ci_high"],
            "status": [UNAVAILABLE if x else status(t, v, lo, hi) if c >= min_contacts * n else FEW
                       for v, lo, hi, c, n, x in zip(m["value"], m["ci_low"], m["ci_high"], m["contacts"], m["reps"],
                                                     shut)]}))
    return pd.concat(frames, ignore_index=True)


FEW = "few contacts"
UNAVAILABLE = "availability 0"   # the pool's availability is 0: nobody can be put on duty


def status(t: PlanTarget, value: float, ci_low: float, ci_high: float) -> str:
    """``met`` (the estimate meets the target), ``not met`` (its whole 95 % CI misses it),
    else ``uncertain`` (a miss within the noise of the fresh replications)."""
    if t.met(value):
        return "met"
    wrong_side = ci_high < t.value if t.op == ">=" else ci_low > t.value
    return "not met" if wrong_side else "uncertain"
