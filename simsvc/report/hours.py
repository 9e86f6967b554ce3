"""When a channel is closed, by time of day, for shading plots that pool the days.

A plot of service level by time of day pools every day after the warm-up; after
closing there is nothing to measure, and a line at 0 % (or a gap nobody explains)
misleads. These helpers read a channel's written ``hours`` (as in ``scenario.yaml``),
say per slot of the day whether the channel was closed on every pooled day, and
shade those hours on the time-of-day plot (the heat map greys its closed cells).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import numpy as np
import pandas as pd

from simsvc.config.fields import DAYS
from simsvc.config.references import day_spec_days
from simsvc.config.units import parse_clock

if TYPE_CHECKING:
    from simsvc.report.data import ChannelInfo

DAY_S = 86400.0
HOUR_S = 3600.0


def hours_key(hours: object) -> object:
    """A written ``hours`` value in a hashable form: ``"24/7"`` or a tuple of (days, span)."""
    if hours is None or hours == "24/7":
        return "24/7"
    if isinstance(hours, str):
        return (("mon-sun", hours),)
    return tuple((str(k), str(v)) for k, v in dict(hours).items())


def open_span_by_weekday(hours: object) -> dict[int, tuple[float, float] | None]:
    """Weekday (0 = mon) → (open, close) seconds after midnight, or None when closed all day.

    Later entries override earlier ones, as in the model (``mon-sat`` then ``sat``). Hours
    that cannot be read count as always open (nothing is shaded or hidden).
    """
    key = hours_key(hours)
    if key == "24/7":
        return {d: (0.0, DAY_S) for d in range(7)}
    out: dict[int, tuple[float, float] | None] = {d: None for d in range(7)}
    try:
        for spec, span in key:  # type: ignore[union-attr]
            value = None
            if span.strip().lower() != "closed":
                a, b = (parse_clock(p) for p in span.split("-", 1))
                value = (a, b)
            for d in day_spec_days(spec):
                out[d] = value
    except (ValueError, TypeError):  # a hand-edited scenario.yaml: shade nothing rather than fail
        return {d: (0.0, DAY_S) for d in range(7)}
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


def closed_by_time_of_day(df: pd.DataFrame, infos: list[ChannelInfo], step: float
                           ) -> tuple[np.ndarray, np.ndarray, str, dict[str, np.ndarray]]:
    """Slots of the day closed on every pooled day for every plotted channel; slots closed
    only on some days or for some channels; a note of the weekdays closed all day; and per
    channel, its slots closed on every pooled day."""
    if "weekday" in df.columns:
        weekdays = {DAYS.index(str(w)) for w in pd.unique(df["weekday"])}
    else:  # intervals written before the calendar columns: day 0 taken as a Monday
        weekdays = {int(d) % 7 for d in np.unique(df["start_s"] // DAY_S)}
    every, some, by_days, own = None, None, {}, {}
    for info in infos:
        e, s, whole_days = closed_slots(info.hours, weekdays, step)
        own[info.name] = e
        every = e if every is None else every & e
        some = (e | s) if some is None else some | e | s
        if whole_days:
            by_days.setdefault("/".join(whole_days), []).append(info.name)
    note = "; ".join(f"{', '.join(names)} closed all {days}" for days, names in by_days.items())
    return every, some & ~every, note, own


def shade_closed(ax_sl, ax_asa, closed: tuple, step: float) -> None:
    """Grey where every plotted channel is closed on every pooled day (nothing to measure);
    lighter where only some days or some channels are closed, so their slots pool fewer days.
    ``closed`` is what :func:`closed_by_time_of_day` returns."""
    from simsvc.report import style  # matplotlib only when a plot is drawn

    every, some, whole_days, _ = closed
    for mask, colour, label in ((every, style.CLOSED_FILL, "closed every day"),
                                (some, style.PART_CLOSED_FILL, "closed on some days or channels")):
        for k, (i, j) in enumerate(runs(mask)):
            for ax in (ax_sl, ax_asa):
                ax.axvspan(i * step / HOUR_S, j * step / HOUR_S, color=colour, lw=0, zorder=0,
                           label=label if ax is ax_sl and k == 0 else None)
    if whole_days and (every.any() or some.any()):
        ax_sl.plot([], [], ls="none", label=f"({whole_days}: not pooled)")
