"""Routing delay per class: a step a class's contacts pass before any agent can answer them.

What it is for: in the bank's log the identified callers wait even when agents are free
(the anonymous callers arriving in the same minutes are answered at once), so their wait
has a part no queueing model makes: a routing step. It is written as
``reasons.<reason>_<class>.routing_delay`` (scenario format: a contact of that reason
cannot be answered before its delay has passed; it may abandon during it).

How it is estimated, on the fit days only: a contact is *free* when the contacts of the
other classes that arrived within ± ``FREE_WINDOW_S`` of it (at least ``MIN_FREE_OTHERS``
of them) were all answered without waiting, so agents were free around its arrival. A
free contact's wait, if answered, is its routing delay, and an abandoner's wait is a lower
bound of it (it left during the step): the Kaplan–Meier estimate with answers as events and
abandonments as censorings (the mirror of the patience estimate). A class gets a delay when
it has at least ``MIN_DELAY_ANSWERED`` free answered contacts and fewer than half of them
were answered at once; otherwise none (a note gives the figures).

Until issue 10's ninth look "free" was judged over the contact's whole day × interval (15
minutes on the bank): an interval whose other-class callers were all answered at once can
still hold minutes when every agent was busy, and the waits of those minutes went into the
delay. On the bank's busy fit days that made the step longer than the same estimator found
on quieter days (1–15 August: mean 71 s, 16–31: 47 s; by the window: 47 s and 42 s;
docs/calibration-bank.md, ninth look). ``window_s=None`` keeps the interval cells.

The distribution is the Kaplan–Meier curve up to its last answer, renormalised, as 40
equally likely quantiles (an ``empirical`` distribution).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simsvc.calibrate.patience import kaplan_meier

MIN_FREE_OTHERS = 3  # contacts of the other classes that make a contact "free" when all were answered at once
FREE_WINDOW_S = 180.0  # ± this around a contact's arrival: where those contacts are looked for
MIN_DELAY_ANSWERED = 50  # free answered contacts of the class needed to estimate a delay
QUANTILES = 40


@dataclass(frozen=True)
class RoutingDelays:
    """The delay written on each classed reason, and per class what it was estimated from."""

    by_reason: dict[str, dict]  # reason -> distribution (scenario data)
    table: pd.DataFrame  # class, free cells (or None), contacts (free), answered, at once, abandoned, quantiles
    notes: list[str]


def fit_routing_delays(contacts: pd.DataFrame, classes: dict[str, str], channels: list[str],
                       interval_s: float, window_s: float | None = FREE_WINDOW_S) -> RoutingDelays:
    """A routing delay per class over the contacts of ``channels`` (the real-time channels); see
    the module docstring (``window_s``: ± around each contact; None: its day × ``interval_s`` cell).
    A reason's delay holds on every channel, so with more than one real-time channel none is
    fitted (a note says so)."""
    if len(channels) != 1:
        return RoutingDelays({}, pd.DataFrame(), [
            f"no routing delay per class: it needs one real-time channel (the log has {len(channels)})"])
    c = contacts[(contacts["channel"].astype(str) == channels[0])
                 & contacts["outcome"].isin(["answered", "abandoned"])]
    label = c["reason"].astype(str).map(classes).to_numpy()
    wait = c["wait_s"].fillna(0).to_numpy(float)
    answered = (c["outcome"] == "answered").to_numpy()
    at_once = answered & (wait <= 0)
    if window_s is None:  # day × interval cells
        cell = (pd.factorize(c["day"])[0].astype(np.int64) * 10**6
                + (c["clock_s"].to_numpy() // interval_s).astype(np.int64))
    else:
        arrival_s = (c["day"].map(pd.Timestamp.toordinal).to_numpy(np.float64) * 86400.0
                     + c["clock_s"].to_numpy(np.float64))
    by_reason: dict[str, dict] = {}
    rows, notes = [], []
    for k in sorted(set(classes.values())):
        mine = label == k
        if window_s is None:
            others = pd.DataFrame({"cell": cell[~mine], "at_once": at_once[~mine]}).groupby("cell")["at_once"]
            free_cells = others.all() & (others.size() >= MIN_FREE_OTHERS)
            free = mine & np.isin(cell, free_cells.index[free_cells.to_numpy()])
            n_free = int(free_cells.sum())
        else:
            free = mine & _free_around(arrival_s, mine, at_once, window_s)
            n_free = None
        n_ans, n_once = int(answered[free].sum()), int(at_once[free].sum())
        row = {"class": k, "free_cells": n_free, "window_s": window_s, "contacts": int(free.sum()), "answered": n_ans,
               "answered_at_once": n_once, "abandoned": int((free & ~answered).sum())}
        if n_ans < MIN_DELAY_ANSWERED or n_once >= n_ans / 2:
            why = (f"{n_ans} answered (< {MIN_DELAY_ANSWERED})" if n_ans < MIN_DELAY_ANSWERED
                   else f"{n_once} of {n_ans} answered at once")
            notes.append(f"class {k}: no routing delay ({_where(row, window_s)}: {why})")
            rows.append(row)
            continue
        # Answers are the events, abandonments the censorings: the patience estimate mirrored.
        km = kaplan_meier(wait[free], answered[free])
        reached = 1.0 - km.survival[-1]  # up to the last answer, renormalised
        values = np.array([km.quantile(p) for p in (np.arange(QUANTILES) + 0.5) / QUANTILES * reached])
        value = {"dist": "empirical", "values": [f"{v:.0f}s" for v in np.round(values)]}
        q = {f"q{int(x * 100)}_s": float(np.round(km.quantile(x * reached))) for x in (0.1, 0.5, 0.9)}
        row.update(q, mean_s=round(float(np.mean(values)), 1), delay="Kaplan–Meier in free cells")
        rows.append(row)
        for r, kr in classes.items():
            if kr == k:
                by_reason[r] = value
    return RoutingDelays(by_reason, pd.DataFrame(rows), notes)


def _by_cells(window_s) -> bool:
    """Whether a table row's ``window_s`` says the day × interval cells were used: None, which
    the table's float column holds as NaN."""
    return window_s is None or window_s != window_s


def free_text(row) -> str:
    """Where a fitted class's delay was estimated from (a table row), in a few words."""
    if _by_cells(row.window_s):
        return f"{row.free_cells:.0f} free cells"
    return f"agents free within ±{row.window_s:g}s"


def _where(row: dict, window_s: float | None) -> str:
    """Where a class's delay was looked for, in words."""
    if window_s is None:
        return f"{row['free_cells']} free cells"
    return f"{row['contacts']:,} contacts with agents free within ±{window_s:g}s"


def _free_around(arrival_s: np.ndarray, mine: np.ndarray, at_once: np.ndarray, window_s: float) -> np.ndarray:
    """Per contact: did at least ``MIN_FREE_OTHERS`` contacts not ``mine`` arrive within ± ``window_s`` of it,
    every one of them answered at once (agents were free around its arrival)?"""
    order = np.argsort(arrival_s[~mine], kind="stable")
    t = arrival_s[~mine][order]
    once = np.concatenate([[0], np.cumsum(at_once[~mine][order])])
    lo = np.searchsorted(t, arrival_s - window_s, "left")
    hi = np.searchsorted(t, arrival_s + window_s, "right")
    n = hi - lo
    return (n >= MIN_FREE_OTHERS) & (once[hi] - once[lo] == n)


def delay_comments(rd: RoutingDelays, classes: dict[str, str]) -> dict[str, list[str]]:
    """Comment lines per ``reasons.<r>.routing_delay``: the class's method, sample and quantiles."""
    out = {}
    table = rd.table.set_index("class")
    for r in rd.by_reason:
        t = table.loc[classes[r]]
        window = t["window_s"]
        where = (f"in the fit days' day × intervals where every contact of the other classes was answered at once "
                 f"({t['free_cells']:.0f} cells; " if _by_cells(window)
                 else f"where every contact of the other classes within ±{window:g}s of its arrival (≥ "
                      f"{MIN_FREE_OTHERS}) was answered at once (")
        out[f"reasons.{r}.routing_delay"] = [
            f"routing delay of class {classes[r]} (all its reasons): Kaplan–Meier of its waits {where}"
            "answers are events, abandonments censorings), 40 quantiles",
            f"n = {t['contacts']:,} contacts ({t['answered']:,} answered, {t['answered_at_once']} of them at once, "
            f"{t['abandoned']} abandoned); median {t['q50_s']:.0f}s, 10th–90th percentile "
            f"{t['q10_s']:.0f}–{t['q90_s']:.0f}s, mean {t['mean_s']:.0f}s"]
    return out
