"""Expected journey-mode contact volume from the scenario alone (no simulation).

:func:`expected_new_issues` answers "how many issues will the customers open, per
segment, stage and reason, over the run [0, horizon]?" — the rows of
``journey_events`` with ``event == "contact"``. It is a check on the simulator
(the journey's bookkeeping of stages, drop-out, the repeat-purchase loop and
the at-most-one-contact-per-visit rule) and a quick volume forecast for
capacity planning before anything is run.

Model (the journey of :mod:`simsvc.model.journey` with ``customers.feedback:
false``, so nobody churns and nobody is referred):

* the initial customers enter their initial stages at time 0 (shares
  ``customers.initial_stages``), acquired customers enter need awareness at the
  constant rate ``customers.acquisition``; each segment takes its share;
* a visit to a stage lasts a dwell time D (``Customers.dwell_for``); at its end
  the customer drops out of a pre-purchase stage with the segment's drop-out
  probability, moves on, goes from post-purchase to loyalty (probability 1,
  there is no churn), and from loyalty back to purchase with probability
  ``repeat_purchase`` (else lapses);
* a visit entered at time e makes one contact, with probability
  p = min(1, contact_probability × contact_factor), at e + U·D (U uniform on
  [0, 1)); it counts if that is before the horizon H. So

      expected contacts = p · ∫ entry(e) · P(e + U·D < H) de,

  split by the stage's reason shares.

Method: time is discretised on a grid of ``steps`` points (dt = H / steps).
The expected number of stage entries at each grid point is propagated in time
order — entries at a point are complete once every earlier point and every
earlier stage at the same point has been processed — by spreading them over the
following points with the dwell time rounded to the nearest point. The
loyalty → purchase loop is causal on the grid because a loyalty dwell shorter
than dt/2 is moved to one step. The acquisitions of each step enter at its
start. P(U·D < x) = F(x) + x·E[1/D; D > x] is computed from the
dwell's CDF F on the same grid (plus a geometric grid beyond the horizon for
the tail), so no distribution needs a closed form. The errors are of order dt
per stage passed (for the dwell rounding) and vanish as ``steps`` grows; with
the default 4000 steps they are far below simulation noise.

Not modelled: churn and referrals (so the function refuses a scenario with
feedback on); the suppression of later contacts by a proactive follow-up
(``customers.proactive``: the result is then an upper bound for the reasons in
``proactive.reduces``; the follow-ups themselves are not inbound contacts and
are not counted); ``customers.contact_hours`` (the contact time is taken uniform
within the visit: the profile moves a contact by less than about a day, so only
contacts due in the horizon's last day may land on the other side of it — of the
order of a percent of a ten-day run, less for longer runs). A stage reason
missing from ``reasons`` is dropped and the rest renormalised, as the simulator
does.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from simsvc.config.customers import PRE_PURCHASE, STAGES
from simsvc.config.fields import Deterministic, Empirical, Exponential, Gamma, Lognormal, Uniform
from simsvc.config.schema import Scenario

PURCHASE, LOYALTY = STAGES.index("purchase"), STAGES.index("loyalty")


def _cdf(dist):
    """(F, upper): the dwell's CDF P(D ≤ x) as a vectorised function, and a point beyond which
    the probability left is negligible (1e-12)."""
    if isinstance(dist, (Deterministic, Empirical)) or (isinstance(dist, Uniform) and dist.high == dist.low):
        if isinstance(dist, Empirical):
            values = np.asarray(dist.values, dtype=float)
            w = np.ones(values.size) if dist.weights is None else np.asarray(dist.weights, dtype=float)
        else:
            values, w = np.array([dist.mean_s]), np.ones(1)
        w = w / w.sum()
        return (lambda x: np.sum(w * (np.asarray(x, float)[..., None] >= values), axis=-1)), float(values.max())
    if isinstance(dist, Exponential):
        frozen = stats.expon(scale=dist.mean)
    elif isinstance(dist, Uniform):
        frozen = stats.uniform(loc=dist.low, scale=dist.high - dist.low)
    elif isinstance(dist, Gamma):
        shape = 1.0 / dist.cv**2
        frozen = stats.gamma(shape, scale=dist.mean / shape)
    elif isinstance(dist, Lognormal):
        sigma = np.sqrt(np.log1p(dist.cv**2))
        frozen = stats.lognorm(sigma, scale=dist.mean * np.exp(-sigma**2 / 2))
    else:
        raise TypeError(f"unknown distribution {dist!r}")
    return frozen.cdf, float(frozen.isf(1e-12))


def _dwell_grid(dist, dt: float, steps: int, loop: bool) -> tuple[np.ndarray, np.ndarray]:
    """(q, g) on the grid k = 0..steps.

    q[k]: probability that the dwell, rounded to the nearest grid point, is k·dt (a loop stage
    moves k = 0 to k = 1 so the loop stays causal). g[k]: probability that a contact made at a
    uniform time within the visit comes less than k·dt after the visit began,
    P(U·D < x) = F(x) + x·E[1/D; D > x], with E[1/D; D > x] summed cell by cell (midpoints)."""
    F, upper = _cdf(dist)
    x = np.arange(steps + 1) * dt
    edges = np.concatenate([[0.0], (np.arange(steps) + 0.5) * dt, [np.inf]])
    q = np.diff(F(edges))
    q[0] = F(edges[1])  # with the atom at 0, if any
    if loop:
        q[1] += q[0]
        q[0] = 0.0
    # E[1/D; D > x]: cells [x_k, x_k+1) inside the horizon, then a geometric grid out to `upper`.
    Fx = F(x)
    tail_edges = np.geomspace(x[-1], max(upper, 2 * x[-1]), 4001)
    tail = np.sum(np.diff(F(tail_edges)) / np.sqrt(tail_edges[1:] * tail_edges[:-1]))
    inside = np.diff(Fx) / (x[1:] - dt / 2)
    inv_tail = np.concatenate([np.cumsum(inside[::-1])[::-1], [0.0]]) + tail
    return q, np.minimum(Fx + x * inv_tail, 1.0)


def _reason_shares(scenario: Scenario, stage: str) -> dict[str, float]:
    """The stage's reason mix, restricted to the scenario's reasons and renormalised."""
    mix = {r: p for r, p in scenario.customers.stage_contacts(stage).reasons.items()
           if r in scenario.reasons and p > 0}
    total = sum(mix.values())
    return {r: p / total for r, p in mix.items()} if total > 0 else {}


def expected_stage_entries(scenario: Scenario, steps: int = 4000) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Grid times t_k = k·H/steps (k < steps) and, per segment, the expected number of stage
    entries at each of them (an array of 7 stages × steps)."""
    cust = scenario.customers
    if cust.feedback:
        raise ValueError("expected volumes assume customers.feedback: false (no churn, no referrals)")
    H = scenario.horizon
    dt = H / steps
    n = steps + 1
    t = np.arange(n) * dt
    out = {}
    for name, seg in cust.segments.items():
        q = np.array([_dwell_grid(cust.dwell_for(name, s), dt, steps, loop=(s == "loyalty"))[0]
                      for s in STAGES])
        move_on = np.ones(len(STAGES))  # share of a stage's exits that enter the next stage
        for k, s in enumerate(PRE_PURCHASE):
            move_on[k] = 1.0 - cust.drop_out_for(name, s)
        move_on[LOYALTY] = seg.repeat_purchase  # → purchase; the rest lapse

        entries = np.zeros((len(STAGES), n))
        for s, share in cust.initial_stages.items():
            entries[STAGES.index(s), 0] += cust.initial * seg.share * share
        entries[0, :-1] += cust.acquisition * seg.share * dt
        exits = np.zeros((len(STAGES), n))
        for k in range(n):
            for s in range(len(STAGES)):  # in stage order: a stage's exits at k feed the next at k
                e = entries[s, k]
                if e:
                    exits[s, k:] += e * q[s, : n - k]
                if s != LOYALTY:
                    entries[s + 1, k] += move_on[s] * exits[s, k]
            if k + 1 < n:  # loyalty exits at k + 1 are complete now (its dwell is ≥ 1 step)
                entries[PURCHASE, k + 1] += move_on[LOYALTY] * exits[LOYALTY, k + 1]
        out[name] = entries[:, :-1]  # the last point holds what reaches the horizon or later
    return t[:-1], out


def expected_new_issues(scenario: Scenario, steps: int = 4000) -> pd.DataFrame:
    """Expected inbound stage contacts over [0, horizon]: columns segment, stage, reason, expected.

    One row per segment, stage and reason of the stage's mix (stages without reasons make no
    contacts and have no rows). See the module docstring for the model and its approximations.
    """
    cust = scenario.customers
    _, entries = expected_stage_entries(scenario, steps)
    dt = scenario.horizon / steps
    rows = []
    for name, seg in cust.segments.items():
        for k, stage in enumerate(STAGES):
            shares = _reason_shares(scenario, stage)
            if not shares:
                continue
            p = min(1.0, cust.stage_contacts(stage).contact_probability * seg.contact_factor)
            g = _dwell_grid(cust.dwell_for(name, stage), dt, steps, loop=False)[1]
            # a visit entered at t_j has H − t_j = (steps − j)·dt for its contact
            total = p * float(np.dot(entries[name][k], g[:0:-1]))
            rows += [(name, stage, reason, total * share) for reason, share in shares.items()]
    return pd.DataFrame(rows, columns=["segment", "stage", "reason", "expected"])
