"""Fit and back-test reports: one self-contained HTML file each, with PNG plots beside it.

Fit report: arrival profiles per weekday, handling (data vs fitted lognormal,
gamma and the chosen distribution), patience (Kaplan–Meier vs what was written
and the exponential MLE), logged-in / busy / effective agents per interval of the
day, availability per hour, and every estimate with its method and sample size,
the rows set aside and the notes (what was assumed). Back-test report: observed vs
predicted per hour for each metric, simulation CI bands and Erlang A.
"""
from __future__ import annotations

import base64
import html
import io

import numpy as np
import pandas as pd

from simsvc.calibrate.estimate import WEEKDAYS
from simsvc.calibrate.patience import median_text

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#333333")
CSS = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
       "table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;padding:3px 8px;"
       "text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:100%}"
       "li{margin:0.2em 0}")


def _figure(rows: int = 1, cols: int = 1, height: float = 3.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, cols, figsize=(10, height * rows), squeeze=False)
    return fig, axes


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _img(png: bytes, alt: str) -> str:
    return f'<p><img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}"></p>'


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, float_format=lambda x: f"{x:,.4g}", na_rep="-")


# --------------------------------------------------------------------------- fit report
def fit_report(res) -> dict[str, object]:
    """Files of the fit report: ``fit_report.html`` and ``plots/*.png``."""
    plots = {"arrivals": _arrivals_plot(res), "handling": _handling_plot(res), "patience": _patience_plot(res),
             "staffing": _staffing_plot(res)}
    rows = []
    for (ch, r), h in res.estimates["handling"].items():
        rows.append(("handling", f"{ch}{'/' + r if r else ''}", h.detail["chosen"], h.n, h.method))
    for ch, p in res.estimates["patience"].items():
        rows.append(("patience", ch, f"KM median {median_text(p.detail['km_median_s'])}, exponential MLE mean "
                     f"{p.detail['exponential_mle_mean_s']:.0f}s ± {p.detail['exponential_mean_se_s']:.0f}s", p.n,
                     p.method))
    for k, p in getattr(res.estimates.get("class_patience"), "estimates", {}).items():
        rows.append(("patience", f"class {k} (its reasons)", f"KM median {median_text(p.detail['km_median_s'])}, exponential "
                     f"MLE mean {p.detail['exponential_mle_mean_s']:.0f}s ± {p.detail['exponential_mean_se_s']:.0f}s",
                     p.n, p.method))
    fu = res.estimates["follow_ups"]
    for key in ("redial_share", "repeat_share"):
        rows.append((key.replace("_", " "), "all", f"{fu[key].value:.3f}", fu[key].n, fu[key].method))
    cv = res.estimates["daily_cv"]
    rows.append(("daily_cv", "all", f"{cv.value}", cv.n, cv.method))
    for ch, h in res.estimates["hours"].items():
        rows.append(("hours", ch, h.value, h.n, h.method))
    if res.wrap is not None:
        rows.append(("wrap-up", "every pool", f"{res.wrap.wrap_s:g}s", res.wrap.contacts, res.wrap.comment()))
    est = pd.DataFrame(rows, columns=["estimate", "for", "value", "n", "method"])
    aside = pd.DataFrame(sorted(res.log.set_aside.items()), columns=["rows set aside because", "rows"])
    parts = [f"<h1>Fit report: {html.escape(res.scenario['name'])}</h1>",
             f"<p>{html.escape(res.scenario['description'])}. {res.log.rows_read:,} rows read, "
             f"{len(res.log.contacts):,} usable contacts. Columns used: "
             f"{html.escape(', '.join(f'{k} ← {v}' for k, v in res.log.roles.items()))}.</p>",
             "<h2>What was assumed</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in res.notes) +
             "<li>Arrivals are Poisson around the weekday × interval means; redials and repeats are modelled "
             "from identified customers only, and unidentified contacts are taken to contain the same share of "
             "them.</li><li>Wrap-up is not in the scenario unless the log has a wrap column; after-call work "
             "not in the log ends up in the effective availability.</li></ul>",
             "<h2>Estimates</h2>" + _table(est),
             "<h2>Rows set aside</h2>" + (_table(aside) if len(aside) else "<p>none</p>")]
    parts += _patience_quantiles(res) + _patience_by_queue(res) + _bands(res) + _classes(res)
    if res.availability is not None:
        from simsvc.calibrate.effective import MATCHES

        parts.append("<h2>Effective availability per hour</h2><p>The factor × logged-in agents at which the fit "
                     f"days, replayed with their own arrivals, reproduce "
                     f"{html.escape(MATCHES[res.options.availability_match])} (--availability-match "
                     f"{html.escape(res.options.availability_match)}).</p>" + _table(res.availability.table))
    for name, png in plots.items():
        parts.append(f"<h2>{name.capitalize()}</h2>" + _img(png, name))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>fit {html.escape(res.scenario['name'])}"
            f"</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
    return {"fit_report.html": page, **{f"plots/{k}.png": v for k, v in plots.items()}}


def _classes(res) -> list[str]:
    """Routing classes: each class's queue credit and what it reproduces on the fit days."""
    if res.credits is None:
        return []
    t = res.credits.table.copy()
    pat = res.estimates["classes"]["patience_mle_s"]
    t["patience_mle_s"] = t["class"].map(pat)
    return ["<h2>Routing classes</h2><p>One reason per (reason, class), sharing the pools. Each class's "
            "<code>queue_credit</code> is bisected so that the fit days, replayed with their own arrivals and "
            "staffing, reproduce its mean wait relative to the class that waits longest (credit 0). "
            + ("Each class with enough abandonments has its own Kaplan–Meier patience (<code>--class-patience"
               "</code>, estimates above)" if "class_patience" in res.estimates else
               "The scenario keeps one patience per channel (<code>--class-patience</code> fits one per class)")
            + "; each class's exponential-MLE patience is shown beside it.</p>" + _table(t) + _delays(res)]


def _delays(res) -> str:
    """Routing delay per class (``--routing-delay``): what each class's was estimated from."""
    rd = res.estimates.get("routing_delay")
    if rd is None:
        return ""
    return ("<h3>Routing delay per class</h3><p>Kaplan–Meier of each class's waits in the fit days' day × "
            "intervals where every contact of the other classes was answered at once (answers are events, "
            "abandonments censorings); written on the class's reasons as <code>routing_delay</code> where the "
            "class has enough answered contacts there and fewer than half were answered at once.</p>"
            + (_table(rd.table) if not rd.table.empty else "") + "".join(
                f"<p>{html.escape(n)}</p>" for n in rd.notes))


def _patience_quantiles(res) -> list[str]:
    """Quantiles of the written patience with their 95 % intervals, per channel."""
    rows = [(ch, f"p{round(q['p'] * 100)}", q["value_s"], q["ci_low_s"], q["ci_high_s"], q["source"])
            for ch, p in res.estimates["patience"].items() for q in p.detail["quantiles"]]
    if not rows:
        return []
    table = pd.DataFrame(rows, columns=["channel", "quantile", "patience s", "95 % CI low", "95 % CI high",
                                        "from"])
    return ["<h2>Patience quantiles</h2><p>Kaplan–Meier quantiles with 95&nbsp;% intervals (Greenwood variance "
            "of log S(t), inverted as Brookmeyer and Crowley do: the times where the band crosses the level). "
            "An open upper end (-) means the data cannot bound it; quantiles beyond the last point with enough "
            "contacts at risk come from the exponential tail and have no interval.</p>" + _table(table)]


def _patience_by_queue(res) -> list[str]:
    """The patience factor per band of the queue found on arrival (``--patience-by-queue``)."""
    rows = [(ch, name, f, lo, hi, n, k, m, ml, mh)
            for ch, q in res.estimates.get("patience_by_queue", {}).items()
            for name, f, (lo, hi), n, k, (m, ml, mh) in zip(q.band_names(), q.factors, q.ci, q.contacts,
                                                             q.abandoned, q.exp_mean_s)]
    if not rows:
        return []
    table = pd.DataFrame(rows, columns=["channel", "queue found", "factor", "95 % CI low", "95 % CI high", "contacts",
                                        "abandoned", "exp. mean s", "its 95 % CI low", "its 95 % CI high"])
    tests = "; ".join(f"{ch}: Weibull shape {q.shape:.2f}, log-rank p = {q.logrank_p:.2g}"
                      for ch, q in res.estimates["patience_by_queue"].items())
    return ["<h2>Patience by the queue found on arrival</h2><p>The contacts already waiting on the channel when "
            "each contact arrived (counted from the log's arrivals and waits), in bands; the written patience is "
            "multiplied by the band's factor (<code>patience_by_queue</code>). Factors by maximum likelihood with a "
            "Weibull baseline, relative to the band with the most contacts (its interval is that band's by "
            "definition), 95&nbsp;% intervals from the observed information; the exponential mean of each band "
            f"(exact χ² interval) for comparison. {html.escape(tests)}.</p>" + _table(table)]


def _bands(res) -> list[str]:
    """Handling and patience per hour band, and whether they differ."""
    if res.bands is None or res.bands.empty:
        return ["<h2>By hour band</h2><p>Not estimated: too few contacts or abandonments per band "
                "(each band needs 30).</p>"]
    from simsvc.calibrate.bands import verdict_text

    verdicts = "".join(f"<li>{html.escape(verdict_text(t))}</li>" for t in res.band_tests)
    return ["<h2>By hour band</h2><p>Each channel's contacts on the fit days split into up to four bands of "
            "the day holding about equal numbers of contacts. Handling: mean handle time with its t-interval, "
            "Kruskal–Wallis test across bands. Patience: Kaplan–Meier median (Greenwood interval) and "
            "exponential MLE mean (exact χ² interval), log-rank test across bands. With tens of thousands of "
            "contacts small differences are significant: read the size beside the p-value.</p>"
            f"<ul>{verdicts}</ul>" + _table(res.bands) +
            "<p>The scenario holds one handling and one patience distribution per channel (and reason) for "
            "all hours, so differences by band are not used by the model yet. Using them would need "
            "a band field on <code>handling</code> and <code>patience</code> (distributions keyed by clock "
            "spans, like <code>hours</code>), drawn by the contact's arrival time in the model (handling and "
            "patience are drawn at arrival, so common random numbers are kept), and <code>fit</code> writing "
            "the bands where the test says they differ.</p>"]


def _arrivals_plot(res) -> bytes:
    c = res.log.contacts[res.log.contacts["day"].isin(res.days)]
    step = res.options.interval_s
    fig, axes = _figure(1, 1, 3.2)
    ax = axes[0][0]
    n_wd = pd.Series([d.weekday() for d in res.days]).value_counts()
    g = (c.assign(wd=c["day"].dt.day_of_week, slot=(c["clock_s"] // step) * step / 3600)
         .groupby(["wd", "slot"]).size().rename("n").reset_index())
    for k, (wd, gg) in enumerate(g.groupby("wd")):
        ax.plot(gg["slot"], gg["n"] / n_wd[wd], color=PALETTE[k % 7], label=f"{WEEKDAYS[wd]} ({n_wd[wd]} days)")
    ax.set_xlabel("hour of day")
    ax.set_ylabel(f"contacts per {int(step // 60)} min")
    ax.set_title("Arrivals (all contacts, mean over the fit days of each weekday)")
    ax.legend(fontsize=8)
    return _png(fig)


def _handling_plot(res) -> bytes:
    from scipy import stats

    items = list(res.estimates["handling"].items())
    cols = min(3, len(items))
    rows = int(np.ceil(len(items) / cols))
    fig, axes = _figure(rows, cols, 2.6)
    c = res.log.contacts[res.log.contacts["day"].isin(res.days) & (res.log.contacts["outcome"] == "answered")]
    for k, ((ch, r), h) in enumerate(items):
        ax = axes[k // cols][k % cols]
        sel = c["channel"] == ch
        if r is not None:
            sel &= c["reason"] == r
        x = np.sort(c.loc[sel, "handle_s"].to_numpy())
        x = x[x > 0]
        ax.step(x, np.arange(1, len(x) + 1) / len(x), color="#333333", label="data", where="post")
        grid = np.geomspace(max(1.0, x[0]), x[-1], 200)
        for fam, colour in (("lognormal", PALETTE[0]), ("gamma", PALETTE[1])):
            m, cv = h.detail[fam]["mean_s"], h.detail[fam]["cv"]
            if fam == "lognormal":
                s2 = np.log1p(cv**2)
                cdf = stats.lognorm.cdf(grid, np.sqrt(s2), scale=m / np.exp(s2 / 2))
            else:
                cdf = stats.gamma.cdf(grid, 1 / cv**2, scale=m * cv**2)
            ax.plot(grid, cdf, color=colour, lw=1, label=f"{fam} (KS {h.detail[fam]['ks']:.3f})")
        ax.set_xscale("log")
        ax.set_title(f"{ch}{'/' + r if r else ''}: {h.detail['chosen']} (n {h.n:,})", fontsize=9)
        ax.legend(fontsize=7)
    for k in range(len(items), rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle("Handle time: cumulative distribution, data vs maximum-likelihood fits (log scale)", fontsize=10)
    return _png(fig)


def _patience_plot(res) -> bytes:
    fig, axes = _figure(1, 1, 3.2)
    ax = axes[0][0]
    for k, (ch, p) in enumerate(res.estimates["patience"].items()):
        km = p.detail["km"]
        ax.step(km.times, km.survival, where="post", color=PALETTE[k], label=f"{ch}: Kaplan–Meier")
        v = np.array(p.value["values"])
        w = np.array(p.value["weights"])
        o = np.argsort(v)
        ax.step(v[o], 1 - np.cumsum(w[o]) / w.sum(), where="post", color=PALETTE[k], ls=":",
                label=f"{ch}: written (empirical + exponential tail)")
        t = np.linspace(0, max(v.max(), 1), 200)
        ax.plot(t, np.exp(-t / p.detail["exponential_mle_mean_s"]), color=PALETTE[k], ls="--", lw=1,
                label=f"{ch}: exponential MLE (mean {p.detail['exponential_mle_mean_s']:.0f}s)")
        ax.axvline(p.detail["t_c_s"], color="#999999", lw=0.8)
    ax.set_xlabel("patience, s")
    ax.set_ylabel("P(patience > t)")
    ax.set_ylim(0, 1)
    ax.set_title("Patience from censored waits (vertical line: end of the reliable KM curve)")
    ax.legend(fontsize=8)
    return _png(fig)


def _staffing_plot(res) -> bytes:
    pools = list(res.behaviour["pools"])
    fig, axes = _figure(len(pools), 1, 2.4)
    n = len(res.days)
    eff = res.effective_staffing()
    for k, pool in enumerate(pools):
        ax = axes[k][0]
        s = res.staffing[res.staffing["pool"] == pool]
        e = eff[eff["pool"] == pool]
        for col, frame, label, colour in (("agents", s, "logged-in", PALETTE[0]),
                                          ("busy_agents", s, "busy", PALETTE[1]),
                                          ("agents", e, "effective", PALETTE[2])):
            m = frame.groupby("start_s")[col].sum() / n
            ax.plot(m.index / 3600, m.to_numpy(), color=colour, label=label)
        ax.set_title(f"pool {pool}: agents per interval, mean over the fit days", fontsize=9)
        ax.set_xlabel("hour of day")
        ax.legend(fontsize=8)
    return _png(fig)


# --------------------------------------------------------------------------- back-test report
def backtest_plot(hours: pd.DataFrame, min_contacts: int = 100) -> bytes:
    """Observed vs predicted per hour, for the hours that are scored (≥ ``min_contacts``)."""
    metrics = list(dict.fromkeys(hours["metric"]))
    hours = hours[hours["contacts"] >= min_contacts]
    fig, axes = _figure(2, 2, 3.0)
    for k, metric in enumerate(metrics[:4]):
        ax = axes[k // 2][k % 2]
        h = hours[(hours["metric"] == metric) & (hours["hour"] >= 0)]
        first = h.groupby("hour").first()
        ax.plot(first.index, first["observed"], color="#333333", marker="o", ms=3, label="observed")
        for j, ((mode, staffing), g) in enumerate(h.groupby(["mode", "staffing"], sort=False)):
            g = g.sort_values("hour")
            colour = PALETTE[j]
            ax.plot(g["hour"], g["predicted"], color=colour, label=f"{mode} / {staffing}")
            ax.fill_between(g["hour"], g["ci_low"], g["ci_high"], color=colour, alpha=0.2, lw=0)
            ax.plot(g["hour"], g["erlang_a"], color=colour, ls="--", lw=0.8)
        ax.set_title(f"{metric} by hour (dashed: Erlang A, band: 95 % CI; hours with ≥ {min_contacts} contacts)",
                     fontsize=9)
        ax.set_xlabel("hour of day")
        if k == 0:
            ax.legend(fontsize=7)
    return _png(fig)


def class_plot(hours: pd.DataFrame, min_contacts: int = 100) -> bytes:
    """Per routing class (rows ``channel:class``): observed vs replay / effective, abandonment and mean wait."""
    fig, axes = _figure(1, 2, 3.0)
    h = hours[hours["channel"].str.contains(":", regex=False) & (hours["hour"] >= 0)
              & (hours["contacts"] >= min_contacts) & (hours["mode"] == "replay") & (hours["staffing"] == "effective")]
    for k, metric in enumerate(("abandon_rate", "wait_mean_s")):
        ax = axes[0][k]
        for j, (cls, g) in enumerate(h[h["metric"] == metric].groupby("channel", sort=True)):
            g = g.sort_values("hour")
            ax.plot(g["hour"], g["observed"], color=PALETTE[j], marker="o", ms=3, label=f"{cls} observed")
            ax.plot(g["hour"], g["predicted"], color=PALETTE[j], ls="--", label=f"{cls} replay / effective")
        ax.set_title(f"{metric} by hour and class (hours with ≥ {min_contacts} contacts of the class)", fontsize=9)
        ax.set_xlabel("hour of day")
        if k == 0:
            ax.legend(fontsize=7)
    return _png(fig)


def backtest_report(result, command: str = "") -> dict[str, object]:
    classed = result.hours["channel"].str.contains(":", regex=False)
    png = backtest_plot(result.hours[~classed])
    plots = {"plots/backtest.png": png}
    if classed.any():
        plots["plots/backtest_classes.png"] = class_plot(result.hours)
    summary = result.summary.copy()
    parts = ["<h1>Back-test</h1>",
             f"<p>{html.escape(command)}</p>",
             f"<p>Fit days ({len(result.fit.days)}): {', '.join(str(d.date()) for d in result.fit.days)}. "
             f"Test days ({len(result.test_days)}): {', '.join(str(d.date()) for d in result.test_days)}. "
             f"{result.reps} replications per prediction. Replay: the test days' own arrivals and agents; "
             "forecast: the fitted scenario as written. Hourly errors over hours with ≥ 100 observed contacts.</p>",
             "<h2>All hours, and hourly mean absolute errors</h2>" + _table(summary),
             "<h2>Observed vs predicted by hour</h2>" + _img(png, "backtest")]
    if classed.any():
        parts.append("<h2>By routing class (rows channel:class; Erlang A has no classes)</h2>"
                     + _img(plots["plots/backtest_classes.png"], "backtest by class"))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>backtest</title><style>{CSS}</style>"
            f"</head><body>{''.join(parts)}</body></html>")
    return {"report.html": page, **plots}
