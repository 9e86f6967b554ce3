"""Writing a run's results folder atomically.

``run(..., out=folder)`` streams into a :class:`ResultsWriter` (one replication's
tables at a time); :func:`write_results` writes a run held in memory. Everything is written into a hidden temporary folder beside the target and
renamed into place at the end, so a results folder either exists complete or
not at all (an interrupted or failed run leaves nothing half-written).
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from simsvc.config.load import scenario_yaml
from simsvc.experiment.heap import release_memory
from simsvc.experiment.runner import TABLES, RunResult
from simsvc.experiment.safepath import empty_or_new, place, temporary_beside
from simsvc.observe.daily import daily_csv
from simsvc.observe.rows import ContactRows, IssueRows, RowTable

FILES = ("contacts.parquet", "intervals.parquet", "pools.parquet", "issues.parquet", "summary.csv",
         "replications.csv", "manifest.json", "scenario.yaml")


def _json_default(value: object) -> object:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return str(value)


def write_parquet(frame, path: Path, rows_per_group: int = 100_000) -> None:
    """Write ``frame`` as one Parquet file (see :class:`TableWriter`)."""
    writer = TableWriter(path, rows_per_group)
    try:
        writer.append(frame, allow_empty=True)
    finally:
        writer.close()


def _use_system_allocator() -> None:
    """Let Arrow allocate with the C library's malloc rather than its bundled mimalloc.

    mimalloc keeps the pages of the row groups already written (even after
    ``release_unused``), which made writing the peak of a whole run: about +40 MB for
    300k contacts, against +5 MB with malloc, whose large blocks are mapped and
    returned one by one (:func:`simsvc.experiment.heap.steady_heap`). The speed is the
    same. Process-wide, like ``steady_heap``; it changes where Arrow's buffers come
    from, not what is written.
    """
    import pyarrow as pa

    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())


# The columns of the large tables (a row per contact leg, per issue) whose row groups'
# minimum and maximum let a reader skip groups: they rise with the rows (replication, ids,
# arrival time). Elsewhere (waits, handling times, scores, flags) every group spans nearly
# the whole range, and computing their statistics was a fifth of the writing time (issue 13).
SORTED_COLUMNS = ("replication", "contact_id", "issue_id", "customer_id", "arrival_s")
LARGE_TABLES = ("contacts", "issues")   # written with statistics for SORTED_COLUMNS only
# Their columns that never hold a missing value are required Parquet fields: a nullable field
# has a definition level encoded for every value, about 290M machine instructions (callgrind)
# per million contacts for nothing. A missing value in one would be a bug, and the writer
# raises rather than write it. The same in a streamed run and in one written from memory.
REQUIRED_COLUMNS = {"contacts": ContactRows.REQUIRED, "issues": IssueRows.REQUIRED}


class TableWriter:
    """One Parquet file written a frame at a time (each frame: one replication's rows).

    The schema is fixed by the first frame; every later frame must have the same
    columns and types (a run's replications do: categories come from the scenario).
    Rows go out in groups of ``rows_per_group``, so only one group at a time is
    converted to Arrow (converting a million contacts at once would double their memory);
    a frame may be a :class:`~simsvc.observe.rows.RowTable`, whose columns are then built
    for one group of rows at a time (the whole table never exists as a DataFrame).
    """

    def __init__(self, path: Path, rows_per_group: int = 100_000, sorted_statistics: bool = False,
                 required: frozenset[str] = frozenset()) -> None:
        self.path = path
        self.rows_per_group = rows_per_group
        self.sorted_statistics = sorted_statistics   # row-group statistics for SORTED_COLUMNS only
        self.required = required   # columns written as required (never null) fields
        self._writer = None
        self._schema = None

    def append(self, frame, allow_empty: bool = False) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = frame.frame if isinstance(frame, RowTable) else lambda start, stop: frame.iloc[start:stop]
        if self._writer is None:
            _use_system_allocator()
            schema = pa.Schema.from_pandas(rows(0, 0), preserve_index=False)
            self._schema = pa.schema([f.with_nullable(False) if f.name in self.required else f for f in schema],
                                     metadata=schema.metadata)
            # Dictionary-encode the categorical columns only: trying it on every float
            # column (pyarrow's default) triples the writing time and the file is larger.
            categorical = [f.name for f in self._schema if pa.types.is_dictionary(f.type)]
            statistics = True
            if self.sorted_statistics:   # a row per contact or issue: statistics where they pay
                statistics = [name for name in frame.columns if name in SORTED_COLUMNS] or False
            self._writer = pq.ParquetWriter(self.path, self._schema, use_dictionary=categorical or False,
                                            write_statistics=statistics)
        for start in range(0, max(len(frame), 1 if allow_empty else 0), self.rows_per_group):
            if isinstance(frame, RowTable):   # its Arrow columns built straight from its arrays
                chunk = frame.arrow(start, start + self.rows_per_group, self._schema)
            else:
                chunk = pa.Table.from_pandas(rows(start, start + self.rows_per_group), schema=self._schema,
                                             preserve_index=False)
            self._writer.write_table(chunk)
            del chunk
        pa.default_memory_pool().release_unused()  # Arrow's allocator keeps freed chunks otherwise

    @property
    def started(self) -> bool:
        return self._writer is not None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class ResultsWriter:
    """A results folder written while the run goes: each replication's tables are
    appended to the Parquet files as it finishes, then summary, manifest and scenario.

    Everything goes into a hidden temporary folder beside the target, renamed into
    place by :meth:`finish`; :meth:`abort` removes it. The folder appears complete or
    not at all.
    """

    def __init__(self, out_dir: str | Path) -> None:
        self.out = empty_or_new(out_dir)
        self.tmp = temporary_beside(self.out)
        self.tables: dict[str, TableWriter] = {}

    def add(self, tables: dict) -> None:
        """Append one replication's tables (call in replication order)."""
        for name, frame in tables.items():
            if frame.empty:
                continue  # nothing to add (or a table this run does not produce, e.g. with --no-contacts)
            if name not in self.tables:
                self.tables[name] = TableWriter(self.tmp / f"{name}.parquet", sorted_statistics=name in LARGE_TABLES,
                                                required=REQUIRED_COLUMNS.get(name, frozenset()))
            self.tables[name].append(frame)
        release_memory()

    def finish(self, result: RunResult) -> Path:
        """Write summary, manifest and scenario, close the tables and move the folder into place.

        If that fails (disk full, folder gone read-only) after the simulation, what was
        computed is not lost: it is copied to ``$TMPDIR/simsvc-rescue/<name>/<time>`` and
        ``result.rescued`` says why; only if that fails too is the error raised.
        """
        try:
            self._close_tables()
            self._write_small_files(self.tmp, result)
            place(self.tmp, self.out)
        except OSError as first:
            rescue = self._rescue(result)
            if rescue is None:
                raise
            result.path = rescue
            result.rescued = (self.out, first.strerror or str(first))
            return rescue
        result.path = self.out
        return self.out

    def _close_tables(self) -> None:
        for writer in self.tables.values():
            writer.close()
        if not (self.tmp / "intervals.parquet").exists():  # always present, as the output contract says
            write_parquet(pd.DataFrame(), self.tmp / "intervals.parquet")

    @staticmethod
    def _write_small_files(folder: Path, result: RunResult) -> None:
        for name, text in small_files(result).items():
            (folder / name).write_text(text, encoding="utf-8")

    def _rescue(self, result: RunResult) -> Path | None:
        """Copy what was written so far, plus the small files, out of harm's way."""
        from simsvc.config.names import folder_name
        from simsvc.experiment.safepath import timestamped

        rescue = timestamped(Path(tempfile.gettempdir()) / "simsvc-rescue" / folder_name(result.scenario.name))
        try:
            rescue.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(self.tmp, rescue)  # the tables; the small files are (re)written next
            self._write_small_files(rescue, result)
        except OSError:
            shutil.rmtree(rescue, ignore_errors=True)
            return None
        shutil.rmtree(self.tmp, ignore_errors=True)
        return rescue

    def abort(self) -> None:
        for writer in self.tables.values():
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - removing the folder anyway
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)


def small_files(result: RunResult) -> dict[str, str]:
    """The text of a results folder's small files by name: summary, per-day and journey tables
    (when the run has them), replications, scenario and manifest. The report of a run in
    memory reads these very texts (``simsvc.report.live``), so it matches the folder's."""
    files = {"summary.csv": result.summary.to_csv(index=False, float_format="%.6g")}
    if not result.journey.empty:
        files["journey.csv"] = result.journey.to_csv(index=False, float_format="%.6g")
    if not result.daily.empty:
        files["daily.csv"] = daily_csv(result.daily)
    files["replications.csv"] = result.per_replication.to_csv(index=False, float_format="%.6g")
    files["scenario.yaml"] = scenario_yaml(result.scenario)
    files["manifest.json"] = json.dumps(result.manifest, indent=2, default=_json_default)
    return files


def write_results(result: RunResult, out_dir: str | Path) -> Path:
    """Write the results folder ``out_dir`` (which must not exist yet, or be empty).

    A result already streamed to a folder (``run(..., out=...)``) is copied from it.
    """
    out = Path(out_dir)
    if result.path is not None and out.resolve() == result.path.resolve():
        return out
    writer = ResultsWriter(out)
    try:
        if result.path is not None:
            for name in TABLES:
                file = result.path / f"{name}.parquet"
                if file.is_file():
                    shutil.copyfile(file, writer.tmp / file.name)
        else:
            release_memory()  # temporaries of the run are gone; start writing from a lean heap
            writer.add({name: result.table(name) for name in TABLES})
        path = result.path
        writer.finish(result)
        result.path = path  # the result still reads from where it was streamed (or memory)
    except BaseException:
        writer.abort()
        raise
    return out
