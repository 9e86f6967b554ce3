"""Roster rules (RULES.yaml): which shifts each pool may work, validated with field paths.

A rules file names, per pool, one or more shift types::

    pools:
      generalists:
        cost_per_hour: 32            # optional; default: the pool's cost_per_hour
        shift_types:
          - name: full_time
            days: mon-fri            # weekdays this type may be used on
            starts: {from: "07:00", to: "12:00", every: 30min}
            lengths: {min: 8h, max: 9h, step: 30min}   # paid + unpaid break
            break: {over: 6h, length: 30min, after_start: 3h, before_end: 2h}
            min_agents: 1            # per shift (start, length, break, day) used
            max_agents: 40

A shift's ``length`` runs from its start to its end and includes the unpaid
break; paid hours = length − break. A shift longer than ``break.over`` gets one
unpaid break of ``break.length`` that starts at least ``after_start`` after the
shift's start and ends at least ``before_end`` before its end, on the scenario's
interval grid. Every time (starts, lengths, break) must be a whole number of the
scenario's intervals: requirements are per interval, and a shift that started
mid-interval would half-cover it. Those checks need the scenario and happen in
:func:`check_against`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator, model_validator

from simsvc.config.errors import ScenarioError
from simsvc.config.fields import Base, Clock, Duration, PositiveDuration
from simsvc.config.references import day_spec_days
from simsvc.config.schema import Scenario
from simsvc.config.units import parse_clock

MAX_AGENTS_PER_SHIFT = 100_000


class Starts(Base):
    """Start times every ``every`` from ``from`` to ``to`` (both included, same day)."""

    from_: Clock = Field(alias="from")
    to: Clock
    every: PositiveDuration = 1800.0

    @model_validator(mode="after")
    def _order(self) -> "Starts":
        if parse_clock(self.to) < parse_clock(self.from_):
            raise ValueError(f"to ({self.to}) at or after from ({self.from_}): starts are within one day")
        if parse_clock(self.from_) >= 86400 or parse_clock(self.to) >= 86400:
            raise ValueError("start times before 24:00")
        return self

    def clocks_s(self) -> list[float]:
        a, b = parse_clock(self.from_), parse_clock(self.to)
        n = int((b - a) // self.every + 1e-9)
        return [a + k * self.every for k in range(n + 1)]


class Lengths(Base):
    """Shift lengths from ``min`` to ``max`` in steps of ``step`` (start to end, break included)."""

    min: PositiveDuration
    max: PositiveDuration
    step: PositiveDuration = 1800.0

    @model_validator(mode="after")
    def _order(self) -> "Lengths":
        if self.min > self.max:
            raise ValueError(f"min ({self.min / 3600:g}h) <= max ({self.max / 3600:g}h)")
        if self.max > 86400:
            raise ValueError("shifts of at most 24h")
        return self

    def values_s(self) -> list[float]:
        n = int((self.max - self.min) // self.step + 1e-9)
        return [self.min + k * self.step for k in range(n + 1)]


class Break(Base):
    """One unpaid break for shifts longer than ``over``, placed within a window."""

    over: Duration = 0.0
    length: PositiveDuration
    after_start: Duration = 0.0
    before_end: Duration = 0.0


class ShiftType(Base):
    name: str | None = None
    days: str | list[Annotated[str, Field(pattern="^(mon|tue|wed|thu|fri|sat|sun)$")]] = "mon-sun"
    starts: Starts
    lengths: Lengths
    break_: Break | None = Field(default=None, alias="break")
    min_agents: int = Field(default=0, ge=0, le=MAX_AGENTS_PER_SHIFT)
    max_agents: int = Field(default=MAX_AGENTS_PER_SHIFT, ge=1, le=MAX_AGENTS_PER_SHIFT)

    @field_validator("days")
    @classmethod
    def _days(cls, value):
        text = value if isinstance(value, str) else ",".join(value)
        day_spec_days(text)   # raises ValueError with what is allowed
        return value

    def weekdays(self) -> list[int]:
        """Days of the week (0 = monday)."""
        text = self.days if isinstance(self.days, str) else ",".join(self.days)
        return sorted(set(day_spec_days(text)))

    def break_offsets_s(self, length_s: float, grid_s: float) -> list[float | None]:
        """Possible break starts (seconds after the shift's start) for a shift of ``length_s``;
        ``[None]`` when it gets no break, ``[]`` when no position fits."""
        b = self.break_
        if b is None or length_s <= b.over:
            return [None]
        first = b.after_start
        last = length_s - b.before_end - b.length
        out, k = [], 0
        first = -(-first // grid_s) * grid_s   # up to the grid
        while first + k * grid_s <= last + 1e-9:
            out.append(first + k * grid_s)
            k += 1
        return out


class PoolRules(Base):
    cost_per_hour: float | None = Field(default=None, ge=0, description="per paid hour; default: the pool's")
    shift_types: list[ShiftType] = Field(min_length=1)


class Rules(Base):
    pools: dict[str, PoolRules] = Field(min_length=1)


def _path(loc: tuple) -> str:
    out = ""
    for item in loc:
        if isinstance(item, int):
            out += f"[{item}]"
        else:
            out += ("." if out else "") + str(item)
    return out


def _value_at(data, loc: tuple):
    node = data
    for item in loc:
        try:
            node = node[item]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def parse_rules(data: object, file: str) -> Rules:
    """Validate a rules mapping; ScenarioError names the file, field path, value and what is allowed."""
    if not isinstance(data, dict):
        raise ScenarioError(file, "", None, "a rules file: a YAML mapping with 'pools:' at the top level",
                            show_value=False)
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = tuple(x for x in err.get("loc", ()) if not str(x).startswith("function-"))
            kind = err.get("type", "")
            msg = err.get("msg", "a valid value")
            for prefix in ("Value error, ", "Input should be "):
                msg = msg[len(prefix):] if msg.startswith(prefix) else msg
            if kind == "extra_forbidden":
                msg = "no such field (see the rules format in simsvc roster --help)"
            elif kind == "missing":
                msg = "a value (this field is required)"
            problems.append((_path(loc), _value_at(data, loc) if kind != "missing" else None, msg))
        path, value, allowed = problems[0]
        raise ScenarioError(file, path, value, allowed, more=len(problems) - 1, others=problems[1:10]) from None


def load_rules(path: str | Path) -> Rules:
    from simsvc.config.load import _read_yaml

    return parse_rules(_read_yaml(Path(path), "rules file"), str(path))


def check_against(rules: Rules, scenario: Scenario, file: str, pools: list[str]) -> None:
    """Rules that contradict the scenario or the requirements: one ScenarioError, with its field path."""
    grid = scenario.interval

    def bad(path: str, value: object, allowed: str) -> ScenarioError:
        return ScenarioError(file, path, value, allowed)

    for name in rules.pools:
        if name not in scenario.agents:
            raise bad(f"pools.{name}", name, f"a pool of the scenario ({', '.join(scenario.agents)})")
    for name in pools:
        if name not in rules.pools:
            raise bad("pools", sorted(rules.pools), f"rules for every pool in the requirements (missing: {name})")

    def on_grid(path: str, seconds: float, text: object) -> None:
        if abs(seconds / grid - round(seconds / grid)) > 1e-9:
            raise bad(path, text, f"a multiple of the scenario's interval ({grid / 60:g}min)")

    for name, pool in rules.pools.items():
        for k, st in enumerate(pool.shift_types):
            where = f"pools.{name}.shift_types[{k}]"
            if st.min_agents > st.max_agents:
                raise bad(f"{where}.min_agents", st.min_agents, f"at most max_agents ({st.max_agents})")
            for field, value in (("starts.from", st.starts.from_), ("starts.to", st.starts.to)):
                on_grid(f"{where}.{field}", parse_clock(value), value)
            on_grid(f"{where}.starts.every", st.starts.every, f"{st.starts.every / 60:g}min")
            on_grid(f"{where}.lengths.min", st.lengths.min, f"{st.lengths.min / 3600:g}h")
            on_grid(f"{where}.lengths.step", st.lengths.step, f"{st.lengths.step / 60:g}min")
            if st.break_ is not None:
                on_grid(f"{where}.break.length", st.break_.length, f"{st.break_.length / 60:g}min")
                b = st.break_
                unpaid = [length for length in st.lengths.values_s() if length > b.over and b.length >= length]
                if unpaid:   # a shift that is all break: 0 paid hours, no agent on duty
                    raise bad(f"{where}.break.length", f"{b.length / 60:g}min",
                              f"a break shorter than every shift it applies to (shifts over {b.over / 3600:g}h); "
                              f"a {unpaid[0] / 3600:g}h shift with it has no paid time")
                for length in st.lengths.values_s():
                    if not st.break_offsets_s(length, grid):
                        b = st.break_
                        raise bad(f"{where}.break", {"length": f"{b.length / 60:g}min",
                                                     "after_start": f"{b.after_start / 60:g}min",
                                                     "before_end": f"{b.before_end / 60:g}min"},
                                  f"a break that fits in every shift over {b.over / 3600:g}h; a "
                                  f"{length / 3600:g}h shift has no room for it (after_start + length + "
                                  "before_end <= shift length)")


__all__ = ["Rules", "PoolRules", "ShiftType", "load_rules", "parse_rules", "check_against"]
