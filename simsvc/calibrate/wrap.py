"""Unlogged after-call work: one wrap-up per answered contact, found by simulation on the fit days.

A log of services says when agents talked, not what they did between calls. Agents seen
serving are not all available: some of their time goes to breaks and other work (lost
per hour present: the availability factor, calibrate/effective.py) and some to work
after each call that the log does not show (lost per call served: a wrap-up). The two
read the same on days like the fit days but predict differently when staffing moves: a
factor scales the loss with the agents seen, a wrap-up with the calls answered. On the
bank (README, the bank back-test) the agents seen in 1–15 August were busy 59 % of the
time while 84 % of callers waited, and in 16–31 August more agents were seen for about
as many calls: the per-call form transfers, the per-hour one does not.

:func:`fit_wrap` bisects one wrap-up (deterministic, every pool) on [0, ``MAX_WRAP_S``]
until the fit days, replayed with their own arrivals and their own logged-in agents
(factor 1), reproduce the observed abandonment over all hours (the mean wait of all
arrivals when fewer than ``MIN_ABANDONED`` abandoned; 0 when nobody waited). The
per-hour factor is then fitted on top of it (it keeps the hour-of-day pattern).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from simsvc.calibrate.replay import observed_hours, replay_dict, simulate_hours

MAX_WRAP_S = 600.0
MIN_ABANDONED = 20


@dataclass(frozen=True)
class WrapFit:
    """The fitted wrap-up and what it was matched to."""

    wrap_s: float
    matched: str          # "abandonment", "wait" or "none: nobody waited"
    observed: float       # the fit days' abandonment (or mean wait s)
    simulated: float      # the same, simulated at the last step
    contacts: int
    answered: int
    steps: int
    reps: int

    def comment(self) -> str:
        what = {"abandonment": f"abandonment {self.observed:.3f} (simulated {self.simulated:.3f})",
                "wait": f"mean wait {self.observed:.1f}s (simulated {self.simulated:.1f}s)"}.get(self.matched)
        if what is None:
            return "wrap-up 0s: nobody waited on the fit days, so after-call work cannot be told from the data"
        return (f"wrap-up {self.wrap_s:g}s per answered contact: after-call work the log does not show, found by "
                f"bisection ({self.steps} steps × {self.reps} replications of the fit days replayed with their "
                f"own arrivals and logged-in agents) to the observed {what}; n = {self.contacts:,} contacts, "
                f"{self.answered:,} answered")


def fit_wrap(behaviour: dict, contacts, staffing, days: list, interval_s: float, *, steps: int = 9,
             reps: int = 2, seed: int = 1, progress: Callable[[int, int], None] | None = None,
             simulate: Callable = simulate_hours) -> WrapFit:
    """The wrap-up (s, whole seconds) at which the replayed fit days match their abandonment.

    ``simulate(data, reps, seed)`` returns counts per replication × channel × hour
    (``replay.simulate_hours``; a test may pass a stand-in).
    """
    obs = observed_hours(contacts, days, {ch: 20.0 for ch in behaviour["channels"]})
    offered, abandoned = float(obs["offered"].sum()), float(obs["abandoned"].sum())
    wait = float(obs["wait_sum_s"].sum()) / max(offered, 1.0)
    answered = int(((contacts["day"].isin(days)) & (contacts["outcome"] == "answered")).sum())
    by_wait = abandoned < MIN_ABANDONED
    if by_wait and wait < 1.0:
        return WrapFit(0.0, "none: nobody waited", wait, wait, int(offered), answered, 0, reps)
    target = wait if by_wait else abandoned / max(offered, 1.0)
    lo, hi = 0.0, MAX_WRAP_S
    simulated = np.nan
    for step in range(steps):
        mid = (lo + hi) / 2
        data = replay_dict({**behaviour, "wrap_up_s": mid}, contacts, staffing, days, interval_s,
                           name="wrap-up-search", seed=seed)
        counts = simulate(data, reps, seed)
        n = max(float(counts["offered"].sum()), 1.0)
        simulated = float(counts["wait_sum_s" if by_wait else "abandoned"].sum()) / n
        if simulated > target:  # more abandonment (or wait) than observed: less wrap-up
            hi = mid
        else:
            lo = mid
        if progress:
            progress(step + 1, steps)
    wrap_s = float(round((lo + hi) / 2))
    return WrapFit(wrap_s, "wait" if by_wait else "abandonment", target, simulated, int(offered), answered,
                   steps, reps)
