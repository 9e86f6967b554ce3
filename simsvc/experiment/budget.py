"""How much work a scenario asks for, estimated from its parameters before anything runs.

A typo (``horizon: 2000d``, ``rate: 1e7/h``) should not become an hour of
simulation or an out-of-memory kill. :func:`estimate` gives rough figures
(contacts, customers, intervals, record memory, output size) from the scenario
alone, cheaply even for absurd horizons; :func:`judge` compares them with the
documented limits below: beyond ``REFUSE_*`` a command refuses unless
``--force``, beyond ``WARN_*`` it warns. Estimates are deliberately simple
(expected arrivals; journey mode: customers, grown by referrals, × stage visits × contact
chances), not
predictions of run time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from simsvc.config.customers import STAGES
from simsvc.config.schema import DAYS, Scenario

DAY_S = 86400.0
CONTACT_BYTES = 400  # memory per contact while a replication's records and tables are built
CUSTOMER_BYTES = 600  # journey mode: memory per customer (state, events, table rows)
VISIT_BYTES = 100  # journey mode: memory per stage visit (drawn visit arrays, stage event rows)
CONTACT_DISK_BYTES = 80  # contacts.parquet and issues.parquet, compressed, per contact
INTERVAL_ROW_BYTES = 200  # intervals/pools tables per interval and channel or pool

WARN_CONTACTS = 2e7  # all replications and variants together
REFUSE_CONTACTS = 5e8
REFUSE_MEMORY_BYTES = 8e9  # one replication's records (processes run several at once)
REFUSE_INTERVALS = 2e6  # intervals of one replication (horizon / interval)
MAX_GRID_POINTS = 10_000  # variants of one sweep or experiment (checked before they are built)


@dataclass(frozen=True)
class Work:
    """Expected size of a run: per replication, and in total over replications and variants."""

    contacts: float  # per replication
    customers: float  # per replication (journey mode)
    intervals: float  # per replication
    replications: int
    variants: int = 1
    visits: float = 0.0  # journey mode: stage visits per replication (drawn ahead, kept as records)

    @property
    def total_contacts(self) -> float:
        return self.contacts * self.replications * self.variants

    @property
    def memory_bytes(self) -> float:
        """Records of one replication in memory."""
        return self.contacts * CONTACT_BYTES + self.customers * CUSTOMER_BYTES + self.visits * VISIT_BYTES

    def output_bytes(self, keep_contacts: bool = True) -> float:
        """Rough size of a run's results folder."""
        per_rep = self.intervals * INTERVAL_ROW_BYTES + (self.contacts * CONTACT_DISK_BYTES if keep_contacts else 0)
        return per_rep * self.replications * self.variants + 1e6

    def describe(self) -> str:
        text = (f"about {_count(self.total_contacts)} contacts ({_count(self.contacts)} per replication × "
                f"{self.replications} replications" + (f" × {self.variants} variants" if self.variants > 1 else "")
                + f"), {_bytes(self.memory_bytes)} of records per replication")
        return text + (f", {_count(self.customers)} customers per replication" if self.customers else "")


def _count(x: float) -> str:
    if x >= 1e12:
        return f"{x:.1e}"
    if x >= 1e9:
        return f"{x / 1e9:,.1f} billion"
    if x >= 1e6:
        return f"{x / 1e6:,.1f} million"
    return f"{x:,.0f}"


def _bytes(x: float) -> str:
    if x >= 1e12:
        return f"{x:.1e} bytes"
    return f"{x / 1e9:,.1f} GB" if x >= 1e9 else f"{x / 1e6:,.0f} MB"


def _daily_volume(scenario: Scenario, spec, dow: int, day: int) -> float:
    """Expected contacts of one demand spec on one day (without day-to-day noise, mean 1)."""
    if spec.rate is not None:
        return spec.rate * DAY_S
    if spec.daily_volume is not None:
        return spec.daily_volume * (spec.weekly[dow] if spec.weekly else 1.0)
    rows = spec.volumes or []
    absolute = [r for r in rows if isinstance(r.day, int)]
    if absolute:
        period = max(r.day for r in absolute) + 1
        return sum(r.volume for r in absolute if r.day == day % period)
    return sum(r.volume for r in rows if r.day == DAYS[dow])


def _forecast_contacts(scenario: Scenario) -> float:
    days = scenario.horizon / DAY_S
    first = DAYS.index(scenario.start_day)
    total = 0.0
    for spec in scenario.demand.values():
        if spec.arrivals is not None:  # a trace: exactly its contacts
            total += len(spec.arrivals)
            continue
        absolute = [r.day for r in (spec.volumes or []) if isinstance(r.day, int)]
        period = (max(absolute) + 1) if absolute else 7
        sample = range(min(period, max(1, math.ceil(days))))
        mean_day = sum(_daily_volume(scenario, spec, (first + d) % 7, d) for d in sample) / len(sample)
        total += mean_day * days
    return total


MIN_DWELL_S = 1e-6  # a stage visit lasts at least this long (model.journey_lives.MIN_DWELL_S)
MAX_GROWTH = 1e15  # referral growth factor shown at most (beyond, any population is refused anyway)


def _journey(scenario: Scenario) -> tuple[float, float, float]:
    """(customers, contacts, stage visits) of journey mode, per replication.

    Per segment (dwell times as the segment resolves them): 3 visits before purchase, then 4 per
    purchase → usage → post_purchase → loyalty cycle, as many cycles as fit the horizon (at most
    the expected number before a lapse, 1 / (1 − repeat_purchase)). Customers: the initial ones and
    the acquisitions, times the growth referrals bring (:func:`_referral_growth`).
    """
    c = scenario.customers
    if c is None:
        return 0.0, 0.0, 0.0
    horizon = scenario.horizon
    total_share = sum(seg.share for seg in c.segments.values()) or 1.0
    visits = contacts = 0.0
    kinds = []  # per segment: (share, time from arrival to the first evaluation, cycle)
    for name, seg in c.segments.items():
        share = seg.share / total_share
        means = [max(c.dwell_for(name, st).mean_s, MIN_DWELL_S) for st in STAGES]
        cycle = sum(means[3:])
        cycles = horizon / cycle
        if seg.repeat_purchase < 1:
            cycles = min(cycles, 1.0 / (1.0 - seg.repeat_purchase))
        n = 3 + 4 * max(1.0, cycles)
        chance = sum(min(1.0, c.stage_contacts(st).contact_probability * seg.contact_factor)
                     for st in STAGES) / len(STAGES)
        visits += share * n
        contacts += share * n * chance
        reach = math.prod(1.0 - c.drop_out_for(name, st) for st in STAGES[:3])  # prospects who buy
        kinds.append((share, sum(means[:6]), cycle, reach))
    customers = (c.initial + c.acquisition * horizon) * _referral_growth(scenario, kinds)
    repeats = 1 + scenario.repeat.probability  # unresolved issues come back (at least once, roughly)
    return customers, customers * contacts * repeats, customers * visits


def _promoter_share(scenario: Scenario) -> float:
    """Chance that an evaluation finds a promoter (NPS 9–10: round(10·S + noise) ≥ 9) at the highest
    prior satisfaction of the segments (a customer the centre has not served: contacts move it)."""
    x = scenario.experience
    best = max([x.prior_satisfaction] + [seg.prior_satisfaction for seg in scenario.customers.segments.values()
                                         if seg.prior_satisfaction is not None])
    noise = x.survey.nps_noise
    if noise <= 0:
        return 1.0 if 10 * best >= 8.5 else 0.0
    return 0.5 * math.erfc((8.5 - 10 * best) / (noise * math.sqrt(2)))


def _referral_growth(scenario: Scenario, kinds: list[tuple[float, float, float, float]]) -> float:
    """How many customers each initial or acquired one becomes through referrals, over the horizon.

    A promoter's referrals are customers who evaluate and refer in turn, so referrals compound:
    a branching process. Each evaluation brings R = per_promoter × (promoter share) new customers,
    of whom a segment's share buys (no drop-out before purchase) and so evaluates; a segment's
    generation takes G (arrival to first evaluation, plus the referral delay) and makes
    max(1, G / cycle) evaluations. Churn is left out (it depends on the service). Below one referral per generation the population grows by at
    most 1 / (1 − R); above, it grows like e^{λt} with λ solving Σ share·R_s·e^{−λ·G_s} = 1
    (Euler–Lotka), from the first generation on: (1 + R) · e^{λ·(horizon − min G)}.
    """
    c = scenario.customers
    per = c.referrals.per_promoter
    if not c.feedback or per <= 0:
        return 1.0
    r = per * _promoter_share(scenario)
    delay = c.referrals.delay.mean_s
    gens = [(share, first + delay, r * reach * max(1.0, (first + delay) / cycle))
            for share, first, cycle, reach in kinds]
    mean_r = sum(share * rs for share, _, rs in gens)
    if mean_r <= 1.0:
        if mean_r == 1.0:
            return 1.0 + scenario.horizon / min(g for _, g, _ in gens)
        return 1.0 / (1.0 - mean_r)

    def excess(lam: float) -> float:  # Σ share·R_s·e^{−λ·G_s} − 1, decreasing in λ
        return sum(share * rs * math.exp(-lam * g) for share, g, rs in gens) - 1.0

    lo, hi = 0.0, 1.0 / min(g for _, g, _ in gens)
    while excess(hi) > 0 and hi < 1e12:
        lo, hi = hi, hi * 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if excess(mid) > 0 else (lo, mid)
    exponent = lo * max(0.0, scenario.horizon - min(g for _, g, _ in gens)) + math.log1p(r)
    return math.exp(min(exponent, math.log(MAX_GROWTH)))


def estimate(scenario: Scenario, replications: int, variants: int = 1) -> Work:
    customers, journey_contacts, visits = _journey(scenario)
    return Work(contacts=_forecast_contacts(scenario) + journey_contacts, customers=customers,
                intervals=scenario.horizon / scenario.interval, replications=replications, variants=variants,
                visits=visits)


def judge(work: Work) -> tuple[str | None, str | None]:
    """(reason to refuse, reason to warn): each None when within the limits."""
    if work.intervals > REFUSE_INTERVALS:
        return (f"{work.intervals:,.0f} intervals per replication (horizon / interval; the limit is "
                f"{REFUSE_INTERVALS:,.0f})"), None
    if work.total_contacts > REFUSE_CONTACTS:
        return f"{work.describe()}; the limit is {_count(REFUSE_CONTACTS)} contacts", None
    if work.memory_bytes > REFUSE_MEMORY_BYTES:
        return f"{work.describe()}; the limit is {_bytes(REFUSE_MEMORY_BYTES)} per replication", None
    if work.total_contacts > WARN_CONTACTS:
        return None, f"{work.describe()}; this will take a while"
    return None, None


def estimate_many(scenarios: list[Scenario], replications: int) -> Work:
    """The work of several variants: the largest per-replication figures, times the variants."""
    works = [estimate(s, replications) for s in scenarios]
    return Work(contacts=sum(w.contacts for w in works) / max(1, len(works)),
                customers=max((w.customers for w in works), default=0.0),
                visits=max((w.visits for w in works), default=0.0),
                intervals=max((w.intervals for w in works), default=0.0),
                replications=replications, variants=len(works))

