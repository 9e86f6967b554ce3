"""`backtest`: fit on some days of a log, predict the others, measure the error per hour.

Three predictions of the test days, each beside the analytic Erlang A one with the
same inputs (arrival rate and agents per day × hour, the fitted mean handle time,
exponential patience with the fitted MLE mean):

* ``replay / logged_in``: the test days' own arrivals (volume per interval and
  reason mix), their own handle times (``handling="own"``, the default; "fitted":
  the fit days') and their own agents present in the log;
* ``replay / effective``: the same arrivals and handle times, the test days' agents
  present × the availability factor per hour fitted on the fit days (and the fitted
  wrap-up, with ``--wrap-up fit``);
* ``forecast / effective``: the fitted scenario as it is (weekday profiles, redials
  and repeats, staffing from the fit days × availability) run over the test days'
  calendar; what a planner forecasting from the fit days would have predicted.

Per channel × hour of day (test days pooled) and over all hours: abandonment,
mean wait over all arrivals, P(wait > 0), service level (answered within the
threshold / offered), with the simulation's 95 % CI over replications, the
absolute and relative errors, and the hourly mean absolute error.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np
import pandas as pd

from simsvc.calibrate import classes as cl
from simsvc.calibrate.effective import scaled
from simsvc.calibrate.fit import FitOptions, FitResult, fit, fit_handling, write_fit
from simsvc.calibrate.logs import ContactLog
from simsvc.calibrate.replay import METRICS, observed_hours, rates, replay_dict, simulate_hours
from simsvc.observe.summary import summarise

MIN_HOUR_CONTACTS = 100  # hours with fewer observed contacts over the test days are not scored
VARIANTS = (("replay", "logged_in"), ("replay", "effective"), ("forecast", "effective"))
# Handle times of a replay: "fitted" on the fit days, or the test days' "own" (their observed
# work per contact, as their own arrivals are their observed volumes).
HANDLING = ("fitted", "own")
ALL_HOURS = -1


@dataclass
class BacktestResult:
    fit: FitResult
    test_days: list
    hours: pd.DataFrame  # mode, staffing, channel, hour (-1 = all), metric, observed, predicted, ci_low, ci_high, errors, erlang_a
    summary: pd.DataFrame  # mode, staffing, channel, metric: all-hours values and hourly errors
    reps: int


def backtest(log: ContactLog, fit_days: list, test_days: list, *, reps: int = 6, seed: int = 1,
             options: FitOptions = FitOptions(), variants=VARIANTS, handling: str = "own",
             progress: Callable[[str, int, int], None] | None = None) -> BacktestResult:
    say = progress or (lambda what, i, n: None)
    if handling not in HANDLING:
        raise ValueError(f"replay handling {handling!r}: one of {', '.join(HANDLING)}")
    overlap = set(fit_days) & set(test_days)
    if overlap:
        raise ValueError(f"fit and test days overlap ({len(overlap)} days)")
    res = fit(log, fit_days, options, progress=progress)
    c = res.log.contacts  # classed: one reason per (reason, routing class) when the log has classes
    classes = res.behaviour.get("classes", {})
    thresholds = {ch: _threshold(spec) for ch, spec in res.behaviour["channels"].items()}
    obs = observed_hours(c, test_days, thresholds)
    if classes:  # per class too, as channel "phone:<class>" (no Erlang A: it has no classes)
        obs = pd.concat([obs, cl.class_hour_counts(c[c["day"].isin(test_days)], classes, thresholds, False)],
                        ignore_index=True)
    frames = []
    own = None  # the test days' own handling, fitted once
    for k, (mode, staffing) in enumerate(variants):
        say(f"{mode} / {staffing}", k, len(variants))
        if mode == "replay":
            effective = staffing == "effective"
            staff = _test_staffing(res, c, test_days, effective)
            # logged_in: the agents seen as they are, without the fitted wrap-up or factor
            behaviour = res.behaviour if effective else {**res.behaviour, "wrap_up_s": 0.0}
            aht = None
            # a trace replay: answered contacts keep their logged handle times only with "own"
            behaviour = {**behaviour, "own_handles": handling == "own"}
            if handling == "own":  # the test days' own handle times, as their own arrivals
                if own is None:
                    own = fit_handling(c[c["day"].isin(test_days)], list(res.behaviour["channels"]),
                                       res.behaviour["reasons"], log.file)
                behaviour = {**behaviour, "handling": own[0]}
                aht = {ch: e.detail["sample_mean_s"] for (ch, r), e in own[1].items() if r is None}
            wrap_s = float(behaviour.get("wrap_up_s", 0.0))
            data = replay_dict(behaviour, c, staff, test_days, options.interval_s,
                               name=f"backtest-{mode}-{staffing}", seed=seed)
            sim = _simulate(data, reps, seed, classes)
            erl = erlang_hours(c, test_days, staff, res, thresholds, wrap_s=wrap_s, aht_s=aht)
            erl_bands = erlang_hours(c, test_days, staff, res, thresholds, by_band=True, wrap_s=wrap_s, aht_s=aht)
        else:
            sim, erl, erl_bands = _forecast(res, c, test_days, reps, seed, thresholds)
        frames.append(_compare(obs, sim, erl, erl_bands).assign(mode=mode, staffing=staffing))
        say(f"{mode} / {staffing}", k + 1, len(variants))
    hours = pd.concat(frames, ignore_index=True)
    return BacktestResult(res, test_days, hours, _summary(hours), reps)


def _threshold(spec: dict) -> float:
    from simsvc.config.units import parse_duration

    return parse_duration(spec.get("service_level_threshold", "20s"))


def _test_staffing(res: FitResult, c: pd.DataFrame, days: list, effective: bool) -> pd.DataFrame:
    """Agents present on the test days (pools as fitted), × the fitted availability if asked."""
    from simsvc.calibrate.agents import PoolPlan, presence

    plan = PoolPlan(res.behaviour["pools"], _agent_pools(res, c, days), [])
    staff = presence(c[c["day"].isin(days)], plan, res.options.interval_s, res.options.presence_gap_s,
                     res.options.staffing_basis)
    return scaled(staff, res.availability) if effective and res.availability else staff


def _agent_pools(res: FitResult, c: pd.DataFrame, days: list) -> dict[str, str]:
    """Test-day agents keep their fitted pool; agents first seen on test days go by the same rule."""
    from simsvc.calibrate.agents import find_pools

    c = cl.base_view(c)  # pools are over the original reasons (routing classes share the agents)
    multi = c["reason"].nunique() > 1
    known = find_pools(c[c["day"].isin(res.days)], multi_reason=multi).agent_pool
    later = find_pools(c[c["day"].isin(days)], multi_reason=multi).agent_pool
    pools = set(res.behaviour["pools"])
    return {a: known.get(a, p if p in pools else "general") for a, p in later.items()}


def days_without_forecast(fit_days: list, test_days: list) -> list:
    """The test days whose weekday none of the fit days has: the fitted scenario's weekday
    profile has no arrivals on them, so the forecast (simulated and Erlang A) has none there."""
    seen = {d.weekday() for d in fit_days}
    return [d for d in test_days if d.weekday() not in seen]


def _forecast(res: FitResult, c: pd.DataFrame, test_days: list, reps: int, seed: int, thresholds):
    """The fitted scenario as written, run over the calendar of the test days."""
    from simsvc.calibrate.estimate import WEEKDAYS
    from simsvc.config.load import load_scenario

    first, last = min(test_days), max(test_days)
    span = (last - first).days + 1
    keep = {(d - first).days for d in test_days}
    with tempfile.TemporaryDirectory() as tmp:
        path = write_fit(res, tmp + "/fit", report=False)
        scenario = load_scenario(path, [f"horizon={span}d", f"start_day={WEEKDAYS[first.weekday()]}"])
    sim = _simulate(scenario, reps, seed, res.behaviour.get("classes", {}), keep_days=keep)
    # Erlang A on the forecast: the fit days' mean arrivals and effective agents of the same weekday × hour.
    fit_c = c[c["day"].isin(res.days)]
    n_wd = pd.Series([d.weekday() for d in res.days]).value_counts()
    lam = (fit_c.assign(wd=fit_c["day"].dt.day_of_week, hour=(fit_c["clock_s"] // 3600).astype(int))
           .groupby(["channel", "wd", "hour"], observed=True).size().rename("n").reset_index())
    lam["n"] = lam["n"] / lam["wd"].map(n_wd)
    eff = res.effective_staffing()
    agents = (eff.assign(wd=eff["day"].dt.day_of_week, hour=(eff["start_s"] // 3600).astype(int))
              .groupby(["wd", "hour"])["agents"].sum() * res.options.interval_s / 3600)
    agents = agents / agents.index.get_level_values("wd").map(n_wd)
    rows = []
    for d in test_days:
        wd = d.weekday()
        for r in lam[lam["wd"] == wd].itertuples():
            rows.append((str(r.channel), r.hour, r.n, float(agents.get((wd, r.hour), 0.0))))
    frame = pd.DataFrame(rows, columns=["channel", "hour", "offered", "agents"])
    return sim, _erlang_rows(frame, res, thresholds), _erlang_rows(frame, res, thresholds, by_band=True)


def _simulate(data, reps: int, seed: int, classes: dict, keep_days: set[int] | None = None) -> pd.DataFrame:
    """Simulated counts per replication × channel × hour, and per ``channel:class`` when there are classes."""
    if not classes:
        return simulate_hours(data, reps, seed, keep_days)
    from simsvc.calibrate.replay import each_replication
    from simsvc.config.load import validate

    scenario = validate(data, file=f"<replay {data['name']}>") if isinstance(data, dict) else data
    thresholds = {ch: float(scenario.channels[ch].service_level_threshold) for ch in scenario.channels}
    pairs = each_replication(partial(_class_counts_of, classes, thresholds, keep_days), scenario, reps, seed)
    return pd.concat([frame for pair in pairs for frame in pair], ignore_index=True)


def _class_counts_of(classes: dict, thresholds: dict, keep_days: set[int] | None, scenario, seed: int,
                     replication: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    from simsvc.calibrate.replay import hour_counts, simulate_contacts_on

    contacts = simulate_contacts_on(keep_days, scenario, seed, replication)
    return hour_counts(contacts, scenario), cl.class_hour_counts(contacts, classes, thresholds, True)


def erlang_hours(c: pd.DataFrame, days: list, staff: pd.DataFrame, res: FitResult, thresholds,
                 by_band: bool = False, wrap_s: float | None = None, aht_s: dict | None = None) -> pd.DataFrame:
    """Erlang A per test day × hour (observed arrivals, given agents), pooled per hour; ``wrap_s``
    (default: the fitted wrap-up) is added to the handle time; ``aht_s`` (channel → mean handle
    time) replaces the fitted one."""
    t = c[c["day"].isin(days)]
    lam = (t.assign(hour=(t["clock_s"] // 3600).astype(int))
           .groupby(["channel", "day", "hour"], observed=True).size().rename("offered").reset_index())
    per_hour = res.options.interval_s / 3600
    agents = (staff.assign(hour=(staff["start_s"] // 3600).astype(int))
              .groupby(["day", "hour"])["agents"].sum() * per_hour).rename("agents").reset_index()
    rows = lam.merge(agents, on=["day", "hour"], how="left").fillna({"agents": 0.0})
    rows["channel"] = rows["channel"].astype(str)
    return _erlang_rows(rows[["channel", "hour", "offered", "agents"]], res, thresholds, by_band, wrap_s, aht_s)


def _erlang_rows(rows: pd.DataFrame, res: FitResult, thresholds, by_band: bool = False,
                 wrap_s: float | None = None, aht_s: dict | None = None) -> pd.DataFrame:
    """Erlang A counts (expected abandoned, waited, wait sum, within threshold) summed per channel × hour.

    Fractional agents interpolate linearly between the neighbouring whole numbers;
    with all channels sharing the agents, each channel sees the agents of its hour.
    ``by_band``: mean handling and exponential patience of the hour's band (``res.bands``)
    instead of one value for all hours, to measure what hour bands would be worth.
    """
    from simsvc.analytic.erlang import mmc_m
    from simsvc.calibrate.bands import band_value

    if wrap_s is None:  # the fitted after-call work (calibrate/wrap.py), as the simulation has it
        wrap_s = float(res.behaviour.get("wrap_up_s", 0.0))
    out = []
    cache: dict = {}
    for r in rows.itertuples():
        aht = ((aht_s or {}).get(r.channel) or res.estimates["handling"][(r.channel, None)].detail["sample_mean_s"]) \
            + wrap_s
        pat = res.estimates["patience"].get(r.channel)
        patience = pat.detail.get("unscaled_exponential_mle_mean_s", pat.detail["exponential_mle_mean_s"]) if pat else 1e9
        if by_band:
            band = band_value(res.bands, r.channel, "handling mean", r.hour)
            aht = band + wrap_s if band else aht
            patience = (band_value(res.bands, r.channel, "patience exponential mean", r.hour) or patience
                        if pat else patience)
        lam = r.offered / 3600.0
        a = max(float(r.agents), 0.0)
        lo = int(np.floor(a))
        w = a - lo
        vals = np.zeros(4)
        for c_, wt in ((lo, 1 - w), (lo + 1, w)):
            if wt <= 0:
                continue
            key = (round(lam, 9), c_, r.channel, aht, patience)
            if key not in cache:
                if c_ == 0:
                    cache[key] = np.array([1.0, patience, 1.0, 0.0])  # nobody there: everyone waits and abandons
                else:
                    m = mmc_m(lam, aht, c_, patience, thresholds[r.channel])
                    cache[key] = np.array([m.p_abandon, m.wait_mean_s, m.p_wait, m.service_level])
            vals += wt * cache[key]
        out.append((r.channel, r.hour, r.offered, *(vals * r.offered)))
    frame = pd.DataFrame(out, columns=["channel", "hour", "offered", "abandoned", "wait_sum_s", "waited", "within"])
    return frame.groupby(["channel", "hour"], as_index=False).sum()


def _compare(obs: pd.DataFrame, sim: pd.DataFrame, erl: pd.DataFrame, erl_bands: pd.DataFrame) -> pd.DataFrame:
    """Observed vs simulated (mean and CI over replications) vs Erlang A (and Erlang A with hour-band
    handling and patience), per channel × hour and all hours."""
    counts = ["offered", "abandoned", "waited", "wait_sum_s", "within"]

    def with_all(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        every = frame.groupby(keys, as_index=False)[counts].sum().assign(hour=ALL_HOURS)
        return rates(pd.concat([frame, every], ignore_index=True))

    o = with_all(obs, ["channel"])
    s = with_all(sim, ["replication", "channel"])
    e = with_all(erl, ["channel"])
    eb = with_all(erl_bands, ["channel"]).set_index(["channel", "hour"])
    # Mean and 95 % t-interval over replications, as for every simulated metric (observe.summary).
    long = s.melt(id_vars=["replication", "channel", "hour"], value_vars=list(METRICS), var_name="metric")
    ci = summarise(long, keys=("channel", "hour", "metric")).set_index(["channel", "hour", "metric"])
    rows = []
    for metric in METRICS:
        for r in o.itertuples():
            key = (r.channel, r.hour, metric)
            observed = getattr(r, metric)
            mean, low, high = ci.loc[key, ["mean", "ci_low", "ci_high"]] if key in ci.index else (np.nan,) * 3
            er = e[(e["channel"] == r.channel) & (e["hour"] == r.hour)]
            erlang = float(er[metric].iloc[0]) if len(er) else np.nan
            banded = float(eb.loc[(r.channel, r.hour), metric]) if (r.channel, r.hour) in eb.index else np.nan
            rows.append({"channel": r.channel, "hour": r.hour, "metric": metric, "contacts": int(r.offered),
                         "observed": observed, "predicted": mean, "ci_low": low, "ci_high": high,
                         "abs_error": mean - observed, "rel_error": _rel(mean, observed),
                         "erlang_a": erlang, "erlang_abs_error": erlang - observed,
                         "erlang_rel_error": _rel(erlang, observed), "erlang_a_bands": banded,
                         "erlang_bands_abs_error": banded - observed,
                         "erlang_bands_rel_error": _rel(banded, observed)})
    return pd.DataFrame(rows)


def _rel(pred: float, obs: float) -> float:
    return (pred - obs) / obs if obs and np.isfinite(obs) and obs != 0 else np.nan


def _summary(hours: pd.DataFrame) -> pd.DataFrame:
    """All-hours values and relative errors, and per-hour mean absolute errors (hours with ≥ 100 contacts)."""
    rows = []
    for (mode, staffing, channel, metric), g in hours.groupby(["mode", "staffing", "channel", "metric"], sort=False):
        every = g[g["hour"] == ALL_HOURS].iloc[0]
        h = g[(g["hour"] != ALL_HOURS) & (g["contacts"] >= MIN_HOUR_CONTACTS)]
        rows.append({
            "mode": mode, "staffing": staffing, "channel": channel, "metric": metric,
            "observed": every["observed"], "predicted": every["predicted"], "ci_low": every["ci_low"],
            "ci_high": every["ci_high"], "rel_error": every["rel_error"], "erlang_a": every["erlang_a"],
            "erlang_rel_error": every["erlang_rel_error"], "hours_scored": len(h),
            "hourly_mae": h["abs_error"].abs().mean(), "hourly_mae_rel": h["rel_error"].abs().mean(),
            "erlang_hourly_mae": h["erlang_abs_error"].abs().mean(),
            "erlang_hourly_mae_rel": h["erlang_rel_error"].abs().mean(),
            "erlang_bands_rel_error": every["erlang_bands_rel_error"],
            "erlang_bands_hourly_mae": h["erlang_bands_abs_error"].abs().mean()})
    return pd.DataFrame(rows)
