"""Async customers who chase on another channel when their email is not answered in time."""
from __future__ import annotations

import numpy as np
import pytest

from simsvc.config.load import ScenarioError, validate
from simsvc.model.centre import ContactCentre
from simsvc.model.demand import Arrivals
from simsvc.observe.records import ANSWERED, CHASE, WAITING


def scenario(staffing: object, probability: float = 1.0) -> object:
    return validate({
        "name": "chase", "horizon": "1d", "interval": "1h",
        "channels": {
            "email": {"kind": "async", "response_target": "4h",
                      "chase": {"after": "2h", "probability": probability, "to": "phone"}},
            "phone": {"kind": "voice"},
        },
        "demand": {"email": {"rate": "1/h"}},
        "handling": {"email": {"dist": "deterministic", "value": "10min"},
                     "phone": {"dist": "deterministic", "value": "5min"}},
        "agents": {"team": {"skills": ["phone", "email"], "staffing": staffing}},
    })


def run_one(s, t: float = 0.0):
    return ContactCentre(s, 1, 0, arrivals=Arrivals(np.array([t]), np.array([0]), np.array([0]))).run().contacts


def test_unanswered_email_chases_on_phone_after_the_delay() -> None:
    # Nobody works until 03:00: the email (00:00) is still waiting at 02:00, so the customer phones.
    s = scenario({"steps": [{"start": "00:00", "agents": 0}, {"start": "03:00", "agents": 1}]})
    c = run_one(s)
    assert list(c["origin"]) == [0, CHASE]
    assert list(c["channel"]) == [0, 1]
    assert list(c["attempt"]) == [1, 2] and c["issue"][0] == c["issue"][1]
    assert c["arrival_s"][1] == pytest.approx(2 * 3600)
    # The phone call is answered first (priority), the email stays in the backlog and is answered too.
    assert c["outcome"][1] == ANSWERED and c["wait_s"][1] == pytest.approx(3600)
    assert c["outcome"][0] == ANSWERED and c["wait_s"][0] == pytest.approx(3 * 3600 + 300)


def test_answered_email_does_not_chase() -> None:
    c = run_one(scenario(1))
    assert list(c["origin"]) == [0] and c["outcome"][0] == ANSWERED


def test_chase_probability_zero_never_chases_and_still_waits() -> None:
    c = run_one(scenario(0, probability=0.0))
    assert list(c["origin"]) == [0] and c["outcome"][0] == WAITING


def test_chase_share_matches_probability() -> None:
    s = scenario(0, probability=0.3)
    n = 4000
    arrivals = Arrivals(np.linspace(0, 3600, n), np.zeros(n, dtype=int), np.zeros(n, dtype=int))
    c = ContactCentre(s, 3, 0, arrivals=arrivals).run().contacts
    share = np.sum(c["origin"] == CHASE) / n
    assert share == pytest.approx(0.3, abs=4 * np.sqrt(0.3 * 0.7 / n))


@pytest.mark.parametrize("to", ["email", "fax"])
def test_chase_must_go_to_another_existing_channel(to: str) -> None:
    d = scenario(1).model_dump(mode="json")
    d["channels"]["email"]["chase"]["to"] = to
    with pytest.raises(ScenarioError) as info:
        validate(d)
    assert info.value.path == "channels.email.chase.to" and info.value.value == to
