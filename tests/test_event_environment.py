"""``simsvc.model.events.Environment.run`` is SimPy's ``run`` to a time with ``step``'s work done
in its own loop: the same events in the same order, the same clock, the same errors."""
from __future__ import annotations

import pytest
import simpy

from simsvc.model.events import Environment


def _model(env: simpy.Environment, log: list) -> None:
    """Processes, timeouts with callbacks, a shared resource, an interrupt and a defused failure."""
    def customer(name: int, res: simpy.Resource):
        yield env.timeout(name * 0.7)
        with res.request() as req:
            got = yield req | env.timeout(2.5)
            if req in got:
                log.append(("served", name, env.now))
                yield env.timeout(1.3 + name % 3)
            else:
                log.append(("reneged", name, env.now))

    def sleeper():
        try:
            yield env.timeout(100)
        except simpy.Interrupt as stop:
            log.append(("interrupted", stop.cause, env.now))

    def waker(target):
        yield env.timeout(4.2)
        target.interrupt("wake")

    res = simpy.Resource(env, capacity=2)
    for k in range(12):
        env.process(customer(k, res))
    env.process(waker(env.process(sleeper())))
    failed = env.event()
    failed.defused = True
    env.timeout(3.3).callbacks.append(lambda ev: failed.fail(ValueError("defused")))
    for k in range(5):
        env.timeout(k * 1.1, value=k).callbacks.append(lambda ev: log.append(("timeout", ev.value, env.now)))


def test_same_events_in_the_same_order_as_simpy() -> None:
    logs = []
    for env in (simpy.Environment(), Environment()):
        log: list = []
        _model(env, log)
        env.run(until=6.0)
        log.append(("paused", env.now))
        env.run(until=30)   # resumes where the first run stopped
        log.append(("end", env.now, len(env._queue)))
        logs.append(log)
    assert logs[0] == logs[1]
    assert ("interrupted", "wake", 4.2) in logs[1] and any(e[0] == "reneged" for e in logs[1])


def test_the_same_errors_as_simpy() -> None:
    env = Environment()
    env.run(until=1)
    with pytest.raises(ValueError, match="must be greater"):
        env.run(until=1)

    def crashes(env):
        yield env.timeout(1)
        raise KeyError("boom")

    for env in (simpy.Environment(), Environment()):
        env.process(crashes(env))
        with pytest.raises(KeyError, match="boom"):
            env.run(until=5)
        assert env.now == 1


def test_an_event_or_nothing_goes_to_simpys_run() -> None:
    env = Environment()
    done = env.timeout(3, value="v")
    assert env.run(until=done) == "v" and env.now == 3
    env.timeout(2)
    assert env.run() is None and env.now == 5


# The arrival lane (``Environment.lane``): one pending event held beside the heap, run in the
# order SimPy's heap would give it. The chain below re-arms one Timeout from its own callback
# (as the forecast arrivals do); in SimPy's environment each link is pushed onto the heap, in
# ours it goes to the lane. Times are multiples of 0.5, so links tie with other events
# (the tie-breaking by priority and event id is what the lane must get right).
def _chained(env: simpy.Environment, log: list, lane: bool) -> None:
    from heapq import heappush

    from simpy.events import NORMAL, Timeout

    link = object.__new__(Timeout)
    link.env, link._ok, link._delay = env, True, 0.0
    gaps = iter([0.5, 0.0, 1.0, 0.5, 0.5, 0.0, 1.5, 0.5, 1.0, 0.5, 0.0, 2.0])

    def arrive(ev):
        log.append(("link", ev._value, env.now))
        gap = next(gaps, None)
        if gap is None:
            return
        ev._value = ev._value + 1
        ev.callbacks = [arrive]
        entry = (env.now + gap, NORMAL, next(env._eid), ev)
        if lane:
            env.lane = entry
        else:
            heappush(env._queue, entry)

    link._value = 0
    link.callbacks = [arrive]
    heappush(env._queue, (0.0, NORMAL, next(env._eid), link))
    for k in range(14):   # other events at the same half seconds, some made before, some after a link
        env.timeout(0.5 * (k % 7), value=k).callbacks.append(lambda ev: log.append(("other", ev.value, env.now)))

    def proc():
        for _ in range(6):
            yield env.timeout(0.5)
            log.append(("process", env.now))
            env.timeout(0).callbacks.append(lambda ev: log.append(("zero", env.now)))

    env.process(proc())


@pytest.mark.parametrize("how", ["until", "step", "until-none", "peek"])
def test_the_lane_runs_in_simpys_order(how: str) -> None:
    logs = []
    for env, lane in ((simpy.Environment(), False), (Environment(), True)):
        log: list = []
        _chained(env, log, lane)
        if how == "until":
            env.run(until=2.0)   # a link due at 2.0 waits behind the stop event, as in SimPy
            log.append(("paused", env.now))
            env.run(until=20)
        elif how == "until-none":
            env.run()
        else:
            while True:
                try:
                    at = env.peek()
                except simpy.core.EmptySchedule:  # pragma: no cover (peek returns inf)
                    break
                if at == float("inf"):
                    break
                if how == "peek":
                    log.append(("next", at))
                env.step()
        log.append(("end", env.now))
        logs.append(log)
    assert logs[0] == logs[1]
    assert sum(1 for e in logs[1] if e[0] == "link") == 13


def test_the_lane_alone_drives_the_clock_once_the_heap_is_empty() -> None:
    env = Environment()
    log: list = []
    _chained(env, log, lane=True)
    env.run(until=30)
    links = [e for e in log if e[0] == "link"]
    assert links[-1] == ("link", 12, 8.0)   # the gaps add up to 8 s; the others end at 3 s
    assert env.now == 30 and env.lane is None and len(env._queue) == 1   # SimPy keeps its stop event


def test_to_lane_checks_its_delay_and_an_empty_lane() -> None:
    from simsvc.domain.errors import SimulationError
    from simsvc.model.events import reusable, to_lane

    env = Environment()
    ev = reusable(env, "v")
    log: list = []
    with pytest.raises(SimulationError, match="reached the event loop"):
        to_lane(env, ev, float("nan"), [lambda e: None])
    to_lane(env, ev, 2.0, [lambda e: log.append((e._value, env.now))])
    with pytest.raises(RuntimeError, match="holds an event already"):
        to_lane(env, reusable(env, None), 1.0, [lambda e: None])
    env.run(until=5)
    assert log == [("v", 2.0)] and env.lane is None
