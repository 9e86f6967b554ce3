"""The report page of an experiment (compare, sweep, experiment file): its facts, variants,
points with target status, the summary table, and the plots."""
from __future__ import annotations

from html import escape
from typing import Any, Mapping, Sequence

import pandas as pd

from simsvc.report import style
from simsvc.report.data import ExperimentData, point_columns, split_metric
from simsvc.report.page import PRINT_WIDE, Block, _facts, _finite, _problems, _table, blocks_html, cell, page


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
