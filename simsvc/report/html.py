"""The report as one self-contained HTML page (inline CSS, images as data: URIs).

Nothing here fetches anything: a Content-Security-Policy forbids every
network request, images are base64 PNG, and the only script is a few inline
lines that record, in attributes of <html>, whether every image decoded and
whether the page is wider than the window (used by the browser test).
"""
from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from html import escape
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from simsvc.report import style
from simsvc.report.data import (STAGES, ChannelInfo, ExperimentData, RunData, point_columns,
                                split_metric)


@dataclass
class Block:
    """One plot of the report, or the note that replaces it."""

    key: str                   # file stem under plots/
    title: str
    caption: str = ""
    png: bytes | None = None
    note: str | None = None    # why the plot is not shown


# --------------------------------------------------------------------------- numbers
def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def number(metric: str, value: float) -> str:
    """A value in its unit: rates as %, waits in seconds, counts with separators."""
    if not _finite(value):
        return "–"
    value = float(value)
    kind = style.metric_kind(metric)
    if kind == "rate":
        return f"{value * 100:.1f}\u00a0%"
    if kind == "seconds":
        return f"{value:,.1f}\u00a0s" if abs(value) < 100 else f"{value:,.0f}\u00a0s"
    if kind == "money":
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if kind == "score":
        return f"{value:.3f}"
    if kind == "points":
        return f"{value:,.1f}"
    if abs(value) < 100 and value != round(value):
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def _bounds(metric: str, low: float, high: float) -> tuple[float, float]:
    """A CI clipped to the possible range (rates 0–1, NPS −100..100, everything else ≥ 0)."""
    lo, hi = float(low), float(high)
    if style.metric_kind(metric) == "rate":
        return min(max(lo, 0.0), 1.0), min(max(hi, 0.0), 1.0)
    if metric == "nps":
        return min(max(lo, -100.0), 100.0), min(max(hi, -100.0), 100.0)
    return max(lo, 0.0), max(hi, 0.0)


def _readable_seconds(value: float) -> str:
    if value >= 3600:
        return f"≈\u00a0{value / 3600:.1f}\u00a0h"
    return f"≈\u00a0{value / 60:.0f}\u00a0min"


def _without_unit(text: str) -> str:
    return text.removesuffix("\u00a0%").removesuffix("\u00a0s")


def cell(metric: str, mean: float, low: float = float("nan"), high: float = float("nan")) -> str:
    """A table cell's HTML: the mean, then the 95 % CI on a second, smaller line."""
    if not _finite(mean):
        return '<span class="na">–</span>'
    text = escape(number(metric, mean))
    if style.metric_kind(metric) == "seconds" and float(mean) >= 600:
        text += f' <span class="h">{_readable_seconds(float(mean))}</span>'
    if _finite(low) and _finite(high):
        lo, hi = _bounds(metric, low, high)
        low_text = _without_unit(number(metric, lo))
        text += f'<span class="ci">{escape(low_text)} – {escape(number(metric, hi))}</span>'
    return text


# --------------------------------------------------------------------------- page
CSS = """
:root { --fg: #1d1d1f; --muted: #5f6368; --line: #dcdcdc; --note: #c9a227; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0 auto; max-width: 1120px; padding: 24px 28px 48px; color: var(--fg);
  background: #fff; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto,
  "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 1.7em; margin: 0 0 .15em; }
h2 { font-size: 1.25em; margin: 1.8em 0 .6em; padding-bottom: .2em;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05em; margin: 1.4em 0 .4em; }
p { margin: .4em 0 .8em; }
.lede { color: var(--muted); margin: 0 0 1.2em; }
nav { font-size: .9em; color: var(--muted); }
nav a { color: inherit; margin-right: 1em; }
dl.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr);
  gap: .25em 1.4em; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
.table-wrap { max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; font-size: .92em; font-variant-numeric: tabular-nums;
  margin: .3em 0 .6em; }
th, td { padding: .35em .75em; border-bottom: 1px solid var(--line); text-align: right;
  vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #999; white-space: nowrap; }
td.text, th.text { text-align: left; }
.ci { display: block; color: var(--muted); font-size: .8em; white-space: nowrap; }
.h { color: var(--muted); font-size: .85em; white-space: nowrap; }
.na { color: #aaa; }
.swatch { display: inline-block; width: .8em; height: .8em; border-radius: 2px;
  margin-right: .35em; vertical-align: -.05em; }
tr.ok td { background: #f1f8f2; }
tr.best td { background: #fdf0e6; font-weight: 600; }
tr.worst td { background: #fbeaea; }
figure { margin: 1.2em 0 2.2em; }
figure img { display: block; width: 100%; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: .9em; margin-top: .4em; }
.note { background: #faf8ef; border-left: 3px solid var(--note); padding: .5em .8em;
  margin: .8em 0; }
.small { font-size: .85em; color: var(--muted); }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: .88em; overflow-wrap: anywhere; }
img { max-width: 100%; }
footer { margin-top: 3em; color: var(--muted); font-size: .85em; }
@media (max-width: 700px) { body { padding: 14px; font-size: 14px; } }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  figure, table, .note, dl.facts { break-inside: avoid; page-break-inside: avoid; }
  .table-wrap { overflow: visible; }
  a { color: inherit; text-decoration: none; }
  @page { margin: 14mm; }
}
"""

# An experiment's tables have a column per metric (and per variant in the differences): printed,
# the page turns to A4 landscape and the tables tighten so that no column is cut.
PRINT_WIDE = """<style>
@media print {
  @page { size: A4 landscape; margin: 10mm; }
  body { font-size: 9pt; }
  table { font-size: 7.5pt; width: 100%; table-layout: auto; }
  th, td { padding: .15em .35em; }
  thead th { white-space: normal; }
  .ci { white-space: normal; }
}
</style>"""

# Records, once the page has loaded, whether every image decoded and whether
# anything is wider than the window (read back by tests/test_report.py).
CHECK_SCRIPT = """
window.addEventListener("load", function () {
  var root = document.documentElement, imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  root.setAttribute("data-images", ok + "/" + imgs.length);
  root.setAttribute("data-images-loaded", ok === imgs.length ? "yes" : "no");
  root.setAttribute("data-scroll-width", String(root.scrollWidth));
  root.setAttribute("data-inner-width", String(window.innerWidth));
  root.setAttribute("data-overflow", root.scrollWidth > window.innerWidth ? "yes" : "no");
});
"""

CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
       "script-src 'unsafe-inline'")


def page(title: str, body: str) -> str:
    """A complete HTML document around ``body``."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en" data-report="simsvc">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"{body}\n<script>{CHECK_SCRIPT}</script>\n</body>\n</html>\n"
    )


def _facts(items: Iterable[tuple[str, str]]) -> str:
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in items if v)
    return f'<dl class="facts">{rows}</dl>'


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], classes: Sequence[str] = (),
           row_classes: Sequence[str] = ()) -> str:
    """A table from already-escaped HTML cells; ``classes`` per column (e.g. "text")."""
    def attr(i: int) -> str:
        return f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""

    thead = "".join(f"<th{attr(i)}>{h}</th>" for i, h in enumerate(head))
    body = []
    for r, row in enumerate(rows):
        cls = f' class="{row_classes[r]}"' if r < len(row_classes) and row_classes[r] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td{attr(i)}>{c}</td>" for i, c in enumerate(row))
                    + "</tr>")
    return (f'<div class="table-wrap"><table><thead><tr>{thead}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def blocks_html(blocks: Sequence[Block]) -> str:
    out = []
    for b in blocks:
        anchor = f'id="plot-{escape(b.key)}"'
        if b.png is None:
            out.append(f'<h3 {anchor}>{escape(b.title)}</h3>'
                       f'<p class="note">Not shown: {escape(b.note or "no data")}.</p>')
            continue
        data = base64.b64encode(b.png).decode("ascii")
        out.append(
            f'<figure {anchor}><h3>{escape(b.title)}</h3>'
            f'<img src="data:image/png;base64,{data}" alt="{escape(b.title)}">'
            f"<figcaption>{escape(b.caption)} <span class=\"small\">Also saved as "
            f"<code>plots/{escape(b.key)}.png</code> and <code>.svg</code>.</span>"
            "</figcaption></figure>")
    return "\n".join(out)


def _problems(problems: Sequence[str]) -> str:
    return "".join(f'<p class="note">{escape(p)}.</p>' for p in problems)


def _swatch(colour: str) -> str:
    return f'<span class="swatch" style="background:{colour}"></span>'


# --------------------------------------------------------------------------- one run
KPI_METRICS = ("offered", "answered", "abandon_rate", "service_level", "response_within_target",
               "response_time_mean_s", "asa_s", "wait_mean_s", "wait_p90_s", "aht_s", "occupancy", "fcr",
               "containment_rate", "backlog_end", "agent_cost", "cost_per_contact")
KPI_NOTES = {
    "service_level": "answered within the channel's threshold / offered; all: real-time channels",
    "response_within_target": "async: answered within the response target / offered",
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


def run_page(run: RunData, blocks: Sequence[Block], matplotlib_version: str = "",
             customer_blocks: Sequence[Block] = ()) -> str:
    """The page of one run; a journey-mode run (``run.is_journey``) gets a Customers section
    (its metrics, funnel table and ``customer_blocks``) after the KPIs."""
    m, sc = run.manifest, run.scenario
    name = str(m.get("scenario_name") or sc.get("name") or run.path.name)
    description = str(sc.get("description") or "")
    reps = m.get("replications")
    if reps is None and "reps" in run.summary.columns and run.summary["reps"].notna().any():
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
        ("scenario", f"<strong>{escape(name)}</strong>"),
        ("description", escape(description)),
        ("root seed", escape(str(m.get("root_seed", "")))),
        ("replications", escape(str(reps if reps is not None else ""))),
        ("scenario hash", f"<code>{escape(str(m.get('scenario_hash', '')))}</code>"
         if m.get("scenario_hash") else ""),
        ("simulated", escape(", ".join(x for x in (
            f"horizon {sc['horizon']}" if sc.get("horizon") is not None else "",
            f"warm-up {sc['warmup']}" if sc.get("warmup") is not None else "",
            f"interval {sc['interval']}" if sc.get("interval") is not None else "",
            f"day 0 is {str(sc['start_day']).capitalize()}" if sc.get("start_day") else "") if x))),
        ("contacts simulated", f"{int(m['arrivals']):,}" if _finite(m.get("arrivals")) else ""),
        ("wall time", escape(wall_text)),
        ("workers", escape(str(m.get("workers", "")))),
        ("versions", escape(software)),
        ("platform", escape(str(m.get("platform", "")))),
        ("run created", escape(str(m.get("created_utc", "")))),
        ("seeding", escape(str(m.get("seeding", "")))),
        ("results folder", f"<code>{escape(str(run.path))}</code>"),
    ]
    if not m:
        facts.append(("manifest", "manifest.json is absent: run facts unknown"))
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
           + ('<a href="#days">Per day</a>' if (run.path / "daily.csv").is_file() else '')
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
{kpi_table(run.summary, run.channels)}
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


# --------------------------------------------------------------------------- experiment
def _target_text(t: Mapping[str, Any]) -> str:
    from simsvc.report.compare_plots import format_value

    op = {">=": "≥", "<=": "≤"}.get(str(t.get("op")), str(t.get("op", "")))
    metric = str(t.get("metric", ""))
    value = t.get("value")
    shown = format_value(metric, float(value)) if _finite(value) else str(value)
    return f"{style.metric_name(metric)} on {t.get('channel', 'all')} {op} {shown}"


def _params_text(params: Mapping[str, Any]) -> str:
    return "<br>".join(f"<code>{escape(str(k))}</code> = {escape(str(v))}"
                       for k, v in (params or {}).items()) or "–"


def experiment_page(exp: ExperimentData, blocks: Sequence[Block],
                    metrics: Sequence[tuple[str, str]], matplotlib_version: str = "") -> str:
    meta = exp.meta
    name = str(meta.get("name") or exp.path.name)
    kind = exp.kind
    variants = exp.variants
    order = list(dict.fromkeys(list(variants) + list(exp.summary["variant"])))
    baseline = ""
    if exp.comparison is not None and not exp.comparison.empty:
        baseline = ", ".join(exp.label(b) for b in dict.fromkeys(exp.comparison["baseline"]))
    facts = [
        ("experiment", f"<strong>{escape(name)}</strong>"),
        ("kind", escape(kind)),
        ("variants", str(len(order))),
        ("baseline", escape(baseline)),
        ("targets", "<br>".join(escape(_target_text(t)) for t in exp.targets) or "none"),
        ("cost metric", escape(str(meta.get("cost_metric") or ""))),
        ("folder", f"<code>{escape(str(exp.path))}</code>"),
    ]
    variant_rows = []
    for key in order:
        spec = variants.get(key) or {}
        digest = str(spec.get("scenario_hash") or "")
        variant_rows.append([escape(key), escape(str(spec.get("name") or key)),
                             _params_text(spec.get("params") or {}),
                             f'<code title="{escape(digest)}">{escape(digest[:12])}</code>'
                             if digest else "–"])
    s = exp.summary.assign(channel=exp.summary["channel"].astype(str))
    index = {(r.variant, r.channel, r.metric): r for r in s.itertuples(index=False)}
    summary_rows = []
    for key in order:
        row = [escape(exp.label(key))]
        for metric, channel in metrics:
            r = index.get((key, channel, metric))
            row.append(cell(metric, r.mean, r.ci_low, r.ci_high) if r is not None
                       else '<span class="na">–</span>')
        summary_rows.append(row)
    summary_head = ["variant"] + [f"{escape(style.metric_name(m))}<br>"
                                  f'<span class="small">{escape(c)}</span>' for m, c in metrics]
    points_html = ""
    if exp.points is not None and not exp.points.empty:
        params, point_metrics = point_columns(exp.points)
        shown = [k for k in (f"{m}@{c}" for m, c in metrics) if k in point_metrics] or point_metrics
        head = ["variant"] + [f"<code>{escape(p)}</code>" for p in params] + [
            f"{escape(style.metric_name(split_metric(k)[0]))}<br>"
            f'<span class="small">{escape(split_metric(k)[1])}</span>' for k in shown]
        has_status = ("target_status" in exp.points
                      and exp.points["target_status"].dropna().astype(str).str.strip().ne("").any())
        has_best = "cheapest" in exp.points
        head += (["targets"] if has_status else []) + (["cheapest"] if has_best else [])
        rows, classes = [], []
        for _, p in exp.points.iterrows():
            row = [escape(str(p.get("name") if pd.notna(p.get("name", None)) else p["variant"]))]
            row += [escape(str(p[c])) for c in params]
            for k in shown:
                metric = split_metric(k)[0]
                row.append(cell(metric, p[k], p.get(f"{k}_ci_low", float("nan")),
                                p.get(f"{k}_ci_high", float("nan"))))
            status = str(p["target_status"]) if has_status else ""
            best = bool(p["cheapest"]) if has_best else False
            row += ([escape(status)] if has_status else []) + (["★" if best else ""] if has_best else [])
            rows.append(row)
            classes.append("best" if best else "ok" if status == "met" else "")
        explain = ("Targets are <em>met</em> when the whole 95&nbsp;% confidence interval of every "
                   "target metric is on the right side, <em>not met</em> when one is clearly on the wrong "
                   "side, <em>uncertain</em> when an interval straddles its target. Green rows meet every "
                   "target; the cheapest of them is highlighted (none when several cost the same)."
                   + (" Here the cheapest was chosen <strong>by the means</strong> (<code>--by-mean</code>): "
                      "it may be uncertain." if (exp.meta or {}).get("cheapest_by") == "mean" else "")
                   if has_status else "No targets were set, so no variant is singled out: compare "
                   "the differences and their confidence intervals.")
        points_html = (f'<section id="points"><h2>Points</h2><p>One row per variant. {explain}</p>'
                       f'{_table(head, rows, ["text"], classes)}</section>')
    points_link = '<a href="#points">Points</a>' if points_html else ""
    nav = ('<nav><a href="#experiment">Experiment</a><a href="#variants">Variants</a>'
           f'{points_link}<a href="#summary">Summary</a><a href="#plots">Plots</a></nav>')
    body = f"""{PRINT_WIDE}
<header>
<h1>{escape(name)}</h1>
<p class="lede">simsvc {escape(kind)} report · {len(order)} variants</p>
{nav}
</header>
<section id="experiment"><h2>Experiment</h2>{_facts(facts)}</section>
<section id="variants"><h2>Variants</h2>
{_table(["key", "name", "parameters", "scenario hash"], variant_rows, ["text", "text", "text", "text"])}
</section>
{points_html}
<section id="summary"><h2>Summary</h2>
<p>Mean over replications with the 95&nbsp;% confidence interval below (clipped to the
possible range).</p>
{_table(summary_head, summary_rows, ["text"])}
</section>
<section id="plots"><h2>Plots</h2>
{_problems(exp.problems)}
{blocks_html(blocks)}
</section>
<footer>Written by <code>simsvc report</code> from <code>experiment.json</code>,
<code>summary.csv</code>{', <code>comparison.csv</code>' if exp.comparison is not None else ''}{
', <code>points.csv</code>' if exp.points is not None else ''}{
f'; plots drawn with matplotlib {escape(matplotlib_version)}' if matplotlib_version else ''}.
</footer>"""
    return page(f"simsvc report — {name}", body)
