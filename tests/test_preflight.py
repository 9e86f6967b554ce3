"""`check` and `run` warn (never fail) when staffing cannot carry the forecast or open hours are uncovered."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from simsvc.cli import main
from simsvc.config.load import load_scenario
from simsvc.experiment.preflight import capacity_warnings

ROOT = Path(__file__).resolve().parent.parent
ERLANG_A = ROOT / "scenarios" / "erlang_a_check.yaml"
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def test_overload_is_named_with_its_numbers():
    # The case: 150/h × 4 min = 10 Erlangs on 9 agents.
    (text,) = capacity_warnings(load_scenario(ERLANG_A))
    assert text.startswith("phone: offered load exceeds") and "10.0 Erlangs on 9.0 agents" in text
    assert "abandonment" in text
    assert capacity_warnings(load_scenario(ERLANG_A, ["agents.team.staffing=11"])) == []
    # Shrinkage counts: 12 scheduled × (1 − 0.25) = 9 available.
    shrunk = capacity_warnings(load_scenario(ERLANG_A, ["agents.team.staffing=12", "agents.team.shrinkage=0.25"]))
    assert len(shrunk) == 1 and "on 9.0 agents" in shrunk[0]


def test_load_follows_the_reason_mix_of_volume_rows():
    """Volume rows with their own mix weigh each reason's handling by its contacts there: all
    150/h slow (6 min, 15 Erlangs on 12 agents) is an overload the channel's mix (all quick,
    2 min: 5 Erlangs) would hide."""
    sets = ["handling.phone={quick: {dist: exponential, mean: 2min}, slow: {dist: exponential, mean: 6min}}",
            "reasons={quick: {}, slow: {}}", "agents.team.staffing=12",
            "demand.phone={volumes: [{day: mon, start: '00:00', volume: 3600, mix: {slow: 1.0}}], "
            "mix: {quick: 1.0, slow: 0.0}}"]
    (text,) = capacity_warnings(load_scenario(ERLANG_A, sets))
    assert "15.0 Erlangs on 12.0 agents" in text, text
    channel_mix = capacity_warnings(load_scenario(ERLANG_A, sets[:-1] + [sets[-1].replace(", mix: {slow: 1.0}", "")]))
    assert channel_mix == [], channel_mix


def test_open_hours_without_agents_and_bundled_scenarios_are_quiet():
    assert capacity_warnings(load_scenario(BASELINE)) == []
    late_gone = load_scenario(BASELINE, ["agents.generalists.staffing.shifts.3.agents=0",
                                         "agents.specialists.staffing.shifts.1.agents=0"])
    texts = capacity_warnings(late_gone)
    assert any(t.startswith("phone: open with demand but no agent skilled for it on duty: mon 18:30–20:00")
               for t in texts), texts


def test_check_and_run_warn_but_succeed(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["check", str(ERLANG_A), "-q"])
    assert res.exit_code == 0 and res.stdout == ""
    assert "warning: phone: offered load exceeds" in res.stderr
    res = runner.invoke(main, ["run", str(ERLANG_A), "-n", "1", "-w", "1", "--no-report", "--no-contacts",
                               "--set", "horizon=2d", "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert "warning: phone: offered load exceeds" in res.stderr and (tmp_path / "r" / "summary.csv").is_file()
