"""Each attempt's experience, satisfaction and churn risk, computed for a range of attempts when read.

A forecast-mode attempt's scores are element-by-element formulas
(:mod:`simsvc.domain.experience`) of a few per-attempt values the customer view keeps
anyway (wait ratio, resolved, attempt number, transfers, escalations) and of the record
(the outcome of the attempt's last leg). Held as whole columns they were 12 bytes per
attempt through the writing of a run (issue 13, memory); :class:`AttemptScores` keeps
the inputs instead and computes the three scores for the rows asked for, the same
numbers as over all attempts at once (each value depends only on its own attempt's
inputs). :class:`ScoreColumn` is one of the three as the column readers use it: sliced
a range of rows at a time (the summary's reducers, the contacts table's row groups),
or whole through ``np.asarray``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from simsvc.domain import experience as xp
from simsvc.observe.records import ABANDONED, LOST, WAITING, ComputedColumn

NAMES = ("experience", "satisfaction", "churn_risk")
SLICE = 1 << 17  # attempts (or legs) computed at a time when a whole column is read


class WaitRatios(ComputedColumn):
    """Each leg's effective wait (up to the horizon for a leg still waiting) in multiples of its
    channel's expected wait, float32, computed for the rows read: the wait ratio of the
    attempts where every leg is its own attempt, in record order (the customer view's
    arithmetic, on the same values in the same order)."""

    dtype = np.dtype(np.float32)
    SLICE = SLICE

    def __init__(self, record: dict[str, np.ndarray], horizon: float, expected: np.ndarray) -> None:
        self.record, self.horizon, self.expected = record, horizon, expected
        self.n = len(record["wait_s"])

    def rows(self, a0: int, a1: int) -> np.ndarray:
        return wait_ratios(self.record, slice(a0, a1), self.horizon, self.expected)


def wait_ratios(c: dict[str, np.ndarray], rows, horizon: float, expected: np.ndarray) -> np.ndarray:
    """The legs ``rows``' effective waits (:func:`simsvc.observe.tables.effective_wait`) over
    their channel's expected wait, in float32 (ample for a score)."""
    waiting = c["outcome"][rows] == WAITING
    wait = np.array(c["wait_s"][rows], dtype=np.float64)  # a copy: changed below
    wait[waiting] = horizon - c["arrival_s"][rows][waiting]
    ratio = np.nan_to_num(wait).astype(np.float32)
    if expected.size == 1:   # one channel: its expected wait, without a gather by channel code
        ratio /= expected[0]
    else:
        ratio /= expected[c["channel"][rows]]
    return ratio


class AttemptScores:
    """Scores of ``n`` attempts from their inputs; ``last`` maps attempts to the record row of
    their last leg (None: attempt k is row k). ``finished`` marks the attempts that have a
    score in the tables (the others read as NaN)."""

    def __init__(self, spec, outcome: np.ndarray, last: np.ndarray | None, wait_ratio: np.ndarray,
                 resolved: np.ndarray, attempt: np.ndarray, escalated: np.ndarray, transferred: np.ndarray,
                 late_public: np.ndarray, finished: np.ndarray) -> None:
        self.spec = spec
        self.outcome, self.last = outcome, last
        self.wait_ratio, self.resolved, self.attempt = wait_ratio, resolved, attempt
        self.escalated, self.transferred, self.late_public = escalated, transferred, late_public
        self.finished = finished
        self.n = wait_ratio.size
        self._cached: tuple[tuple[int, int], tuple[np.ndarray, ...]] | None = None
        self.dtypes = tuple(x.dtype for x in self.part(0, 0))

    def part(self, a0: int, a1: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(experience, satisfaction, churn risk) of attempts ``a0`` to ``a1``, finished or not
        (the survey answers are drawn from every attempt's satisfaction). The last range read is
        kept, so the three columns of one range cost one computation; treat as read-only."""
        if self._cached is not None and self._cached[0] == (a0, a1):
            return self._cached[1]
        sl = slice(a0, a1)
        outcome = self.outcome[sl] if self.last is None else self.outcome[self.last[sl]]
        s = xp.experience_score(self.spec.weights, self.wait_ratio[sl], np.isin(outcome, (ABANDONED, LOST)),
                                self.resolved[sl], self.attempt[sl], self.escalated[sl] > 0,
                                self.transferred[sl] > 0, self.late_public[sl])
        sat = xp.update_satisfaction(self.spec.prior_satisfaction, s, self.spec.anchoring)
        risk = xp.churn_risk(self.spec.churn, sat)
        self._cached = ((a0, a1), (s, sat, risk))
        return s, sat, risk

    def column(self, name: str) -> ScoreColumn:
        return ScoreColumn(self, NAMES.index(name))


class ScoreColumn(ComputedColumn):
    """One score of every attempt, NaN where the attempt is unfinished, computed when read."""

    SLICE = SLICE

    def __init__(self, scores: AttemptScores, index: int) -> None:
        self.scores, self.index, self.n = scores, index, scores.n
        self.dtype = scores.dtypes[index]

    def rows(self, a0: int, a1: int) -> np.ndarray:
        """The values of attempts ``a0`` to ``a1`` (a new array)."""
        values = self.scores.part(a0, a1)[self.index].copy()
        values[~self.scores.finished[a0:a1]] = np.nan
        return values

    def astype(self, dtype, copy: bool = True):
        """Itself when already ``dtype`` and no copy is asked for (read lazily), else an array."""
        if np.dtype(dtype) == self.dtype and not copy:
            return self
        return np.asarray(self).astype(dtype)


def all_scores(scores: AttemptScores, chunk: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three scores of every attempt as whole arrays (journey mode replaces some), computed
    a slice of attempts at a time (the same numbers, without whole-length temporaries)."""
    out = [np.empty(scores.n, dtype=dt) for dt in scores.dtypes]
    for a0 in range(0, scores.n, chunk):
        a1 = min(a0 + chunk, scores.n)
        for whole, part in zip(out, scores.part(a0, a1)):
            whole[a0:a1] = part
    return out[0], out[1], out[2]


class SurveyAnswers:
    """A survey answer column of contacts.parquet where every leg is its own attempt: nullable
    int8, missing where the attempt was not answered. Each range of rows read gets its own
    mask (``~responded`` for those rows), so the two answer columns hold no mask of a byte
    per leg each through the writing (issue 13, memory); any other use reads the whole column."""

    def __init__(self, values: np.ndarray, responded: np.ndarray) -> None:
        self.values, self.responded = values, responded

    def __len__(self) -> int:
        return self.values.size

    def __getitem__(self, key):
        if isinstance(key, slice):
            return pd.arrays.IntegerArray(self.values[key], ~self.responded[key])
        return self.whole()[key]

    def whole(self) -> pd.arrays.IntegerArray:
        return pd.arrays.IntegerArray(self.values, ~self.responded)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.whole(), name)
