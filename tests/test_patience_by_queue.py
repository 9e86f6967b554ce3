"""Patience by the queue found on arrival (``channels.<ch>.patience_by_queue``, ``fit
--patience-by-queue``): validated, applied to the caller's own draw by the band of the contacts
waiting when it arrives, and recovered by the fit from a log simulated with known factors."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from simsvc.calibrate import patience_load as pl
from simsvc.calibrate.replay import replay_dict, simulate_contacts
from simsvc.config.errors import ScenarioError
from simsvc.config.load import validate
from simsvc.model.centre import simulate
from simsvc.observe.tables import contacts_frame


def scenario(by_queue: dict | None, *, agents: int = 12, rate_per_h: float = 240, hours: int = 8) -> dict:
    """12 agents for 12 Erlangs with patience of mean 120 s: queues come and go."""
    phone = {"kind": "voice", "patience": {"dist": "exponential", "mean": "120s"}}
    if by_queue is not None:
        phone["patience_by_queue"] = by_queue
    return {
        "name": "patience by queue", "seed": 3, "horizon": f"{hours}h", "interval": "1h",
        "channels": {"phone": phone},
        "demand": {"phone": {"rate": f"{rate_per_h:g}/h"}},
        "handling": {"phone": {"dist": "exponential", "mean": "180s"}},
        "agents": {"team": {"skills": ["phone"], "staffing": agents}},
    }


def contacts(data: dict) -> pd.DataFrame:
    s = validate(data)
    return contacts_frame(s, simulate(s, s.seed, 0))


def found_in(c: pd.DataFrame) -> np.ndarray:
    """The queue each contact found, counted from the records as the fit counts it from a log."""
    log = pd.DataFrame({"day": pd.Timestamp("2026-01-05"), "clock_s": c["arrival_s"].to_numpy(),
                        "wait_s": c["wait_s"].to_numpy()})
    return pl.queue_found(log)


@pytest.mark.parametrize("by_queue, message", [
    ({"queue_from": [1, 3], "factor": [1, 0.5]}, "queue_from starting at 0"),
    ({"queue_from": [0, 3, 3], "factor": [1, 0.5, 0.4]}, "strictly increasing"),
    ({"queue_from": [0, 3], "factor": [1, 0.5, 2]}, "one factor per band"),
    ({"queue_from": [0, 3], "factor": [1, 0]}, "greater than 0"),
])
def test_bad_patience_by_queue_names_the_field(by_queue, message):
    with pytest.raises(ScenarioError) as exc:
        validate(scenario(by_queue))
    assert "channels.phone.patience_by_queue" in str(exc.value) and message in str(exc.value), str(exc.value)


def test_patience_by_queue_needs_a_patience():
    data = scenario({"queue_from": [0], "factor": [0.5]})
    del data["channels"]["phone"]["patience"]
    with pytest.raises(ScenarioError) as exc:
        validate(data)
    assert "channels.phone" in str(exc.value) and "give the channel a patience" in str(exc.value)


def test_factor_one_everywhere_is_the_same_run_as_no_field():
    """Factors of 1 take the field's path (patience events instead of lazy expiry, the queue
    counted at each arrival) and must change nothing, to the last byte."""
    plain = contacts(scenario(None))
    ones = contacts(scenario({"queue_from": [0, 2, 5], "factor": [1, 1, 1]}))
    assert (plain["outcome"] == "abandoned").sum() > 100  # queues formed and callers left
    pd.testing.assert_frame_equal(plain, ones)


def test_each_caller_keeps_its_draw_times_the_factor_of_the_queue_it_found():
    """Common random numbers: the same callers draw the same patience; the field multiplies it by
    the factor of the band of contacts waiting when the caller arrived (0.5 from 3 waiting on)."""
    plain = contacts(scenario(None))
    banded = contacts(scenario({"queue_from": [0, 3], "factor": [1, 0.5]}))
    assert len(plain) == len(banded)  # no redials: the same arrivals, row by row
    ratio = banded["patience_s"].to_numpy() / plain["patience_s"].to_numpy()
    expected = np.where(found_in(banded) >= 3, 0.5, 1.0)
    assert 200 < (expected == 0.5).sum() < len(banded) - 200  # both bands are visited
    np.testing.assert_allclose(ratio, expected, rtol=1e-12)


@pytest.mark.parametrize("factor, more", [(0.5, True), (2.0, False)])
def test_shorter_patience_in_a_long_queue_raises_abandonment(factor, more):
    """A day of 12 Erlangs for 12 agents: half the patience from 2 waiting on raises abandonment
    (by about 17 %), twice the patience lowers it (by about 10 %); the same callers in both runs."""
    plain = (contacts(scenario(None, hours=24))["outcome"] == "abandoned").mean()
    scaled = (contacts(scenario({"queue_from": [0, 2], "factor": [1, factor]}, hours=24))["outcome"]
              == "abandoned").mean()
    assert (scaled > plain * 1.08) if more else (scaled < plain / 1.05), (plain, scaled)


TRUTH = {"queue_from": [0, 3, 8], "factor": [1.4, 1.0, 0.6]}
DAYS = [pd.Timestamp("2026-01-05") + pd.Timedelta(days=i) for i in range(8)]


@pytest.fixture(scope="module")
def simulated_log() -> pd.DataFrame:
    """Eight days, 8:00–16:00, 200 to 320 calls an hour (10–16 Erlangs of 180 s calls) for 14
    agents, exponential patience of 200 s × the TRUTH factors: simulated, then read as a log."""
    behaviour = {"channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "200s"},
                                        "patience_by_queue": TRUTH}},
                 "reasons": ["PS"], "handling": {"phone": {"dist": "exponential", "mean": "180s"}},
                 "pools": {"general": ["phone"]}}
    per_quarter = [50, 60, 70, 80, 70, 60, 50, 60]  # by hour, 8:00–16:00
    arrivals = pd.DataFrame([(d, h * 3600.0 + q * 900.0 + 1.0) for d in DAYS for h in range(8, 16) for q in range(4)
                             for _ in range(per_quarter[h - 8])], columns=["day", "clock_s"])
    arrivals = arrivals.assign(channel="phone", reason="PS")
    staffing = pd.DataFrame([(d, "general", h * 3600.0 + q * 900.0) for d in DAYS for h in range(8, 16)
                             for q in range(4)], columns=["day", "pool", "start_s"]).assign(agents=14.0)
    data = replay_dict(behaviour, arrivals, staffing, DAYS, 900.0, name="truth", seed=5)
    c = simulate_contacts(validate(data, file="<truth>"), 5, 0)
    c = c[c["outcome"].isin(["answered", "abandoned"])]
    day = (c["arrival_s"].to_numpy() // 86400).astype(int)
    return pd.DataFrame({"day": np.array(DAYS)[day], "clock_s": c["arrival_s"].to_numpy() % 86400,
                         "channel": "phone", "outcome": c["outcome"].astype(str).to_numpy(),
                         "wait_s": c["wait_s"].to_numpy()})


def test_the_fit_recovers_the_factors_the_log_was_simulated_with(simulated_log):
    """Each band's factor relative to the middle band lies within 3 standard errors (from the
    fit's own interval) of the truth's, and the Weibull baseline is close to exponential."""
    log = simulated_log
    q, found = pl.fit_for_channel(log, "phone", log.index)  # with bands of its own choosing
    assert q.edges[0] == 0 and len(q.edges) >= 3 and q.factors[0] > 1.2 * q.factors[-1], (q.edges, q.factors)
    q = pl.fit_queue_factors(log["wait_s"].to_numpy(), (log["outcome"] == "abandoned").to_numpy(), found,
                             edges=TRUTH["queue_from"])
    assert min(q.abandoned) > 100, q.abandoned
    est = np.log(np.asarray(q.factors) / q.factors[1])
    truth = np.log(np.asarray(TRUTH["factor"]) / TRUTH["factor"][1])
    se = np.array([(np.log(hi) - np.log(lo)) / (2 * 1.96) for lo, hi in q.ci])
    se = np.sqrt(se ** 2 + se[1] ** 2)  # a ratio of two estimates (the reference's se is 0 when it is band 1)
    assert (np.abs(est - truth) <= 3 * se).all(), (q.factors, se)
    assert (se[[0, 2]] < 0.15).all()  # the bands are identified, not only allowed
    assert abs(q.shape - 1) < 0.1, q.shape
    assert q.logrank_p < 1e-6


def test_a_fit_without_the_effect_finds_factors_near_one():
    """Contacts simulated without the field: every band's interval holds 1 (relative to the
    band with the most contacts), so the factors the bank shows are not an artefact of counting."""
    c = contacts(scenario(None, hours=24))
    c = c[c["outcome"].isin(["answered", "abandoned"])]
    q = pl.fit_queue_factors(c["wait_s"].to_numpy(), (c["outcome"] == "abandoned").to_numpy(), found_in(c),
                             edges=[0, 3, 8])
    assert all(lo <= 1 <= hi for lo, hi in q.ci), (q.factors, q.ci)


def test_fit_writes_the_factors_and_check_accepts_them(tmp_path, simulated_log):
    """`fit --patience-by-queue` on the log simulated with the TRUTH factors, written as a CSV:
    the scenario carries bands and factors falling with the queue, with a comment per band;
    the summary and the report show them; the folder loads."""
    from click.testing import CliRunner

    from simsvc.cli import main
    from simsvc.config.load import load_scenario

    log = simulated_log
    stamp = log["day"] + pd.to_timedelta(log["clock_s"].round(), unit="s")
    csv = tmp_path / "log.csv"
    pd.DataFrame({"arrival_time": stamp.dt.strftime("%Y-%m-%d %H:%M:%S"), "outcome": log["outcome"],
                  "wait_s": log["wait_s"].round(1),
                  "handle_s": np.random.default_rng(1).exponential(180, len(log)).round(1) + 1,
                  "agent": "A"}).to_csv(csv, index=False)
    out = tmp_path / "fitted"
    result = CliRunner().invoke(main, ["fit", str(csv), "--out", str(out), "--no-effective", "--patience-by-queue"])
    assert result.exit_code == 0, result.output
    assert "patience × by queue found" in result.stdout
    spec = load_scenario(out / "scenario.yaml").channels["phone"].patience_by_queue
    assert spec.queue_from[0] == 0 and len(spec.factor) == len(spec.queue_from) >= 3
    assert spec.factor[0] > 1.2 * spec.factor[-1], spec
    text = (out / "scenario.yaml").read_text()
    assert "# patience by the queue found on arrival" in text and re.search(r"# found 0: × [\d.]+ \[[\d.]+, [\d.]+\]", text)
    assert "Patience by the queue found on arrival" in (out / "fit_report.html").read_text()


def test_patience_by_queue_with_class_patience_is_refused(tmp_path):
    from pathlib import Path

    from click.testing import CliRunner

    from simsvc.cli import main

    log = Path(__file__).parent / "data" / "synthetic_log.csv"
    result = CliRunner().invoke(main, ["fit", str(log), "--out", str(tmp_path / "f"), "--no-effective",
                                       "--patience-by-queue", "--class-patience"])
    assert result.exit_code == 2 and "--patience-by-queue" in result.output and "--class-patience" in result.output
    assert not (tmp_path / "f").exists()


def test_requirements_names_the_factor_as_outside_the_erlang_figures(tmp_path):
    """Erlang A has one patience: `requirements` says the factor is not in its figures, which
    are the same with or without it."""
    import yaml
    from click.testing import CliRunner

    from simsvc.cli import main

    runs = {}
    for name, by_queue in (("plain", None), ("scaled", {"queue_from": [0, 3], "factor": [1.2, 0.7]})):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(scenario(by_queue)), encoding="utf-8")
        out = tmp_path / name
        runs[name] = CliRunner().invoke(main, ["requirements", str(path), "--target", "service_level >= 0.8 on phone",
                                               "--out", str(out)])
        assert runs[name].exit_code == 0, runs[name].output
    assert "warning" not in runs["plain"].output
    assert "warning: channels.phone.patience_by_queue is not in these Erlang figures" in runs["scaled"].output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "plain" / "requirements.csv"),
                                  pd.read_csv(tmp_path / "scaled" / "requirements.csv"))


def test_thin_bands_are_merged_and_one_band_writes_no_field():
    """Bands with too few abandonments join their neighbour (the first band the next one); a log
    where queues never form gives one band, and `fit` then writes no factor and says so."""
    rng = np.random.default_rng(2)
    found = rng.integers(0, 12, 4000)
    abandoned = (found >= 1) & (rng.random(4000) < 0.05)  # nobody who found an empty queue abandoned
    edges = pl.band_edges(found, abandoned)
    assert edges[0] == 0 and 1 not in edges  # 0 alone had no abandonments: merged with the next band
    band = np.searchsorted(edges, found, side="right") - 1
    assert np.bincount(band[abandoned]).min() >= pl.MIN_BAND_ABANDONED
    notes: list[str] = []
    quiet = pd.DataFrame({"day": pd.Timestamp("2026-01-05"), "clock_s": np.arange(500) * 600.0,
                          "channel": "phone", "wait_s": np.where(np.arange(500) % 5 == 0, 30.0, 0.0),
                          "outcome": np.where(np.arange(500) % 10 == 0, "abandoned", "answered")})
    assert pl.fit_or_note(quiet, "phone", quiet.index, notes) is None
    assert notes and "no patience by the queue found (one band" in notes[0]
