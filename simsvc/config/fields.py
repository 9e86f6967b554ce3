"""Field types shared by every part of the scenario schema.

``Base`` (frozen, unknown keys forbidden), durations, rates, probabilities and
clock times as people write them, and the distributions used for handling
times, patience, delays and dwell times. Kept apart from :mod:`schema` so the
channel/agent schema and the customer-journey schema can both be read in one
sitting.
"""
from __future__ import annotations

import re
from typing import Annotated, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

from simsvc.config.units import CLOCK_HELP, format_duration, format_rate, parse_clock, parse_duration, parse_rate

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DayName = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _duration(value: object) -> float:
    return parse_duration(value)


Duration = Annotated[
    float,
    BeforeValidator(_duration),
    Field(ge=0, description="seconds; written as 20s, 4min, 8h, 2d"),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
PositiveDuration = Annotated[
    float,
    BeforeValidator(_duration),
    Field(gt=0, description="seconds, > 0"),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
Rate = Annotated[
    float,
    BeforeValidator(parse_rate),
    Field(ge=0, description="contacts per second; written as 120/h, 2/min"),
    PlainSerializer(format_rate, return_type=str, when_used="json"),
]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


def _count(value: object) -> object:
    """A count is a whole number: YAML's true/false is not one (pydantic would read true as 1)."""
    if isinstance(value, bool):
        raise ValueError(f"a whole number, not {str(value).lower()}")  # noqa: TRY004 (pydantic shows ValueErrors)
    return value


Count = Annotated[int, BeforeValidator(_count)]
_CLOCK_PATTERN = r"^\d{1,2}:\d{2}(:\d{2})?$"


def _clock(value: object) -> object:
    """``HH:MM[:SS]`` from 00:00 to 24:00, else one message saying so (not "a valid string" for
    ``start: 1.5``, nor the regex for ``8am``); a 25:00 would otherwise pass and crash the calendar."""
    if not (isinstance(value, str) and re.fullmatch(_CLOCK_PATTERN[1:-1], value)):
        raise ValueError(CLOCK_HELP)
    parse_clock(value)  # raises ValueError(CLOCK_HELP) out of range
    return value


Clock = Annotated[str, BeforeValidator(_clock), Field(pattern=_CLOCK_PATTERN)]


# --------------------------------------------------------------------------- distributions
# A cv below 0.001 is no variation (use dist: deterministic) and would overflow a gamma's
# shape (1/cv²); above 100 the draws are a few huge values and zeros, not a distribution.
CV_MIN, CV_MAX = 0.001, 100.0
CV_HELP = "sd / mean, between 0.001 and 100 (for no variation use dist: deterministic)"
class Exponential(Base):
    dist: Literal["exponential"]
    mean: PositiveDuration

    @property
    def mean_s(self) -> float:
        return self.mean


class Lognormal(Base):
    """Lognormal given by its own mean and coefficient of variation (sd / mean)."""

    dist: Literal["lognormal"]
    mean: PositiveDuration
    cv: float = Field(ge=CV_MIN, le=CV_MAX, description=CV_HELP)

    @property
    def mean_s(self) -> float:
        return self.mean


class Gamma(Base):
    """Gamma given by mean and cv (shape = 1/cv², scale = mean·cv²)."""

    dist: Literal["gamma"]
    mean: PositiveDuration
    cv: float = Field(ge=CV_MIN, le=CV_MAX, description=CV_HELP)

    @property
    def mean_s(self) -> float:
        return self.mean


class Deterministic(Base):
    dist: Literal["deterministic"]
    value: Duration

    @property
    def mean_s(self) -> float:
        return self.value


class Uniform(Base):
    dist: Literal["uniform"]
    low: Duration
    high: Duration

    @model_validator(mode="after")
    def _ordered(self) -> "Uniform":
        if self.high < self.low:
            raise ValueError(f"high at least as large as low (got low {self.low:g}s, high {self.high:g}s)")
        return self

    @property
    def mean_s(self) -> float:
        return (self.low + self.high) / 2


class Empirical(Base):
    """Resample observed values (optionally weighted)."""

    dist: Literal["empirical"]
    values: list[Duration] = Field(min_length=1)
    weights: list[Annotated[float, Field(ge=0)]] | None = None

    @model_validator(mode="after")
    def _weights(self) -> "Empirical":
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"as many weights as values (got {len(self.weights)} weights, {len(self.values)} values)"
                )
            if sum(self.weights) <= 0:
                raise ValueError("weights with a positive sum")
        return self

    @property
    def mean_s(self) -> float:
        if self.weights is None:
            return sum(self.values) / len(self.values)
        return sum(v * w for v, w in zip(self.values, self.weights)) / sum(self.weights)


def _distribution_shorthand(value: object) -> object:
    """A bare duration (``30s``) means a deterministic distribution."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return {"dist": "deterministic", "value": value}
    return value


Distribution = Annotated[
    Union[Exponential, Lognormal, Gamma, Deterministic, Uniform, Empirical],
    Field(discriminator="dist"),
    BeforeValidator(_distribution_shorthand),
]
