"""When a channel is closed, by time of day, for shading plots that pool the days.

A plot of service level by time of day pools every day after the warm-up; after
closing there is nothing to measure, and a line at 0 % (or a gap nobody explains)
misleads. These helpers read a channel's written ``hours`` (as in ``scenario.yaml``)
and say, per slot of the day, whether the channel was closed on every pooled day.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from simsvc.config.fields import DAYS
from simsvc.config.references import day_spec_days
from simsvc.config.units import parse_clock

DAY_S = 86400.0


def hours_key(hours: object) -> object:
    """A written ``hours`` value in a hashable form: ``"24/7"`` or a tuple of (days, span)."""
    if hours is None or hours == "24/7":
        return "24/7"
    if isinstance(hours, str):
        return (("mon-sun", hours),)
    return tuple((str(k), str(v)) for k, v in dict(hours).items())


def open_span_by_weekday(hours: object) -> dict[int, tuple[float, float] | None]:
    """Weekday (0 = mon) → (open, close) seconds after midnight, or None when closed all day.

    Later entries override earlier ones, as in the model (``mon-sat`` then ``sat``).
    """
    key = hours_key(hours)
    if key == "24/7":
        return {d: (0.0, DAY_S) for d in range(7)}
    out: dict[int, tuple[float, float] | None] = {d: None for d in range(7)}
    for spec, span in key:  # type: ignore[union-attr]
        value = None
        if span.strip().lower() != "closed":
            a, b = (parse_clock(p) for p in span.split("-", 1))
            value = (a, b)
        for d in day_spec_days(spec):
            out[d] = value
    return out


def closed_slots(hours: object, weekdays: Iterable[int], step_s: float
                 ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per slot of the day (``step_s`` long, from midnight), over the ``weekdays`` pooled (0 = mon):

    * closed on every day that opened at all (the channel's own closing hours),
    * closed on some of those days only (a shorter Saturday),
    * and the weekdays closed all day (they add nothing to a pooled plot).

    A slot counts as closed when its midpoint is outside the day's opening span.
    """
    spans = open_span_by_weekday(hours)
    mid = np.arange(0.0, DAY_S, step_s) + step_s / 2
    weekdays = sorted(set(int(w) for w in weekdays))
    closed_all_day = [DAYS[w] for w in weekdays if spans[w] is None]
    open_days = [spans[w] for w in weekdays if spans[w] is not None]
    if not open_days:
        return np.zeros(len(mid), bool), np.zeros(len(mid), bool), closed_all_day
    closed = np.array([(mid < a) | (mid >= b) for a, b in open_days])
    every = closed.all(axis=0)
    return every, closed.any(axis=0) & ~every, closed_all_day


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges ``[i, j)`` of the consecutive True values in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))
