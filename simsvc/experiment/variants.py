"""Scenario variants: the ``--vary`` grammar, one :class:`Variant` per scenario to run, and
the grids (``simsvc sweep``) and files (``simsvc compare``) they come from.

Kept apart from the experiment design (:mod:`simsvc.experiment.design`), which adds
replications, metrics and targets on top of a list of variants.
"""
from __future__ import annotations

import hashlib
import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from simsvc.config.load import ScenarioError, load_scenario, scenario_hash
from simsvc.config.overrides import Override, override_parts
from simsvc.config.schema import Scenario
from simsvc.config.yamlio import load_yaml
from simsvc.experiment.budget import MAX_GRID_POINTS


# --------------------------------------------------------------------------- --vary
def parse_vary(text: str) -> tuple[str, list[Any]]:
    """``path=8:16:2`` (inclusive range), ``path=a,b,c`` (a list) or ``path=value``."""
    if "=" not in text:
        raise ValueError(f"{text!r} is not dotted.path=START:STOP[:STEP] or dotted.path=a,b,c")
    path, spec = (p.strip() for p in text.split("=", 1))
    if not path or not spec:
        raise ValueError(f"{text!r} is not dotted.path=START:STOP[:STEP] or dotted.path=a,b,c")
    return path, vary_values(spec, text)


MAX_VALUES = 1_000  # values of one varied parameter


def vary_values(spec: Any, text: str | None = None) -> list[Any]:
    """The values of a ``--vary`` or ``sweep.vary`` entry; finite numbers, at most ``MAX_VALUES``."""
    if isinstance(spec, list):
        values = spec
    elif not isinstance(spec, str):
        values = [spec]
    else:
        parts = spec.split(":")
        if len(parts) in (2, 3) and all(_is_number(p) for p in parts):
            numbers = [float(p) for p in parts]
            if not all(math.isfinite(x) for x in numbers):
                raise ValueError(f"{text or spec!r}: a range of finite numbers START:STOP[:STEP]")
            start, stop = numbers[0], numbers[1]
            step = numbers[2] if len(parts) == 3 else 1.0
            if step <= 0 or stop < start:
                raise ValueError(f"{text or spec!r}: a range needs START <= STOP and STEP > 0")
            n = math.floor((stop - start) / step + 1e-9) + 1
            if n > MAX_VALUES:
                raise ValueError(f"{text or spec!r}: {n:,} values; at most {MAX_VALUES:,} per parameter")
            values = [start + k * step for k in range(n) if start + k * step <= stop + 1e-9 * abs(step)]
            whole = all(_is_int(p) for p in parts)
            values = [int(round(v)) if whole else round(v, 12) for v in values]
        else:
            values = [load_yaml(v.strip()) if v.strip() else v for v in spec.split(",")]
    if not values:
        raise ValueError("at least one value (a range START:STOP[:STEP] or a non-empty list)")
    if len(values) > MAX_VALUES:
        raise ValueError(f"{text or spec!r}: {len(values):,} values; at most {MAX_VALUES:,} per parameter")
    for v in values:
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"{text or spec!r}: finite values ({v} is not a number a scenario can use)")
    return values


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _is_int(text: str) -> bool:
    return re.fullmatch(r"[-+]?\d+", text.strip()) is not None


# --------------------------------------------------------------------------- variants
@dataclass(frozen=True)
class Variant:
    """One scenario to replicate: its display name, defining parameters and resolved scenario."""

    name: str
    scenario: Scenario
    params: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    overrides: tuple[str, ...] = ()

    @property
    def scenario_hash(self) -> str:
        return scenario_hash(self.scenario)

    def key(self, seed: int) -> str:
        """Folder name in the result store: readable, and unique to (scenario, seed)."""
        digest = hashlib.sha256(f"{self.scenario_hash}:{seed}".encode()).hexdigest()[:12]
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", self.name).strip("-")[:60] or "variant"
        return f"{slug}-{digest}"


def _override_text(path: str, value: Any) -> str:
    return f"{path}={yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}"


# Scenario fields an experiment sets for all its variants at once, so a point cannot vary them.
EXPERIMENT_WIDE = {
    "seed": "all points share the experiment's root seed (common random numbers: they see the same "
            "customers, so they differ only by the varied parameters); give it with --seed (an "
            "experiment file: seed:), and replications show the spread from seed to seed",
    "replications": "all points run the experiment's replications; give them with --reps (an "
                    "experiment file: replications:, or precision: to add replications where needed)",
}


def grid_variants(base: Variant, vary: dict[str, list[Any]], source: str, option: str = "--vary") -> list[Variant]:
    """The cartesian product of the varied values applied to ``base`` (at most ``MAX_GRID_POINTS``).

    Errors in a varied path or value are attributed to ``option`` (``--vary`` or the
    experiment file's ``sweep.vary``). Experiment-wide settings (``seed``,
    ``replications``) cannot be varied, and no two points may resolve to the same
    scenario (a repeated value): both are refused before anything runs.
    """
    if not vary:
        return [base]
    paths = list(vary)
    for p in paths:
        if p in EXPERIMENT_WIDE:
            raise ScenarioError(option, p, vary[p], f"a scenario parameter, not {p}: {EXPERIMENT_WIDE[p]}")
    points = math.prod(len(vary[p]) for p in paths)
    if points > MAX_GRID_POINTS:
        raise ScenarioError(option, ", ".join(paths), None,
                            f"a grid of at most {MAX_GRID_POINTS:,} points (this one has {points:,})",
                            show_value=False)
    out = []
    seen: dict[str, tuple[str, ...]] = {}
    for combo in itertools.product(*(vary[p] for p in paths)):
        overrides = tuple(_override_text(p, v) for p, v in zip(paths, combo))
        scenario = load_scenario(source, [*base.overrides, *((option, o) for o in overrides)])
        params = dict(zip(paths, combo))
        label = ",".join(f"{p.rsplit('.', 1)[-1]}={v}" for p, v in params.items())
        name = f"{base.name}[{label}]" if base.name else label
        digest = scenario_hash(scenario)
        if digest in seen:
            first = seen[digest]
            raise ScenarioError(
                option, ", ".join(paths), vary[paths[0]] if len(paths) == 1 else None,
                f"points that differ, but {' '.join(first)} and {' '.join(overrides)} give the same "
                "scenario (a value repeated, or two spellings of one value); list each value once",
                show_value=len(paths) == 1)
        seen[digest] = overrides
        out.append(Variant(name, scenario, {**base.params, **params}, source, (*base.overrides, *overrides)))
    return out


def file_variant(path: str | Path, overrides: Iterable[Override] = (), name: str | None = None) -> Variant:
    """A scenario file as a variant; overrides may carry the label of the option that gave them."""
    overrides = list(overrides)
    scenario = load_scenario(path, overrides)
    return Variant(name or scenario.name, scenario, {}, str(path), tuple(override_parts(o)[1] for o in overrides))


def unique_names(variants: list[Variant]) -> list[Variant]:
    """Make display names unique (two files may declare the same scenario name)."""
    seen: dict[str, int] = {}
    out = []
    for v in variants:
        n = seen.get(v.name, 0)
        seen[v.name] = n + 1
        out.append(v if n == 0 else Variant(f"{v.name}#{n + 1}", v.scenario, v.params, v.source, v.overrides))
    return out
