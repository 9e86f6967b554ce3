"""Test configuration shared by all test modules."""
from __future__ import annotations

import inspect
import os
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

# In CI every property test uses the same examples (no flaky runs); locally
# hypothesis explores new examples on each run and remembers failures.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def _shared_fixtures(item: pytest.Item) -> list[str]:
    """Module- or session-scoped fixtures of our own test files that ``item`` uses."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    names = []
    for name in info.names_closure:
        defs = info.name2fixturedefs.get(name)
        if not defs or defs[-1].scope not in ("module", "package", "session"):
            continue
        try:
            source = Path(inspect.getfile(defs[-1].func)).resolve()
        except (TypeError, OSError):
            continue
        if source.parent == TESTS:
            names.append(name)
    return names


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests first, so that the xdist workers (pyproject: ``--dist worksteal``) start on
    the long ones and finish on short ones, instead of one worker running a long test alone
    at the end while the other idles.

    A slow test that shares a module-scoped fixture with its neighbours stays where it is:
    moved away from them, the fixture's run would be computed twice. The order does not
    change what a test checks (each test is seeded and independent).
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None or bool(_shared_fixtures(item)))
