"""The pool and wrap-up columns computed from the agent column (``observe.records``): with one
pool (or one wrap-up for all), the short way gives the very values of the gather by agent."""
from __future__ import annotations

import numpy as np
import pytest

from simsvc.observe.records import AgentPools, FixedWrap


def _agents(n: int = 1000, agents: int = 40, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    agent = rng.integers(0, agents, n).astype(np.int32)
    agent[rng.random(n) < 0.2] = -1   # not answered
    return agent


@pytest.mark.parametrize("agent_pool", [[3] * 40, [0] * 40, [0, 1] * 20])
def test_pool_column_the_same_by_the_short_way(agent_pool) -> None:
    agent = _agents()
    column = AgentPools(agent, agent_pool)
    assert (column.one_pool is not None) == (len(set(agent_pool)) == 1)
    gathered = np.full(agent.size, -1, dtype=np.int16)
    gathered[agent >= 0] = np.asarray(agent_pool, dtype=np.int16)[agent[agent >= 0]]
    for a0, a1 in ((0, 1000), (13, 501), (999, 1000)):
        rows = column.rows(a0, a1)
        assert rows.dtype == np.int16 and np.array_equal(rows, gathered[a0:a1])


@pytest.mark.parametrize("wrap_by_pool", [[7.5], [0.0, 0.0], [5.0, 12.25]])
def test_wrap_column_the_same_by_the_short_way(wrap_by_pool) -> None:
    agent = _agents()
    pool = np.where(agent >= 0, agent % len(wrap_by_pool), -1).astype(np.int16)
    column = FixedWrap(agent, pool, wrap_by_pool)
    assert (column.one_wrap is not None) == (len(set(wrap_by_pool)) == 1)
    gathered = np.full(agent.size, np.nan)
    gathered[agent >= 0] = np.asarray(wrap_by_pool)[pool[agent >= 0]]
    for a0, a1 in ((0, 1000), (13, 501)):
        rows = column.rows(a0, a1)
        assert rows.dtype == np.float64 and np.array_equal(rows, gathered[a0:a1], equal_nan=True)
