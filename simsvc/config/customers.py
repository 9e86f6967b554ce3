"""The ``customers:`` section: a population moving through the service cycle (journey mode).

Customers enter at need awareness, move through the seven stages with a dwell
time per stage, may drop out before purchase (a lost prospect), are evaluated at
the end of post-purchase (churn or loyalty), and from loyalty buy again (back to
purchase) or lapse. Each stage visit makes at most one contact, with a
probability and a reason mix per stage, on a channel chosen by the segment's
preference. Every default below is an assumption to calibrate (README,
"Calibrating journey mode"), not a measured fact.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from simsvc.config.fields import (
    Base,
    Count,
    Distribution,
    Exponential,
    Probability,
    Rate,
)

STAGES = ("need_awareness", "information_search", "evaluation", "purchase", "usage",
          "post_purchase", "loyalty")
StageName = Literal["need_awareness", "information_search", "evaluation", "purchase", "usage",
                    "post_purchase", "loyalty"]
PRE_PURCHASE = STAGES[:3]
PrePurchaseStage = Literal["need_awareness", "information_search", "evaluation"]
DAY_S = 86400.0


def _exp_days(days: float) -> Exponential:
    return Exponential(dist="exponential", mean=days * DAY_S)


# Mean dwell per stage (exponential, so a population started at time 0 mixes quickly).
DEFAULT_DWELL_DAYS = {"need_awareness": 2, "information_search": 3, "evaluation": 2, "purchase": 1,
                      "usage": 21, "post_purchase": 7, "loyalty": 30}
DEFAULT_DROP_OUT = {"need_awareness": 0.2, "information_search": 0.15, "evaluation": 0.2}


class StageContacts(Base):
    """Contacts a stage visit generates: at most one, at a uniform time within the visit."""

    contact_probability: Probability = 0.0
    reasons: dict[str, Probability] = Field(default_factory=dict, description="reason shares, summing to 1")


DEFAULT_STAGES = {
    "need_awareness": StageContacts(),
    "information_search": StageContacts(contact_probability=0.25, reasons={"pre_sales_inquiry": 1.0}),
    "evaluation": StageContacts(contact_probability=0.2, reasons={"pre_sales_inquiry": 1.0}),
    "purchase": StageContacts(contact_probability=0.1, reasons={"order_issue": 1.0}),
    "usage": StageContacts(contact_probability=0.3, reasons={"technical_support": 0.7, "complaint": 0.3}),
    "post_purchase": StageContacts(contact_probability=0.15, reasons={"after_sales": 0.7, "complaint": 0.3}),
    "loyalty": StageContacts(contact_probability=0.05, reasons={"pre_sales_inquiry": 1.0}),
}


# Churn sensitivity: logit increase per unit of satisfaction lost. Satisfaction lies in [0, 1], so
# at 100 a change of 0.01 in satisfaction already moves the logit by 1 (the risk is a step from
# 0 to 1 at the reference); larger values mean nothing more, and at 10,000 exp() overflows.
MAX_SENSITIVITY = 100.0
# Referrals: new customers a promoter brings per evaluation (Poisson mean). Referral programmes
# see well under 1; 10 is generous. Referrals compound (the referred evaluate and refer in turn).
MAX_PER_PROMOTER = 10.0


class Hazard(Base):
    """Churn probability logistic in satisfaction: logit p = logit(base_risk) + sensitivity·(reference − S)."""

    base_risk: Probability
    reference: Probability = 0.7
    sensitivity: float = Field(default=8.0, ge=0, le=MAX_SENSITIVITY,
                               description="logit increase per unit of satisfaction lost, 0 to 100")


class SegmentChurn(Base):
    """When a customer of the segment churns."""

    after_contact: Hazard | None = Field(
        default=None, description="after each finished contact attempt; default: experience.churn")
    at_evaluation: Hazard = Field(
        default_factory=lambda: Hazard(base_risk=0.05, sensitivity=6.0),
        description="at the end of post-purchase (the customer decides whether to stay)")


class Segment(Base):
    """A kind of customer: value, loyalty, channel habits and sensitivity to bad service."""

    share: Probability
    purchase_value: float = Field(default=100.0, ge=0, description="revenue per purchase")
    repeat_purchase: Probability = Field(
        default=0.6, description="chance that a loyal customer buys again at the end of the loyalty stage")
    channels: dict[str, Probability] | None = Field(
        default=None, description="channel preference; default: customers.channels")
    contact_factor: float = Field(default=1.0, ge=0, description="× every stage's contact probability (≤ 1)")
    patience_factor: float = Field(default=1.0, gt=0, description="× the channel's patience draw")
    dwell: dict[StageName, Distribution] = Field(default_factory=dict, description="overrides per stage")
    drop_out: dict[PrePurchaseStage, Probability] = Field(default_factory=dict, description="overrides per stage")
    anchoring: Probability | None = Field(default=None, description="default: experience.anchoring")
    prior_satisfaction: Probability | None = Field(
        default=None, description="satisfaction of a new customer; default: experience.prior_satisfaction")
    churn: SegmentChurn = Field(default_factory=SegmentChurn)


def _segment(share, value, repeat, patience, eval_risk, eval_sens, contact_risk, contact_sens, **kw) -> Segment:
    return Segment(share=share, purchase_value=value, repeat_purchase=repeat, patience_factor=patience,
                   churn=SegmentChurn(after_contact=Hazard(base_risk=contact_risk, sensitivity=contact_sens),
                                      at_evaluation=Hazard(base_risk=eval_risk, sensitivity=eval_sens)), **kw)


# The default segments (DESIGN §1). Values are illustrative assumptions.
DEFAULT_SEGMENTS = {
    "loyal": _segment(0.25, 120.0, 0.85, 1.2, 0.02, 4.0, 0.003, 5.0),
    "discount": _segment(0.25, 60.0, 0.5, 0.9, 0.08, 6.0, 0.01, 8.0),
    "impulse": _segment(0.15, 80.0, 0.4, 0.7, 0.10, 6.0, 0.01, 8.0,
                        dwell={"need_awareness": _exp_days(0.5), "information_search": _exp_days(0.5),
                               "evaluation": _exp_days(0.5)}),
    "need_based": _segment(0.25, 100.0, 0.6, 1.0, 0.05, 8.0, 0.01, 8.0),
    "wandering": _segment(0.10, 50.0, 0.3, 0.8, 0.12, 10.0, 0.02, 10.0,
                          drop_out={"need_awareness": 0.35, "information_search": 0.3, "evaluation": 0.3}),
}


class Proactive(Base):
    """Outbound follow-up by agents after a purchase or a complaint; lowers later complaints."""

    channel: str = Field(description="an agent channel that carries the outbound work (e.g. an async call list)")
    after: list[Literal["purchase", "complaint"]] = Field(default_factory=lambda: ["purchase"], min_length=1)
    probability: Probability = 1.0
    delay: Distribution = Field(default_factory=lambda: _exp_days(1.0))
    reason: str = "proactive_followup"
    reduces: list[str] = Field(default_factory=lambda: ["complaint"], description="reasons made less likely")
    factor: Probability = Field(
        default=0.5, description="× the chance of a later contact for those reasons, until the next purchase")


class Referrals(Base):
    """Promoters bring new customers: at each evaluation a promoter refers Poisson(per_promoter) people."""

    per_promoter: float = Field(default=0.3, ge=0, le=MAX_PER_PROMOTER,
                                description="mean referrals per promoter and evaluation, 0 to 10")
    delay: Distribution = Field(default_factory=lambda: _exp_days(14.0))


def _hours_of_day(values: list[float]) -> list[float]:
    if len(values) != 24:
        raise ValueError(f"24 values, one per hour of the day 0..23 (got {len(values)})")
    return values


class Customers(Base):
    """A population of customers in segments moving through the seven stages."""

    initial: Count = Field(default=0, ge=0, description="customers present at time 0")
    initial_stages: dict[StageName, Probability] = Field(
        default_factory=lambda: {"need_awareness": 1.0}, description="where the initial customers start")
    acquisition: Rate = Field(default=0.0, description="new customers per unit time, e.g. 40/d")
    channels: dict[str, Probability] | None = Field(default=None, description="default channel preference")
    segments: dict[str, Segment] = Field(default_factory=lambda: dict(DEFAULT_SEGMENTS), min_length=1)
    dwell: dict[StageName, Distribution] = Field(
        default_factory=lambda: {s: _exp_days(d) for s, d in DEFAULT_DWELL_DAYS.items()})
    drop_out: dict[PrePurchaseStage, Probability] = Field(default_factory=lambda: dict(DEFAULT_DROP_OUT))
    stages: dict[StageName, StageContacts] = Field(default_factory=lambda: dict(DEFAULT_STAGES))
    contact_hours: Annotated[list[Annotated[float, Field(ge=0)]], AfterValidator(_hours_of_day)] | None = Field(
        default=None,
        description="24 hourly weights for when in the day customers contact; default: any hour alike")
    proactive: Proactive | None = None
    referrals: Referrals = Field(default_factory=Referrals)
    margin: Probability = Field(default=0.3, description="share of revenue kept as margin (for CLV)")
    discount_rate: float = Field(default=0.1, ge=0, description="per year, for discounting CLV")
    feedback: bool = Field(
        default=True, description="satisfaction drives churn and referrals; false = nobody churns or refers")

    # Per-key fallbacks: segment override → population setting → built-in default.
    def dwell_for(self, segment: str, stage: str):
        return self.segments[segment].dwell.get(stage) or self.dwell.get(stage) or _exp_days(
            DEFAULT_DWELL_DAYS[stage])

    def drop_out_for(self, segment: str, stage: str) -> float:
        seg = self.segments[segment].drop_out
        if stage in seg:
            return seg[stage]
        return self.drop_out.get(stage, DEFAULT_DROP_OUT.get(stage, 0.0))

    def stage_contacts(self, stage: str) -> StageContacts:
        """A stage not listed under ``stages`` keeps its default (set it to 0 to silence it)."""
        return self.stages.get(stage, DEFAULT_STAGES[stage])

    def channel_preference(self, segment: str) -> dict[str, float]:
        return self.segments[segment].channels or self.channels or {}
