"""pools.parquet's scheduled staffing, built in one walk over schedule and intervals.

The reference is the straightforward computation the table used before: one call of
``scheduled_agent_seconds`` per interval (which re-expands the whole schedule each
time). The two must agree to the bit, for every staffing form.
"""
from __future__ import annotations

import numpy as np
import pytest

from simsvc.config.load import validate
from simsvc.observe.tables import _grid, scheduled_per_interval

from simsvc.domain.calendar import schedule_changes, scheduled_agent_seconds

STAFFING = {
    "constant": 7,
    "shifts": {"shifts": [
        {"start": "08:00", "end": "16:30", "agents": 5, "days": "mon-fri"},
        {"start": "12:15", "end": "20:00", "agents": 3, "days": "all"},
        {"start": "22:00", "end": "06:00", "agents": 2, "days": "fri-sun"},  # past midnight
    ]},
    "weekday_steps": {"steps": [
        {"day": "all", "start": "07:00", "agents": 4},
        {"day": "all", "start": "09:10", "agents": 9},
        {"day": "sat", "start": "13:37", "agents": 2},
        {"day": "all", "start": "19:00", "agents": 0},
    ]},
    "absolute_days": {"steps": [  # as a staffing CSV with day numbers: repeats every 3 days
        {"day": d, "start": f"{h:02d}:{m:02d}", "agents": (d * 7 + h + m) % 11}
        for d in range(3) for h in range(0, 24, 5) for m in (0, 20, 50)
    ]},
}


def scenario(staffing, interval: str = "15min", horizon: str = "4d7h", start_day: str = "thu"):
    return validate({
        "name": "pools", "horizon": horizon, "interval": interval, "start_day": start_day,
        "channels": {"phone": {"kind": "voice"}},
        "demand": {"phone": {"rate": "10/h"}},
        "handling": {"phone": {"dist": "exponential", "mean": "4min"}},
        "agents": {"team": {"skills": ["phone"], "staffing": staffing, "shrinkage": 0.3}},
    })


@pytest.mark.parametrize("form", sorted(STAFFING))
@pytest.mark.parametrize("interval", ["15min", "1h"])
def test_scheduled_per_interval_equals_one_call_per_interval(form: str, interval: str) -> None:
    sc = scenario(STAFFING[form], interval)
    pool = sc.agents["team"]
    grid = _grid(sc)
    reference = np.array([scheduled_agent_seconds(sc, pool, a, b) for a, b in zip(grid[:-1], grid[1:])])
    fast = scheduled_per_interval(schedule_changes(sc, pool, 0.0), grid)
    assert reference.sum() > 0  # the case staffs someone, so equality means something
    np.testing.assert_array_equal(fast, reference)


def test_scheduled_per_interval_counts_steps_inside_an_interval() -> None:
    # 2 agents from 0, 5 from 10 s, none from 40 s: 2*10 + 5*30 = 170 in [0, 60).
    changes = [(0.0, 2, None), (10.0, 3, None), (40.0, -5, None)]
    grid = np.array([0.0, 60.0, 120.0])
    np.testing.assert_array_equal(scheduled_per_interval(changes, grid), [170.0, 0.0])
