"""The simulation clock in the planner's terms: days of the week, opening hours, schedules.

Time 0 is midnight at the start of ``scenario.start_day``; time is in seconds.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from simsvc.config.references import day_spec_days
from simsvc.config.schema import DAYS, Pool, Scenario
from simsvc.config.units import parse_clock

DAY_S = 86400.0
WEEK_S = 7 * DAY_S


def weekday(scenario: Scenario, day_index: int) -> int:
    """Day of the week (0 = monday) of simulation day ``day_index``."""
    return (DAYS.index(scenario.start_day) + day_index) % 7


class OpeningHours:
    """When a channel takes contacts: answers ``is_open(t)`` and ``next_open(t)``."""

    def __init__(self, scenario: Scenario, hours: object) -> None:
        self.always = hours == "24/7"
        spans: list[tuple[float, float]] = []  # seconds from the start of the simulation's week
        if not self.always:
            by_day: dict[int, tuple[float, float] | None] = {}
            for spec, span in hours.items():  # type: ignore[union-attr]
                value = None
                if span.strip().lower() != "closed":
                    a, b = (parse_clock(p) for p in span.split("-", 1))
                    value = (a, b)
                for d in day_spec_days(spec):
                    by_day[d] = value  # later entries override earlier ones
            for sim_day in range(7):
                span = by_day.get(weekday(scenario, sim_day))
                if span:
                    spans.append((sim_day * DAY_S + span[0], sim_day * DAY_S + span[1]))
        self._starts = [a for a, _ in spans]
        self._ends = [b for _, b in spans]

    def is_open(self, t: float) -> bool:
        if self.always:
            return True
        if not self._starts:
            return False
        w = t % WEEK_S
        k = bisect.bisect_right(self._starts, w) - 1
        return k >= 0 and w < self._ends[k]

    def next_open(self, t: float) -> float | None:
        """The first opening time at or after ``t`` (None if the channel never opens)."""
        if self.always:
            return t
        if not self._starts:
            return None
        week0 = t - t % WEEK_S
        w = t % WEEK_S
        k = bisect.bisect_left(self._starts, w)
        if k < len(self._starts):
            return week0 + self._starts[k]
        return week0 + WEEK_S + self._starts[0]


@dataclass(frozen=True)
class DutyChange:
    """At ``time_s``, ``delta`` agents of ``pool`` start (>0) or end (<0) duty.

    ``group`` ties the end of a shift to the agents who started it; ``None``
    (interval staffing) means any agent of the pool may be the one to leave.
    """

    time_s: float
    pool: str
    delta: int
    group: int | None


def integrate_pieces(starts: np.ndarray, lengths: np.ndarray, values: np.ndarray,
                     grid: np.ndarray) -> np.ndarray:
    """∫ of a piecewise-constant function (pieces ``[start, start + length)`` at ``value``)
    over each interval of ``grid``: arrivals from rates, agent-seconds from staffing levels."""
    out = np.zeros(len(grid) - 1)
    for a, n, v in zip(starts, lengths, values):
        out += np.clip(np.minimum(grid[1:], a + n) - np.maximum(grid[:-1], a), 0.0, None) * v
    return out


def effective(agents: int, shrinkage: float) -> int:
    """Agents actually available out of ``agents`` scheduled (rounded to nearest)."""
    return int(np.floor(agents * (1.0 - shrinkage) + 0.5))


def duty_changes(scenario: Scenario, name: str, pool: Pool) -> list[DutyChange]:
    """The pool's schedule as a time-ordered list of starts and ends of duty (after shrinkage)."""
    return [
        DutyChange(t, name, effective_delta, g)
        for t, effective_delta, g in schedule_changes(scenario, pool, pool.shrinkage)
    ]


def scheduled_agent_seconds(scenario: Scenario, pool: Pool, start: float, end: float) -> float:
    """Paid (scheduled, before shrinkage) agent-seconds in [start, end): the basis of cost."""
    changes = schedule_changes(scenario, pool, 0.0)
    total, level, last = 0.0, 0, start
    for t, delta, _ in changes:
        t_clip = min(max(t, start), end)
        total += level * (t_clip - last)
        last = t_clip
        level += delta
    total += level * (end - last)
    return total


def schedule_changes(scenario: Scenario, pool: Pool, shrinkage: float) -> list[tuple[float, int, int | None]]:
    horizon = scenario.horizon
    staffing = pool.staffing
    out: list[tuple[float, int, int | None]] = []
    if isinstance(staffing, int):
        n = effective(staffing, shrinkage)
        if n:
            out.append((0.0, n, None))
        return out
    n_days = int(np.ceil(horizon / DAY_S)) + 1
    if staffing.shifts is not None:
        group = 0
        for shift in staffing.shifts:
            days = shift.days if isinstance(shift.days, str) else ",".join(shift.days)
            on_days = set(day_spec_days(days))
            a, b = parse_clock(shift.start), parse_clock(shift.end)
            length = b - a if b > a else b + DAY_S - a  # a night shift runs past midnight
            n = effective(shift.agents, shrinkage)
            # Start one day early so a night shift from the day before covers time 0.
            for d in range(-1, n_days):
                if weekday(scenario, d) not in on_days or n == 0:
                    continue
                t0 = d * DAY_S + a
                t1 = t0 + length
                if t1 <= 0 or t0 >= horizon:
                    continue
                out.append((max(t0, 0.0), n, group))
                out.append((t1, -n, group))
                group += 1
        out.sort(key=lambda c: (c[0], c[1]))  # ends before starts at the same instant
        return out
    # Interval steps: a level per (day, clock time), held until the next step.
    levels = _step_levels(scenario, staffing.steps or [], n_days)
    current = 0
    for t, agents in levels:
        n = effective(agents, shrinkage)
        if n != current and t < horizon:
            out.append((t, n - current, None))
            current = n
    return out


def _step_levels(scenario: Scenario, steps: list, n_days: int) -> list[tuple[float, int]]:
    """Expand steps keyed by weekday, absolute day or ``all`` into (time, agents) levels."""
    absolute = [s for s in steps if isinstance(s.day, int)]
    if absolute:
        period = max(s.day for s in absolute) + 1
        base = sorted((s.day * DAY_S + parse_clock(s.start), s.agents) for s in absolute)
        levels = []
        for rep in range(int(np.ceil(n_days / period)) + 1):
            levels.extend((rep * period * DAY_S + t, a) for t, a in base)
        return levels
    per_weekday: dict[int, list[tuple[float, int]]] = {d: [] for d in range(7)}
    for s in steps:
        days = range(7) if s.day == "all" else [DAYS.index(s.day)]
        for d in days:
            per_weekday[d].append((parse_clock(s.start), s.agents))
    levels = []
    last = 0
    for d in range(n_days):
        todays = sorted(per_weekday[weekday(scenario, d)])
        if not todays or todays[0][0] > 0:
            # A day without a step at midnight keeps the previous level until its first step.
            todays = [(0.0, last)] + todays
        for clock, agents in todays:
            levels.append((d * DAY_S + clock, agents))
            last = agents
    return levels


def scheduled_per_interval(changes: list[tuple[float, int, object]], grid: np.ndarray) -> np.ndarray:
    """Scheduled agent-seconds in each interval of ``grid``, from time-ordered schedule changes.

    One walk over changes and intervals together (linear in both), where calling
    :func:`scheduled_agent_seconds` per interval re-expands
    the whole schedule each time. Each interval's total is summed term by term in
    the same order as that function does, so the numbers are identical to the bit.
    """
    changes = sorted(changes, key=lambda c: c[0])  # stable: already in order, ties kept as given
    out = np.empty(len(grid) - 1)
    level, k, n = 0, 0, len(changes)
    for i in range(len(grid) - 1):
        a, b = grid[i], grid[i + 1]
        while k < n and changes[k][0] <= a:  # before or at the interval's start: adds nothing
            level += changes[k][1]
            k += 1
        total, last = 0.0, a
        while k < n and changes[k][0] < b:
            t = changes[k][0]
            total += level * (t - last)
            last = t
            level += changes[k][1]
            k += 1
        out[i] = total + level * (b - last)
    return out
