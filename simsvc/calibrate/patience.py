"""Patience from censored waits: Kaplan–Meier, its quantiles with intervals, and the
distribution written into the scenario (the curve plus an exponential tail).

An abandoner's wait is an observed patience; an answered contact's wait is a
right-censored one (the caller would have waited at least that long).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simsvc.calibrate.estimate import MIN_SAMPLE, Estimate


@dataclass(frozen=True)
class KaplanMeier:
    """Survival of patience at the distinct abandonment times (events before censorings at ties)."""

    times: np.ndarray
    survival: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray

    def quantile(self, p: float) -> float:
        """Smallest time with F(t) ≥ p (nan when the curve never gets there)."""
        return self._first_below(self.survival, p)

    def quantile_ci(self, p: float, z: float = 1.959964) -> tuple[float, float]:
        """95 % interval of the ``p`` quantile: the times where the pointwise band of S(t)
        crosses 1 − p (Brookmeyer–Crowley inversion; Greenwood variance on the log scale,
        as R's ``survfit`` by default). The upper end is nan when the band's upper edge never
        falls to 1 − p within the data (the data cannot bound it)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            # Greenwood: var(log S(t)) = Σ d / (n (n − d)) over event times up to t.
            g = np.cumsum(self.events / (self.at_risk * (self.at_risk - self.events)))
            half = z * np.sqrt(g)
            upper = np.minimum(1.0, self.survival * np.exp(half))
            lower = self.survival * np.exp(-half)
        lower = np.where(np.isfinite(lower), lower, 0.0)  # S = 0 at the last time: log undefined
        upper = np.where(np.isfinite(upper), upper, 1.0)
        # The lower band of S reaches 1 − p first: that is the quantile's lower end.
        return self._first_below(lower, p), self._first_below(upper, p)

    def _first_below(self, survival: np.ndarray, p: float) -> float:
        idx = np.nonzero(1 - survival >= p - 1e-12)[0]
        return float(self.times[idx[0]]) if len(idx) else float("nan")


def kaplan_meier(wait_s: np.ndarray, abandoned: np.ndarray) -> KaplanMeier:
    """Kaplan–Meier estimate: an abandoner's wait is an observed patience, an answered
    contact's wait a right-censored one."""
    t = np.asarray(wait_s, float)
    e = np.asarray(abandoned, bool)
    order = np.argsort(t, kind="stable")
    t, e = t[order], e[order]
    times, first = np.unique(t, return_index=True)
    at_risk = len(t) - first
    events = np.add.reduceat(e.astype(int), first) if len(t) else np.array([], int)
    keep = events > 0
    times, at_risk, events = times[keep], at_risk[keep], events[keep]
    survival = np.cumprod(1.0 - events / at_risk)
    return KaplanMeier(times, survival, at_risk, events)


def fit_patience(wait_s: np.ndarray, abandoned: np.ndarray, points: int = 80, tail_points: int = 20) -> Estimate:
    """Patience as an empirical distribution from Kaplan–Meier, with an exponential tail.

    The KM curve is used while at least max(30, 1 % of contacts) are still at risk
    (below that it is noise); the mass left there, S(t_c), is spread over
    ``tail_points`` quantiles of an exponential beyond t_c whose rate is the
    abandonments after t_c over the waiting time spent after t_c (the exponential MLE
    of the tail). The curve up to t_c is compressed to ``points`` support points at
    equal steps of probability. The exponential MLE of the whole (total wait /
    abandonments) is kept for comparison.
    """
    t = np.asarray(wait_s, float)
    e = np.asarray(abandoned, bool)
    n, k = len(t), int(e.sum())
    if k < MIN_SAMPLE:
        raise ValueError(f"only {k} abandonments (need {MIN_SAMPLE})")
    km = kaplan_meier(t, e)
    exp_mean = float(t.sum() / k)
    min_risk = max(30, int(0.01 * n))
    ok = km.at_risk >= min_risk
    tc_idx = int(np.nonzero(ok)[0][-1]) if ok.any() else 0
    t_c = float(km.times[tc_idx])
    s_c = float(km.survival[tc_idx])
    beyond = t > t_c
    tail_events = int((beyond & e).sum())
    tail_exposure = float((t[beyond] - t_c).sum())
    tail_mean = tail_exposure / tail_events if tail_events >= 5 else exp_mean
    # Masses at the KM support points up to t_c, then compressed by probability steps.
    F = 1.0 - km.survival[: tc_idx + 1]
    mass = np.diff(np.concatenate([[0.0], F]))
    values, weights = _compress(km.times[: tc_idx + 1], mass, points)
    u = (np.arange(tail_points) + 0.5) / tail_points
    tail_values = t_c - tail_mean * np.log(1 - u)
    values = np.concatenate([values, tail_values])
    weights = np.concatenate([weights, np.full(tail_points, s_c / tail_points)])
    value = {"dist": "empirical", "values": [float(round(v, 1)) for v in values],
             "weights": [float(round(w, 6)) for w in weights]}
    km_mean = float(np.sum(values * weights) / np.sum(weights))
    quantiles = patience_quantiles(km, t_c, s_c, tail_mean)
    detail = {"exponential_mle_mean_s": round(exp_mean, 1), "exponential_mean_se_s": round(exp_mean / np.sqrt(k), 1),
              "km_median_s": km.quantile(0.5), "km_q25_s": km.quantile(0.25), "t_c_s": t_c,
              "survival_at_t_c": round(s_c, 4), "tail_mean_s": round(tail_mean, 1), "abandonments": k,
              "mean_s": round(km_mean, 1), "km": km, "quantiles": quantiles}
    method = (f"Kaplan–Meier on {k:,} abandonments, {n - k:,} answered waits censored; curve to "
              f"{t_c:.0f}s (≥ {min_risk} at risk), S = {s_c:.3f} beyond it spread as an exponential tail "
              f"(mean {tail_mean:.0f}s); exponential MLE for comparison: mean {exp_mean:.0f}s")
    return Estimate(value, method, n, detail)


PATIENCE_QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def patience_quantiles(km: KaplanMeier, t_c: float, s_c: float, tail_mean: float,
                       probs: tuple[float, ...] = PATIENCE_QUANTILES) -> list[dict]:
    """Quantiles of the written patience with 95 % intervals where the data bounds them.

    Up to ``t_c`` (enough contacts at risk) a quantile is the Kaplan–Meier one with its
    Greenwood interval; beyond, it comes from the exponential tail that was written and
    has no interval from the data (``source`` says which).
    """
    out = []
    for p in probs:
        if 1.0 - p >= s_c - 1e-12:
            low, high = km.quantile_ci(p)
            out.append({"p": p, "value_s": km.quantile(p), "ci_low_s": low, "ci_high_s": high,
                        "source": "Kaplan–Meier"})
        else:
            value = t_c - tail_mean * np.log((1.0 - p) / s_c)
            out.append({"p": p, "value_s": float(value), "ci_low_s": float("nan"), "ci_high_s": float("nan"),
                        "source": "exponential tail"})
    return out


def quantiles_text(quantiles: list[dict]) -> str:
    """``p10 12s [10, 15]; p50 95s [80, 110]; p90 900s (tail)`` for a comment line."""
    def one(q: dict) -> str:
        name = f"p{round(q['p'] * 100):d} {q['value_s']:.0f}s"
        if q["source"] != "Kaplan–Meier":
            return f"{name} (tail, no CI)"
        high = "open" if np.isnan(q["ci_high_s"]) else f"{q['ci_high_s']:.0f}"
        return f"{name} [{q['ci_low_s']:.0f}, {high}]"
    return "; ".join(one(q) for q in quantiles)


def _compress(times: np.ndarray, mass: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``points`` support points: group consecutive masses into equal-probability bins."""
    if len(times) <= points:
        return times.astype(float), mass
    cum = np.cumsum(mass)
    total = cum[-1]
    bins = np.minimum((cum / total * points - 1e-9).astype(int), points - 1)
    w = np.bincount(bins, weights=mass, minlength=points)
    v = np.bincount(bins, weights=mass * times, minlength=points)
    keep = w > 0
    return v[keep] / w[keep], w[keep]


def median_text(median_s: float) -> str:
    """A Kaplan–Meier median, or where the curve never falls to one half within the data."""
    return f"{median_s:.0f}s" if median_s == median_s else "beyond the data"
