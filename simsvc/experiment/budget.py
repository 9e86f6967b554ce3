"""How much work a scenario asks for, estimated from its parameters before anything runs.

A typo (``horizon: 2000d``, ``rate: 1e7/h``) should not become an hour of
simulation or an out-of-memory kill. :func:`estimate` gives rough figures
(contacts, customers, intervals, record memory, output size) from the scenario
alone, cheaply even for absurd horizons; :func:`judge` compares them with the
documented limits below: beyond ``REFUSE_*`` a command refuses unless
``--force``, beyond ``WARN_*`` it warns. Estimates are deliberately simple
(expected arrivals; journey mode: customers × contact chances per cycle), not
predictions of run time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from simsvc.config.schema import DAYS, Scenario

DAY_S = 86400.0
CONTACT_BYTES = 400  # memory per contact while a replication's records and tables are built
CUSTOMER_BYTES = 600  # journey mode: memory per customer (state, events, table rows)
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

    @property
    def total_contacts(self) -> float:
        return self.contacts * self.replications * self.variants

    @property
    def memory_bytes(self) -> float:
        """Records of one replication in memory."""
        return self.contacts * CONTACT_BYTES + self.customers * CUSTOMER_BYTES

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
    if x >= 1e9:
        return f"{x / 1e9:,.1f} billion"
    if x >= 1e6:
        return f"{x / 1e6:,.1f} million"
    return f"{x:,.0f}"


def _bytes(x: float) -> str:
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


def _journey(scenario: Scenario) -> tuple[float, float]:
    """(customers, contacts) of journey mode, per replication."""
    c = scenario.customers
    if c is None:
        return 0.0, 0.0
    customers = c.initial + c.acquisition * scenario.horizon
    cycle_s = sum(d.mean_s for d in c.dwell.values()) or DAY_S
    visits = max(1.0, scenario.horizon / cycle_s) * len(c.stages)
    chance = sum(s.contact_probability for s in c.stages.values()) / max(1, len(c.stages))
    repeats = 1 + scenario.repeat.probability  # unresolved issues come back (at least once, roughly)
    return customers, customers * visits * chance * repeats


def estimate(scenario: Scenario, replications: int, variants: int = 1) -> Work:
    customers, journey_contacts = _journey(scenario)
    return Work(contacts=_forecast_contacts(scenario) + journey_contacts, customers=customers,
                intervals=scenario.horizon / scenario.interval, replications=replications, variants=variants)


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
                intervals=max((w.intervals for w in works), default=0.0),
                replications=replications, variants=len(works))

