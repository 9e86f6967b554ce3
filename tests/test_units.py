"""Durations, rates and clock times as planners write them (``simsvc.config.units``)."""
from __future__ import annotations


import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from simsvc.config.units import (
    CLOCK_HELP,
    DURATION_HELP,
    RATE_HELP,
    format_duration,
    parse_clock,
    parse_duration,
    parse_rate,
)


# --------------------------------------------------------------------------- parse_duration
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("20s", 20.0),
        ("4min", 240.0),
        ("8h", 28_800.0),
        ("2d", 172_800.0),
        ("1h30min", 5_400.0),
        ("1h 30min", 5_400.0),
        ("1.5h", 5_400.0),
        (".5h", 1_800.0),
        (" 4 min ", 240.0),
        ("3m", 180.0),
        ("10ms", 0.01),
        ("1w", 604_800.0),
        ("2 days", 172_800.0),
        ("1H", 3_600.0),
        ("90", 90.0),
        ("2.5", 2.5),
        ("0", 0.0),
        (90, 90.0),
        (0, 0.0),
        (1.5, 1.5),
    ],
)
def test_parse_duration_accepts_written_forms(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-12, abs=1e-12)


def test_parse_duration_bare_number_is_seconds() -> None:
    assert parse_duration(90) == parse_duration("90") == parse_duration("90s") == 90.0
    assert isinstance(parse_duration(90), float)


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "soon", "4 parsecs", "min", "4min5", "1h-30min", "-4min", "4min!", "h4",
     None, [], {}, True, False],
)
def test_parse_duration_rejects_garbage_naming_what_is_allowed(bad: object) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(bad)
    assert str(info.value) == DURATION_HELP
    assert "20s" in str(info.value) and "4min" in str(info.value)


@pytest.mark.parametrize("bad", [-5, -0.5, "-5", "-1e3"])
def test_parse_duration_rejects_negative_numbers(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize("bad", ["inf", "nan", "1e400", float("inf"), float("nan")])
def test_parse_duration_rejects_non_finite(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


# --------------------------------------------------------------------------- parse_rate
@pytest.mark.parametrize(
    ("text", "per_second"),
    [
        ("120/h", 120 / 3600),
        ("2.5/min", 2.5 / 60),
        ("3000/d", 3000 / 86_400),
        ("0.04/s", 0.04),
        ("5/2h", 5 / 7_200),
        (" 120 / h ", 120 / 3600),
        ("1e3/h", 1000 / 3600),
        ("0/h", 0.0),
        ("70/week", 70 / 604_800),
        # a bare number is per hour
        (120, 120 / 3600),
        (2.5, 2.5 / 3600),
        ("120", 120 / 3600),
        ("0", 0.0),
        (0, 0.0),
    ],
)
def test_parse_rate_accepts_written_forms(text: object, per_second: float) -> None:
    assert parse_rate(text) == pytest.approx(per_second, rel=1e-12, abs=0)


@pytest.mark.parametrize(
    "bad",
    [-1, -0.5, "-1", "-1/h", "-120/min", "", "lots", "5/", "/h", "5/0h", "5/xyz", "five/h",
     "nan", None, [], True, False],
)
def test_parse_rate_rejects_negative_and_garbage_naming_what_is_allowed(bad: object) -> None:
    with pytest.raises(ValueError) as info:
        parse_rate(bad)
    assert str(info.value) == RATE_HELP
    assert ">= 0" in str(info.value) and "120/h" in str(info.value)


@pytest.mark.parametrize("bad", ["inf/h", "inf", float("inf"), float("nan")])
def test_parse_rate_rejects_non_finite(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_rate(bad)


@given(st.integers(min_value=0, max_value=10**12))
def test_parse_rate_per_hour_integer(n: int) -> None:
    assert parse_rate(f"{n}/h") == n / 3600


@given(st.floats(min_value=0.0, max_value=3.6e12, allow_nan=False, allow_infinity=False))
def test_parse_rate_per_hour_float(x: float) -> None:
    assert parse_rate(f"{x!r}/h") == x / 3600


@given(st.integers(min_value=0, max_value=10**9))
def test_bare_number_rate_equals_per_hour(n: int) -> None:
    assert parse_rate(n) == parse_rate(str(n)) == parse_rate(f"{n}/h")


# --------------------------------------------------------------------------- parse_clock
@pytest.mark.parametrize(
    ("text", "seconds"),
    [("00:00", 0.0), ("08:30", 30_600.0), ("8:30", 30_600.0), ("23:59:59", 86_399.0),
     ("24:00", 86_400.0), (" 12:00 ", 43_200.0)],
)
def test_parse_clock(text: str, seconds: float) -> None:
    assert parse_clock(text) == seconds


@pytest.mark.parametrize(
    "bad", ["24:01", "25:00", "12:60", "12:00:60", "-1:00", "8", "8h", "noon", "", "1:2:3:4", 830, None],
)
def test_parse_clock_rejects(bad: object) -> None:
    with pytest.raises(ValueError) as info:
        parse_clock(bad)
    assert str(info.value) == CLOCK_HELP


# --------------------------------------------------------------------------- format_duration
@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.0, "0s"),
        (20, "20s"),
        (0.5, "0.5s"),
        (61, "61s"),
        (240, "4min"),
        (5_400, "90min"),
        (3_600, "1h"),
        (7_200.0, "2h"),
        (86_400, "1d"),
        (172_800, "2d"),
        (90_000, "25h"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=999_999))
def test_format_duration_round_trips_integer_seconds_below_a_million(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.integers(min_value=0, max_value=10**10))
@example(1_000_001)
@example(1_234_567)
def test_format_duration_round_trips_integer_seconds(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.integers(min_value=0, max_value=10**6).map(lambda k: k * 60))
def test_format_duration_round_trips_whole_minutes(seconds: int) -> None:
    text = format_duration(seconds)
    assert parse_duration(text) == seconds
    assert "e" not in text  # whole minutes print in a unit, never in scientific notation


@given(st.decimals(min_value=0, max_value=99_999, places=1).map(float))
def test_format_duration_round_trips_six_significant_digits(seconds: float) -> None:
    # Values with at most six significant digits print exactly, so they parse back exactly.
    assert parse_duration(format_duration(seconds)) == seconds


@given(st.just(0.0) | st.floats(min_value=1e-3, max_value=1e5, allow_nan=False, allow_infinity=False))
@example(1199.99609375)
@example(3599.9999)
def test_format_duration_is_a_fixed_point_after_one_round(seconds: float) -> None:
    once = format_duration(seconds)
    assert format_duration(parse_duration(once)) == once


def test_vary_range_from_an_experiment_file_is_not_base_60(tmp_path) -> None:
    """An unquoted 8:14:2 in an experiment file is a range, not YAML 1.1's 29642."""
    from simsvc.experiment.design import load_experiment

    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    f = tmp_path / "e.yaml"
    f.write_text(f"name: e\nscenarios: {{a: {root}/scenarios/erlang_a_check.yaml}}\n"
                 "sweep: {vary: {agents.team.staffing: 8:14:2}}\n", encoding="utf-8")
    design = load_experiment(f)
    assert [v.params["agents.team.staffing"] for v in design.variants] == [8, 10, 12, 14]
