"""The report page of one run: run facts, KPIs per channel, the per-day section, and in
journey mode the customers section, around the plots (``page`` holds the skeleton)."""
from __future__ import annotations

from html import escape
from typing import Any, Mapping, Sequence

import pandas as pd

from simsvc.report import style
from simsvc.report.data import STAGES, ChannelInfo, RunData, manifest_problems
from simsvc.report.page import Block, _facts, _finite, _problems, _swatch, _table, blocks_html, cell, page


# --------------------------------------------------------------------------- one run
KPI_METRICS = ("offered", "answered", "abandon_rate", "service_level", "response_within_target",
               "response_time_mean_s", "pending_not_due", "asa_s", "wait_mean_s", "wait_p90_s", "aht_s",
               "occupancy", "fcr", "containment_rate", "backlog_end", "agent_cost", "cost_per_contact")
KPI_NOTES = {
    "service_level": "answered within the channel's threshold / offered (async: less those not yet due "
                     "at the end); all: real-time channels",
    "response_within_target": "async: answered within the response target / offered, "
                              "less those not yet due at the end",
    "pending_not_due": "async: unanswered at the end with the deadline after it: neither met nor missed",
    "response_time_mean_s": "async: mean response time of answered contacts",
    "asa_s": "mean wait of answered contacts (async: response time); all: real-time channels",
    "abandon_rate": "abandoned / offered while open; all: real-time channels",
    "occupancy": "busy / staffed time of the pools counted for the channel; all: every pool",
    "fcr": "issues resolved within their first attempt",
    "agent_cost": "scheduled agent-hours × cost per hour, after warm-up",
}


def kpi_table(summary: pd.DataFrame, channels: Mapping[str, ChannelInfo]) -> str:
    """Metrics (rows) × channels (columns): mean with the 95 % CI below it."""
    s = summary.assign(channel=summary["channel"].astype(str))
    present = list(dict.fromkeys(s["channel"]))
    order = [c for c in channels if c in present] + [c for c in present if c not in channels
                                                     and c != "all"]
    if "all" in present:
        order.append("all")
    colours = style.channel_colours(order)
    index = {(r.channel, r.metric): r for r in s.itertuples(index=False)}
    head = ["metric"] + [f"{_swatch(colours[c])}{escape(c)}" for c in order]
    metrics = list(KPI_METRICS) + [m for m in dict.fromkeys(s["metric"]) if m not in KPI_METRICS
                                   and m not in style.METRICS]
    return _table(head, _metric_rows(metrics, order, index, KPI_NOTES))


def _metric_rows(metrics: Sequence[str], columns: Sequence[str], index: Mapping, notes: Mapping) -> list:
    """One row per metric with a value somewhere: its name (and note), then a mean ± CI cell per column."""
    rows = []
    for metric in metrics:
        found = [index.get((c, metric)) for c in columns]
        if not any(r is not None and _finite(r.mean) for r in found):
            continue
        cells = [cell(metric, r.mean, r.ci_low, r.ci_high) if r is not None
                 else '<span class="na">–</span>' for r in found]
        rows.append([_metric_name(metric, notes.get(metric))] + cells)
    return rows


# --------------------------------------------------------------------------- customers (journey mode)
CUSTOMER_METRICS = ("customers_acquired", "referred_customers", "lost_prospects", "purchases",
                    "revenue", "churned", "churned_after_contact", "churn_rate", "lapsed",
                    "customers_active_end", "prospects_end", "revenue_lost_to_churn", "clv_mean",
                    "satisfaction_end_mean", "net_value")
CUSTOMER_NOTES = {
    "customers_acquired": "new prospects (acquired or referred)",
    "referred_customers": "referred by promoters",
    "lost_prospects": "dropped out before a purchase",
    "purchases": "first and repeat purchases",
    "revenue": "value of those purchases",
    "churned": "customers (and prospects) who left",
    "churned_after_contact": "decided right after a contact",
    "churn_rate": "churned / customer-days at risk × 30",
    "lapsed": "no repeat purchase after loyalty",
    "customers_active_end": "past a purchase, active at the horizon",
    "prospects_end": "before a purchase at the horizon",
    "revenue_lost_to_churn": "future purchases of the churned",
    "clv_mean": "per customer who bought; discounted margin",
    "satisfaction_end_mean": "of the customers active at the end",
    "net_value": "revenue − revenue lost to churn − agent cost",
}
FUNNEL_METRICS = {"reached": "entries", "contacts": "contacts",
                  "contacts_per_visit": "contacts per entry", "lost_prospects": "lost prospects",
                  "churned": "churned"}


def _metric_name(metric: str, note: str | None = None) -> str:
    name = escape(style.axis_label(metric))
    return name + (f'<span class="ci">{escape(note)}</span>' if note else "")


def customers_table(summary: pd.DataFrame, journey: pd.DataFrame | None,
                    segments: Sequence[str]) -> str:
    """Customer metrics (rows) × segments (journey.csv) and all (summary.csv): mean and CI."""
    s = summary[summary["channel"].astype(str) == "all"]
    index: dict[tuple[str, str], Any] = {}
    if journey is not None:
        j = journey[journey["stage"].astype(str) == "all"]
        index.update(((str(r.segment), str(r.metric)), r) for r in j.itertuples(index=False))
    index.update((("all", str(r.metric)), r) for r in s.itertuples(index=False))
    present = {seg for seg, _ in index}
    columns = ["all"] + [c for c in segments if c in present]
    head = ["metric"] + [escape(c) for c in columns]
    rows = _metric_rows(CUSTOMER_METRICS, columns, index, CUSTOMER_NOTES)
    # Seven columns of wide money intervals: a slightly smaller type keeps them on a laptop screen.
    return f'<div style="font-size:.9em">{_table(head, rows)}</div>' if rows else ""


def funnel_table(journey: pd.DataFrame | None) -> str:
    """Stages (rows) × funnel metrics of all segments (journey.csv): mean and CI."""
    if journey is None:
        return ""
    j = journey[(journey["segment"].astype(str) == "all") & (journey["stage"].astype(str) != "all")]
    index = {(str(r.stage), str(r.metric)): r for r in j.itertuples(index=False)}
    stages = [st for st in STAGES if any((st, m) in index for m in FUNNEL_METRICS)]
    stages += [st for st in dict.fromkeys(j["stage"].astype(str)) if st not in stages]
    metrics = [m for m in FUNNEL_METRICS if any((st, m) in index for st in stages)]
    if not stages or not metrics:
        return ""
    head = ["stage"] + [escape(FUNNEL_METRICS[m]) for m in metrics]
    rows = []
    for stage in stages:
        row = [escape(style.stage_label(stage)).replace(" ", "&nbsp;")]
        for m in metrics:
            r = index.get((stage, m))
            row.append(cell(m, r.mean, r.ci_low, r.ci_high) if r is not None
                       else '<span class="na">–</span>')
        rows.append(row)
    return _table(head, rows)


def _acquisition_text(value: Any) -> str:
    """``14.583333/h`` → 'about 350 new prospects a day'; '' when absent or unreadable."""
    from simsvc.config.units import parse_rate

    try:
        per_day = parse_rate(value) * 86400.0
    except (ValueError, TypeError):
        return ""
    if per_day <= 0:
        return ""
    shown = f"{per_day:,.0f}" if per_day >= 10 else f"{per_day:.3g}"
    return f"about {shown} new prospects a day"


def customers_section(run: RunData, blocks: Sequence[Block], reps: Any) -> str:
    """The Customers section of a journey-mode run: its metrics, the funnel, the journey plots."""
    cust = run.scenario.get("customers") or {}
    initial = cust.get("initial")
    population = ", ".join(x for x in (
        f"{int(initial):,} customers at time 0" if _finite(initial) else "",
        _acquisition_text(cust.get("acquisition")),
        f"segments {', '.join(run.segments)}" if run.segments else "") if x)
    metrics = customers_table(run.summary, run.journey, run.segments)
    funnel = funnel_table(run.journey)
    missing = "" if run.journey is not None else (
        '<p class="note">journey.csv is absent: no per-segment or per-stage figures.</p>')
    return f"""
<section id="customers"><h2>Customers</h2>
<p>Journey mode: a customer population moves through need awareness → information search →
evaluation → purchase → usage → post-purchase → loyalty, contacting the centre on the way{
escape(f' ({population})') if population else ''}. Counts are events in the measurement window
(after the warm-up); mean over {escape(str(reps or '?'))} replications with the 95&nbsp;% CI
below. The <em>all</em> column comes from <code>summary.csv</code>, the segment columns from
<code>journey.csv</code>. Revenue and lifetime value are in the currency of the segments'
purchase values; satisfaction is a 0–1 score.</p>
{missing}{metrics}
{'<h3 id="funnel-table">Funnel per stage (all segments)</h3>' if funnel else ''}
{'<p>Stage entries in the window (a repeat customer enters purchase to loyalty once per cycle), the contacts made in the stage, contacts per entry, prospects who dropped out at its end, and customers (or prospects) who churned in it.</p>' if funnel else ''}
{funnel}
{blocks_html(blocks)}
</section>"""


def daily_section(run: RunData) -> str:
    from simsvc.report.daily_plots import daily_section_html

    return daily_section_html(run)


def _no_rows(run: RunData) -> str:
    """The note in place of the KPI table when summary.csv holds no rows."""
    if not run.summary.empty:
        return ""
    return '<p class="note">summary.csv has no rows: no KPIs to show.</p>'


def run_page(run: RunData, blocks: Sequence[Block], matplotlib_version: str = "",
             customer_blocks: Sequence[Block] = ()) -> str:
    """The page of one run; a journey-mode run (``run.is_journey``) gets a Customers section
    (its metrics, funnel table and ``customer_blocks``) after the KPIs."""
    sc = run.scenario
    damaged = manifest_problems(run.manifest)
    # A field whose value is not what simsvc writes is shown as damaged, never as a fact.
    m = {k: v for k, v in run.manifest.items() if k not in damaged}

    def fact(text: str, *fields: str) -> str:
        bad = [f"{f} is {damaged[f]}" for f in fields if f in damaged]
        if bad:
            return f'<span class="na">damaged in manifest.json: {escape("; ".join(bad))}</span>'
        return text

    name = str(m.get("scenario_name") or sc.get("name") or run.path.name)
    description = str(sc.get("description") or "")
    reps = m.get("replications")
    if reps is None and "reps" in run.summary.columns and _finite(run.summary["reps"].max()):
        reps = int(run.summary["reps"].max())
    wall = m.get("wall_s")
    per_rep = m.get("replication_wall_s") or []
    wall_text = ""
    if _finite(wall):
        wall_text = f"{float(wall):,.1f} s"
        if per_rep:
            wall_text += (f" (per replication: mean {sum(per_rep) / len(per_rep):,.2f} s, "
                          f"max {max(per_rep):,.2f} s)")
    deps = m.get("dependencies") or {}
    versions = ", ".join(f"{k} {v}" for k, v in deps.items())
    software = ", ".join(x for x in (
        f"simsvc {m['simsvc_version']}" if m.get("simsvc_version") else "",
        f"Python {m['python']}" if m.get("python") else "", versions) if x)
    facts = [
        ("scenario", f"<strong>{escape(name)}</strong>"
         + (f" {fact('', 'scenario_name')}" if "scenario_name" in damaged else "")),
        ("description", escape(description)),
        ("root seed", fact(escape(str(m.get("root_seed", ""))), "root_seed")),
        ("replications", fact(escape(str(reps if reps is not None else "")), "replications")),
        ("scenario hash", fact(f"<code>{escape(str(m.get('scenario_hash', '')))}</code>"
                               if m.get("scenario_hash") else "", "scenario_hash")),
        ("simulated", escape(", ".join(x for x in (
            f"horizon {sc['horizon']}" if sc.get("horizon") is not None else "",
            f"warm-up {sc['warmup']}" if sc.get("warmup") is not None else "",
            f"interval {sc['interval']}" if sc.get("interval") is not None else "",
            f"day 0 is {str(sc['start_day']).capitalize()}" if sc.get("start_day") else "") if x))),
        ("contacts simulated", fact(f"{int(m['arrivals']):,}" if _finite(m.get("arrivals")) else "",
                                    "arrivals")),
        ("wall time", fact(escape(wall_text), "wall_s", "replication_wall_s")),
        ("workers", fact(escape(str(m.get("workers", ""))), "workers")),
        ("versions", fact(escape(software), "simsvc_version", "python", "dependencies")),
        ("platform", fact(escape(str(m.get("platform", ""))), "platform")),
        ("run created", fact(escape(str(m.get("created_utc", ""))), "created_utc")),
        ("seeding", fact(escape(str(m.get("seeding", ""))), "seeding")),
        ("results folder", f"<code>{escape(str(run.path))}</code>"),
    ]
    if not run.manifest:
        facts.append(("manifest", "manifest.json is absent: run facts unknown"))
    shown = {"scenario_name", "root_seed", "replications", "scenario_hash", "arrivals", "wall_s",
             "replication_wall_s", "workers", "simsvc_version", "python", "dependencies", "platform",
             "created_utc", "seeding"}
    others = [f"{f} is {why}" for f, why in damaged.items() if f not in shown]
    if others:
        facts.append(("manifest", f'<span class="na">damaged: {escape("; ".join(others))}</span>'))
    colours = style.channel_colours(run.channels)
    channel_rows = []
    for info in run.channels.values():
        if info.kind == "async":
            rule = f"response target {style.duration_text(info.threshold_s)}"
        elif info.real_time:
            rule = f"answered within {style.duration_text(info.threshold_s)}"
        else:
            rule = "–"
        channel_rows.append([f"{_swatch(colours[info.name])}{escape(info.name)}",
                             escape(info.kind), escape(rule)])
    customers = customers_section(run, customer_blocks, reps) if run.is_journey else ""
    nav = ('<nav><a href="#run">Run</a><a href="#kpis">KPIs</a>'
           + ('<a href="#days">Per day</a>' if run.daily is not None
                                                  or (run.path / "daily.csv").is_file() else '')
           + ('<a href="#customers">Customers</a>' if customers else '')
           + '<a href="#plots">Plots</a></nav>')
    journey_files = "".join(f", <code>{escape(f)}</code>" for f in ("journey.csv", "customers.parquet")
                            if f in run.journey_files)
    body = f"""
<header>
<h1>{escape(name)}</h1>
<p class="lede">{escape(description) or 'simsvc results'} · simsvc report</p>
{nav}
</header>
<section id="run"><h2>Run</h2>
{_facts(facts)}
<h3>Channels</h3>
{_table(["channel", "kind", "service level counts contacts"], channel_rows, ["text", "text", "text"])}
</section>
<section id="kpis"><h2>KPIs per channel</h2>
<p>Mean over {escape(str(reps or '?'))} replications (contacts arriving after the warm-up),
with the 95&nbsp;% Student-t confidence interval below. Rates in %, waits and handle
times in seconds. Intervals are clipped to the possible range (0–100&nbsp;% for rates,
≥&nbsp;0 otherwise); with few replications they are wide.</p>
{_no_rows(run) or kpi_table(run.summary, run.channels)}
</section>{daily_section(run)}{customers}
<section id="plots"><h2>Plots</h2>
{_problems(run.problems)}
{blocks_html(blocks)}
</section>
<footer>Written by <code>simsvc report</code> from the files in the results folder
(<code>summary.csv</code>, <code>intervals.parquet</code>, <code>pools.parquet</code>,
<code>contacts.parquet</code>{journey_files}, <code>scenario.yaml</code>, <code>manifest.json</code>){
f'; plots drawn with matplotlib {escape(matplotlib_version)}' if matplotlib_version else ''}.
</footer>"""
    return page(f"simsvc report — {name}", body)
