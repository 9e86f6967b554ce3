"""The scenario schema: an inert, validated description of one contact centre.

Every model forbids unknown keys and is frozen, so a ``Scenario`` can be shared
between replications and processes without anyone mutating it. Durations are
stored in seconds and rates in contacts per second; both print back in the form
people write (``4min``, ``120/h``) so ``simsvc check`` output is readable and can
be loaded again. Cross-references (a skill naming a channel, a transfer naming a
pool) are checked in :mod:`simsvc.config.references`, which reports field paths.
"""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BeforeValidator, Field, model_serializer, model_validator

from simsvc.config.channels import (  # noqa: F401  (re-exported: the schema's public names)
    AGENT_KINDS,
    REAL_TIME_KINDS,
    AsyncChannel,
    BotChannel,
    Channel,
    ChatChannel,
    Chase,
    OpeningHours,
    PatienceByQueue,
    Redial,
    VoiceChannel,
)
from simsvc.config.customers import MAX_SENSITIVITY, Customers
from simsvc.config.fields import (  # noqa: F401  (re-exported: the schema's public names)
    CV_MAX,
    CV_MIN,
    Count,
    DAYS,
    Base,
    Clock,
    DayName,
    Deterministic,
    Distribution,
    Duration,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
    PositiveDuration,
    Probability,
    Rate,
    Uniform,
)
from simsvc.config.names import check_label
from simsvc.config.trace import ArrivalRow
from simsvc.config.units import parse_clock

Label = Annotated[str, AfterValidator(check_label)]


# --------------------------------------------------------------------------- demand
class IntervalVolume(Base):
    """Contacts expected from ``start`` until the next row's start (or midnight)."""

    day: DayName | Annotated[int, Field(ge=0, le=100_000)]
    start: Clock
    volume: float = Field(ge=0)
    mix: dict[str, Probability] | None = Field(
        default=None, description="reason shares of this row's contacts (instead of the channel's mix)")


def _seven_days(values: list[float]) -> list[float]:
    if len(values) != 7:
        raise ValueError(f"7 values, one per day mon..sun (got {len(values)})")
    return values


class DemandSpec(Base):
    """One channel's forecast: a constant rate, a daily volume with profiles, or a table."""

    rate: Rate | None = None
    daily_volume: float | None = Field(default=None, ge=0)
    intraday: list[Annotated[float, Field(ge=0)]] | None = Field(
        default=None, description="weights over equal slots covering the day"
    )
    weekly: Annotated[list[Annotated[float, Field(ge=0)]], AfterValidator(_seven_days)] | None = Field(
        default=None, description="day multipliers mon..sun"
    )
    volumes: list[IntervalVolume] | None = None
    csv: str | None = Field(default=None, description="file with columns day,start,volume")
    mix: dict[str, Probability] | None = Field(default=None, description="reason shares")
    arrivals: list[ArrivalRow] | None = Field(
        default=None, description="trace: the channel's contacts one by one (day, start, reason, handle), "
        "exactly these arrive (config/trace.py)")
    arrivals_csv: str | None = Field(default=None, description="file with columns day,start[,reason,handle]")

    @model_serializer(mode="wrap")
    def _without_unused_trace(self, handler):
        """Scenarios without a trace print (and hash) as before the trace fields existed."""
        data = handler(self)
        for key in ("arrivals", "arrivals_csv"):
            if isinstance(data, dict) and data.get(key) is None:
                data.pop(key, None)
        return data

    @property
    def row_mixes(self) -> bool:
        """Whether some ``volumes`` row carries its own reason ``mix``."""
        return any(row.mix is not None for row in self.volumes or ())

    @model_validator(mode="after")
    def _one_form(self) -> "DemandSpec":
        forms = [n for n in ("rate", "daily_volume", "volumes", "arrivals") if getattr(self, n) is not None]
        if self.csv is not None and "volumes" not in forms:
            raise ValueError("csv was given but its table was not loaded")
        if self.arrivals_csv is not None and "arrivals" not in forms:
            raise ValueError("arrivals_csv was given but its table was not loaded")
        if len(forms) != 1:
            raise ValueError(
                "exactly one of rate, daily_volume (with intraday/weekly), csv/volumes or arrivals/arrivals_csv"
                + (f" (got {' and '.join(forms)})" if forms else "")
            )
        if (self.intraday is not None or self.weekly is not None) and self.daily_volume is None:
            raise ValueError("intraday and weekly profiles only together with daily_volume")
        if self.intraday is not None and sum(self.intraday) <= 0:
            raise ValueError("intraday weights with a positive sum")
        return self


class DemandUncertainty(Base):
    """Day-to-day busyness: each day's rates × a gamma factor with mean 1 and this cv."""

    daily_cv: float = Field(default=0.0, ge=0.0, le=CV_MAX,
                            description="0 (no day-to-day noise) or 0.001..100")

    @model_validator(mode="after")
    def _cv(self) -> "DemandUncertainty":
        if 0 < self.daily_cv < CV_MIN:
            raise ValueError(f"daily_cv of 0 or between {CV_MIN:g} and {CV_MAX:g}")
        return self
    shared: bool = Field(default=True, description="one factor per day for all channels")


# --------------------------------------------------------------------------- reasons, repeats
class Transfer(Base):
    probability: Probability
    to: str


class ReasonSpec(Base):
    transfer: Transfer | None = None
    queue_credit: Duration = Field(
        default=0.0, description="priority class: in a pool's priority level this reason's contacts are "
        "compared by arrival time (async: due date) minus this credit; a credit longer than any wait is strict priority")
    kinds: dict[str, Probability] | None = Field(
        default=None, description="sub-kinds and their shares (complaint: product, service…); recorded per issue")
    patience: Distribution | None = Field(
        default=None, description="this reason's patience on every voice and chat channel that has one "
        "(overrides the channel's patience for contacts of this reason)")
    routing_delay: Distribution | None = Field(
        default=None, description="a routing step before the queue: a new contact of this reason (a redial "
        "or repeat too, not a transfer) cannot be answered before this delay after it arrives; it waits, "
        "and may abandon, meanwhile (the wait and patience clocks run from arrival)")

    @model_validator(mode="after")
    def _shares(self) -> "ReasonSpec":
        if self.kinds is not None and abs(sum(self.kinds.values()) - 1.0) > 1e-6:
            raise ValueError(f"kinds with shares that sum to 1 (they sum to {sum(self.kinds.values()):g})")
        return self


class RepeatSpec(Base):
    """What an unresolved issue does: comes back after ``delay`` on a switched channel."""

    probability: Probability = Field(
        default=1.0, description="share of unresolved issues that come back"
    )
    delay: Distribution = Field(
        default_factory=lambda: Exponential(dist="exponential", mean=86400.0)
    )
    switch: dict[str, dict[str, Probability]] = Field(
        default_factory=dict, description="channel → {next channel: probability}"
    )
    max_attempts: Count = Field(default=5, ge=1, le=50)


# --------------------------------------------------------------------------- agents
# A pool larger than this is a typo (and would allocate per-agent state for nothing).
MAX_AGENTS = 100_000


class StaffingStep(Base):
    """From ``start`` on ``day``, this many agents are scheduled (until the next step)."""

    day: DayName | Annotated[int, Field(ge=0, le=100_000)] | Literal["all"] = "all"
    start: Clock
    agents: Count = Field(ge=0, le=MAX_AGENTS)


# What a shift's days accept (the day-spec parser, references.day_spec_days, reads the text form).
DAY_SPEC_HELP = "days such as mon, mon-fri, sat,sun or all"


def _day_spec(value: object) -> object:
    """A shift's days are text or a list of weekdays: anything else (``days: 7``) is told what
    days accepts, not that it is "not a valid string" of a union branch."""
    if isinstance(value, (str, list, tuple)):
        return value
    raise ValueError(f"{DAY_SPEC_HELP}, or a list of weekdays like [mon, wed] (days of the week, not a count)")


class Shift(Base):
    start: Clock
    end: Clock
    agents: Count = Field(ge=0, le=MAX_AGENTS)
    days: Annotated[str | list[DayName], BeforeValidator(_day_spec)] = "mon-sun"


class Staffing(Base):
    """Scheduled agents: per-interval steps (inline or CSV) or shifts."""

    steps: list[StaffingStep] | None = None
    csv: str | None = Field(default=None, description="file with columns day,start,agents")
    shifts: list[Shift] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> "Staffing":
        if self.csv is not None and self.steps is None:
            raise ValueError("csv was given but its table was not loaded")
        if (self.steps is None) == (self.shifts is None):
            raise ValueError("exactly one of steps, csv or shifts")
        return self


class AvailabilityStep(Base):
    """From ``start`` on ``day``, this share of the pool's scheduled agents is available (until the next step)."""

    day: DayName | Annotated[int, Field(ge=0, le=100_000)] | Literal["all"] = "all"
    start: Clock
    availability: float = Field(ge=0.0, le=1.0, description="share of scheduled agent-time on duty, 0..1")


class Availability(Base):
    """Availability per interval (inline steps or CSV ``day,start,availability``).

    On duty = scheduled × (1 − shrinkage) × availability, kept fractional: 6.4
    means 6 agents all interval and a 7th for a random 40 % of it. Before the
    first step the availability is 1; a step holds until the next one, as
    staffing steps do.
    """

    steps: list[AvailabilityStep] | None = None
    csv: str | None = Field(default=None, description="file with columns day,start,availability")

    @model_validator(mode="after")
    def _loaded(self) -> "Availability":
        if self.steps is None:
            raise ValueError("steps, or csv" if self.csv is None else "csv was given but its table was not loaded")
        return self


class Proficiency(Base):
    handling: float = Field(default=1.0, gt=0, description="handling-time multiplier")
    resolution: float = Field(default=1.0, ge=0, description="resolution-probability multiplier")


Skill = Union[str, list[str]]


class Reserve(Base):
    """Blending by threshold reservation: work outside ``protect`` is taken only while at least
    ``agents`` other agents of the pool stay idle, so a phone call rarely waits for an email."""

    agents: Count = Field(ge=0, le=MAX_AGENTS, description="agents kept idle for the protected skills")
    protect: list[str] = Field(min_length=1, description="skills (channel or channel/reason) the reserve is for")
    lift_before_due: Duration = Field(
        default=0.0, description="async work this close to its due date (arrival + response_target) "
        "is taken despite the reserve; 0s: once it is overdue")


class Pool(Base):
    """A pool of agents with the same skills, schedule and proficiency."""

    skills: list[Skill] = Field(min_length=1, description="channels (or channel/reason) in priority order")
    staffing: Annotated[Count, Field(ge=0, le=MAX_AGENTS)] | Staffing
    shrinkage: float = Field(default=0.0, ge=0.0, lt=1.0)
    availability: Availability | None = Field(
        default=None, description="availability per interval (× (1 − shrinkage)); fractional agents kept, not rounded")
    wrap_up: Distribution = Field(default_factory=lambda: Deterministic(dist="deterministic", value=0.0))
    proficiency: Proficiency = Field(default_factory=Proficiency)
    cost_per_hour: float = Field(default=0.0, ge=0)
    reserve: Reserve | None = Field(default=None, description="keep idle agents for real-time work (blending)")


# --------------------------------------------------------------------------- experience
# Experience weights are effects on a logit: at a logit of ±37 the score is already 0 or 1 to
# double precision, and regression coefficients of a CSAT logit are a few units. Beyond ±100 a
# weight can only be a typo or a unit slip (100 means certain delight or certain anger).
MAX_LOGIT_WEIGHT = 100.0


def _logit_weight(value: float) -> float:
    if not -MAX_LOGIT_WEIGHT <= value <= MAX_LOGIT_WEIGHT:
        raise ValueError(f"a weight on the logit scale from {-MAX_LOGIT_WEIGHT:g} to {MAX_LOGIT_WEIGHT:g} "
                         "(at ±37 the experience score is already 0 or 1)")
    return value


LogitWeight = Annotated[float, AfterValidator(_logit_weight)]


class ExperienceWeights(Base):
    """Effects on the logit of one contact's experience score (assumptions to calibrate), each
    but ``wait_cap`` (a count of expected waits) from -100 to 100."""

    base: LogitWeight = Field(default=2.0, description="a contact answered at once and resolved first time")
    wait: LogitWeight = Field(default=-0.8, description="per multiple of the channel's expected wait")
    wait_cap: float = Field(default=5.0, gt=0, description="waits count up to this many expected waits")
    abandoned: LogitWeight = Field(default=-2.5, description="the attempt ended abandoned or lost")
    unresolved: LogitWeight = Field(default=-1.5, description="handled but the issue not resolved")
    repeat: LogitWeight = Field(default=-0.7, description="per earlier attempt at the same issue (effort)")
    escalated: LogitWeight = Field(default=-0.3, description="went through the bot and was escalated")
    transferred: LogitWeight = Field(default=-0.5, description="handed between pools")
    public_late: LogitWeight = Field(default=-0.5, description="a public (social) answer later than expected")


class Survey(Base):
    """How survey answers are drawn from satisfaction (assumptions to calibrate)."""

    response_rate: Probability = 0.2
    csat_noise: float = Field(default=0.7, ge=0, description="sd of CSAT answers around 1 + 4·satisfaction")
    nps_noise: float = Field(default=1.5, ge=0, description="sd of NPS answers around 10·satisfaction")
    ces_effort: float = Field(default=1.0, ge=0, description="CES points lost per unit of effort")
    ces_noise: float = Field(default=0.8, ge=0, description="sd of CES answers")


class ChurnSpec(Base):
    """Churn risk after a contact: logistic in satisfaction (assumptions to calibrate)."""

    base_risk: Probability = Field(default=0.01, description="risk when satisfaction equals the reference")
    reference: Probability = Field(default=0.7, description="satisfaction of a content customer")
    sensitivity: float = Field(default=8.0, ge=0, le=MAX_SENSITIVITY,
                               description="logit increase per unit of satisfaction lost, 0 to 100")


class ExperienceSpec(Base):
    """How contacts turn into experience, satisfaction, survey answers and churn risk."""

    expected_wait: dict[str, PositiveDuration] = Field(
        default_factory=dict,
        description="per channel; default 60s for voice and chat, the response target for async",
    )
    weights: ExperienceWeights = Field(default_factory=ExperienceWeights)
    anchoring: Probability = Field(default=0.6, description="ω in S ← ω·S + (1 − ω)·experience")
    prior_satisfaction: Probability = Field(default=0.7, description="an anonymous customer's S before a contact")
    survey: Survey = Field(default_factory=Survey)
    churn: ChurnSpec = Field(default_factory=ChurnSpec)


# --------------------------------------------------------------------------- scenario
HandlingSpec = Union[Distribution, dict[str, Distribution]]
ResolutionSpec = Union[Probability, dict[str, Probability]]


class Scenario(Base):
    """A whole contact-centre scenario, resolved and validated."""

    name: Label
    description: str = ""
    seed: Count | None = Field(default=None, ge=0)
    replications: Count = Field(default=10, ge=1, le=100_000)
    horizon: PositiveDuration
    warmup: Duration = 0.0
    interval: Annotated[PositiveDuration, Field(ge=60.0, description="reporting interval, at least 1min")] = 900.0
    start_day: DayName = "mon"
    channels: dict[str, Channel] = Field(min_length=1)
    demand: dict[str, DemandSpec] = Field(default_factory=dict, description="forecast mode")
    customers: Customers | None = Field(default=None, description="journey mode")
    demand_uncertainty: DemandUncertainty = Field(default_factory=DemandUncertainty)
    reasons: dict[str, ReasonSpec] = Field(default_factory=lambda: {"general": ReasonSpec()})
    handling: dict[str, HandlingSpec]
    resolution: dict[str, ResolutionSpec] = Field(default_factory=dict)
    repeat: RepeatSpec = Field(default_factory=RepeatSpec)
    agents: dict[str, Pool] = Field(default_factory=dict)
    experience: ExperienceSpec = Field(default_factory=ExperienceSpec)

    @model_validator(mode="after")
    def _some_demand(self) -> "Scenario":
        if not self.demand and self.customers is None:
            raise ValueError("demand (forecast mode) or customers (journey mode), or both")
        return self


def clock_seconds(text: str) -> float:
    """Seconds after midnight of a validated ``HH:MM`` string."""
    return parse_clock(text)
