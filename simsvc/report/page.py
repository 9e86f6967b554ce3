"""The report's page skeleton: one self-contained HTML page (inline CSS, images as data: URIs),
and how numbers are written in its tables.

Nothing here fetches anything: a Content-Security-Policy forbids every
network request, images are base64 PNG, and the only script is a few inline
lines that record, in attributes of <html>, whether every image decoded and
whether the page is wider than the window (used by the browser test).
The sections of a run's page are in ``run_page``, an experiment's in ``experiment_page``.
"""
from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from html import escape
from typing import Any, Iterable, Sequence

from simsvc.report import style


@dataclass
class Block:
    """One plot of the report, or the note that replaces it."""

    key: str                   # file stem under plots/
    title: str
    caption: str = ""
    png: bytes | None = None
    note: str | None = None    # why the plot is not shown
    svg: bool = False          # also saved as plots/<key>.svg (``--svg``)


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
            f"<code>plots/{escape(b.key)}.png</code>{' and <code>.svg</code>' if b.svg else ''}.</span>"
            "</figcaption></figure>")
    return "\n".join(out)


def _problems(problems: Sequence[str]) -> str:
    return "".join(f'<p class="note">{escape(p)}.</p>' for p in problems)


def _swatch(colour: str) -> str:
    return f'<span class="swatch" style="background:{colour}"></span>'
