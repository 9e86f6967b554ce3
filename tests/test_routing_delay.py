"""A reason's routing delay (``reasons.<r>.routing_delay``): validated, a floor under the wait
of that reason's answered contacts, abandonment during it as patience against the delay
(closed forms), and nothing changed where no reason has one."""
from __future__ import annotations

import numpy as np
import pytest

from simsvc.config.errors import ScenarioError
from simsvc.config.load import validate
from simsvc.model.centre import ContactCentre, simulate
from simsvc.observe.tables import contacts_frame


def scenario(delay: dict | None, *, agents: int = 60, rate_per_h: float = 400, hours: int = 8) -> dict:
    slow = {} if delay is None else {"routing_delay": delay}
    return {
        "name": "routing delay", "seed": 7, "horizon": f"{hours}h", "interval": "1h",
        "channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "60s"}}},
        "reasons": {"slow": slow, "fast": {}},
        "demand": {"phone": {"rate": f"{rate_per_h:g}/h", "mix": {"slow": 0.5, "fast": 0.5}}},
        "handling": {"phone": {"dist": "exponential", "mean": "240s"}},
        "agents": {"team": {"skills": ["phone"], "staffing": agents}},
    }


def contacts(data: dict, replication: int = 0):
    s = validate(data)
    c = contacts_frame(s, simulate(s, s.seed, replication))
    return c[c["outcome"].isin(["answered", "abandoned"])]


def test_bad_routing_delay_names_the_field():
    with pytest.raises(ScenarioError) as exc:
        validate(scenario({"dist": "deterministic", "value": "-5s"}))
    assert "reasons.slow.routing_delay" in str(exc.value) and "-5s" in str(exc.value)


def test_fixed_delay_is_a_floor_and_abandonment_is_patience_shorter_than_it():
    """60 agents for a load of 27 Erlang (nobody queues for an agent): every answered contact of
    the delayed reason waits exactly d = 30 s, the others not at all, and the delayed reason's
    abandonment is P(patience < d) = 1 − exp(−30/60), every abandoner leaving before d."""
    c = contacts(scenario({"dist": "deterministic", "value": "30s"}))
    slow, fast = c[c["reason"] == "slow"], c[c["reason"] == "fast"]
    answered = slow[slow["outcome"] == "answered"]
    assert len(slow) > 1000 and np.allclose(answered["wait_s"], 30.0)
    assert (fast["outcome"] == "answered").all() and (fast["wait_s"] == 0).all()
    quit = slow[slow["outcome"] == "abandoned"]
    assert (quit["wait_s"] < 30.0).all()
    p, n = len(quit) / len(slow), len(slow)
    truth = 1 - np.exp(-0.5)
    assert abs(p - truth) < 4 * np.sqrt(truth * (1 - truth) / n), (p, truth, n)


def test_random_delay_against_competing_exponentials():
    """Delay exponential (mean 30 s) against patience exponential (mean 60 s), no queue for an
    agent: abandonment is P(patience < delay) = (1/60) / (1/60 + 1/30) = 1/3, and an answered
    contact's wait is the delay given it beat patience: exponential with mean 1 / (1/30 + 1/60) = 20 s."""
    c = contacts(scenario({"dist": "exponential", "mean": "30s"}))
    slow = c[c["reason"] == "slow"]
    n = len(slow)
    p = (slow["outcome"] == "abandoned").mean()
    assert abs(p - 1 / 3) < 4 * np.sqrt(2 / 9 / n), (p, n)
    waits = slow.loc[slow["outcome"] == "answered", "wait_s"]
    assert abs(waits.mean() - 20.0) < 4 * 20.0 / np.sqrt(len(waits)), waits.mean()


def test_delayed_contacts_still_queue_for_agents():
    """Two agents for a load of 27 Erlang: the delayed reason waits its 30 s and then for an
    agent like everyone (waits beyond 30 s), and its answered contacts never wait less than 30 s."""
    c = contacts(scenario({"dist": "deterministic", "value": "30s"}, agents=2, rate_per_h=60, hours=4))
    answered = c[(c["reason"] == "slow") & (c["outcome"] == "answered")]
    assert len(answered) > 20 and (answered["wait_s"] >= 30.0 - 1e-9).all() and (answered["wait_s"] > 30.0).any()


def test_without_any_delay_the_centre_keeps_its_own_route():
    """Resolved at build time: no reason with a delay, no override and no stream."""
    plain = ContactCentre(validate(scenario(None)), 7, 0)
    assert "_route" not in vars(plain) and not hasattr(plain, "routing_delay")
    delayed = ContactCentre(validate(scenario({"dist": "deterministic", "value": "30s"})), 7, 0)
    assert "_route" in vars(delayed) and delayed.direct[0][0] is None and delayed.direct[0][1] is not None
