"""Scheduled agents and agents on duty, as the simulator relates them, for the plans.

A plan is *scheduled* agents per pool × interval (what a planner rosters and pays).
The simulator puts on duty

* without ``availability``: round(scheduled × (1 − shrinkage)), whole agents
  (per staffing step or per shift entry);
* with ``availability`` a per interval: scheduled × (1 − shrinkage) × a, kept
  fractional (6.4 = six agents all interval and a seventh for a random 40 % of
  it; :func:`simsvc.domain.calendar.fractional_duty`).

So the fewest scheduled agents that leave ``net`` on duty is ceil(net / (1 − s))
without availability and ceil(net / ((1 − s) × a)) with it, as ``simsvc
requirements`` grosses up. An interval with a = 0 has nobody on duty whatever is
scheduled: a need there cannot be planned (:func:`check_available` says where).
``a`` is the interval's mean availability; a plan holds one level per interval,
so its mean on duty is exactly scheduled × (1 − s) × a.
"""
from __future__ import annotations

import numpy as np

from simsvc.analytic.requirements import gross_up
from simsvc.config.schema import Scenario
from simsvc.domain.calendar import availability_per_interval, on_duty_changes, scheduled_per_interval
from simsvc.plan import PlanError

# A level within this of a whole number is that number (float fuzz of scheduled × (1 − s) × a).
FUZZ = 1e-9


def availability(scenario: Scenario, pool: str, grid: np.ndarray) -> np.ndarray | None:
    """Mean availability of the pool in each interval of ``grid``; None for a pool without it."""
    spec = scenario.agents[pool]
    return availability_per_interval(scenario, spec, grid) if spec.availability is not None else None


def scheduled_for(net: np.ndarray, shrinkage: float, avail: np.ndarray | None = None) -> np.ndarray:
    """The fewest scheduled agents that leave ``net`` on duty (0 where ``net`` ≤ 0).

    Without availability exactly :func:`~simsvc.analytic.requirements.gross_up`.
    With it, ceil(net / ((1 − s) × a)); call :func:`check_available` first (a need
    where a = 0 has no answer and raises here).
    """
    if avail is None:
        return gross_up(net, shrinkage)
    net = np.asarray(net, dtype=float)
    if not 0.0 <= shrinkage < 1.0:
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage!r}")
    need = net > FUZZ
    if np.any(need & (avail <= 0)):
        raise PlanError("a need in an interval with availability 0 (check_available names it)")
    out = np.zeros(len(net), dtype=np.int64)
    keep = (1.0 - shrinkage) * avail[need]
    out[need] = np.ceil(net[need] / keep - FUZZ).astype(np.int64)
    return out


def need_and_scheduled(net: np.ndarray, shrinkage: float, avail: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The need a plan's on-duty level is held to, and the fewest scheduled agents for it.

    Without availability the simulator puts whole agents on duty, so the need is
    ceil(net) and the schedule ceil(need / (1 − s)); with it on duty is fractional,
    so the need is ``net`` as given (a staffing table's level) and the schedule
    ceil(need / ((1 − s) × a)). Negative needs are 0. Call :func:`check_available`
    first where availability may be 0.
    """
    net = np.asarray(net, dtype=float)
    need = np.maximum(net if avail is not None else np.ceil(net - FUZZ), 0.0)
    return need, scheduled_for(need, shrinkage, avail)


def on_duty_of(scheduled: np.ndarray, shrinkage: float, avail: np.ndarray | None = None) -> np.ndarray:
    """Agents on duty the simulator derives from a per-interval schedule (see the module doc):
    whole agents rounded to nearest without availability, fractional with it."""
    scheduled = np.asarray(scheduled)
    if avail is None:
        return np.floor(scheduled * (1.0 - shrinkage) + 0.5).astype(np.int64)
    return scheduled * (1.0 - shrinkage) * avail


def whole(on_duty: np.ndarray) -> np.ndarray:
    """Whole agents on duty all interval (the fractional agent dropped; float fuzz forgiven)."""
    return np.floor(np.asarray(on_duty, dtype=float) + FUZZ).astype(np.int64)


def check_available(scenario: Scenario, pool: str, net: np.ndarray, avail: np.ndarray | None,
                    grid: np.ndarray, what: str) -> None:
    """One clear message for the intervals in which ``net`` agents are needed but availability is 0."""
    if avail is None:
        return
    bad = np.flatnonzero((np.asarray(net, dtype=float) > FUZZ) & (avail <= 0))
    if not len(bad):
        return
    from simsvc.plan.requirements import interval_labels

    days, clocks = interval_labels(scenario, grid)
    i = int(bad[0])
    more = f" (and {len(bad) - 1} more interval{'s' if len(bad) > 2 else ''})" if len(bad) > 1 else ""
    raise PlanError(f"{what}: pool {pool!r}, day {days[i]} {clocks[i]} (interval {i}): {net[i]:g} agents "
                    f"needed on duty but agents.{pool}.availability is 0 then{more}, so no schedule puts "
                    "anyone on duty; raise the availability there or close the channels in those hours")


def on_duty_levels(scenario: Scenario, pool: str, grid: np.ndarray) -> np.ndarray:
    """Mean agents on duty per interval as the simulator runs the pool's schedule (with availability:
    the fractional level; without it use :func:`simsvc.plan.roster_io.levels`, the rounded one)."""
    changes = on_duty_changes(scenario, scenario.agents[pool])
    return scheduled_per_interval(changes, grid) / np.diff(grid)
