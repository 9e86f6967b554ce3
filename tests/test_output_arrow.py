"""Parquet written straight from a row table's arrays (issue 13, the whole run's time).

``TableWriter`` builds the Arrow columns of a :class:`~simsvc.observe.rows.RowTable` from
its arrays (:meth:`RowTable.arrow`) instead of making a DataFrame per row group and
converting it with ``pa.Table.from_pandas``. The file must be the very same: every byte of
it, for every kind of column (categorical with missing codes, nullable integers and
booleans, NaN floats, journey mode's customer and stage).
"""
from __future__ import annotations

import pandas as pd
import pytest

import test_journey as tj
from test_tables import SCENARIO
from simsvc.config.load import validate
from simsvc.experiment.output import TableWriter
from simsvc.model.centre import simulate
from simsvc.observe import customer, tables


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
            for source, file in ((rows, tmp_path / f"{name}-rows.parquet"),
                                 (frame, tmp_path / f"{name}-frame.parquet")):
                writer = TableWriter(file, rows_per_group=97)
                try:
                    writer.append(source)
                    writer.append(source)
                finally:
                    writer.close()
            assert (tmp_path / f"{name}-rows.parquet").read_bytes() == (tmp_path / f"{name}-frame.parquet").read_bytes()
            back = pd.read_parquet(tmp_path / f"{name}-rows.parquet")
            assert len(back) == 2 * len(frame) > 50 and list(back.columns) == list(frame.columns)
