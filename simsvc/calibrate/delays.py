"""Routing delay per class: a step a class's contacts pass before any agent can answer them.

What it is for: in the bank's log the identified callers wait even when agents are free
(the anonymous callers arriving in the same minutes are answered at once), so their wait
has a part no queueing model makes: a routing step. It is written as
``reasons.<reason>_<class>.routing_delay`` (scenario format: a contact of that reason
cannot be answered before its delay has passed; it may abandon during it).

How it is estimated, on the fit days only: the *free cells* are the day × intervals in
which every contact of the other classes (at least ``MIN_FREE_OTHERS`` of them) was
answered without waiting, so agents were free there. Within them a class's answered
contact's wait is its routing delay, and an abandoner's wait is a lower bound of it (it
left during the step): the Kaplan–Meier estimate with answers as events and abandonments
as censorings (the mirror of the patience estimate). A class gets a delay when it has at
least ``MIN_DELAY_ANSWERED`` answered contacts in its free cells and fewer than half of
them were answered at once; otherwise none (a note gives the figures). The distribution is
the Kaplan–Meier curve up to its last answer, renormalised, as 40 equally likely
quantiles (an ``empirical`` distribution).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simsvc.calibrate.patience import kaplan_meier

MIN_FREE_OTHERS = 3  # contacts of the other classes that make a cell "free" when all were answered at once
MIN_DELAY_ANSWERED = 50  # answered contacts of the class in free cells needed to estimate a delay
QUANTILES = 40


@dataclass(frozen=True)
class RoutingDelays:
    """The delay written on each classed reason, and per class what it was estimated from."""

    by_reason: dict[str, dict]  # reason -> distribution (scenario data)
    table: pd.DataFrame  # class, free cells, contacts, answered, answered at once, abandoned, quantiles
    notes: list[str]


def fit_routing_delays(contacts: pd.DataFrame, classes: dict[str, str], channels: list[str],
                       interval_s: float) -> RoutingDelays:
    """A routing delay per class over the contacts of ``channels`` (the real-time channels); see
    the module docstring. A reason's delay holds on every channel, so with more than one
    real-time channel none is fitted (a note says so)."""
    if len(channels) != 1:
        return RoutingDelays({}, pd.DataFrame(), [
            f"no routing delay per class: it needs one real-time channel (the log has {len(channels)})"])
    c = contacts[(contacts["channel"].astype(str) == channels[0])
                 & contacts["outcome"].isin(["answered", "abandoned"])]
    label = c["reason"].astype(str).map(classes).to_numpy()
    cell = pd.factorize(c["day"])[0].astype(np.int64) * 10**6 + (c["clock_s"].to_numpy() // interval_s).astype(np.int64)
    wait = c["wait_s"].fillna(0).to_numpy(float)
    answered = (c["outcome"] == "answered").to_numpy()
    at_once = answered & (wait <= 0)
    by_reason: dict[str, dict] = {}
    rows, notes = [], []
    for k in sorted(set(classes.values())):
        mine = label == k
        others = pd.DataFrame({"cell": cell[~mine], "at_once": at_once[~mine]}).groupby("cell")["at_once"]
        free_cells = others.all() & (others.size() >= MIN_FREE_OTHERS)
        free = mine & np.isin(cell, free_cells.index[free_cells.to_numpy()])
        n_ans, n_once = int(answered[free].sum()), int(at_once[free].sum())
        row = {"class": k, "free_cells": int(free_cells.sum()), "contacts": int(free.sum()), "answered": n_ans,
               "answered_at_once": n_once, "abandoned": int((free & ~answered).sum())}
        if n_ans < MIN_DELAY_ANSWERED or n_once >= n_ans / 2:
            why = (f"{n_ans} answered in them (< {MIN_DELAY_ANSWERED})" if n_ans < MIN_DELAY_ANSWERED
                   else f"{n_once} of {n_ans} answered at once")
            notes.append(f"class {k}: no routing delay ({row['free_cells']} free cells, {why})")
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


def delay_comments(rd: RoutingDelays, classes: dict[str, str]) -> dict[str, list[str]]:
    """Comment lines per ``reasons.<r>.routing_delay``: the class's method, sample and quantiles."""
    out = {}
    table = rd.table.set_index("class")
    for r in rd.by_reason:
        t = table.loc[classes[r]]
        out[f"reasons.{r}.routing_delay"] = [
            f"routing delay of class {classes[r]} (all its reasons): Kaplan–Meier of its waits in the fit days' "
            f"day × intervals where every contact of the other classes was answered at once ({t['free_cells']} "
            "cells; answers are events, abandonments censorings), 40 quantiles",
            f"n = {t['contacts']:,} contacts ({t['answered']:,} answered, {t['answered_at_once']} of them at once, "
            f"{t['abandoned']} abandoned); median {t['q50_s']:.0f}s, 10th–90th percentile "
            f"{t['q10_s']:.0f}–{t['q90_s']:.0f}s, mean {t['mean_s']:.0f}s"]
    return out
