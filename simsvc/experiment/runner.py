"""Independent replications of one scenario, serial or in local processes.

``run_replication`` is a pure function of (scenario, root seed, replication
number): any executor can call it and get the same tables, which is why serial
and parallel runs agree to the last digit.
"""
from __future__ import annotations

import os
import platform
import secrets
import time
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from typing import Callable

import pandas as pd

from simsvc import __version__
from simsvc.config.load import scenario_dict, scenario_hash
from simsvc.config.schema import Scenario
from simsvc.experiment.executors import process_pool
from simsvc.model.centre import simulate
from simsvc.observe import summary as summ
from simsvc.observe import journey as jt
from simsvc.observe.daily import daily_summary
from simsvc.observe import tables
from simsvc.observe.customer import contact_columns, customer_metrics, customer_view, issues_frame


@dataclass(frozen=True)
class ReplicationTables:
    replication: int
    contacts: pd.DataFrame
    intervals: pd.DataFrame
    pools: pd.DataFrame
    issues: pd.DataFrame
    metrics: pd.DataFrame
    arrivals: int
    sim_wall_s: float
    customers: pd.DataFrame = field(default_factory=pd.DataFrame)  # journey mode only
    journey_events: pd.DataFrame = field(default_factory=pd.DataFrame)
    journey: pd.DataFrame = field(default_factory=pd.DataFrame)  # long funnel/segment rows


def run_replication(scenario: Scenario, root_seed: int, replication: int,
                    keep_contacts: bool = True) -> ReplicationTables:
    """Simulate one replication and reduce it to tables."""
    raw = simulate(scenario, root_seed, replication)
    release_memory()  # the event loop's buffers are gone; give their pages back first
    # The customer's view is large (arrays per attempt and per issue): take what the
    # tables need from it and let it go before building the rest.
    view = customer_view(scenario, raw)
    customer_rows = customer_metrics(scenario, view)
    issues = issues_frame(scenario, raw, view) if keep_contacts else pd.DataFrame()
    extra = contact_columns(view, len(raw.contacts["arrival_s"])) if keep_contacts else None
    journey_frames = {}
    if raw.journey is not None:
        people = jt.CustomerTable(scenario, raw, view)
        customer_rows += jt.journey_metrics(scenario, people)
        journey_frames = {"customers": people.frame(scenario, replication) if keep_contacts else pd.DataFrame(),
                          "journey_events": jt.events_frame(scenario, raw) if keep_contacts else pd.DataFrame(),
                          "journey": jt.journey_rows(scenario, people, replication)}
        del people
    del view
    release_memory()
    return ReplicationTables(
        replication=replication,
        intervals=tables.intervals_frame(scenario, raw),
        pools=tables.pools_frame(scenario, raw),
        issues=issues,
        metrics=summ.replication_metrics(scenario, raw, customer_rows=customer_rows),
        contacts=tables.contacts_frame(scenario, raw, extra=extra) if keep_contacts else pd.DataFrame(),
        arrivals=len(raw.contacts["arrival_s"]),
        sim_wall_s=raw.wall_s,
        **journey_frames,
    )


def release_memory() -> None:
    """Return freed heap pages to the operating system (glibc only; a no-op elsewhere).

    Large runs free hundreds of MB of temporaries between stages; glibc keeps them
    in the process heap, which inflates peak memory for the next stage.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@dataclass
class RunResult:
    """Everything a run produced, as DataFrames; nothing is written until asked."""

    scenario: Scenario
    seed: int
    replications: int
    contacts: pd.DataFrame
    intervals: pd.DataFrame
    pools: pd.DataFrame
    issues: pd.DataFrame
    per_replication: pd.DataFrame
    summary: pd.DataFrame
    manifest: dict = field(default_factory=dict)
    # Journey mode: customers, their events, and the funnel/segment table with CIs.
    customers: pd.DataFrame = field(default_factory=pd.DataFrame)
    journey_events: pd.DataFrame = field(default_factory=pd.DataFrame)
    journey: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Per day after the warm-up × channel: KPIs with CIs (simsvc.observe.daily), written as daily.csv.
    daily: pd.DataFrame = field(default_factory=pd.DataFrame)

    def metric(self, metric: str, channel: str = summ.ALL) -> float:
        """Mean of one summary metric (convenience for notebooks and tests)."""
        row = self.summary[(self.summary.metric == metric) & (self.summary.channel == channel)]
        if row.empty:
            raise KeyError(f"no metric {metric!r} for channel {channel!r}")
        return float(row["mean"].iloc[0])


def resolve_seed(scenario: Scenario, seed: int | None) -> int:
    """The concrete root seed: the one given, the scenario's, or a fresh one (recorded)."""
    if seed is not None:
        return int(seed)
    if scenario.seed is not None:
        return int(scenario.seed)
    return secrets.randbits(63)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def run(scenario: Scenario, *, replications: int | None = None, seed: int | None = None,
        workers: int = 1, keep_contacts: bool = True,
        progress: Callable[[int, int], None] | None = None) -> RunResult:
    """Run ``replications`` independent replications and summarise them with CIs.

    ``workers`` > 1 runs replications in local processes; results are identical
    to a serial run. ``progress(done, total)`` is called as replications finish.
    """
    reps = int(replications if replications is not None else scenario.replications)
    if reps < 1:
        raise ValueError("replications must be at least 1")
    root = resolve_seed(scenario, seed)
    wall0 = time.perf_counter()
    results: dict[int, ReplicationTables] = {}
    if workers <= 1 or reps == 1:
        for r in range(reps):
            results[r] = run_replication(scenario, root, r, keep_contacts)
            if progress:
                progress(len(results), reps)
    else:
        with process_pool(min(workers, reps)) as pool:  # workers end if this process dies
            futures = [pool.submit(run_replication, scenario, root, r, keep_contacts) for r in range(reps)]
            for fut in as_completed(futures):
                res = fut.result()
                results[res.replication] = res
                if progress:
                    progress(len(results), reps)
    ordered = [results[r] for r in range(reps)]
    per_rep = pd.concat([r.metrics for r in ordered], ignore_index=True)
    result = RunResult(
        scenario=scenario,
        seed=root,
        replications=reps,
        contacts=_concat([r.contacts for r in ordered]),
        intervals=_concat([r.intervals for r in ordered]),
        pools=_concat([r.pools for r in ordered]),
        issues=_concat([r.issues for r in ordered]),
        per_replication=per_rep,
        summary=summ.summarise(per_rep),
        customers=_concat([r.customers for r in ordered]),
        journey_events=_concat([r.journey_events for r in ordered]),
    )
    journey_rows = _concat([r.journey for r in ordered])
    if not journey_rows.empty:
        result.journey = summ.summarise(journey_rows, keys=("segment", "stage", "metric"))
    result.daily = daily_summary(scenario, result.intervals)
    wall = time.perf_counter() - wall0
    result.manifest = manifest(scenario, root, reps, workers, wall, ordered)
    return result


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if len(frames) == 1:
        return frames[0]  # no copy: a single replication's contacts can be most of the memory
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def dependency_versions() -> dict[str, str | None]:
    versions = {}
    for pkg in ("simpy", "numpy", "pandas", "pyarrow", "scipy", "pydantic", "PyYAML", "click", "dask"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return versions


def manifest(scenario: Scenario, seed: int, reps: int, workers: int, wall_s: float,
             results: list[ReplicationTables]) -> dict:
    """What is needed to reproduce a run: resolved scenario, hash, seeds, versions, timings."""
    return {
        "simsvc_version": __version__,
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scenario_name": scenario.name,
        "scenario_hash": scenario_hash(scenario),
        "root_seed": seed,
        "replications": reps,
        "seeding": "numpy SeedSequence(root_seed, spawn_key=(replication, crc32(purpose)))",
        "workers": workers,
        "wall_s": round(wall_s, 3),
        "arrivals": sum(r.arrivals for r in results),
        "replication_wall_s": [round(r.sim_wall_s, 3) for r in results],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "dependencies": dependency_versions(),
        "scenario": scenario_dict(scenario),
    }
