"""Options of the planning and comparison commands that no other test names reach what they set
(none accepted and ignored): `erlang`/`requirements`/`staff --max-occupancy`, `staff
--min-contacts`, `roster --time-limit/--gap`, `compare --independent-seeds`.

Where the command's work is long (staff, roster, compare) the option is checked where the CLI
hands it to the library, the work itself stopped there; what the library does with it is tested
in tests/test_plan_*.py and tests/test_experiment.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from simsvc.cli import main

ROOT = Path(__file__).parent.parent
BASELINE = ROOT / "scenarios" / "baseline.yaml"
ERLANG_A = ROOT / "scenarios" / "erlang_a_check.yaml"
PHONE_SL = "service_level >= 0.8 on phone"


class Stop(Exception):
    pass


def test_erlang_max_occupancy_caps_the_staffing():
    """5 Erlangs at SL 80/20 need 8 agents (occupancy 0.625); at most 0.6 occupancy needs 9."""
    def needed(*args):
        result = CliRunner().invoke(main, ["erlang", "--rate", "100/h", "--aht", "180", "--target-sl", "0.8",
                                           *args, "--format", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["agents_needed"]

    assert needed() == 8
    assert needed("--max-occupancy", "0.6") == 9


def test_requirements_max_occupancy_raises_the_requirement(tmp_path):
    def required(*args):
        out = tmp_path / f"out{len(args)}"
        result = CliRunner().invoke(main, ["requirements", str(BASELINE), "--out", str(out), *args])
        assert result.exit_code == 0, result.output
        return pd.read_csv(out / "requirements.csv")

    free, capped = required(), required("--max-occupancy", "0.5")
    assert (capped["required_on_duty"] >= free["required_on_duty"]).all()
    assert (capped["required_on_duty"] > free["required_on_duty"]).any()
    # occupancy at most 0.5: on duty at least twice the offered load (Erlangs) of each interval
    phone = capped[(capped["channel"] == "phone") & (capped["pool"] == "generalists")]
    interval_s = float(pd.Series(phone["start_s"].unique()).sort_values().diff().min())
    load = phone["arrivals"] * phone["aht_s"] / interval_s
    assert (phone["required_on_duty"] >= 2 * load - 1e-9).all()
    assert (free.loc[phone.index, "required_on_duty"] < 2 * load).any()  # binding somewhere


@pytest.mark.parametrize("args, field, value", [
    (["--min-contacts", "12"], "min_contacts", 12.0),
    (["--max-occupancy", "0.7"], "max_occupancy", 0.7),
])
def test_staff_options_reach_the_search(tmp_path, monkeypatch, args, field, value):
    seen = {}

    def fake_staff(resolved, goals, options, progress):
        seen["options"] = options
        raise Stop

    monkeypatch.setattr("simsvc.plan.staff.staff", fake_staff)
    for extra, out in ((args, "a"), ([], "b")):
        result = CliRunner().invoke(main, ["staff", str(ERLANG_A), "--target", PHONE_SL, *extra,
                                           "-o", str(tmp_path / out)])
        assert isinstance(result.exception, Stop), result.output
        got = getattr(seen["options"], field)
        assert (got == value) if extra else (got != value)


def test_roster_time_limit_and_gap_reach_the_solver(tmp_path, monkeypatch):
    from simsvc.plan import roster as roster_module

    seen = []
    solve = roster_module.roster

    def spy(resolved, rules, net, options):
        seen.append(options)
        return solve(resolved, rules, net, options)

    monkeypatch.setattr(roster_module, "roster", spy)
    data = ROOT / "tests" / "data"
    req = tmp_path / "req"
    result = CliRunner().invoke(main, ["requirements", str(data / "roster_day.yaml"), "--target", PHONE_SL,
                                       "--out", str(req)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["roster", str(data / "roster_day.yaml"), "--requirements",
                                       str(req / "requirements.csv"), "--rules", str(data / "roster_day_rules.yaml"),
                                       "--time-limit", "7", "--gap", "0.05", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert seen and seen[-1].time_limit_s == 7.0 and seen[-1].mip_rel_gap == 0.05


def test_compare_independent_seeds_reaches_the_design(tmp_path, monkeypatch):
    seen = []

    def fake_run(design, *args, **kwargs):
        seen.append(design)
        raise Stop

    monkeypatch.setattr("simsvc.cli.compare_cmd.run_design", fake_run)
    for extra in (["--independent-seeds"], []):
        result = CliRunner().invoke(main, ["compare", str(ERLANG_A), str(ERLANG_A), *extra,
                                           "--out", str(tmp_path / "c")])
        assert isinstance(result.exception, Stop), result.output
    assert [d.independent_seeds for d in seen] == [True, False]
