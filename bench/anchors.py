"""Minimal stand-in for the anchor models (the event-loop work brings the full ``bench/anchors.py``).

:func:`tutorial` is the reference M/M/50+M queue (λ = 100/min, exponential
handling with mean 27 s, exponential patience with mean 2 min) written the way
the SimPy tutorial teaches: a process per caller, a ``Resource`` for the agents,
``yield request | timeout(patience)``. It returns arrivals per second of wall
time, so a bench can print simsvc's speed as a ratio measured in the same run.
"""
from __future__ import annotations

import time

import numpy as np
import simpy

AGENTS = 50
MEAN_GAP_S = 0.6        # 100 arrivals per minute
MEAN_HANDLE_S = 27.0
MEAN_PATIENCE_S = 120.0


def tutorial(n_arrivals: int, seed: int = 1) -> float:
    """Arrivals per second of a tutorial-style SimPy M/M/50+M over ``n_arrivals`` callers."""
    rng = np.random.default_rng(seed)
    gap = rng.exponential(MEAN_GAP_S, n_arrivals)
    handle = rng.exponential(MEAN_HANDLE_S, n_arrivals)
    patience = rng.exponential(MEAN_PATIENCE_S, n_arrivals)
    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=AGENTS)
    outcome = {"answered": 0, "abandoned": 0}

    def caller(k: int):
        with agents.request() as request:
            fired = yield request | env.timeout(patience[k])
            if request in fired:
                outcome["answered"] += 1
                yield env.timeout(handle[k])
            else:
                outcome["abandoned"] += 1

    def arrivals():
        for k in range(n_arrivals):
            yield env.timeout(gap[k])
            env.process(caller(k))

    env.process(arrivals())
    start = time.perf_counter()
    env.run()
    elapsed = time.perf_counter() - start
    assert outcome["answered"] + outcome["abandoned"] == n_arrivals
    return n_arrivals / elapsed
