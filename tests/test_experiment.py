"""The experiment library: design helpers, paired differences, targets, CRN, executors.

Command-line behaviour (compare, sweep, experiment, results, resume, Ctrl-C) is
in ``test_experiment_cli.py``. Simulations here are short (erlang-a-check at a
3-day horizon, 1-day warm-up) and use few replications.

The Dask test is last in this file on purpose: it starts a LocalCluster (which
leaves threads in this process), and the CRN test before it forks local worker
processes.
"""
from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from simsvc.config.load import ScenarioError, load_scenario, validate
from simsvc.experiment.design import (
    ALL,
    Design,
    MetricRef,
    Target,
    Variant,
    file_variant,
    grid_variants,
    load_experiment,
    parse_vary,
    unique_names,
    vary_values,
)
from simsvc.experiment.executors import LocalExecutor, SerialExecutor, make_executor
from simsvc.experiment.experiment import paired_differences, points_table, run_experiment
from simsvc.experiment.store import ResultStore

ROOT = Path(__file__).resolve().parents[1]
ERLANG_A = ROOT / "scenarios" / "erlang_a_check.yaml"
EXPERIMENTS = ROOT / "experiments"
SHORT = ("horizon=3d", "warmup=1d")
OUTPUTS = ("summary.csv", "points.csv", "comparison.csv")

# Student t quantiles t(0.975, df), for hand-computed intervals.
T975 = {1: 12.706204736174707, 2: 4.302652729911275}


def tiny_scenario(**over) -> object:
    """A one-channel M/M/c+M scenario built in code (not from a file)."""
    data = {
        "name": "tiny", "horizon": "2d", "warmup": "1d",
        "channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "90s"},
                               "service_level_threshold": "20s"}},
        "demand": {"phone": {"rate": "60/h"}},
        "handling": {"phone": {"dist": "exponential", "mean": "4min"}},
        "resolution": {"phone": 1.0},
        "agents": {"team": {"skills": ["phone"], "staffing": 5}},
    }
    data.update(over)
    return validate(data)


def row(frame: pd.DataFrame, **where) -> pd.Series:
    sel = frame
    for col, value in where.items():
        sel = sel[sel[col] == value]
    assert len(sel) == 1, (where, sel)
    return sel.iloc[0]


# =========================================================================== MetricRef
@pytest.mark.parametrize("text, metric, channel", [
    ("service_level", "service_level", ALL),
    ("service_level@phone", "service_level", "phone"),
    ("  asa_s@chat ", "asa_s", "chat"),
    ("wait_p90_s@all", "wait_p90_s", ALL),
])
def test_metricref_parse(text: str, metric: str, channel: str) -> None:
    ref = MetricRef.parse(text)
    assert (ref.metric, ref.channel) == (metric, channel)
    assert str(ref) == f"{metric}@{channel}"
    assert MetricRef.parse(str(ref)) == ref


@pytest.mark.parametrize("text", ["", "@phone", "Service Level", "service level", "SL@phone",
                                  "service-level", "service_level >= 0.8", "servce_level@phone"])
def test_metricref_rejects_junk(text: str) -> None:
    with pytest.raises(ValueError, match="is not a metric"):
        MetricRef.parse(text)


# Found while writing these tests (an empty channel meant @all; "a@b c" was a channel); fixed.
@pytest.mark.parametrize("text", ["service_level@", "service_level@ ", "service_level@phone chat",
                                  "service_level@@phone"])
def test_metricref_rejects_bad_channel(text: str) -> None:
    with pytest.raises(ValueError):
        MetricRef.parse(text)


# =========================================================================== Target
@pytest.mark.parametrize("text, metric, channel, op, value", [
    ("service_level >= 0.8 on phone", "service_level", "phone", ">=", 0.8),
    ("abandon_rate@phone <= 0.05", "abandon_rate", "phone", "<=", 0.05),
    ("service_level>=0.8", "service_level", ALL, ">=", 0.8),
    ("  asa_s <= 20 on chat  ", "asa_s", "chat", "<=", 20.0),
    ("agent_cost <= 1.5e4", "agent_cost", ALL, "<=", 15000.0),
    ("fcr >= .7 on email", "fcr", "email", ">=", 0.7),
])
def test_target_parse_both_syntaxes(text: str, metric: str, channel: str, op: str, value: float) -> None:
    t = Target.parse(text)
    assert t.ref == MetricRef(metric, channel)
    assert (t.op, t.value) == (op, value)
    assert Target.parse(str(t)) == t
    assert t.to_dict() == {"metric": metric, "channel": channel, "op": op, "value": value}


@pytest.mark.parametrize("text", [
    "", "service_level", "service_level > 0.8", "service_level = 0.8", "service_level == 0.8",
    "service_level >= high", "service_level >= 80%", "service_level@phone >= 0.8 on chat",
    "service_level >= 0.8 on", "service_level >= 0.8 on phone and chat", "Service_Level >= 0.8",
    ">= 0.8",
])
def test_target_rejects_junk(text: str) -> None:
    with pytest.raises(ValueError, match="is not a target"):
        Target.parse(text)


# Found by fuzzing: 'service_level@phone >= 2' was accepted (a share lies in [0, 1], so the
# target can never be met). Target.parse is shared by sweep --target, experiment files'
# targets: and the planning commands (requirements, staff), so the bound is checked there.
@pytest.mark.parametrize("text, message", [
    ("service_level@phone >= 2", "'service_level@phone >= 2': service_level is a share between 0 and 1, got 2"),
    ("abandon_rate <= -0.01 on phone", "abandon_rate is a share between 0 and 1, got -0.01"),
    ("occupancy <= 1.2", "occupancy is a share between 0 and 1, got 1.2"),
    ("fcr >= 1.5 on email", "fcr is a share between 0 and 1, got 1.5"),
    ("csat >= 80", "csat is a share between 0 and 1, got 80"),
    ("asa_s <= -5 on phone", "asa_s is a time in seconds, 0 or more, got -5"),
    ("wait_p90_s <= -1", "wait_p90_s is a time in seconds, 0 or more, got -1"),
    ("offered >= -1", "offered is a count, 0 or more, got -1"),
    ("agent_cost <= -1", "agent_cost is an amount of money, 0 or more, got -1"),
    ("nps >= 150", "nps is % promoters - % detractors, between -100 and 100, got 150"),
    ("ces >= 0.5", "ces is a mean answer on the 1-7 scale, between 1 and 7, got 0.5"),
])
def test_target_refuses_a_value_out_of_the_metrics_range(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        Target.parse(text)
    assert str(info.value).startswith(repr(text)) and str(info.value).endswith(message), info.value


@pytest.mark.parametrize("text", ["service_level >= 1", "abandon_rate <= 0 on phone", "asa_s <= 0",
                                  "nps >= -100", "ces <= 7", "net_value >= -5000", "clv_mean >= -1"])
def test_target_accepts_the_ends_of_a_range_and_unbounded_metrics(text: str) -> None:
    assert str(Target.parse(text))


def test_target_met_is_inclusive() -> None:
    at_least = Target.parse("service_level >= 0.8")
    at_most = Target.parse("abandon_rate <= 0.05")
    assert at_least.met(0.8) and at_least.met(0.81) and not at_least.met(0.7999)
    assert at_most.met(0.05) and at_most.met(0.0) and not at_most.met(0.0501)


# =========================================================================== --vary
@pytest.mark.parametrize("text, path, values", [
    ("agents.team.staffing=8:16:1", "agents.team.staffing", list(range(8, 17))),
    ("agents.team.staffing=8:12:2", "agents.team.staffing", [8, 10, 12]),
    ("agents.team.staffing=8:11:2", "agents.team.staffing", [8, 10]),
    ("agents.team.staffing=8:10", "agents.team.staffing", [8, 9, 10]),
    ("agents.team.staffing=5:5", "agents.team.staffing", [5]),
    ("x=-2:2:2", "x", [-2, 0, 2]),
    ("channels.chatbot.containment=0.3:0.7:0.1", "channels.chatbot.containment", [0.3, 0.4, 0.5, 0.6, 0.7]),
    ("x=0:1:0.25", "x", [0.0, 0.25, 0.5, 0.75, 1.0]),
    ("x=0.1:0.3:0.1", "x", [0.1, 0.2, 0.3]),
    ("x=0:1:0.4", "x", [0.0, 0.4, 0.8]),
    ("channels.phone.service_level_threshold=10s,20s,30s", "channels.phone.service_level_threshold",
     ["10s", "20s", "30s"]),
    ("x=a,b,c", "x", ["a", "b", "c"]),
    ("x=1, 2.5, true", "x", [1, 2.5, True]),
    ("x=7", "x", [7]),
    ("  agents.team.staffing = 8:9 ", "agents.team.staffing", [8, 9]),
])
def test_parse_vary(text: str, path: str, values: list) -> None:
    got_path, got = parse_vary(text)
    assert got_path == path
    assert got == values
    assert [type(v) for v in got] == [type(v) for v in values]


@pytest.mark.parametrize("text", ["staffing", "agents.team.staffing=", "=8:10", "=", "x=16:8",
                                  "x=8:12:0", "x=8:12:-1", "x=1.0:0.5:0.1"])
def test_parse_vary_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_vary(text)


def test_vary_values_from_experiment_files() -> None:
    # YAML gives lists and scalars as they are; strings are ranges or comma lists.
    assert vary_values([8, 10, 14]) == [8, 10, 14]
    assert vary_values(12) == [12]
    assert vary_values("8:14:2") == [8, 10, 12, 14]
    assert vary_values("1h,2h") == ["1h", "2h"]
    with pytest.raises(ValueError, match="START <= STOP"):
        vary_values("14:8")
    # Found by fuzzing (IndexError in baseline_settings from an empty sweep): refused.
    with pytest.raises(ValueError, match="at least one value"):
        vary_values([])


# =========================================================================== variants
def test_variant_key_stable_and_seed_dependent() -> None:
    v = file_variant(ERLANG_A, SHORT, "nine agents")
    key = v.key(1)
    assert re.fullmatch(r"nine-agents-[0-9a-f]{12}", key), key
    assert v.key(1) == key == file_variant(ERLANG_A, SHORT, "nine agents").key(1)
    assert v.key(2) != key
    # A different resolved scenario is a different key, even with the same name.
    other = file_variant(ERLANG_A, [*SHORT, "agents.team.staffing=10"], "nine agents")
    assert other.key(1) != key
    # Overriding a field to the value it already has is the same scenario.
    same = file_variant(ERLANG_A, [*SHORT, "agents.team.staffing=9"], "nine agents")
    assert same.key(1) == key
    # Stable across processes (no reliance on Python's randomised hash()).
    code = ("from simsvc.experiment.design import file_variant; "
            f"print(file_variant({str(ERLANG_A)!r}, {list(SHORT)!r}, 'nine agents').key(1))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert out.stdout.strip() == key


def test_variant_key_of_odd_names() -> None:
    sc = tiny_scenario()
    assert re.fullmatch(r"variant-[0-9a-f]{12}", Variant("", sc).key(0))
    assert re.fullmatch(r"a-b-c-[0-9a-f]{12}", Variant("a / b : c", sc).key(0))
    assert len(Variant("x" * 500, sc).key(0)) <= 60 + 13


def test_grid_variants_product_and_overrides() -> None:
    base = Variant("", load_scenario(ERLANG_A, SHORT), {}, str(ERLANG_A), SHORT)
    grid = grid_variants(base, {"agents.team.staffing": [8, 10],
                                "channels.phone.service_level_threshold": ["10s", "30s"]}, str(ERLANG_A))
    assert [v.params for v in grid] == [
        {"agents.team.staffing": s, "channels.phone.service_level_threshold": t}
        for s in (8, 10) for t in ("10s", "30s")]
    assert [v.name for v in grid][:2] == ["staffing=8,service_level_threshold=10s",
                                          "staffing=8,service_level_threshold=30s"]
    for v in grid:
        assert v.scenario.agents["team"].staffing == v.params["agents.team.staffing"]
        assert v.scenario.horizon == 3 * 86400  # the base --set is kept
        assert v.overrides[:2] == SHORT
    assert len({v.key(1) for v in grid}) == 4
    assert grid_variants(base, {}, str(ERLANG_A)) == [base]


def test_unique_names() -> None:
    sc = tiny_scenario()
    names = [v.name for v in unique_names([Variant("a", sc), Variant("b", sc), Variant("a", sc),
                                           Variant("a", sc)])]
    assert names == ["a", "b", "a#2", "a#3"]


def test_seed_for_common_and_independent() -> None:
    sc = tiny_scenario()
    crn = Design("d", "compare", [Variant("a", sc), Variant("b", sc)], 2, 42)
    assert [crn.seed_for(i) for i in range(3)] == [42, 42, 42]
    ind = Design("d", "compare", [Variant("a", sc), Variant("b", sc)], 2, 42, independent_seeds=True)
    seeds = [ind.seed_for(i) for i in range(3)]
    assert len(set(seeds)) == 3
    assert seeds == [ind.seed_for(i) for i in range(3)]


# =========================================================================== experiment files
def test_shipped_experiments_load() -> None:
    staffing = load_experiment(EXPERIMENTS / "staffing_comparison.yaml")
    assert staffing.kind == "experiment"
    assert [v.name for v in staffing.variants] == ["baseline", "morning_boost", "wider_retry"]
    assert (staffing.replications, staffing.seed, staffing.independent_seeds) == (10, 2026, False)
    assert staffing.targets == [Target(MetricRef("service_level", "phone"), ">=", 0.8),
                                Target(MetricRef("abandon_rate", "phone"), "<=", 0.05)]
    assert staffing.cost_metric == MetricRef("agent_cost", ALL)
    assert len({v.scenario_hash for v in staffing.variants}) == 3

    chatbot = load_experiment(EXPERIMENTS / "chatbot_containment.yaml")
    assert len(chatbot.variants) == 5 * 4
    paths = ("channels.chatbot.containment", "agents.digital.staffing.shifts.0.agents")
    assert {tuple(v.params[p] for p in paths) for v in chatbot.variants} == {
        (c, a) for c in (0.3, 0.4, 0.5, 0.6, 0.7) for a in (8, 10, 12, 14)}
    for v in chatbot.variants:
        assert v.scenario.channels["chatbot"].containment == v.params[paths[0]]
        assert v.scenario.agents["digital"].staffing.shifts[0].agents == v.params[paths[1]]
    assert len({v.key(chatbot.seed) for v in chatbot.variants}) == 20
    assert chatbot.targets[0] == Target(MetricRef("service_level", "chat"), ">=", 0.8)


@pytest.mark.parametrize("body, where", [
    ("name: x\nscenarios: {a: SCEN}\ncolour: red\n", "colour"),
    ("name: x\nscenarios: {a: SCEN}\ntargets: ['service_level > 0.8']\n", "targets"),
    ("name: x\nscenarios: {a: SCEN}\nmetrics: ['Service Level']\n", "metrics"),
    ("name: x\nscenarios: {a: missing.yaml}\n", "missing.yaml"),
    ("name: x\nscenarios: {}\n", "scenarios"),
    ("name: x\nscenarios: {a: SCEN}\nreplications: 1\n", "replications"),
    ("name: x\nscenarios: {a: SCEN}\nsweep: {vary: {agents.team.staffing: '12:8'}}\n", "sweep.vary"),
    ("name: x\nscenarios: {a: SCEN}\nsweep: {vary: {agents.team.staffing: [-1, 9]}}\n",
     "agents.team.staffing=-1"),
    ("name: [x\n", "well-formed YAML"),
], ids=["unknown-key", "bad-target", "bad-metric", "missing-scenario", "no-scenarios", "one-replication",
        "bad-range", "invalid-point", "bad-yaml"])
def test_load_experiment_errors(tmp_path: Path, body: str, where: str) -> None:
    f = tmp_path / "e.yaml"
    f.write_text(body.replace("SCEN", str(ERLANG_A)), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_experiment(f)
    assert where in str(info.value)


# Found while writing these tests (a bare ValueError escaped load_experiment); fixed.
@pytest.mark.parametrize("body", [
    "name: x\nscenarios: {a: SCEN}\ncost_metric: Agent Cost\n",
    "name: x\nscenarios: {a: SCEN}\nprecision: {half_width: 0.01, metrics: ['bad metric']}\n",
], ids=["cost-metric", "precision-metric"])
def test_load_experiment_rejects_bad_cost_and_precision_metric(tmp_path: Path, body: str) -> None:
    f = tmp_path / "e.yaml"
    f.write_text(body.replace("SCEN", str(ERLANG_A)), encoding="utf-8")
    with pytest.raises(ScenarioError):
        load_experiment(f)


# =========================================================================== paired differences
def _per_rep() -> pd.DataFrame:
    rows = []

    def add(variant: str, metric: str, values: list[float]) -> None:
        rows.extend({"replication": r, "channel": "phone", "metric": metric, "value": v, "variant": variant}
                    for r, v in enumerate(values))

    add("A", "m", [1, 2, 3])
    add("B", "m", [2, 4, 6])
    add("C", "m", [6, 7, 8])             # A + 5 exactly
    add("A", "n", [10, 11, 12])
    add("B", "n", [11, 12.1, 12.9])
    add("C", "n", [10, 11, 12])
    add("A", "k", [5, 6, 7])
    add("B", "k", [6, np.nan, 9, 100])   # a NaN pair and a replication A does not have
    add("C", "k", [np.nan, np.nan, np.nan])
    return pd.DataFrame(rows)


def test_paired_differences_known_numbers() -> None:
    cmp = paired_differences(_per_rep(), ["A", "B", "C"], {"A": "base", "B": "bee", "C": "sea"})
    assert list(cmp.columns) == ["variant", "name", "baseline", "channel", "metric", "mean", "ci_low",
                                 "ci_high", "reps", "diff", "diff_low", "diff_high", "significant"]
    assert set(cmp.baseline) == {"base"}

    # The baseline against itself: zero difference, zero width, never significant.
    for metric in ("m", "n", "k"):
        r = row(cmp, variant="A", metric=metric)
        assert (r["diff"], r.diff_low, r.diff_high, bool(r.significant)) == (0, 0, 0, False)
        assert r.reps == 3

    # B - A on m: d = 1, 2, 3 -> mean 2, sd 1, n 3; not significant.
    r = row(cmp, variant="B", metric="m")
    h = T975[2] * 1 / math.sqrt(3)
    assert r["diff"] == pytest.approx(2)
    assert (r.diff_low, r.diff_high) == pytest.approx((2 - h, 2 + h))
    assert r["mean"] == pytest.approx(4)
    assert (r.ci_low, r.ci_high) == pytest.approx((4 - 2 * h, 4 + 2 * h))
    assert not r.significant

    # B - A on n: d = 1, 1.1, 0.9 -> mean 1, sd 0.1; significant.
    r = row(cmp, variant="B", metric="n")
    h = T975[2] * 0.1 / math.sqrt(3)
    assert (r["diff"], r.diff_low, r.diff_high) == pytest.approx((1, 1 - h, 1 + h))
    assert r.significant

    # B - A on k: only replications 0 and 2 pair up (rep 1 is NaN, rep 3 has no baseline): d = 1, 2.
    r = row(cmp, variant="B", metric="k")
    h = T975[1] * np.std([1, 2], ddof=1) / math.sqrt(2)
    assert r.reps == 2
    assert r["mean"] == pytest.approx(7.5)
    assert (r["diff"], r.diff_low, r.diff_high) == pytest.approx((1.5, 1.5 - h, 1.5 + h))
    assert not r.significant

    # C - A on m: a difference that is the same in every replication is certain.
    r = row(cmp, variant="C", metric="m")
    assert (r["diff"], r.diff_low, r.diff_high, bool(r.significant)) == (5, 5, 5, True)
    r = row(cmp, variant="C", metric="n")
    assert (r["diff"], bool(r.significant)) == (0, False)
    # C has no value of k at all: no row (nothing to pair).
    assert cmp[(cmp.variant == "C") & (cmp.metric == "k")].empty


# Found by fuzzing: compare of scenarios with different channels crashed on the missing rows.
def test_paired_differences_channel_the_baseline_lacks() -> None:
    per_rep = pd.concat([_per_rep(), pd.DataFrame(
        [{"replication": r, "channel": "chat", "metric": "m", "value": v, "variant": "B"}
         for r, v in enumerate([1.0, 2.0, 3.0])])], ignore_index=True)
    cmp = paired_differences(per_rep, ["A", "B", "C"], {"A": "base", "B": "bee", "C": "sea"})
    r = row(cmp, variant="B", channel="chat", metric="m")
    h = T975[2] * 1 / math.sqrt(3)
    assert (r["mean"], r.ci_low, r.ci_high, r.reps) == pytest.approx((2, 2 - h, 2 + h, 3))
    assert np.isnan([r["diff"], r.diff_low, r.diff_high]).all() and not r.significant
    # The paired rows are unchanged, and nothing is invented for the others.
    assert row(cmp, variant="B", channel="phone", metric="m")["diff"] == pytest.approx(2)
    assert cmp[(cmp.channel == "chat") & (cmp.variant != "B")].empty


# =========================================================================== points table
def _summary(values: dict[str, dict[tuple[str, str], float]]) -> pd.DataFrame:
    rows = [{"variant": k, "name": k, "channel": ch, "metric": m, "mean": v, "ci_low": v - 0.01,
             "ci_high": v + 0.01, "reps": 3}
            for k, metrics in values.items() for (ch, m), v in metrics.items()]
    return pd.DataFrame(rows)


SL, AB, COST = ("phone", "service_level"), ("phone", "abandon_rate"), ("all", "agent_cost")


def _points(targets: list[str], values: dict, metrics: list[str] | None = None,
            by_mean: bool = False) -> pd.DataFrame:
    sc = tiny_scenario()
    keys = list(values)
    variants = [Variant(k, sc, {"agents.team.staffing": i + 8}) for i, k in enumerate(keys)]
    design = Design("p", "sweep", variants, 3, 1, metrics=[MetricRef.parse(m) for m in metrics or []],
                    targets=[Target.parse(t) for t in targets], by_mean=by_mean)
    return points_table(design, keys, _summary(values))


def test_points_table_feasibility_and_cheapest() -> None:
    values = {
        "low_sl": {SL: 0.70, AB: 0.02, COST: 100},       # misses the SL target
        "ok_dear": {SL: 0.85, AB: 0.03, COST: 300},
        "ok_cheap": {SL: 0.80, AB: 0.05, COST: 200},     # both targets met exactly
        "no_sl": {AB: 0.01, COST: 50},                   # SL not measured: cannot meet it
        "high_ab": {SL: 0.95, AB: 0.20, COST: 10},       # misses the abandonment target
        "ok_dearest": {SL: 0.99, AB: 0.00, COST: 400},
    }
    points = _points(["service_level >= 0.8 on phone", "abandon_rate@phone <= 0.05"], values,
                     ["service_level@phone"])
    assert list(points.variant) == list(values)
    assert list(points["agents.team.staffing"]) == [8, 9, 10, 11, 12, 13]
    for col in ("service_level@phone", "abandon_rate@phone", "agent_cost@all"):
        assert {col, col + "_ci_low", col + "_ci_high"} <= set(points.columns)
    # ok_cheap's CIs (±0.01) straddle both targets: uncertain, so not chosen by default.
    assert list(points.target_status) == ["not met", "met", "uncertain", "not met", "not met", "met"]
    assert list(points.meets_targets) == [False, True, False, False, False, True]
    assert list(points.cheapest) == [False, True, False, False, False, False]
    by_mean = _points(["service_level >= 0.8 on phone", "abandon_rate@phone <= 0.05"], values,
                      ["service_level@phone"], by_mean=True)
    assert list(by_mean.target_status) == list(points.target_status)   # the status never depends on it
    assert list(by_mean.meets_targets) == [False, True, True, False, False, True]
    assert list(by_mean.cheapest) == [False, False, True, False, False, False]
    assert math.isnan(points.set_index("variant").loc["no_sl", "service_level@phone"])
    assert points.set_index("variant").loc["ok_cheap", "agent_cost@all_ci_low"] == pytest.approx(199.99)


def test_points_table_nothing_feasible_nothing_cheapest() -> None:
    values = {"a": {SL: 0.5, COST: 1}, "b": {SL: 0.6, COST: 2}}
    points = _points(["service_level >= 0.9 on phone"], values)
    assert not points.meets_targets.any()
    assert not points.cheapest.any()


def test_points_table_without_targets_cost_alone_picks_nothing() -> None:
    values = {"a": {SL: 0.5, COST: 3}, "b": {SL: 0.6, COST: 1}, "c": {SL: 0.7, COST: 2}}
    points = _points([], values)
    assert not points.meets_targets.any() and (points.target_status == "").all()
    assert not points.cheapest.any()


def test_target_status_met_not_met_uncertain() -> None:
    ge, le = Target.parse("service_level >= 0.7"), Target.parse("abandon_rate <= 0.05")
    assert ge.status(0.692, 0.661, 0.723) == "uncertain"    # the 0.692 ±0.031 against 0.70
    assert ge.status(0.75, 0.71, 0.79) == "met"
    assert ge.status(0.65, 0.62, 0.68) == "not met"
    assert ge.status(0.70, 0.70, 0.70) == "met"              # a CI of zero width on the target
    assert ge.status(0.8, float("nan"), float("nan")) == "uncertain"
    assert ge.status(float("nan"), float("nan"), float("nan")) == "not met"
    assert le.status(0.04, 0.03, 0.045) == "met" and le.status(0.06, 0.055, 0.07) == "not met"
    assert le.status(0.05, 0.045, 0.055) == "uncertain"


def test_points_table_equal_costs_single_out_none() -> None:
    values = {"a": {SL: 0.9, COST: 100}, "b": {SL: 0.95, COST: 100}, "c": {SL: 0.5, COST: 50}}
    points = _points(["service_level >= 0.8 on phone"], values)
    assert list(points.meets_targets) == [True, True, False]
    assert not points.cheapest.any()
    from simsvc.experiment.experiment import cheapest_tie
    assert cheapest_tie(points, "agent_cost@all") == ["a", "b"]


def test_points_table_no_cost_no_cheapest() -> None:
    values = {"a": {SL: 0.95}, "b": {SL: 0.96}}
    points = _points(["service_level >= 0.9 on phone"], values)
    assert points.meets_targets.all()
    assert not points.cheapest.any()


# =========================================================================== store
def test_store_save_is_atomic_and_remove_partial(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    frame = pd.DataFrame({"replication": [3], "channel": ["all"], "metric": ["m"], "value": [1.5]})
    path = store.save("k", 3, frame)
    assert path == tmp_path / "runs" / "k" / "rep-00003.parquet"
    assert store.stored("k") == {3} and store.stored("other") == set()
    pd.testing.assert_frame_equal(store.load("k"), frame)
    assert not list((tmp_path / "runs" / "k").glob(".rep-*"))
    (tmp_path / "runs" / "k" / ".rep-abc.tmp").write_bytes(b"half a file")
    assert store.stored("k") == {3}
    assert store.remove_partial() == 1
    assert not list((tmp_path / "runs" / "k").glob(".rep-*"))


# =========================================================================== CRN
def _crn_design(independent: bool, reps: int = 10) -> Design:
    nine = file_variant(ERLANG_A, SHORT, "nine")
    ten = file_variant(ERLANG_A, [*SHORT, "agents.team.staffing=10"], "ten")
    return Design("crn", "compare", [nine, ten], reps, 1, independent_seeds=independent)


def test_common_random_numbers_narrow_difference_intervals(tmp_path: Path) -> None:
    # Measured with seed 1, 10 replications: the CRN half-width is ~0.16x the
    # independent-seeds one for wait_mean_s@phone and service_level@phone.
    executor = LocalExecutor(2)
    try:
        crn = run_experiment(_crn_design(False), tmp_path / "crn", executor)
        ind = run_experiment(_crn_design(True), tmp_path / "ind", executor)
    finally:
        executor.close()
    for metric in ("wait_mean_s", "service_level", "abandon_rate"):
        a = row(crn.comparison, name="ten", channel="phone", metric=metric)
        b = row(ind.comparison, name="ten", channel="phone", metric=metric)
        assert a.reps == b.reps == 10
        h_crn, h_ind = (a.diff_high - a.diff_low) / 2, (b.diff_high - b.diff_low) / 2
        assert 0 < h_crn < 0.5 * h_ind, (metric, h_crn, h_ind)
        assert a.significant
    # Ten agents wait less and answer more within 20 s, either way.
    assert row(crn.comparison, name="ten", channel="phone", metric="wait_mean_s")["diff"] < 0
    assert row(crn.comparison, name="ten", channel="phone", metric="service_level")["diff"] > 0
    # Both variants share the root seed under CRN, not with independent seeds.
    seeds_crn = {v["seed"] for v in ResultStore(tmp_path / "crn").read_json("experiment.json")["variants"].values()}
    seeds_ind = {v["seed"] for v in ResultStore(tmp_path / "ind").read_json("experiment.json")["variants"].values()}
    assert seeds_crn == {1} and len(seeds_ind) == 2


def test_same_scenario_twice_under_crn_differs_by_exactly_zero(tmp_path: Path) -> None:
    variants = unique_names([file_variant(ERLANG_A, SHORT), file_variant(ERLANG_A, SHORT)])
    result = run_experiment(Design("same", "compare", variants, 3, 5), tmp_path / "same", SerialExecutor())
    second = result.comparison[result.comparison.name == variants[1].name]
    assert not second.empty
    finite = second.dropna(subset=["diff"])
    assert len(finite) > 20
    assert (finite["diff"] == 0).all()
    assert (finite.diff_low == 0).all() and (finite.diff_high == 0).all()
    assert not second.significant.any()
    # With independent seeds the same scenario does differ (sanity check of the control).
    ind = run_experiment(Design("same", "compare", variants, 3, 5, independent_seeds=True),
                         tmp_path / "ind", SerialExecutor())
    r = row(ind.comparison, name=variants[1].name, channel="phone", metric="wait_mean_s")
    assert r["diff"] != 0


def test_resume_in_library_skips_stored_and_counts(tmp_path: Path) -> None:
    base = Variant("", load_scenario(ERLANG_A, SHORT), {}, str(ERLANG_A), SHORT)
    design = Design("r", "sweep", grid_variants(base, {"agents.team.staffing": [9, 10]}, str(ERLANG_A)), 3, 1)
    first = run_experiment(design, tmp_path, SerialExecutor())
    assert (first.ran, first.reused) == (6, 0)
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "runs").rglob("rep-*.parquet")}
    assert len(before) == 6
    # Delete one replication: only that one runs again.
    victim = sorted(before)[0]
    victim.unlink()
    again = run_experiment(design, tmp_path, SerialExecutor())
    assert (again.ran, again.reused) == (1, 5)
    for p, mtime in before.items():
        if p != victim:
            assert p.stat().st_mtime_ns == mtime
    pd.testing.assert_frame_equal(first.summary, again.summary)
    # More replications reuse the stored ones; a different seed is a different key.
    more = run_experiment(dataclasses_replace(design, replications=4), tmp_path, SerialExecutor())
    assert (more.ran, more.reused) == (2, 6)
    other = run_experiment(dataclasses_replace(design, seed=2), tmp_path, SerialExecutor())
    assert (other.ran, other.reused) == (6, 0)


def dataclasses_replace(design: Design, **changes) -> Design:
    import dataclasses

    return dataclasses.replace(design, **changes)


# =========================================================================== executors (Dask last)
def test_make_executor_kinds() -> None:
    assert isinstance(make_executor(1), SerialExecutor)
    local = make_executor(3)
    try:
        assert isinstance(local, LocalExecutor) and local.workers == 3
    finally:
        local.close()


def test_serial_local_and_dask_give_identical_files(tmp_path: Path) -> None:
    from dask.distributed import LocalCluster

    from simsvc.cli import main

    overrides = ("horizon=2d", "warmup=1d")
    base = Variant("", load_scenario(ERLANG_A, overrides), {}, str(ERLANG_A), overrides)
    variants = grid_variants(base, {"agents.team.staffing": [9, 10, 11]}, str(ERLANG_A))
    # The same design the CLI builds for `simsvc sweep ... --vary agents.team.staffing=9:11`
    # (with the scenario's own seed, as `simsvc run` would use).
    design = Design("erlang-a-check-sweep-staffing", "sweep", variants, 3, base.scenario.seed)

    def run_with(executor, folder: str):
        try:
            result = run_experiment(design, tmp_path / folder, executor)
        finally:
            executor.close()
        assert (result.ran, result.reused) == (9, 0)
        return result

    run_with(make_executor(1), "serial")
    run_with(make_executor(2), "local")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        run_with(make_executor(dask=cluster.scheduler_address), "dask")
        cli = CliRunner().invoke(main, [
            "sweep", str(ERLANG_A), "--set", "horizon=2d", "--set", "warmup=1d",
            "--vary", "agents.team.staffing=9:11", "--reps", "3", "--dask", cluster.scheduler_address,
            "--out", str(tmp_path / "cli-dask"), "--no-report"])
    assert cli.exit_code == 0, cli.output
    assert "3 points, 9 replications run, 0 reused" in cli.stdout
    for name in OUTPUTS:
        expected = (tmp_path / "serial" / name).read_bytes()
        for folder in ("local", "dask", "cli-dask"):
            assert (tmp_path / folder / name).read_bytes() == expected, (folder, name)
    # And every stored replication is the same table.
    for rep in (tmp_path / "serial" / "runs").rglob("rep-*.parquet"):
        rel = rep.relative_to(tmp_path / "serial")
        for folder in ("local", "dask", "cli-dask"):
            pd.testing.assert_frame_equal(pd.read_parquet(rep), pd.read_parquet(tmp_path / folder / rel))


def test_an_interrupt_inside_a_save_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C can land just after a replication's temporary file is created, before the save's own
    clean-up is in force (seen once in CI: a `.rep-*.tmp` left by `sweep -w 2`). The run then says
    what it stored and leaves no temporary file behind."""
    import tempfile

    import simsvc.experiment.store as store_module
    from simsvc.experiment.experiment import Interrupted

    made, real_mkstemp = [], tempfile.mkstemp

    def mkstemp_then_interrupted(*args, **kwargs):
        fd, name = real_mkstemp(*args, **kwargs)
        if not Path(name).name.startswith(".rep-"):
            return fd, name   # the store's other files (experiment.json)
        made.append(name)
        if len(made) == 2:   # the second replication's save: its file exists, the interrupt arrives
            os.close(fd)
            raise KeyboardInterrupt
        return fd, name

    monkeypatch.setattr(store_module.tempfile, "mkstemp", mkstemp_then_interrupted)
    base = Variant("", load_scenario(ERLANG_A, SHORT), {}, str(ERLANG_A), SHORT)
    design = Design("i", "sweep", grid_variants(base, {"agents.team.staffing": [9, 10]}, str(ERLANG_A)), 2, 1)
    with pytest.raises(Interrupted) as stopped:
        run_experiment(design, tmp_path, SerialExecutor())
    assert stopped.value.stored == 1
    assert len(made) == 2 and not Path(made[1]).exists()
    assert not list(tmp_path.rglob("*.tmp"))
    assert len(list((tmp_path / "runs").rglob("rep-*.parquet"))) == 1
