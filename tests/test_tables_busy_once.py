"""The busy time per interval of all busy segments is derived from the record once per
replication (``BusySegments.kept_sums``): with one channel and one pool, the interval table and
the pool table ask for the same sum. Both must equal the sum computed afresh."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from simsvc.config.load import load_scenario
from simsvc.model.centre import simulate
from simsvc.observe import tables

ERLANG_A = Path(__file__).resolve().parent.parent / "scenarios" / "erlang_a_check.yaml"


def test_one_channel_one_pool_reads_the_busy_time_once_with_the_same_floats() -> None:
    scenario = load_scenario(ERLANG_A, ("horizon=1d", "warmup=2h"))
    assert len(scenario.channels) == 1 and len(scenario.agents) == 1
    raw = simulate(scenario, 7, 0)
    intervals = tables.intervals_frame(scenario, raw)
    pools = tables.pools_frame(scenario, raw)
    assert len(raw.busy.kept_sums) == 1   # computed for the interval table, read by the pool table
    grid = tables._grid(scenario)
    stored = {key: raw.busy[key] for key in raw.busy}   # a plain dict keeps no sums
    afresh = tables._time_in(stored, None, None, grid)
    masked = tables._time_in(stored, 0, 0, grid)   # the masked path: every segment is pool 0's, channel 0's
    assert afresh.sum() > 0
    np.testing.assert_array_equal(intervals["busy_agent_s"].to_numpy(), afresh)
    np.testing.assert_array_equal(pools["busy_agent_s"].to_numpy(), afresh)
    np.testing.assert_array_equal(masked, afresh)
    busy = tables._time_in(raw.busy, None, None, grid)
    busy[:] = 0.0   # a caller may work on its array in place: the kept sum is not handed out
    np.testing.assert_array_equal(tables._time_in(raw.busy, None, None, grid), afresh)
