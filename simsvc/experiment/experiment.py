"""Running an experiment: variants × replications → store → summary, comparison, points.

Design (:mod:`.design`), execution (:mod:`.executors`) and storage (:mod:`.store`)
are separate; this module connects them. Every replication is stored as soon
as it finishes; a re-run of the same definition only runs what is missing.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from scipy.special import stdtrit

from simsvc import __version__
from simsvc.config.load import scenario_dict
from simsvc.config.schema import Scenario
from simsvc.experiment.design import MET, NOT_MET, UNCERTAIN, Design, MetricRef
from simsvc.experiment.runner import dependency_versions
from simsvc.experiment.store import ResultStore
from simsvc.model.centre import simulate
from simsvc.observe.summary import replication_metrics, summarise

DEFAULT_METRICS = [MetricRef(m) for m in ("service_level", "abandon_rate", "asa_s", "occupancy", "agent_cost")]


def replication_task(scenario: Scenario, seed: int, replication: int, key: str) -> tuple[str, int, pd.DataFrame]:
    """One replication's summary metrics; pure, so any executor gives the same numbers."""
    raw = simulate(scenario, seed, replication)
    return key, replication, replication_metrics(scenario, raw)


@dataclass
class ExperimentResult:
    design: Design
    folder: Path
    per_replication: pd.DataFrame  # variant, replication, channel, metric, value
    summary: pd.DataFrame  # variant, name, channel, metric, mean, ci_low, ci_high, reps
    comparison: pd.DataFrame  # paired differences to the first variant
    points: pd.DataFrame  # one row per variant: parameters, metrics with CIs, targets
    ran: int
    reused: int
    wall_s: float


class Interrupted(Exception):
    """The run was stopped; everything finished so far is stored."""

    def __init__(self, stored: int) -> None:
        super().__init__(f"{stored} replications stored")
        self.stored = stored


def run_experiment(design: Design, folder: str | Path, executor,
                   progress: Callable[[int, int], None] | None = None) -> ExperimentResult:
    """Run (or resume) ``design`` into ``folder`` with ``executor``."""
    wall0 = time.perf_counter()
    store = ResultStore(folder)
    store.remove_partial()
    seeds = [design.seed_for(i) for i in range(len(design.variants))]
    keys = [v.key(s) for v, s in zip(design.variants, seeds)]
    store.write_json("experiment.json", manifest(design, keys, seeds, status="running"))
    wanted = {k: design.replications for k in keys}
    ran = 0
    while True:
        tasks = [(v.scenario, s, r, k)
                 for v, s, k in zip(design.variants, seeds, keys)
                 for r in range(wanted[k]) if r not in store.stored(k)]
        total = sum(wanted.values())
        done = total - len(tasks)
        if progress:
            progress(done, total)
        try:
            for key, rep, metrics in executor.run(replication_task, tasks):
                store.save(key, rep, metrics)
                ran += 1
                done += 1
                if progress:
                    progress(done, total)
        except KeyboardInterrupt:
            # The interrupt may land inside a save, after its temporary file was created but
            # before the code that removes it on failure runs (inside tempfile.mkstemp, say):
            # what a resume would clear (remove_partial) goes now, so nothing half-written stays.
            try:
                store.remove_partial()
            except OSError:
                pass
            raise Interrupted(sum(len(store.stored(k)) for k in keys)) from None
        if design.precision is None:
            break
        more = _more_replications(design, store, keys, wanted)
        if not more:
            break
        wanted.update(more)

    per_rep = pd.concat(
        [store.load(k, list(range(wanted[k]))).assign(variant=k) for k in keys], ignore_index=True)
    names = dict(zip(keys, (v.name for v in design.variants)))
    summary = pd.concat(
        [summarise(per_rep[per_rep.variant == k].drop(columns="variant")).assign(variant=k, name=names[k])
         for k in keys], ignore_index=True)
    summary = summary[["variant", "name", "channel", "metric", "mean", "ci_low", "ci_high", "reps"]]
    comparison = paired_differences(per_rep, keys, names)
    points = points_table(design, keys, summary)
    store.write_csv("summary.csv", summary)
    store.write_csv("comparison.csv", comparison)
    store.write_csv("points.csv", points)
    store.write_json("experiment.json", manifest(
        design, keys, seeds, status="complete", replications_per_variant={k: wanted[k] for k in keys},
        wall_s=time.perf_counter() - wall0))
    reused = sum(wanted.values()) - ran  # including those reused in sequential rounds
    return ExperimentResult(design, Path(folder), per_rep, summary, comparison, points, ran, reused,
                            time.perf_counter() - wall0)


def _half_width(values: np.ndarray, confidence: float = 0.95) -> float:
    v = values[~np.isnan(values)]
    if len(v) < 2:
        return math.inf
    return float(stdtrit(len(v) - 1, 0.5 + confidence / 2) * v.std(ddof=1) / math.sqrt(len(v)))


def _more_replications(design: Design, store: ResultStore, keys: list[str],
                       wanted: dict[str, int]) -> dict[str, int]:
    """Sequential procedure: for each variant whose named metrics are not yet precise
    enough, the number of replications the current spread says is needed (capped)."""
    prec = design.precision
    refs = [MetricRef.parse(m) for m in prec.metrics]
    out = {}
    for k in keys:
        n = wanted[k]
        if n >= prec.max_replications:
            continue
        data = store.load(k, list(range(n)))
        need = n
        for ref in refs:
            v = data[(data.metric == ref.metric) & (data.channel == ref.channel)]["value"].to_numpy(float)
            h = _half_width(v)
            if not math.isfinite(h):
                continue  # undefined for this variant (e.g. no answered contacts): more reps cannot help
            if h > prec.half_width:
                # n·(h/target)² replications would give the target half-width at this spread.
                need = max(need, n + 1, math.ceil(n * (h / prec.half_width) ** 2))
        if need > n:
            out[k] = min(need, prec.max_replications)
    return out


def paired_differences(per_rep: pd.DataFrame, keys: list[str], names: dict[str, str]) -> pd.DataFrame:
    """Each variant against the first, replication by replication (common random
    numbers make the pairs positively correlated, so the difference is sharper).

    A channel or metric the baseline does not have (or has no value for: a response
    target without async channels) gets the variant's mean and CI and no difference
    (NaN): there is nothing to pair it with."""
    base = keys[0]
    rows = []
    b = per_rep[per_rep.variant == base].set_index(["replication", "channel", "metric"])["value"]
    for k in keys:
        v = per_rep[per_rep.variant == k].set_index(["replication", "channel", "metric"])["value"]
        joined = pd.concat({"v": v, "b": b}, axis=1, join="inner").dropna()
        joined["d"] = joined["v"] - joined["b"]
        for (channel, metric), g in joined.groupby(level=["channel", "metric"], sort=False):
            n = len(g)
            mean = g["v"].mean()
            h_v = _half_width(g["v"].to_numpy())
            d = g["d"].to_numpy()
            diff = float(d.mean())
            h_d = 0.0 if k == base else _half_width(d)
            low, high = diff - h_d, diff + h_d
            rows.append({
                "variant": k, "name": names[k], "baseline": names[base], "channel": channel, "metric": metric,
                "mean": mean, "ci_low": mean - h_v, "ci_high": mean + h_v, "reps": n,
                "diff": diff, "diff_low": low, "diff_high": high,
                "significant": bool(k != base and math.isfinite(h_d) and (low > 0 or high < 0)),
            })
        paired = set(joined.index.droplevel("replication"))   # (channel, metric) with a pair
        v = v.dropna()
        unpaired = [(c, m) not in paired for c, m in zip(v.index.get_level_values("channel"),
                                                          v.index.get_level_values("metric"))]
        for (channel, metric), g in v[unpaired].groupby(level=["channel", "metric"], sort=False):
            mean, h_v = g.mean(), _half_width(g.to_numpy())
            rows.append({
                "variant": k, "name": names[k], "baseline": names[base], "channel": channel, "metric": metric,
                "mean": mean, "ci_low": mean - h_v, "ci_high": mean + h_v, "reps": len(g),
                "diff": math.nan, "diff_low": math.nan, "diff_high": math.nan, "significant": False,
            })
    return pd.DataFrame(rows)


def points_table(design: Design, keys: list[str], summary: pd.DataFrame) -> pd.DataFrame:
    """One row per variant: its parameters, the reported metrics with CIs, targets met, cheapest."""
    refs = list(dict.fromkeys([*(design.metrics or DEFAULT_METRICS), *(t.ref for t in design.targets),
                               design.cost_metric]))
    param_names = list(dict.fromkeys(p for v in design.variants for p in v.params))
    rows = []
    for k, v in zip(keys, design.variants):
        s = summary[summary.variant == k].set_index(["channel", "metric"])
        row: dict = {"variant": k, "name": v.name}
        for p in param_names:
            row[p] = v.params.get(p)
        for ref in refs:
            col = str(ref)
            if (ref.channel, ref.metric) in s.index:
                r = s.loc[(ref.channel, ref.metric)]
                row[col], row[col + "_ci_low"], row[col + "_ci_high"] = r["mean"], r["ci_low"], r["ci_high"]
            else:
                row[col] = row[col + "_ci_low"] = row[col + "_ci_high"] = np.nan
        statuses = [t.status(row[str(t.ref)], row[str(t.ref) + "_ci_low"], row[str(t.ref) + "_ci_high"])
                    for t in design.targets]
        by_mean = [not pd.isna(row[str(t.ref)]) and t.met(row[str(t.ref)]) for t in design.targets]
        row["target_status"] = _overall_status(statuses) if design.targets else ""
        row["meets_targets"] = bool(design.targets) and (
            all(by_mean) if design.by_mean else row["target_status"] == MET)
        rows.append(row)
    points = pd.DataFrame(rows)
    points["cheapest"] = cheapest_mask(points, str(design.cost_metric))
    return points


def _overall_status(statuses: list[str]) -> str:
    """A point is met when every target is met with confidence, not met when any is
    clearly missed, uncertain otherwise."""
    if all(s == MET for s in statuses):
        return MET
    return NOT_MET if NOT_MET in statuses else UNCERTAIN


def cheapest_mask(points: pd.DataFrame, cost: str) -> pd.Series:
    """The one point meeting the targets at the lowest cost.

    Without targets there is nothing to meet, so cost alone picks nothing. When
    several feasible points share the lowest cost (to 1e-9 relative), cost does not
    decide between them and none is singled out.
    """
    mask = pd.Series(False, index=points.index)
    if points.empty or "meets_targets" not in points or cost not in points:
        return mask
    feasible = points[points["meets_targets"].astype(bool) & points[cost].notna()]
    if feasible.empty:
        return mask
    low = feasible[cost].min()
    tied = np.isclose(feasible[cost], low, rtol=1e-9, atol=0.0)
    if tied.sum() == 1:
        mask.loc[feasible.index[tied]] = True
    return mask


def cheapest_tie(points: pd.DataFrame, cost: str) -> list[str]:
    """Names of the feasible points tied at the lowest cost (empty when one is cheapest or none feasible)."""
    if points.empty or points["cheapest"].any() or cost not in points:
        return []
    feasible = points[points["meets_targets"].astype(bool) & points[cost].notna()]
    if len(feasible) < 2:
        return []
    tied = np.isclose(feasible[cost], feasible[cost].min(), rtol=1e-9, atol=0.0)
    return [str(n) for n in feasible.loc[tied, "name"]]


def manifest(design: Design, keys: list[str], seeds: list[int], status: str, **extra) -> dict:
    return {
        "name": design.name,
        "kind": design.kind,
        "description": design.description,
        "status": status,
        "updated_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seed": design.seed,
        "independent_seeds": design.independent_seeds,
        "replications": design.replications,
        "settings_source": dict(design.sources),
        "precision": design.precision.model_dump() if design.precision else None,
        "metrics": [str(m) for m in design.metrics],
        "targets": [t.to_dict() for t in design.targets],
        "cost_metric": str(design.cost_metric),
        "cheapest_by": "mean" if design.by_mean else "confidence",
        "variants": {
            k: {"name": v.name, "params": v.params, "source": v.source, "overrides": list(v.overrides),
                "seed": s, "scenario_hash": v.scenario_hash, "scenario": scenario_dict(v.scenario)}
            for k, v, s in zip(keys, design.variants, seeds)
        },
        "seeding": "numpy SeedSequence(seed, spawn_key=(replication, crc32(purpose)))",
        "simsvc_version": __version__,
        "dependencies": dependency_versions(),
        **extra,
    }
