"""The report of a run still in memory, so that its figures render while the run writes its tables.

``simsvc run`` used to write the results folder and then read it back for the report. Here
the report is built from what the run holds once every replication is summarised: the
small files' text (exactly what will be written) and, collected as each replication's
tables go by, the few tables the report reads, reduced (the wait histogram instead of the
contacts). The :class:`RunData` made here equals what :func:`load_run` reads from the
written folder, so the report is the same, byte for byte (``tests/test_report.py``).
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Mapping

import pandas as pd

from simsvc.config.yamlio import load_yaml
from simsvc.observe.daily import daily_csv
from simsvc.report.data import (_CONTACT_COLUMNS, GRID_COLUMNS, JOURNEY_FILES,
                                RunData, channels_from_scenario, channels_of, merge_wait_histograms,
                                wait_histogram)
from simsvc.report.waits import wait_histogram_of_rows


class ReportTables:
    """What the report reads of each replication's tables, kept as the run streams them out:
    intervals and pools (small: interval × channel or pool) and the wait histogram of the
    contacts (a few thousand rows however many contacts).

    Journey mode's report also reads one row per customer of every replication; kept here
    they would grow with the replications while the run goes on. So a run with customers
    is reported from its written folder instead (``from_folder``), as ``simsvc report``
    does, and nothing of its customers is kept.
    """

    def __init__(self) -> None:
        self.intervals: list[pd.DataFrame] = []
        self.pools: list[pd.DataFrame] = []
        self.waits: list[pd.DataFrame] = []
        self.present: set[str] = set()   # tables with rows: the files the folder will hold
        self.from_folder = False

    def add(self, tables: Mapping[str, pd.DataFrame]) -> None:
        """Keep what the report needs of one replication's tables (as they are written)."""
        for name, frame in tables.items():
            if frame is not None and not frame.empty:
                self.present.add(name)
        if _rows(tables.get("customers")):
            self.from_folder = True
            self.intervals, self.pools, self.waits = [], [], []
        if self.from_folder:
            return
        if _rows(tables.get("intervals")):
            self.intervals.append(tables["intervals"])
        if _rows(tables.get("pools")):
            self.pools.append(tables["pools"])
        contacts = tables.get("contacts")
        if _rows(contacts):
            self.waits.append(_wait_histogram_by_slices(contacts))

    def early(self, path: str | Path, scenario_text: str, intervals: pd.DataFrame, pools: pd.DataFrame,
              daily: pd.DataFrame) -> RunData:
        """The data of the figures drawn from the interval tables alone
        (:class:`simsvc.report.build.EarlyFigures`), once the last replication's ``intervals``
        and ``pools`` (extended as they will be kept, not yet :meth:`add`-ed) and the run's
        per-day table exist: what :func:`run_data` will give for them, without the summary."""
        scenario = load_yaml(scenario_text) or {}
        frames = _concat(self.intervals + [intervals] if _rows(intervals) else self.intervals)
        frames = frames if frames is not None else pd.DataFrame()
        return RunData(
            path=Path(path), summary=pd.DataFrame(), manifest={}, scenario=scenario,
            channels=channels_from_scenario(scenario), intervals=frames,
            pools=_concat(self.pools + [pools] if _rows(pools) else self.pools),
            daily=None if daily.empty else pd.read_csv(io.StringIO(daily_csv(daily))),
            grid=_grid(frames))


class LiveReport:
    """The report of a run being made, drawn from the run in memory as soon as it is
    summarised, while the last replication's tables are written; the same report
    ``simsvc report FOLDER`` writes (what ``simsvc run`` draws).

    On Linux it is drawn by a process forked before the simulation (:mod:`simsvc.report.aside`),
    which imports matplotlib on the core the simulation leaves idle; elsewhere in this
    process, its figures rendering in the background. The run calls :meth:`keeping` (its
    ``extend_tables``), :meth:`early` (its ``on_intervals``) and :meth:`start` (once
    summarised); :meth:`finish` returns None where the report must be drawn from the written
    folder instead (drawing failed, the results went to a rescue folder, no report process).
    """

    def __init__(self, out_dir: Path, svg: bool = False) -> None:
        from simsvc.report import aside

        self.out_dir, self.svg = out_dir, svg
        self.tables = ReportTables()
        self.aside = None
        if aside.available():
            try:
                self.aside = aside.ReportAside(svg)
            except OSError:   # cannot fork now (memory, process limits): draw it here
                pass
        self.started = None   # the report drawn in this process (no aside)
        self.from_folder = False

    def keeping(self, extend):
        """``extend`` (a run's ``extend_tables``), also keeping what the report reads."""
        def extend_and_keep(tables):
            tables = extend(tables)
            self.tables.add(tables)
            return tables
        return extend_and_keep

    def early(self, scenario, extend):
        """The run's ``on_intervals``: send the figures drawn from the interval tables alone to
        the report process, which draws them while the run reduces its contacts (None where
        the report is not drawn aside, or is drawn from the folder: journey mode)."""
        if self.aside is None or scenario.customers is not None:
            return None

        def intervals_ready(intervals, pools, daily) -> None:
            from simsvc.config.load import scenario_yaml

            try:
                tables = extend({"intervals": intervals, "pools": pools})   # as they will be kept
                self.aside.draw_early(self.tables.early(self.out_dir, scenario_yaml(scenario),
                                                        tables["intervals"], tables["pools"], daily))
            except Exception:  # noqa: BLE001 - the figures are drawn with the rest, as without it
                pass
        return intervals_ready

    def start(self, small_files) -> None:
        """The run is summarised: draw the report. ``small_files()`` gives the text of the run's
        small files as they will be written (called here, so that a failure there, too, only
        sends the report to the folder)."""
        if self.tables.from_folder:   # journey mode: drawn from the written folder (ReportTables)
            self.from_folder, self.tables = True, None
            return
        try:
            data = run_data(self.out_dir, small_files(), self.tables)
            if self.aside is not None:
                self.aside.draw(data)
            else:
                from simsvc.report.build import RunReport

                self.started = RunReport(data, svg=self.svg)
        except Exception:  # noqa: BLE001 - drawn again from the folder, which warns
            self.cancel()
        self.tables = None  # what was collected lives on in the report's data only

    def cancel(self) -> None:
        for report in (self.aside, self.started):
            if report is not None:
                report.cancel()
        self.aside = self.started = None

    def finish(self, path: Path, rescued: bool, announce=lambda: None) -> Path | None:
        """Wait for the report of the run written into ``path`` (``announce()`` first) and
        return where it was written; None if it must be drawn from the folder instead."""
        report = self.aside or self.started
        if self.from_folder and self.aside is not None and not rescued:
            try:
                self.aside.draw(path)   # the process it was forked for reads the folder
            except OSError:
                report = None
        if report is None or rescued:
            self.cancel()
            return None
        announce()
        try:
            return report.finish(path)
        except Exception:  # noqa: BLE001 - drawn again from the folder, which warns
            self.cancel()
            return None
        finally:
            self.aside = self.started = None


WAIT_SLICE_ROWS = 65_536


def _wait_histogram_by_slices(contacts) -> pd.DataFrame:
    """The wait histogram of one replication's contacts (a DataFrame, or a row table whose
    arrays are read directly), built a slice of rows at a time, so the columns it reads are
    never all materialised at once (the same counts: the run's histograms are merged anyway,
    as a folder's batches are)."""
    if not isinstance(contacts, pd.DataFrame):
        return wait_histogram_of_rows(contacts, WAIT_SLICE_ROWS)
    columns = [c for c in _CONTACT_COLUMNS if c in contacts]
    parts = [wait_histogram(contacts.iloc[s:s + WAIT_SLICE_ROWS][columns])
             for s in range(0, len(contacts), WAIT_SLICE_ROWS)]
    return merge_wait_histograms(parts)


def _grid(intervals: pd.DataFrame) -> pd.DataFrame:
    return intervals[[c for c in (*GRID_COLUMNS, "pending_not_due") if c in intervals.columns]]


def _rows(frame: pd.DataFrame | None) -> bool:
    return frame is not None and not frame.empty


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame | None:
    if not frames:
        return None
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def run_data(path: str | Path, files: Mapping[str, str], tables: ReportTables) -> RunData:
    """The :class:`RunData` of the folder ``path`` as it will be written: ``files`` holds the
    text of its small files by name (``summary.csv``, ``manifest.json``, ``scenario.yaml``,
    and ``daily.csv`` / ``journey.csv`` when written), ``tables`` the rest."""
    summary = pd.read_csv(io.StringIO(files["summary.csv"]))
    manifest = json.loads(files["manifest.json"]) if "manifest.json" in files else {}
    scenario = load_yaml(files["scenario.yaml"]) if "scenario.yaml" in files else {}
    if not scenario and isinstance(manifest.get("scenario"), dict):
        scenario = manifest["scenario"]
    journey = None
    if "journey.csv" in files:
        journey = pd.read_csv(io.StringIO(files["journey.csv"]))
        journey = journey.assign(segment=journey["segment"].astype(str), stage=journey["stage"].astype(str),
                                 metric=journey["metric"].astype(str))
    daily = pd.read_csv(io.StringIO(files["daily.csv"])) if "daily.csv" in files else None
    intervals = _concat(tables.intervals)
    if intervals is None:
        intervals = pd.DataFrame()  # intervals.parquet is always written, empty if need be
    present = {f"{name}.parquet" for name in tables.present} | {name for name in files}
    return RunData(
        path=Path(path), summary=summary, manifest=manifest, scenario=scenario,
        channels=channels_of(scenario, summary), intervals=intervals, pools=_concat(tables.pools),
        waits=merge_wait_histograms(tables.waits) if "contacts" in tables.present else None,
        journey=journey, customers=None,   # a run with customers is reported from its folder
        journey_files=tuple(f for f in JOURNEY_FILES if f in present), daily=daily,
        grid=_grid(intervals),
    )
