"""Property tests: invariants that must hold for any scenario, checked on random small ones.

Hypothesis builds scenarios with every channel kind (voice, chat with concurrency,
a bot escalating to chat, async email), opening hours, queue capacities, redials,
transfers between pools, repeats with channel switching, shifts / interval steps /
fixed staffing, shrinkage and wrap-up, and checks bookkeeping that no scenario may
break: every leg ends in exactly one outcome, follow-up legs exist where promised,
agents are never busier than staffed nor doing two things at once, and the
intervals table adds up to the summary.
"""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsvc.config.load import validate
from simsvc.model.centre import ContactCentre
from simsvc.observe import summary as summ
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

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
EPS = 1e-6
CHANNELS = ("phone", "chat", "bot", "email")
AGENT_CHANNELS = ("phone", "chat", "email")
REASONS = ("a", "b")
POOLS = ("p0", "p1", "p2")


def _dist(draw, mean: str):
    kind = draw(st.sampled_from(["exponential", "deterministic", "lognormal"]))
    if kind == "deterministic":
        return {"dist": "deterministic", "value": mean}
    if kind == "lognormal":
        return {"dist": "lognormal", "mean": mean, "cv": 0.8}
    return {"dist": "exponential", "mean": mean}


def _real_time(draw, kind: str) -> dict:
    ch: dict = {"kind": kind}
    if draw(st.booleans()):
        ch["patience"] = _dist(draw, draw(st.sampled_from(["20s", "2min", "10min"])))
    if draw(st.booleans()):
        ch["queue_capacity"] = draw(st.integers(0, 4))
    if draw(st.booleans()):
        ch["redial"] = {"probability": draw(st.sampled_from([0.3, 1.0])),
                        "delay": _dist(draw, draw(st.sampled_from(["1min", "15min"])))}
    if draw(st.booleans()):
        ch["hours"] = draw(st.sampled_from(["08:00-20:00", "00:00-06:00",
                                            {"mon-fri": "07:00-19:00", "sat-sun": "closed"}]))
        ch["when_closed"] = draw(st.sampled_from(["lost", "retry"]))
        ch["retry_spread"] = draw(st.sampled_from(["0s", "30min", "3h"]))
    return ch


def _staffing(draw):
    form = draw(st.sampled_from(["int", "shifts", "steps"]))
    if form == "int":
        return draw(st.integers(0, 4))
    if form == "shifts":
        n = draw(st.integers(1, 3))
        shifts = []
        for _ in range(n):
            start = draw(st.integers(0, 23))
            length = draw(st.integers(1, 10))
            end = (start + length) % 24
            shifts.append({"start": f"{start:02d}:{draw(st.sampled_from(['00', '30']))}",
                           "end": f"{end:02d}:15", "agents": draw(st.integers(0, 4)),
                           "days": draw(st.sampled_from(["mon-sun", "mon-fri", "sat,sun"]))})
        return {"shifts": shifts}
    hours = sorted(draw(st.sets(st.integers(0, 23), min_size=1, max_size=4)))
    return {"steps": [{"start": f"{h:02d}:00", "agents": draw(st.integers(0, 4))} for h in hours]}


def _skills(draw, required: bool) -> list:
    entries = [c for c in AGENT_CHANNELS] + [f"{c}/{r}" for c in AGENT_CHANNELS for r in REASONS]
    if required:
        chosen = list(draw(st.permutations(list(AGENT_CHANNELS))))
    else:
        chosen = draw(st.lists(st.sampled_from(entries), min_size=1, max_size=3, unique=True))
    if len(chosen) >= 2 and draw(st.booleans()):
        k = draw(st.integers(2, len(chosen)))
        chosen = [chosen[:k]] + chosen[k:]  # the first k at one priority level
    return chosen


@st.composite
def scenario_dicts(draw) -> dict:
    horizon_h = draw(st.sampled_from([12, 24, 30]))
    warmup_h = draw(st.sampled_from([0, 2, 6]))
    chat = _real_time(draw, "chat")
    chat["concurrency"] = draw(st.integers(1, 3))
    chat["concurrency_slowdown"] = draw(st.sampled_from([0.0, 0.3]))
    bot: dict = {"kind": "bot", "escalate_to": "chat",
                 "containment": draw(st.sampled_from([0.0, 0.5, 1.0, {"a": 0.8, "b": 0.1}]))}
    if draw(st.booleans()):
        bot["capacity"] = draw(st.integers(1, 3))
    channels = {
        "phone": _real_time(draw, "voice"),
        "chat": chat,
        "bot": bot,
        "email": {"kind": "async", "response_target": draw(st.sampled_from(["2h", "24h"]))},
    }
    rates = {c: draw(st.sampled_from([0, 4, 15, 30])) for c in CHANNELS}
    if not any(rates.values()):
        rates["phone"] = 15
    demand = {c: {"rate": f"{r}/h", "mix": {"a": 0.5, "b": 0.5}} for c, r in rates.items() if r}
    n_pools = draw(st.integers(1, 3))
    agents = {}
    for k in range(n_pools):
        pool = {"skills": _skills(draw, required=(k == 0)), "staffing": _staffing(draw)}
        if draw(st.booleans()):
            pool["shrinkage"] = 0.2
        if draw(st.booleans()):
            pool["wrap_up"] = _dist(draw, "30s")
        if draw(st.booleans()):
            pool["proficiency"] = {"handling": draw(st.sampled_from([0.7, 1.3])),
                                   "resolution": draw(st.sampled_from([0.5, 1.2]))}
        agents[POOLS[k]] = pool
    reasons: dict = {"a": {}, "b": {}}
    if draw(st.booleans()):
        reasons["b"] = {"transfer": {"probability": draw(st.sampled_from([0.5, 1.0])),
                                     "to": draw(st.sampled_from(list(agents)))}}
    switch = {}
    if draw(st.booleans()):
        switch = {"phone": {"phone": 0.5, "chat": 0.3, "email": 0.2},
                  "chat": {"phone": 0.5, "bot": 0.5},
                  "email": {"email": 1.0}}
    return {
        "name": "prop",
        "horizon": f"{horizon_h}h",
        "warmup": f"{warmup_h}h",
        "interval": draw(st.sampled_from(["30min", "1h"])),
        "start_day": draw(st.sampled_from(["mon", "fri", "sun"])),
        "channels": channels,
        "demand": demand,
        "reasons": reasons,
        "handling": {"phone": _dist(draw, "4min"), "chat": _dist(draw, "6min"),
                     "bot": _dist(draw, "2min"), "email": _dist(draw, "5min")},
        "resolution": {c: draw(st.sampled_from([0.0, 0.6, 1.0])) for c in AGENT_CHANNELS},
        "repeat": {"probability": draw(st.sampled_from([0.0, 0.5, 1.0])),
                   "delay": _dist(draw, draw(st.sampled_from(["10min", "3h"]))),
                   "max_attempts": draw(st.integers(1, 3)),
                   "switch": switch},
        "agents": agents,
    }


def simulate(d: dict, seed: int, rep: int):
    sc = validate(d)
    return sc, ContactCentre(sc, seed, rep).run()


def given_case(test):
    """Run ``test(sc, raw)`` on random scenarios (the failing example prints as a dict and seed)."""
    @SETTINGS
    @given(d=scenario_dicts(), seed=st.integers(0, 2**32 - 1), rep=st.integers(0, 3))
    def wrapper(d, seed, rep):
        test(*simulate(d, seed, rep))

    wrapper.__name__ = test.__name__
    wrapper.__doc__ = test.__doc__
    return wrapper


def _kinds(sc) -> np.ndarray:
    return np.array([ch.kind for ch in sc.channels.values()])


# --------------------------------------------------------------------------- outcomes
@given_case
def test_every_leg_has_one_consistent_outcome(sc, raw):
    c = raw.contacts
    kind = _kinds(sc)[c["channel"]]
    out = c["outcome"]
    assert np.isin(out, [WAITING, ANSWERED, ABANDONED, CONTAINED, ESCALATED, LOST]).all()
    ans = out == ANSWERED
    assert (c["pool"][ans] >= 0).all() and (c["agent"][ans] >= 0).all()
    assert (c["pool"][~ans] == -1).all() and (c["agent"][~ans] == -1).all()
    assert np.isfinite(c["handle_s"][ans]).all() and (c["handle_s"][ans] >= 0).all()
    assert np.isfinite(c["wrap_s"][ans]).all() and (c["wrap_s"][ans] >= 0).all()
    assert np.isin(c["resolved"][ans], [0, 1]).all()
    # Only bots contain or escalate; only real-time channels abandon; async never loses.
    assert (kind[np.isin(out, [CONTAINED, ESCALATED])] == "bot").all()
    assert np.isin(kind[out == ABANDONED], ["voice", "chat"]).all()
    assert not ((kind == "bot") & ans).any()
    assert ((kind == "async") & np.isin(out, [ABANDONED, LOST])).sum() == 0
    ab = out == ABANDONED
    np.testing.assert_allclose(c["wait_s"][ab], c["patience_s"][ab], rtol=1e-9, atol=EPS)
    lost = out == LOST
    assert (c["blocked"][lost] ^ c["closed"][lost]).all()
    assert not (c["blocked"] | c["closed"])[~lost].any()
    assert (c["wait_s"][lost] == 0).all()
    assert not c["transferred"][~ans].any()
    waiting = out == WAITING
    assert (c["resolved"][waiting] == -1).all()
    assert (c["resolved"][~waiting] >= 0).all()
    assert np.isnan(c["wait_s"][waiting & (kind != "bot")]).all()  # a bot session has wait 0
    assert (c["arrival_s"] >= 0).all() and (c["arrival_s"] < sc.horizon).all()
    # Per channel: offered = answered + abandoned + contained + escalated + lost + waiting_end.
    m = summ.replication_metrics(sc, raw).set_index(["channel", "metric"])["value"]
    for name in list(sc.channels) + [summ.ALL]:
        parts = sum(m[(name, k)] for k in ("answered", "abandoned", "contained", "escalated",
                                           "lost", "waiting_end"))
        assert m[(name, "offered")] == parts


@given_case
def test_legs_chain_escalations_transfers_and_attempts(sc, raw):
    c = raw.contacts
    n = len(c["issue"])
    names = list(sc.channels)
    pools = list(sc.agents)
    kind = _kinds(sc)[c["channel"]]
    max_attempts = sc.repeat.max_attempts
    answered_s = c["arrival_s"] + c["wait_s"]
    key = {(int(c["issue"][i]), int(c["attempt"][i]), int(c["leg"][i])): i for i in range(n)}
    assert len(key) == n, "two legs share (issue, attempt, leg)"

    for i in np.flatnonzero(c["outcome"] == ESCALATED):
        j = key.get((int(c["issue"][i]), int(c["attempt"][i]), int(c["leg"][i]) + 1))
        assert j is not None, f"escalated leg {i} has no escalation leg"
        assert c["origin"][j] == ESCALATION
        assert names[c["channel"][j]] == sc.channels[names[c["channel"][i]]].escalate_to
        assert abs(c["arrival_s"][j] - (c["arrival_s"][i] + c["handle_s"][i])) < EPS

    for i in np.flatnonzero(c["transferred"]):
        due = answered_s[i] + c["handle_s"][i]
        j = key.get((int(c["issue"][i]), int(c["attempt"][i]), int(c["leg"][i]) + 1))
        if due >= sc.horizon:
            assert j is None
            continue
        assert j is not None, f"transferred leg {i} has no transfer leg"
        assert c["origin"][j] == TRANSFER and c["channel"][j] == c["channel"][i]
        assert abs(c["arrival_s"][j] - due) < EPS
        target = pools.index(list(sc.reasons.values())[c["reason"][i]].transfer.to)
        assert c["pool"][i] != target
        if c["outcome"][j] == ANSWERED:
            assert c["pool"][j] == target
            assert not c["transferred"][j]

    # Origins: leg 1 is new/redial/repeat/retry, later legs escalation/transfer.
    first = c["leg"] == 1
    assert np.isin(c["origin"][first], [NEW, REDIAL, REPEAT, RETRY]).all()
    assert np.isin(c["origin"][~first], [ESCALATION, TRANSFER]).all()
    assert (c["origin"][c["attempt"] == 1] != REDIAL).all()
    assert (c["origin"][(c["attempt"] > 1) & first] != NEW).all()
    assert (c["origin"][c["attempt"] == 1] != REPEAT).all()
    assert not (kind[c["origin"] == TRANSFER] == "bot").any()

    # Attempts 1..max and consecutive per issue; legs 1..k consecutive per attempt.
    assert (c["attempt"] >= 1).all() and (c["attempt"] <= max_attempts).all()
    n_issues = int(c["issue"].max()) + 1 if n else 0
    pairs = np.unique(np.stack([c["issue"], c["attempt"].astype(np.int64)]), axis=1)
    n_attempts = np.bincount(pairs[0], minlength=n_issues)
    max_attempt = np.zeros(n_issues, dtype=np.int64)
    np.maximum.at(max_attempt, c["issue"], c["attempt"].astype(np.int64))
    np.testing.assert_array_equal(max_attempt, n_attempts)  # attempts 1..k, none missing
    group = c["issue"] * (max_attempts + 1) + c["attempt"]
    _, inverse, n_legs = np.unique(group, return_inverse=True, return_counts=True)
    max_leg = np.zeros(len(n_legs), dtype=np.int64)
    np.maximum.at(max_leg, inverse, c["leg"].astype(np.int64))
    np.testing.assert_array_equal(max_leg, n_legs)  # legs 1..k per attempt, none missing
    # Each issue starts with a new contact (issue ids are 0..n_issues-1 in arrival order).
    new = c["origin"] == NEW
    np.testing.assert_array_equal(np.sort(c["issue"][new]), np.arange(new.sum()))
    assert np.isin(c["issue"], c["issue"][new]).all()
    # A leg never arrives before the leg it follows.
    order = np.lexsort((c["leg"], c["attempt"], c["issue"]))
    same_issue = c["issue"][order][1:] == c["issue"][order][:-1]
    assert (np.diff(c["arrival_s"][order])[same_issue] >= -EPS).all()


@given_case
def test_waits_and_times_are_sane(sc, raw):
    c = raw.contacts
    done = c["outcome"] != WAITING
    assert (c["wait_s"][done] >= 0).all()
    ct = tables.contacts_frame(sc, raw)
    ans = ct["outcome"] == "answered"
    assert (ct.loc[ans, "answered_s"] >= ct.loc[ans, "arrival_s"]).all()
    assert (ct.loc[ans, "answered_s"] < sc.horizon).all()
    assert ct.loc[~ans, "answered_s"].isna().all()
    assert (np.diff(c["arrival_s"]) >= 0).all()  # legs are recorded in arrival order


# --------------------------------------------------------------------------- agents
def _agent_spans(sc, raw):
    """Per agent: list of (start, end, is_chat) work spans (talk + wrap) of answered legs."""
    c = raw.contacts
    kind = _kinds(sc)[c["channel"]]
    ans = np.flatnonzero(c["outcome"] == ANSWERED)
    start = c["arrival_s"] + c["wait_s"]
    end = start + c["handle_s"] + c["wrap_s"]
    spans: dict[int, list] = {}
    for i in ans:
        spans.setdefault(int(c["agent"][i]), []).append((start[i], end[i], kind[i] == "chat"))
    return spans


@given_case
def test_agents_never_overbooked_and_busy_within_duty(sc, raw):
    c = raw.contacts
    concurrency = sc.channels["chat"].concurrency
    horizon = sc.horizon
    duty = raw.duty
    busy = raw.busy
    # One duty period per agent id, inside [0, horizon].
    assert len(set(duty["agent"].tolist())) == len(duty["agent"])
    assert (duty["start_s"] >= 0).all() and (duty["end_s"] <= horizon + EPS).all()
    assert (duty["end_s"] >= duty["start_s"]).all()
    duty_of = {int(a): (s, e, int(p)) for a, s, e, p in zip(duty["agent"], duty["start_s"], duty["end_s"], duty["pool"])}
    # Every busy segment lies in its agent's duty period (clipped at the horizon).
    for s, e, a, p in zip(busy["start_s"], busy["end_s"], busy["agent"], busy["pool"]):
        ds, de, dp = duty_of[int(a)]
        assert p == dp
        assert s >= ds - EPS and min(e, horizon) <= de + EPS, (s, e, ds, de)
    # Every answered contact is handled by an on-duty agent of the recorded pool.
    ans = c["outcome"] == ANSWERED
    for i in np.flatnonzero(ans):
        ds, de, dp = duty_of[int(c["agent"][i])]
        t = c["arrival_s"][i] + c["wait_s"][i]
        assert dp == c["pool"][i]
        assert ds - EPS <= t and (t < de or de >= horizon - EPS)
    # No agent does two exclusive things at once; chat agents hold at most `concurrency`.
    for a, spans in _agent_spans(sc, raw).items():
        events = []
        for s, e, is_chat in spans:
            events.append((s, 1, is_chat))
            events.append((e - EPS, -1, is_chat))  # (start + wait) may differ from the end by 1 ulp
        events.sort(key=lambda ev: (ev[0], ev[1]))  # ends before starts at the same instant
        chats = other = 0
        for _, d, is_chat in events:
            if is_chat:
                chats += d
            else:
                other += d
            assert other <= 1, f"agent {a} handles two exclusive contacts at once"
            assert not (other and chats), f"agent {a} chats during an exclusive contact"
            assert chats <= concurrency, f"agent {a} holds {chats} chats > {concurrency}"
    # Busy time never exceeds staffed time, per pool and interval, and per agent overall.
    pools = tables.pools_frame(sc, raw)
    assert (pools["busy_agent_s"] <= pools["staffed_agent_s"] + EPS).all()
    occ = pools["occupancy"].dropna()
    assert ((occ >= -EPS) & (occ <= 1 + EPS)).all()
    iv = tables.intervals_frame(sc, raw)
    busy_by_int = iv.groupby("interval", observed=True)["busy_agent_s"].sum().to_numpy()
    staffed_by_int = pools.groupby("interval", observed=True)["staffed_agent_s"].sum().to_numpy()
    assert (busy_by_int <= staffed_by_int + EPS).all()
    # Occupancy is a share: per channel (busy on it / staffed time of the pools skilled for it
    # or receiving its transfers), per interval and over the run, and for the whole centre.
    ch_occ = iv["occupancy"].dropna()
    assert ((ch_occ >= -EPS) & (ch_occ <= 1 + EPS)).all(), iv.loc[ch_occ.idxmax()]
    m = summ.replication_metrics(sc, raw)
    occ = m.loc[m["metric"] == "occupancy", "value"].dropna()
    assert ((occ >= -EPS) & (occ <= 1 + EPS)).all(), m[m["metric"] == "occupancy"]


# --------------------------------------------------------------------------- tables vs summary
TOTALS = ("offered", "answered", "abandoned", "contained", "escalated", "lost", "waiting_end")


@given_case
def test_interval_totals_equal_summary_totals(sc, raw):
    iv = tables.intervals_frame(sc, raw)
    m = summ.replication_metrics(sc, raw)
    assert (m["replication"] == raw.replication).all()
    m = m.set_index(["channel", "metric"])["value"]
    post = iv[~iv["in_warmup"]]
    sums = post.groupby("channel", observed=False)[list(TOTALS)].sum()
    last = iv[iv["interval"] == iv["interval"].max()].set_index("channel")
    for name in sc.channels:
        for k in TOTALS:
            assert sums.loc[name, k] == m[(name, k)], (name, k)
        assert last.loc[name, "backlog_end"] == m[(name, "backlog_end")]
    for k in TOTALS:
        assert sums[k].sum() == m[(summ.ALL, k)]
    # Busy time per channel from intervals equals the summary's occupancy numerator.
    c = raw.contacts
    keep = c["arrival_s"] >= sc.warmup
    assert m[(summ.ALL, "offered_new_issues")] == np.sum(c["origin"][keep] == NEW)
    assert m[(summ.ALL, "transferred")] == np.sum(c["transferred"][keep])


# --------------------------------------------------------------------------- work conservation
def _idle_spans(raw, horizon: float) -> dict[int, tuple[int, list[tuple[float, float]]]]:
    """Per agent: (pool, spans on duty with nothing in hand)."""
    d, b = raw.duty, raw.busy
    out = {}
    for a, s, e, p in zip(d["agent"], d["start_s"], d["end_s"], d["pool"]):
        m = b["agent"] == a
        t, spans = s, []
        for bs, be in sorted(zip(b["start_s"][m], np.minimum(b["end_s"][m], horizon))):
            if bs > t + EPS:
                spans.append((t, bs))
            t = max(t, be)
        if e > t + EPS:
            spans.append((t, e))
        out[int(a)] = (int(p), spans)
    return out


@given_case
def test_no_agent_idles_while_a_contact_it_can_take_waits(sc, raw):
    """Work conservation: a caller, chat or email waits only if every agent
    who could take it (skilled pool, or the transfer's target pool) is busy or off duty."""
    from simsvc.config.references import skill_queues

    c = raw.contacts
    names, reasons, pools = list(sc.channels), list(sc.reasons), list(sc.agents)
    serving: dict[tuple[int, int], set[int]] = {}
    for p, pool in enumerate(sc.agents.values()):
        for entry in pool.skills:
            for skill in entry if isinstance(entry, list) else [entry]:
                for cn, rn in skill_queues(sc, skill):
                    serving.setdefault((names.index(cn), reasons.index(rn)), set()).add(p)
    idle = _idle_spans(raw, sc.horizon)
    kind = _kinds(sc)[c["channel"]]
    candidates = np.flatnonzero(np.isin(kind, ["voice", "chat", "async"])
                                & np.isin(c["outcome"], [ANSWERED, ABANDONED, WAITING]))
    for i in candidates:
        t0 = c["arrival_s"][i]
        t1 = sc.horizon if c["outcome"][i] == WAITING else t0 + c["wait_s"][i]
        if t1 - t0 <= EPS:
            continue
        if c["origin"][i] == TRANSFER:
            able = {pools.index(list(sc.reasons.values())[c["reason"][i]].transfer.to)}
        else:
            able = serving.get((int(c["channel"][i]), int(c["reason"][i])), set())
        for a, (p, spans) in idle.items():
            if p in able:
                for s, e in spans:
                    assert min(e, t1) - max(s, t0) <= EPS, (
                        f"leg {i} ({names[c['channel'][i]]}) waits {t0:.1f}-{t1:.1f} "
                        f"while agent {a} of {pools[p]} is idle {s:.1f}-{e:.1f}")
