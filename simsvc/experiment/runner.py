"""Independent replications of one scenario, serial or in local processes.

``run_replication`` is a pure function of (scenario, root seed, replication
number): any executor can call it and get the same tables, which is why serial
and parallel runs agree to the last digit.
"""
from __future__ import annotations

import platform
import secrets
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterator

import pandas as pd

from simsvc import __version__
from simsvc.config.load import scenario_dict, scenario_hash
from simsvc.config.schema import Scenario
from simsvc.experiment.executors import available_cores, process_pool, stop_pool
from simsvc.experiment.heap import release_memory, steady_heap
from simsvc.model.centre import simulate
from simsvc.observe import summary as summ
from simsvc.observe import journey as jt
from simsvc.observe import tables
from simsvc.observe.daily import daily_summary
from simsvc.observe.customer import contact_columns, customer_view, issue_rows
from simsvc.observe.customer_metrics import customer_metrics
from simsvc.observe.rows import RowTable, frame_of


@dataclass(frozen=True)
class ReplicationTables:
    """One replication's tables. ``contacts`` and ``issues`` (a row per leg, per issue) are
    kept as :class:`~simsvc.observe.rows.RowTable` s (``contact_rows``, ``issue_rows``)
    whose columns are built a slice of rows at a time when written; reading the
    ``contacts`` or ``issues`` attribute builds the DataFrame (once)."""

    replication: int
    contact_rows: RowTable | pd.DataFrame
    intervals: pd.DataFrame
    pools: pd.DataFrame
    issue_rows: RowTable | pd.DataFrame
    metrics: pd.DataFrame
    arrivals: int
    sim_wall_s: float
    customers: pd.DataFrame = field(default_factory=pd.DataFrame)  # journey mode only
    journey_events: pd.DataFrame = field(default_factory=pd.DataFrame)
    journey: pd.DataFrame = field(default_factory=pd.DataFrame)  # long funnel/segment rows

    @cached_property
    def contacts(self) -> pd.DataFrame:
        return frame_of(self.contact_rows)

    @cached_property
    def issues(self) -> pd.DataFrame:
        return frame_of(self.issue_rows)

    def table(self, name: str) -> RowTable | pd.DataFrame:
        """Table ``name`` of :data:`TABLES` as it is written: row tables stay row tables."""
        rows = {"contacts": self.contact_rows, "issues": self.issue_rows}
        return rows[name] if name in rows else getattr(self, name)


def run_replication(scenario: Scenario, root_seed: int, replication: int,
                    keep_contacts: bool = True,
                    on_intervals: Callable[[pd.DataFrame, pd.DataFrame], None] | None = None
                    ) -> ReplicationTables:
    """Simulate one replication and reduce it to tables.

    ``on_intervals(intervals, pools)`` (optional) is called as soon as the interval and
    pool tables are built, before the contacts are reduced (see :func:`run`).
    """
    steady_heap()
    raw = simulate(scenario, root_seed, replication)
    release_memory()  # the event loop's buffers are gone; give their pages back first
    # Stages run in the order that keeps the fewest large arrays alive at once: the
    # interval tables (full-length temporaries, small results) before the customer's
    # view exists, and the view (arrays per attempt and per issue) let go as soon as
    # the tables that need it are built.
    intervals = tables.intervals_frame(scenario, raw)
    pools = tables.pools_frame(scenario, raw)
    release_memory()  # the tables' slice temporaries, before the metrics and the view (memory)
    if on_intervals is not None:
        on_intervals(intervals, pools)
    centre = summ.centre_rows(scenario, raw)  # the centre's metrics before the view (memory)
    release_memory()
    view = customer_view(scenario, raw)
    customer_rows = customer_metrics(scenario, view)
    issues = issue_rows(scenario, raw, view) if keep_contacts else pd.DataFrame()
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
        intervals=intervals,
        pools=pools,
        issue_rows=issues,
        metrics=summ.replication_metrics(scenario, raw, customer_rows=customer_rows, centre=centre),
        contact_rows=tables.contact_rows(scenario, raw, extra=extra) if keep_contacts else pd.DataFrame(),
        arrivals=len(raw.contacts["arrival_s"]),
        sim_wall_s=raw.wall_s,
        **journey_frames,
    )


TABLES = ("contacts", "intervals", "pools", "issues", "customers", "journey_events")


class RunResult:
    """Everything a run produced; nothing is written unless asked.

    The tables (``contacts``, ``intervals``, ``pools``, ``issues``, and in journey
    mode ``customers``, ``journey_events``) are DataFrames over all replications.
    A run given a results folder (``run(..., out=...)``) streamed them there one
    replication at a time and holds none of them: each is read from its Parquet
    file on first access (and kept). ``summary``, ``per_replication`` and
    ``journey`` (the funnel/segment table with CIs) are always in memory.
    """

    def __init__(self, scenario: Scenario, seed: int, replications: int, per_replication: pd.DataFrame,
                 summary: pd.DataFrame, manifest: dict | None = None, journey: pd.DataFrame | None = None,
                 path: Path | None = None, daily: pd.DataFrame | None = None,
                 **tables: pd.DataFrame) -> None:
        unknown = set(tables) - set(TABLES)
        if unknown:
            raise TypeError(f"unknown tables {sorted(unknown)}; expected some of {TABLES}")
        self.scenario = scenario
        self.seed = seed
        self.replications = replications
        self.per_replication = per_replication
        self.summary = summary
        self.manifest = manifest if manifest is not None else {}
        self.journey = journey if journey is not None else pd.DataFrame()
        self.path = path  # the results folder the tables were streamed to, if any
        self.rescued: tuple[Path, str] | None = None  # (intended folder, why it could not be written)
        # Per day after the warm-up × channel: KPIs with CIs (simsvc.observe.daily), written as daily.csv.
        self.daily = daily if daily is not None else pd.DataFrame()
        self._tables: dict[str, pd.DataFrame] = dict(tables)

    def table(self, name: str) -> pd.DataFrame:
        """One of :data:`TABLES`; empty when the run did not produce it."""
        if name not in TABLES:
            raise KeyError(f"no table {name!r}; expected one of {TABLES}")
        if name not in self._tables:
            file = self.path / f"{name}.parquet" if self.path is not None else None
            self._tables[name] = pd.read_parquet(file) if file is not None and file.is_file() else pd.DataFrame()
        return self._tables[name]

    contacts = property(lambda self: self.table("contacts"), doc="one row per contact leg")
    intervals = property(lambda self: self.table("intervals"), doc="replication × interval × channel")
    pools = property(lambda self: self.table("pools"), doc="replication × interval × agent pool")
    issues = property(lambda self: self.table("issues"), doc="one row per customer issue")
    customers = property(lambda self: self.table("customers"), doc="journey mode: one row per customer")
    journey_events = property(lambda self: self.table("journey_events"), doc="journey mode: customer events")

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
    """One worker per available core."""
    return available_cores()


def run(scenario: Scenario, *, replications: int | None = None, seed: int | None = None,
        workers: int = 1, keep_contacts: bool = True,
        progress: Callable[[int, int], None] | None = None, out: str | Path | None = None,
        extend_tables: Callable[[dict[str, pd.DataFrame]], dict[str, pd.DataFrame]] | None = None,
        on_summary: Callable[[RunResult], None] | None = None,
        on_intervals: Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame], None] | None = None
        ) -> RunResult:
    """Run ``replications`` independent replications and summarise them with CIs.

    ``workers`` > 1 runs replications in local processes; results are identical
    to a serial run. ``progress(done, total)`` is called as replications finish.

    Without ``out`` every table is kept in memory. With ``out`` (a results folder
    that must not exist yet, or be empty) each replication's tables are appended to
    the folder's Parquet files as soon as it finishes, in replication order, and
    then dropped, so memory stays flat in the number of replications; the folder
    appears complete, atomically, when the run ends (see :mod:`simsvc.experiment.output`).

    ``extend_tables`` (optional) receives each replication's tables, by name, and returns
    them with columns added (the ``run`` command adds Erlang's requirement this way);
    it runs in this process, before the tables are kept or written.

    ``on_summary(result)`` (optional) is called once every replication is summarised
    (summary, daily, journey and manifest set; no table readable yet) and before the last
    replication's tables are written and the folder placed: the ``run`` command starts
    drawing the report there, so the figures render while the tables are written. The
    manifest's ``wall_s`` then stops at that point (it does not count the last writing).

    ``on_intervals(intervals, pools, daily)`` (optional) is called, in a run that simulates
    in this process (one worker or one replication), as soon as the last replication's
    interval and pool tables are built (not yet extended), with the run's per-day table,
    which needs nothing else: before that replication's contacts are reduced and its
    metrics computed. The ``run`` command starts drawing the report's figures from them
    there, so they render while the rest of the run is reduced.
    """
    reps = int(replications if replications is not None else scenario.replications)
    if reps < 1:
        raise ValueError("replications must be at least 1")
    root = resolve_seed(scenario, seed)
    wall0 = time.perf_counter()
    if out is not None:
        from simsvc.experiment.output import ResultsWriter

        sink: _Sink = ResultsWriter(out)
    else:
        sink = _Memory()
    try:
        done: list[tuple[int, float]] = []   # (arrivals, simulation wall s) per replication
        metrics: list[pd.DataFrame] = []
        journey_rows: list[pd.DataFrame] = []
        intervals: list[pd.DataFrame] = []   # small (interval × channel): kept for the per-day table
        last: dict[str, pd.DataFrame] | None = None  # with on_summary: written after it
        daily: list[pd.DataFrame] = []   # the per-day table, if on_intervals computed it

        def last_intervals(last_intervals: pd.DataFrame, last_pools: pd.DataFrame) -> None:
            daily.append(daily_summary(scenario, _concat([*intervals, last_intervals])))
            on_intervals(last_intervals, last_pools, daily[0])

        early = last_intervals if on_intervals is not None else None
        for res in _replications(scenario, root, reps, workers, keep_contacts, progress, early):
            done.append((res.arrivals, res.sim_wall_s))
            metrics.append(res.metrics)
            journey_rows.append(res.journey)
            intervals.append(res.intervals)
            tables = {name: res.table(name) for name in TABLES}  # contacts, issues: row tables
            tables = extend_tables(tables) if extend_tables is not None else tables
            if on_summary is not None and res.replication == reps - 1:
                last = tables
            else:
                sink.add(tables)
            del res, tables  # the replication's tables live on only in the sink (not while the next one runs)
        per_rep = pd.concat(metrics, ignore_index=True)
        journey = _concat(journey_rows)
        result = RunResult(
            scenario=scenario, seed=root, replications=reps, per_replication=per_rep,
            summary=summ.summarise(per_rep),
            journey=summ.summarise(journey, keys=("segment", "stage", "metric")) if not journey.empty else None,
        )
        # The same frames as on_intervals's (the last replication's intervals are res.intervals).
        result.daily = daily[0] if daily else daily_summary(scenario, _concat(intervals))
        result.manifest = manifest(scenario, root, reps, workers, time.perf_counter() - wall0, done,
                                   contacts_written=keep_contacts)
        if on_summary is not None:
            on_summary(result)
        if last is not None:
            sink.add(last)
            del last
        sink.finish(result)
    except BaseException:
        sink.abort()
        raise
    return result


class _Sink:
    """Where each replication's tables go, in replication order."""

    def add(self, tables: dict[str, pd.DataFrame]) -> None: ...
    def finish(self, result: RunResult) -> None: ...
    def abort(self) -> None: ...


class _Memory(_Sink):
    """Keeps every table in memory (a run without a results folder)."""

    def __init__(self) -> None:
        self.frames: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}

    def add(self, tables: dict[str, pd.DataFrame]) -> None:
        for name, frame in tables.items():
            self.frames[name].append(frame_of(frame))

    def finish(self, result: RunResult) -> None:
        result._tables = {name: _concat(frames) for name, frames in self.frames.items()}
        self.frames = {}

    def abort(self) -> None:
        self.frames = {}


def _replications(scenario: Scenario, root: int, reps: int, workers: int, keep_contacts: bool,
                  progress: Callable[[int, int], None] | None,
                  last_intervals: Callable[[pd.DataFrame, pd.DataFrame], None] | None = None,
                  ) -> Iterator[ReplicationTables]:
    """Each replication's tables in replication order, from this process or local workers.

    With workers, at most ``2 × workers`` replications are submitted or waiting to be
    handed on at any time, so finished tables do not pile up in memory.
    ``last_intervals`` is the last replication's ``on_intervals`` (:func:`run_replication`),
    called only when replications run in this process.
    """
    if workers <= 1 or reps == 1:
        for r in range(reps):
            yield run_replication(scenario, root, r, keep_contacts, last_intervals if r == reps - 1 else None)
            if progress:
                progress(r + 1, reps)
        return
    n_workers = min(workers, reps)
    pool = process_pool(n_workers)  # workers end if this process dies
    try:
        running: set[Future] = set()
        finished: dict[int, ReplicationTables] = {}
        submitted = next_out = completed = 0
        while next_out < reps:
            while submitted < reps and len(running) + len(finished) < 2 * n_workers:
                running.add(pool.submit(run_replication, scenario, root, submitted, keep_contacts))
                submitted += 1
            ready, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in ready:
                res = fut.result()
                finished[res.replication] = res
                completed += 1
                if progress:
                    progress(completed, reps)
            while next_out in finished:
                yield finished.pop(next_out)
                next_out += 1
    except BaseException:
        # Ctrl-C, an error, or the consumer gave up (GeneratorExit): do not wait for
        # replications still running; stop the workers now.
        stop_pool(pool)
        raise
    pool.shutdown(wait=True)


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
             results: list[tuple[int, float]], contacts_written: bool = True) -> dict:
    """What is needed to reproduce a run: resolved scenario, hash, seeds, versions, timings;
    ``contacts_written`` is False when the run kept no contact tables (``--no-contacts``)."""
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
        "arrivals": sum(arrivals for arrivals, _ in results),
        "replication_wall_s": [round(wall, 3) for _, wall in results],
        "contacts_written": contacts_written,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "dependencies": dependency_versions(),
        "scenario": scenario_dict(scenario),
    }
