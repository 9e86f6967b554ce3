"""Deterministic unit tests of the event loop in ``simsvc.model.centre``.

Each test injects exact arrival times (``Arrivals``) and uses deterministic
handling, patience and wrap-up, so every expected number below can be worked
out by hand from the timeline written next to it. The few statistical tests
(proficiency, demand profiles) use many contacts and 4-sigma bounds.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

from simsvc.config.load import validate
from simsvc.domain.calendar import DAY_S
from simsvc.model.centre import ContactCentre
from simsvc.model.demand import Arrivals, forecast_arrivals, rate_pieces
from simsvc.domain.randomness import Streams
from simsvc.observe import tables
from simsvc.observe.records import (
    ABANDONED,
    ANSWERED,
    CONTAINED,
    ESCALATED,
    ESCALATION,
    LOST,
    NEW,
    REDIAL,
    REPEAT,
    RETRY,
    TRANSFER,
    WAITING,
)

H = 3600.0


def det(seconds: float) -> dict:
    return {"dist": "deterministic", "value": f"{seconds}s"}


def scenario(**over):
    """A one-phone-line, one-agent scenario; keyword arguments replace top-level keys."""
    d = {
        "name": "unit",
        "horizon": "1d",
        "interval": "1h",
        "channels": {"phone": {"kind": "voice"}},
        "demand": {"phone": {"rate": "1/h"}},
        "handling": {"phone": det(60)},
        "agents": {"team": {"skills": ["phone"], "staffing": 1}},
    }
    d.update(copy.deepcopy(over))
    reasons = list(d.get("reasons", {"general": {}}))
    if len(reasons) > 1:  # several reasons need a mix on each demand line: default to equal shares
        for spec in d["demand"].values():
            spec.setdefault("mix", {r: 1.0 / len(reasons) for r in reasons})
    return validate(d)


def run(sc, times, channels=None, reasons=None, seed=1, replication=0):
    """Run ``sc`` with exactly these new-issue arrivals (channel/reason by name or index)."""
    n = len(times)
    ch_names, r_names = list(sc.channels), list(sc.reasons)
    channels = [0] * n if channels is None else [ch_names.index(c) if isinstance(c, str) else c for c in channels]
    reasons = [0] * n if reasons is None else [r_names.index(r) if isinstance(r, str) else r for r in reasons]
    arr = Arrivals(np.asarray(times, dtype=float), np.asarray(channels, dtype=np.int64),
                   np.asarray(reasons, dtype=np.int64))
    return ContactCentre(sc, seed, replication, arrivals=arr).run()


def col(raw, name):
    return raw.contacts[name].tolist()


def answered_at(raw):
    c = raw.contacts
    return (c["arrival_s"] + c["wait_s"]).tolist()


def segments(seg, channel=None):
    m = np.ones(len(seg["start_s"]), dtype=bool) if channel is None else seg["channel"] == channel
    return sorted(zip(seg["start_s"][m].tolist(), seg["end_s"][m].tolist(), seg["agent"][m].tolist()))


# --------------------------------------------------------------------------- FIFO
def test_fifo_single_agent_waits_and_agent_ids():
    # Agent 0 of pool "team": 0-60 (c0), 60-120 (c1), 120-180 (c2), idle, 200-260 (c3).
    sc = scenario()
    raw = run(sc, [0, 10, 20, 200])
    assert col(raw, "outcome") == [ANSWERED] * 4
    assert col(raw, "wait_s") == [0.0, 50.0, 100.0, 0.0]
    assert answered_at(raw) == [0.0, 60.0, 120.0, 200.0]
    assert col(raw, "agent") == [0, 0, 0, 0]
    assert col(raw, "pool") == [0, 0, 0, 0]
    assert col(raw, "handle_s") == [60.0] * 4
    assert col(raw, "wrap_s") == [0.0] * 4
    assert col(raw, "issue") == [0, 1, 2, 3]
    assert col(raw, "attempt") == [1] * 4 and col(raw, "leg") == [1] * 4
    assert col(raw, "origin") == [NEW] * 4
    assert col(raw, "resolved") == [1] * 4  # resolution defaults to 1.0
    assert segments(raw.busy) == [(0.0, 60.0, 0), (60.0, 120.0, 0), (120.0, 180.0, 0), (200.0, 260.0, 0)]
    assert segments(raw.duty) == [(0.0, DAY_S, 0)]


def test_fifo_two_agents_two_pools_recorded():
    # Pool "a" is listed first, so it gets the first call; "b" the second (a busy).
    sc = scenario(agents={"a": {"skills": ["phone"], "staffing": 1},
                          "b": {"skills": ["phone"], "staffing": 1}})
    raw = run(sc, [0, 10, 20, 100])
    # c0 -> a (0-60), c1 -> b (10-70), c2 waits for a at 60, c3 at 100 -> b (free since 70).
    assert col(raw, "pool") == [0, 1, 0, 1]
    assert answered_at(raw) == [0.0, 10.0, 60.0, 100.0]
    agent_a, agent_b = col(raw, "agent")[:2]
    assert agent_a != agent_b
    assert col(raw, "agent") == [agent_a, agent_b, agent_a, agent_b]


# --------------------------------------------------------------------------- patience
def test_patience_shorter_than_wait_abandons_at_arrival_plus_patience():
    # Patience 30 s. c0 served 0-60; c1 (t=10) gives up at 40; c2 (t=20) at 50;
    # c3 arrives at 45, behind an abandoned head, and is answered at 60 (wait 15).
    sc = scenario(channels={"phone": {"kind": "voice", "patience": det(30)}})
    raw = run(sc, [0, 10, 20, 45])
    assert col(raw, "outcome") == [ANSWERED, ABANDONED, ABANDONED, ANSWERED]
    assert col(raw, "wait_s") == [0.0, 30.0, 30.0, 15.0]
    assert col(raw, "patience_s") == [30.0] * 4
    assert col(raw, "resolved") == [1, 0, 0, 1]
    assert col(raw, "agent") == [0, -1, -1, 0]
    assert col(raw, "pool") == [0, -1, -1, 0]
    assert np.isnan(raw.contacts["handle_s"][1])


def test_patience_timer_irrelevant_when_answered_first():
    # Patience 100 s. c1 (t=10) answered at 60 (its timer at 110 must do nothing);
    # c2 (t=70) answered at 120; c3 (t=75) would be answered at 180 > 175: abandons at 175.
    sc = scenario(channels={"phone": {"kind": "voice", "patience": det(100)}})
    raw = run(sc, [0, 10, 70, 75])
    assert col(raw, "outcome") == [ANSWERED, ANSWERED, ANSWERED, ABANDONED]
    assert col(raw, "wait_s") == [0.0, 50.0, 50.0, 100.0]
    assert answered_at(raw)[:3] == [0.0, 60.0, 120.0]


def test_no_patience_means_waiting_at_horizon():
    # Nobody on duty and no patience: both callers are still waiting at the horizon.
    sc = scenario(horizon="10min", agents={"team": {"skills": ["phone"], "staffing": 0}})
    raw = run(sc, [0, 10])
    assert col(raw, "outcome") == [WAITING, WAITING]
    assert col(raw, "resolved") == [-1, -1]
    assert np.isnan(raw.contacts["wait_s"]).all()


# --------------------------------------------------------------------------- capacity
def test_queue_capacity_zero_blocks_when_all_busy():
    # c0 served 0-60; c1 (t=10) finds the only agent busy and no room: lost, blocked.
    sc = scenario(channels={"phone": {"kind": "voice", "queue_capacity": 0}})
    raw = run(sc, [0, 10, 70])
    assert col(raw, "outcome") == [ANSWERED, LOST, ANSWERED]
    assert col(raw, "blocked") == [False, True, False]
    assert col(raw, "closed") == [False, False, False]
    assert col(raw, "wait_s") == [0.0, 0.0, 0.0]
    assert answered_at(raw)[2] == 70.0


def test_queue_capacity_one():
    # c1 takes the single queue place; c2 (t=20) is blocked; c1 answered at 60.
    sc = scenario(channels={"phone": {"kind": "voice", "queue_capacity": 1}})
    raw = run(sc, [0, 10, 20])
    assert col(raw, "outcome") == [ANSWERED, ANSWERED, LOST]
    assert col(raw, "blocked") == [False, False, True]
    assert answered_at(raw)[1] == 60.0


def test_blocked_caller_redials():
    # c1 blocked at 10, redials after 100 s (attempt 2, origin redial) and is answered at 110.
    sc = scenario(channels={"phone": {"kind": "voice", "queue_capacity": 0,
                                      "redial": {"probability": 1.0, "delay": det(100)}}})
    raw = run(sc, [0, 10])
    assert col(raw, "outcome") == [ANSWERED, LOST, ANSWERED]
    assert col(raw, "issue") == [0, 1, 1]
    assert col(raw, "attempt") == [1, 1, 2]
    assert col(raw, "origin") == [NEW, NEW, REDIAL]
    assert col(raw, "arrival_s")[2] == 110.0


# --------------------------------------------------------------------------- priority routing
TWO_LINES = {"phone": {"kind": "voice"}, "callback": {"kind": "voice"}}
TWO_LINES_HANDLING = {"phone": det(60), "callback": det(60)}
TWO_LINES_DEMAND = {"phone": {"rate": "1/h"}, "callback": {"rate": "1/h"}}


def test_priority_levels_take_higher_skill_before_older_contact():
    # Skills [phone, email]: at 60 the agent takes the phone call from t=20 before
    # the email from t=10; the email is answered at 120.
    sc = scenario(channels={"phone": {"kind": "voice"}, "email": {"kind": "async"}},
                  demand={"phone": {"rate": "1/h"}, "email": {"rate": "1/h"}},
                  handling={"phone": det(60), "email": det(60)},
                  agents={"team": {"skills": ["phone", "email"], "staffing": 1}})
    raw = run(sc, [0, 10, 20], channels=["phone", "email", "phone"])
    assert answered_at(raw) == [0.0, 120.0, 60.0]


def test_priority_levels_between_two_voice_lines():
    sc = scenario(channels=TWO_LINES, demand=TWO_LINES_DEMAND, handling=TWO_LINES_HANDLING,
                  agents={"team": {"skills": ["phone", "callback"], "staffing": 1}})
    raw = run(sc, [0, 10, 20], channels=["phone", "callback", "phone"])
    assert answered_at(raw) == [0.0, 120.0, 60.0]


def test_nested_skill_level_takes_oldest():
    # Skills [[phone, callback]]: one level, so at 60 the older callback (t=10) goes first.
    sc = scenario(channels=TWO_LINES, demand=TWO_LINES_DEMAND, handling=TWO_LINES_HANDLING,
                  agents={"team": {"skills": [["phone", "callback"]], "staffing": 1}})
    raw = run(sc, [0, 10, 20], channels=["phone", "callback", "phone"])
    assert answered_at(raw) == [0.0, 60.0, 120.0]


def test_reason_skills_route_to_the_skilled_pool():
    # "spec" only does phone/tech; "gen" does all phone. Listed order: gen first.
    sc = scenario(reasons={"billing": {}, "tech": {}},
                  agents={"gen": {"skills": ["phone"], "staffing": 1},
                          "spec": {"skills": ["phone/tech"], "staffing": 1}})
    raw = run(sc, [0, 10, 20, 30], reasons=["billing", "billing", "tech", "tech"])
    # c0 billing -> gen (0-60); c1 billing waits (spec is not skilled); c2 tech -> spec (20-80);
    # c3 tech waits. At 60 gen's one level ("phone" = phone/billing + phone/tech) holds c1 (t=10)
    # and c3 (t=30): it takes the older c1. spec frees at 80 and takes c3.
    assert col(raw, "pool") == [0, 0, 1, 1]
    assert answered_at(raw) == [0.0, 60.0, 20.0, 80.0]


# --------------------------------------------------------------------------- async
ASYNC2 = {"email": {"kind": "async", "response_target": "24h"},
          "social": {"kind": "async", "response_target": "2h"}}


def test_async_due_date_order_within_a_level():
    # Agent on duty 01:00-02:00. Waiting: email t=0 (due 24h), social t=100 (due 2h+100 s),
    # email t=200. Due-date order: social, email(0), email(200).
    sc = scenario(channels=ASYNC2,
                  demand={"email": {"rate": "1/h"}, "social": {"rate": "1/h"}},
                  handling={"email": det(60), "social": det(60)},
                  agents={"team": {"skills": [["email", "social"]],
                                   "staffing": {"shifts": [{"start": "01:00", "end": "02:00", "agents": 1}]}}})
    raw = run(sc, [0, 100, 200], channels=["email", "social", "email"])
    assert answered_at(raw) == [H + 60, H, H + 120]


def test_async_priority_levels_override_due_dates():
    sc = scenario(channels=ASYNC2,
                  demand={"email": {"rate": "1/h"}, "social": {"rate": "1/h"}},
                  handling={"email": det(60), "social": det(60)},
                  agents={"team": {"skills": ["email", "social"],
                                   "staffing": {"shifts": [{"start": "01:00", "end": "02:00", "agents": 1}]}}})
    raw = run(sc, [0, 100, 200], channels=["email", "social", "email"])
    assert answered_at(raw) == [H, H + 120, H + 60]


def test_async_backlog_carries_over_days_and_is_never_abandoned():
    # One agent 09:00-10:00 each day, 60 s per email: 60 emails a day. 100 emails arrive
    # in the first minutes of day 0: 60 are answered on day 0, 40 on day 1 in arrival order.
    sc = scenario(horizon="3d",
                  channels={"email": {"kind": "async", "response_target": "24h"}},
                  demand={"email": {"rate": "1/h"}},
                  handling={"email": det(60)},
                  agents={"team": {"skills": ["email"],
                                   "staffing": {"shifts": [{"start": "09:00", "end": "10:00", "agents": 1}]}}})
    raw = run(sc, np.arange(100, dtype=float), channels=["email"] * 100)
    ans = np.array(answered_at(raw))
    assert col(raw, "outcome") == [ANSWERED] * 100
    expected = np.concatenate([9 * H + 60.0 * np.arange(60), DAY_S + 9 * H + 60.0 * np.arange(40)])
    np.testing.assert_array_equal(ans, expected)
    assert np.isnan(raw.contacts["patience_s"]).all()


def test_async_unserved_contacts_wait_at_horizon_not_abandoned():
    sc = scenario(horizon="2d",
                  channels={"email": {"kind": "async"}},
                  demand={"email": {"rate": "1/h"}},
                  handling={"email": det(60)},
                  agents={"team": {"skills": ["email"], "staffing": 0}})
    raw = run(sc, [0.0, 10.0], channels=["email", "email"])
    assert col(raw, "outcome") == [WAITING, WAITING]


# --------------------------------------------------------------------------- chat
def chat_scenario(concurrency=3, slowdown=0.0, staffing=1, **over):
    return scenario(channels={"chat": {"kind": "chat", "concurrency": concurrency,
                                       "concurrency_slowdown": slowdown}},
                    demand={"chat": {"rate": "1/h"}},
                    handling={"chat": det(60)},
                    agents={"team": {"skills": ["chat"], "staffing": staffing}}, **over)


def test_chat_concurrency_three_chats_then_fourth_waits():
    # No slowdown: c0..c2 answered on arrival, c3 (t=3) waits until c0 ends at 60.
    sc = chat_scenario(concurrency=3)
    raw = run(sc, [0, 1, 2, 3], channels=["chat"] * 4)
    assert answered_at(raw) == [0.0, 1.0, 2.0, 60.0]
    assert col(raw, "agent") == [0, 0, 0, 0]
    assert col(raw, "handle_s") == [60.0] * 4
    # One busy segment covering all chats held: 0 until the last ends (60 + 60).
    assert segments(raw.busy) == [(0.0, 120.0, 0)]


def test_chat_slowdown_multiplies_handle_time():
    # s = 0.5. c0: held 1 -> 60; c1: held 2 -> 90; c2: held 3 -> 120; c3 waits for c0
    # to end at 60, then is the 3rd chat held -> 120 (ends 180).
    sc = chat_scenario(concurrency=3, slowdown=0.5)
    raw = run(sc, [0, 1, 2, 3], channels=["chat"] * 4)
    assert answered_at(raw) == [0.0, 1.0, 2.0, 60.0]
    assert col(raw, "handle_s") == [60.0, 90.0, 120.0, 120.0]
    # c1 ends 91, c2 122, c3 180: the agent is busy 0-180 without a break.
    assert segments(raw.busy) == [(0.0, 180.0, 0)]


def test_chat_concurrency_one_is_exclusive():
    sc = chat_scenario(concurrency=1)
    raw = run(sc, [0, 1], channels=["chat"] * 2)
    assert answered_at(raw) == [0.0, 60.0]


def test_chat_goes_to_least_loaded_agent():
    # Two agents: c0 -> idle agent A, c1 -> idle agent B (not A's 2nd slot), c2 -> A's 2nd slot.
    sc = chat_scenario(concurrency=3, staffing=2)
    raw = run(sc, [0, 1, 2], channels=["chat"] * 3)
    a = col(raw, "agent")
    assert a[0] != a[1]
    assert a[2] in (a[0], a[1])
    assert answered_at(raw) == [0.0, 1.0, 2.0]


def test_agent_coming_on_duty_fills_all_chat_slots_from_backlog():
    # Three chats wait from t=0,1,2; the only agent starts at 00:10 (600 s) with
    # concurrency 3: all three should be answered at 600.
    sc = scenario(channels={"chat": {"kind": "chat", "concurrency": 3}},
                  demand={"chat": {"rate": "1/h"}},
                  handling={"chat": det(60)},
                  agents={"team": {"skills": ["chat"],
                                   "staffing": {"shifts": [{"start": "00:10", "end": "23:00", "agents": 1}]}}})
    raw = run(sc, [0, 1, 2], channels=["chat"] * 3)
    assert answered_at(raw) == [600.0, 600.0, 600.0]


def test_agent_after_voice_call_fills_all_chat_slots():
    # One blended agent, phone first. Phone 0-60; chats at 1, 2 wait; at 60 the agent
    # should take both chats (concurrency 2).
    sc = scenario(channels={"phone": {"kind": "voice"}, "chat": {"kind": "chat", "concurrency": 2}},
                  demand={"phone": {"rate": "1/h"}, "chat": {"rate": "1/h"}},
                  handling={"phone": det(60), "chat": det(60)},
                  agents={"team": {"skills": ["phone", "chat"], "staffing": 1}})
    raw = run(sc, [0, 1, 2], channels=["phone", "chat", "chat"])
    assert answered_at(raw) == [0.0, 60.0, 60.0]


# --------------------------------------------------------------------------- bot
def bot_scenario(containment, capacity=None, **over):
    bot = {"kind": "bot", "containment": containment, "escalate_to": "chat"}
    if capacity is not None:
        bot["capacity"] = capacity
    return scenario(channels={"bot": bot, "chat": {"kind": "chat", "concurrency": 3}},
                    demand={"bot": {"rate": "1/h"}},
                    handling={"bot": det(30), "chat": det(60)},
                    agents={"team": {"skills": ["chat"], "staffing": 1}}, **over)


def test_bot_full_containment():
    sc = bot_scenario(1.0)
    raw = run(sc, [0, 10], channels=["bot", "bot"])
    assert col(raw, "outcome") == [CONTAINED, CONTAINED]
    assert col(raw, "resolved") == [1, 1]
    assert col(raw, "handle_s") == [30.0, 30.0]
    assert col(raw, "wait_s") == [0.0, 0.0]
    assert col(raw, "agent") == [-1, -1]
    assert len(raw.busy["start_s"]) == 0


def test_bot_zero_containment_escalates_as_new_leg():
    # Bot sessions 0-30 and 10-40, then each escalates to chat at its end.
    sc = bot_scenario(0.0)
    raw = run(sc, [0, 10], channels=["bot", "bot"])
    chat, bot = list(sc.channels).index("chat"), list(sc.channels).index("bot")
    assert col(raw, "channel") == [bot, bot, chat, chat]
    assert col(raw, "outcome") == [ESCALATED, ESCALATED, ANSWERED, ANSWERED]
    assert col(raw, "resolved")[:2] == [0, 0]
    assert col(raw, "issue") == [0, 1, 0, 1]
    assert col(raw, "attempt") == [1, 1, 1, 1]
    assert col(raw, "leg") == [1, 1, 2, 2]
    assert col(raw, "origin") == [NEW, NEW, ESCALATION, ESCALATION]
    assert col(raw, "arrival_s") == [0.0, 10.0, 30.0, 40.0]
    assert answered_at(raw)[2:] == [30.0, 40.0]


def test_bot_capacity_overflow_escalates_at_once():
    # Capacity 1: c0 holds the bot 0-30 and is contained; c1 (t=10) overflows: escalated at 10.
    sc = bot_scenario(1.0, capacity=1)
    raw = run(sc, [0, 10, 40], channels=["bot"] * 3)
    # Rows: c0 (bot), c1 (bot, escalated), c1 leg 2 (chat at 10), c2 (bot at 40, free again).
    assert col(raw, "outcome") == [CONTAINED, ESCALATED, ANSWERED, CONTAINED]
    assert col(raw, "arrival_s") == [0.0, 10.0, 10.0, 40.0]
    assert col(raw, "handle_s")[1] == 0.0
    assert col(raw, "origin")[2] == ESCALATION
    assert col(raw, "leg")[2] == 2 and col(raw, "issue")[2] == 1


def test_bot_containment_by_reason():
    sc = bot_scenario({"a": 1.0, "b": 0.0}, reasons={"a": {}, "b": {}})
    raw = run(sc, [0, 10], channels=["bot", "bot"], reasons=["a", "b"])
    assert col(raw, "outcome")[:2] == [CONTAINED, ESCALATED]


# --------------------------------------------------------------------------- opening hours
def test_closed_lost():
    sc = scenario(channels={"phone": {"kind": "voice", "hours": "08:00-20:00"}})
    raw = run(sc, [1 * H, 8 * H + 60, 20 * H])
    assert col(raw, "outcome") == [LOST, ANSWERED, LOST]
    assert col(raw, "closed") == [True, False, True]
    assert col(raw, "blocked") == [False, False, False]
    assert col(raw, "resolved") == [0, 1, 0]
    assert len(col(raw, "outcome")) == 3  # no retry


def test_closed_retry_arrives_within_spread_after_next_opening():
    sc = scenario(horizon="2d",
                  channels={"phone": {"kind": "voice", "hours": "08:00-20:00",
                                      "when_closed": "retry", "retry_spread": "1h"}})
    raw = run(sc, [1 * H, 2 * H, 21 * H], seed=3)
    c = raw.contacts
    retries = c["origin"] == RETRY
    assert retries.sum() == 3
    new = c["origin"] == NEW
    assert c["outcome"][new].tolist() == [LOST, LOST, LOST]
    assert c["closed"][new].tolist() == [True, True, True]
    for i, opening in ((0, 8 * H), (1, 8 * H), (2, DAY_S + 8 * H)):
        j = np.flatnonzero((c["issue"] == i) & retries)
        assert len(j) == 1
        j = j[0]
        assert opening <= c["arrival_s"][j] <= opening + H
        assert c["attempt"][j] == 2 and c["leg"][j] == 1
        assert c["outcome"][j] == ANSWERED


def test_closed_retry_skips_closed_days():
    # Day 0 is a Friday; closed at the weekend; a call at Friday 21:00 retries Monday 08:00.
    sc = scenario(horizon="4d", start_day="fri",
                  channels={"phone": {"kind": "voice", "hours": {"mon-fri": "08:00-20:00", "sat-sun": "closed"},
                                      "when_closed": "retry", "retry_spread": "0s"}})
    raw = run(sc, [21 * H])
    assert col(raw, "origin") == [NEW, RETRY]
    assert col(raw, "arrival_s")[1] == 3 * DAY_S + 8 * H
    assert col(raw, "outcome") == [LOST, ANSWERED]


def test_opening_hours_repeat_every_week():
    # start_day mon, closed on Sundays: day 6 (sun) and day 13 (sun) lost, days 7 and 14 open.
    sc = scenario(horizon="15d",
                  channels={"phone": {"kind": "voice", "hours": {"mon-sat": "08:00-20:00", "sun": "closed"}}})
    times = [d * DAY_S + 12 * H for d in (5, 6, 7, 13, 14)]
    raw = run(sc, times)
    assert col(raw, "closed") == [False, True, False, True, False]
    assert col(raw, "outcome") == [ANSWERED, LOST, ANSWERED, LOST, ANSWERED]


def test_closed_retry_respects_max_attempts():
    sc = scenario(channels={"phone": {"kind": "voice", "hours": "08:00-20:00", "when_closed": "retry"}},
                  repeat={"max_attempts": 1})
    raw = run(sc, [H])
    assert col(raw, "outcome") == [LOST]


# --------------------------------------------------------------------------- shifts
def test_shift_ending_mid_contact_finishes_it():
    # Shift 00:00-01:00; a 10-minute call answered at 00:55 ends at 01:05, when duty ends.
    # A call at 00:58 waits (the leaving agent takes nothing new).
    sc = scenario(horizon="3h", handling={"phone": det(600)},
                  agents={"team": {"skills": ["phone"],
                                   "staffing": {"shifts": [{"start": "00:00", "end": "01:00", "agents": 1}]}}})
    raw = run(sc, [55 * 60, 58 * 60])
    assert col(raw, "outcome") == [ANSWERED, WAITING]
    assert segments(raw.busy) == [(3300.0, 3900.0, 0)]
    assert segments(raw.duty) == [(0.0, 3900.0, 0)]


def test_shift_ending_when_idle_ends_duty_on_time():
    sc = scenario(horizon="3h",
                  agents={"team": {"skills": ["phone"],
                                   "staffing": {"shifts": [{"start": "00:00", "end": "01:00", "agents": 1}]}}})
    raw = run(sc, [60.0])
    assert segments(raw.duty) == [(0.0, H, 0)]


def test_shift_ending_mid_contact_with_wrap_includes_wrap():
    sc = scenario(horizon="3h", handling={"phone": det(600)},
                  agents={"team": {"skills": ["phone"], "wrap_up": det(30),
                                   "staffing": {"shifts": [{"start": "00:00", "end": "01:00", "agents": 1}]}}})
    raw = run(sc, [55 * 60])
    assert segments(raw.duty) == [(0.0, 3930.0, 0)]


def test_staffing_cut_sends_home_the_agent_holding_fewest_chats():
    # Two chat agents (concurrency 3, 600 s chats). Chats at 0..4 s: agent 0 gets 3, agent 1 gets 2.
    # At 00:05 staffing drops to 1: agent 1 (2 chats) should go, its duty ending with its
    # last chat at 603 s; agent 0 stays to the horizon.
    sc = scenario(channels={"chat": {"kind": "chat", "concurrency": 3}},
                  demand={"chat": {"rate": "1/h"}},
                  handling={"chat": det(600)},
                  agents={"team": {"skills": ["chat"],
                                   "staffing": {"steps": [{"start": "00:00", "agents": 2},
                                                          {"start": "00:05", "agents": 1}]}}})
    raw = run(sc, [0, 1, 2, 3, 4], channels=["chat"] * 5)
    assert col(raw, "agent") == [0, 1, 0, 1, 0]
    assert segments(raw.duty) == [(0.0, 603.0, 1), (0.0, DAY_S, 0)]


def _staffed(sc):
    raw = run(sc, [])
    pools = tables.pools_frame(sc, raw)
    return pools


def test_staffed_agents_per_interval_follow_shift_plan():
    shifts = [{"start": "08:00", "end": "12:00", "agents": 3},
              {"start": "10:00", "end": "14:00", "agents": 2}]
    sc = scenario(agents={"team": {"skills": ["phone"], "staffing": {"shifts": shifts}}})
    p = _staffed(sc)
    expected = np.zeros(24)
    expected[8:12] += 3
    expected[10:14] += 2
    np.testing.assert_allclose(p["agents_staffed"].to_numpy(), expected)
    np.testing.assert_allclose(p["agents_scheduled"].to_numpy(), expected)


def test_shrinkage_reduces_effective_agents_rounded():
    # 5 × 0.7 = 3.5 -> 4 ; 2 × 0.7 = 1.4 -> 1. Scheduled (paid) agents are not shrunk.
    shifts = [{"start": "08:00", "end": "12:00", "agents": 5},
              {"start": "10:00", "end": "14:00", "agents": 2}]
    sc = scenario(agents={"team": {"skills": ["phone"], "shrinkage": 0.3, "staffing": {"shifts": shifts}}})
    p = _staffed(sc)
    staffed = np.zeros(24)
    staffed[8:12] += 4
    staffed[10:14] += 1
    scheduled = np.zeros(24)
    scheduled[8:12] += 5
    scheduled[10:14] += 2
    np.testing.assert_allclose(p["agents_staffed"].to_numpy(), staffed)
    np.testing.assert_allclose(p["agents_scheduled"].to_numpy(), scheduled)


def test_night_shift_covers_midnight_and_time_zero():
    sc = scenario(horizon="2d",
                  agents={"team": {"skills": ["phone"],
                                   "staffing": {"shifts": [{"start": "22:00", "end": "06:00", "agents": 2}]}}})
    p = _staffed(sc)
    day = np.zeros(24)
    day[:6] = 2
    day[22:] = 2
    np.testing.assert_allclose(p["agents_staffed"].to_numpy(), np.concatenate([day, day]))


def test_shift_days_of_week():
    # start_day mon; shift mon-fri only; horizon 7 days: staffed on days 0..4 only.
    sc = scenario(horizon="7d", interval="1d",
                  agents={"team": {"skills": ["phone"],
                                   "staffing": {"shifts": [{"start": "09:00", "end": "17:00", "agents": 3,
                                                            "days": "mon-fri"}]}}})
    p = _staffed(sc)
    np.testing.assert_allclose(p["agents_staffed"].to_numpy(), [1.0] * 5 + [0.0] * 2)  # 3 × 8h / 24h


def test_interval_steps_staffing():
    steps = [{"start": "08:00", "agents": 2}, {"start": "12:00", "agents": 5}, {"start": "18:00", "agents": 0}]
    sc = scenario(agents={"team": {"skills": ["phone"], "staffing": {"steps": steps}}})
    p = _staffed(sc)
    expected = np.zeros(24)
    expected[8:12] = 2
    expected[12:18] = 5
    np.testing.assert_allclose(p["agents_staffed"].to_numpy(), expected)


# --------------------------------------------------------------------------- transfers
def test_transfer_to_other_pool_second_leg_waits_in_target_queue():
    # Reason "tech" is always transferred to "spec". "gen" (listed first) answers c0 at 0;
    # "spec" answers c1 (t=5, gen busy) itself (no transfer to its own pool) 5-65.
    # c0's leg 2 arrives at 60 in spec's transfer queue, waits 5 s, answered at 65 by spec.
    sc = scenario(reasons={"tech": {"transfer": {"probability": 1.0, "to": "spec"}}},
                  agents={"gen": {"skills": ["phone"], "staffing": 1},
                          "spec": {"skills": ["phone"], "staffing": 1}})
    raw = run(sc, [0, 5])
    assert col(raw, "issue") == [0, 1, 0]
    assert col(raw, "leg") == [1, 1, 2]
    assert col(raw, "attempt") == [1, 1, 1]
    assert col(raw, "origin") == [NEW, NEW, TRANSFER]
    assert col(raw, "pool") == [0, 1, 1]
    assert col(raw, "transferred") == [True, False, False]
    assert col(raw, "resolved") == [0, 1, 1]
    assert col(raw, "arrival_s") == [0.0, 5.0, 60.0]
    assert col(raw, "wait_s") == [0.0, 0.0, 5.0]
    assert col(raw, "outcome") == [ANSWERED] * 3


def test_transfer_target_pool_serves_transfers_before_its_own_queue():
    # gen: c0 (t=0) 0-60, transfer leg at 60. spec: c1 (t=1) 1-61, its own (no transfer).
    # c2 (t=2), c3 (t=3) wait in the phone queue. At 60 the leg arrives (spec busy) and gen
    # takes c2. At 61 spec takes the leg (newer than c3, but transfers come first).
    # At 120 gen frees and takes c3.
    sc = scenario(reasons={"tech": {"transfer": {"probability": 1.0, "to": "spec"}}},
                  agents={"gen": {"skills": ["phone"], "staffing": 1},
                          "spec": {"skills": ["phone"], "staffing": 1}})
    raw = run(sc, [0, 1, 2, 3])
    c = raw.contacts
    new = c["origin"] == NEW
    assert (c["arrival_s"] + c["wait_s"])[new].tolist() == [0.0, 1.0, 60.0, 120.0]
    assert c["pool"][new].tolist() == [0, 1, 0, 0]
    first_leg = np.flatnonzero((c["origin"] == TRANSFER) & (c["issue"] == 0))[0]
    assert c["arrival_s"][first_leg] == 60.0
    assert c["arrival_s"][first_leg] + c["wait_s"][first_leg] == 61.0
    assert c["pool"][first_leg] == 1
    legs = c["origin"] == TRANSFER
    assert c["issue"][legs].tolist() == [0, 2, 3]
    assert (c["pool"][legs] == 1).all()
    assert not c["transferred"][legs].any()


def test_transfer_after_closing_is_still_served():
    # Open 08:00-20:00. A call answered at 19:59:30 is transferred at 20:00:30; the caller is
    # already talking to the centre, so specialists (on duty all day) should take it.
    sc = scenario(channels={"phone": {"kind": "voice", "hours": "08:00-20:00"}},
                  reasons={"tech": {"transfer": {"probability": 1.0, "to": "spec"}}},
                  agents={"gen": {"skills": ["phone"], "staffing": 1},
                          "spec": {"skills": ["phone"], "staffing": 1}})
    raw = run(sc, [20 * H - 30])
    assert col(raw, "origin") == [NEW, TRANSFER]
    assert col(raw, "outcome") == [ANSWERED, ANSWERED]
    assert col(raw, "closed") == [False, False]
    assert col(raw, "pool") == [0, 1]


def test_transfer_probability_zero_never_transfers():
    sc = scenario(reasons={"tech": {"transfer": {"probability": 0.0, "to": "spec"}}},
                  agents={"gen": {"skills": ["phone"], "staffing": 1},
                          "spec": {"skills": ["phone"], "staffing": 1}})
    raw = run(sc, [0, 5, 200])
    assert col(raw, "transferred") == [False] * 3


# --------------------------------------------------------------------------- repeats, redials
def test_unresolved_issue_repeats_following_switch_matrix():
    # Resolution 0, every unresolved issue comes back 100 s after talk ends, phone -> chat
    # -> email, max 3 attempts: phone 0-60, chat 160-220, email 320-380, then no more.
    sc = scenario(channels={"phone": {"kind": "voice"}, "chat": {"kind": "chat"}, "email": {"kind": "async"}},
                  demand={"phone": {"rate": "1/h"}},
                  handling={"phone": det(60), "chat": det(60), "email": det(60)},
                  resolution={"phone": 0.0, "chat": 0.0, "email": 0.0},
                  repeat={"probability": 1.0, "delay": det(100), "max_attempts": 3,
                          "switch": {"phone": {"chat": 1.0}, "chat": {"email": 1.0}}},
                  agents={"team": {"skills": ["phone", "chat", "email"], "staffing": 1}})
    raw = run(sc, [0.0])
    assert col(raw, "channel") == [0, 1, 2]
    assert col(raw, "issue") == [0, 0, 0]
    assert col(raw, "attempt") == [1, 2, 3]
    assert col(raw, "leg") == [1, 1, 1]
    assert col(raw, "origin") == [NEW, REPEAT, REPEAT]
    assert col(raw, "arrival_s") == [0.0, 160.0, 320.0]
    assert col(raw, "resolved") == [0, 0, 0]


def test_repeat_without_switch_stays_on_channel_and_stops_at_max_attempts():
    sc = scenario(resolution={"phone": 0.0},
                  repeat={"probability": 1.0, "delay": det(100), "max_attempts": 5})
    raw = run(sc, [0.0])
    assert col(raw, "attempt") == [1, 2, 3, 4, 5]
    assert col(raw, "channel") == [0] * 5
    assert col(raw, "arrival_s") == [0.0, 160.0, 320.0, 480.0, 640.0]


def test_repeat_probability_zero():
    sc = scenario(resolution={"phone": 0.0}, repeat={"probability": 0.0})
    raw = run(sc, [0.0])
    assert col(raw, "attempt") == [1]


def test_redial_after_abandonment():
    # Patience 10 s: c1 (t=5) abandons at 15, redials 100 s later (115), answered at once.
    sc = scenario(channels={"phone": {"kind": "voice", "patience": det(10),
                                      "redial": {"probability": 1.0, "delay": det(100)}}})
    raw = run(sc, [0, 5])
    assert col(raw, "outcome") == [ANSWERED, ABANDONED, ANSWERED]
    assert col(raw, "issue") == [0, 1, 1]
    assert col(raw, "attempt") == [1, 1, 2]
    assert col(raw, "leg") == [1, 1, 1]
    assert col(raw, "origin") == [NEW, NEW, REDIAL]
    assert col(raw, "arrival_s") == [0.0, 5.0, 115.0]
    assert col(raw, "wait_s") == [0.0, 10.0, 0.0]


def test_redials_stop_at_max_attempts():
    # No agents: every attempt abandons after 10 s and redials after 100 s, 3 attempts in all.
    sc = scenario(channels={"phone": {"kind": "voice", "patience": det(10),
                                      "redial": {"probability": 1.0, "delay": det(100)}}},
                  repeat={"max_attempts": 3},
                  agents={"team": {"skills": ["phone"], "staffing": 0}})
    raw = run(sc, [0.0])
    assert col(raw, "attempt") == [1, 2, 3]
    assert col(raw, "arrival_s") == [0.0, 110.0, 220.0]
    assert col(raw, "outcome") == [ABANDONED] * 3


# --------------------------------------------------------------------------- proficiency, wrap
def test_proficiency_handling_multiplier_scales_handle_time():
    sc = scenario(agents={"team": {"skills": ["phone"], "staffing": 1,
                                   "proficiency": {"handling": 0.5}}})
    raw = run(sc, [0, 10])
    assert col(raw, "handle_s") == [30.0, 30.0]
    assert answered_at(raw) == [0.0, 30.0]


def _resolved_share(mult, n=4000):
    sc = scenario(horizon="5d", resolution={"phone": 0.5}, repeat={"probability": 0.0},
                  agents={"team": {"skills": ["phone"], "staffing": 1, "proficiency": {"resolution": mult}}})
    raw = run(sc, 100.0 * np.arange(n), seed=7)
    assert (raw.contacts["outcome"] == ANSWERED).all()
    return raw.contacts["resolved"].mean(), n


@pytest.mark.parametrize("mult, p", [(1.0, 0.5), (1.6, 0.8), (2.5, 1.0), (0.0, 0.0)])
def test_proficiency_resolution_multiplier_changes_resolved_share(mult, p):
    share, n = _resolved_share(mult)
    sd = np.sqrt(p * (1 - p) / n)
    assert abs(share - p) <= 4 * sd + 1e-12


def test_wrap_up_is_part_of_busy_and_delays_next_contact():
    # Wrap 20 s: c0 talks 0-60, wraps 60-80; c1 (t=10) is answered at 80.
    sc = scenario(agents={"team": {"skills": ["phone"], "staffing": 1, "wrap_up": det(20)}})
    raw = run(sc, [0, 10])
    assert answered_at(raw) == [0.0, 80.0]
    assert col(raw, "wrap_s") == [20.0, 20.0]
    assert col(raw, "handle_s") == [60.0, 60.0]
    assert segments(raw.busy) == [(0.0, 80.0, 0), (80.0, 160.0, 0)]


def test_transfer_leg_arrives_when_talk_ends_not_after_wrap():
    sc = scenario(reasons={"tech": {"transfer": {"probability": 1.0, "to": "spec"}}},
                  agents={"gen": {"skills": ["phone"], "staffing": 1, "wrap_up": det(20)},
                          "spec": {"skills": ["phone/tech"], "staffing": 1}})
    raw = run(sc, [0.0, 1.0])
    # c0 -> gen: talk 0-60, wrap 60-80, transfer leg at 60 (not 80). c1 -> spec (1-61).
    assert col(raw, "origin")[2] == TRANSFER
    assert col(raw, "arrival_s")[2] == 60.0
    assert answered_at(raw)[2] == 61.0


# --------------------------------------------------------------------------- demand
def _counts(times, edges):
    return np.histogram(times, bins=edges)[0]


def _within_4sd(observed, expected):
    observed = np.asarray(observed, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert np.all(np.abs(observed - expected) <= 4 * np.sqrt(np.maximum(expected, 1.0))), (observed, expected)


def test_daily_volume_with_intraday_and_weekly_profiles():
    # Day 0 is a Monday (×1), day 1 Tuesday (×2); two 12-hour slots weighted 1:3.
    sc = scenario(horizon="2d", demand={"phone": {"daily_volume": 2000, "intraday": [1, 3],
                                                  "weekly": [1, 2, 1, 1, 1, 1, 1]}})
    arr = forecast_arrivals(sc, Streams(11, 0))
    counts = _counts(arr.time_s, np.arange(5) * 12 * H)
    _within_4sd(counts, [500, 1500, 1000, 3000])
    pieces = rate_pieces(sc, sc.demand["phone"], np.ones(2))
    assert pieces.expected() == pytest.approx(6000.0)


def test_weekly_profile_follows_start_day():
    # start_day sat: day 0 uses the sat multiplier (index 5), day 1 sun (index 6).
    sc = scenario(horizon="2d", start_day="sat",
                  demand={"phone": {"daily_volume": 1000, "weekly": [1, 1, 1, 1, 1, 3, 0]}})
    arr = forecast_arrivals(sc, Streams(12, 0))
    counts = _counts(arr.time_s, np.arange(3) * DAY_S)
    _within_4sd(counts, [3000, 0])
    assert counts[1] == 0


def test_constant_rate_count():
    sc = scenario(horizon="2d", demand={"phone": {"rate": "100/h"}})
    arr = forecast_arrivals(sc, Streams(13, 0))
    _within_4sd([len(arr.time_s)], [4800])
    assert np.all(np.diff(arr.time_s) >= 0)
    assert arr.time_s.min() >= 0 and arr.time_s.max() < 2 * DAY_S


VOLUME_ROWS = [{"day": "mon", "start": "08:00", "volume": 300},
               {"day": "mon", "start": "12:00", "volume": 900},
               {"day": "mon", "start": "18:00", "volume": 0},
               {"day": "tue", "start": "00:00", "volume": 200}]


def test_volumes_table_gives_expected_counts():
    sc = scenario(horizon="2d", demand={"phone": {"volumes": VOLUME_ROWS}})
    arr = forecast_arrivals(sc, Streams(14, 0))
    edges = np.array([0, 8, 12, 18, 24, 48]) * H
    counts = _counts(arr.time_s, edges)
    _within_4sd(counts, [0, 300, 900, 0, 200])
    assert counts[0] == 0 and counts[3] == 0


def test_csv_volumes_equal_inline_table(tmp_path):
    path = tmp_path / "volumes.csv"
    lines = ["day,start,volume"] + [f"{r['day']},{r['start']},{r['volume']}" for r in VOLUME_ROWS]
    path.write_text("\n".join(lines) + "\n")
    sc_csv = scenario(horizon="2d", demand={"phone": {"csv": str(path)}})
    sc_inline = scenario(horizon="2d", demand={"phone": {"volumes": VOLUME_ROWS}})
    a = forecast_arrivals(sc_csv, Streams(14, 0))
    b = forecast_arrivals(sc_inline, Streams(14, 0))
    np.testing.assert_array_equal(a.time_s, b.time_s)


def test_absolute_day_volumes_repeat_with_period():
    rows = [{"day": 0, "start": "00:00", "volume": 1000}, {"day": 1, "start": "00:00", "volume": 100}]
    sc = scenario(horizon="4d", demand={"phone": {"volumes": rows}})
    arr = forecast_arrivals(sc, Streams(15, 0))
    _within_4sd(_counts(arr.time_s, np.arange(5) * DAY_S), [1000, 100, 1000, 100])


def test_reason_mix_shares():
    sc = scenario(horizon="2d", reasons={"a": {}, "b": {}},
                  demand={"phone": {"rate": "200/h", "mix": {"a": 0.25, "b": 0.75}}})
    arr = forecast_arrivals(sc, Streams(16, 0))
    n = len(arr.reason)
    _within_4sd([np.sum(arr.reason == 0)], [0.25 * n])


def _daily_counts(cv, days=60, seed=17):
    sc = scenario(horizon=f"{days}d", demand={"phone": {"daily_volume": 1000}},
                  demand_uncertainty={"daily_cv": cv})
    arr = forecast_arrivals(sc, Streams(seed, 0))
    return _counts(arr.time_s, np.arange(days + 1) * DAY_S)


def test_daily_cv_gives_overdispersed_day_counts():
    # Var = mean + (cv·mean)² = 1000 + 90000 with cv 0.3, against 1000 for Poisson.
    poisson = _daily_counts(0.0)
    busy = _daily_counts(0.3)
    assert 0.4 < poisson.var(ddof=1) / poisson.mean() < 2.0
    assert busy.var(ddof=1) / busy.mean() > 20.0
    assert abs(busy.mean() - 1000) < 4 * np.sqrt(91000 / 60)


def test_daily_cv_shared_moves_channels_together():
    def corr(shared):
        sc = scenario(horizon="60d",
                      channels={"phone": {"kind": "voice"}, "chat": {"kind": "chat"}},
                      demand={"phone": {"daily_volume": 1000}, "chat": {"daily_volume": 1000}},
                      handling={"phone": det(60), "chat": det(60)},
                      agents={"team": {"skills": ["phone", "chat"], "staffing": 1}},
                      demand_uncertainty={"daily_cv": 0.5, "shared": shared})
        arr = forecast_arrivals(sc, Streams(18, 0))
        edges = np.arange(61) * DAY_S
        a = _counts(arr.time_s[arr.channel == 0], edges)
        b = _counts(arr.time_s[arr.channel == 1], edges)
        return np.corrcoef(a, b)[0, 1]

    assert corr(True) > 0.9
    assert corr(False) < 0.6


# --------------------------------------------------------------------------- common random numbers
CRN_BASE = {
    "horizon": "1d",
    "channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "2min"}},
                 "email": {"kind": "async"}},
    "demand": {"phone": {"rate": "40/h"}, "email": {"rate": "10/h"}},
    "reasons": {"a": {}, "b": {}},
    "handling": {"phone": {"dist": "lognormal", "mean": "4min", "cv": 0.8},
                 "email": {"dist": "exponential", "mean": "5min"}},
}


def _crn_pair(extra):
    runs = []
    for agents in (2, 6):
        d = copy.deepcopy(CRN_BASE)
        d.update(copy.deepcopy(extra))
        d["agents"] = {"team": {"skills": ["phone", "email"], "staffing": agents}}
        sc = scenario(**d)
        raw = ContactCentre(sc, 2024, 0).run()
        runs.append(raw.contacts)
    return runs


def _new_issue_rows(c):
    m = c["origin"] == NEW
    order = np.argsort(c["issue"][m], kind="stable")
    return {k: v[m][order] for k, v in c.items()}


def test_crn_more_agents_same_arrivals_and_handle_draws():
    few, many = _crn_pair({"resolution": {"phone": 1.0, "email": 1.0}})
    a, b = _new_issue_rows(few), _new_issue_rows(many)
    np.testing.assert_array_equal(a["arrival_s"], b["arrival_s"])
    np.testing.assert_array_equal(a["channel"], b["channel"])
    np.testing.assert_array_equal(a["reason"], b["reason"])
    np.testing.assert_array_equal(a["patience_s"], b["patience_s"])
    # handle_s is NaN for abandoned contacts in the short-staffed run: compare where both answered.
    both = (a["outcome"] == ANSWERED) & (b["outcome"] == ANSWERED)
    assert both.sum() > 100
    np.testing.assert_array_equal(a["handle_s"][both], b["handle_s"][both])
    assert (a["outcome"] == ABANDONED).sum() > (b["outcome"] == ABANDONED).sum()  # staffing mattered


def test_crn_holds_for_new_issues_with_redials_and_repeats():
    few, many = _crn_pair({
        "channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "2min"},
                               "redial": {"probability": 0.7, "delay": {"dist": "exponential", "mean": "5min"}}},
                     "email": {"kind": "async"}},
        "resolution": {"phone": 0.7, "email": 0.7},
        "repeat": {"probability": 1.0, "delay": {"dist": "exponential", "mean": "1h"}},
    })
    a, b = _new_issue_rows(few), _new_issue_rows(many)
    np.testing.assert_array_equal(a["arrival_s"], b["arrival_s"])
    np.testing.assert_array_equal(a["patience_s"], b["patience_s"])
    both = (a["outcome"] == ANSWERED) & (b["outcome"] == ANSWERED)
    np.testing.assert_array_equal(a["handle_s"][both], b["handle_s"][both])
