"""The scheduling path: every event of the model goes through :func:`scheduler` (or
:func:`poster`, its twin for the event loop's own callbacks, :func:`arm` for a
:func:`reusable` Timeout such as an agent's end of service, or :func:`to_lane` for the
chain of forecast arrivals; the hot path inlines the last two), and each checks the delay
the same way.

SimPy stays the scheduler: each event is a ``simpy.events.Timeout`` in the
environment's queue, processed by ``env.run`` with its callback. The function
returned by :func:`scheduler` builds that ``Timeout`` directly (what
``env.timeout(delay, value).callbacks.append(callback)`` does, without two
Python calls per event) and checks the delay on the way: a NaN or negative
delay (a duration that slipped past validation, or a formula gone wrong) would
corrupt the time order of SimPy's heap and end the run early and silently, so
it raises :class:`~simsvc.domain.errors.SimulationError` naming the cause.
The next forecast arrival's queue entry waits in :attr:`Environment.lane`, beside the
heap, and is run when it is due in the order the heap would have given it.
"""
from __future__ import annotations

from heapq import heappop, heappush
from typing import Any, Callable

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import NORMAL, URGENT, Event, Timeout

from simsvc.domain.errors import SimulationError

# What each callback's delay is, for the error message (callback name → cause).
CAUSES = {
    "_on_arrival": "time to the next arrival",
    "_on_patience": "patience",
    "_on_chase": "chase delay",
    "_on_free": "handling plus wrap-up time",
    "_on_chat_end": "chat handling plus wrap-up time",
    "_on_attempt_end": "handling time",
    "_on_bot_end": "bot session time",
    "_on_later": "follow-up contact delay (redial, repeat, retry or transfer)",
    "_on_duty_change": "time of a duty change",
    "_on_acquired": "time of a customer acquisition",
    "_on_stage_end": "stage dwell time",
    "_on_stage_contact": "time of a stage contact",
    "_on_followup": "proactive follow-up delay",
    "_on_referred_arrives": "referral delay",
}

Schedule = Callable[[float, Any, Callable[[Timeout], None]], None]
Callbacks = list  # a one-callback list made once and shared by every event of that kind


class Environment(simpy.Environment):
    """SimPy's environment, with :meth:`run` to a time doing :meth:`step`'s work in its own loop.

    ``simpy.Environment.run`` calls ``self.step()`` once per event; the call and its
    attribute look-ups are about 450 machine instructions an event (callgrind), about 3 % of
    the event loop's instructions in a forecast-mode run, where two events serve a contact
    (issue 13).
    This loop does what ``step`` does, in the same order and with the same errors: pop the
    next event, advance the clock, run its callbacks (on ``StopSimulation`` the event goes
    back into the queue with the callbacks not yet run) and crash the run on a failed
    event nobody defused. Anything but a time (an event, or ``None``) goes to SimPy's own.
    Each of them also runs the event waiting in :attr:`lane` when it is the next.
    """

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        # The arrival lane: the next forecast arrival's queue entry, (time, priority, id, event),
        # held beside the heap instead of in it (``ContactCentre._on_arrival`` puts it here).
        # One arrival is pending at a time, and it is nearly always the earliest event, so in
        # the heap it would climb to the top on every push and be sifted out on every pop;
        # here each event costs one comparison of the lane with the heap's top, the same
        # tuple comparison the heap makes, so the events run in exactly SimPy's order.
        self.lane: tuple | None = None

    def _lane_first(self) -> bool:
        """Whether the lane's event is the next to run (the test :meth:`run`'s loop inlines)."""
        lane = self.lane
        return lane is not None and (not self._queue or lane < self._queue[0])

    def peek(self) -> float:
        return self.lane[0] if self._lane_first() else super().peek()

    def step(self) -> None:
        if self._lane_first():
            heappush(self._queue, self.lane)   # the heap's top now: SimPy's step pops it
            self.lane = None
        super().step()

    def run(self, until: Any = None) -> Any:
        if until is None or isinstance(until, Event):
            return super().run(until)
        at = until if isinstance(until, int) else float(until)
        if at <= self._now:
            raise ValueError(f"until ({at}) must be greater than the current simulation time")
        stop = Event(self)   # scheduled before all regular events at ``at``, as SimPy does
        stop._ok = True
        stop._value = None
        self.schedule(stop, URGENT, at - self._now)
        stop.callbacks.append(StopSimulation.callback)
        queue = self._queue
        try:
            while True:
                lane = self.lane
                if lane is not None and (not queue or lane < queue[0]):
                    self.lane = None
                    self._now, _, _, event = lane
                else:
                    try:
                        self._now, _, _, event = heappop(queue)
                    except IndexError:
                        raise EmptySchedule from None
                callbacks, event.callbacks = event.callbacks, None
                try:
                    for callback in callbacks:
                        callback(event)
                except StopSimulation:   # step's own handling: the event goes back, at priority -1
                    event.callbacks = callbacks[callbacks.index(callback) + 1:]
                    self.schedule(event, URGENT - 1)
                    raise
                if not event._ok and not hasattr(event, "_defused"):
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    raise exc
        except StopSimulation as exc:
            return exc.args[0]
        except EmptySchedule:
            raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {stop}') from None


def scheduler(env: simpy.Environment) -> Schedule:
    """``at(delay, value, callback)``: call ``callback(event)`` ``delay`` seconds from now,
    with ``event._value == value``; NaN or negative delays raise SimulationError."""
    queue = env._queue
    eid = env._eid
    new = object.__new__

    def at(delay: float, value: Any, callback: Callable[[Timeout], None]) -> None:
        if not delay >= 0.0:  # False for NaN as well as for negative delays
            bad_delay(env, delay, callback)
        ev = new(Timeout)
        ev.env = env
        ev.callbacks = [callback]
        ev._value = value
        ev._ok = True
        ev._delay = delay
        heappush(queue, (env._now + delay, NORMAL, next(eid), ev))

    return at


def poster(env: simpy.Environment) -> Callable[[float, Any, Callbacks], None]:
    """``post(delay, value, callbacks)``: :func:`scheduler`'s ``at`` for callbacks given as a
    one-element list made once (``[self._on_patience]``) and shared by every event of that kind.

    SimPy only reads an event's callback list (and drops it once the event is processed),
    so sharing one list saves building a bound method and a list per event on the hot path.
    """
    queue = env._queue
    eid = env._eid
    new = object.__new__

    def post(delay: float, value: Any, callbacks: Callbacks) -> None:
        if not delay >= 0.0:
            bad_delay(env, delay, callbacks[0])
        ev = new(Timeout)
        ev.env = env
        ev.callbacks = callbacks
        ev._value = value
        ev._ok = True
        ev._delay = delay
        heappush(queue, (env._now + delay, NORMAL, next(eid), ev))

    return post


def reusable(env: simpy.Environment, value: Any) -> Timeout:
    """A ``Timeout`` that is armed again and again with :func:`arm`, one pending at a time.

    SimPy is done with an event once its callbacks have run (the callback may arm it
    again), so where at most one event of a chain is pending — the next forecast arrival,
    scheduled by the one before; the end of service of an agent serving one contact at a
    time — one object serves the whole chain. Arming it while pending would corrupt the queue.
    """
    ev = object.__new__(Timeout)
    ev.env = env
    ev.callbacks = None
    ev._value = value
    ev._ok = True
    ev._delay = 0.0
    return ev


def arm(env: simpy.Environment, ev: Timeout, delay: float, callbacks: Callbacks) -> None:
    """Schedule the :func:`reusable` ``ev`` (not pending) ``delay`` seconds from now, checked
    like :func:`scheduler` (the hot path inlines these few lines)."""
    if not delay >= 0.0:
        bad_delay(env, delay, callbacks[0])
    ev.callbacks = callbacks
    ev._delay = delay
    heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), ev))


def to_lane(env: Environment, ev: Timeout, delay: float, callbacks: Callbacks) -> None:
    """Schedule the :func:`reusable` ``ev`` ``delay`` seconds from now in the environment's
    arrival lane (:attr:`Environment.lane`, which must be empty), checked like :func:`arm`
    (``ContactCentre._on_arrival`` inlines these few lines)."""
    if not delay >= 0.0:
        bad_delay(env, delay, callbacks[0])
    if env.lane is not None:
        raise RuntimeError("the arrival lane holds an event already (one arrival is pending at a time)")
    ev.callbacks = callbacks
    ev._delay = delay
    env.lane = (env._now + delay, NORMAL, next(env._eid), ev)


def bad_delay(env: simpy.Environment, delay: float, callback: Callable) -> None:
    """Raise the SimulationError for a NaN or negative ``delay`` meant for ``callback``."""
    name = getattr(callback, "__name__", repr(callback))
    cause = CAUSES.get(name, name)
    raise SimulationError(
        f"the simulation stopped at t = {env.now:.3f} s: a {cause} of {delay!r} s reached the event loop "
        "(delays must be finite and >= 0); a distribution or table produced it, check the scenario's "
        "durations and rates")
