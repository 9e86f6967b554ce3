"""Shifts from interval requirements: a set-covering integer program per pool.

Columns (explicit form)
    One candidate shift per (shift type, weekday, start, length, break offset),
    enumerated from the rules. A shift with an unpaid break covers the intervals
    from its start to its end except those of the break; it is paid for its
    length minus the break. The explicit form (one column per break position,
    rather than Aykin's implicit break variables) keeps the model a plain set
    covering problem that HiGHS solves in seconds at the sizes rules produce
    (a few thousand columns per pool a week), and every column maps one-to-one to
    what the ``shifts:`` block can express. A weekday column covers that weekday
    on every simulated day that falls on it (the ``shifts:`` block is weekly).

Net and gross
    Requirements are agents *on duty* (net of shrinkage) per interval; the paid
    plan is *scheduled* agents. The simulator turns each ``shifts:`` entry of x
    scheduled agents into round(x · (1 − shrinkage)) on duty. The program keeps
    both. The program covers per interval the gross requirement, Σ scheduled ≥
    ceil(net / (1 − shrinkage)), so splitting shifts into many entries of one
    agent cannot round shrinkage away. Its solution is then checked the way the
    simulator will read it, Σ round(x · (1 − shrinkage)) ≥ net; where per-entry
    rounding leaves an interval short, that interval's gross requirement is
    raised by the shortfall and the program solved again (a few rounds at most).
    Modelling the rounding exactly (an integer on-duty variable per column)
    made HiGHS ten times slower on the baseline for a handful of intervals.
    The LP bound is the relaxation of the first program: a valid lower bound
    for the repaired one too (its feasible set only shrinks).

Pools with availability per interval
    The simulator keeps such a pool's on-duty level fractional, x · (1 − s) · a
    in an interval with availability a, summed over the shifts (no per-entry
    rounding). The gross requirement is ceil(net / ((1 − s) · a)) (net may be
    fractional: a staffing table's on-duty level), and the read-back is
    (Σ scheduled) · (1 − s) · a ≥ net: the gross cover implies it, so no repair is
    needed. An interval with a = 0 and a need is refused with one message.

Objective: paid cost = Σ paid hours within the horizon × cost per paid hour.
Solved with ``scipy.optimize.milp`` (HiGHS) under a time limit and a relative
gap; the LP relaxation's optimum is reported beside it as the lower bound.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from simsvc.config.schema import DAYS, Scenario
from simsvc.domain.calendar import DAY_S, effective, weekday
from simsvc.plan import PlanError
from simsvc.plan.on_duty import availability, check_available, need_and_scheduled
from simsvc.plan.requirements import interval_grid, interval_labels
from simsvc.plan.rules import PoolRules, Rules


#: Re-solves at most this many times for the shifts' rounding of shrinkage (see module doc).
MAX_REPAIRS = 30


@dataclass(frozen=True)
class RosterOptions:
    time_limit_s: float = 60.0   # per pool
    mip_rel_gap: float = 0.002


@dataclass(frozen=True)
class Column:
    """A candidate shift: on ``weekday`` from ``start_s`` (seconds after midnight) for ``length_s``,
    with an unpaid break at ``break_s`` after the start (None: no break)."""

    type_index: int
    weekday: int
    start_s: float
    length_s: float
    break_s: float | None
    break_len_s: float
    min_agents: int
    max_agents: int

    @property
    def paid_s(self) -> float:
        return self.length_s - (self.break_len_s if self.break_s is not None else 0.0)

    def pieces(self) -> list[tuple[float, float]]:
        """Worked spans (offset from the day's midnight, end) of one occurrence."""
        a, b = self.start_s, self.start_s + self.length_s
        if self.break_s is None:
            return [(a, b)]
        return [(a, a + self.break_s), (a + self.break_s + self.break_len_s, b)]


@dataclass
class PoolRoster:
    pool: str
    columns: list[Column]
    agents: np.ndarray       # scheduled agents per column
    on_duty_floor: np.ndarray  # round(agents · (1 − s)) per column (with availability: agents · (1 − s), × a)
    cost: float
    paid_hours: float
    lp_bound: float
    mip_bound: float
    status: str
    solve_s: float
    n_columns: int
    repairs: int = 0   # intervals whose gross requirement was raised for the shifts' rounding
    first_cost: float = float("nan")  # cost of the first solve, before those raises

    @property
    def gap_to_lp(self) -> float:
        return (self.cost - self.lp_bound) / self.lp_bound if self.lp_bound > 0 else 0.0


@dataclass
class Roster:
    pools: dict[str, PoolRoster] = field(default_factory=dict)


def candidate_columns(scenario: Scenario, rules: PoolRules) -> list[Column]:
    grid = scenario.interval
    out = []
    for k, st in enumerate(rules.shift_types):
        blen = st.break_.length if st.break_ is not None else 0.0
        for w in st.weekdays():
            for a in st.starts.clocks_s():
                for length in st.lengths.values_s():
                    for b in st.break_offsets_s(length, grid):
                        out.append(Column(k, w, a, length, b, blen, st.min_agents, st.max_agents))
    return out


def coverage_matrix(scenario: Scenario, columns: list[Column]) -> tuple[sparse.csr_array, np.ndarray]:
    """(intervals × columns 0/1 matrix of duty, paid seconds of each column within the horizon)."""
    grid = interval_grid(scenario)
    n = len(grid) - 1
    n_days = int(math.ceil(scenario.horizon / DAY_S)) + 1
    days_of = {w: [d for d in range(-1, n_days) if weekday(scenario, d) == w] for w in range(7)}
    rows, cols = [], []
    paid = np.zeros(len(columns))
    for j, c in enumerate(columns):
        for d in days_of[c.weekday]:
            for a, b in c.pieces():
                t0, t1 = max(d * DAY_S + a, 0.0), min(d * DAY_S + b, scenario.horizon)
                if t1 <= t0:
                    continue
                paid[j] += t1 - t0
                first = int(np.searchsorted(grid, t0, side="right")) - 1
                last = int(np.searchsorted(grid, t1, side="left"))
                for i in range(first, min(last, n)):
                    rows.append(i)
                    cols.append(j)
    data = np.ones(len(rows))
    a = sparse.csr_array((data, (rows, cols)), shape=(n, len(columns)))
    a.sum_duplicates()
    a.data[:] = 1.0
    return a, paid


def _label(scenario: Scenario, i: int) -> str:
    grid = interval_grid(scenario)
    days, clocks = interval_labels(scenario, grid)
    return f"day {days[i]} ({DAYS[weekday(scenario, int(days[i]))]}) {clocks[i]} (interval {i})"


def roster_pool(scenario: Scenario, pool: str, rules: PoolRules, net: np.ndarray,
                options: RosterOptions = RosterOptions(), gross: np.ndarray | None = None) -> PoolRoster:
    """The cheapest shifts for one pool that cover ``net`` agents on duty in every interval
    (and ``gross`` scheduled; default ceil(net / ((1 − shrinkage) × availability)))."""
    shrink = scenario.agents[pool].shrinkage
    rate = rules.cost_per_hour if rules.cost_per_hour is not None else scenario.agents[pool].cost_per_hour
    grid = interval_grid(scenario)
    avail = availability(scenario, pool, grid)
    check_available(scenario, pool, np.asarray(net, dtype=float), avail, grid, "roster")
    net, computed = need_and_scheduled(net, shrink, avail)   # with availability the need stays fractional
    if gross is None:
        gross = computed
    # scheduled ≥ on duty (and with availability ≥ what leaves net on duty)
    gross = np.maximum(np.ceil(np.asarray(gross, dtype=float) - 1e-9).astype(np.int64),
                       np.ceil(net - 1e-9).astype(np.int64) if avail is None else computed)
    columns = candidate_columns(scenario, rules)
    a, paid_s = coverage_matrix(scenario, columns)
    keep = np.flatnonzero(paid_s > 0)
    columns = [columns[j] for j in keep]
    a, paid_s = a[:, keep], paid_s[keep]
    m = len(columns)
    x_max = np.array([c.max_agents for c in columns], dtype=float)

    def on_duty_of(x: np.ndarray) -> np.ndarray:
        """Agents on duty per interval as the simulator reads shifts of ``x`` agents each."""
        if avail is None:
            return a @ np.array([effective(int(v), shrink) for v in x], dtype=float)
        return (a @ np.asarray(x, dtype=float)) * (1.0 - shrink) * avail

    _check_coverable(scenario, pool, a @ x_max, on_duty_of(x_max), gross, net)
    if m == 0 or not gross.any():
        return PoolRoster(pool, [], np.zeros(0, np.int64), np.zeros(0, np.int64), 0.0, 0.0, 0.0, 0.0,
                          "nothing to cover", 0.0, m, first_cost=0.0)
    cost = paid_s / 3600.0 * rate
    # A tiny cost on paid seconds breaks ties between equally priced plans towards
    # fewer paid hours (a pool whose rate is 0 still gets a sensible roster).
    c = cost + paid_s * 1e-9
    x_min = np.array([col.min_agents if col.min_agents > 1 else 0 for col in columns], dtype=float)
    integrality = np.where(x_min > 0, 3, 1)   # 3: semi-integer, 0 or within [min, max]
    t0 = time.perf_counter()
    lp = milp(c, integrality=np.zeros(m), bounds=Bounds(np.zeros(m), x_max),
              constraints=[LinearConstraint(a, lb=gross, ub=np.inf)], options={"time_limit": options.time_limit_s})
    need = gross.copy()
    first_cost = float("nan")
    for round_ in range(MAX_REPAIRS):
        res = milp(c, integrality=integrality, bounds=Bounds(x_min, x_max),
                   constraints=[LinearConstraint(a, lb=need, ub=np.inf)],
                   options={"time_limit": options.time_limit_s, "mip_rel_gap": options.mip_rel_gap, "disp": False})
        if res.x is None:
            break
        x = np.round(res.x).astype(np.int64)
        if round_ == 0:
            first_cost = float(cost @ x)
        short = net - on_duty_of(x)
        if (short <= 1e-9).all():
            break
        need = np.where(short > 1e-9, np.maximum(need, a @ x) + np.ceil(short - 1e-9), need).astype(np.int64)
    else:
        raise PlanError(f"pool {pool!r}: after {MAX_REPAIRS} rounds the shifts' rounding of shrinkage still "
                        "leaves intervals short of the net requirement; report this with the rules file")
    solve_s = time.perf_counter() - t0
    if res.x is None:
        if res.status == 2:
            raise PlanError(f"pool {pool!r}: no roster covers the requirement within the rules' "
                            "min_agents/max_agents (the integer program is infeasible)")
        raise PlanError(f"pool {pool!r}: the solver found no roster within {options.time_limit_s:g} s "
                        f"({res.message}); raise --time-limit or allow fewer shift types")
    used = np.flatnonzero(x > 0)
    status = "optimal within gap" if res.status == 0 else "time limit (best found)"
    lp_bound = float(cost @ lp.x) if lp.x is not None else float("nan")
    mip_bound = getattr(res, "mip_dual_bound", None)
    mip_bound = float(mip_bound) if mip_bound is not None and (need == gross).all() else float("nan")
    return PoolRoster(
        pool=pool, columns=[columns[j] for j in used], agents=x[used],
        on_duty_floor=(np.array([effective(int(v), shrink) for v in x[used]], dtype=np.int64) if avail is None
                       else x[used] * (1.0 - shrink)),
        cost=float(cost[used] @ x[used]), paid_hours=float(paid_s[used] @ x[used] / 3600.0),
        lp_bound=lp_bound, mip_bound=mip_bound, status=status, solve_s=solve_s, n_columns=m,
        repairs=int((need > gross).sum()), first_cost=first_cost)


def gross_agents(net: int, shrinkage: float) -> int:
    """The fewest scheduled agents that leave ``net`` on duty: ceil(net / (1 − shrinkage))."""
    from simsvc.analytic.requirements import gross_up

    return int(gross_up(np.array([net]), shrinkage)[0]) if net > 0 else 0


def _check_coverable(scenario: Scenario, pool: str, cap_x, cap_y, gross, net) -> None:
    """One clear message for the first interval that no allowed shift can cover (``cap_x``: most
    agents on shift under the rules' max_agents, ``cap_y``: most on duty)."""
    for i in range(len(gross)):
        if gross[i] > 0 and cap_x[i] == 0:
            raise PlanError(f"pool {pool!r}, {_label(scenario, i)}: {gross[i]} agents required but no shift "
                            "of the rules covers this interval (widen starts, lengths or days)")
        if gross[i] > cap_x[i] or net[i] > cap_y[i] + 1e-9:
            raise PlanError(f"pool {pool!r}, {_label(scenario, i)}: {gross[i]} agents required "
                            f"({net[i]:g} on duty) but the rules' max_agents allow at most {int(cap_x[i])} on "
                            "shift then (raise max_agents or allow more shift types)")


def roster(scenario: Scenario, rules: Rules, net: dict[str, np.ndarray],
           options: RosterOptions = RosterOptions(), gross: dict[str, np.ndarray] | None = None) -> Roster:
    """Roster every pool of ``net`` (agents on duty per interval) under its rules; ``gross``
    (scheduled agents per interval) where known, else ceil(net / ((1 − shrinkage) × availability))."""
    out = Roster()
    for pool, need in net.items():
        out.pools[pool] = roster_pool(scenario, pool, rules.pools[pool], need, options,
                                      (gross or {}).get(pool))
    return out
