"""Trace-driven demand: a channel's contacts listed one by one with their arrival times.

``demand.<channel>.arrivals`` (inline rows, or ``arrivals_csv``: a file with columns
``day,start`` and optional ``reason``, ``handle``) replaces the channel's forecast: its
first contacts are exactly these, at these times, with these reasons (the channel's
``mix`` draws a reason for a row without one) and, where a row gives ``handle``, that
handling time instead of a drawn one. "Replay last week's actual arrivals under another
staffing." Days are the simulation's day numbers 0, 1, 2… (as absolute ``volumes`` rows);
``start`` is a clock time ``HH:MM[:SS]`` or seconds after midnight.
"""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from simsvc.config.fields import Base, Clock, Duration

MAX_ARRIVAL_DAY = 100_000
ARRIVAL_COLUMNS = ("day", "start")
OPTIONAL_COLUMNS = ("reason", "handle")


class ArrivalRow(Base):
    """One contact of a trace: it arrives on ``day`` at ``start`` (clock or seconds after midnight)."""

    day: Annotated[int, Field(ge=0, le=MAX_ARRIVAL_DAY)]
    start: Clock | Annotated[float, Field(ge=0, lt=86400)]
    reason: str | None = Field(default=None, description="its reason (else drawn from the channel's mix)")
    handle: Duration | None = Field(default=None, description="its handling time (else drawn)")

    def __deepcopy__(self, memo: dict) -> "ArrivalRow":
        return self  # frozen: a copy would be the same row (a replay's trace is copied per validation)


def start_seconds(start: str | float) -> float:
    """A row's ``start`` as seconds after midnight."""
    from simsvc.config.units import parse_clock

    return parse_clock(start) if isinstance(start, str) else float(start)


def read_arrivals(file: str, field: str) -> list[dict[str, Any]]:
    """Rows of an arrivals CSV, each cell checked with its file and line in the message (an
    empty optional cell: no value)."""
    from simsvc.config.load import csv_rows

    return [{c: _cell(file, line, c, text) for c, text in cells.items() if text}
            for line, cells in csv_rows(file, field, ARRIVAL_COLUMNS, OPTIONAL_COLUMNS)]


def _cell(file: str, line: int, column: str, text: str) -> Any:
    from simsvc.config.errors import ScenarioError
    from simsvc.config.load import clock_cell
    from simsvc.config.units import parse_duration

    where = f"line {line}.{column}"
    if column == "day":
        if text.isdigit() and int(text) <= MAX_ARRIVAL_DAY:
            return int(text)
        raise ScenarioError(file, where, text, f"a simulation day number 0, 1, 2… (at most {MAX_ARRIVAL_DAY})")
    if column == "start":
        if ":" in text:
            return clock_cell(file, where, text)
        try:
            seconds = float(text)
        except ValueError:
            seconds = float("nan")
        if not 0 <= seconds < 86400:
            raise ScenarioError(file, where, text, "a clock time HH:MM[:SS] or seconds after midnight (0 to < 86400)")
        return seconds
    if column == "handle":
        try:
            return parse_duration(text)
        except ValueError as exc:
            raise ScenarioError(file, where, text, f"a handling time ({exc})") from None
    return text  # reason: checked against the scenario's reasons with the rest


def trace_shares(spec) -> dict[str, float]:
    """Reason shares of a trace's contacts: each row's own reason, a row without one split by
    the channel's ``mix`` (for the checks and plans that need a channel's mix)."""
    out: dict[str, float] = {}
    mix = spec.mix or {}
    total_mix = sum(mix.values())
    for row in spec.arrivals or ():
        if row.reason is not None:
            out[row.reason] = out.get(row.reason, 0.0) + 1.0
        elif total_mix > 0:
            for r, share in mix.items():
                out[r] = out.get(r, 0.0) + share / total_mix
    total = sum(out.values())
    return {r: v / total for r, v in out.items()} if total > 0 else dict(mix)


def trace_day_counts(spec, interval_s: float) -> dict[int, list[tuple[float, int]]]:
    """A trace's contacts per day: (interval start clock seconds, contacts) of each interval
    that has some, in order (the rate a check or a plan sees: count ÷ interval)."""
    counts: dict[tuple[int, float], int] = {}
    for row in spec.arrivals or ():
        key = (row.day, (start_seconds(row.start) // interval_s) * interval_s)
        counts[key] = counts.get(key, 0) + 1
    out: dict[int, list[tuple[float, int]]] = {}
    for (day, start), n in sorted(counts.items()):
        out.setdefault(day, []).append((start, n))
    return out
