"""`simsvc requirements`: analytic agents per pool × interval agree with the Erlang calculator."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from cli_helpers import assert_one_error_line
from conftest import ROOT
from simsvc.analytic import agents_needed
from simsvc.analytic.requirements import async_agents, gross_up
from simsvc.cli import main
from simsvc.config.load import load_scenario
from simsvc.plan.requirements import requirements
from simsvc.plan.targets import parse_targets

PHONE_SL = "service_level >= 0.8 on phone"


def _scenario(tmp_path, name="req", **changes):
    """A one-day single-queue scenario (the Erlang-A check queue), with sections replaced by ``changes``."""
    data = {
        "name": name, "horizon": "1d", "interval": "1h", "seed": 3,
        "channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "90s"},
                               "service_level_threshold": "20s"}},
        "demand": {"phone": {"rate": "150/h"}},
        "handling": {"phone": {"dist": "exponential", "mean": "4min"}},
        "agents": {"team": {"skills": ["phone"], "staffing": 9}},
    }
    data.update(changes)   # whole sections are replaced
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _erlang_cli(*args: str) -> int:
    result = CliRunner().invoke(main, ["erlang", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["agents_needed"]


def _requirements_cli(tmp_path, scenario, *args: str) -> pd.DataFrame:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["requirements", str(scenario), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return pd.read_csv(out / "requirements.csv")


@pytest.mark.parametrize("patience, model", [("90s", "erlang_a"), (None, "erlang_c")])
def test_single_queue_equals_erlang_command(tmp_path, patience, model):
    channel = {"kind": "voice", "service_level_threshold": "20s"}
    if patience:
        channel["patience"] = {"dist": "exponential", "mean": patience}
    path = _scenario(tmp_path, channels={"phone": channel})
    req = _requirements_cli(tmp_path, path, "--target", PHONE_SL)
    phone = req[req["channel"] == "phone"]
    expected = _erlang_cli("--rate", "150/h", "--aht", "4min", "--target-sl", "0.8", "--threshold", "20s",
                           *(["--patience", patience] if patience else []))
    assert set(phone["model"]) == {model}
    assert (phone["required_on_duty"] == expected).all()
    assert (phone["required_scheduled"] == expected).all()   # no shrinkage
    assert np.allclose(phone["arrivals"], 150.0)             # 150/h in 1 h intervals


def test_bundled_erlang_a_file_equals_erlang_command(tmp_path):
    req = _requirements_cli(tmp_path, ROOT / "scenarios" / "erlang_a_check.yaml", "--target", PHONE_SL,
                            "--target", "abandon_rate <= 0.1 on phone")
    expected = _erlang_cli("--rate", "150/h", "--aht", "4min", "--patience", "90s", "--target-sl", "0.8",
                           "--target-abandon", "0.1")
    assert set(req.loc[req["channel"] == "phone", "required_on_duty"]) == {expected}


@pytest.mark.parametrize("shrinkage", [0.0, 0.1, 0.25, 0.3, 0.35])
def test_shrinkage_grosses_up_rounded_up(tmp_path, shrinkage):
    path = _scenario(tmp_path, agents={"team": {"skills": ["phone"], "staffing": 9, "shrinkage": shrinkage}})
    scenario = load_scenario(path)
    req = requirements(scenario, parse_targets([PHONE_SL], scenario))
    net = req["required_on_duty"].to_numpy()
    assert (req["required_scheduled"].to_numpy() == np.ceil(net / (1 - shrinkage) - 1e-9)).all()
    assert list(gross_up(np.array([10, 7, 0]), 0.3)) == [15, 10, 0]   # 14.29 -> 15, 10.0 stays 10


def test_occupancy_cap_binds_only_when_it_should(tmp_path):
    scenario = load_scenario(_scenario(tmp_path))
    loose = parse_targets(["service_level >= 0.2 on phone"], scenario)
    load = 150 / 3600 * 240   # 10 Erlangs
    capped = requirements(scenario, loose, max_occupancy=0.7)
    free = requirements(scenario, loose)
    erlang = agents_needed("a", 150 / 3600, 240, target_service_level=0.2, mean_patience_s=90)
    phone = lambda df: set(df.loc[df["channel"] == "phone", "required_on_duty"])
    assert phone(free) == {erlang}
    assert erlang < math.ceil(load / 0.7)
    # The cap binds: the carried load (10 Erlangs less abandonment) over 0.7, rounded up.
    assert phone(capped) == {agents_needed("a", 150 / 3600, 240, target_service_level=0.2, mean_patience_s=90,
                                           target_occupancy_max=0.7)}
    assert phone(capped).pop() > erlang
    # A strict service level needs more than a 0.95 cap, which then does not bind.
    strict = parse_targets([PHONE_SL], scenario)
    assert phone(requirements(scenario, strict, max_occupancy=0.95)) == phone(requirements(scenario, strict))


def test_chat_concurrency_divides_servers(tmp_path):
    path = _scenario(tmp_path, channels={"chat": {"kind": "chat", "concurrency": 3, "concurrency_slowdown": 0.2,
                                                  "service_level_threshold": "60s"}},
                     demand={"chat": {"rate": "120/h"}}, handling={"chat": {"dist": "exponential", "mean": "10min"}},
                     agents={"team": {"skills": ["chat"], "staffing": 9, "wrap_up": "30s"}})
    scenario = load_scenario(path)
    req = requirements(scenario, parse_targets(["service_level >= 0.8 on chat"], scenario))
    handle = 600 * (1 + 0.2 * 2) + 30   # a slot is held longer when all three are in use, plus wrap-up
    servers = agents_needed("c", 120 / 3600, handle, target_service_level=0.8, threshold_s=60)
    chat = req[req["channel"] == "chat"]
    assert set(chat["model"]) == {"erlang_c"}
    assert np.allclose(chat["aht_s"], handle)
    assert set(chat["required_on_duty"]) == {math.ceil(servers / 3)}


def test_async_workload_within_response_target(tmp_path):
    path = _scenario(tmp_path, channels={"phone": {"kind": "voice", "service_level_threshold": "20s"},
                                         "email": {"kind": "async", "response_target": "4h"}},
                     demand={"phone": {"rate": "60/h"}, "email": {"rate": "20/h"}},
                     handling={"phone": {"dist": "exponential", "mean": "3min"},
                               "email": {"dist": "lognormal", "mean": "6min", "cv": 0.5}},
                     agents={"team": {"skills": ["phone", "email"], "staffing": 9}})
    scenario = load_scenario(path)
    targets = parse_targets([PHONE_SL], scenario)
    email = requirements(scenario, targets).query("channel == 'email'")
    assert set(email["model"]) == {"workload"}
    assert np.allclose(email["required_on_duty"], 20 * 6 / 60)   # 2 Erlangs of email, every hour
    capped = requirements(scenario, targets, max_occupancy=0.8).query("channel == 'email'")
    assert np.allclose(capped["required_on_duty"], 2 / 0.8)
    # The pool's total adds the unrounded email work to the phone agents, then rounds up.
    total = requirements(scenario, targets).query("channel == 'all'")["required_on_duty"]
    phone = agents_needed("c", 60 / 3600, 180, target_service_level=0.8)
    assert set(total) == {phone + 2}
    # A burst must be cleared within the target: a trailing mean over the target window.
    assert np.allclose(async_agents(np.array([0, 4, 0, 0, 0.0]), 1.0, 3600, 7200), [0, 2, 2, 0, 0])


def test_model_choice_and_bot_escalation(tmp_path):
    path = _scenario(
        tmp_path,
        channels={"phone": {"kind": "voice", "queue_capacity": 0},
                  "chat": {"kind": "chat", "patience": {"dist": "lognormal", "mean": "2min", "cv": 1.0}},
                  "bot": {"kind": "bot", "containment": 0.75, "escalate_to": "chat"}},
        demand={"phone": {"rate": "60/h"}, "chat": {"rate": "30/h"}, "bot": {"rate": "40/h"}},
        handling={"phone": {"dist": "exponential", "mean": "3min"}, "chat": {"dist": "exponential", "mean": "6min"},
                  "bot": {"dist": "exponential", "mean": "2min"}},
        agents={"team": {"skills": ["phone", "chat"], "staffing": 9}})
    scenario = load_scenario(path)
    req = requirements(scenario, parse_targets(["abandon_rate <= 0.05 on phone", "service_level >= 0.8 on chat"],
                                               scenario))
    models = req.groupby("channel")["model"].first().to_dict()
    assert models["phone"] == "erlang_b" and models["chat"] == "erlang_a"   # blocking; patience (its mean)
    chat = req[req["channel"] == "chat"]
    assert np.allclose(chat["arrivals"], 30 + 40 * 0.25)   # the bot's escalations join chat
    assert set(req.loc[req["channel"] == "phone", "required_on_duty"]) == {
        agents_needed("b", 60 / 3600, 180, target_abandon=0.05)}


def test_baseline_routing_and_closed_hours(tmp_path):
    from simsvc.plan.requirements import interval_grid, streams

    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    grid = interval_grid(scenario)
    work = streams(scenario, grid)
    # Technical calls are routed like the simulator routes them (generalists first: file order
    # on a tie), and the specialists get the 12 % transferred.
    ratio = work[("specialists", "phone")].rate_per_s.sum() / work[("generalists", "phone")].rate_per_s.sum()
    assert ratio == pytest.approx(0.3 * 0.12)
    assert ("digital", "chat") in work and ("generalists", "email") in work   # email: generalists rank it 2nd
    # Nobody is needed while a channel is closed, even if its forecast says otherwise.
    path = _scenario(tmp_path, channels={"phone": {"kind": "voice", "hours": "08:00-20:00"}})
    small = load_scenario(path)
    req = requirements(small, parse_targets([PHONE_SL], small)).query("channel == 'phone'")
    open_ = req["clock"].between("08:00", "19:59")
    assert (req.loc[~open_, "required_on_duty"] == 0).all() and (req.loc[open_, "required_on_duty"] > 0).all()


@pytest.mark.parametrize("target, fragment", [
    ("speed >= 0.8 on phone", "not a metric"),
    ("occupancy <= 0.8 on phone", "not a per-interval staffing metric"),
    ("service_level >= 0.8 on fax", "'fax' is not a real-time channel"),
    ("service_level >= 0.8", "no channel"),
    ("service_level <= 0.8 on phone", "service_level targets are 'service_level >= x'"),
    ("service_level >= 1.5 on phone", "between 0 and 1"),
    # the range is checked by the shared target parser; the target text is named once
    ("asa_s <= -5 on phone", "--target 'asa_s <= -5 on phone': asa_s is a time in seconds, 0 or more, got -5"),
    ("service_level > 0.8 on phone", "is not a target"),
])
def test_bad_target_one_message_nothing_written(tmp_path, target, fragment):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["requirements", str(_scenario(tmp_path)), "--target", target,
                                       "--out", str(out)])
    line = assert_one_error_line(result)
    assert fragment in line and repr(target) in line
    assert not out.exists()


def test_async_target_and_missing_target_are_refused(tmp_path):
    path = _scenario(tmp_path, channels={"phone": {"kind": "voice"}, "email": {"kind": "async"}},
                     demand={"phone": {"rate": "60/h"}, "email": {"rate": "10/h"}},
                     handling={"phone": {"dist": "exponential", "mean": "3min"},
                               "email": {"dist": "exponential", "mean": "5min"}},
                     agents={"team": {"skills": ["phone", "email"], "staffing": 9}})
    line = assert_one_error_line(CliRunner().invoke(main, ["requirements", str(path), "--target",
                                                           "service_level >= 0.9 on email"]))
    assert "'email' is not a real-time channel" in line
    line = assert_one_error_line(CliRunner().invoke(main, ["requirements", str(path)]))
    assert "channel 'phone' has no target" in line


def test_written_plan_runs_as_it_is(tmp_path):
    path = _scenario(tmp_path, agents={"team": {"skills": ["phone"], "shrinkage": 0.2,
                                                "staffing": {"shifts": [{"start": "08:00", "end": "16:00", "agents": 9}]}}})
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["requirements", str(path), "--target", PHONE_SL, "--out", str(out)])
    assert result.exit_code == 0, result.output
    planned = load_scenario(out / "scenario.yaml")
    steps = planned.agents["team"].staffing.steps
    req = pd.read_csv(out / "requirements.csv").query("channel == 'all'")
    assert [s.agents for s in steps] == list(req["required_scheduled"])
    assert planned.agents["team"].staffing.shifts is None and planned.name == "req_erlang"


def test_run_writes_the_erlang_requirement_beside_the_simulation(tmp_path):
    channels = {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "90s"},
                          "service_level_target": 0.8},
                "email": {"kind": "async", "response_target": "2h"}}
    path = _scenario(tmp_path, horizon="6h", channels=channels,
                     demand={"phone": {"rate": "150/h"}, "email": {"rate": "10/h"}},
                     handling={"phone": {"dist": "exponential", "mean": "4min"},
                               "email": {"dist": "exponential", "mean": "6min"}},
                     agents={"team": {"skills": ["phone", "email"], "staffing": 12, "shrinkage": 0.2}})
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(path), "-n", "2", "-w", "1", "--no-contacts", "--no-report",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    intervals = pd.read_parquet(out / "intervals.parquet")
    pools = pd.read_parquet(out / "pools.parquet")
    erlang = agents_needed("a", 150 / 3600, 240, target_service_level=0.8, mean_patience_s=90)
    assert set(intervals.loc[intervals["channel"] == "phone", "required_on_duty"]) == {erlang}
    assert np.allclose(intervals.loc[intervals["channel"] == "email", "required_on_duty"], 1.0)  # 10/h x 6 min
    assert set(pools["required_on_duty"]) == {erlang + 1}   # on duty: the pool's work rounded up
    from simsvc.report.staffing_plots import staffed_required_busy

    fig = staffed_required_busy(pools)   # the report's plot: staffed vs required vs busy
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["required (Erlang, on duty)", "busy"]


@pytest.mark.parametrize("model, patience", [("erlang_a", 120.0), ("erlang_c", None), ("erlang_b", None)])
def test_interval_search_gives_agents_needed_answers(model, patience):
    """Stepping from the previous interval's answer finds the same staffing as a fresh search."""
    from simsvc.analytic.requirements import RealTimeTargets, real_time_agents

    rates = np.random.default_rng(1).uniform(0.001, 0.08, 25)   # 3.6/h .. 288/h, in random order
    for goals in (RealTimeTargets(service_level=0.8), RealTimeTargets(abandon_rate=0.05, occupancy_max=0.85)):
        got = real_time_agents(rates, 240.0, goals, model=model, mean_patience_s=patience)
        expected = [agents_needed(model, lam, 240.0, target_service_level=goals.service_level,
                                  target_abandon=goals.abandon_rate, target_occupancy_max=goals.occupancy_max,
                                  mean_patience_s=patience) for lam in rates]
        assert list(got) == expected


def test_reasons_own_patience_and_row_mix_reach_the_erlang_requirement(tmp_path):
    """A reason's own patience and a volume row's own mix are what the analytic plan staffs for:
    each interval is Erlang A at that interval's reason mix (AHT and mean patience weighted by
    rate), not the channel's patience and mix (both would give other agents here)."""
    channel = {"kind": "voice", "patience": {"dist": "exponential", "mean": "30s"},
               "service_level_threshold": "20s"}
    volumes = [{"day": "mon", "start": "00:00", "volume": 150, "mix": {"quick": 0.9, "slow": 0.1}},
               {"day": "mon", "start": "01:00", "volume": 150, "mix": {"quick": 0.1, "slow": 0.9}},
               {"day": "mon", "start": "02:00", "volume": 150},
               {"day": "mon", "start": "03:00", "volume": 0}]   # a row lasts until the next
    path = _scenario(
        tmp_path, channels={"phone": channel}, horizon="3h",
        demand={"phone": {"volumes": volumes, "mix": {"quick": 0.5, "slow": 0.5}}},
        reasons={"quick": {}, "slow": {"patience": {"dist": "exponential", "mean": "10min"}}},
        handling={"phone": {"quick": {"dist": "exponential", "mean": "2min"},
                            "slow": {"dist": "exponential", "mean": "6min"}}})
    scenario = load_scenario(path)
    req = requirements(scenario, parse_targets([PHONE_SL], scenario))
    phone = req[req["channel"] == "phone"].sort_values("interval")
    for i, (quick, slow) in enumerate([(0.9, 0.1), (0.1, 0.9), (0.5, 0.5)]):
        aht = quick * 120 + slow * 360
        patience = quick * 30 + slow * 600
        expected = agents_needed("erlang_a", 150 / 3600, aht, target_service_level=0.8, threshold_s=20,
                                 mean_patience_s=patience)
        row = phone.iloc[i]
        assert row["aht_s"] == pytest.approx(aht)
        assert row["required_on_duty"] == expected, (i, row.to_dict())
    # the channel's patience alone would staff the middle hour differently
    assert phone.iloc[1]["required_on_duty"] != agents_needed(
        "erlang_a", 150 / 3600, 0.1 * 120 + 0.9 * 360, target_service_level=0.8, threshold_s=20, mean_patience_s=30)


def test_routing_delay_is_named_as_outside_the_erlang_figures(tmp_path):
    """Erlang has no routing step: requirements says so for the reason that has one, and only then."""
    plain = CliRunner().invoke(main, ["requirements", str(_scenario(tmp_path)), "--target", PHONE_SL,
                                           "--out", str(tmp_path / "a")])
    assert plain.exit_code == 0, plain.output
    assert "warning" not in plain.output
    path = _scenario(tmp_path, name="delayed", reasons={
        "general": {"routing_delay": {"dist": "deterministic", "value": "40s"}}})
    delayed = CliRunner().invoke(main, ["requirements", str(path), "--target", PHONE_SL, "--out", str(tmp_path / "b")])
    assert delayed.exit_code == 0, delayed.output
    assert "warning: reasons.general.routing_delay is not in these Erlang figures" in delayed.output
    # the figures themselves are Erlang's, with or without the step
    a, b = pd.read_csv(tmp_path / "a" / "requirements.csv"), pd.read_csv(tmp_path / "b" / "requirements.csv")
    pd.testing.assert_frame_equal(a, b)
