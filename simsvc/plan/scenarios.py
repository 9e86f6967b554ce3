"""Scenarios with a planned staffing: in memory (to simulate) and on disk (to re-run by hand).

A plan is the scheduled agents per pool × interval. In memory it becomes interval
``steps`` with absolute day numbers (``day: 0, 1, …`` repeat cyclically, so one
row per interval of the horizon reproduces the plan exactly). On disk it is one
``staffing_<pool>.csv`` per pool (columns ``day,start,agents``, what
``staffing: {csv: ...}`` loads) and a scenario YAML that ``extends:`` the input.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import yaml

from simsvc.config.load import scenario_dict, validate
from simsvc.config.names import file_stem
from simsvc.config.schema import Scenario, Staffing
from simsvc.plan import PlanError


def _check_grid(scenario: Scenario) -> None:
    if scenario.interval % 60 != 0:
        raise PlanError(f"interval = {scenario.interval:g} s: staffing plans need an interval of whole "
                        "minutes (steps start at HH:MM)")


def staffing_rows(scenario: Scenario, scheduled: np.ndarray) -> list[dict]:
    """``[{day, start, agents}, …]``, one row per interval (absolute day numbers)."""
    _check_grid(scenario)
    rows = []
    for k, agents in enumerate(np.asarray(scheduled, dtype=np.int64)):
        t = int(round(k * scenario.interval))
        day, sec = divmod(t, 86400)
        rows.append({"day": day, "start": f"{sec // 3600:02d}:{(sec % 3600) // 60:02d}", "agents": int(agents)})
    return rows


def with_staffing(scenario: Scenario, plan: dict[str, np.ndarray]) -> Scenario:
    """The scenario with each planned pool scheduled per interval as ``plan`` says."""
    data = scenario_dict(scenario)
    for pool, scheduled in plan.items():
        data["agents"][pool]["staffing"] = {"steps": staffing_rows(scenario, scheduled)}
    return validate(data, file=f"{scenario.name} (staffing plan)")


def staffing_csv(scenario: Scenario, scheduled: np.ndarray) -> str:
    lines = ["day,start,agents"] + [f"{r['day']},{r['start']},{r['agents']}"
                                    for r in staffing_rows(scenario, scheduled)]
    return "\n".join(lines) + "\n"


def plan_files(scenario: Scenario, scenario_path: str | Path, out_dir: str | Path,
               plan: dict[str, np.ndarray], name_suffix: str, description: str) -> dict[str, str]:
    """File name -> text: ``staffing_<pool>.csv`` per planned pool and ``scenario.yaml``.

    The YAML ``extends:`` the input (path relative to ``out_dir``) and replaces each
    planned pool's staffing. A parent's ``shifts`` are cleared with ``shifts: null``;
    a parent with inline ``steps`` gets the steps inline (a CSV beside inline steps
    would be ignored by the loader).
    """
    files: dict[str, str] = {}
    agents: dict[str, dict] = {}
    for pool, scheduled in plan.items():
        csv = f"staffing_{file_stem(pool)}.csv"   # a pool's name may hold / or ..
        files[csv] = staffing_csv(scenario, scheduled)
        parent = scenario.agents[pool].staffing
        if isinstance(parent, Staffing) and parent.steps is not None and parent.csv is None:
            agents[pool] = {"staffing": {"steps": staffing_rows(scenario, scheduled)}}
        elif isinstance(parent, Staffing) and parent.shifts is not None:
            agents[pool] = {"staffing": {"csv": csv, "shifts": None}}
        else:
            agents[pool] = {"staffing": {"csv": csv}}
    rel = os.path.relpath(Path(scenario_path).resolve(), Path(out_dir).resolve())
    doc = {"extends": rel, "name": f"{scenario.name}_{name_suffix}", "description": description,
           "agents": agents}
    files["scenario.yaml"] = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    return files
