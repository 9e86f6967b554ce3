"""Patience by the queue a caller finds (``fit --patience-by-queue``): an accelerated-failure-time
factor per band of the contacts already waiting on the channel at arrival.

The queue a contact finds is counted from the log itself: every contact that waited is in
the queue from its arrival to its arrival + wait (answered or abandoned), over the whole log,
so a day's first callers see the queue its previous callers left. Model: a caller's patience
is ``baseline × factor[band]``. The factors are estimated by maximum likelihood with a
Weibull baseline (a common shape, one scale per band: the shape lets the hazard fall with
the wait, as the bank's does, so the bands' different censoring does not bias the factors
as an exponential fit per band would), with 95 % intervals from the observed information.
The baseline written into the scenario is then the Kaplan–Meier estimate of the waits
divided by their band's factor (censoring as before), so only the factors are parametric.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simsvc.calibrate.bands import exp_mean_ci, logrank

QUANTILES = (0.25, 0.5, 0.75, 0.9)  # band edges: these quantiles of the queue found (distinct, rounded)
MIN_BAND_ABANDONED = 50  # a band with fewer abandonments joins the one below it


@dataclass(frozen=True)
class QueueFactors:
    """The fitted factors and what they rest on."""

    edges: list[int]  # each band's lower edge in contacts found waiting (the first 0)
    factors: list[float]  # relative to the band holding the most contacts (its factor is 1)
    ci: list[tuple[float, float]]  # 95 % intervals of the factors
    contacts: list[int]
    abandoned: list[int]
    exp_mean_s: list[tuple[float, float, float]]  # per band: exponential MLE mean, 95 % interval
    shape: float  # the Weibull shape of the baseline (1: exponential)
    logrank_p: float  # do the bands' patience curves differ?

    def spec(self) -> dict:
        return {"queue_from": list(self.edges), "factor": [round(f, 3) for f in self.factors]}

    def band_names(self) -> list[str]:
        ends = [*self.edges[1:], None]
        return [f"{a}+" if b is None else (f"{a}" if b == a + 1 else f"{a}–{b - 1}") for a, b in zip(self.edges, ends)]

    def comment(self) -> list[str]:
        rows = [f"found {name}: × {f:.2f} [{lo:.2f}, {hi:.2f}] ({n:,} contacts, {k:,} abandoned, exponential "
                f"mean {m:.0f}s [{ml:.0f}, {mh:.0f}])"
                for name, f, (lo, hi), n, k, (m, ml, mh) in zip(self.band_names(), self.factors, self.ci,
                                                                 self.contacts, self.abandoned, self.exp_mean_s)]
        return ["patience by the queue found on arrival (contacts already waiting on the channel, counted from "
                "the log's arrivals and waits): patience × the band's factor; factors by maximum likelihood with "
                f"a Weibull baseline (shape {self.shape:.2f}), 95 % intervals from the observed information, "
                f"relative to the band with the most contacts; log-rank test across the bands p = "
                f"{self.logrank_p:.2g}; the patience above is the Kaplan–Meier estimate of wait ÷ factor", *rows]


def queue_found(contacts: pd.DataFrame) -> np.ndarray:
    """Contacts waiting when each contact arrives (itself excluded): a contact with a wait is
    in the queue from its arrival to arrival + wait. ``contacts``: one channel's, any days."""
    day0 = contacts["day"].min()
    t = (contacts["day"] - day0).dt.total_seconds().to_numpy() + contacts["clock_s"].to_numpy()
    w = contacts["wait_s"].fillna(0).to_numpy()
    q = w > 0
    starts = np.sort(t[q])
    ends = np.sort(t[q] + w[q])
    return (np.searchsorted(starts, t, "left") - np.searchsorted(ends, t, "right")).astype(int)


def band_edges(found: np.ndarray, abandoned: np.ndarray) -> list[int]:
    """0 and the distinct rounded ``QUANTILES`` of the queue found, bands with fewer than
    ``MIN_BAND_ABANDONED`` abandonments merged into the band below (the first into the next)."""
    edges = sorted({0, *(int(round(v)) for v in np.quantile(found, QUANTILES))})
    while len(edges) > 1:
        band = np.searchsorted(edges, found, side="right") - 1
        counts = np.bincount(band[abandoned], minlength=len(edges))
        thin = [k for k in range(len(edges)) if counts[k] < MIN_BAND_ABANDONED]
        if not thin:
            break
        edges.pop(max(thin[-1], 1))
    return edges


def fit_or_note(contacts: pd.DataFrame, channel: str, index: pd.Index,
                notes: list[str]) -> tuple[QueueFactors, np.ndarray] | None:
    """:func:`fit_for_channel`, or None and a note where the log gives one band only or the fit fails."""
    try:
        fitted = fit_for_channel(contacts, channel, index)
    except (ValueError, np.linalg.LinAlgError) as exc:
        notes.append(f"channel {channel}: no patience by the queue found ({exc})")
        return None
    if len(fitted[0].edges) == 1:
        notes.append(f"channel {channel}: no patience by the queue found (one band: the quartiles of the queue "
                     f"found coincide, or the bands have under {MIN_BAND_ABANDONED} abandonments each)")
        return None
    return fitted


def fit_queue_factors(wait_s: np.ndarray, abandoned: np.ndarray, found: np.ndarray,
                      edges: list[int] | None = None) -> QueueFactors:
    """Factors per band of ``found`` (edges chosen by :func:`band_edges` unless given)."""
    from scipy import optimize

    t = np.asarray(wait_s, float)
    e = np.asarray(abandoned, bool)
    found = np.asarray(found)
    edges = list(edges) if edges is not None else band_edges(found, e)
    band = np.searchsorted(edges, found, side="right") - 1
    k = len(edges)
    contacts = np.bincount(band, minlength=k)
    events = np.bincount(band[e], minlength=k)
    if (events == 0).any():
        raise ValueError(f"a band of the queue found without abandonments (bands from {edges}: {events.tolist()})")
    exp_means = [exp_mean_ci(float(t[band == b].sum()), int(events[b])) for b in range(k)]
    if k == 1:  # nothing to scale: the caller writes no field
        return QueueFactors(edges=[int(x) for x in edges], factors=[1.0], ci=[(1.0, 1.0)], contacts=contacts.tolist(),
                            abandoned=events.tolist(), exp_mean_s=[tuple(float(x) for x in exp_means[0])],
                            shape=float("nan"), logrank_p=float("nan"))
    ref = int(np.argmax(contacts))
    te = np.maximum(t, 0.5)  # an abandonment at 0 s: half a second (the log's resolution is 1 s)

    def nll(theta: np.ndarray) -> float:
        log_shape, log_scale, rest = theta[0], theta[1], theta[2:]
        shape = np.exp(log_shape)
        log_f = np.insert(rest, ref, 0.0)
        log_lam = log_scale + log_f[band]
        with np.errstate(over="ignore"):  # a trial step far out: the likelihood is then 0 (inf here)
            z = np.exp(shape * (np.log(te) - log_lam))
        z = np.where(t > 0, z, 0.0)  # a wait of 0 adds nothing to the survival term
        ll = np.sum(e * (log_shape + (shape - 1) * np.log(te) - shape * log_lam)) - np.sum(z)
        return -float(ll)

    start = np.concatenate([[0.0, np.log(t.sum() / max(1, e.sum()))], np.zeros(k - 1)])
    res = optimize.minimize(nll, start, method="BFGS")
    cov = np.linalg.inv(_hessian(nll, res.x))
    log_f = np.insert(res.x[2:], ref, 0.0)
    se = np.sqrt(np.insert(np.diag(cov)[2:], ref, 0.0))
    ci = [(float(np.exp(f - 1.959964 * s)), float(np.exp(f + 1.959964 * s))) for f, s in zip(log_f, se)]
    return QueueFactors(edges=[int(x) for x in edges], factors=[float(np.exp(f)) for f in log_f], ci=ci,
                        contacts=contacts.tolist(), abandoned=events.tolist(),
                        exp_mean_s=[tuple(float(x) for x in m) for m in exp_means],
                        shape=float(np.exp(res.x[0])), logrank_p=logrank(t, e, band, k))


def factor_of(q: QueueFactors, found: np.ndarray) -> np.ndarray:
    """Each contact's factor as written (``spec``), by the band of the queue it found."""
    return np.asarray(q.spec()["factor"])[np.searchsorted(q.edges, np.asarray(found), side="right") - 1]


def fit_for_channel(contacts: pd.DataFrame, channel: str, index: pd.Index) -> tuple[QueueFactors, np.ndarray]:
    """The factors of ``channel`` from its contacts at ``index`` (the fit days), each counting
    the queue it found among all of the channel's contacts in ``contacts`` (every day of the
    log, so a fit day's first callers see what the evening before left); and that count."""
    own = contacts[contacts["channel"] == channel]
    found = pd.Series(queue_found(own), index=own.index).loc[index].to_numpy()
    g = own.loc[index]
    return fit_queue_factors(g["wait_s"].fillna(0).to_numpy(), (g["outcome"] == "abandoned").to_numpy(),
                             found), found


def _hessian(f, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x``."""
    n = len(x)
    out = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            def at(di: float, dj: float) -> float:
                y = x.copy()
                y[i] += di
                y[j] += dj
                return f(y)
            out[i, j] = out[j, i] = (at(h, h) - at(h, -h) - at(-h, h) + at(-h, -h)) / (4 * h * h)
    return out
