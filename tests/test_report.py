"""``simsvc report``: plots, the self-contained HTML page, the CLI, and a headless browser.

The plot functions are checked on small synthetic tables built here; the
report of a real run (the baseline example cut to two days, two replications)
is rendered in headless Chromium, which must show every image and nothing
wider than the window. A tiny journey-mode run (the journey example cut to a
few thousand customers over 35 days) must add the Customers section and the
journey plots, which a forecast-mode report never has. Experiment folders
(compare/sweep) are synthetic CSVs in the planned formats.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.figure import Figure

import simsvc
from simsvc.cli import main
from simsvc.report import (ChannelInfo, PlotSkipped, async_backlog, channels_from_scenario,
                           churn_over_time, comparison_differences, comparison_means,
                           journey_funnel, load_run, pool_staffing, revenue_by_segment,
                           satisfaction_distribution, service_level_by_time_of_day, sweep_plot,
                           volumes_by_interval, wait_distribution, write_report)

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
ERLANG_A = ROOT / "scenarios" / "erlang_a_check.yaml"
JOURNEY = ROOT / "scenarios" / "journey_baseline.yaml"
SHORT = ["horizon=2d", "warmup=1d"]
RUN_PLOTS = {"service_level", "service_level_heatmap", "lost_by_day", "volumes", "pools", "waits", "backlog"}
JOURNEY_PLOTS = {"journey_funnel", "journey_satisfaction", "journey_churn", "journey_revenue"}


# =========================================================================== helpers
def title(ax) -> str:
    return " ".join(t for t in (ax.get_title(loc) for loc in ("left", "center", "right")) if t)


def assert_readable(fig: Figure) -> None:
    """Every visible axes has data, a title, and labelled axes (its own labels, the
    figure's y label, or those of an axes it shares x or y with)."""
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert axes
    for ax in axes:
        assert ax.lines or ax.collections or ax.patches, f"empty axes {title(ax)!r}"
        assert title(ax), "axes without a title"
        x_siblings = ax.get_shared_x_axes().get_siblings(ax)
        assert any(s.get_xlabel() for s in x_siblings), f"no x label: {title(ax)}"
        y_siblings = ax.get_shared_y_axes().get_siblings(ax)
        assert fig.get_supylabel() or any(s.get_ylabel() for s in y_siblings), (
            f"no y label: {title(ax)}")


def html_attributes(dom: str) -> dict[str, str]:
    tag = re.search(r"<html\b[^>]*>", dom)
    assert tag, dom[:500]
    return dict(re.findall(r'([\w-]+)="([^"]*)"', tag.group(0)))


CHANNELS = {
    "phone": ChannelInfo("phone", "voice", 20.0),
    "chat": ChannelInfo("chat", "chat", 60.0),
    "bot": ChannelInfo("bot", "bot", None),
    "email": ChannelInfo("email", "async", 86400.0),
}


def synthetic_intervals(reps: int = 2, days: int = 2, interval_s: float = 3600.0) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    per_day = int(86400 / interval_s)
    for rep in range(reps):
        backlog = 0
        for i in range(days * per_day):
            start = i * interval_s
            hour = (start % 86400) / 3600
            for name, info in CHANNELS.items():
                open_ = 8 <= hour < 20 or info.kind in ("async", "bot")
                offered = int(rng.poisson(40 if open_ else 2))
                closed = 0 if open_ or info.kind not in ("voice", "chat") else offered
                abandoned = int(rng.binomial(offered - closed, 0.05)) if info.real_time else 0
                contained = int(rng.binomial(offered, 0.5)) if info.kind == "bot" else 0
                answered = 0 if info.kind == "bot" else offered - closed - abandoned
                within = int(rng.binomial(answered, 0.8))
                if info.kind == "async":
                    backlog = max(0, backlog + offered - int(rng.poisson(38)))
                rows.append({
                    "replication": rep, "interval": i, "start_s": start, "channel": name,
                    "offered": offered, "answered": answered, "abandoned": abandoned,
                    "contained": contained, "escalated": offered - contained if info.kind == "bot" else 0,
                    "lost": closed, "lost_closed": closed, "waiting_end": 0,
                    "answered_within_threshold": within, "wait_sum_s": 10.0 * answered,
                    "asa_s": float(rng.gamma(2, 8)) if answered else np.nan,
                    "service_level": within / (offered - closed) if offered - closed else np.nan,
                    "agents_staffed": 10.0, "busy_agent_s": 10 * interval_s * 0.7,
                    "occupancy": 0.7, "backlog_end": backlog if info.kind == "async" else 0,
                    "in_warmup": i < per_day,
                })
    frame = pd.DataFrame(rows)
    frame["channel"] = pd.Categorical(frame["channel"], categories=list(CHANNELS))
    return frame


def synthetic_pools(reps: int = 2, days: int = 2, interval_s: float = 3600.0) -> pd.DataFrame:
    rows = []
    for rep in range(reps):
        for i in range(int(days * 86400 / interval_s)):
            for pool, staff in (("team", 12.0), ("experts", 4.0)):
                hour = (i * interval_s % 86400) / 3600
                on = staff if 8 <= hour < 20 else 0.0
                rows.append({"replication": rep, "interval": i, "start_s": i * interval_s,
                             "pool": pool, "agents_scheduled": on, "agents_staffed": on,
                             "staffed_agent_s": on * interval_s,
                             "busy_agent_s": on * interval_s * (0.6 + 0.1 * rep),
                             "occupancy": 0.6 if on else np.nan, "cost": on * 30,
                             "in_warmup": i * interval_s < 86400})
    return pd.DataFrame(rows)


def synthetic_contacts(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    channel = rng.choice(["phone", "chat", "email", "bot"], n)
    outcome = np.where(rng.random(n) < 0.1, "abandoned", "answered")
    return pd.DataFrame({
        "channel": pd.Categorical(channel), "outcome": pd.Categorical(outcome),
        "wait_s": rng.exponential(25.0, n), "in_warmup": rng.random(n) < 0.2,
    })


# =========================================================================== plot functions
def test_single_run_plots_return_labelled_figures() -> None:
    intervals, pools = synthetic_intervals(), synthetic_pools()
    figures = {
        "service_level": service_level_by_time_of_day(intervals, CHANNELS),
        "volumes": volumes_by_interval(intervals, CHANNELS, start_day="mon"),
        "pools": pool_staffing(pools, start_day="mon"),
        "waits": wait_distribution(synthetic_contacts(), CHANNELS),
        "backlog": async_backlog(intervals, CHANNELS, start_day="mon"),
    }
    for name, fig in figures.items():
        assert_readable(fig)
    sl, asa = figures["service_level"].axes[:2]
    assert "%" in sl.get_ylabel() and "(s)" in asa.get_ylabel()
    assert "80 % reference" in [t.get_text() for t in sl.get_legend().get_texts()]
    assert figures["waits"].axes[0].get_xlabel() == "wait (s)"
    # real-time channels only in the service-level and wait plots, async only in the backlog
    assert [title(ax) for ax in figures["waits"].axes] == ["phone", "chat"]
    assert [title(ax).split(" ")[0] for ax in figures["backlog"].axes] == ["email"]
    assert len(figures["volumes"].axes) == len(CHANNELS)
    assert len(figures["pools"].axes) == 2


def test_plots_skip_with_a_reason_when_inputs_are_missing() -> None:
    intervals = synthetic_intervals()
    realtime_only = {k: v for k, v in CHANNELS.items() if v.real_time}
    only_rt = intervals[intervals["channel"].isin(list(realtime_only))]
    with pytest.raises(PlotSkipped, match="async"):
        async_backlog(only_rt, realtime_only)
    with pytest.raises(PlotSkipped, match="contacts.parquet"):
        wait_distribution(None, CHANNELS)
    async_only = {"email": CHANNELS["email"]}
    with pytest.raises(PlotSkipped, match="real-time"):
        service_level_by_time_of_day(intervals[intervals["channel"] == "email"], async_only)
    with pytest.raises(PlotSkipped, match="pools"):
        pool_staffing(pd.DataFrame())


def test_service_level_pools_time_of_day_over_days_and_replications() -> None:
    """Two days × two replications of known counts give the known pooled SL."""
    intervals = synthetic_intervals()
    after = intervals[(~intervals["in_warmup"]) & (intervals["channel"] == "phone")]
    slot = after[after["start_s"] % 86400 == 9 * 3600]
    expected = np.mean([r.answered_within_threshold / (r.offered - r.lost_closed)
                        for r in slot.itertuples()])
    fig = service_level_by_time_of_day(intervals, CHANNELS)
    line = fig.axes[0].lines[0]
    x, y = line.get_xdata(), line.get_ydata()
    assert y[np.isclose(x, 9.5)][0] == pytest.approx(expected)
    assert min(x) > 8 and max(x) < 20, "closed hours are left out"


def test_closed_slots_from_written_hours() -> None:
    from simsvc.report.hours import closed_slots

    hours = {"mon-fri": "08:00-20:00", "sat": "08:00-14:00", "sun": "closed"}
    every, some, whole_days = closed_slots(hours, range(7), 3600.0)
    assert np.flatnonzero(every).tolist() == [*range(8), *range(20, 24)]
    assert np.flatnonzero(some).tolist() == list(range(14, 20))   # only Saturday closes at 14:00
    assert whole_days == ["sun"]
    every, some, _ = closed_slots("24/7", range(7), 1800.0)
    assert not every.any() and not some.any()


def test_time_of_day_plot_shades_closed_hours_instead_of_drawing_them() -> None:
    import dataclasses

    hours = {"mon-sun": "08:00-20:00"}
    channels = {k: dataclasses.replace(v, hours=hours) if v.real_time else v for k, v in CHANNELS.items()}
    intervals = synthetic_intervals()
    # After closing, a contact transferred at 20:00 waits for the morning: SL 0 % in a closed slot.
    late = (intervals["channel"] == "chat") & (intervals["start_s"] % 86400 == 20 * 3600)
    intervals.loc[late, ["offered", "lost_closed", "answered_within_threshold"]] = [3, 0, 0]
    fig = service_level_by_time_of_day(intervals, channels)
    sl = fig.axes[0]
    # axvspan's patch: a Rectangle from matplotlib 3.9 on, a Polygon before (its vertices in data x)
    xs = [p.get_patch_transform().transform(p.get_path().vertices)[:, 0] for p in sl.patches]
    spans = sorted((round(x.min(), 6), round(x.max(), 6)) for x in xs)
    assert spans == [(0.0, 8.0), (20.0, 24.0)]
    assert "closed every day" in [t.get_text() for t in sl.get_legend().get_texts()]
    assert sl.get_xlim() == (0.0, 24.0)
    for line in (line for line in sl.lines if line.get_label().startswith(("phone", "chat"))):
        x = np.asarray(line.get_xdata(), dtype=float)
        assert not np.any((x < 8) | (x > 20)), f"{line.get_label()} drawn in closed hours"


def test_heat_map_greys_a_channels_closed_hours() -> None:
    import dataclasses

    from simsvc.report.daily_plots import closed_as_missing, sl_grid

    chat = dataclasses.replace(CHANNELS["chat"], hours={"mon-fri": "08:00-20:00", "sat": "08:00-12:00"})
    intervals = synthetic_intervals()  # day 1 (after the warm-up) is a Tuesday from start_day mon
    late = (intervals["channel"] == "chat") & (intervals["start_s"] % 86400 == 20 * 3600)
    intervals.loc[late, ["offered", "lost_closed", "answered_within_threshold"]] = [3, 0, 0]
    raw = sl_grid(intervals, "chat", True, 3600.0, "mon")
    assert raw.loc[1, 20 * 3600] == 0.0            # three transfers after closing, none in time
    grid = closed_as_missing(raw, chat)
    assert np.isnan(grid.loc[1, 20 * 3600]) and grid.loc[1, 9 * 3600] == raw.loc[1, 9 * 3600]
    assert closed_as_missing(raw, CHANNELS["email"]).equals(raw)  # backlogs keep every cell


def test_service_level_targets_are_drawn_per_channel_else_the_80_reference() -> None:
    import dataclasses

    def labels(channels: dict) -> list[str]:
        fig = service_level_by_time_of_day(synthetic_intervals(), channels)
        return [line.get_label() for line in fig.axes[0].lines]

    assert "80 % reference" in labels(CHANNELS)
    with_target = {**CHANNELS, "phone": dataclasses.replace(CHANNELS["phone"], target=0.9)}
    drawn = labels(with_target)
    assert "phone target 90 %" in drawn and "80 % reference" not in drawn
    shared = {**with_target, "chat": dataclasses.replace(CHANNELS["chat"], target=0.9)}
    assert "target 90 % (phone, chat)" in labels(shared)


def test_service_level_target_is_read_from_the_scenario() -> None:
    from simsvc.config.load import load_scenario
    from simsvc.report.data import channels_from_scenario

    s = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    info = channels_from_scenario(s)
    assert info["phone"].target == 0.8 and info["chat"].target == 0.8 and info["email"].target is None


SUMMARY = pd.DataFrame([
    {"variant": v, "name": n, "channel": c, "metric": m, "mean": mean, "ci_low": mean * 0.95,
     "ci_high": mean * 1.05, "reps": 5}
    for v, n, k in (("base-1a", "baseline", 0.0), ("more-2b", "more staff", 1.0), ("less-3c", "less staff", -1.0))
    for c, m, mean in (("phone", "service_level", 0.8 + 0.05 * k), ("phone", "asa_s", 20 - 5 * k),
                       ("all", "agent_cost", 10000 + 800 * k))
])
TARGETS = [{"metric": "service_level", "channel": "phone", "op": ">=", "value": 0.8}]


def comparison_table() -> pd.DataFrame:
    base = SUMMARY[SUMMARY.variant == "base-1a"].set_index(["channel", "metric"])["mean"]
    rows = []
    for r in SUMMARY.itertuples():
        diff = r.mean - base[(r.channel, r.metric)]
        rows.append({"variant": r.variant, "name": r.name, "baseline": "baseline", "channel": r.channel,
                     "metric": r.metric, "mean": r.mean, "ci_low": r.ci_low, "ci_high": r.ci_high,
                     "reps": 5, "diff": diff, "diff_low": diff - abs(diff) * 0.5 - 0.001,
                     "diff_high": diff + abs(diff) * 0.5 + 0.001,
                     "significant": r.variant == "more-2b"})
    return pd.DataFrame(rows)


def points_table() -> pd.DataFrame:
    rows = []
    for i, staff in enumerate(range(8, 14)):
        sl = 0.55 + 0.06 * i
        rows.append({"variant": f"v{i}", "name": f"staffing={staff}", "agents.team.staffing": staff,
                     "service_level@phone": sl, "service_level@phone_ci_low": sl - 0.03,
                     "service_level@phone_ci_high": sl + 0.03,
                     "agent_cost@all": 1000.0 * staff, "agent_cost@all_ci_low": 1000.0 * staff,
                     "agent_cost@all_ci_high": 1000.0 * staff,
                     "meets_targets": sl >= 0.8, "cheapest": False})
    points = pd.DataFrame(rows)
    points.loc[points[points.meets_targets].index[0], "cheapest"] = True
    return points


def test_experiment_plots_return_labelled_figures() -> None:
    metrics = ["service_level@phone", ("asa_s", "phone"), "agent_cost"]
    labels = {"base-1a": "baseline", "more-2b": "more staff", "less-3c": "less staff"}
    means = comparison_means(SUMMARY, metrics, labels, TARGETS)
    diffs = comparison_differences(comparison_table(), metrics, labels)
    sweep = sweep_plot(points_table(), ["service_level@phone", "agent_cost@all"], TARGETS)
    for fig in (means, diffs, sweep):
        assert_readable(fig)
    assert "(%)" in means.axes[0].get_xlabel()
    assert [t.get_text() for t in means.axes[0].get_yticklabels()] == [   # top to bottom
        "baseline", "more staff", "less staff"]
    # the baseline's own row (difference 0) is not drawn; significant points are highlighted
    assert [t.get_text() for t in diffs.axes[0].get_yticklabels()] == ["more staff", "less staff"]
    assert "percentage points" in diffs.axes[0].get_xlabel()
    assert sweep.axes[0].get_xlabel() == "agents.team.staffing"
    legend = [t.get_text() for t in sweep.axes[0].get_legend().get_texts()]
    assert "cheapest feasible" in legend and any(t.startswith("target ≥ 80") for t in legend)
    # an experiment sweeping two scenarios: a line per scenario
    one, two = points_table(), points_table().assign(variant=lambda d: d.variant + "-b")
    series = {**dict.fromkeys(one.variant, "baseline"), **dict.fromkeys(two.variant, "boost")}
    both = sweep_plot(pd.concat([one, two]), ["service_level@phone"], TARGETS, series=series)
    labels = [t.get_text() for t in both.axes[0].get_legend().get_texts()]
    assert labels[:2] == ["baseline", "boost"]


# Found by fuzzing: a channel the baseline lacks has comparison rows with the variants' means
# and no difference (dd553a1), which drew an empty panel among the paired differences. Panels
# (and variants) with no paired difference are left out; a compare of one file twice (every
# difference exactly 0) still draws all its panels.
def _unpaired_chat() -> pd.DataFrame:
    chat = [{"variant": v, "name": n, "baseline": "baseline", "channel": "chat", "metric": "service_level",
             "mean": 0.9, "ci_low": 0.85, "ci_high": 0.95, "reps": 5, "diff": np.nan, "diff_low": np.nan,
             "diff_high": np.nan, "significant": False}
            for v, n in (("more-2b", "more staff"), ("less-3c", "less staff"))]
    return pd.concat([comparison_table(), pd.DataFrame(chat)], ignore_index=True)


def _titles(fig: Figure) -> list[str]:
    return [ax.get_title(loc="left") for ax in fig.axes if ax.get_visible()]


def test_differences_leave_out_panels_without_a_paired_difference() -> None:
    labels = {"base-1a": "baseline", "more-2b": "more staff", "less-3c": "less staff"}
    fig = comparison_differences(_unpaired_chat(), ["service_level@phone", "service_level@chat", "agent_cost"],
                                 labels)
    assert _titles(fig) == ["service level — phone", "agent cost — all"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["more staff", "less staff"]
    with pytest.raises(PlotSkipped, match="no paired differences"):
        comparison_differences(_unpaired_chat(), ["service_level@chat"], labels)
    # one file twice: the second is named #2, every difference is 0, and nothing is left out
    same = comparison_table()
    same = same[same.variant != "less-3c"].assign(
        name=lambda d: d.name.replace({"more staff": "baseline#2"}),
        diff=0.0, diff_low=0.0, diff_high=0.0, significant=False)
    fig = comparison_differences(same, ["service_level@phone", "asa_s@phone", "agent_cost"],
                                 {"base-1a": "baseline", "more-2b": "baseline#2"})
    assert len(_titles(fig)) == 3
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["baseline#2"]


def test_compare_report_of_one_file_twice_and_of_different_channels(tmp_path: Path) -> None:
    for name, files in (("same", (ERLANG_A, ERLANG_A)), ("channels", (ERLANG_A, BASELINE))):
        out = tmp_path / name
        result = CliRunner().invoke(main, ["compare", *map(str, files), "--set", "horizon=2d", "--set", "warmup=1d",
                                           "--reps", "2", "-w", "1", "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "warning" not in result.output and "Traceback" not in result.output, result.output
        assert {p.stem for p in (out / "plots").glob("*.png")} == {"comparison", "differences"}
    folder = make_experiment(tmp_path / "unpaired", "compare")
    _unpaired_chat().to_csv(folder / "comparison.csv", index=False)
    meta = json.loads((folder / "experiment.json").read_text(encoding="utf-8"))
    meta["metrics"] = ["service_level@phone", "service_level@chat", "agent_cost@all"]
    (folder / "experiment.json").write_text(json.dumps(meta), encoding="utf-8")
    text = write_report(folder).read_text(encoding="utf-8")
    assert "A metric of a channel the baseline lacks has no panel" in text
    assert (folder / "plots" / "differences.png").is_file()


# =========================================================================== the report of a real run
@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scenario = simsvc.load_scenario(BASELINE, overrides=SHORT)
    result = simsvc.run(scenario, replications=2, seed=1, workers=1)
    out = simsvc.write_results(result, tmp_path_factory.mktemp("report") / "run")
    assert channels_from_scenario(result.scenario)["social"].threshold_s == 7200
    return out


@pytest.fixture(scope="module")
def real_report(real_run: Path) -> Path:
    return write_report(real_run)


def test_report_is_one_self_contained_page(real_report: Path) -> None:
    assert real_report.name == "report.html" and real_report.parent.is_dir()
    text = real_report.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    assert not re.search(r"<link\b|@import|url\(", text)
    sources = re.findall(r'\bsrc="([^"]*)"', text)
    assert len(sources) == len(RUN_PLOTS) and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<script src" not in text
    assert "@media print" in text and "max-width: 100%" in text


def test_report_shows_run_facts_and_kpis(real_run: Path, real_report: Path) -> None:
    text = real_report.read_text(encoding="utf-8")
    manifest = json.loads((real_run / "manifest.json").read_text(encoding="utf-8"))
    for fact in (manifest["scenario_hash"], str(manifest["root_seed"]), "baseline",
                 "Mid-size omnichannel centre", f"simsvc {manifest['simsvc_version']}",
                 f"pandas {manifest['dependencies']['pandas']}"):
        assert fact in text, fact
    summary = pd.read_csv(real_run / "summary.csv")
    sl = summary[(summary.channel == "phone") & (summary.metric == "service_level")]["mean"].iloc[0]
    asa = summary[(summary.channel == "chat") & (summary.metric == "asa_s")]["mean"].iloc[0]
    assert f"{sl * 100:.1f}\u00a0%" in text       # rates as %
    assert f"{asa:,.1f}\u00a0s" in text            # waits in seconds
    # The baseline sets service-level targets, so the caption speaks of them, not of a reference.
    assert "Dashed lines are the service-level targets set in the scenario" in text
    assert "the scenario sets no target" not in text
    # Customer-side metrics in their units: CSAT as a share in %, NPS in points.
    csat = summary[(summary.channel == "all") & (summary.metric == "csat")]["mean"].iloc[0]
    nps = summary[(summary.channel == "all") & (summary.metric == "nps")]["mean"].iloc[0]
    assert f"{csat * 100:.1f}\u00a0%" in text
    assert f"{nps:,.1f}" in text


def test_report_writes_every_plot_as_png(real_run: Path, real_report: Path) -> None:
    files = {p.name for p in (real_run / "plots").iterdir()}
    assert files == {f"{k}.png" for k in RUN_PLOTS}   # SVGs only with svg=True (test_report_svg.py)
    for key in RUN_PLOTS:
        assert (real_run / "plots" / f"{key}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in real_run.rglob(".*")], "a temporary file was left behind"


def test_forecast_report_has_no_customers_section_or_journey_plots(real_run: Path,
                                                                   real_report: Path) -> None:
    text = real_report.read_text(encoding="utf-8")
    assert 'id="customers"' not in text and "Customers</h2>" not in text
    assert "journey" not in text.lower() and "customers.parquet" not in text
    assert not [p for p in (real_run / "plots").iterdir() if p.stem in JOURNEY_PLOTS]
    assert load_run(real_run).is_journey is False


def test_report_notes_missing_inputs_instead_of_plots(real_run: Path, tmp_path: Path) -> None:
    folder = tmp_path / "no-contacts"
    shutil.copytree(real_run, folder, ignore=shutil.ignore_patterns("plots", "report.html"))
    (folder / "contacts.parquet").unlink()
    text = write_report(folder).read_text(encoding="utf-8")
    # deleted, not left out by --no-contacts (the manifest records that): missing, not "absent"
    assert "Not shown: contacts.parquet is missing from the folder" in text
    assert "--no-contacts" not in text
    assert not (folder / "plots" / "waits.png").exists()
    assert (folder / "plots" / "service_level.png").exists()


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _chromium_args(binary: str, profile: Path, width: int) -> list[str]:
    return [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", f"--window-size={width},4000", "--hide-scrollbars"]


def _check_in_chromium(report: Path, images: int, tmp_path: Path) -> None:
    binary = _chromium()
    if binary is None:
        pytest.skip("chromium not found: install it (Debian: apt-get install chromium) for the browser test")
    url = report.resolve().as_uri()
    shot = tmp_path / "report.png"
    args = _chromium_args(binary, tmp_path / "profile", 1280)
    subprocess.run(args + [f"--screenshot={shot}", url], capture_output=True, timeout=120, check=True)
    assert shot.is_file() and shot.stat().st_size > 50_000, "no (or an empty) screenshot"
    for width in (1280, 900):
        dom = subprocess.run(_chromium_args(binary, tmp_path / "profile", width)
                             + ["--virtual-time-budget=5000", "--dump-dom", url],
                             capture_output=True, text=True, timeout=120, check=True).stdout
        attrs = html_attributes(dom)
        assert attrs.get("data-images-loaded") == "yes", attrs
        assert attrs["data-images"] == f"{images}/{images}", attrs
        assert attrs["data-overflow"] == "no", attrs
        assert int(attrs["data-scroll-width"]) <= int(attrs["data-inner-width"]) == width, attrs


def test_report_renders_in_headless_chromium(real_report: Path, tmp_path: Path) -> None:
    _check_in_chromium(real_report, len(RUN_PLOTS), tmp_path)


def test_journey_report_renders_in_headless_chromium(journey_report: Path, tmp_path: Path) -> None:
    _check_in_chromium(journey_report, len(RUN_PLOTS | JOURNEY_PLOTS), tmp_path)


# =========================================================================== journey mode
# The journey example cut down: 3,000 customers and ~40 prospects a day for 35 days
# (7 of them warm-up), two agents per day and one specialist; a second or two per replication.
TINY_JOURNEY = f"""
extends: {JOURNEY.as_posix()}
name: journey_tiny
description: Journey example cut to a few thousand customers
horizon: 35d
warmup: 7d
customers: {{initial: 3000, acquisition: 40/d}}
agents:
  service:
    staffing:
      shifts:
        - {{start: "08:00", end: "14:00", agents: 1, days: mon-sat}}
        - {{start: "14:00", end: "20:00", agents: 1, days: mon-sat}}
        - {{start: "10:00", end: "16:00", agents: 1, days: sun}}
  specialists:
    staffing:
      shifts:
        - {{start: "08:00", end: "20:00", agents: 1, days: mon-sat}}
"""


@pytest.fixture(scope="module")
def journey_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("journey")
    (folder / "journey_tiny.yaml").write_text(TINY_JOURNEY, encoding="utf-8")
    scenario = simsvc.load_scenario(folder / "journey_tiny.yaml")
    result = simsvc.run(scenario, replications=2, seed=1, workers=1)
    out = simsvc.write_results(result, folder / "run")
    assert {"journey.csv", "customers.parquet"} <= {p.name for p in out.iterdir()}
    return out


@pytest.fixture(scope="module")
def journey_report(journey_run: Path) -> Path:
    return write_report(journey_run)


def _summary_mean(folder: Path, metric: str) -> float:
    summary = pd.read_csv(folder / "summary.csv")
    return float(summary[(summary.channel == "all") & (summary.metric == metric)]["mean"].iloc[0])


def test_journey_plots_return_labelled_figures_that_match_the_tables(journey_run: Path) -> None:
    run = load_run(journey_run)
    assert run.is_journey and run.segments == ["loyal", "discount", "impulse", "need_based",
                                               "wandering"]
    funnel = journey_funnel(run.journey, run.customers, run.warmup_s, run.horizon_s)
    satisfaction = satisfaction_distribution(run.customers, run.segments, run.warmup_s,
                                             run.horizon_s)
    churn = churn_over_time(run.customers, run.warmup_s, run.horizon_s, run.start_day)
    revenue = revenue_by_segment(run.journey, run.segments)
    for fig in (funnel, satisfaction, churn, revenue):
        assert_readable(fig)
    journey = run.journey[run.journey.stage != "all"]
    reached = journey[(journey.segment == "all") & (journey.metric == "reached")]
    # funnel: first journeys + the rest = journey.csv's stage entries, stage by stage
    ax = funnel.axes[0]
    first, rest = ax.containers[0], ax.containers[1]
    totals = [a.get_width() + b.get_width() for a, b in zip(first, rest)]
    assert totals == pytest.approx(reached["mean"].tolist())
    # prospects' stages hold only first journeys
    assert [b.get_width() for b in rest][:3] == pytest.approx([0, 0, 0])
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "need awareness"
    # satisfaction: the groups are the summary's customers active at the end and churned
    legend = " ".join(t.get_text() for t in satisfaction.axes[0].get_legend().get_texts())
    for metric in ("customers_active_end", "churned"):
        assert f"{_summary_mean(journey_run, metric):,.0f}" in legend, (metric, legend)
    assert len(satisfaction.axes) == 1 + len(run.segments)
    # churn over time: a day-wide column per day and cause (a filled step outline per cause,
    # stacked on the one below), their sum the run's churn
    from matplotlib.patches import StepPatch

    churned = run.customers[run.customers.status == "churned"]
    steps = [p.get_data() for p in churn.axes[0].patches if isinstance(p, StepPatch)]
    assert steps and all(np.array_equal(np.diff(s.edges), np.ones(len(s.values))) for s in steps)
    heights = sum(float(np.sum(s.values - s.baseline)) for s in steps)
    assert heights == pytest.approx(len(churned) / 2)
    labels = [t.get_text() for t in churn.axes[0].get_legend().get_texts()]
    assert "warm-up (not in summary)" in labels and any("after a contact" in t for t in labels)
    # revenue: bars are journey.csv's per-segment revenue and revenue lost to churn
    bars = [b.get_width() for b in revenue.axes[0].containers[0]]
    per_segment = run.journey[(run.journey.stage == "all") & (run.journey.metric == "revenue")
                              & (run.journey.segment != "all")]
    assert bars == pytest.approx(per_segment["mean"].tolist())
    assert "currency units" in revenue.axes[0].get_xlabel()


def test_journey_plots_skip_with_a_reason_without_customers() -> None:
    with pytest.raises(PlotSkipped, match="customers.parquet"):
        satisfaction_distribution(None)
    with pytest.raises(PlotSkipped, match="customers.parquet"):
        churn_over_time(None)
    with pytest.raises(PlotSkipped, match="journey.csv"):
        journey_funnel(None)
    with pytest.raises(PlotSkipped, match="journey.csv"):
        revenue_by_segment(pd.DataFrame())


def test_journey_report_has_customers_section_and_journey_plots(journey_run: Path,
                                                                 journey_report: Path) -> None:
    text = journey_report.read_text(encoding="utf-8")
    files = {p.name for p in (journey_run / "plots").iterdir()}
    assert files == {f"{k}.png" for k in RUN_PLOTS | JOURNEY_PLOTS}
    assert text.count("data:image/png;base64,") == len(RUN_PLOTS | JOURNEY_PLOTS)
    for key in JOURNEY_PLOTS:
        assert f'<figure id="plot-{key}">' in text, key
    section = text[text.index('<section id="customers">'):text.index('<section id="plots">')]
    assert "<h2>Customers</h2>" in section and '<a href="#customers">Customers</a>' in text
    assert all(f"plot-{key}" in section for key in JOURNEY_PLOTS)   # the plots sit in the section
    # the journey metrics of summary.csv, in their units, and a column per segment
    assert f"{_summary_mean(journey_run, 'customers_acquired'):,.0f}" in section
    assert f"{_summary_mean(journey_run, 'churn_rate') * 100:.1f}\u00a0%" in section
    assert f"{_summary_mean(journey_run, 'satisfaction_end_mean'):.3f}" in section
    for name in ("customers acquired (customers)", "revenue lost to churn (currency units)",
                 "loyal", "wandering", "Funnel per stage", "information&nbsp;search"):
        assert name in section, name
    # ... which the per-channel KPI table no longer repeats
    kpis = text[text.index('<section id="kpis">'):text.index('<section id="customers">')]
    assert "customers acquired" not in kpis and "revenue" not in kpis
    assert "about 40 new prospects a day" in section
    assert "http://" not in text and "https://" not in text


def test_journey_report_without_customers_parquet_notes_the_missing_plots(
        journey_run: Path, tmp_path: Path) -> None:
    folder = tmp_path / "no-contacts"
    shutil.copytree(journey_run, folder, ignore=shutil.ignore_patterns("plots", "report.html"))
    (folder / "customers.parquet").unlink()
    text = write_report(folder).read_text(encoding="utf-8")
    assert text.count("Not shown: customers.parquet is missing from the folder") == 2
    assert {p.stem for p in (folder / "plots").glob("journey_*.png")} == {"journey_funnel",
                                                                          "journey_revenue"}
    assert "<h2>Customers</h2>" in text


# =========================================================================== experiment folders
def make_experiment(folder: Path, kind: str) -> Path:
    folder.mkdir()
    variants = {k: {"name": n, "params": {"agents.team.staffing": 9 + i},
                    "scenario_hash": f"{i}" * 64}
                for i, (k, n) in enumerate(zip(SUMMARY.variant.unique(), SUMMARY.name.unique()))}
    (folder / "experiment.json").write_text(json.dumps({
        "name": f"staffing {kind}", "kind": kind, "variants": variants, "targets": TARGETS,
        "cost_metric": "agent_cost@all"}), encoding="utf-8")
    SUMMARY.to_csv(folder / "summary.csv", index=False)
    if kind == "compare":
        comparison_table().to_csv(folder / "comparison.csv", index=False)
    else:
        points_table().to_csv(folder / "points.csv", index=False)
    return folder


@pytest.mark.parametrize("kind, plots", [("compare", {"comparison", "differences"}),
                                         ("sweep", {"sweep", "comparison"})])
def test_experiment_report(tmp_path: Path, kind: str, plots: set[str]) -> None:
    folder = make_experiment(tmp_path / kind, kind)
    text = write_report(folder).read_text(encoding="utf-8")
    assert f"staffing {kind}" in text and "service level on phone ≥ 80.0 %" in text
    assert "http://" not in text and "https://" not in text
    assert {p.stem for p in (folder / "plots").glob("*.png")} == plots
    assert text.count("data:image/png;base64,") == len(plots)
    if kind == "sweep":
        assert '<tr class="best">' in text and "★" in text
    # no timestamps: drawing the same folder again gives the same bytes
    before = {p.name: p.read_bytes() for p in (folder / "plots").iterdir()}
    assert write_report(folder).read_text(encoding="utf-8") == text
    assert {p.name: p.read_bytes() for p in (folder / "plots").iterdir()} == before


# =========================================================================== command line
def test_report_command_without_summary_fails_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{}", encoding="utf-8")
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "summary.csv" in lines[0], lines
    assert "Traceback" not in result.output
    assert not (tmp_path / "report.html").exists()


def test_run_writes_a_report_unless_no_report(tmp_path: Path) -> None:
    args = ["run", str(ERLANG_A), "--reps", "1", "--workers", "1", "--set", "horizon=2d",
            "--set", "warmup=1d"]
    plain = CliRunner().invoke(main, args + ["--out", str(tmp_path / "plain"), "--no-report"])
    assert plain.exit_code == 0, plain.output
    assert not (tmp_path / "plain" / "report.html").exists()
    assert not (tmp_path / "plain" / "plots").exists()
    later = CliRunner().invoke(main, ["report", str(tmp_path / "plain")])
    assert later.exit_code == 0, later.output
    assert later.stdout.strip() == f"report: {tmp_path / 'plain' / 'report.html'}"
    default = CliRunner().invoke(main, args + ["--out", str(tmp_path / "default")])
    assert default.exit_code == 0, default.output
    report = tmp_path / "default" / "report.html"
    assert report.is_file() and f"report: {report}" in default.stdout
    text = report.read_text(encoding="utf-8")
    # one voice channel: no async channel, so the backlog plot is replaced by a note
    assert "Not shown: the scenario has no async" in text
    # `run` draws its report from the run in memory while it writes the tables (in a process
    # of its own on Linux): the same files, byte for byte, as a report of the written folder.
    again = tmp_path / "again"
    shutil.copytree(tmp_path / "default", again)
    write_report(again)
    assert (again / "report.html").read_text(encoding="utf-8") == text.replace(
        str(tmp_path / "default"), str(again))
    plots = sorted(p.name for p in (tmp_path / "default" / "plots").iterdir())
    assert plots == sorted(p.name for p in (again / "plots").iterdir()) and len(plots) >= 6   # PNGs (no SVG without --svg)
    for name in plots:
        assert (again / "plots" / name).read_bytes() == (tmp_path / "default" / "plots" / name).read_bytes(), name


def test_without_a_report_process_the_run_draws_the_same_report_itself(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Where there is no fork (not Linux), `run` draws the report in its own process, rendering
    while it writes the tables: the same files as a report of the written folder."""
    from simsvc.report import aside

    monkeypatch.setattr(aside, "available", lambda: False)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(ERLANG_A), "--reps", "2", "--set", "horizon=6h",
                                       "--set", "warmup=1h", "--out", str(out)])
    assert result.exit_code == 0, result.output
    again = tmp_path / "again"
    shutil.copytree(out, again)
    write_report(again)
    assert (again / "report.html").read_text(encoding="utf-8") == (out / "report.html").read_text(
        encoding="utf-8").replace(str(out), str(again))
    for file in (out / "plots").iterdir():
        assert (again / "plots" / file.name).read_bytes() == file.read_bytes(), file.name


def test_a_journey_run_is_reported_from_its_folder_by_the_report_process(real_run: Path, real_report: Path,
                                                                         tmp_path: Path) -> None:
    """A run with customers keeps none of them for the report (they grow with replications):
    its report process reads the written folder instead, like `simsvc report`."""
    from simsvc.report import aside
    from simsvc.report.live import ReportTables

    kept = ReportTables()
    kept.add({"intervals": pd.DataFrame({"start_s": [0.0]}), "customers": pd.DataFrame({"segment": ["a"]})})
    assert kept.from_folder and kept.intervals == [] and not hasattr(kept, "customers")
    if not aside.available():
        pytest.skip("the report process needs fork")
    folder = tmp_path / "run"
    shutil.copytree(real_run, folder)
    process = aside.ReportAside()
    process.draw(folder)
    assert process.finish(folder) == folder / "report.html"
    assert (folder / "report.html").read_text(encoding="utf-8") == real_report.read_text(
        encoding="utf-8").replace(str(real_run), str(folder))


def test_a_report_that_cannot_be_drawn_leaves_the_results_and_warns(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from simsvc.report import build

    def broken(*args, **kwargs):
        raise RuntimeError("no ink")

    monkeypatch.setattr(build, "run_blocks", broken)   # in this process and the forked report process
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(ERLANG_A), "--reps", "1", "--set", "horizon=3h",
                                       "--set", "warmup=1h", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning: report not written (RuntimeError: no ink); retry with: simsvc report" in result.stderr
    assert (out / "summary.csv").is_file() and not (out / "report.html").exists()


def test_importing_simsvc_does_not_load_matplotlib() -> None:
    code = ("import sys, simsvc, simsvc.cli; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def small_figures(n: int = 3) -> list[Figure]:
    """``n`` small one-panel figures with a line, a title and a legend: what rendering tests render."""
    from simsvc.report import style

    out = []
    for k in range(n):
        fig = style.new_figure(rows=1, height=2.0, width=4.0)
        ax = fig.add_subplot()
        ax.plot(np.arange(50), np.sin(np.arange(50) / (k + 2)), label=f"series {k}")
        ax.set_title(f"figure {k}")
        ax.legend()
        out.append(fig)
    return out


def test_figures_rendered_in_forked_processes_are_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report renders its figures in parallel processes; the files must not depend on it."""
    from simsvc.report import render

    figures = small_figures
    monkeypatch.setattr(render, "RENDER_PROCESSES", 0)
    serial = render.render_all(figures())
    monkeypatch.setattr(render, "RENDER_PROCESSES", 1)   # one process beside the caller
    beside = render.render_all(figures())
    monkeypatch.setattr(render, "RENDER_PROCESSES", 2)
    parallel = render.render_all(figures())
    assert beside == serial
    assert len(parallel) == 3 and all(png[:8] == b"\x89PNG\r\n\x1a\n" and b"<svg" in svg[:2000]
                                      for png, svg in parallel)
    assert parallel == serial
    assert render._FIGURES == []  # the forked processes' figures are let go


def test_figures_drawn_from_the_interval_tables_early_are_kept_when_the_run_agrees(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`run` sends the figures that need no contacts to the report process as soon as the last
    replication's interval tables exist (EarlyFigures); the report keeps them only if the
    complete run gives them the same data, and is then the same as one drawn at the end."""
    from simsvc.config.load import load_scenario, scenario_yaml
    from simsvc.experiment.output import small_files
    from simsvc.experiment.runner import run
    from simsvc.report.build import EarlyFigures, RunReport
    from simsvc.report import render
    from simsvc.report.live import ReportTables, run_data

    monkeypatch.setattr(render, "RENDER_PROCESSES", 0)   # rendered when collected, in this process
    scenario = load_scenario(ERLANG_A, ("horizon=6h", "warmup=1h"))
    kept, sent = ReportTables(), []

    def keep(tables):
        kept.add(tables)
        return tables

    def early(intervals, pools, daily):
        sent.append(kept.early(tmp_path, scenario_yaml(scenario), intervals, pools, daily))

    result = run(scenario, replications=2, workers=1, extend_tables=keep, on_intervals=early)
    final = run_data(tmp_path, small_files(result), kept)
    figures = EarlyFigures(sent[0])
    report = RunReport(final, figures)
    assert set(report.reused) == {b.key for b in report.blocks} - {"waits"}
    assert report.page() == RunReport(final).page()
    # data that differs (here: one replication's pools fewer) is drawn again, never reused
    other = EarlyFigures(sent[0])
    final.pools = final.pools[final.pools["replication"] == 0]
    assert not other.fits(final) and RunReport(final, other).reused == []
