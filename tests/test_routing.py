"""Routing rules: the blending reserve of a pool and the queue credit of a reason.

Deterministic event traces pin the rules; metamorphic and statistical tests check
what they are for: a reserve shortens phone waits at the cost of email response,
a credit moves a class ahead by as much as the non-preemptive priority formula
says (Cobham 1954), and a reserve with plentiful email makes the phone line a
birth-death process whose stationary law is known exactly.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import test_conservation as cons  # its random-scenario strategy and settings
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from simsvc.config.errors import ScenarioError
from simsvc.config.load import validate
from simsvc.config.references import skill_queues
from simsvc.model.centre import ContactCentre
from simsvc.model.demand import Arrivals
from simsvc.observe import summary as summ
from simsvc.observe.records import ABANDONED, ANSWERED, CONTAINED, ESCALATED, LOST, WAITING

H = 3600.0


def det(seconds: float) -> dict:
    return {"dist": "deterministic", "value": f"{seconds}s"}


def blended(reserve: dict | None = None, staff: int = 2, **over) -> dict:
    """One pool on phone then email; ``reserve`` is the pool's reserve (None: none)."""
    d = {
        "name": "routing",
        "horizon": "1d",
        "interval": "1h",
        "channels": {"phone": {"kind": "voice"}, "email": {"kind": "async", "response_target": "24h"}},
        "demand": {"phone": {"rate": "1/h"}, "email": {"rate": "1/h"}},
        "handling": {"phone": det(60), "email": det(60)},
        "agents": {"team": {"skills": ["phone", "email"], "staffing": staff}},
    }
    if reserve is not None:
        d["agents"]["team"]["reserve"] = reserve
    d.update(copy.deepcopy(over))
    return d


def run(d: dict, times, channels, reasons=None, seed=1):
    sc = validate(d)
    ch_names, r_names = list(sc.channels), list(sc.reasons)
    reasons = [0] * len(times) if reasons is None else [r_names.index(r) for r in reasons]
    arr = Arrivals(np.asarray(times, dtype=float), np.asarray([ch_names.index(c) for c in channels]),
                   np.asarray(reasons, dtype=np.int64))
    return ContactCentre(sc, seed, 0, arrivals=arr).run()


def answered_at(raw) -> list[float]:
    c = raw.contacts
    return (c["arrival_s"] + c["wait_s"]).tolist()


# --------------------------------------------------------------------------- reserve, event by event
def test_reserve_holds_an_agent_for_phone():
    # Two agents, reserve 1. Email t=0 taken (one other stays idle); email t=10 waits
    # (taking it would leave none); the phone call at t=20 finds the kept agent. At 60 the
    # first agent frees with the other on the phone: it idles (reserve). At 80 the phone
    # agent frees with one other idle: it takes the waiting email.
    times, chans = [0, 10, 20], ["email", "email", "phone"]
    held = run(blended({"agents": 1, "protect": ["phone"]}), times, chans)
    assert answered_at(held) == [0.0, 80.0, 20.0]
    plain = run(blended(), times, chans)
    assert answered_at(plain) == [0.0, 10.0, 60.0]


def test_reserve_lifts_before_the_due_date():
    # One agent, reserve 1: it never takes email unless the email is near its due date
    # (arrival + 1h): by default once overdue, with lift_before_due 30min half an hour earlier.
    # The agent is idle all along, so a timer must wake it.
    channels = {"phone": {"kind": "voice"}, "email": {"kind": "async", "response_target": "1h"}}
    late = run(blended({"agents": 1, "protect": ["phone"]}, staff=1, channels=channels), [0], ["email"])
    assert answered_at(late) == [H]
    early = run(blended({"agents": 1, "protect": ["phone"], "lift_before_due": "30min"}, staff=1,
                        channels=channels), [0], ["email"])
    assert answered_at(early) == [H / 2]


def test_reserve_on_a_busy_agent_freeing_near_the_due_date():
    # One agent busy on phone calls back to back (t=0..600); the email (due 1h) waits behind
    # them; when the phone queue empties at 600 the email is not near due: the agent idles.
    # It is woken at the due date.
    channels = {"phone": {"kind": "voice"}, "email": {"kind": "async", "response_target": "1h"}}
    times = [0, 1] + [60.0 * k for k in range(1, 10)]
    chans = ["phone", "email"] + ["phone"] * 9
    raw = run(blended({"agents": 1, "protect": ["phone"]}, staff=1, channels=channels), times, chans)
    got = answered_at(raw)
    assert got[1] == H + 1  # due at arrival (t=1) + 1h
    assert got[:1] + got[2:] == [60.0 * k for k in range(10)]


def test_reserve_zero_is_todays_routing():
    # A reserve of 0 agents takes the reserve's code path and must route exactly as no reserve.
    d = blended(staff=3, demand={"phone": {"rate": "20/h"}, "email": {"rate": "15/h"}},
                handling={"phone": {"dist": "exponential", "mean": "5min"},
                          "email": {"dist": "exponential", "mean": "5min"}},
                channels={"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "3min"}},
                          "email": {"kind": "async", "response_target": "2h"}})
    plain = ContactCentre(validate(d), 7, 0).run()
    d["agents"]["team"]["reserve"] = {"agents": 0, "protect": ["phone"]}
    zero = ContactCentre(validate(d), 7, 0).run()
    assert len(plain.contacts["arrival_s"]) > 500
    for name, values in plain.contacts.items():
        np.testing.assert_array_equal(values, zero.contacts[name], err_msg=name)


def _busy_blend(reserve: dict | None, seed: int = 3):
    d = blended(reserve, staff=12,
                horizon="2d", warmup="0s",
                demand={"phone": {"rate": "80/h"}, "email": {"rate": "45/h"}},
                handling={"phone": {"dist": "lognormal", "mean": "5min", "cv": 1.0},
                          "email": {"dist": "lognormal", "mean": "6min", "cv": 0.7}},
                channels={"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "3min"}},
                          "email": {"kind": "async", "response_target": "8h"}})
    c = ContactCentre(validate(d), seed, 0).run().contacts
    phone, email = (c["channel"] == 0) & (c["outcome"] != WAITING), c["channel"] == 1
    answered = c["outcome"] == ANSWERED
    return c, float(c["wait_s"][phone].mean()), float(c["wait_s"][email & answered].mean())


def test_reserve_shortens_phone_waits_and_lengthens_email_response():
    # Metamorphic: 12 agents, phone 6.7 Erl and email 4.5 Erl. Keeping 2 agents idle for phone
    # must cut the phone wait and raise the email response time, on the same customers (CRN).
    _, phone0, email0 = _busy_blend(None)
    _, phone2, email2 = _busy_blend({"agents": 2, "protect": ["phone"]})
    assert phone2 < 0.6 * phone0
    assert email2 > email0


@st.composite
def routed_scenarios(draw) -> dict:
    """test_conservation's random scenarios, with reserves on blended pools and queue credits."""
    d = draw(cons.scenario_dicts())
    sc = validate(d)
    for pool in d["agents"].values():
        flat = [k for e in pool["skills"] for k in (e if isinstance(e, list) else [e])]
        served = {q for k in flat for q in skill_queues(sc, k)}
        protect = flat[:1]
        if set(skill_queues(sc, protect[0])) < served and draw(st.booleans()):
            pool["reserve"] = {"agents": draw(st.integers(0, 3)), "protect": protect,
                               "lift_before_due": draw(st.sampled_from(["0s", "1h", "3h"]))}
    if draw(st.booleans()):
        d["reasons"]["a"]["queue_credit"] = draw(st.sampled_from(["30s", "1h", "30d"]))
    return d


@cons.SETTINGS
@given(d=routed_scenarios(), seed=st.integers(0, 2**32 - 1))
def test_reserve_and_credit_conserve_contacts_and_agent_time(d, seed):
    sc = validate(d)
    raw = ContactCentre(sc, seed, 0).run()
    c = raw.contacts
    out = c["outcome"]
    assert np.isin(out, [WAITING, ANSWERED, ABANDONED, CONTAINED, ESCALATED, LOST]).all()
    ans = out == ANSWERED
    assert (c["agent"][ans] >= 0).all() and (c["agent"][~ans] == -1).all()
    assert (c["wait_s"][out != WAITING] >= 0).all()
    m = summ.replication_metrics(sc, raw).set_index(["channel", "metric"])["value"]
    for name in list(sc.channels) + [summ.ALL]:
        parts = sum(m[(name, k)] for k in ("answered", "abandoned", "contained", "escalated", "lost", "waiting_end"))
        assert m[(name, "offered")] == parts
    # No agent does two non-chat contacts at once, or works outside its duty period.
    duty = {int(a): (s, e) for a, s, e in zip(raw.duty["agent"], raw.duty["start_s"], raw.duty["end_s"])}
    kind = cons._kinds(sc)[c["channel"]]
    start = c["arrival_s"] + c["wait_s"]
    end = start + c["handle_s"] + c["wrap_s"]
    for a in np.unique(c["agent"][ans]):
        mine = ans & (c["agent"] == a)
        ds, de = duty[int(a)]
        assert (start[mine] >= ds - 1e-6).all() and (np.minimum(end[mine], sc.horizon) <= de + 1e-6).all()
        solo = mine & (kind != "chat")
        order = np.argsort(start[solo])
        assert (start[solo][order][1:] >= end[solo][order][:-1] - 1e-6).all()


@pytest.mark.slow
def test_reserve_with_plentiful_email_matches_the_birth_death_law():
    # c agents, reserve N, exponential handling (same mean on both channels), an email
    # backlog that never empties, patient callers. Busy agents b never fall below c - N
    # (a freed agent takes email while N others idle), so phone calls see a birth-death
    # chain on n = busy + queued in [c-N, inf): births lambda, deaths n mu for c-N < n <= c,
    # c mu above, none at c-N. P(wait) = P(n >= c), mean wait = E[(n - c)+] / lambda.
    c_agents, reserve, mean_s, lam_h = 10, 2, 300.0, 84.0
    mu, lam = 1 / mean_s, lam_h / H
    d = blended({"agents": reserve, "protect": ["phone"]}, staff=c_agents,
                horizon="4d", warmup="4h",
                demand={"phone": {"rate": f"{lam_h}/h"}, "email": {"rate": "60/h"}},
                handling={"phone": {"dist": "exponential", "mean": "5min"},
                          "email": {"dist": "exponential", "mean": "5min"}},
                channels={"phone": {"kind": "voice"}, "email": {"kind": "async", "response_target": "60d"}})
    weights, w = {c_agents - reserve: 1.0}, 1.0
    for n in range(c_agents - reserve + 1, c_agents + 400):
        w *= lam / (min(n, c_agents) * mu)
        weights[n] = w
    total = sum(weights.values())
    p_wait = sum(v for n, v in weights.items() if n >= c_agents) / total
    wait_mean = sum((n - c_agents) * v for n, v in weights.items() if n > c_agents) / total / lam
    from simsvc.analytic import mmc
    sc = validate(d)
    pw, wm = [], []
    for rep in range(10):
        c = ContactCentre(sc, 11, rep).run().contacts
        m = (c["channel"] == 0) & (c["arrival_s"] >= sc.warmup) & (c["arrival_s"] < sc.horizon - 6 * H)
        pw.append(float((c["wait_s"][m] > 0).mean()))
        wm.append(float(c["wait_s"][m].mean()))
    for values, truth in ((pw, p_wait), (wm, wait_mean)):
        half = stats.t.ppf(0.995, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values))
        assert abs(np.mean(values) - truth) < half, (np.mean(values), half, truth)
        assert half < 0.2 * truth  # precise enough to fail on a wrong rule
    # The law lies well between the naive readings, M/M/(c-N) (reserve = agents lost to phone)
    # and M/M/c (email never in the way): both are outside the simulation's interval.
    assert mmc(lam, mean_s, c_agents - reserve).wait_mean_s > 2 * wait_mean
    assert mmc(lam, mean_s, c_agents).wait_mean_s < 0.6 * wait_mean


# --------------------------------------------------------------------------- queue credit
def credit(vip_credit: str) -> dict:
    return blended(None, staff=1, reasons={"normal": {}, "vip": {"queue_credit": vip_credit}},
                   demand={"phone": {"rate": "1/h", "mix": {"normal": 0.5, "vip": 0.5}}},
                   channels={"phone": {"kind": "voice"}}, handling={"phone": det(60)},
                   agents={"team": {"skills": ["phone"], "staffing": 1}})


def test_queue_credit_moves_a_class_ahead_by_its_credit():
    # Agent busy 0-60. Normal caller at 10, VIP at 35: with 30 s credit the VIP's key is 5 < 10
    # and goes first at 60; with 20 s its key is 15 > 10 and it waits behind the normal caller.
    times, chans, reasons = [0, 10, 35], ["phone"] * 3, ["normal", "normal", "vip"]
    assert answered_at(run(credit("30s"), times, chans, reasons)) == [0.0, 120.0, 60.0]
    assert answered_at(run(credit("20s"), times, chans, reasons)) == [0.0, 60.0, 120.0]


def test_queue_credit_moves_an_async_due_date():
    # Email: due dates arrival + 24h; a 2h credit puts a VIP email that arrived 1h later first.
    d = blended(None, staff=1, reasons={"normal": {}, "vip": {"queue_credit": "2h"}},
                demand={"email": {"rate": "1/h", "mix": {"normal": 0.5, "vip": 0.5}}},
                channels={"email": {"kind": "async", "response_target": "24h"}},
                handling={"email": det(60)},
                agents={"team": {"skills": ["email"],
                                 "staffing": {"shifts": [{"start": "03:00", "end": "04:00", "agents": 1}]}}})
    raw = run(d, [0, H], ["email", "email"], ["normal", "vip"])
    assert answered_at(raw) == [3 * H + 60, 3 * H]


@pytest.mark.slow
def test_strict_priority_by_credit_matches_cobham():
    # Two classes on one M/M/c line, the high one with a credit longer than any wait: strict
    # non-preemptive priority. Cobham (1954): W_1 = C / (c mu (1 - s1)), W_2 = C / (c mu (1 - s1)(1 - rho)),
    # with C the Erlang C probability of waiting at the total load and s1 the high class's load share.
    from simsvc.analytic import mmc
    c_agents, mean_s, lam_h, share_hi = 5, 300.0, 48.0, 0.3
    d = blended(None, horizon="3d", warmup="2h",
                agents={"team": {"skills": ["phone"], "staffing": c_agents}},
                reasons={"lo": {}, "hi": {"queue_credit": "30d"}},
                demand={"phone": {"rate": f"{lam_h}/h", "mix": {"lo": 1 - share_hi, "hi": share_hi}}},
                channels={"phone": {"kind": "voice"}},
                handling={"phone": {"dist": "exponential", "mean": "5min"}})
    lam, mu = lam_h / H, 1 / mean_s
    rho = lam / (c_agents * mu)
    p_wait = mmc(lam, mean_s, c_agents).p_wait
    s1 = share_hi * rho
    w_hi = p_wait / (c_agents * mu * (1 - s1))
    w_lo = p_wait / (c_agents * mu * (1 - s1) * (1 - rho))
    sc = validate(d)
    hi, lo = [], []
    for rep in range(10):
        c = ContactCentre(sc, 5, rep).run().contacts
        m = (c["channel"] == 0) & (c["arrival_s"] >= sc.warmup) & (c["arrival_s"] < sc.horizon - 6 * H)
        hi.append(float(c["wait_s"][m & (c["reason"] == 1)].mean()))
        lo.append(float(c["wait_s"][m & (c["reason"] == 0)].mean()))
    for values, truth in ((hi, w_hi), (lo, w_lo)):
        half = stats.t.ppf(0.995, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values))
        assert abs(np.mean(values) - truth) < half, (np.mean(values), half, truth)
        assert half < 0.3 * truth
    assert w_hi < 0.3 * w_lo


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("reserve", "path", "words"), [
    ({"agents": 1, "protect": ["chat"]}, "agents.team.reserve.protect.0", "one of the pool's skills"),
    ({"agents": 1, "protect": ["phone/nope"]}, "agents.team.reserve.protect.0", "one of the pool's skills"),
    ({"agents": 1, "protect": ["phone", "email"]}, "agents.team.reserve.protect", "never hold an agent back"),
    ({"agents": -1, "protect": ["phone"]}, "agents.team.reserve.agents", "greater than or equal to 0"),
    ({"agents": 1, "protect": []}, "agents.team.reserve.protect", "at least 1"),
    ({"agents": 1, "protect": ["phone"], "lift_before_due": "soon"}, "agents.team.reserve.lift_before_due",
     "duration"),
    ({"agent": 1, "protect": ["phone"]}, "agents.team.reserve.agent", ""),
])
def test_bad_reserve_names_the_field(reserve, path, words):
    with pytest.raises(ScenarioError) as info:
        validate(blended(reserve), "s.yaml")
    assert info.value.path == path
    assert words.lower() in str(info.value).lower()


def test_bad_queue_credit_names_the_field():
    with pytest.raises(ScenarioError) as info:
        validate(credit("-5s"), "s.yaml")
    assert info.value.path == "reasons.vip.queue_credit"


def test_check_and_run_refuse_a_bad_reserve_with_one_line(tmp_path):
    # End to end: the bundled baseline with a reserve protecting a skill its pool lacks.
    from pathlib import Path

    from click.testing import CliRunner
    from cli_helpers import assert_one_error_line

    from simsvc.cli import main

    root = Path(__file__).resolve().parents[1]
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {root / 'scenarios' / 'baseline.yaml'}\nname: bad\n"
                   "agents:\n  generalists:\n    reserve: {agents: 3, protect: [chat]}\n")
    out = tmp_path / "out"
    for args in (["check", str(bad)], ["run", str(bad), "--reps", "1", "--out", str(out)]):
        line = assert_one_error_line(CliRunner().invoke(main, args))
        assert "bad.yaml" in line and "agents.generalists.reserve.protect.0 = 'chat'" in line
        assert "['phone', 'email']" in line
    assert not out.exists()
