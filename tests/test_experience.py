"""Experience, satisfaction, survey answers and churn risk (forecast mode)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simsvc.config.load import validate
from simsvc.config.schema import ChurnSpec, ExperienceWeights, Survey
from simsvc.experiment.runner import run
from simsvc.domain import experience as xp
from simsvc.model.centre import ContactCentre
from simsvc.model.demand import Arrivals
from simsvc.observe.customer import customer_view


def score(**kw):
    args = dict(wait_ratio=0.0, abandoned=False, resolved=True, attempt=1, escalated=False,
                transferred=False, public_late=False)
    args.update(kw)
    return float(xp.experience_score(ExperienceWeights(), **args))


def test_default_experience_of_an_instant_first_time_fix() -> None:
    assert score() == pytest.approx(1 / (1 + np.exp(-2.0)))


@pytest.mark.parametrize("worse", [
    {"wait_ratio": 2.0}, {"abandoned": True, "resolved": False}, {"resolved": False}, {"attempt": 3},
    {"escalated": True}, {"transferred": True}, {"public_late": True},
])
def test_each_bad_thing_lowers_experience(worse: dict) -> None:
    assert score(**worse) < score()


def test_wait_effect_is_capped() -> None:
    cap = ExperienceWeights().wait_cap
    assert score(wait_ratio=cap) == score(wait_ratio=10 * cap)


@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1))
def test_satisfaction_update_stays_between_old_and_new(s: float, e: float, w: float) -> None:
    new = xp.update_satisfaction(s, e, w)  # float32 by design
    assert min(s, e) - 1e-6 <= new <= max(s, e) + 1e-6


def test_churn_risk_is_the_base_rate_at_the_reference_and_rises_as_satisfaction_falls() -> None:
    churn = ChurnSpec()
    assert xp.churn_risk(churn, churn.reference) == pytest.approx(churn.base_risk)
    risks = xp.churn_risk(churn, np.linspace(1, 0, 11))
    assert np.all(np.diff(risks) > 0)


def test_score_definitions() -> None:
    assert xp.csat_score(np.array([5, 4, 3, 1])) == 0.5
    # 2 promoters, 1 passive, 1 detractor of 4: 50 % - 25 % = 25.
    assert xp.nps_score(np.array([10, 9, 8, 3])) == pytest.approx(25.0)
    assert np.isnan(xp.csat_score(np.array([], dtype=np.int8)))


def test_survey_answers_track_satisfaction_and_response_rate() -> None:
    survey = Survey(response_rate=0.3, csat_noise=0.6, nps_noise=1.5)
    issue, attempt = np.arange(20000) // 2, np.arange(20000) % 2 + 1
    responded, csat, nps = xp.survey_answers(survey, np.full(20000, 0.9), 11, issue, attempt)
    assert responded.mean() == pytest.approx(0.3, abs=0.02)
    assert not csat[~responded].any() and not nps[~responded].any()   # no answer: 0, read as missing
    csat, nps = csat[responded], nps[responded]
    assert csat.min() >= 1 and csat.max() <= 5 and nps.min() >= 0 and nps.max() <= 10
    # The noises are standard normals times the survey's noise: at satisfaction 0.5 the
    # answers are centred on 3 and 5 with those spreads (before rounding and clipping).
    everyone = Survey(response_rate=1.0, csat_noise=0.6, nps_noise=1.5)
    _, csat_mid, nps_mid = xp.survey_answers(everyone, np.full(20000, 0.5), 12, issue, attempt)
    assert csat_mid.mean() == pytest.approx(3.0, abs=0.03) and nps_mid.mean() == pytest.approx(5.0, abs=0.05)
    assert np.std(nps_mid) == pytest.approx(np.sqrt(1.5**2 + 1 / 12), rel=0.05)
    assert abs(np.corrcoef(csat_mid, nps_mid)[0, 1]) < 0.03  # the two noises are independent
    responded_low, csat_low, nps_low = xp.survey_answers(survey, np.full(20000, 0.3), 11, issue, attempt)
    csat_low, nps_low = csat_low[responded_low], nps_low[responded_low]
    assert xp.csat_score(csat) > xp.csat_score(csat_low)
    assert xp.nps_score(nps) > xp.nps_score(nps_low)


def test_an_attempt_keeps_its_survey_noise_when_other_attempts_come_or_go() -> None:
    # Common random numbers: drop every third attempt (another scenario's redials that did
    # not happen) and the answers of the attempts that remain are unchanged.
    survey = Survey(response_rate=0.5)
    n = 3000
    sat = np.linspace(0.1, 0.9, n)
    issue, attempt = np.arange(n) // 3, np.arange(n) % 3 + 1
    full = xp.survey_answers(survey, sat, 99, issue, attempt)
    keep = attempt != 2
    part = xp.survey_answers(survey, sat[keep], 99, issue[keep], attempt[keep])
    for a, b in zip(full, part):
        assert np.array_equal(a[keep], b)
    other = xp.survey_answers(survey, sat, 100, issue, attempt)  # another replication's start
    assert not np.array_equal(full[1], other[1])


def test_answers_are_drawn_for_those_who_respond_alone_and_are_theirs_whatever_the_rate() -> None:
    """Only respondents' answers are computed, from their own streams: a respondent's CSAT and
    NPS are the same whoever else responds (a rate of 1 draws everyone's)."""
    n = 5000
    sat = np.linspace(0.05, 0.95, n)
    issue, attempt = np.arange(n), np.ones(n, dtype=int)
    responded, csat, nps = xp.survey_answers(Survey(response_rate=0.4), sat, 7, issue, attempt)
    _, csat_all, nps_all = xp.survey_answers(Survey(response_rate=1.0), sat, 7, issue, attempt)
    assert 0.35 < responded.mean() < 0.45 and csat_all.min() >= 1
    assert np.array_equal(csat[responded], csat_all[responded]) and np.array_equal(nps[responded], nps_all[responded])
    assert not csat[~responded].any() and not nps[~responded].any()


def test_effort_lowers_ces() -> None:
    rng = np.random.default_rng(2)
    easy = xp.customer_effort(Survey(), np.zeros(5000), np.zeros(5000), np.zeros(5000), np.zeros(5000),
                              np.zeros(5000, bool), rng)
    hard = xp.customer_effort(Survey(), np.full(5000, 2), np.ones(5000), np.zeros(5000), np.full(5000, 3.0),
                              np.ones(5000, bool), rng)
    assert easy.mean() > hard.mean() + 2


def _bot_scenario():
    return validate({
        "name": "x", "horizon": "1d", "interval": "1h",
        "channels": {"bot": {"kind": "bot", "containment": 0.0, "escalate_to": "chat"},
                     "chat": {"kind": "chat"}},
        "demand": {"bot": {"rate": "1/h"}},
        "handling": {"bot": {"dist": "deterministic", "value": "60s"},
                     "chat": {"dist": "deterministic", "value": "120s"}},
        "resolution": {"chat": 0.0},
        "repeat": {"probability": 1.0, "delay": {"dist": "deterministic", "value": "1h"}, "max_attempts": 2},
        "agents": {"team": {"skills": ["chat"], "staffing": 1}},
    })


def test_attempts_group_escalation_legs_and_issues_group_attempts() -> None:
    """One issue: bot -> chat (attempt 1, unresolved), then a repeat on chat, where the
    unresolved contact was last handled (attempt 2)."""
    s = _bot_scenario()
    arrivals = Arrivals(np.array([100.0]), np.array([0]), np.array([0]))
    raw = ContactCentre(s, 1, 0, arrivals=arrivals).run()
    c = raw.contacts
    assert list(c["attempt"]) == [1, 1, 2] and list(c["leg"]) == [1, 2, 1]
    view = customer_view(s, raw)
    assert list(view.a_attempt) == [1, 2]
    assert list(view.last_leg) == [1, 2]  # the chat legs end the attempts
    assert list(view.a_channel) == [0, 1]  # attempt 1 starts on the bot, the repeat on chat
    assert not view.a_resolved.any() and view.a_handled.all()
    assert view.i_issue.size == 1 and view.i_attempts[0] == 2 and view.i_escalations[0] == 1
    assert not view.i_first_contact_resolved[0]
    # Attempt 2 is a repeat, so its experience is worse than attempt 1's.
    assert view.experience[1] < view.experience[0]


def _queue(agents: int) -> dict:
    return {
        "name": "q", "seed": 4, "horizon": "3d", "warmup": "1d",
        "channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "90s"}}},
        "demand": {"phone": {"rate": "150/h"}},
        "handling": {"phone": {"dist": "exponential", "mean": "4min"}},
        "agents": {"team": {"skills": ["phone"], "staffing": agents}},
    }


def test_more_agents_do_not_lower_csat_or_raise_churn_risk() -> None:
    """Metamorphic, on common random numbers: waits fall, so experience must not get worse."""
    results = [run(validate(_queue(c)), replications=3) for c in (8, 10, 12)]
    csat = [r.metric("csat", "phone") for r in results]
    risk = [r.metric("churn_risk", "phone") for r in results]
    wait = [r.metric("wait_mean_s", "phone") for r in results]
    assert wait[0] > wait[1] > wait[2]
    assert csat[0] <= csat[1] <= csat[2]
    assert risk[0] >= risk[1] >= risk[2]


def test_expected_wait_must_name_a_channel() -> None:
    from simsvc.config.load import ScenarioError

    d = _queue(9)
    d["experience"] = {"expected_wait": {"fone": "1min"}}
    with pytest.raises(ScenarioError) as info:
        validate(d)
    assert info.value.path == "experience.expected_wait.fone"


def test_issues_table_reconciles_with_contacts() -> None:
    d = _queue(9)
    d["resolution"] = {"phone": 0.7}
    d["channels"]["phone"]["redial"] = {"probability": 0.5}
    r = run(validate(d), replications=1)
    c, i = r.contacts, r.issues
    assert i["issue_id"].is_unique
    assert set(i["issue_id"]) == set(c["issue_id"])
    attempts = c.groupby("issue_id")["attempt"].max()
    assert (i.set_index("issue_id")["attempts"] == attempts.loc[i["issue_id"]].to_numpy()).all()
    # Experience sits on exactly one leg per finished attempt.
    finished = c.groupby(["issue_id", "attempt"])["outcome"].apply(lambda o: (o != "waiting").all())
    assert c["experience"].notna().sum() == finished.sum()
