"""``simsvc erlang``: the planner's Erlang calculator, driven through click's CliRunner.

Expected numbers come from the callcentrehelper.com Erlang C worked example
(100 calls per 30 min = 200/h, AHT 180 s, 20 s threshold), as reproduced in the
README of the CRAN package ErlangC: 14 agents -> P(wait) 0.1741, service level
0.8884 (0.88835), ASA 7.84 s, occupancy 0.7143; 11 agents -> P(wait) 0.6821,
service level 0.3896; 14 agents needed for 80/20.
"""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from simsvc.cli import main
from simsvc.cli.erlang_cmd import _parse_agents, _parse_duration, _parse_rate

EXAMPLE = ["erlang", "--rate", "200/h", "--aht", "3min"]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _row(output: str, agents: int) -> list[str]:
    for line in output.splitlines():
        cells = line.split()
        if cells and cells[0] == str(agents):
            return cells
    raise AssertionError(f"no row for {agents} agents in:\n{output}")


def test_table_has_published_numbers_and_units_in_headers() -> None:
    result = run(*EXAMPLE, "--agents", "14")
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if line.lstrip().startswith("agents"))
    for column in ("p_wait", "asa_s", "wait_mean_s", "sl_20s", "p_abandon", "p_blocked",
                   "occupancy"):
        assert column in header
    row = dict(zip(header.split(), _row(result.output, 14)))
    assert row["p_wait"] == "0.1741"
    assert row["sl_20s"] == "0.8884"
    assert row["asa_s"] == "7.84"
    assert row["occupancy"] == "0.7143"
    assert "Erlang C" in result.output and "10.000 Erl" in result.output


def test_agent_range_prints_one_row_each_and_flags_unstable_rows() -> None:
    result = run(*EXAMPLE, "--agents", "8:14")
    assert result.exit_code == 0, result.output
    for agents in range(8, 15):
        _row(result.output, agents)
    assert "unstable" in " ".join(_row(result.output, 10))
    eleven = _row(result.output, 11)
    assert "0.6821" in eleven and "0.3896" in eleven
    stepped = run(*EXAMPLE, "--agents", "12:20:4")
    assert stepped.exit_code == 0, stepped.output
    assert [_row(stepped.output, a)[0] for a in (12, 16, 20)] == ["12", "16", "20"]
    with pytest.raises(AssertionError):
        _row(stepped.output, 14)


def test_json_output_parses() -> None:
    result = run(*EXAMPLE, "--agents", "13:15", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["model"] == "erlang_c"
    assert doc["inputs"]["offered_load_erlangs"] == pytest.approx(10.0)
    by_agents = {r["servers"]: r for r in doc["results"]}
    assert sorted(by_agents) == [13, 14, 15]
    assert by_agents[14]["p_wait"] == pytest.approx(0.1741319, abs=1e-7)
    assert by_agents[14]["service_level"] == pytest.approx(0.88835, abs=1e-5)
    assert by_agents[14]["asa_s"] == pytest.approx(7.835937, abs=1e-5)


def test_staffing_answer() -> None:
    result = run(*EXAMPLE, "--target-sl", "0.8", "--threshold", "20s")
    assert result.exit_code == 0, result.output
    assert "agents needed: 14" in result.output
    assert _row(result.output, 14)[4] == "0.8884"  # sl_20s column
    as_json = run(*EXAMPLE, "--target-sl", "80%", "--format", "json")
    doc = json.loads(as_json.output)
    assert doc["agents_needed"] == 14 and doc["results"][0]["servers"] == 14
    # ASA target: 13 agents give ASA 17.1 s, 14 give 7.8 s.
    asa = json.loads(run(*EXAMPLE, "--target-asa", "10s", "--format", "json").output)
    assert asa["agents_needed"] == 14


def test_patience_selects_erlang_a_and_abandon_target() -> None:
    result = run("erlang", "--rate", "150/h", "--aht", "4min", "--agents", "9",
                 "--patience", "90s", "--format", "json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)["results"][0]
    assert metrics["model"] == "erlang_a"
    assert 0 < metrics["p_abandon"] < metrics["p_wait"] < 1
    staffed = json.loads(run("erlang", "--rate", "150/h", "--aht", "4min", "--patience", "90",
                             "--target-abandon", "0.02", "--format", "json").output)
    n = staffed["agents_needed"]
    assert staffed["results"][0]["p_abandon"] <= 0.02
    before = json.loads(run("erlang", "--rate", "150/h", "--aht", "4min", "--patience", "90",
                            "--agents", str(n - 1), "--format", "json").output)
    assert before["results"][0]["p_abandon"] > 0.02


def test_model_b_reports_blocking() -> None:
    result = run(*EXAMPLE, "--agents", "10", "--model", "b", "--format", "json")
    metrics = json.loads(result.output)["results"][0]
    assert metrics["model"] == "erlang_b"
    assert metrics["p_blocked"] == pytest.approx(0.2146, abs=1e-4)  # B(10, 10 E) = 0.2146
    assert metrics["service_level"] == pytest.approx(1 - metrics["p_blocked"])


def test_bad_rate_is_rejected_with_clear_message() -> None:
    result = run("erlang", "--rate", "150/fortnight", "--aht", "4min", "--agents", "9")
    assert result.exit_code != 0
    assert "--rate" in result.output
    assert "150/fortnight" in result.output and "120/h" in result.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--aht", "four minutes", "--agents", "9"], "--aht"),
        (["--aht", "0s", "--agents", "9"], "greater than zero"),
        (["--aht", "4min", "--agents", "9:3"], "--agents"),
        (["--aht", "4min", "--agents", "x"], "--agents"),
        (["--aht", "4min", "--target-sl", "1.5"], "--target-sl"),
        (["--aht", "4min"], "--agents"),  # neither agents nor a target
        (["--aht", "4min", "--agents", "9", "--target-sl", "0.8"], "not both"),
        (["--aht", "4min", "--agents", "9", "--model", "a"], "--patience"),
        (["--aht", "4min", "--agents", "9", "--model", "c", "--patience", "60s"], "--patience"),
        (["--aht", "4min", "--agents", "9", "--model", "c"], "unstable"),  # 10 E on 9 agents
    ],
)
def test_bad_input_exits_non_zero(args: list[str], fragment: str) -> None:
    result = run("erlang", "--rate", "150/h", *args)
    assert result.exit_code != 0
    assert fragment in result.output


# Found by fuzzing: --target-abandon without --patience used Erlang C, which loses no caller,
# so the target was always met (11 agents, exit 0). Refused; Erlang A and B still take it.
@pytest.mark.parametrize("model", [[], ["--model", "c"]], ids=["default", "model-c"])
def test_abandon_target_needs_a_model_that_loses_callers(model: list[str]) -> None:
    result = run("erlang", "--rate", "150/h", "--aht", "4min", "--target-abandon", "0.05", *model)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "agents needed" not in result.output
    assert ("Error: --target-abandon 0.05 needs callers who can be lost: give --patience "
            "(Erlang A: callers abandon, e.g. --patience 90s) or --model b") in result.output
    for other in (["--patience", "90s"], ["--model", "b"]):
        ok = run("erlang", "--rate", "150/h", "--aht", "4min", "--target-abandon", "0.05", *other)
        assert ok.exit_code == 0 and "agents needed: " in ok.output, ok.output


@pytest.mark.parametrize(
    ("text", "per_second"),
    [("150/h", 150 / 3600), ("2.5/min", 2.5 / 60), ("0.04/s", 0.04), ("3600/d", 3600 / 86400),
     ("150", 150 / 3600), (" 12 / hour ", 12 / 3600), ("1e2/h", 100 / 3600)],
)
def test_parse_rate(text: str, per_second: float) -> None:
    assert _parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("20s", 20.0), ("4min", 240.0), ("1.5h", 5400.0), ("90", 90.0), ("2 m", 120.0),
     (".5h", 1800.0), ("1d", 86400.0)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert _parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "-5s", "5 parsecs", "1h30", "/h"])
def test_parse_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        _parse_duration(text)
    with pytest.raises(ValueError, match="rate"):
        _parse_rate(text)


def test_parse_agents() -> None:
    assert _parse_agents("9") == [9]
    assert _parse_agents("8:14") == list(range(8, 15))
    assert _parse_agents("8:20:2") == [8, 10, 12, 14, 16, 18, 20]
    for bad in ("0", "5:4", "5:9:0", "1:2:3:4", "a:b"):
        with pytest.raises(ValueError):
            _parse_agents(bad)
