"""The staffing that pays (journey mode): net value per staffing level, on common random numbers.

A *level* is a staffing of the varied pools: either the scenario's own schedule
scaled by a factor, or a constant number of scheduled agents per pool. Every
level is simulated with the same root seed (common random numbers: the same
customers, needs and patience draws), so the paired difference of a metric
between two levels is sharper than the difference of their means.

Money per level (summary metrics of the measurement window, README "Summary metrics")
    ``revenue``                purchases × value taken in the window;
    ``revenue_lost_to_churn``  expected future purchases of the customers who churned
                               in the window: the change in the customer base's
                               lifetime value that service drives (gross, not margin);
    ``clv_mean``               mean lifetime value of the customers who bought (margin,
                               discounted; informative: a per-customer figure);
    ``agent_cost``             scheduled agent hours × cost per hour;
    ``net_value``              revenue − revenue_lost_to_churn − agent_cost, i.e. the
                               issue's "revenue + CLV change − agent cost" with the
                               CLV change counted as the future revenue lost to churn.

Decision: the best level has the highest mean ``net_value``. Every other level
gets its paired difference to the best with a 95 % CI; a level whose CI
contains zero is *not distinguishable* from the best at these replications, so
the answer is the set {best + not distinguishable}, not a single number.

Scaling rule: each shift's (or step's, or the constant's) agents become
``floor(agents × factor + 0.5)`` (round half up, per shift), so a factor keeps
the schedule's shape; the achieved agent hours are reported per level, since
rounding small shifts moves them away from the exact factor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from simsvc.config.load import ScenarioError, scenario_dict, validate
from simsvc.config.schema import Pool, Scenario, Staffing
from simsvc.plan import PlanError

Progress = Callable[[str, int, int], None]   # (level name, replications done, replications of the level)

ALL = "all"
NET = "net_value"
# Reported per level (metric, channel); the money first, churn for context.
METRICS: tuple[tuple[str, str], ...] = (
    ("revenue", ALL), ("revenue_lost_to_churn", ALL), ("clv_mean", ALL), ("agent_cost", ALL), (NET, ALL),
    ("churned", ALL), ("service_level", ALL), ("abandon_rate", ALL))
BEST, SAME, WORSE = "best", "not distinguishable", "worse"


@dataclass(frozen=True)
class Level:
    """One staffing of the varied pools."""

    name: str
    factor: float | None               # schedule scaling, or None for agent counts
    agents: dict[str, int] | None      # constant scheduled agents per pool, or None for a scaling
    own: bool                          # the scenario's own staffing (the reference of the differences)
    scenario: Scenario
    staffing: dict[str, Any]           # pool -> the staffing as written in a scenario file


@dataclass
class ProfitResult:
    levels: list[Level]
    table: pd.DataFrame        # one row per level (see :func:`level_table`)
    per_replication: pd.DataFrame   # level, replication, channel, metric, value
    best: Level
    seed: int
    replications: int
    vary_pools: tuple[str, ...]
    edge: bool                 # the best level is the lowest or highest evaluated


# --------------------------------------------------------------------------- levels
def parse_factors(text: str) -> list[float]:
    """``0.7:1.3:0.1`` (inclusive range) or ``0.8,1,1.2``: positive scaling factors."""
    from simsvc.experiment.design import vary_values

    items = [v.strip() for v in text.split(",")]
    if ":" not in text and any(items) and not all(items):   # '1,,2' (',' alone: no levels, below)
        raise PlanError(f"--levels {text!r}: an empty item; expected START:STOP:STEP or a list such as 0.8,1,1.2")
    try:
        values = vary_values(text.split(",") if ":" not in text else text, f"--levels {text}")
        factors = [float(v) for v in values if str(v).strip() != ""]
    except ValueError as exc:
        raise PlanError(f"--levels {text!r}: {exc}; expected START:STOP:STEP or a list such as 0.8,1,1.2") from None
    if not factors:
        raise PlanError(f"--levels {text!r}: no levels; expected START:STOP:STEP or a list such as 0.8,1,1.2")
    bad = [f for f in factors if not math.isfinite(f) or f < 0]
    if bad:
        raise PlanError(f"--levels {text!r}: {bad[0]:g} is not a scaling factor (a number >= 0)")
    return sorted(dict.fromkeys(round(f, 9) for f in factors))


def parse_agents(texts: tuple[str, ...]) -> dict[str, list[int]]:
    """``POOL=N1,N2,…`` per option (repeatable); every pool gets the same number of values."""
    out: dict[str, list[int]] = {}
    for text in texts:
        pool, sep, spec = text.partition("=")
        pool = pool.strip()
        try:
            values = [int(v) for v in spec.split(",")] if sep else []   # an empty item is no number
        except ValueError:
            values = []
        if not pool or not values or any(v < 0 for v in values):
            raise PlanError(f"--agents {text!r}: expected POOL=N1,N2,... with whole numbers >= 0, "
                            "e.g. service=20,24,28")
        if pool in out:
            raise PlanError(f"--agents: pool {pool!r} given twice")
        out[pool] = values
    sizes = {len(v) for v in out.values()}
    if len(sizes) > 1:
        raise PlanError("--agents: every pool needs the same number of values (level k takes the k-th of "
                        f"each); got {', '.join(f'{p}: {len(v)}' for p, v in out.items())}")
    return out


def _round(x: float) -> int:
    return int(math.floor(x + 0.5))


def scaled_staffing(pool: Pool, factor: float) -> Any:
    """The pool's staffing with every agents count × factor (round half up), in file form.

    Other staffing forms are set to null so that the result can override a parent
    scenario's staffing through ``extends:`` (a CSV becomes inline steps).
    """
    s = pool.staffing
    if not isinstance(s, Staffing):
        return _round(s * factor)
    if s.shifts is not None:
        rows = [{**sh.model_dump(mode="json"), "agents": _round(sh.agents * factor)} for sh in s.shifts]
        return {"shifts": rows, "steps": None, "csv": None}
    rows = [{**st.model_dump(mode="json"), "agents": _round(st.agents * factor)} for st in s.steps]
    return {"steps": rows, "shifts": None, "csv": None}


def _with(scenario: Scenario, staffing: dict[str, Any], name: str) -> Scenario:
    data = scenario_dict(scenario)
    for pool, spec in staffing.items():
        data["agents"][pool]["staffing"] = {k: v for k, v in spec.items() if v is not None} \
            if isinstance(spec, dict) else spec
    try:
        return validate(data, file=f"{scenario.name} ({name})")
    except ScenarioError as exc:
        raise PlanError(f"staffing level {name}: {exc}") from None


def staffing_levels(scenario: Scenario, vary_pools: tuple[str, ...] | None = None,
                    factors: list[float] | None = None,
                    agents: dict[str, list[int]] | None = None) -> list[Level]:
    """The levels to evaluate, the scenario's own staffing always among them (the reference).

    ``factors`` scale each varied pool's schedule (default 0.7 … 1.3 by 0.1);
    ``agents`` instead gives per pool a list of constant scheduled agents (level k
    takes the k-th value of every pool; ``vary_pools`` is then the pools named).
    """
    if scenario.customers is None:
        raise PlanError(f"{scenario.name}: --objective profit needs a journey-mode scenario (a customers: "
                        "section), since revenue and churn come from the customers; this one is forecast mode")
    if factors is not None and agents:
        raise PlanError("give either --levels (a scaling of the schedule) or --agents (agent counts), not both")
    if agents:
        pools = tuple(agents)
        if vary_pools and set(vary_pools) != set(pools):
            raise PlanError(f"--vary-pools {','.join(vary_pools)} differs from the pools of --agents "
                            f"({','.join(pools)}); give one of them")
    else:
        pools = tuple(vary_pools) if vary_pools else tuple(scenario.agents)
    option = "--agents" if agents else "--vary-pools"   # the option the pools came from
    if not pools:
        raise PlanError(f"{option}: no pool given")
    unknown = [p for p in pools if p not in scenario.agents]
    if unknown:
        raise PlanError(f"{option}: {', '.join(map(repr, unknown))} is not a pool of {scenario.name} "
                        f"(pools: {', '.join(scenario.agents)})")
    if len(set(pools)) != len(pools):
        raise PlanError(f"{option}: a pool is named twice ({','.join(pools)})")
    own_staffing = {p: scaled_staffing(scenario.agents[p], 1.0) for p in pools}
    own = Level("own" if agents else "x1", None if agents else 1.0, None, True, scenario, own_staffing)
    levels: list[Level] = []
    if agents:
        for k in range(len(next(iter(agents.values())))):
            counts = {p: agents[p][k] for p in pools}
            name = ",".join(f"{p}={n}" for p, n in counts.items())
            if any(lv.name == name for lv in levels):
                raise PlanError(f"--agents: the level {name} is given twice")
            levels.append(Level(name, None, counts, False, _with(scenario, counts, name), counts))
        return [own] + levels
    for f in factors if factors is not None else [round(0.7 + 0.1 * k, 9) for k in range(7)]:
        if f == 1.0:
            levels.append(own)
            continue
        name = f"x{f:g}"
        staffing = {p: scaled_staffing(scenario.agents[p], f) for p in pools}
        levels.append(Level(name, f, None, False, _with(scenario, staffing, name), staffing))
    if not any(lv.own for lv in levels):
        levels.append(own)
        levels.sort(key=lambda lv: lv.factor)
    if len(levels) < 2:
        raise PlanError("--levels: give at least one factor other than 1 (1 is the scenario's own staffing, "
                        "always evaluated)")
    return levels


# --------------------------------------------------------------------------- evaluation
def evaluate(scenario: Scenario, levels: list[Level], replications: int | None = None, seed: int | None = None,
             workers: int = 1, progress: Progress | None = None) -> ProfitResult:
    """Simulate every level on common random numbers and rank them by net value."""
    from simsvc.experiment.runner import resolve_seed, run

    reps = int(replications if replications is not None else scenario.replications)
    if reps < 2:
        raise PlanError("--reps: at least 2 replications (a CI needs two)")
    root = resolve_seed(scenario, seed)
    frames = []
    for lv in levels:
        res = run(lv.scenario, replications=reps, seed=root, workers=workers, keep_contacts=False,
                  progress=(lambda d, t, n=lv.name: progress(n, d, t)) if progress else None)
        frames.append(res.per_replication.assign(level=lv.name))
        del res
    per_rep = pd.concat(frames, ignore_index=True)
    wanted = pd.MultiIndex.from_tuples(METRICS, names=["metric", "channel"])
    keep = pd.MultiIndex.from_frame(per_rep[["metric", "channel"]]).isin(wanted)
    per_rep = per_rep[keep][["level", "replication", "channel", "metric", "value"]].reset_index(drop=True)
    if NET not in set(per_rep["metric"]):
        raise PlanError(f"{scenario.name}: the runs report no net_value (journey mode without revenue?)")
    table = level_table(scenario, levels, per_rep)
    best_name = table.loc[table["verdict"] == BEST, "level"].iloc[0]
    best = next(lv for lv in levels if lv.name == best_name)
    order = [lv.name for lv in levels]
    edge = len(levels) > 1 and order.index(best_name) in (0, len(order) - 1) and not any(
        lv.agents for lv in levels)
    return ProfitResult(levels, table, per_rep, best, root, reps, tuple(levels[0].staffing), edge)


def level_table(scenario: Scenario, levels: list[Level], per_rep: pd.DataFrame) -> pd.DataFrame:
    """One row per level: ``level, factor, own, agent_hours`` (varied pools, after the warm-up),
    per metric its mean with 95 % CI and the paired difference to the own level with CI,
    then ``net_value_vs_best`` with CI and ``verdict`` (best / not distinguishable / worse)."""
    from simsvc.domain.calendar import scheduled_agent_seconds
    from simsvc.experiment.experiment import paired_differences

    names = {lv.name: lv.name for lv in levels}
    own = next(lv.name for lv in levels if lv.own)
    keyed = per_rep.rename(columns={"level": "variant"})
    vs_own = paired_differences(keyed, [own] + [lv.name for lv in levels if lv.name != own], names)
    means = vs_own[vs_own.metric == NET].set_index("variant")["mean"]
    best = max((lv.name for lv in levels), key=lambda n: (means.get(n, -math.inf), -list(names).index(n)))
    vs_best = paired_differences(keyed, [best] + [lv.name for lv in levels if lv.name != best], names)
    vs_best = vs_best[vs_best.metric == NET].set_index("variant")
    pools = [p for p in levels[0].staffing]
    rows = []
    for lv in levels:
        row: dict[str, Any] = {"level": lv.name, "factor": lv.factor, "own": lv.own}
        hours = sum(scheduled_agent_seconds(lv.scenario, lv.scenario.agents[p], float(scenario.warmup),
                                            float(scenario.horizon)) for p in pools) / 3600.0
        row["agent_hours"] = hours
        mine = vs_own[vs_own.variant == lv.name].set_index(["metric", "channel"])
        for metric, channel in METRICS:
            col = metric if channel == ALL else f"{metric}@{channel}"
            r = mine.loc[(metric, channel)] if (metric, channel) in mine.index else None
            for suffix, key in (("", "mean"), ("_ci_low", "ci_low"), ("_ci_high", "ci_high"),
                                ("_diff", "diff"), ("_diff_low", "diff_low"), ("_diff_high", "diff_high")):
                row[col + suffix] = float(r[key]) if r is not None else np.nan
        b = vs_best.loc[lv.name]
        row.update({"net_value_vs_best": float(b["diff"]), "net_value_vs_best_low": float(b["diff_low"]),
                    "net_value_vs_best_high": float(b["diff_high"])})
        row["verdict"] = BEST if lv.name == best else (WORSE if b["significant"] else SAME)
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- files
def best_scenario_yaml(scenario: Scenario, scenario_path: str, out_dir: str, result: ProfitResult) -> str:
    """A scenario that ``extends:`` the input with the best level's staffing (runs as it is)."""
    import os
    from pathlib import Path

    import yaml

    best = result.best
    rel = os.path.relpath(Path(scenario_path).resolve(), Path(out_dir).resolve())
    doc = {"extends": rel, "name": f"{scenario.name}_profit",
           "description": (f"The staffing level with the highest net value ({best.name}) among "
                           f"{len(result.levels)} levels, {result.replications} replications, seed {result.seed}"),
           "agents": {p: {"staffing": s} for p, s in best.staffing.items()}}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
