"""Generate ``synthetic_log.csv``: a contact log simulated by simsvc from a known scenario.

The recovery test (tests/test_calibrate_recovery.py) fits this log and checks that
the fit finds the parameters below within their sampling error. Re-run after a
model change that alters the random streams:

    .venv/bin/python tests/data/make_synthetic_log.py

The log uses simsvc's default column names (no column map needed). Customers are
anonymous in forecast mode, so the issue id stands in for the customer id: a
redial or a repeat is a further contact about the same issue.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 20261128
FIRST_DAY = pd.Timestamp("2026-01-05")  # a Monday, as the scenario's start_day

# The truth the recovery test compares with.
TRUTH = {
    "daily_volume": 240.0,
    "weekly": [1.2, 1.0, 1.0, 1.0, 0.8, 0.5, 0.0],  # mon..sun: a weekly pattern, closed on sunday
    "handling": {"dist": "lognormal", "mean": 240.0, "cv": 1.5},
    "patience": {"dist": "gamma", "mean": 150.0, "cv": 0.5},  # not exponential: hazard rises with the wait
    "redial_probability": 0.3,
    "redial_delay_mean_s": 300.0,
    "resolution": 0.85,
    "repeat_delay_mean_s": 7200.0,
}
# Arrivals per hour of the day (weights): quiet nights, a morning and an afternoon peak.
INTRADAY = [0.1] * 7 + [1, 3, 4, 4, 3, 2.5, 3, 3.5, 3, 2.5, 2, 1.5, 1, 0.6, 0.4, 0.2, 0.1]


def scenario_data() -> dict:
    t = TRUTH
    return {
        "name": "synthetic-log", "seed": SEED, "horizon": "14d", "start_day": "mon",
        "channels": {"phone": {
            "kind": "voice", "patience": t["patience"],
            "redial": {"probability": t["redial_probability"],
                       "delay": {"dist": "exponential", "mean": t["redial_delay_mean_s"]}}}},
        "demand": {"phone": {"daily_volume": t["daily_volume"], "intraday": INTRADAY, "weekly": t["weekly"]}},
        "handling": {"phone": t["handling"]},
        "resolution": {"phone": t["resolution"]},
        "repeat": {"probability": 1.0, "delay": {"dist": "exponential", "mean": t["repeat_delay_mean_s"]}},
        "agents": {"team": {"skills": ["phone"], "staffing": {"shifts": [
            {"start": "07:00", "end": "15:00", "agents": 3, "days": "mon-sat"},
            {"start": "11:00", "end": "19:00", "agents": 3, "days": "mon-sat"},
            {"start": "19:00", "end": "07:00", "agents": 1, "days": "mon-sun"},
        ]}}},
    }


def make_log() -> pd.DataFrame:
    import simsvc
    from simsvc.config.load import validate

    scenario = validate(scenario_data(), "make_synthetic_log.py")
    result = simsvc.run(scenario, replications=1, seed=SEED)
    c = result.contacts
    c = c[c["outcome"].isin(["answered", "abandoned"])]
    arrival = FIRST_DAY + pd.to_timedelta(c["arrival_s"].round(1), unit="s")
    agent = c["pool"].astype(str) + "-" + c["agent"].astype("Int64").astype(str)
    return pd.DataFrame({
        "arrival_time": arrival.dt.strftime("%Y-%m-%d %H:%M:%S.%f").str[:-5],
        "channel": c["channel"].astype(str).to_numpy(),
        "wait_s": c["wait_s"].round(1).to_numpy(),
        "outcome": c["outcome"].astype(str).to_numpy(),
        "handle_s": np.where(c["outcome"] == "answered", c["handle_s"].round(1), np.nan),
        "agent": np.where(c["outcome"] == "answered", agent, ""),
        "customer_id": c["issue_id"].to_numpy(),
    })


if __name__ == "__main__":
    log = make_log()
    log.to_csv(HERE / "synthetic_log.csv", index=False)
    print(f"{len(log):,} contacts written to {HERE / 'synthetic_log.csv'}")
