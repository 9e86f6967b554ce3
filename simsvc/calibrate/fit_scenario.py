"""The fitted scenario as written: ``scenario.yaml``'s data with a comment per estimate (its
method and sample size), the CSV tables it names, its text, and the scenario folder.

:func:`simsvc.calibrate.fit.fit` estimates (into a :class:`~simsvc.calibrate.fit.FitResult`);
:func:`fill_scenario` turns the estimates into the scenario, in the weekly pattern of the fit
days; :func:`write_fit` writes the folder (with the fit report).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from simsvc.calibrate import agents as ag
from simsvc.calibrate import classes as cl
from simsvc.calibrate import estimate as est
from simsvc.calibrate import patience as pt
from simsvc.calibrate.bands import verdict_text
from simsvc.calibrate.delays import delay_comments
from simsvc.calibrate.effective import MATCHES, refine_note
from simsvc.calibrate.replay import reason_data
from simsvc.calibrate.tables import (MIN_DAYS_SEEN, commented_yaml, demand_rows, scheduled_and_availability,
                                     thin_hour_notes, thin_staffing_notes, weekly_staffing)
from simsvc.config.names import file_stem

if TYPE_CHECKING:
    from simsvc.calibrate.fit import FitResult


def fill_scenario(res: FitResult, c: pd.DataFrame, volumes: pd.DataFrame, fu: dict, name: str) -> None:
    """Fill ``res.scenario``, its comments and tables (the weekly pattern of the fit days) from the
    estimates: ``c`` the fit days' contacts, ``volumes`` their new issues per weekday × interval
    (``estimate.demand_volumes``), ``fu`` their follow-ups (``estimate.follow_ups``)."""
    o, E = res.options, res.estimates
    weekdays = sorted({d.weekday() for d in res.days})
    wd_names = [est.WEEKDAYS[w] for w in weekdays]
    comments: dict[str, list[str]] = {}
    tables: dict[str, pd.DataFrame] = {}
    span = f"{res.days[0].date()} to {res.days[-1].date()}"
    data: dict = {"name": f"{name}-fit",
                  "description": f"fitted by simsvc fit from {Path(res.log.file).name}, {len(res.days)} days {span}",
                  "seed": 1, "replications": 5, "horizon": "7d", "interval": f"{int(o.interval_s)}s"}
    if o.interval_s % 60 == 0:
        data["interval"] = f"{int(o.interval_s // 60)}min"
    channels = {}
    for ch, spec in res.behaviour["channels"].items():
        spec = dict(spec)
        h = E["hours"].get(ch)
        if h is not None:
            spec["hours"] = h.value
            comments[f"channels.{ch}.hours"] = [f"opening hours: {h.comment()}"]
        if ch in E.get("patience_by_queue", {}):
            comments[f"channels.{ch}.patience_by_queue"] = E["patience_by_queue"][ch].comment()
        if ch in E["patience"]:
            p = E["patience"][ch]
            comments[f"channels.{ch}.patience"] = [
                f"patience: {p.method}" + (" (of wait ÷ the factor of the queue found, patience_by_queue below)"
                                          if ch in E.get("patience_by_queue", {}) else ""),
                f"n = {p.n:,} waits; KM median {pt.median_text(p.detail['km_median_s'])}, mean {p.detail['mean_s']:.0f}s",
                "quantiles with 95 % CI (Kaplan–Meier, Greenwood on the log scale, Brookmeyer–Crowley): "
                + pt.quantiles_text(p.detail["quantiles"])]
        if fu["identified"] and spec["kind"] != "async":
            share = fu["redial_share"]
            delay = est.delay_distribution(fu["redial_delays_s"], "redial delay")
            spec["redial"] = {"probability": float(share.value), "delay": delay.value}
            comments[f"channels.{ch}.redial"] = [f"redial: {share.comment()}", delay.comment()]
        channels[ch] = spec
    data["channels"] = channels
    demand = {}
    for ch, g in volumes.groupby("channel"):
        g = g.assign(day=g["day"].map(lambda d: est.WEEKDAYS.index(d)))
        rows = demand_rows(g, o.interval_s, weekdays)
        rows["day"] = rows["day"].map(lambda w: est.WEEKDAYS[w])
        csv = f"demand_{file_stem(ch)}.csv"   # a channel's name in the log may hold / or ..
        tables[csv] = rows
        spec = {"csv": csv}
        if len(res.behaviour["reasons"]) > 1:
            spec["mix"] = est.shares(c.loc[c["channel"] == ch, "reason"].astype(str).value_counts(),
                                     res.behaviour["reasons"])
        demand[ch] = spec
        n_days = volumes.groupby("day")["n_days"].first().to_dict()
        comments[f"demand.{ch}"] = [
            f"new issues per {int(o.interval_s // 60)} min: mean over the fit days of each weekday "
            f"({', '.join(f'{d} {n_days.get(d, 0)}' for d in wd_names)} days); identified redials and repeats "
            f"left out, unidentified contacts weighted by 1 − their share among identified ones; n = "
            f"{int((c['channel'] == ch).sum()):,} contacts"]
    data["demand"] = demand
    cv = E["daily_cv"]
    data["demand_uncertainty"] = {"daily_cv": float(cv.value), "shared": True}
    comments["demand_uncertainty"] = [f"daily_cv: {cv.comment()} (days)"]
    data["reasons"] = reason_data(res.behaviour)
    if res.credits is not None:
        comments["reasons"] = cl.credit_comments(res.credits, E["classes"])
    if "class_patience" in E:
        comments.update(cl.class_patience_comments(E["class_patience"], res.behaviour["classes"]))
    if "routing_delay" in E:
        comments.update(delay_comments(E["routing_delay"], res.behaviour["classes"]))
    data["handling"] = res.behaviour["handling"]
    hc = []
    for (ch, r), h in E["handling"].items():
        hc.append(f"{ch}{'/' + r if r else ''}: {h.method}; n = {h.n:,}; sample mean {h.detail['sample_mean_s']}s "
                  f"± {h.detail['mean_se_s']}s (se), cv {h.detail['sample_cv']}")
    comments["handling"] = ["handle time (talk, after proficiency) per channel × reason with ≥ "
                            f"{est.MIN_REASON_HANDLING} answered contacts, else the channel's fit:"] + hc + [
        verdict_text(t) + "; one distribution for all hours (the scenario has no hour bands)"
        for t in res.band_tests if t["quantity"] == "handling"]
    for t in res.band_tests:
        if t["quantity"] == "patience" and f"channels.{t['channel']}.patience" in comments:
            comments[f"channels.{t['channel']}.patience"].append(
                verdict_text(t) + "; one distribution for all hours (the scenario has no hour bands)")
    rep = fu["repeat_share"]
    if fu["identified"]:
        data["resolution"] = {ch: round(1.0 - float(rep.value), 3) for ch in res.behaviour["channels"]}
        comments["resolution"] = [f"1 − share of {rep.method}; n = {rep.n:,}"]
        delay = est.delay_distribution(fu["repeat_delays_s"], "repeat delay")
        data["repeat"] = {"probability": 1.0, "delay": delay.value}
        comments["repeat"] = [delay.comment()]
    pools = {}
    eff = res.effective_staffing()
    thin_cells = {}
    for pool, skills in res.behaviour["pools"].items():
        wk = weekly_staffing(eff[eff["pool"] == pool], res.days)
        thin_cells[pool] = (int(wk["thin"].sum()), len(wk))
        rows, avail = scheduled_and_availability(wk, o.interval_s, weekdays, decimals=3)
        for t in (rows, avail):
            t["day"] = t["day"].map(lambda w: est.WEEKDAYS[w])
        staffing, availability = f"staffing_{file_stem(pool)}.csv", f"availability_{file_stem(pool)}.csv"
        tables[staffing] = rows
        tables[availability] = avail
        pools[pool] = {"skills": skills, "staffing": {"csv": staffing},
                       "availability": {"csv": availability}}
        if res.wrap is not None and res.wrap.wrap_s > 0:
            pools[pool]["wrap_up"] = f"{res.wrap.wrap_s:g}s"
            comments[f"agents.{pool}.wrap_up"] = [res.wrap.comment()]
        raw = res.staffing[res.staffing["pool"] == pool]
        comments[f"agents.{pool}.staffing"] = [
            "staffing: agents seen serving in the interval (distinct agents, mean over the fit days of each "
            f"weekday, rounded up); n = {len(raw):,} pool-day-intervals with agents, "
            f"{raw.groupby('day')['distinct_agents'].max().mean():.1f} agents at a day's busiest interval"]
        comments[f"agents.{pool}.availability"] = [
            "availability per interval = effective agents / scheduled agents, kept fractional (the model keeps "
            "a fraction of an agent as that share of the interval)",
            f"effective agents = {ag.basis_text(o.staffing_basis, o.presence_gap_s)} ("
            f"logged-in mean {raw['agents'].mean():.2f}, busy {raw['busy_agents'].mean():.2f} when present)"
            + (f" × the effective-availability factor of the hour (availability.csv): found by simulation, "
               f"bisection ({res.availability.search_text()} of the "
               f"{len(res.days)} fit days) to {MATCHES[o.availability_match]}, "
               f"n = {int(res.availability.table['contacts'].sum()):,} contacts"
               if res.availability else " (no effective-staffing search: --no-effective)")]
        if thin_cells[pool][0]:
            n, of = thin_cells[pool]
            comments[f"agents.{pool}.availability"].append(
                f"too thin to estimate from: {n} of the {of} weekday × intervals with agents had them on fewer than "
                f"{MIN_DAYS_SEEN:.0%} of that weekday's fit days; there staffing = the mean agents seen rounded to "
                "whole agents and availability = that of the agents on the days they came (not × their chance "
                "of coming)")
    data["agents"] = pools
    res.notes.extend(thin_staffing_notes(thin_cells))
    if res.availability is not None:
        tables["availability.csv"] = res.availability.table
        res.notes.extend(thin_hour_notes(res.availability.table))
        res.notes.extend(refine_note(res.availability))
        comments["agents"] = [
            "effective availability per hour (availability.csv): the factor × logged-in agents at which the fit "
            f"days, replayed with their own arrivals (bisection, {res.availability.search_text()}), reproduce "
            f"{MATCHES[res.options.availability_match]}"]
    logged = res.staffing.copy()
    logged["day"] = logged["day"].dt.date
    tables["staffing_logged_in.csv"] = logged.round(3)
    res.scenario, res.comments, res.tables = data, comments, tables


def scenario_text(res: FitResult) -> str:
    aside = ", ".join(f"{k}: {v:,}" for k, v in res.log.set_aside.items()) or "none"
    header = [f"Scenario fitted by `simsvc fit` from {res.log.file}",
              f"{res.log.rows_read:,} rows read; set aside: {aside}",
              f"fit days ({len(res.days)}): {', '.join(str(d.date()) for d in res.days)}",
              "Each estimate below names its method and sample size. Numbers are rounded to what the data "
              "supports.", *[f"note: {n}" for n in res.notes], ""]
    return commented_yaml(res.scenario, res.comments, header)


def write_fit(res: FitResult, out: str | Path, report: bool = True) -> Path:
    """Write the scenario folder: ``scenario.yaml``, its CSV tables, ``fit_report.html``."""
    from simsvc.experiment.safepath import write_folder

    files: dict = {"scenario.yaml": scenario_text(res), **res.tables}
    if report:
        from simsvc.calibrate.report import fit_report

        files.update(fit_report(res))
    write_folder(Path(out), files)
    return Path(out) / "scenario.yaml"
