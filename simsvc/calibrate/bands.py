"""Handling and patience by hour band: do they differ over the day, and by how much?

A scenario has one handling and one patience distribution per channel (and reason),
whatever the time of day. Real centres are not like that: evening callers may be more
patient, morning calls shorter. Here the fit days' contacts of each channel are split
into hour bands holding about equal numbers of contacts, each band gets its own
estimate with a 95 % interval, and a test says whether the bands differ:

* handling: mean handle time per band (t-interval), Kruskal–Wallis across bands
  (rank-based, so the heavy right tail of handle times does not drive it);
* patience: Kaplan–Meier median per band (Greenwood interval) and the exponential
  MLE mean (total wait / abandonments, with its χ² interval), log-rank test across
  bands (answered waits are censored, as in the fit).

The model cannot use the result yet (it has no hour-band field); the fit report says
what the difference is worth, so a planner knows whether that matters.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from simsvc.calibrate.estimate import MIN_SAMPLE
from simsvc.calibrate.patience import kaplan_meier

HOUR_S = 3600.0
BANDS = 4
ALPHA = 0.05


def band_edges(clock_s: np.ndarray, bands: int = BANDS) -> list[float]:
    """Whole-hour edges splitting the contacts into ``bands`` parts of about equal size
    (fewer when hours coincide): [first hour, …, last hour + 1] in seconds after midnight."""
    clock_s = np.asarray(clock_s, float)
    hours = np.floor(clock_s / HOUR_S)
    inner = np.round(np.quantile(clock_s, np.arange(1, bands) / bands) / HOUR_S)
    edges = sorted({float(hours.min()), *inner.tolist(), float(hours.max() + 1)})
    return [e * HOUR_S for e in edges]


def _label(a: float, b: float) -> str:
    return f"{int(a // HOUR_S):02d}:00–{int(b // HOUR_S):02d}:00"


def logrank(time: np.ndarray, event: np.ndarray, group: np.ndarray, k: int) -> float:
    """p-value of the k-sample log-rank test (χ² with k − 1 degrees of freedom)."""
    from scipy import stats

    event_times = np.unique(time[event])
    if len(event_times) == 0 or k < 2:
        return float("nan")
    # At risk at each event time: those whose time is ≥ it; events: those ending there.
    at_risk = np.empty((len(event_times), k))
    events = np.empty((len(event_times), k))
    for g in range(k):
        tg = np.sort(time[group == g])
        at_risk[:, g] = len(tg) - np.searchsorted(tg, event_times, side="left")
        te = np.sort(time[(group == g) & event])
        events[:, g] = (np.searchsorted(te, event_times, side="right")
                        - np.searchsorted(te, event_times, side="left"))
    n = at_risk.sum(axis=1)
    d = events.sum(axis=1)
    keep = n > 1
    n, d, at_risk, events = n[keep], d[keep], at_risk[keep], events[keep]
    share = at_risk / n[:, None]
    o_minus_e = (events - d[:, None] * share).sum(axis=0)
    factor = d * (n - d) / (n - 1)
    cov = -np.einsum("t,ti,tj->ij", factor, share, share)
    cov[np.diag_indices(k)] += (factor[:, None] * share).sum(axis=0)
    v = o_minus_e[:-1]
    stat = float(v @ np.linalg.solve(cov[:-1, :-1], v))
    return float(stats.chi2.sf(stat, k - 1))


def _mean_ci(x: np.ndarray) -> tuple[float, float, float]:
    from scipy.special import stdtrit

    m = float(x.mean())
    half = float(stdtrit(len(x) - 1, 0.975) * x.std(ddof=1) / np.sqrt(len(x)))
    return m, m - half, m + half


def exp_mean_ci(total_wait: float, abandoned: int) -> tuple[float, float, float]:
    """Exponential MLE of mean patience and its exact 95 % interval (Poisson count of abandonments)."""
    from scipy import stats

    if abandoned == 0:
        return float("nan"), float("nan"), float("nan")
    return (total_wait / abandoned, 2 * total_wait / stats.chi2.ppf(0.975, 2 * abandoned),
            2 * total_wait / stats.chi2.ppf(0.025, 2 * abandoned))


def by_hour_band(contacts: pd.DataFrame, channel: str, bands: int = BANDS) -> tuple[pd.DataFrame, list[dict]]:
    """Per band of ``channel``: rows ``quantity, band, n, value_s, ci_low_s, ci_high_s``, and one
    test per quantity ``{quantity, test, p_value, differs, spread}`` (spread: the largest band value
    over the smallest, minus 1)."""
    from scipy import stats

    g = contacts[contacts["channel"].astype(str) == channel]
    if len(g) < bands * MIN_SAMPLE:
        return pd.DataFrame(), []
    edges = band_edges(g["clock_s"].to_numpy(), bands)
    k = len(edges) - 1
    band = np.clip(np.searchsorted(edges, g["clock_s"].to_numpy(), side="right") - 1, 0, k - 1)
    labels = [_label(edges[i], edges[i + 1]) for i in range(k)]
    rows, tests = [], []

    answered = (g["outcome"] == "answered").to_numpy()
    handle = g["handle_s"].to_numpy(dtype=float)
    ok = answered & np.isfinite(handle) & (handle > 0)
    samples = [handle[ok & (band == i)] for i in range(k)]
    if all(len(x) >= MIN_SAMPLE for x in samples):
        for i, x in enumerate(samples):
            rows.append(("handling mean", labels[i], len(x), *_mean_ci(x)))
        means = [float(x.mean()) for x in samples]
        if k < 2:
            tests.append(_skipped("handling", "Kruskal–Wallis", _one_band(labels), means, "mean"))
        elif np.ptp(np.concatenate(samples)) == 0:
            tests.append(_skipped("handling", "Kruskal–Wallis",
                                  f"every handle time is {samples[0][0]:g} s: nothing to rank", means, "mean"))
        else:
            p = float(stats.kruskal(*samples).pvalue)
            tests.append(_verdict("handling", "Kruskal–Wallis", p, means, "mean"))

    wait = g["wait_s"].fillna(0.0).to_numpy(dtype=float)
    abandoned = (g["outcome"] == "abandoned").to_numpy()
    if all(abandoned[band == i].sum() >= MIN_SAMPLE for i in range(k)):
        medians, means = [], []
        for i in range(k):
            m = band == i
            km = kaplan_meier(wait[m], abandoned[m])
            low, high = km.quantile_ci(0.5)
            medians.append(km.quantile(0.5))
            rows.append(("patience KM median", labels[i], int(m.sum()), medians[-1], low, high))
            mean = exp_mean_ci(float(wait[m].sum()), int(abandoned[m].sum()))
            means.append(mean[0])
            rows.append(("patience exponential mean", labels[i], int(m.sum()), *mean))
        if k < 2:
            tests.append(_skipped("patience", "log-rank", _one_band(labels), means, "exponential mean"))
        else:
            try:
                p = logrank(wait, abandoned, band, k)
            except np.linalg.LinAlgError:  # no variance: every wait ends at the same time
                p = float("nan")
            if np.isfinite(p):
                tests.append(_verdict("patience", "log-rank", p, means, "exponential mean"))
            else:
                tests.append(_skipped("patience", "log-rank", "the waits have no variance to test: "
                                      "every abandonment at the same wait, or nobody else at risk then",
                                      means, "exponential mean"))
    table = pd.DataFrame(rows, columns=["quantity", "band", "n", "value_s", "ci_low_s", "ci_high_s"])
    table.insert(0, "channel", channel)
    bounds = {labels[i]: (int(edges[i] // HOUR_S), int(edges[i + 1] // HOUR_S)) for i in range(k)}
    table["from_h"] = table["band"].map(lambda b: bounds[b][0])
    table["to_h"] = table["band"].map(lambda b: bounds[b][1])
    for t in tests:
        t["channel"] = channel
    return table, tests


def band_value(bands: pd.DataFrame, channel: str, quantity: str, hour: int) -> float | None:
    """The band estimate of ``quantity`` for ``channel`` at clock ``hour`` (None when not estimated;
    hours before the first band or after the last take the nearest band)."""
    if bands is None or bands.empty:
        return None
    g = bands[(bands["channel"] == channel) & (bands["quantity"] == quantity)]
    if g.empty:
        return None
    inside = g[(g["from_h"] <= hour) & (hour < g["to_h"])]
    row = inside.iloc[0] if len(inside) else (g.iloc[0] if hour < g["from_h"].min() else g.iloc[-1])
    return float(row["value_s"])


def _verdict(quantity: str, test: str, p: float, values: list[float], measure: str) -> dict:
    values = [v for v in values if np.isfinite(v) and v > 0]
    spread = max(values) / min(values) - 1.0 if values else float("nan")
    return {"quantity": quantity, "test": test, "p_value": p, "differs": bool(p < ALPHA), "spread": spread,
            "measure": measure}


def _one_band(labels: list[str]) -> str:
    return f"every contact is in one hour band, {labels[0]}: no bands to compare"


def _skipped(quantity: str, test: str, reason: str, values: list[float], measure: str) -> dict:
    """A test that could not be run: ``differs`` False, no p-value, and why (``skipped``)."""
    return _verdict(quantity, test, float("nan"), values, measure) | {"skipped": reason}


def verdict_text(t: dict) -> str:
    """``phone: handling differs by hour band (Kruskal–Wallis p < 0.001; mean of the highest band
    35 % above the lowest)``, or ``phone: handling by hour band not tested (Kruskal–Wallis skipped:
    every contact is in one hour band, 10:00–11:00: no bands to compare)``."""
    if t.get("skipped"):
        return f"{t['channel']}: {t['quantity']} by hour band not tested ({t['test']} skipped: {t['skipped']})"
    p = t["p_value"]
    p_text = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    word = "differs" if t["differs"] else "does not differ significantly"
    return (f"{t['channel']}: {t['quantity']} {word} by hour band ({t['test']} {p_text}; {t['measure']} of the "
            f"highest band {t['spread']:.0%} above the lowest)").replace("%", " %")
