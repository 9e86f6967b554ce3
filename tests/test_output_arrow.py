"""Parquet written straight from a row table's arrays (issue 13, the whole run's time).

``TableWriter`` builds the Arrow columns of a :class:`~simsvc.observe.rows.RowTable` from
its arrays (:meth:`RowTable.arrow`) instead of making a DataFrame per row group and
converting it with ``pa.Table.from_pandas``. The file must be the very same: every byte of
it, for every kind of column (categorical with missing codes, nullable integers and
booleans, NaN floats, journey mode's customer and stage).
"""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import test_journey as tj
from test_tables import SCENARIO
from simsvc.config.load import validate
from simsvc.experiment.output import SORTED_COLUMNS, TableWriter
from simsvc.model.centre import simulate
from simsvc.observe import customer, tables


def _sorted(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c in SORTED_COLUMNS]


def _row_tables(scenario, replication):
    raw = simulate(scenario, scenario.seed, replication)
    view = customer.customer_view(scenario, raw)
    extra = customer.contact_columns(view, raw.contacts["issue"].size)
    return {"contacts": tables.contact_rows(scenario, raw, extra), "issues": customer.issue_rows(scenario, raw, view)}


@pytest.mark.parametrize("which", ["contract", "journey"])
def test_row_tables_written_from_arrays_are_the_bytes_written_from_frames(which, tmp_path):
    scenario = (validate(SCENARIO) if which == "contract" else
                validate(dict(tj.journey(tj.busy_day(initial=300), horizon="1d"), seed=3)))
    for replication in (0, 1):   # two appends: the schema of the first is kept
        for name, rows in _row_tables(scenario, replication).items():
            frame = rows.frame()
            if name == "contacts":   # the kinds of column this test is about are all there
                assert frame["pool"].isna().any() and frame["agent"].isna().any()
                assert str(frame["resolved"].dtype) == "boolean" and frame["answered_s"].isna().any()
                assert frame["csat"].isna().any() and frame["experience"].isna().any()
                if which == "journey":
                    assert frame["customer_id"].notna().any() and frame["stage"].notna().any()
            ours, reference = tmp_path / f"{name}-rows.parquet", tmp_path / f"{name}-frame.parquet"
            writer = TableWriter(ours, rows_per_group=97, sorted_statistics=True)
            try:
                writer.append(rows)
                writer.append(rows)
            finally:
                writer.close()
            # What the writer did before: pyarrow's conversion of each group's DataFrame.
            schema = pa.Schema.from_pandas(frame.iloc[:0], preserve_index=False)
            with pq.ParquetWriter(reference, schema, write_statistics=_sorted(frame),
                                  use_dictionary=[f.name for f in schema if pa.types.is_dictionary(f.type)]) as ref:
                for _ in range(2):
                    for start in range(0, len(frame), 97):
                        ref.write_table(pa.Table.from_pandas(frame.iloc[start:start + 97], schema=schema,
                                                             preserve_index=False))
            assert ours.read_bytes() == reference.read_bytes()
            stats = pq.ParquetFile(ours).metadata.row_group(0)
            assert {stats.column(i).path_in_schema for i in range(stats.num_columns)
                    if stats.column(i).is_stats_set} == set(_sorted(frame))
            back = pd.read_parquet(tmp_path / f"{name}-rows.parquet")
            assert len(back) == 2 * len(frame) > 50 and list(back.columns) == list(frame.columns)


def test_streamed_and_in_memory_runs_write_the_same_contacts_and_issues_files(tmp_path):
    """``run(..., out=folder)`` writes row tables (a row group or more per replication),
    ``write_results`` of a run held in memory the concatenated DataFrames: the same values,
    and statistics for the rising columns only in both."""
    from simsvc.experiment.output import write_results
    from simsvc.experiment.runner import run

    scenario = validate(dict(SCENARIO, horizon="4h", warmup="1h"))
    run(scenario, replications=2, out=tmp_path / "streamed")
    write_results(run(scenario, replications=2), tmp_path / "memory")
    for name in ("contacts", "issues"):
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "streamed" / f"{name}.parquet"),
                                      pd.read_parquet(tmp_path / "memory" / f"{name}.parquet"), check_exact=True)
        for how in ("streamed", "memory"):
            meta = pq.ParquetFile(tmp_path / how / f"{name}.parquet").metadata.row_group(0)
            with_stats = {meta.column(i).path_in_schema for i in range(meta.num_columns)
                          if meta.column(i).is_stats_set}
            assert with_stats == {"replication", "issue_id", "arrival_s"} | ({"contact_id"} if name == "contacts" else set())


@pytest.mark.parametrize("which", ["contract", "journey"])
def test_columns_never_missing_are_required_fields_with_the_same_values(which, tmp_path):
    """The contacts' and issues' columns that cannot be missing (``RowTable.REQUIRED``) are written
    as required fields (no definition level per value) in a results folder; the values read back
    are those written before (every column nullable), the other columns stay nullable."""
    from simsvc.experiment.output import REQUIRED_COLUMNS

    scenario = (validate(SCENARIO) if which == "contract" else
                validate(dict(tj.journey(tj.busy_day(initial=300), horizon="1d"), seed=3)))
    for name, table in _row_tables(scenario, 0).items():
        file, plain = tmp_path / f"{name}.parquet", tmp_path / f"{name}-nullable.parquet"
        for path, required in ((file, REQUIRED_COLUMNS[name]), (plain, frozenset())):
            writer = TableWriter(path, rows_per_group=97, required=required)
            writer.append(table)
            writer.close()
        schema = pq.read_schema(file)
        required = {f.name for f in schema if not f.nullable}
        assert required == set(REQUIRED_COLUMNS[name]) == set(table.REQUIRED) and len(required) >= 12
        assert required < set(schema.names)   # the columns that may be missing stay nullable
        frame = table.frame()
        assert not frame[sorted(required)].isna().any().any()
        pd.testing.assert_frame_equal(pd.read_parquet(file), pd.read_parquet(plain))   # what was written before


def test_a_missing_value_in_a_required_column_is_an_error_not_a_silent_write(tmp_path):
    frame = pd.DataFrame({"arrival_s": [1.0, float("nan")], "wait_s": [float("nan"), 2.0]})
    writer = TableWriter(tmp_path / "x.parquet", required=frozenset({"arrival_s"}))
    with pytest.raises(ValueError, match="non-nullable"):   # pa.ArrowInvalid is a ValueError too
        writer.append(frame)
    writer.close()
    writer = TableWriter(tmp_path / "y.parquet", required=frozenset({"arrival_s"}))
    writer.append(frame.iloc[:1])
    writer.close()
    assert [f.nullable for f in pq.read_schema(tmp_path / "y.parquet")] == [False, True]
