"""Tables with one row per contact leg or per issue, built a slice of rows at a time.

A million-contact replication's ``contacts`` table as one DataFrame adds its derived
columns (replication, contact id, answer time, warm-up flag, masks of the nullable
columns) to the record it is made from, and converting it to Arrow for Parquet adds
a copy of each group of rows on top (issue 13: peak memory per million contacts).
A :class:`RowTable` holds only the arrays the columns are read from (the record's
columns and the customer view's, shared, not copied) and builds the columns of any
range of rows on demand: the results folder is written a row group at a time
(:class:`simsvc.experiment.output.TableWriter`), each group's columns made, written
and let go; :meth:`RowTable.frame` gives the whole DataFrame, the same one as
building every column at once.

Each column is first built as plain arrays (:meth:`RowTable.values`: a numpy array, or
:class:`Coded` codes with their labels, or :class:`Masked` values with a mask of missing
entries); :meth:`RowTable.column` makes the pandas column of them (a ``Categorical``, a
nullable array) and :meth:`RowTable.arrow` the Arrow column, straight from the arrays, so
writing Parquet builds no pandas object at all (issue 13: the whole run's time).

Row tables are picklable (plain arrays and names), so they travel from a worker
process as the DataFrames did.
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd

from simsvc.observe.records import ANSWERED, ORIGINS, OUTCOMES


class Coded(NamedTuple):
    """A categorical column as plain arrays: ``codes`` index ``labels`` (-1 = missing)."""
    codes: np.ndarray
    labels: tuple[str, ...]


class Masked(NamedTuple):
    """A nullable integer or boolean column: ``values``, and ``missing`` True where there is none."""
    values: np.ndarray
    missing: np.ndarray


def pandas_column(values: object) -> object:
    """The pandas column of :meth:`RowTable.values`' result (arrays pass as they are)."""
    if isinstance(values, Coded):
        return pd.Categorical.from_codes(values.codes, dtype=_categorical_dtype(values.labels))
    if isinstance(values, Masked):
        if values.values.dtype == bool:
            return pd.arrays.BooleanArray(values.values, values.missing)
        return pd.arrays.IntegerArray(values.values, values.missing)
    return values


@lru_cache(maxsize=None)
def _categorical_dtype(labels: tuple[str, ...]) -> pd.CategoricalDtype:
    """One dtype per set of labels: building it validates the labels (an Index each time),
    which cost more than the codes' column when done per group of rows."""
    return pd.CategoricalDtype(list(labels))


def arrow_column(values: object, type_):
    """The Arrow array of :meth:`RowTable.values`' result, of Arrow type ``type_`` (the type
    ``pa.Schema.from_pandas`` gives the pandas column), converted as ``pa.Table.from_pandas``
    converts it: NaN in a float column is a null, a code -1 or a masked entry is a null."""
    import pyarrow as pa

    if isinstance(values, Coded):
        missing = values.codes < 0
        codes = pa.array(values.codes, type=type_.index_type, mask=missing if missing.any() else None)
        return pa.DictionaryArray.from_arrays(codes, _dictionary(values.labels, type_.value_type))
    if isinstance(values, Masked):
        return pa.array(values.values, type=type_, mask=values.missing)
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        # NaN is null, found by numpy in one pass and handed over as a mask (none: the array
        # is taken as it is). Arrow's own NaN search (``from_pandas=True``) costs about 250
        # machine instructions more per contact over the contacts' float columns (callgrind).
        missing = np.isnan(values)
        return pa.array(values, type=type_, mask=missing if missing.any() else None)
    return pa.array(values, type=type_, from_pandas=True)


@lru_cache(maxsize=None)
def _dictionary(labels: tuple[str, ...], value_type):
    """One Arrow dictionary per set of labels and value type (made once, not per group of rows)."""
    import pyarrow as pa

    return pa.array(list(labels), type=value_type)


class RowTable:
    """Columns computed on demand for a range of rows; the part of the DataFrame API the
    writers and the report use (``len``, ``empty``, ``columns``, ``in``, ``[[names]]``)."""

    # Columns that never hold a missing value, by how the table is built: written as required
    # Parquet fields (see simsvc.experiment.output.TableWriter).
    REQUIRED: frozenset[str] = frozenset()

    def __init__(self, n_rows: int, names: list[str]) -> None:
        self.n_rows = n_rows
        self.names = list(names)

    def values(self, name: str, rows: slice) -> np.ndarray | Coded | Masked:
        """The values of column ``name`` for ``rows`` as plain arrays (see the module's docstring)."""
        raise NotImplementedError

    def column(self, name: str, rows: slice) -> object:
        """The pandas column ``name`` for ``rows`` (an array or a pandas extension array)."""
        return pandas_column(self.values(name, rows))

    def arrow(self, start: int, stop: int, schema):
        """Rows ``start:stop`` as an Arrow table of ``schema`` (the pandas schema of
        :meth:`frame`, metadata included): the same table as ``pa.Table.from_pandas`` of
        ``frame(start, stop)``, built without pandas."""
        import pyarrow as pa

        rows = slice(start, min(stop, self.n_rows))
        return pa.Table.from_arrays([arrow_column(self.values(field.name, rows), field.type) for field in schema],
                                    schema=schema)

    def frame(self, start: int = 0, stop: int | None = None, columns: list[str] | None = None) -> pd.DataFrame:
        """Rows ``start:stop`` (all by default) of the columns ``columns`` (all by default)."""
        stop = self.n_rows if stop is None else min(stop, self.n_rows)
        rows = slice(start, stop)
        names = self.names if columns is None else list(columns)
        missing = [n for n in names if n not in self.names]
        if missing:
            raise KeyError(f"no columns {missing}")
        return pd.DataFrame({name: self.column(name, rows) for name in names}, copy=False)

    def __len__(self) -> int:
        return self.n_rows

    @property
    def empty(self) -> bool:
        return self.n_rows == 0 or not self.names

    @property
    def columns(self) -> list[str]:
        return list(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __getitem__(self, columns: list[str]) -> pd.DataFrame:
        if not isinstance(columns, list):
            raise TypeError("select columns with a list of names (table[['a', 'b']])")
        return self.frame(columns=columns)


def frame_of(table: RowTable | pd.DataFrame) -> pd.DataFrame:
    """``table`` as a DataFrame (a DataFrame is returned as it is)."""
    return table.frame() if isinstance(table, RowTable) else table


class ContactRows(RowTable):
    """``contacts``: one row per contact leg (see :func:`simsvc.observe.tables.contacts_frame`).

    ``record`` is the run's contact record, ``extra`` the customer's experience columns
    (:func:`simsvc.observe.customer.contact_columns`), ``journey`` (journey mode) the
    customer id and stage per issue id.
    """

    FIXED = ["replication", "contact_id", "issue_id", "attempt", "leg", "origin", "channel", "reason",
             "arrival_s", "outcome", "wait_s", "answered_s", "pool", "agent", "handle_s", "wrap_s",
             "resolved", "transferred", "blocked", "closed", "patience_s", "in_warmup"]
    # Every leg has these (codes of origin, channel, reason and outcome are never -1; the
    # record's integer and flag columns have no missing value); the rest may be missing.
    REQUIRED = frozenset({"replication", "contact_id", "issue_id", "attempt", "leg", "origin", "channel",
                          "reason", "arrival_s", "outcome", "transferred", "blocked", "closed", "in_warmup"})
    _AS_RECORDED = {"issue_id": "issue", "attempt": "attempt", "leg": "leg", "arrival_s": "arrival_s",
                    "wait_s": "wait_s", "handle_s": "handle_s", "wrap_s": "wrap_s",
                    "transferred": "transferred", "blocked": "blocked", "closed": "closed",
                    "patience_s": "patience_s"}

    def __init__(self, record: dict[str, np.ndarray], replication: int, categories: dict[str, list[str]],
                 warmup: float, extra: dict[str, object],
                 journey: tuple[np.ndarray, np.ndarray, list[str]] | None = None) -> None:
        names = self.FIXED + list(extra) + (["customer_id", "stage"] if journey is not None else [])
        super().__init__(len(record["arrival_s"]), names)
        self.record = record
        self.replication = replication
        self.labels = {name: tuple(labels) for name, labels in categories.items()}  # channel, reason, pool by code
        self.warmup = warmup
        self.extra = extra
        self.journey = journey

    def values(self, name: str, rows: slice) -> np.ndarray | Coded | Masked:
        c = self.record
        if name in self._AS_RECORDED:
            return c[self._AS_RECORDED[name]][rows]
        if name in self.extra:
            return self.extra[name][rows]   # an array, or a pandas nullable array (as it is)
        if name == "replication":
            return np.full(len(c["arrival_s"][rows]), self.replication, dtype=np.int32)
        if name == "contact_id":
            return np.arange(rows.start, rows.start + len(c["arrival_s"][rows]), dtype=np.int64)
        if name == "origin":
            return Coded(c["origin"][rows], ORIGINS)
        if name == "outcome":
            return Coded(c["outcome"][rows], OUTCOMES)
        if name in ("channel", "reason", "pool"):
            return Coded(c[name][rows], self.labels[name])
        if name == "answered_s":
            answered_s = c["arrival_s"][rows] + c["wait_s"][rows]  # NaN where not answered
            answered_s[c["outcome"][rows] != ANSWERED] = np.nan
            return answered_s
        if name == "agent":
            agent = c["agent"][rows]
            return Masked(agent.astype(np.int32, copy=False), agent < 0)
        if name == "resolved":  # nullable: values + mask, no Python object per row
            resolved = c["resolved"][rows]
            return Masked(resolved == 1, resolved < 0)
        if name == "in_warmup":
            return c["arrival_s"][rows] < self.warmup
        if self.journey is not None and name in ("customer_id", "stage"):
            return _journey_column(self.journey, name, c["issue"][rows])
        raise KeyError(name)


class IssueRows(RowTable):
    """``issues``: one row per customer issue (see :func:`simsvc.observe.customer.issues_frame`).

    ``columns`` maps each stored column to its array (the customer view's, shared);
    ``kind`` is the issue kind's codes and labels, ``journey`` (journey mode) the
    customer id and stage per issue id.
    """

    NAMES = ["replication", "issue_id", "channel", "reason", "arrival_s", "attempts", "resolved",
             "resolved_first_contact", "transfers", "escalations", "wait_ratio", "finished", "ces",
             "in_warmup", "kind"]
    REQUIRED = frozenset({"replication", "issue_id", "channel", "reason", "arrival_s", "attempts", "resolved",
                          "resolved_first_contact", "transfers", "escalations", "finished", "in_warmup"})
    _STORED = ("issue_id", "arrival_s", "attempts", "resolved", "resolved_first_contact", "transfers",
               "escalations", "wait_ratio", "finished")

    def __init__(self, columns: dict[str, np.ndarray], replication: int, categories: dict[str, list[str]],
                 warmup: float, journey: tuple[np.ndarray, np.ndarray, list[str]] | None = None) -> None:
        names = self.NAMES + (["customer_id", "stage"] if journey is not None else [])
        super().__init__(len(columns["issue_id"]), names)
        self.data = columns
        self.replication = replication
        self.labels = {name: tuple(labels) for name, labels in categories.items()}  # channel, reason, kind by code
        self.warmup = warmup
        self.journey = journey

    def values(self, name: str, rows: slice) -> np.ndarray | Coded | Masked:
        d = self.data
        if name in self._STORED:
            return d[name][rows]
        if name == "replication":
            return np.full(len(d["issue_id"][rows]), self.replication, dtype=np.int32)
        if name in ("channel", "reason", "kind"):
            return Coded(d[name][rows], self.labels[name])
        if name == "ces":
            return Masked(d["ces"][rows], ~d["ces_responded"][rows])
        if name == "in_warmup":
            return d["arrival_s"][rows] < self.warmup
        if self.journey is not None and name in ("customer_id", "stage"):
            return _journey_column(self.journey, name, d["issue_id"][rows])
        raise KeyError(name)


def _journey_column(journey: tuple[np.ndarray, np.ndarray, list[str]], name: str, issue: np.ndarray
                    ) -> Coded | Masked:
    """Journey mode's ``customer_id`` (nullable: -1 = no customer) or ``stage`` of each row's issue."""
    customer, stage, stages = journey
    if name == "customer_id":
        cust = customer[issue]
        return Masked(np.maximum(cust, 0), cust < 0)
    return Coded(stage[issue], tuple(stages))
