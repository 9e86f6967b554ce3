"""The scenario's channels: voice and chat (real time: patience, opening hours, redials), the
bot, and async channels (email, social), as validated, frozen models.

Part of the scenario schema (:mod:`simsvc.config.schema`, which re-exports every name here).
"""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BeforeValidator, Field, model_validator

from simsvc.config.fields import Base, Count, Distribution, Duration, Exponential, PositiveDuration, Probability


def _hours_shorthand(value: object) -> object:
    if isinstance(value, str) and value.strip() not in ("24/7",):
        return {"mon-sun": value}
    return value


OpeningHours = Annotated[
    Union[Literal["24/7"], dict[str, str]],
    BeforeValidator(_hours_shorthand),
    Field(description='"24/7", "08:00-20:00" every day, or {mon-fri: "08:00-20:00", sat: closed}'),
]


class Redial(Base):
    """A caller who abandons or is blocked tries again with this probability, after a delay."""

    probability: Probability
    delay: Distribution = Field(default_factory=lambda: Exponential(dist="exponential", mean=600.0))


class PatienceByQueue(Base):
    """Patience that depends on the queue a caller finds: the drawn patience × the factor of the
    band of contacts already waiting on the channel when it arrives (accelerated failure time)."""

    queue_from: list[Annotated[int, Field(ge=0)]] = Field(
        description="each band's lower edge in contacts waiting on the channel at arrival: 0 first, "
        "then increasing (a band runs to the next edge; the last has none)")
    factor: list[Annotated[float, Field(gt=0, le=100)]] = Field(
        description="the patience multiplier of each band (1: the patience as drawn)")

    @model_validator(mode="after")
    def _bands(self) -> "PatienceByQueue":
        edges = self.queue_from
        if not edges or edges[0] != 0:
            raise ValueError(f"queue_from starting at 0 (got {edges})")
        if any(b <= a for a, b in zip(edges, edges[1:])):
            raise ValueError(f"queue_from strictly increasing (got {edges})")
        if len(self.factor) != len(edges):
            raise ValueError(f"one factor per band of queue_from ({len(edges)}; got {len(self.factor)})")
        return self


class _RealTime(Base):
    hours: OpeningHours = "24/7"
    when_closed: Literal["lost", "retry"] = "lost"
    retry_spread: Duration = 3600.0
    patience: Distribution | None = None
    patience_by_queue: PatienceByQueue | None = Field(
        default=None, description="the patience × a factor by the contacts already waiting on the channel "
        "when the caller arrives: {queue_from: [0, 3, 6], factor: [1.1, 1.0, 0.8]}")
    queue_capacity: Count | None = Field(default=None, ge=0)
    redial: Redial | None = None

    @model_validator(mode="after")
    def _patience_by_queue(self) -> "_RealTime":
        if self.patience_by_queue is not None and self.patience is None:
            raise ValueError("patience_by_queue scales the channel's patience: give the channel a patience "
                             "(or remove patience_by_queue)")
        return self


class VoiceChannel(_RealTime):
    """Phone: one contact per agent; callers abandon when patience runs out."""

    kind: Literal["voice"]
    service_level_threshold: Duration = 20.0
    service_level_target: Probability | None = Field(
        default=None, description="the share to answer within the threshold (e.g. 0.8 for 80/20)")


class ChatChannel(_RealTime):
    """Live chat: an agent holds up to ``concurrency`` chats; each extra chat slows all."""

    kind: Literal["chat"]
    service_level_threshold: Duration = 60.0
    service_level_target: Probability | None = Field(
        default=None, description="the share to answer within the threshold (e.g. 0.8 for 80/60)")
    concurrency: Count = Field(default=1, ge=1, le=20)
    concurrency_slowdown: float = Field(
        default=0.0, ge=0.0, description="handling time × (1 + slowdown × (chats held − 1))"
    )


class BotChannel(Base):
    """Chatbot: no agents; contains a share of contacts and escalates the rest."""

    kind: Literal["bot"]
    containment: Probability | dict[str, Probability]
    escalate_to: str
    capacity: Count | None = Field(default=None, ge=1)
    hours: OpeningHours = "24/7"
    when_closed: Literal["lost", "retry"] = "lost"
    retry_spread: Duration = 3600.0
    service_level_threshold: Duration = 0.0


class Chase(Base):
    """A customer still waiting for an answer after ``after`` contacts ``to`` with this probability."""

    after: PositiveDuration
    probability: Probability
    to: str


class AsyncChannel(Base):
    """Email or social: a backlog worked in due-date order; no abandonment, but customers may chase."""

    kind: Literal["async"]
    response_target: PositiveDuration = 86400.0
    public: bool = False
    chase: Chase | None = None

    @property
    def service_level_threshold(self) -> float:
        return self.response_target


Channel = Annotated[
    Union[VoiceChannel, ChatChannel, BotChannel, AsyncChannel], Field(discriminator="kind")
]
REAL_TIME_KINDS = ("voice", "chat")
AGENT_KINDS = ("voice", "chat", "async")
