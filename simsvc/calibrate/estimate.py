"""Estimators over a ``ContactLog``: demand, handling, patience, redials and repeats.

Each estimator returns plain numbers with the method and the sample size, so the
writer can put one comment line per estimate in the scenario. Staffing and pools
(which need agent activity) are in :mod:`simsvc.calibrate.agents`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

DAY_S = 86400.0
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A handling fit is used when its Kolmogorov–Smirnov distance to the data is below
# this; otherwise the empirical distribution is (large samples make every p-value
# tiny, so the distance itself, not a test, is the criterion).
KS_LIMIT = 0.05
EMPIRICAL_POINTS = 100
MIN_SAMPLE = 30


@dataclass
class Estimate:
    """One estimated quantity: value(s), method, sample size, and a note for the report."""

    value: object
    method: str
    n: int
    detail: dict = field(default_factory=dict)

    def comment(self) -> str:
        return f"{self.method}; n = {self.n:,}"


def absolute_s(contacts: pd.DataFrame) -> np.ndarray:
    """Arrival as seconds from midnight of the log's first day (keeps days and clock together)."""
    day0 = contacts["day"].min()
    return ((contacts["day"] - day0).dt.days.to_numpy() * DAY_S + contacts["clock_s"].to_numpy())


# --------------------------------------------------------------------------- demand
def demand_volumes(contacts: pd.DataFrame, interval_s: float, days: list[pd.Timestamp],
                   weight: pd.Series | None = None) -> pd.DataFrame:
    """Mean contacts per weekday × interval × channel over the days of that weekday in ``days``.

    ``weight`` (per contact, default 1) lets the caller count only new issues.
    Columns: ``channel, day`` (mon..sun), ``start_s``, ``volume``, ``n_days``.
    """
    c = contacts
    w = pd.Series(1.0, index=c.index) if weight is None else weight
    slot = (c["clock_s"] // interval_s).astype(int)
    sums = (pd.DataFrame({"channel": c["channel"].astype(str), "weekday": c["day"].dt.day_of_week, "slot": slot, "w": w})
            .groupby(["channel", "weekday", "slot"])["w"].sum())
    n_days = pd.Series([d.weekday() for d in days]).value_counts()
    rows = []
    for (ch, wd, s), total in sums.items():
        rows.append((ch, WEEKDAYS[wd], s * interval_s, total / n_days.get(wd, 1), int(n_days.get(wd, 0))))
    return pd.DataFrame(rows, columns=["channel", "day", "start_s", "volume", "n_days"])


def daily_cv(contacts: pd.DataFrame, days: list[pd.Timestamp]) -> Estimate:
    """Day-to-day busyness net of Poisson noise, all channels together (shared factor).

    Each day's total over its weekday's mean is a busyness ratio r; for Poisson counts
    with mean m, var(r) = cv² + 1/m, so cv² = mean over days of ((r − 1)² − 1/m),
    floored at 0. Weekdays seen once carry no information and are skipped.
    """
    totals = contacts.groupby("day").size().reindex(days, fill_value=0)
    frame = pd.DataFrame({"n": totals.to_numpy(), "wd": [d.weekday() for d in totals.index]})
    terms = []
    for _, g in frame.groupby("wd"):
        if len(g) < 2:
            continue
        m = g["n"].mean()
        if m <= 0:
            continue
        # The weekday mean is estimated from the same days: (k−1)/k corrects the variance.
        k = len(g)
        r = g["n"] / m
        terms.append(((r - 1.0) ** 2).sum() / (k - 1) - 1.0 / m)
    if not terms:
        return Estimate(0.0, "not estimable: no weekday seen twice", 0)
    cv2 = max(0.0, float(np.mean(terms)))
    return Estimate(round(float(np.sqrt(cv2)), 3),
                    "sd of day total / weekday mean, net of Poisson variance 1/mean", len(days))


def opening_hours(contacts: pd.DataFrame, interval_s: float, days: list[pd.Timestamp]) -> dict[str, Estimate]:
    """Per channel: the span of intervals where contacts arrive on at least half the days.

    Written as one span for every day when that span holds at least 99 % of the
    channel's contacts, else ``24/7`` (contacts outside the span would be lost).
    """
    out = {}
    n_days = max(1, len(days))
    for ch, g in contacts.groupby("channel", observed=True):
        slot = (g["clock_s"] // interval_s).astype(int)
        seen = pd.DataFrame({"day": g["day"], "slot": slot}).drop_duplicates().groupby("slot").size()
        busy = seen[seen >= 0.5 * n_days].index
        if len(busy) == 0:
            out[str(ch)] = Estimate("24/7", "no interval has contacts on half the days", len(g))
            continue
        a, b = busy.min() * interval_s, (busy.max() + 1) * interval_s
        inside = float(((g["clock_s"] >= a) & (g["clock_s"] < b)).mean())
        span = f"{_clock(a)}-{_clock(b)}"
        if inside >= 0.99:
            out[str(ch)] = Estimate(span, f"intervals with contacts on ≥ half the days ({inside:.1%} of "
                                    "contacts inside)", len(g))
        else:
            out[str(ch)] = Estimate("24/7", f"contacts around the clock: busy span {span} holds only "
                                    f"{inside:.1%}", len(g))
    return out


def _clock(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}"


# --------------------------------------------------------------------------- handling
def fit_handling(x: np.ndarray) -> Estimate:
    """Lognormal and gamma by maximum likelihood, and the empirical distribution; pick one.

    Criterion: the family with the lower AIC (both have two parameters, so the higher
    likelihood), used if its Kolmogorov–Smirnov distance to the data is below
    ``KS_LIMIT``; otherwise the empirical distribution (``EMPIRICAL_POINTS`` quantiles).
    The value is a distribution mapping for the scenario.
    """
    from scipy import stats

    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x) & (x > 0)]
    n = len(x)
    if n < MIN_SAMPLE:
        raise ValueError(f"only {n} positive handle times (need {MIN_SAMPLE})")
    logs = np.log(x)
    mu, sigma = logs.mean(), logs.std()
    ll_logn = float(np.sum(stats.lognorm.logpdf(x, sigma, scale=np.exp(mu))))
    shape, _, scale = stats.gamma.fit(x, floc=0)
    ll_gamma = float(np.sum(stats.gamma.logpdf(x, shape, scale=scale)))
    ks_logn = float(stats.kstest(x, "lognorm", args=(sigma, 0, np.exp(mu))).statistic)
    ks_gamma = float(stats.kstest(x, "gamma", args=(shape, 0, scale)).statistic)
    fits = {
        "lognormal": (ll_logn, ks_logn, float(np.exp(mu + sigma**2 / 2)), float(np.sqrt(np.expm1(sigma**2)))),
        "gamma": (ll_gamma, ks_gamma, float(shape * scale), float(1 / np.sqrt(shape))),
    }
    best = max(fits, key=lambda k: fits[k][0])
    detail = {k: {"aic": round(4 - 2 * v[0], 1), "ks": round(v[1], 4), "mean_s": round(v[2], 1),
                  "cv": round(v[3], 3)} for k, v in fits.items()}
    detail.update(sample_mean_s=round(float(x.mean()), 1), sample_cv=round(float(x.std() / x.mean()), 3),
                  mean_se_s=round(float(x.std() / np.sqrt(n)), 2))
    ll, ks, mean, cv = fits[best]
    if ks < KS_LIMIT:
        value = {"dist": best, "mean": f"{_round_s(mean)}s", "cv": round(cv, 3)}
        method = (f"{best} MLE (AIC {detail[best]['aic']:.0f} vs {detail[_other(best)]['aic']:.0f} for "
                  f"{_other(best)}; KS distance {ks:.3f} < {KS_LIMIT})")
    else:
        value = empirical_quantiles(x, EMPIRICAL_POINTS)
        method = (f"empirical ({EMPIRICAL_POINTS} quantiles): best fit {best} has KS distance "
                  f"{ks:.3f} ≥ {KS_LIMIT}")
    detail["chosen"] = value["dist"]
    return Estimate(value, method, n, detail)


def _other(name: str) -> str:
    return "gamma" if name == "lognormal" else "lognormal"


def _round_s(x: float) -> float:
    """Seconds rounded to what a log in whole seconds supports (3 significant digits, ≥ 0.1 s)."""
    if x <= 0:
        return 0.0
    digits = max(-1, int(np.floor(np.log10(x))) - 2)
    return float(round(x, -digits)) if digits > 0 else round(x, max(0, -digits))


def empirical_quantiles(x: np.ndarray, k: int) -> dict:
    """``k`` mid-quantiles of ``x`` as an equally weighted empirical distribution."""
    q = np.quantile(np.asarray(x, float), (np.arange(k) + 0.5) / k)
    return {"dist": "empirical", "values": [float(round(v, 1)) for v in q]}


# --------------------------------------------------------------------------- patience
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


# --------------------------------------------------------------------------- redials and repeats
def follow_ups(contacts: pd.DataFrame, redial_window_s: float, repeat_window_s: float,
               by_reason: bool = False) -> dict:
    """Redials after abandonment and repeats after answered contacts, from customer ids.

    A customer's next contact within ``redial_window_s`` of giving up is a redial;
    the next contact within ``repeat_window_s`` of the end of an answered contact
    (same reason when ``by_reason``) is a repeat (so 1 − share is FCR). Only
    identified customers count. Returns shares, delays and a per-contact flag
    ``follow_up`` (True for contacts that are redials or repeats) for the demand.
    """
    c = contacts
    ident = c["customer_id"].notna().to_numpy()
    arrive = absolute_s(c)
    wait = c["wait_s"].fillna(0).to_numpy()
    handle = c["handle_s"].fillna(0).to_numpy()
    wrap = c["wrap_s"].fillna(0).to_numpy()
    ab = (c["outcome"] == "abandoned").to_numpy()
    idx = np.nonzero(ident)[0]
    key = c["customer_id"].to_numpy()[idx].astype(str)
    if by_reason:
        key = np.char.add(np.char.add(key, "|"), c["reason"].astype(str).to_numpy()[idx])
    order = np.lexsort((arrive[idx], key))
    i = idx[order]
    same_next = np.zeros(len(i), bool)
    same_next[:-1] = key[order][1:] == key[order][:-1]
    nxt = np.empty(len(i), int)
    nxt[:-1] = i[1:]
    nxt[-1:] = -1
    end_ab = arrive[i] + wait[i]
    end_served = arrive[i] + wait[i] + handle[i] + wrap[i]
    gap_ab = np.where(same_next, arrive[nxt] - end_ab, np.inf)
    gap_rep = np.where(same_next, arrive[nxt] - end_served, np.inf)
    is_redial = ab[i] & same_next & (gap_ab <= redial_window_s) & (gap_ab >= 0)
    is_repeat = ~ab[i] & same_next & (gap_rep <= repeat_window_s) & (gap_rep >= -1)
    follow = np.zeros(len(c), bool)
    follow[nxt[is_redial | is_repeat]] = True
    n_ab, n_ans = int(ab[i].sum()), int((~ab[i]).sum())
    return {
        "identified": int(ident.sum()),
        "redial_share": Estimate(round(is_redial.sum() / n_ab, 3) if n_ab else 0.0,
                                 f"abandoners (identified) with another contact within {redial_window_s / 60:g}min",
                                 n_ab),
        "redial_delays_s": gap_ab[is_redial],
        "repeat_share": Estimate(round(is_repeat.sum() / n_ans, 3) if n_ans else 0.0,
                                 f"answered contacts (identified) followed by another contact "
                                 f"{'about the same reason ' if by_reason else ''}within "
                                 f"{repeat_window_s / 3600:g}h of their end", n_ans),
        "repeat_delays_s": np.maximum(gap_rep[is_repeat], 0.0),
        "follow_up": pd.Series(follow, index=c.index),
    }


def delay_distribution(delays: np.ndarray, what: str) -> Estimate:
    """Delays as an empirical distribution (≥ 30 observations) or their exponential mean."""
    d = np.asarray(delays, float)
    if len(d) >= MIN_SAMPLE:
        return Estimate(empirical_quantiles(np.maximum(d, 1.0), 40),
                        f"{what}: empirical, 40 quantiles (delays are within the window)", len(d))
    mean = float(d.mean()) if len(d) else 600.0
    return Estimate({"dist": "exponential", "mean": f"{_round_s(max(mean, 1.0))}s"},
                    f"{what}: exponential with the observed mean" if len(d) else f"{what}: none observed, "
                    "default 10min", len(d))


def shares(counts: pd.Series, names: list[str], digits: int = 4) -> dict[str, float]:
    """Shares of ``names`` rounded to ``digits`` that still sum to exactly 1 (the largest absorbs rounding)."""
    total = float(counts.sum())
    raw = {n: float(counts.get(n, 0.0)) / total for n in names}
    out = {n: round(v, digits) for n, v in raw.items()}
    top = max(out, key=out.get)
    out[top] = round(1.0 - sum(v for n, v in out.items() if n != top), digits)
    return out
