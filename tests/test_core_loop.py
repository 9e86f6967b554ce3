"""The event loop's own guarantees: bad delays stop the run loudly; fast paths draw the same numbers.

* A NaN or negative delay reaching the scheduling path raises SimulationError naming
  the cause (and the CLI turns it into one line, exit 2, nothing written), instead of
  corrupting SimPy's time order and ending the run early.
* ``BlockSampler.take(n)`` returns exactly what ``n`` calls would.
* Forecast arrivals' draws taken a chunk at a time give the same records as drawing each on
  arrival, whatever the chunk size; the customer view reduced a chunk of attempts at a time
  does not depend on the chunk size either.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from simsvc.cli import main
from simsvc.config.load import validate
from simsvc.config.schema import Deterministic
from simsvc.domain.errors import SimulationError
from simsvc.domain.randomness import BLOCK, BlockSampler, Streams
from simsvc.model import centre
from simsvc.model.centre import ContactCentre, simulate
from simsvc.observe import customer, groups
from cli_helpers import assert_one_error_line

QUEUE = {
    "name": "loop", "seed": 3, "horizon": "4h", "interval": "1h",
    "channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "2min"},
                           "redial": {"probability": 0.3, "delay": {"dist": "exponential", "mean": "5min"}}},
                 "chat": {"kind": "chat", "concurrency": 2, "patience": {"dist": "exponential", "mean": "3min"}}},
    "reasons": {"billing": {}, "tech": {}},
    "demand": {"phone": {"rate": "120/h", "mix": {"billing": 0.6, "tech": 0.4}},
               "chat": {"rate": "60/h", "mix": {"billing": 0.5, "tech": 0.5}}},
    "handling": {"phone": {"dist": "exponential", "mean": "4min"},
                 "chat": {"billing": {"dist": "lognormal", "mean": "5min", "cv": 0.8},
                          "default": {"dist": "gamma", "mean": "6min", "cv": 0.5}}},
    "resolution": {"phone": 0.8, "chat": 0.7},
    "repeat": {"probability": 0.5, "delay": "30min"},
    "agents": {"team": {"skills": ["phone", "chat"], "staffing": 7,
                        "wrap_up": {"dist": "exponential", "mean": "30s"}}},
}


def _with(scenario, **fields):
    """A copy of ``scenario`` with fields replaced *without* validation (values that slipped past it)."""
    return scenario.model_copy(update=fields)


def test_nan_handling_time_stops_the_run_with_the_cause():
    s = validate(QUEUE)
    nan = Deterministic.model_construct(dist="deterministic", value=math.nan)
    bad = _with(s, handling={"phone": nan, "chat": s.handling["chat"]})
    with pytest.raises(SimulationError, match=r"handling plus wrap-up time of nan s"):
        simulate(bad, 1, 0)


def test_negative_patience_stops_the_run_with_the_cause():
    s = validate(QUEUE)
    phone = s.channels["phone"].model_copy(
        update={"patience": Deterministic.model_construct(dist="deterministic", value=-5.0)})
    bad = _with(s, channels={"phone": phone, "chat": s.channels["chat"]},
                agents={"team": s.agents["team"].model_copy(update={"staffing": 1})})
    with pytest.raises(SimulationError, match=r"patience of -5.0 s"):
        simulate(bad, 1, 0)


def test_cli_turns_a_simulation_error_into_one_line_and_exit_2(tmp_path, monkeypatch):
    scenario = tmp_path / "loop.yaml"
    scenario.write_text("name: loop\nhorizon: 2h\nchannels: {phone: {kind: voice}}\n"
                        "demand: {phone: {rate: 60/h}}\nhandling: {phone: {dist: exponential, mean: 4min}}\n"
                        "agents: {team: {skills: [phone], staffing: 3}}\n")
    # A distribution gone wrong after validation: every pre-drawn number is NaN.
    monkeypatch.setattr(BlockSampler, "take", lambda self, n: np.full(n, np.nan))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(scenario), "-n", "1", "-w", "1", "--no-report", "-o", str(out)])
    line = assert_one_error_line(result)
    assert "simulation stopped" in line and " of nan s" in line
    assert not out.exists()


@settings(max_examples=60, deadline=None)
@given(before=st.integers(0, 2 * BLOCK + 3), n=st.integers(0, 3 * BLOCK + 5))
def test_take_is_n_calls(before, n):
    one, other = Streams(7, 1).uniform("x"), Streams(7, 1).uniform("x")
    expected = [one() for _ in range(before + n + 5)]
    got = [other() for _ in range(before)] + other.take(n).tolist() + [other() for _ in range(5)]
    assert got == expected


class _DrawOnArrival(ContactCentre):
    """The centre as it was: every arrival draws its own numbers when it arrives
    (chunks of bare (time, channel, reason) entries send arrivals through ``_contact``)."""

    _on_arrival = ContactCentre._on_arrival_drawing

    def _arrival_chunk(self, k0):
        arr = self.arrivals
        k1 = min(k0 + 7, len(arr.time_s))
        return list(zip(arr.time_s[k0:k1].tolist(), arr.channel[k0:k1].tolist(), arr.reason[k0:k1].tolist()))


def test_predrawn_arrivals_record_what_drawing_on_arrival_records():
    s = validate(QUEUE)
    fast = ContactCentre(s, 5, 2).run()
    slow = _DrawOnArrival(s, 5, 2).run()
    assert len(fast.contacts["issue"]) > 700
    assert (fast.contacts["origin"] != 0).any()  # redials and repeats interleave with new issues
    for name, column in slow.contacts.items():
        np.testing.assert_array_equal(fast.contacts[name], column, err_msg=name)


def test_arrival_chunk_size_does_not_change_the_records(monkeypatch):
    s = validate(QUEUE)
    default = ContactCentre(s, 5, 2).run()
    monkeypatch.setattr(centre, "ARRIVAL_CHUNK", 5)
    small = ContactCentre(s, 5, 2).run()
    assert len(default.contacts["issue"]) > 5 * 100
    for name, column in default.contacts.items():
        np.testing.assert_array_equal(small.contacts[name], column, err_msg=name)


def test_customer_view_does_not_depend_on_the_attempt_chunk(monkeypatch):
    s = validate(QUEUE)
    raw = ContactCentre(s, 5, 2).run()
    whole = customer.customer_view(s, raw)
    monkeypatch.setattr(groups, "ATTEMPT_CHUNK", 3)
    chunked = customer.customer_view(s, raw)
    assert whole.a_issue.size > 3 * 100 and (whole.a_attempt > 1).any()
    for name in whole.__dataclass_fields__:
        np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name), err_msg=name)


# Two pools sharing one phone queue (each pool's only queue), redials, wrap-up: the
# arrival path's inlined routing and the finishing agent's single-queue look both run.
SHARED = {
    "name": "shared", "seed": 4, "horizon": "3h", "interval": "1h",
    "channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "90s"},
                           "redial": {"probability": 0.4, "delay": {"dist": "exponential", "mean": "3min"}}}},
    "demand": {"phone": {"rate": "150/h"}},
    "handling": {"phone": {"dist": "exponential", "mean": "3min"}},
    "resolution": {"phone": 0.7},
    "repeat": {"probability": 0.5, "delay": "20min"},
    "agents": {"front": {"skills": ["phone"], "staffing": 4},
               "back": {"skills": ["phone"], "staffing": 3, "wrap_up": {"dist": "exponential", "mean": "40s"},
                        "proficiency": {"handling": 1.2}}},
}


class _GeneralPaths(ContactCentre):
    """The centre without its fast paths: every arrival goes through ``_route``, every
    finishing agent through the general ``_next_contact`` search, and every caller who
    queues gets a patience event."""

    def _build(self):
        super()._build()
        self.direct = [[None] * len(self.reason_names) for _ in self.channels]
        for pool in self.pools:
            pool.only = None
        for ch in self.channels:
            for q in ch.queues:
                q.lazy = False


# No redial, continuous patience: the phone queues' callers run out of patience without
# events. One pool serves only billing (the single-queue look), one both reasons (the general
# search), and shifts start and end during the run (agents coming on duty look too).
LAZY = {
    "name": "lazy", "seed": 6, "horizon": "5h", "interval": "1h",
    "channels": {"phone": {"kind": "voice", "patience": {"dist": "lognormal", "mean": "2min", "cv": 1.0}}},
    "reasons": {"billing": {}, "tech": {}},
    "demand": {"phone": {"rate": "160/h", "mix": {"billing": 0.5, "tech": 0.5}}},
    "handling": {"phone": {"dist": "exponential", "mean": "4min"}},
    "resolution": {"phone": 0.8},
    "agents": {"billing": {"skills": ["phone/billing"], "staffing": 3},
               "all": {"skills": ["phone"], "wrap_up": {"dist": "exponential", "mean": "30s"},
                       "staffing": {"shifts": [{"start": "00:00", "end": "03:00", "agents": 4},
                                               {"start": "02:00", "end": "05:00", "agents": 5}]}}},
}


@pytest.mark.parametrize("scenario", [SHARED, QUEUE, LAZY], ids=["shared-queue", "phone-and-chat", "lazy-patience"])
def test_fast_paths_record_what_the_general_paths_record(scenario):
    s = validate(scenario)
    fast = ContactCentre(s, 9, 1)
    assert scenario is QUEUE or fast.direct[0][0] is not None
    assert scenario is not SHARED or all(p.only for p in fast.pools)
    lazy = [q.lazy for q in fast.channels[0].queues]
    assert all(lazy) if scenario is LAZY else not any(lazy)
    fast = fast.run()
    general = _GeneralPaths(s, 9, 1).run()
    c = fast.contacts
    assert (c["outcome"] == 2).any() and len(np.unique(c["pool"])) >= 2
    assert (c["origin"] != 0).any() or scenario is LAZY
    for name, column in general.contacts.items():
        np.testing.assert_array_equal(c[name], column, err_msg=name)


def test_contact_buffer_keeps_values_and_defaults_across_growth():
    from simsvc.observe.records import ContactBuffer, UNKNOWN
    rec = ContactBuffer()
    n = ContactBuffer.BLOCK + 5
    for i in range(n):
        if i == rec.capacity:
            rec.grow()
        rec.n = i + 1
        rec.issue[i] = 2**31 - 1 - i
        rec.agent[i] = i
        rec.arrival_s[i] = i * 0.5
        if i % 3 == 0:
            rec.outcome[i] = 3
            rec.resolved[i] = 1
            rec.wait_s[i] = 1.25
    a = rec.arrays()
    assert a["issue"].dtype == np.int64 and a["issue"][0] == 2**31 - 1 and a["issue"][-1] == 2**31 - n
    assert a["agent"].tolist() == list(range(n)) and a["arrival_s"][-1] == (n - 1) * 0.5
    every3 = np.arange(n) % 3 == 0
    assert (a["outcome"][every3] == 3).all() and (a["outcome"][~every3] == 0).all()
    assert (a["resolved"][~every3] == UNKNOWN).all() and a["resolved"].dtype == np.int8
    assert np.isnan(a["wait_s"][~every3]).all() and (a["wait_s"][every3] == 1.25).all()
    assert a["transferred"].dtype == np.bool_ and not a["transferred"].any()
    assert (a["attempt"] == 1).all() and (a["pool"] == -1).all()
