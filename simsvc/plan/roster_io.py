"""A roster in and out: requirements tables read, shifts written as the scenario's ``shifts:``.

Requirements in
    ``requirements.csv`` of ``simsvc requirements`` (rows with channel ``all``:
    ``required_on_duty``) or ``staffing.csv`` of ``simsvc staff`` (``on_duty``),
    read *net*: the agents on duty after shrinkage the roster must leave in
    simulation. The gross (scheduled) need is ceil(net / (1 − shrinkage)) with
    the scenario's shrinkage, as ``requirements`` computes it. Staff's
    ``scheduled`` column can be lower (the simulator rounds a per-interval level
    × (1 − shrinkage) to the nearest agent, so 1 scheduled gives 1 on duty at 30 %
    shrinkage); a roster cannot count on that, because every shift entry rounds
    on its own: used as the gross requirement it left the baseline's digital
    pool short in ~100 intervals and cost 6 % more after repair than the LP bound.
    The file's scheduled column is read (``gross``) but not covered.
    Every pool must have every interval of the
    scenario's grid, once. For a pool with availability per interval the
    simulator keeps on duty fractional (scheduled × (1 − s) × a, no per-entry
    rounding), so the gross need is ceil(net / ((1 − s) × a)) and a staffing
    table's fractional on-duty level is read as it is; a requirements table's
    ``required_scheduled`` may be empty where a = 0 (the roster then names the
    interval if it needs agents).

Shifts out
    One ``shifts:`` entry per rostered shift and the weekdays it is worked (days
    with the same shift and the same number of agents share one entry). A shift
    with an unpaid break is written as two entries, before and after the break:
    the schema has no break field, and the simulator then has nobody of that shift
    on duty during the break, which is what the roster counted. A comment above
    each pair names the whole shift.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from simsvc.config.load import scenario_dict, validate
from simsvc.config.schema import DAYS, Scenario, Staffing
from simsvc.domain.calendar import DAY_S, integrate_pieces, schedule_changes
from simsvc.plan import PlanError
from simsvc.plan.on_duty import availability, need_and_scheduled, on_duty_levels
from simsvc.plan.requirements import interval_grid, interval_labels
from simsvc.plan.roster import Roster


def read_requirements(path: str | Path, scenario: Scenario) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(net on duty, gross scheduled) per pool × interval from a requirements or staffing CSV
    (PlanError if unusable; gross empty when the file has no scheduled column)."""
    file = str(path)
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise PlanError(f"{file}: not a readable CSV table ({exc})") from None
    if "required_on_duty" in df.columns and "channel" in df.columns:
        df, column, gross_column = df[df["channel"].astype(str) == "all"], "required_on_duty", "required_scheduled"
    elif "on_duty" in df.columns:
        column, gross_column = "on_duty", "scheduled"
    else:
        raise PlanError(f"{file}: columns {', '.join(map(str, df.columns))}: expected the requirements.csv of "
                        "simsvc requirements (pool, channel, interval, required_on_duty) or the staffing.csv "
                        "of simsvc staff (pool, interval, on_duty)")
    for needed in ("pool", "interval"):
        if needed not in df.columns:
            raise PlanError(f"{file}: no column {needed!r}")
    grid = interval_grid(scenario)
    n = len(grid) - 1
    out: dict[str, np.ndarray] = {}
    gross: dict[str, np.ndarray] = {}
    for pool, rows in df.groupby(df["pool"].astype(str), sort=False):
        if pool not in scenario.agents:
            raise PlanError(f"{file}: pool {pool!r} is not a pool of scenario {scenario.name!r} "
                            f"(pools: {', '.join(scenario.agents)})")
        intervals = pd.to_numeric(rows["interval"], errors="coerce")
        bad = rows[intervals.isna() | (intervals < 0) | (intervals >= n) | (intervals % 1 != 0)]
        if not bad.empty:
            raise PlanError(f"{file}: pool {pool!r}: interval {_as_written(path, bad.index[0], 'interval')} is not "
                            f"an interval of the scenario (0 to {n - 1}, {scenario.interval / 60:g} min each)")
        dup = intervals[intervals.duplicated()]
        if not dup.empty:
            raise PlanError(f"{file}: pool {pool!r}: interval {int(dup.iloc[0])} appears more than once")
        missing = sorted(set(range(n)) - set(intervals.astype(int)))
        if missing:
            shown = ", ".join(map(str, missing[:5])) + (" …" if len(missing) > 5 else "")
            raise PlanError(f"{file}: pool {pool!r}: {len(missing)} of the scenario's {n} intervals missing "
                            f"(interval {shown}); every interval needs a requirement")
        order = np.argsort(intervals.to_numpy())
        values = pd.to_numeric(rows[column], errors="coerce").to_numpy()[order]
        if "start_s" in rows.columns:
            starts = pd.to_numeric(rows["start_s"], errors="coerce").to_numpy()[order]
            if not np.allclose(starts, grid[:-1]):
                raise PlanError(f"{file}: pool {pool!r}: start_s does not match the scenario's intervals "
                                f"({scenario.interval / 60:g} min from time 0): made for another scenario?")
        if not np.isfinite(values).all() or (values < 0).any():
            k = int(np.flatnonzero(~np.isfinite(values) | (values < 0))[0])
            raise PlanError(f"{file}: pool {pool!r}, interval {k}: {column} = "
                            f"{_as_written(path, rows.index[order[k]], column)}: expected a number >= 0")
        out[pool] = values
        if gross_column in rows.columns:
            g = pd.to_numeric(rows[gross_column], errors="coerce").to_numpy()[order]
            # Empty where availability is 0 (`requirements` writes NaN: no schedule meets a need there).
            blank_ok = np.isnan(g) & (scenario.agents[pool].availability is not None)
            if not (np.isfinite(g) | blank_ok).all() or (g < 0).any():
                k = int(np.flatnonzero(~(np.isfinite(g) | blank_ok) | (g < 0))[0])
                raise PlanError(f"{file}: pool {pool!r}, interval {k}: {gross_column} = "
                                f"{_as_written(path, rows.index[order[k]], gross_column)}: "
                                "expected a number >= 0")
            gross[pool] = g
            out[pool] = _exact_on_duty(scenario, pool, values, g, grid)
    if not out:
        raise PlanError(f"{file}: no requirement rows (pool totals have channel 'all')")
    return out, gross


def _as_written(path: str | Path, row: object, column: str) -> str:
    """A cell of a requirements table as its file has it, for a message: a number bare (-5, 2.50),
    anything else quoted ('abc', ''); not the repr of what pandas made of it (np.int64(-5), or
    np.float64(nan) for a text cell). The file is read again as text only on this error path."""
    try:
        text = str(pd.read_csv(path, dtype=str, keep_default_na=False).at[row, column]).strip()
    except (OSError, ValueError, KeyError):
        return "(unreadable)"
    try:
        float(text)
    except ValueError:
        return repr(text)
    return text


def _exact_on_duty(scenario: Scenario, pool: str, on_duty: np.ndarray, scheduled: np.ndarray,
                   grid: np.ndarray) -> np.ndarray:
    """A staffing table's fractional on duty, as the simulator had it, where the file rounded it.

    With availability, ``on_duty`` = scheduled × (1 − s) × a is written to 6 significant
    digits; read back and grossed up it can land a hair above ``scheduled`` and cost an
    agent (17 × 0.77 × 0.9695 = 12.690755 is written 12.6908). Where the file's value is
    that product within the rounding, the product is used."""
    avail = availability(scenario, pool, grid)
    if avail is None:
        return on_duty
    exact = scheduled * (1.0 - scenario.agents[pool].shrinkage) * avail
    close = np.isfinite(exact) & (np.abs(on_duty - exact) <= 1e-5 * np.maximum(1.0, np.abs(exact)))
    return np.where(close, exact, on_duty)


def shift_entries(roster: Roster) -> dict[str, list[dict]]:
    """Per pool: one dict per rostered shift (days merged): start/end clock, break, paid hours, agents."""
    out: dict[str, list[dict]] = {}
    for pool, pr in roster.pools.items():
        merged: dict[tuple, list[int]] = {}
        for col, agents in zip(pr.columns, pr.agents):
            key = (col.start_s, col.length_s, col.break_s, col.break_len_s, int(agents))
            merged.setdefault(key, []).append(col.weekday)
        rows = []
        for (start, length, brk, blen, agents), days in sorted(merged.items(), key=lambda kv: (min(kv[1]), kv[0][0], kv[0][1], -1 if kv[0][2] is None else kv[0][2], kv[0][4])):
            rows.append({"days": sorted(days), "start_s": start, "length_s": length, "break_s": brk,
                         "break_len_s": blen, "agents": agents,
                         "paid_hours": (length - (blen if brk is not None else 0.0)) / 3600.0})
        out[pool] = rows
    return out


def _clock(seconds: float) -> str:
    s = int(round(seconds)) % 86400
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}"


def _schema_shifts(entry: dict) -> list[dict]:
    """The ``shifts:`` entries of one rostered shift: one, or two around its break."""
    a, length, brk = entry["start_s"], entry["length_s"], entry["break_s"]
    spans = [(a, a + length)] if brk is None else [(a, a + brk), (a + brk + entry["break_len_s"], a + length)]
    out = []
    for t0, t1 in spans:
        shift = int(t0 // DAY_S)   # the part after a break may start after midnight: the next weekday
        days = [DAYS[(d + shift) % 7] for d in entry["days"]]
        out.append({"start": _clock(t0), "end": _clock(t1), "agents": entry["agents"], "days": days})
    return out


def shifts_yaml(scenario: Scenario, roster: Roster, header: dict | None = None) -> str:
    """YAML with an ``agents:`` block giving each rostered pool its shifts (``header`` keys first)."""
    lines = []
    if header:
        lines.append(yaml.safe_dump(header, sort_keys=False, allow_unicode=True, width=1000).rstrip())
    lines.append("agents:")
    for pool, entries in shift_entries(roster).items():
        lines.append(f"  {pool}:")
        lines.append("    staffing:")
        parent = scenario.agents[pool].staffing
        if isinstance(parent, Staffing) and parent.steps is not None and parent.shifts is None:
            lines.append("      steps: null")
            lines.append("      csv: null")
        lines.append("      shifts:" + (" []" if not entries else ""))
        for e in entries:
            end = e["start_s"] + e["length_s"]
            what = f"{_clock(e['start_s'])}-{_clock(end)}"
            if e["break_s"] is not None:
                b0 = e["start_s"] + e["break_s"]
                what += f", unpaid break {_clock(b0)}-{_clock(b0 + e['break_len_s'])}"
            lines.append(f"        # {what}: {e['paid_hours']:g} h paid")
            for s in _schema_shifts(e):
                lines.append(f"        - {{start: \"{s['start']}\", end: \"{s['end']}\", agents: {s['agents']}, "
                             f"days: [{', '.join(s['days'])}]}}")
    return "\n".join(lines) + "\n"


def rostered_scenario(scenario: Scenario, roster: Roster) -> Scenario:
    """The scenario with the roster's shifts in place (validated as the loader would)."""
    data = scenario_dict(scenario)
    block = yaml.safe_load(shifts_yaml(scenario, roster))["agents"]
    for pool, value in block.items():
        data["agents"][pool]["staffing"] = {"shifts": value["staffing"]["shifts"]}
    return validate(data, file=f"{scenario.name} (roster)")


def scenario_file(scenario: Scenario, scenario_path: str | Path, out_dir: str | Path, roster: Roster,
                  description: str) -> str:
    rel = os.path.relpath(Path(scenario_path).resolve(), Path(out_dir).resolve())
    return shifts_yaml(scenario, roster, {"extends": rel, "name": f"{scenario.name}_rostered",
                                          "description": description})


def levels(scenario: Scenario, pool: str, shrinkage: float) -> np.ndarray:
    """Mean agents per interval as the simulator reads the pool's schedule (``shrinkage`` 0: scheduled)."""
    grid = interval_grid(scenario)
    changes = schedule_changes(scenario, scenario.agents[pool], shrinkage)
    starts, values, level = [], [], 0
    for t, delta, _ in changes:
        level += delta
        starts.append(t)
        values.append(level)
    if not starts:
        return np.zeros(len(grid) - 1)
    starts = np.array(starts)
    ends = np.append(starts[1:], scenario.horizon)
    return integrate_pieces(starts, ends - starts, np.array(values, dtype=float), grid) / np.diff(grid)


def pool_on_duty(scenario: Scenario, pool: str) -> np.ndarray:
    """Mean agents on duty per interval as the simulator runs the pool's schedule: rounded per
    shift entry without availability, scheduled × (1 − s) × availability (fractional) with it."""
    if scenario.agents[pool].availability is None:
        return levels(scenario, pool, scenario.agents[pool].shrinkage)
    return on_duty_levels(scenario, pool, interval_grid(scenario))


def coverage(rostered: Scenario, net: dict[str, np.ndarray],
             gross: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """pool × interval: required and scheduled agents (gross and on duty), over and under."""
    grid = interval_grid(rostered)
    days, clocks = interval_labels(rostered, grid)
    frames = []
    for pool, need in net.items():
        shrink = rostered.agents[pool].shrinkage
        avail = availability(rostered, pool, grid)
        need, computed = need_and_scheduled(need, shrink, avail)   # with availability the need stays fractional
        computed = computed.astype(float)
        required = (np.ceil(np.asarray(gross[pool], dtype=float) - 1e-9) if gross and pool in gross
                    else computed)
        scheduled = levels(rostered, pool, 0.0)
        on_duty = pool_on_duty(rostered, pool)
        short = need - on_duty
        frames.append(pd.DataFrame({
            "pool": pool, "interval": np.arange(len(need)), "start_s": grid[:-1], "day": days, "clock": clocks,
            "required_scheduled": required, "scheduled": scheduled,
            "over": np.maximum(scheduled - required, 0.0), "under": np.maximum(required - scheduled, 0.0),
            "required_on_duty": need, "on_duty": on_duty,
            "under_on_duty": np.where(short > 1e-9, short, 0.0)}))
    return pd.concat(frames, ignore_index=True)


def roster_table(roster: Roster) -> pd.DataFrame:
    rows = []
    for pool, entries in shift_entries(roster).items():
        for e in entries:
            end = e["start_s"] + e["length_s"]
            b0 = e["start_s"] + e["break_s"] if e["break_s"] is not None else None
            rows.append({"pool": pool, "days": ",".join(DAYS[d] for d in e["days"]), "start": _clock(e["start_s"]),
                         "end": _clock(end), "break_start": _clock(b0) if b0 is not None else "",
                         "break_end": _clock(b0 + e["break_len_s"]) if b0 is not None else "",
                         "paid_hours": e["paid_hours"], "agents": e["agents"]})
    return pd.DataFrame(rows, columns=["pool", "days", "start", "end", "break_start", "break_end",
                                       "paid_hours", "agents"])


def totals(scenario: Scenario, roster: Roster, cov: pd.DataFrame) -> pd.DataFrame:
    """Per pool: paid hours and cost of the roster, the LP bound and gap, the input's schedule for comparison."""
    from simsvc.domain.calendar import scheduled_agent_seconds

    hours = np.diff(interval_grid(scenario)) / 3600.0
    rows = []
    for pool, pr in roster.pools.items():
        rate = scenario.agents[pool].cost_per_hour
        c = cov[cov["pool"] == pool]
        input_h = scheduled_agent_seconds(scenario, scenario.agents[pool], 0.0, scenario.horizon) / 3600.0
        rows.append({"pool": pool, "paid_hours": pr.paid_hours, "cost": pr.cost, "lp_bound": pr.lp_bound,
                     "gap_to_lp": pr.gap_to_lp, "first_solve_cost": pr.first_cost,
                     "required_hours": float(c["required_scheduled"].to_numpy() @ hours),
                     "over_hours": float(c["over"].to_numpy() @ hours),
                     "input_paid_hours": input_h, "input_cost": input_h * rate,
                     "shifts": int(pr.agents.sum()), "columns": pr.n_columns, "repaired_intervals": pr.repairs,
                     "status": pr.status, "solve_s": pr.solve_s})
    df = pd.DataFrame(rows)
    total = {k: df[k].sum() for k in ("paid_hours", "cost", "lp_bound", "first_solve_cost", "required_hours",
                                      "over_hours", "input_paid_hours", "input_cost", "shifts", "columns",
                                      "repaired_intervals", "solve_s")}
    total["gap_to_lp"] = (total["cost"] - total["lp_bound"]) / total["lp_bound"] if total["lp_bound"] else 0.0
    return pd.concat([df, pd.DataFrame([{"pool": "all", **total, "status": ""}])], ignore_index=True)


def roster_files(scenario: Scenario, scenario_path: str | Path, out_dir: str | Path, roster: Roster,
                 net: dict[str, np.ndarray], description: str,
                 gross: dict[str, np.ndarray] | None = None) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """(file name -> content, coverage, totals) of a roster's output folder (the plot is the caller's)."""
    rostered = rostered_scenario(scenario, roster)
    cov = coverage(rostered, net, gross)
    tot = totals(scenario, roster, cov)
    files = {"shifts.yaml": shifts_yaml(scenario, roster),
             "scenario.yaml": scenario_file(scenario, scenario_path, out_dir, roster, description),
             "roster.csv": roster_table(roster), "coverage.csv": cov, "totals.csv": tot}
    return files, cov, tot


def read_staffing_table(pool: str, path: str | Path, scenario: Scenario) -> np.ndarray:
    """Net agents on duty per interval of a per-pool staffing CSV (``day,start,agents``, scheduled
    agents, what ``staffing: {csv: ...}`` loads), read by the scenario loader and the simulator's
    schedule reader: on duty = the simulator's round(scheduled × (1 − shrinkage)), or with
    availability its fractional scheduled × (1 − shrinkage) × availability."""
    from simsvc.config.errors import ScenarioError

    if pool not in scenario.agents:
        raise PlanError(f"--requirements {pool}={path}: {pool!r} is not a pool of scenario {scenario.name!r} "
                        f"(pools: {', '.join(scenario.agents)})")
    data = scenario_dict(scenario)
    data["agents"][pool]["staffing"] = {"csv": str(Path(path).resolve())}
    try:
        staffed = validate(data, file=str(path))
    except ScenarioError as exc:
        raise PlanError(str(exc)) from None
    if scenario.agents[pool].availability is not None:
        return pool_on_duty(staffed, pool)
    return np.round(levels(staffed, pool, scenario.agents[pool].shrinkage))


def read_requirement_files(specs: list[str] | tuple[str, ...], scenario: Scenario) -> dict[str, np.ndarray]:
    """Net requirements per pool from ``FILE.csv`` (requirements or staffing tables with a pool
    column) and ``POOL=FILE.csv`` (a per-pool staffing table); a pool given twice is an error."""
    out: dict[str, np.ndarray] = {}
    for spec in specs:
        pool, sep, file = spec.partition("=")
        if sep and not Path(spec).exists():
            found = {pool: read_staffing_table(pool, file, scenario)}
        else:
            found = read_requirements(spec, scenario)[0]
        twice = sorted(set(found) & set(out))
        if twice:
            raise PlanError(f"--requirements {spec}: pool {twice[0]!r} already has a requirement from an "
                            "earlier --requirements")
        out.update(found)
    return out
