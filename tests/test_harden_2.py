"""Class 2: no silent nonsense from numbers.

Every number in a scenario, a --set or an experiment file is finite and in its domain,
checked at validation (.inf, .nan and overflowing values are refused everywhere). The
property test puts hostile numbers into random fields: either validation (or the work
estimate, as `run` applies it) refuses cleanly, or the run reaches its horizon and
conserves contacts.
"""
from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harden_helpers import invoke, one_error, tiny, write
from simsvc.config.errors import ScenarioError
from simsvc.config.load import validate
from simsvc.experiment.budget import estimate, judge
from simsvc.model.centre import ContactCentre
from simsvc.observe import summary as summ

BASE = {
    "name": "hostile", "horizon": "4h", "warmup": "30min", "interval": "30min", "seed": 1,
    "channels": {
        "phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "90s"}, "retry_spread": "1h",
                  "redial": {"probability": 0.3, "delay": {"dist": "exponential", "mean": "5min"}}},
        "chat": {"kind": "chat", "concurrency": 2, "concurrency_slowdown": 0.2,
                 "patience": {"dist": "gamma", "mean": "3min", "cv": 0.8}},
        "email": {"kind": "async", "response_target": "4h"},
    },
    "demand": {
        "phone": {"rate": 20, "mix": {"general": 1.0}},
        "chat": {"daily_volume": 120, "intraday": [1, 2, 3, 2], "weekly": [1, 1, 1, 1, 1, 0.5, 0.5]},
        "email": {"rate": 6},
    },
    "demand_uncertainty": {"daily_cv": 0.1},
    "handling": {"phone": {"dist": "lognormal", "mean": "4min", "cv": 0.6},
                 "chat": {"dist": "gamma", "mean": "6min", "cv": 0.5},
                 "email": {"dist": "empirical", "values": [120, 300, 600], "weights": [1, 2, 1]}},
    "resolution": {"phone": 0.8, "chat": 0.7, "email": 0.9},
    "repeat": {"probability": 0.5, "delay": {"dist": "exponential", "mean": "1h"}, "max_attempts": 3},
    "agents": {"team": {"skills": ["phone", "chat", "email"], "staffing": 6, "shrinkage": 0.1,
                        "cost_per_hour": 30, "wrap_up": {"dist": "uniform", "low": 10, "high": 40},
                        "proficiency": {"handling": 1.0, "resolution": 1.0}}},
    "experience": {"weights": {"wait": -0.8}, "survey": {"csat_noise": 0.7},
                   "churn": {"sensitivity": 8.0}},
}

FIELDS = [
    "horizon", "warmup", "interval", "channels.phone.patience.mean", "channels.phone.retry_spread",
    "channels.phone.redial.probability", "channels.phone.redial.delay.mean", "channels.chat.concurrency_slowdown",
    "channels.chat.patience.cv", "channels.email.response_target", "demand.phone.rate", "demand.phone.mix.general",
    "demand.chat.daily_volume", "demand.chat.intraday.1", "demand.chat.weekly.5", "demand.email.rate",
    "demand_uncertainty.daily_cv", "handling.phone.mean", "handling.phone.cv", "handling.chat.cv",
    "handling.email.values.0", "handling.email.weights.1", "resolution.phone", "repeat.probability",
    "repeat.delay.mean", "agents.team.staffing", "agents.team.shrinkage", "agents.team.cost_per_hour",
    "agents.team.wrap_up.high", "agents.team.proficiency.handling", "agents.team.proficiency.resolution",
    "experience.weights.wait", "experience.survey.csat_noise", "experience.churn.sensitivity",
]
HOSTILE = [0, 0.0, -0.0, -1, -1e300, 1e300, 1e11, 2**70, math.inf, -math.inf, math.nan, 5e-324, 1e-300, 1e-9]
SIMULATE_UP_TO = 50_000  # contacts; beyond that the test trusts the (tested) estimate instead of running


def _set(d: dict, path: str, value) -> dict:
    out = copy.deepcopy(d)
    node, keys = out, path.split(".")
    for k in keys[:-1]:
        node = node[int(k)] if isinstance(node, list) else node[k]
    if isinstance(node, list):
        node[int(keys[-1])] = value
    else:
        node[keys[-1]] = value
    return out


def _check_run(data: dict, seed: int) -> str:
    try:
        sc = validate(data)
    except ScenarioError as exc:
        text = str(exc)
        assert "\n" not in text and "expected" in text
        return "refused"
    refuse, _ = judge(estimate(sc, 1))
    if refuse:
        return "too much work"
    if estimate(sc, 1).contacts > SIMULATE_UP_TO:
        return "large"
    centre = ContactCentre(sc, seed, 0)
    raw = centre.run()
    assert centre.env.now == pytest.approx(sc.horizon), "the run stopped before its horizon"
    c = raw.contacts
    assert np.isfinite(c["arrival_s"]).all() and (c["arrival_s"] >= 0).all() and (c["arrival_s"] < sc.horizon).all()
    m = summ.replication_metrics(sc, raw).set_index(["channel", "metric"])["value"]
    for name in [*sc.channels, summ.ALL]:
        parts = sum(m[(name, k)] for k in ("answered", "abandoned", "contained", "escalated", "lost", "waiting_end"))
        assert m[(name, "offered")] == parts
    for key, value in m.items():
        assert not (isinstance(value, float) and math.isinf(value)), key
    return "ran"


def test_the_base_scenario_runs() -> None:
    assert _check_run(BASE, 1) == "ran"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(FIELDS), value=st.sampled_from(HOSTILE), seed=st.integers(0, 2**16))
def test_hostile_numbers_are_refused_or_run_soundly(path: str, value, seed: int) -> None:
    _check_run(_set(BASE, path, value), seed)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(paths=st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3, unique=True),
       values=st.lists(st.sampled_from(HOSTILE) | st.floats(allow_nan=True, allow_infinity=True),
                       min_size=3, max_size=3), seed=st.integers(0, 2**16))
def test_hostile_numbers_in_several_fields(paths: list[str], values: list, seed: int) -> None:
    data = BASE
    for path, value in zip(paths, values):
        data = _set(data, path, value)
    _check_run(data, seed)


@pytest.mark.parametrize("where,value", [
    ("handling.phone.cv", ".inf"), ("handling.phone.cv", ".nan"), ("agents.team.cost_per_hour", ".nan"),
    ("demand_uncertainty.daily_cv", ".inf"), ("experience.survey.csat_noise", ".nan"),
    ("experience.churn.sensitivity", "-.inf"), ("demand.chat.intraday.1", ".nan"),
    ("handling.email.weights.0", ".inf"), ("demand.phone.rate", "1e400"), ("agents.team.staffing", "1e30"),
    ("handling.phone.mean", "1e400s"), ("demand.email.rate", "1e30/h"),
])
def test_non_finite_and_overflowing_values_are_refused_by_the_cli(tmp_path: Path, where: str, value: str) -> None:
    import yaml

    f = write(tmp_path / "s.yaml", yaml.safe_dump(BASE))
    result = invoke("run", f, "-n", 1, "--no-report", "--set", f"{where}={value}", "-o", tmp_path / "out")
    one_error(result, where)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text", [
    "name: e\nscenarios: {a: tiny.yaml}\nprecision: {half_width: .inf, metrics: [service_level]}\n",
    "name: e\nscenarios: {a: tiny.yaml}\nprecision: {half_width: .nan, metrics: [service_level]}\n",
    "name: e\nscenarios: {a: tiny.yaml}\nsweep: {vary: {agents.team.staffing: [4, .nan]}}\n",
    "name: e\nscenarios: {a: tiny.yaml}\nsweep: {vary: {channels.phone.patience.mean: '1:1e400'}}\n",
])
def test_experiment_file_numbers_are_finite(tmp_path: Path, text: str) -> None:
    tiny(tmp_path)
    f = write(tmp_path / "e.yaml", text)
    one_error(invoke("experiment", f, "-w", 1, "--no-report", "-o", tmp_path / "out"))
    assert not (tmp_path / "out").exists()
