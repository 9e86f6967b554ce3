"""Effective staffing: the availability per hour at which the model reproduces the
observed abandonment (or wait) of the fit days.

Logged-in agents (seen serving) overstate what is really available: agents take
breaks, do other work, or sit in after-call states a log does not show. For each
hour of the day the search finds a factor f (effective agents = f × logged-in) such
that the fit days, replayed with their own arrivals and f × their own logged-in
staffing, give the abandonment observed in that hour (pooled over the fit days).
Hours are bisected together, one simulation of all fit days per step (the hours
interact only through queues carried across an hour boundary). Hours with fewer
than ``MIN_HOUR_ABANDONED`` abandonments match the mean wait instead. Hours with fewer
than ``MIN_HOUR_CONTACTS`` contacts over the fit days take the factor of all hours
together. Only the fit days are used.

What each hour matches is ``match`` (``fit --availability-match``): ``abandonment`` (as
above; this function's default, and fit's until issue 10's sixth look), ``wait`` (the mean
wait of all arrivals), ``pwait`` (P(wait > 0) of all arrivals, abandoners included, as the
back-test's P(wait)) or ``abandonment+wait`` (fit's default: the factor at which the relative
errors of abandonment and mean wait cancel; each falls as the factor rises, so their sum does
too and the bisection stays monotone; mean wait alone where few abandoned). The fall-backs
for thin and blind hours are the same for all four.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from simsvc.calibrate.replay import observed_hours, replay_dict, simulate_hours

MIN_HOUR_CONTACTS = 200
MIN_HOUR_ABANDONED = 20
MEDIAN_OF_OTHERS = "median of other hours"  # what a thin hour's factor is, where other hours were fitted
LOW, HIGH = 0.15, 1.6
# The last REFINE_STEPS steps re-centre the bracket at ±REFINE_HALF_WIDTH (log scale) around the
# coarse steps' midpoint and simulate more replications (see fit_availability).
REFINE_STEPS = 4
REFINE_HALF_WIDTH = 0.10
# What the search matches per hour (fit --availability-match), and how it is said in notes and comments.
MATCHES = {"abandonment": "the observed abandonment of each hour (its mean wait of all arrivals where fewer than "
                          f"{MIN_HOUR_ABANDONED} abandoned)",
           "wait": "the observed mean wait of all arrivals of each hour",
           "pwait": "the observed P(wait > 0) of all arrivals of each hour",
           "abandonment+wait": "the observed abandonment and mean wait of all arrivals of each hour together (the "
                               "factor at which their relative errors cancel; the mean wait alone where fewer than "
                               f"{MIN_HOUR_ABANDONED} abandoned)"}
_LABEL = {"abandonment": "abandonment", "wait": "wait", "pwait": "P(wait > 0)",
          "abandonment+wait": "abandonment + wait"}


@dataclass(frozen=True)
class Availability:
    """Factor per hour of day, with what it was fitted to."""

    table: pd.DataFrame  # hour, factor, observed_abandon, simulated_abandon, contacts
    steps: int
    reps: int  # replications of the last steps
    coarse_reps: int | None = None  # replications of the first coarse_steps steps, where fewer
    coarse_steps: int | None = None

    def search_text(self) -> str:
        """The search as a phrase: ``9 steps × 2 replications`` or ``6 steps × 2 + 3 × 6 replications``."""
        if self.coarse_reps is None or self.coarse_steps is None or self.coarse_steps >= self.steps:
            return f"{self.steps} steps × {self.reps} replications"
        return (f"{self.coarse_steps} steps × {self.coarse_reps} + {self.steps - self.coarse_steps} × {self.reps} "
                "replications")

    def factor_of(self, hours: np.ndarray) -> np.ndarray:
        f = self.table.set_index("hour")["factor"]
        return f.reindex(hours).fillna(float(np.median(f))).to_numpy()


def refine_note(availability: Availability) -> list[str]:
    """A note where the refined search ended at the edge of its re-opened bracket (none otherwise)."""
    hours = availability.table.attrs.get("refine_edge_hours") or []
    if not hours:
        return []
    return [f"effective availability: in hours {', '.join(f'{h}:00' for h in hours)} the refined search "
            f"({availability.search_text()}) ended at the edge of its bracket (±{REFINE_HALF_WIDTH:.0%} around the "
            "first steps' factor), still pointing outwards: the factor there may lie further out; check with more --search-reps"]


def scaled(staffing: pd.DataFrame, availability: Availability) -> pd.DataFrame:
    """Staffing × the factor of its hour."""
    hours = (staffing["start_s"].to_numpy() // 3600).astype(int)
    return staffing.assign(agents=staffing["agents"].to_numpy() * availability.factor_of(hours))


def _too_many(match: str, sim: dict, obs: dict, few_abandoned: np.ndarray) -> np.ndarray:
    """Per hour: does the replay (``sim``) fall short of the log (``obs``) on what ``match`` matches,
    i.e. are there too many agents? ``sim`` and ``obs`` hold arrays ``abandon``, ``wait`` and ``pwait``;
    ``few_abandoned`` hours match the mean wait where the criterion needs abandonment."""
    wait_short = sim["wait"] < obs["wait"]
    if match == "wait":
        return wait_short
    if match == "pwait":
        return sim["pwait"] < obs["pwait"]
    if match == "abandonment":
        return np.where(few_abandoned, wait_short, sim["abandon"] < obs["abandon"])
    with np.errstate(divide="ignore", invalid="ignore"):  # blind hours (nothing observed) are settled to 1
        both = (sim["abandon"] / obs["abandon"] - 1.0) + (sim["wait"] / obs["wait"] - 1.0)
    return np.where(few_abandoned, wait_short, both < 0)


def _all_hours(counts: pd.DataFrame) -> dict[str, np.ndarray]:
    """Abandonment, mean wait and P(wait) over all hours of ``counts`` together (one value
    each, as the one-element arrays :func:`_too_many` compares)."""
    offered = max(1.0, counts["offered"].sum())
    return {"abandon": np.array([counts["abandoned"].sum() / offered]),
            "wait": np.array([counts["wait_sum_s"].sum() / offered]),
            "pwait": np.array([counts["waited"].sum() / offered])}


def _settle(f: np.ndarray, follows: np.ndarray, fitted_others: np.ndarray, ones: np.ndarray) -> np.ndarray:
    """The factors as simulated and written: hours that ``follows`` take the median of the
    fitted others (1 if none); ``ones`` (enough contacts, but nobody waited) factor 1."""
    if follows.any():
        f[follows] = np.median(f[fitted_others]) if fitted_others.any() else 1.0
    f[ones] = 1.0
    return f


def fit_availability(behaviour: dict, contacts: pd.DataFrame, staffing: pd.DataFrame, days: list,
                     interval_s: float, *, steps: int = 9, reps: int = 2, refine_reps: int | None = None,
                     seed: int = 1, by: str = "hour", match: str = "abandonment",
                     progress: Callable[[int, int], None] | None = None) -> Availability:
    """Bisect the factor of every hour at once (see the module docstring).

    Every step simulates the same replications (common random numbers), so each step
    compares the same sample path and the bisection is monotone in the factor. What is
    left is that path's own noise: the root of 2 replications moved the 16–31 bank
    back-test's abandonment by up to 11 points between seeds. With ``refine_reps`` above
    ``reps``, the first ``steps − REFINE_STEPS`` steps narrow the bracket with ``reps``
    replications, then the bracket is re-opened to ±``REFINE_HALF_WIDTH`` (log scale, ±10 %)
    around their midpoint, wide enough to hold the root of the longer average, and the last
    ``REFINE_STEPS`` steps bisect it with ``refine_reps`` replications (the first ``reps`` of
    them the same as before).
    """
    if match not in MATCHES:
        raise ValueError(f"match {match!r}: one of {', '.join(MATCHES)}")
    thresholds = {ch: 20.0 for ch in behaviour["channels"]}
    counted = ["offered", "abandoned", "wait_sum_s", "waited"]
    obs = observed_hours(contacts, days, thresholds).groupby("hour")[counted].sum()
    hours = obs.index.to_numpy()
    target = (obs["abandoned"] / obs["offered"]).to_numpy()
    target_wait = (obs["wait_sum_s"] / obs["offered"]).to_numpy()
    target_pwait = (obs["waited"] / obs["offered"]).to_numpy()
    observed = {"abandon": target, "wait": target_wait, "pwait": target_pwait}
    # Few abandonments say little about availability (none at all say nothing): there
    # the mean wait of all arrivals is matched instead (with any match but pwait).
    by_wait = obs["abandoned"].to_numpy() < MIN_HOUR_ABANDONED
    # Where almost nobody waited, availability cannot be told from the data: factor 1.
    blind = by_wait & (target_wait < 1.0)
    thin = obs["offered"].to_numpy() < MIN_HOUR_CONTACTS
    overall = obs["abandoned"].sum() / obs["offered"].sum()
    lo = np.full(len(hours), np.log(LOW))
    hi = np.full(len(hours), np.log(HIGH))
    sim_ab = sim_wait = sim_pwait = np.full(len(hours), np.nan)
    # By hour, thin hours follow the median of the fitted others (factor 1 if there are none);
    # with one factor for all hours (by == "all") every hour is in the one fit.
    follows = thin if by != "all" else np.zeros(len(hours), dtype=bool)
    fitted_others = ~thin & ~blind
    ones = blind & ~thin
    refine_reps = refine_reps if refine_reps and refine_reps > reps else reps
    coarse = steps - REFINE_STEPS if refine_reps > reps and steps > REFINE_STEPS else steps
    for step in range(steps):
        n_reps = reps if step < coarse else refine_reps
        if step == coarse:  # re-open around the coarse midpoint: the longer average's root may lie outside
            mid = (lo + hi) / 2
            lo = np.maximum(mid - REFINE_HALF_WIDTH, np.log(LOW))
            hi = np.minimum(mid + REFINE_HALF_WIDTH, np.log(HIGH))
            opened = (lo.copy(), hi.copy())
        f = _settle(np.exp((lo + hi) / 2), follows, fitted_others, ones)
        table = pd.DataFrame({"hour": hours, "factor": f})
        avail = Availability(table, step, n_reps)
        data = replay_dict(behaviour, contacts, scaled(staffing, avail), days, interval_s,
                           name="effective-staffing-search", seed=seed)
        counts = simulate_hours(data, n_reps, seed).reindex(columns=["hour", *counted])
        counts = counts.groupby("hour")[counted].sum(min_count=1).reindex(hours).fillna(0)
        offered = counts["offered"].where(counts["offered"] > 0)
        sim_ab = (counts["abandoned"] / offered).to_numpy()
        sim_wait = (counts["wait_sum_s"] / offered).to_numpy()
        sim_pwait = (counts["waited"] / offered).to_numpy()
        if by == "all":  # one factor: compare all hours together, as one "hour"
            few = np.array([obs["abandoned"].sum() < MIN_HOUR_ABANDONED])
            too_many = np.full(len(hours), _too_many(match, _all_hours(counts), _all_hours(obs), few)[0])
        else:
            # fewer abandonments (or shorter waits) than observed: too many agents
            too_many = _too_many(match, {"abandon": sim_ab, "wait": sim_wait, "pwait": sim_pwait}, observed,
                                 by_wait)
        mid = (lo + hi) / 2
        hi = np.where(too_many, mid, hi)
        lo = np.where(too_many, lo, mid)
        if progress:
            progress(step + 1, steps)
    # A refined hour whose last step still pointed out of the re-opened bracket, in its outermost
    # step, may have its root further out: said in a note (refine_note), not hidden.
    edge = np.zeros(len(hours), dtype=bool)
    if coarse < steps:
        root = (lo + hi) / 2
        width = hi - lo
        edge = (((root - opened[0] < width) & too_many) | ((opened[1] - root < width) & ~too_many)) & fitted_others
    f = _settle(np.exp((lo + hi) / 2), follows, fitted_others, ones)
    median_of = MEDIAN_OF_OTHERS if fitted_others.any() else "none: no other hour fitted (factor 1)"
    table = pd.DataFrame({"hour": hours, "factor": np.round(f, 3), "observed_abandon": np.round(target, 4),
                          "simulated_abandon": np.round(sim_ab, 4),
                          "observed_wait_s": np.round(target_wait, 1), "simulated_wait_s": np.round(sim_wait, 1),
                          "observed_p_wait": np.round(target_pwait, 4), "simulated_p_wait": np.round(sim_pwait, 4),
                          "matched": np.where(follows, median_of, np.where(
                              ones, "none: nobody waited (factor 1)",
                              "all hours together (one factor)" if by == "all"
                              else np.where(by_wait & (match != "pwait"), "wait", _LABEL[match]))),
                          "contacts": obs["offered"].to_numpy(),
                          "thin": follows})
    table.attrs["overall_observed_abandon"] = float(overall)
    table.attrs["match"] = match
    table.attrs["refine_edge_hours"] = [int(h) for h in hours[edge]]
    return Availability(table, steps, refine_reps if coarse < steps else reps, coarse_reps=reps,
                        coarse_steps=coarse)
