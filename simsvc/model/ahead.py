"""Forecast arrivals not yet converted for the event loop, let go as the loop converts them."""
from __future__ import annotations

import numpy as np

from simsvc.model.demand import Arrivals

CHUNK_MIN = 4 * 16384  # never copy the rest for fewer arrivals than this


class ArrivalsAhead:
    """Forecast arrivals not yet converted for the loop, each still read by its number.

    The converted ones are let go an eighth of the run at a time (the rest copied), so
    the arrival arrays (12 bytes per arrival) shrink while the record grows instead of
    adding to it at the loop's end, where a run's memory peaks (issue 13).
    """

    def __init__(self, arrivals: Arrivals) -> None:
        self.n = len(arrivals.time_s)
        self.first = 0  # number of the first arrival kept
        self.arrivals = arrivals
        self.step = max(CHUNK_MIN, self.n // 8)

    def converted(self, k: int) -> Arrivals:
        """Arrivals before number ``k`` will not be read again: the arrivals kept."""
        if k - self.first >= self.step and k < self.n:
            a, at = self.arrivals, k - self.first
            columns = (a.time_s, a.channel, a.reason) + ((a.handle_s,) if a.handle_s is not None else ())
            self.arrivals = Arrivals(*(Numbered(_values(values)[at:].copy(), k)  # the rest, by number
                                       for values in columns))
            self.first = k
        return self.arrivals


class Numbered:
    """An array of the values from number ``first`` on, read by number (slices only)."""

    __slots__ = ("values", "first")

    def __init__(self, values: np.ndarray, first: int) -> None:
        self.values, self.first = values, first

    def __getitem__(self, rows: slice) -> np.ndarray:
        return self.values[rows.start - self.first:rows.stop - self.first]

    def __len__(self) -> int:  # the numbers run up to first + len(values)
        return self.first + len(self.values)


def _values(column: np.ndarray | Numbered) -> np.ndarray:
    return column.values if isinstance(column, Numbered) else column
