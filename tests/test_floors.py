"""The declared dependency floors are the versions the suite was checked with (tests/floors.txt).

pyproject.toml once declared floors nothing had run against (numpy 1.26, scipy 1.11, click 8.1):
at those versions 336 tests failed, and `simsvc roster` crashed (scipy's milp before 1.15 took
int64 sparse indices for HiGHS), `requirements --max-occupancy` found no staffing (scipy's
1×1 `solve_banded` before 1.15) and `fit` with classes crashed (numpy's `np.char.add` before
2.0). The floors were raised to the lowest set that passes, which tests/floors.txt pins so that
anyone can check them again (README, "Dependencies"); this test keeps the two in step.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _floors() -> dict[str, Version]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = {}
    for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
        found = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?>=([0-9][0-9A-Za-z.]*)", requirement.replace(" ", ""))
        assert found, f"{requirement!r}: a dependency is declared with exactly one floor (name>=version)"
        floors[found.group(1).lower()] = Version(found.group(3))
    return floors


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "tests" / "floors.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = Version(version.strip())
    return pins


def test_every_floor_is_pinned_at_its_version():
    floors, pins = _floors(), _pins()
    assert {name: pins.get(name) for name in floors} == floors


def test_nothing_else_is_pinned_but_what_dask_distributed_brings():
    floors, pins = _floors(), _pins()
    assert set(pins) - set(floors) == {"distributed"}
    assert pins["distributed"] == floors["dask"]   # dask[distributed] takes the same release
