"""A reason's routing delay (``reasons.<r>.routing_delay``): a step between arrival and the queue.

A contact of such a reason (a new issue, a redial or a repeat; not a transfer, which
continues a contact already answered) cannot be answered before its delay ``d`` (drawn
from ``routing_delay/<channel>/<reason>``) has passed since it arrived. It waits
meanwhile, and its patience runs from arrival as everyone's does: a caller whose patience
is shorter than ``d`` abandons during the step (at arrival + patience), the others reach
the queue at arrival + ``d`` with what is left of their patience, and then compete as any
contact does (the queue's order is by arrival time, minus the reason's ``queue_credit``).
A routing step that ends after the channel has closed meets the closed channel as an
arrival then would (lost, or retried with ``when_closed: retry``), its wait recorded.

Resolved once at build time (:func:`setup_routing_delay`): where no reason has a delay
nothing is set, the centre's ``_route`` is its own and no stream is drawn, so a scenario
without the field runs and draws exactly as before. Where one has, the affected queues
leave the arrival path's direct route and the centre's ``_route`` is replaced, for this
replication, by a :class:`RoutingDelay`'s. The step lives in an object of its own rather
than a mixin of the centre, so the centre's class (and its attribute lookups on the hot
path) is the same with or without it.
"""
from __future__ import annotations

import simpy

from simsvc.observe.records import ABANDONED, LOST, WAITING


def setup_routing_delay(centre) -> None:
    """Give ``centre`` (a built :class:`~simsvc.model.centre.ContactCentre`) its reasons' routing
    steps, if any reason has one; otherwise leave it untouched."""
    s = centre.scenario
    delays = {r: spec.routing_delay for r, spec in s.reasons.items() if spec.routing_delay is not None}
    if delays:
        RoutingDelay(centre, delays)


class RoutingDelay:
    """Contacts that pass a routing step before they can be answered (one per replication)."""

    def __init__(self, centre, delays: dict) -> None:
        s, st = centre.scenario, centre.streams
        self.centre = centre
        # by[c][r]: the sampler of channel c's reason r, None where it has no delay
        # (a channel without agent queues never queues, so it has none).
        self.by = [[st.sampler(f"routing_delay/{name}/{r}", delays[r]) if r in delays and ch.queues else None
                    for r in s.reasons]
                   for name, ch in zip(s.channels, centre.channels)]
        for c, row in enumerate(self.by):
            for r, sampler in enumerate(row):
                if sampler is not None:
                    centre.direct[c][r] = None  # arrivals of that queue go through _route
        self.route_now = centre._route  # the centre's own, bound
        centre._route = self.route
        centre.routing_delay = self

    def route(self, i: int, ch, c: int, r: int, issue: int, attempt: int, target_pool: int,
              patience: float, now: float, handle: float, uniform: float) -> None:
        """The centre's ``_route``, after the routing step where contact ``i``'s reason has one."""
        sampler = self.by[c][r]
        if sampler is None or target_pool >= 0 or not (ch.always_open or ch.hours.is_open(now)):
            self.route_now(i, ch, c, r, issue, attempt, target_pool, patience, now, handle, uniform)
            return
        d = sampler()
        if patience == patience and patience <= d:  # runs out during the step
            self.centre.at(patience, (i, c, r, issue, attempt), self._on_abandon)
        else:
            self.centre.at(d, (i, c, r, issue, attempt, patience - d, handle, uniform), self._on_routed)

    def _on_routed(self, ev: simpy.events.Timeout) -> None:
        """The routing step is over: contact ``i`` goes where an arrival now would, with what is
        left of its patience (NaN stays NaN: that channel's customers do not abandon)."""
        i, c, r, issue, attempt, patience, handle, uniform = ev._value
        centre = self.centre
        now = centre.env._now
        self.route_now(i, centre.channels[c], c, r, issue, attempt, -1, patience, now, handle, uniform)
        rec = centre.rec
        if rec.outcome[i] == LOST:  # the channel closed during the step: it waited that long
            rec.wait_s[i] = now - rec.arrival_s[i]

    def _on_abandon(self, ev: simpy.events.Timeout) -> None:
        """Contact ``i``'s patience ran out during its routing step."""
        i, c, r, issue, attempt = ev._value
        centre = self.centre
        rec = centre.rec
        if rec.outcome[i] != WAITING:
            return
        rec.outcome[i] = ABANDONED
        rec.wait_s[i] = centre.env._now - rec.arrival_s[i]
        rec.resolved[i] = 0
        if centre.journey is not None:
            centre.journey.attempt_end(i)
        centre._maybe_redial(centre.channels[c], c, r, issue, attempt)
