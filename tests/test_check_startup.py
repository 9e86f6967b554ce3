"""`simsvc check` starts without numpy: its capacity warnings are plain Python with the model's numbers.

The warnings (``simsvc.experiment.preflight``) compute expected arrivals and agents on
duty per interval in lists, not arrays, so `check` does not pay for numpy's import.
These tests pin that the lists hold exactly the numbers a numpy computation gives (every
rate piece integrated over the whole grid, ``domain.calendar.integrate_pieces``; agents
from ``domain.calendar``), for every form of demand and staffing, on `check`'s grid and on
the reporting grid the planners' requirements use, and that `check` really imports no numpy.
"""
from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simsvc.config.load import load_scenario
from simsvc.domain.calendar import integrate_pieces, on_duty_changes, scheduled_per_interval
from simsvc.domain.rates import pairwise_sum
from simsvc.experiment import preflight
from simsvc.model.demand import expected_arrivals, rate_pieces
from simsvc.observe.tables import _grid as reporting_grid

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
# 24 weights whose plain left-to-right sum differs from numpy's pairwise sum in the last bit.
INTRADAY = [0.403, 2.542, 2.291, 0.765, 1.486, 1.348, 1.955, 2.366, 0.282, 0.085, 2.507, 1.298, 2.287, 0.006,
            1.336, 2.165, 0.686, 2.836, 2.704, 0.092, 0.076, 1.624, 2.817, 1.144]
TABLE = "{volumes: [{day: %s, start: '00:00', volume: 12}, {day: %s, start: '08:30', volume: 400.5}, " \
        "{day: %s, start: '17:45', volume: 33}]}"

# (file, --set overrides): each demand form (rate, daily volume with intraday and weekly
# profiles, weekday and absolute-day tables from inline rows or CSV) and each staffing form
# (agents, steps, shifts, availability), on grids that do and do not start at midnight.
CASES = [
    (ROOT / "scenarios" / "baseline.yaml", []),
    (ROOT / "scenarios" / "baseline.yaml", ["interval=30min", "warmup=1h", "start_day=thu", "horizon=10d"]),
    (ROOT / "scenarios" / "erlang_a_check.yaml", []),
    (ROOT / "scenarios" / "journey_baseline.yaml", []),
    (DATA / "csv_scenario.yaml", []),
    (DATA / "plan_sinusoid.yaml", ["horizon=3d"]),
    (DATA / "plan_sinusoid.yaml", [f"demand.phone={{daily_volume: 2400, intraday: {INTRADAY}}}"]),
    (DATA / "roster_day.yaml", []),
    (DATA / "csv_scenario.yaml", ["demand.phone=" + TABLE % ("mon", "mon", "sat")]),
    (DATA / "csv_scenario.yaml", ["demand.phone=" + TABLE % (0, 1, 2), "horizon=5d"]),
    (DATA / "csv_scenario.yaml", ["agents.team.availability={steps: [{start: '00:00', availability: 0.64}, "
                                  "{start: '12:10', availability: 0.5}]}", "agents.team.shrinkage=0.3"]),
]


@pytest.mark.parametrize("path, overrides", CASES, ids=lambda c: c.name if isinstance(c, Path) else "")
def test_preflight_lists_equal_the_numpy_computation_to_the_bit(path: Path, overrides: list[str]) -> None:
    scenario = load_scenario(path, overrides)
    grid = preflight._grid(scenario)
    array = np.array(grid)
    checked = 0
    for spec in scenario.demand.values():
        pieces = rate_pieces(scenario, spec, np.ones(int(np.ceil(scenario.horizon / 86400.0))))
        for g in (array, reporting_grid(scenario)):
            numpy_way = integrate_pieces(pieces.start_s, pieces.length_s, pieces.rate_per_s, g)
            assert preflight.expected_arrivals(scenario, spec, g.tolist()) == numpy_way.tolist()
            assert expected_arrivals(scenario, spec, g).tolist() == numpy_way.tolist()
        checked += 1
    for name, pool in scenario.agents.items():
        numpy_way = scheduled_per_interval(on_duty_changes(scenario, pool), array) / np.diff(array)
        assert preflight._agents(scenario, [name], grid) == numpy_way.tolist()
        checked += 1
    assert checked > 0


def test_pairwise_sum_is_numpy_sum_to_the_bit() -> None:
    rng = random.Random(13)
    for n in [*range(0, 40), 127, 128, 129, 255, 256, 257, 672, 1000, 2016]:
        values = [rng.random() * 10 ** rng.randint(-3, 5) for _ in range(n)]
        assert pairwise_sum(values) == float(np.sum(np.array(values, dtype=float))), n


def test_check_imports_no_numpy_or_pandas() -> None:
    scenarios = [ROOT / "scenarios" / "baseline.yaml", ROOT / "scenarios" / "journey_baseline.yaml",
                 DATA / "csv_scenario.yaml"]
    probe = ("import sys\nfrom click.testing import CliRunner\nfrom simsvc.cli import main\n"
             f"for path in {[str(p) for p in scenarios]!r}:\n"
             "    r = CliRunner().invoke(main, ['check', path])\n"
             "    assert r.exit_code == 0, r.output\n"
             "print(' '.join(m for m in ('numpy', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == []
