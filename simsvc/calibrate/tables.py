"""Scenario tables and YAML text: demand and staffing CSVs, commented YAML.

Staffing is fractional in the data (an agent present for part of an interval)
while the schema counts whole agents. A fraction is written as time: 6.4 agents
over a 15-minute interval become 7 agents for the first 40 % of the interval and 6
for the rest (staffing steps may start at ``HH:MM:SS``), so agent-seconds per
interval are exactly the estimate.
"""
from __future__ import annotations


import numpy as np
import pandas as pd
import yaml

from simsvc.calibrate.estimate import DAY_S


def clock(s: float) -> str:
    s = int(round(s))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{sec:02d}" if sec else f"{h:02d}:{m:02d}"


def staffing_rows(frame: pd.DataFrame, interval_s: float, days: list) -> pd.DataFrame:
    """``day, start, agents`` steps covering ``days`` from ``frame`` (day, start_s, agents).

    Intervals missing from ``frame`` have no agents; fractions become a sub-interval
    step; a step repeating the level before it is left out.
    """
    per_day = int(DAY_S // interval_s)
    grid = pd.MultiIndex.from_product([days, np.arange(per_day) * interval_s], names=["day", "start_s"])
    agents = frame.groupby(["day", "start_s"])["agents"].sum().reindex(grid, fill_value=0.0)
    rows = []
    for (day, start), a in agents.items():
        a = max(0.0, float(a))
        whole = int(np.floor(a + 1e-9))
        extra_s = int(round((a - whole) * interval_s))
        if extra_s >= interval_s:
            whole, extra_s = whole + 1, 0
        if extra_s > 0:
            rows.append((day, clock(start), whole + 1))
            rows.append((day, clock(start + extra_s), whole))
        else:
            rows.append((day, clock(start), whole))
    frame = pd.DataFrame(rows, columns=["day", "start", "agents"])
    # A level holds until the next step: drop repeats (every day keeps its midnight row).
    same = (frame["agents"] == frame["agents"].shift()) & (frame["day"] == frame["day"].shift())
    return frame[~same.to_numpy()].reset_index(drop=True)


def demand_rows(frame: pd.DataFrame, interval_s: float, days: list) -> pd.DataFrame:
    """``day, start, volume`` rows for every interval of ``days`` (volumes to 3 decimals)."""
    per_day = int(DAY_S // interval_s)
    grid = pd.MultiIndex.from_product([days, np.arange(per_day) * interval_s], names=["day", "start_s"])
    vol = frame.groupby(["day", "start_s"])["volume"].sum().reindex(grid, fill_value=0.0)
    return pd.DataFrame({"day": [d for d, _ in vol.index], "start": [clock(s) for _, s in vol.index],
                         "volume": np.round(vol.to_numpy(), 3)})


def _flow(key: str, value: object) -> str:
    text = yaml.safe_dump({key: value}, default_flow_style=True, width=10**9, sort_keys=False,
                          allow_unicode=True).strip()
    return text[1:-1]


def _leaf(value: object) -> bool:
    if not isinstance(value, dict):
        return True
    return "dist" in value or "csv" in value or (len(value) <= 8 and all(
        not isinstance(v, (dict, list)) for v in value.values()))


def commented_yaml(data: dict, comments: dict[str, list[str]], header: list[str]) -> str:
    """YAML text of ``data`` with comment lines above the keys named in ``comments`` (dotted paths)."""
    lines = [f"# {h}" if h else "#" for h in header]

    def emit(d: dict, path: str, indent: int) -> None:
        pad = " " * indent
        for k, v in d.items():
            p = f"{path}.{k}" if path else str(k)
            lines.extend(f"{pad}# {c}" for c in comments.get(p, []))
            if isinstance(v, dict) and not _leaf(v):
                lines.append(f"{pad}{k}:")
                emit(v, p, indent + 2)
            else:
                lines.append(pad + _flow(str(k), v))

    emit(data, "", 0)
    return "\n".join(lines) + "\n"
