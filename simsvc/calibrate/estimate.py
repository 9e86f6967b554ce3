"""Estimators over a ``ContactLog``: demand, handling, redials and repeats.

Each estimator returns plain numbers with the method and the sample size, so the
writer can put one comment line per estimate in the scenario. Patience (from censored
waits) is in :mod:`simsvc.calibrate.patience`; staffing and pools (which need agent
activity) are in :mod:`simsvc.calibrate.agents`.
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
MIN_REASON_HANDLING = 200  # handle times needed to fit a reason of its own (else the channel's fit)


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
