"""Experiment design: which scenario variants to run, kept apart from running them.

An experiment is a list of :class:`Variant` (a name, the parameters that define
it and the resolved scenario) plus replications, a seed, the metrics to report
and the targets to meet. It comes from ``simsvc compare`` (several files),
``simsvc sweep`` (a grid of ``--vary`` values) or an experiment file that can
combine both.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from simsvc.config.load import ScenarioError
from simsvc.config.schema import Label
from simsvc.config.yamlio import read_yaml
from simsvc.experiment import MAX_REPLICATIONS
# The variants an experiment runs; parse_vary is re-exported for the CLI and the tests.
from simsvc.experiment.variants import (Variant, file_variant, grid_variants, parse_vary,  # noqa: F401
                                        unique_names, vary_values)

ALL = "all"
MET, NOT_MET, UNCERTAIN = "met", "not met", "uncertain"


# --------------------------------------------------------------------------- metrics and targets
@dataclass(frozen=True)
class MetricRef:
    """A summary metric on a channel, written ``service_level@phone`` (channel ``all`` if omitted)."""

    metric: str
    channel: str = ALL

    @classmethod
    def parse(cls, text: str) -> "MetricRef":
        from simsvc.observe.summary import METRICS

        m = re.fullmatch(r"\s*([a-z_0-9]+)(?:@([\w-]+))?\s*", text)
        if not m:
            raise ValueError(f"{text!r} is not a metric such as service_level or service_level@phone")
        if m.group(1) not in METRICS:
            raise ValueError(f"{m.group(1)!r} is not a metric; known metrics: {', '.join(METRICS)}")
        return cls(m.group(1), m.group(2) or ALL)

    def __str__(self) -> str:
        return f"{self.metric}@{self.channel}"


_TARGET = re.compile(
    r"^\s*(?P<metric>[a-z_0-9]+)(?:@(?P<channel>[\w-]+))?\s*(?P<op>>=|<=)\s*"
    r"(?P<value>[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(?:on\s+(?P<on>[\w-]+))?\s*$"
)


# The values a metric can take, where the definition bounds them (README "Results"): a target
# outside them is always met or never met, so it is refused. Metrics not listed (experience and
# satisfaction scores, clv_mean, net_value) have no inherent bound.
_SHARES = ("abandon_rate", "p_wait", "service_level", "occupancy", "fcr", "fcr_contact",
           "response_within_target", "containment_rate", "csat", "churn_risk", "churn_rate")
_COUNTS = ("offered", "offered_new_issues", "answered", "abandoned", "contained", "escalated", "lost",
           "lost_closed", "waiting_end", "transferred", "pending_not_due", "backlog_end", "csat_responses",
           "expected_churn", "customers_acquired", "referred_customers", "lost_prospects", "purchases",
           "churned", "churned_after_contact", "lapsed", "customers_active_end", "prospects_end")
_TIMES = ("wait_mean_s", "asa_s", "wait_p90_s", "aht_s", "response_time_mean_s", "bot_time_mean_s")
_MONEY = ("agent_cost", "cost_per_contact", "revenue", "revenue_lost_to_churn")
#: metric -> (lowest, highest, what it is and its range); a target must lie within
METRIC_RANGES: dict[str, tuple[float, float, str]] = {
    **{m: (0.0, 1.0, "a share between 0 and 1") for m in _SHARES},
    **{m: (0.0, math.inf, "a count, 0 or more") for m in _COUNTS},
    **{m: (0.0, math.inf, "a time in seconds, 0 or more") for m in _TIMES},
    **{m: (0.0, math.inf, "an amount of money, 0 or more") for m in _MONEY},
    "nps": (-100.0, 100.0, "% promoters - % detractors, between -100 and 100"),
    "ces": (1.0, 7.0, "a mean answer on the 1-7 scale, between 1 and 7"),
}


@dataclass(frozen=True)
class Target:
    """A requirement on a metric's mean, e.g. ``service_level >= 0.8 on phone``."""

    ref: MetricRef
    op: str
    value: float

    @classmethod
    def parse(cls, text: str) -> "Target":
        m = _TARGET.match(text)
        if not m or (m.group("channel") and m.group("on")):
            raise ValueError(
                f"{text!r} is not a target such as 'service_level >= 0.8 on phone' "
                "or 'abandon_rate@phone <= 0.05'"
            )
        channel = m.group("channel") or m.group("on") or ALL
        ref, value = MetricRef.parse(f"{m.group('metric')}@{channel}"), float(m.group("value"))
        if ref.metric in METRIC_RANGES:
            low, high, what = METRIC_RANGES[ref.metric]
            if not low <= value <= high:
                raise ValueError(f"{text!r}: {ref.metric} is {what}, got {value:g}")
        return cls(ref, m.group("op"), value)

    def met(self, mean: float) -> bool:
        return mean >= self.value if self.op == ">=" else mean <= self.value

    def status(self, mean: float, low: float, high: float) -> str:
        """``met`` / ``not met`` when the whole 95 % CI is on one side of the target,
        ``uncertain`` when it straddles it (or no CI could be computed)."""
        if mean is None or not np.isfinite(mean):
            return NOT_MET  # undefined (e.g. nothing answered): cannot be claimed met
        if not (np.isfinite(low) and np.isfinite(high)):
            return UNCERTAIN
        if (low >= self.value) if self.op == ">=" else (high <= self.value):
            return MET
        if (high < self.value) if self.op == ">=" else (low > self.value):
            return NOT_MET
        return UNCERTAIN

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.ref.metric, "channel": self.ref.channel, "op": self.op, "value": self.value}

    def __str__(self) -> str:
        return f"{self.ref} {self.op} {self.value:g}"


# --------------------------------------------------------------------------- experiment files
class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ScenarioEntry(_Base):
    path: str
    set: list[str] = Field(default_factory=list)


class Sweep(_Base):
    vary: dict[str, Any] = Field(min_length=1, description="dotted.path: START:STOP[:STEP] | [values]")


class Precision(_Base):
    half_width: float = Field(gt=0, description="target 95 % CI half-width, in the metric's units")
    metrics: list[str] = Field(min_length=1)
    max_replications: int = Field(default=100, ge=2, le=MAX_REPLICATIONS)

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, values: list[str]) -> list[str]:
        for v in values:
            MetricRef.parse(v)
        return values


class ExperimentSpec(_Base):
    """An experiment file (``experiments/*.yaml``)."""

    name: Label
    description: str = ""
    scenarios: dict[str, str | ScenarioEntry] = Field(min_length=1)
    sweep: Sweep | None = None
    replications: int | None = Field(default=None, ge=2, le=MAX_REPLICATIONS,
                                     description="default: the first scenario's")
    seed: int | None = Field(default=None, ge=0, description="default: the first scenario's, else 1")
    independent_seeds: bool = False
    metrics: list[str] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list)
    cost_metric: str = "agent_cost"
    precision: Precision | None = None

    @field_validator("metrics", "targets")
    @classmethod
    def _parseable(cls, values: list[str], info: Any) -> list[str]:
        parse = MetricRef.parse if info.field_name == "metrics" else Target.parse
        for v in values:
            parse(v)
        return values

    @field_validator("cost_metric")
    @classmethod
    def _cost_metric(cls, value: str) -> str:
        MetricRef.parse(value)
        return value


def _experiment_problem(err: dict[str, Any]) -> tuple[str, object, str]:
    """(field path, value, allowed) of one experiment-file validation error."""
    loc = tuple(str(x) for x in err.get("loc", ())
                if "[" not in str(x) and str(x) not in ("str", "ScenarioEntry", "Sweep", "Precision"))
    msg = err["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
    if err.get("type") == "extra_forbidden":
        model: Any = ExperimentSpec
        for item in loc[:-1]:
            field_ = getattr(model, "model_fields", {}).get(item)
            if field_ is not None:
                model = next((t for t in _models(field_.annotation)), model)
        known = sorted(getattr(model, "model_fields", {}))
        return ".".join(loc), loc[-1] if loc else None, f"one of the known fields {known}"
    return ".".join(loc), err.get("input"), msg


def _models(annotation: Any) -> list[Any]:
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models(arg)]


@dataclass(frozen=True)
class Design:
    """Everything needed to run and summarise an experiment."""

    name: str
    kind: str  # compare | sweep | experiment
    variants: list[Variant]
    replications: int
    seed: int
    independent_seeds: bool = False
    metrics: list[MetricRef] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    cost_metric: MetricRef = MetricRef("agent_cost")
    precision: Precision | None = None
    description: str = ""
    # Where the seed and replications came from ("--seed", "experiment file", "scenario NAME", "default").
    sources: dict[str, str] = field(default_factory=dict)
    # "cheapest" among points whose targets are met with confidence (False) or by their means (True).
    by_mean: bool = False

    def settings_text(self) -> str:
        """One line saying which seed and replications were used, and from where."""
        def why(key: str) -> str:
            return f" ({self.sources[key]})" if key in self.sources else ""
        return (f"seed {self.seed}{why('seed')}, {self.replications} replications per variant"
                f"{why('replications')}")

    def check_channels(self) -> None:
        """Every metric, target and precision metric must name a channel of every variant (or all)."""
        refs = [*self.metrics, *(t.ref for t in self.targets), self.cost_metric]
        if self.precision is not None:
            refs += [MetricRef.parse(m) for m in self.precision.metrics]
        for v in self.variants:
            for ref in refs:
                if ref.channel != ALL and ref.channel not in v.scenario.channels:
                    raise ValueError(f"{ref}: {ref.channel!r} is not a channel of {v.name!r} "
                                     f"(channels: {', '.join(v.scenario.channels)}, or all)")

    def seed_for(self, index: int) -> int:
        """Common random numbers: every variant shares the root seed, unless asked otherwise."""
        if not self.independent_seeds:
            return self.seed
        return int(np.random.SeedSequence(self.seed, spawn_key=(index,)).generate_state(1)[0])


DEFAULT_SEED = 1
MIN_REPLICATIONS = 2  # a confidence interval needs two


def baseline_settings(variants: list[Variant], reps: int | None = None, seed: int | None = None,
                      file_reps: int | None = None, file_seed: int | None = None,
                      ) -> tuple[int, int, dict[str, str]]:
    """Replications and root seed of an experiment, and where each came from.

    The command line wins, then the experiment file, then the first (baseline)
    scenario's own ``replications:`` and ``seed:``, so that ``compare`` reports the
    same baseline as ``simsvc run`` on that file. A scenario without a seed gets
    seed 1 (an experiment must be resumable, so it cannot draw a fresh one).
    """
    base = variants[0]
    name = f"scenario {base.scenario.name}"
    if reps is not None:
        n, n_src = reps, "--reps"
    elif file_reps is not None:
        n, n_src = file_reps, "experiment file"
    else:
        n, n_src = base.scenario.replications, name
        if n < MIN_REPLICATIONS:
            n, n_src = MIN_REPLICATIONS, f"{name} asks for {n}; a CI needs {MIN_REPLICATIONS}"
    if seed is not None:
        s, s_src = seed, "--seed"
    elif file_seed is not None:
        s, s_src = file_seed, "experiment file"
    elif base.scenario.seed is not None:
        s, s_src = base.scenario.seed, name
    else:
        s, s_src = DEFAULT_SEED, f"default; {name} sets no seed"
    return n, s, {"seed": s_src, "replications": n_src}


# A scenario's ``set:`` in an experiment file cannot carry these: they belong to the experiment.
SCENARIO_SET_WIDE = {
    "seed": "all scenarios of an experiment run on its one root seed (common random numbers: they "
            "see the same customers, so they differ only by their settings), so one scenario cannot "
            "have its own; give it once with the file's seed: (or --seed)",
    "replications": "all scenarios of an experiment run its replications, so one scenario cannot "
                    "have its own; give them once with the file's replications: (or --reps, or "
                    "precision: to add replications where needed)",
}


def load_experiment(path: str | Path) -> Design:
    """Read an experiment file; scenario paths are relative to it."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(str(path), "", str(path), "an existing experiment file")
    raw = read_yaml(path, "experiment file")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ScenarioError(str(path), "", None, "an experiment file: a YAML mapping of fields at the top level",
                            show_value=False)
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # Shape errors of union branches the user did not mean (scenarios.a as a plain path) are noise.
        errors = [e for e in errors if e.get("type") not in ("string_type", "dict_type", "model_type")] or errors
        problems = [_experiment_problem(err) for err in errors]
        (loc, value, msg), others = problems[0], problems[1:]
        raise ScenarioError(str(path), loc, value, msg, others=others[:9], more=len(others)) from None
    base_dir = path.parent
    variants: list[Variant] = []
    for name, entry in spec.scenarios.items():
        entry = ScenarioEntry(path=entry) if isinstance(entry, str) else entry
        for text in entry.set:
            # The root seed and the replications are the experiment's: every variant runs on
            # them, so a scenario's own would be ignored; refused, as a varied one is in a sweep.
            key = text.split("=", 1)[0].strip() if "=" in text else ""
            if key in SCENARIO_SET_WIDE:
                raise ScenarioError(str(path), f"scenarios.{name}.set", text,
                                    f"a scenario parameter, not {key}: {SCENARIO_SET_WIDE[key]}")
        source = str(base_dir / entry.path)
        base = file_variant(source, [(f"{path}: scenarios.{name}.set", o) for o in entry.set], name)
        if spec.sweep is None:
            variants.append(base)
        else:
            vary = {}
            for p, v in spec.sweep.vary.items():
                try:
                    vary[p] = vary_values(v)
                except ValueError as exc:
                    raise ScenarioError(str(path), f"sweep.vary.{p}", v, str(exc)) from None
            variants.extend(grid_variants(base, vary, source, option=f"{path}: sweep.vary"))
    kind = "experiment"
    n_reps, seed, sources = baseline_settings(variants, file_reps=spec.replications, file_seed=spec.seed)
    design = Design(
        name=spec.name, kind=kind, variants=unique_names(variants), replications=n_reps,
        seed=seed, independent_seeds=spec.independent_seeds, sources=sources,
        metrics=[MetricRef.parse(m) for m in spec.metrics],
        targets=[Target.parse(t) for t in spec.targets],
        cost_metric=MetricRef.parse(spec.cost_metric), precision=spec.precision,
        description=spec.description,
    )
    try:
        design.check_channels()
    except ValueError as exc:
        raise ScenarioError(str(path), "metrics/targets", None, str(exc)) from None
    return design
