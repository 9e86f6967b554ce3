"""Logged-in staffing from agent activity: the presence gap and the "agents seen" bases, counted by hand."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from simsvc.calibrate.agents import PoolPlan, presence
from simsvc.cli import main

SYNTHETIC = Path(__file__).parent / "data" / "synthetic_log.csv"
DAY1, DAY2 = pd.Timestamp("1999-08-01"), pd.Timestamp("1999-08-02")
PLAN = PoolPlan({"general": ["phone"], "only_in": ["phone/IN"]}, {"A": "general", "B": "general", "Z": "only_in"}, [])


def tiny_log() -> pd.DataFrame:
    """Agent A serves 9:00–9:05 and 9:50–10:05 (45 min apart) on day 1 and 9:00–9:05 on day 2;
    B serves 9:20–9:21; Z (its own pool) 11:10–11:11:40. An abandoned call and one without an
    agent count for nobody."""
    rows = [  # day, clock_s, wait_s, handle_s, agent, outcome
        (DAY1, 32_340, 60, 300, "A", "answered"),    # 9:00:00–9:05:00 (arrives 8:59)
        (DAY1, 35_400, 0, 900, "A", "answered"),     # 9:50–10:05
        (DAY1, 33_600, 0, 60, "B", "answered"),      # 9:20–9:21
        (DAY1, 40_200, 0, 100, "Z", "answered"),     # 11:10:00–11:11:40
        (DAY1, 36_000, 120, 0, None, "abandoned"),
        (DAY1, 37_000, 0, 200, None, "answered"),
        (DAY2, 32_400, 0, 300, "A", "answered"),     # 9:00–9:05
    ]
    frame = pd.DataFrame(rows, columns=["day", "clock_s", "wait_s", "handle_s", "agent", "outcome"])
    return frame.assign(wrap_s=0.0, channel="phone", reason="PS")


def counts(basis: str, gap_s: float = 1800.0) -> dict:
    """(pool, day of month, 'hh:mm') → (agents, distinct agents, busy agents × 900)."""
    t = presence(tiny_log(), PLAN, 900.0, gap_s, basis)
    return {(r.pool, r.day.day, f"{int(r.start_s // 3600):02d}:{int(r.start_s % 3600 // 60):02d}"):
            (round(r.agents, 4), r.distinct_agents, round(r.busy_agents * 900)) for r in t.itertuples()}


def test_distinct_hour_counts_every_agent_seen_in_the_hour_as_one_whole_agent():
    assert counts("distinct_hour") == {
        # hour 9 of day 1: A and B served; A's 9:50 service runs into hour 10, so A is seen there too
        ("general", 1, "09:00"): (2.0, 2, 300), ("general", 1, "09:15"): (2.0, 2, 60),
        ("general", 1, "09:30"): (2.0, 2, 0), ("general", 1, "09:45"): (2.0, 2, 600),
        ("general", 1, "10:00"): (1.0, 1, 300), ("general", 1, "10:15"): (1.0, 1, 0),
        ("general", 1, "10:30"): (1.0, 1, 0), ("general", 1, "10:45"): (1.0, 1, 0),
        ("only_in", 1, "11:00"): (1.0, 1, 100), ("only_in", 1, "11:15"): (1.0, 1, 0),
        ("only_in", 1, "11:30"): (1.0, 1, 0), ("only_in", 1, "11:45"): (1.0, 1, 0),
        ("general", 2, "09:00"): (1.0, 1, 300), ("general", 2, "09:15"): (1.0, 1, 0),
        ("general", 2, "09:30"): (1.0, 1, 0), ("general", 2, "09:45"): (1.0, 1, 0)}


def test_distinct_interval_counts_agents_seen_in_each_interval():
    assert counts("distinct_interval") == {
        ("general", 1, "09:00"): (1.0, 1, 300), ("general", 1, "09:15"): (1.0, 1, 60),
        ("general", 1, "09:45"): (1.0, 1, 600), ("general", 1, "10:00"): (1.0, 1, 300),
        ("only_in", 1, "11:00"): (1.0, 1, 100), ("general", 2, "09:00"): (1.0, 1, 300)}


def test_present_bridges_gaps_shorter_than_the_presence_gap_only():
    # 30 min: A's two services (45 min apart) stay apart; presence is the service time only
    assert counts("present") == {
        ("general", 1, "09:00"): (0.3333, 1, 300), ("general", 1, "09:15"): (0.0667, 1, 60),
        ("general", 1, "09:45"): (0.6667, 1, 600), ("general", 1, "10:00"): (0.3333, 1, 300),
        ("only_in", 1, "11:00"): (0.1111, 1, 100), ("general", 2, "09:00"): (0.3333, 1, 300)}
    # 1 h: A is present from 9:00 to 10:05 (B beside A from 9:20 to 9:21)
    one_hour = counts("present", 3600.0)
    assert one_hour[("general", 1, "09:15")] == (1.0667, 2, 60)
    assert one_hour[("general", 1, "09:30")] == (1.0, 1, 0)
    assert one_hour[("general", 1, "10:00")] == (0.3333, 1, 300)


def test_a_bad_basis_or_interval_is_a_clear_error():
    with pytest.raises(ValueError, match="staffing basis 'seen': one of present, distinct_hour, distinct_interval"):
        presence(tiny_log(), PLAN, 900.0, basis="seen")
    with pytest.raises(ValueError, match="divides an hour"):
        presence(tiny_log(), PLAN, 1500.0, basis="distinct_hour")


@pytest.mark.parametrize("args, says", [
    (["--staffing-basis", "distinct_hour", "--interval", "25min"], "needs an --interval that divides an hour"),
    (["--staffing-basis", "distinct_hour", "--interval", "2h"], "got 7200 s"),
    (["--staffing-basis", "seen"], "'seen' is not one of 'present', 'distinct_hour', 'distinct_interval'"),
])
def test_bad_staffing_basis_on_the_command_line_is_one_message(tmp_path, args, says):
    for command in (["fit", str(SYNTHETIC), "--out", str(tmp_path / "fitted")],
                    ["backtest", str(SYNTHETIC), "--fit-days", "1-3", "--test-days", "4-5",
                     "--out", str(tmp_path / "bt")]):
        result = CliRunner().invoke(main, [*command, *args])
        assert result.exit_code == 2, result.output
        assert "--staffing-basis" in result.output and says in result.output
    assert not (tmp_path / "fitted").exists() and not (tmp_path / "bt").exists()
