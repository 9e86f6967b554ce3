"""Availability per interval on a pool (``agents.<pool>.availability``).

On duty = scheduled × (1 − shrinkage) × availability, kept fractional: the
fraction is one more agent for that share of the interval, placed at random
from the pool's own stream. These tests check the schema's messages, that the
on-duty agent-seconds are exactly the product, the closed forms (an integer
product is the plain pool; a fractional one lies between its neighbours), and
common random numbers.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import simsvc
from simsvc.analytic.erlang import mmc_m
from simsvc.cli import main
from simsvc.config.errors import ScenarioError
from simsvc.config.load import load_scenario, validate
from simsvc.config.schema import Scenario
from simsvc.domain.calendar import (
    availability_per_interval,
    fractional_duty,
    on_duty_pieces,
    schedule_changes,
    scheduled_per_interval,
)
from simsvc.domain.randomness import Streams
from simsvc.experiment.preflight import capacity_warnings
from simsvc.model.centre import simulate
from simsvc.plan.requirements import requirements

BASE = {
    "name": "avail", "seed": 5, "horizon": "1d", "warmup": "1h",
    "channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "3min"}}},
    "demand": {"phone": {"rate": "60/h"}},
    "handling": {"phone": {"dist": "exponential", "mean": "6min"}},
    "agents": {"team": {"skills": ["phone"], "staffing": 10}},
}


def scenario(availability=None, **pool) -> Scenario:
    data = copy.deepcopy(BASE)
    data["agents"]["team"].update(pool)
    if availability is not None:
        data["agents"]["team"]["availability"] = availability
    return validate(data)


def steps(*rows) -> dict:
    return {"steps": [dict(zip(("day", "start", "availability"), r)) for r in rows]}


# --------------------------------------------------------------------------- schema
def _error(data: dict) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        validate(data)
    return info.value


def test_inline_value_out_of_range_names_the_field_and_the_range():
    data = copy.deepcopy(BASE)
    data["agents"]["team"]["availability"] = steps(("all", "00:00", 0.7), ("mon", "08:00", 1.3))
    err = _error(data)
    assert err.path == "agents.team.availability.steps.1.availability" and err.value == 1.3
    assert "less than or equal to 1" in err.allowed


def test_unknown_key_and_mixed_days_are_refused():
    data = copy.deepcopy(BASE)
    data["agents"]["team"]["availability"] = {"step": []}
    assert _error(data).path == "agents.team.availability.step"
    data["agents"]["team"]["availability"] = steps(("mon", "00:00", 0.7), (3, "08:00", 0.5))
    err = _error(data)
    assert err.path == "agents.team.availability.steps.1.day" and "all day numbers" in err.allowed
    data["agents"]["team"]["availability"] = steps(("mon", "08:00", 0.7), ("mon", "08:00", 0.5))
    assert "one step per day and start" in _error(data).allowed


def test_csv_cell_error_names_file_line_and_range_and_the_cli_exits_2(tmp_path):
    (tmp_path / "avail.csv").write_text("day,start,availability\nmon,00:00,0.5\nmon,08:00,-0.1\n")
    data = copy.deepcopy(BASE)
    data["agents"]["team"]["availability"] = {"csv": "avail.csv"}
    import yaml

    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "s.yaml")
    err = info.value
    assert err.file.endswith("avail.csv") and err.path == "line 3.availability" and err.value == "-0.1"
    assert "from 0 to 1" in err.allowed
    result = CliRunner().invoke(main, ["check", str(tmp_path / "s.yaml")])
    assert result.exit_code == 2 and "avail.csv" in result.output
    # A good table loads, and the resolved scenario prints it as its file.
    (tmp_path / "avail.csv").write_text("day,start,availability\nmon,00:00,0.5\nmon,08:00,0.75\n")
    s = load_scenario(tmp_path / "s.yaml")
    assert [st.availability for st in s.agents["team"].availability.steps] == [0.5, 0.75]


# --------------------------------------------------------------------------- exact on-duty seconds
def test_on_duty_agent_seconds_are_scheduled_times_availability_exactly():
    """Shifts, shrinkage and availability steps off the interval grid: in every interval,
    in every draw, the duty changes hold scheduled × (1 − shrinkage) × availability."""
    s = scenario(
        steps(("all", "00:00", 0.64), ("all", "08:10", 0.37), ("all", "12:00", 1.0), ("all", "17:00", 0.0)),
        staffing={"shifts": [{"start": "06:00", "end": "14:00", "agents": 7},
                             {"start": "09:30", "end": "18:20", "agents": 4}]},
        shrinkage=0.1,
    )
    pool = s.agents["team"]
    grid = np.arange(0, s.horizon + 1, s.interval)
    scheduled = scheduled_per_interval(schedule_changes(s, pool, 0.0), grid)
    expected = scheduled * 0.9 * availability_per_interval(s, pool, grid)
    assert expected.sum() > 0 and not np.allclose(expected, np.round(expected / 900) * 900)  # fractional
    for seed in range(5):
        changes = fractional_duty(s, pool, np.random.default_rng(seed))
        levels = np.cumsum([d for _, d in changes])
        assert levels.min() >= 0 and all(isinstance(d, int) for _, d in changes)
        got = scheduled_per_interval([(t, d, None) for t, d in changes], grid)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(
    agents=st.lists(st.integers(0, 30), min_size=1, max_size=4),
    shares=st.lists(st.floats(0.0, 1.0, allow_subnormal=False), min_size=1, max_size=4),
    minutes=st.lists(st.integers(0, 24 * 60 - 1), min_size=4, max_size=4, unique=True),
    shrinkage=st.sampled_from([0.0, 0.15]),
    seed=st.integers(0, 2**32 - 1),
)
def test_property_on_duty_seconds_are_exact_for_any_steps(agents, shares, minutes, shrinkage, seed):
    """Any staffing and availability steps (off the 15-minute grid too), any draw: whole agents,
    never below zero, and per interval exactly scheduled × (1 − shrinkage) × availability."""
    clock = [f"{m // 60:02d}:{m % 60:02d}" for m in minutes]
    s = scenario(steps(*[("all", clock[k], a) for k, a in enumerate(shares)]),
                 staffing={"steps": [{"start": clock[-1 - k], "agents": n} for k, n in enumerate(agents)]},
                 shrinkage=shrinkage)
    pool = s.agents["team"]
    grid = np.arange(0, s.horizon + 1, s.interval)
    # Every change is on a whole minute: per minute both levels are constant, so the product is exact.
    minute = np.arange(0, s.horizon + 1, 60.0)
    product = (scheduled_per_interval(schedule_changes(s, pool, 0.0), minute) * (1 - shrinkage)
               * availability_per_interval(s, pool, minute))
    expected = product.reshape(len(grid) - 1, -1).sum(axis=1)
    changes = fractional_duty(s, pool, np.random.default_rng(seed))
    assert all(isinstance(d, int) for _, d in changes) and min(np.cumsum([0] + [d for _, d in changes])) >= 0
    got = scheduled_per_interval([(t, d, None) for t, d in changes], grid)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_the_run_reports_those_seconds_on_duty_when_nobody_overruns():
    """With zero handling nobody is busy at an end of duty, so pools.parquet's staffed
    agent-seconds are the schedule's: 10 × 0.64 = 6.4, then 10 × 0.25 = 2.5 agents."""
    s = scenario(steps(("all", "00:00", 0.64), ("all", "12:00", 0.25)))
    data = s.model_dump(mode="json")
    data["handling"] = {"phone": {"dist": "deterministic", "value": "0s"}}
    data["warmup"] = "0s"
    result = simsvc.run(validate(data), replications=1, seed=2)
    pools = result.pools
    staffed = pools.groupby(pools["start_s"] < 43200)["agents_staffed"].mean()
    assert staffed[True] == pytest.approx(6.4, abs=1e-9) and staffed[False] == pytest.approx(2.5, abs=1e-9)
    assert (pools["agents_scheduled"] == 10).all()  # paid = scheduled, before availability


# --------------------------------------------------------------------------- closed forms
def _contacts(s: Scenario, seed: int = 11):
    return simsvc.run(s, replications=2, seed=seed).contacts.reset_index(drop=True)


def test_integer_product_is_the_plain_pool_with_that_many_agents():
    """10 scheduled × 0.6 = 6 on duty: the same contacts, to the bit, as a pool of 6."""
    a = _contacts(scenario(steps(("all", "00:00", 0.6))))
    b = _contacts(scenario(staffing=6))
    cols = ["arrival_s", "wait_s", "handle_s", "outcome", "agent"]
    assert a[cols].equals(b[cols])


def test_fractional_product_lies_between_the_erlang_a_of_its_neighbours():
    """10 × 0.65 = 6.5 agents at 6 Erlang offered: abandonment within [Erlang A(7), Erlang A(6)],
    and strictly between the simulated 6- and 7-agent pools on the same random numbers."""
    lam, handle, patience = 60 / 3600, 360.0, 180.0
    seven, six = (mmc_m(lam, handle, c, patience).p_abandon for c in (7, 6))
    rate = {}
    for key, s in (("frac", scenario(steps(("all", "00:00", 0.65)))), (6, scenario(staffing=6)),
                   (7, scenario(staffing=7))):
        c = _contacts(s)
        c = c[c["arrival_s"] >= 3600]
        rate[key] = float((c["outcome"] == "abandoned").mean())
    assert rate[7] < rate["frac"] < rate[6]
    assert seven < rate["frac"] < six


# --------------------------------------------------------------------------- common random numbers
def test_availability_moves_no_arrivals_and_one_interval_moves_no_other():
    a = simulate(scenario(steps(("all", "00:00", 0.64))), 3, 0).contacts
    b = simulate(scenario(steps(("all", "00:00", 0.45))), 3, 0).contacts
    assert np.array_equal(a["arrival_s"], b["arrival_s"])
    # The fractional agent of each interval has its own offset: changing 10:00–10:15 leaves the others.
    s1 = scenario(steps(("all", "00:00", 0.64)))
    s2 = scenario(steps(("all", "00:00", 0.64), ("all", "10:00", 0.47), ("all", "10:15", 0.64)))
    c1 = fractional_duty(s1, s1.agents["team"], Streams(3, 0).generator("availability/team"))
    c2 = fractional_duty(s2, s2.agents["team"], Streams(3, 0).generator("availability/team"))
    outside = lambda cs: [c for c in cs if not 36000 <= c[0] <= 36900]  # noqa: E731
    assert outside(c1) == outside(c2) and c1 != c2


# --------------------------------------------------------------------------- readers of staffing
def test_requirements_gross_up_and_preflight_read_availability():
    s = scenario(steps(("all", "00:00", 0.64), ("all", "12:00", 0.5)))
    req = requirements(s, [], max_occupancy=0.9)
    total = req[req["channel"] == "all"]
    net = total["required_on_duty"].to_numpy()
    a = np.where(total["start_s"] < 43200, 0.64, 0.5)
    assert net.min() == net.max() > 0  # the same forecast all day
    assert (total["required_scheduled"].to_numpy() == np.ceil(net / a - 1e-9)).all()  # 11, then 14
    # 6 Erlang offered: 6.4 agents on duty carry it, 5 from 12:00 do not.
    assert not capacity_warnings(scenario(steps(("all", "00:00", 0.64))))
    warnings = capacity_warnings(s)
    assert len(warnings) == 1 and "12:00" in warnings[0]
    pieces = on_duty_pieces(s, s.agents["team"])
    assert pieces[0][2] == pytest.approx(6.4) and pieces[-1][2] == pytest.approx(5.0)

