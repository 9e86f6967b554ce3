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
