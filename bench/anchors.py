"""Two reference SimPy models to measure simsvc's event loop against, in the same run.

Both simulate the reference M/M/50+M queue (λ = 100/min, exponential handling
with mean 27 s, exponential patience with mean 2 min, 50 agents) for
``n_arrivals`` arrivals and return arrivals per second of wall time (with
``both=True``: per second of wall time and per second of the process's CPU time,
over the same stretch). Absolute speed moves with the machine's load; ratios
against these anchors, measured in the same process a moment apart, are what the
benches print. On a shared machine the CPU-time ratio moves less than the wall one
(waiting for a core does not count), though cache and core sharing still show.

* :func:`tutorial` — the model as the SimPy tutorial writes it: one process per
  caller, a ``Resource`` for the agents, ``yield req | env.timeout(patience)``.
* :func:`callback` — the least SimPy can do: ``Timeout`` events with callbacks,
  no process per caller, a deque as the queue, lazy reneging (an abandoned
  caller is marked and skipped when an agent next looks), few records.
"""
from __future__ import annotations

import time
from collections import deque

import numpy as np
import simpy

AGENTS = 50
RATE_PER_S = 100 / 60
AHT_S = 27.0
PATIENCE_S = 120.0


def _draws(n: int, seed: int) -> tuple[list[float], list[float], list[float]]:
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1 / RATE_PER_S, n).tolist()
    return gaps, rng.exponential(AHT_S, n).tolist(), rng.exponential(PATIENCE_S, n).tolist()


def _rates(n: int, wall: float, cpu: float, both: bool) -> float | tuple[float, float]:
    return (n / wall, n / cpu) if both else n / wall


def tutorial(n_arrivals: int, seed: int = 1, both: bool = False) -> float | tuple[float, float]:
    """Arrivals/s of a tutorial-style M/M/50+M: a process per caller, ``req | timeout``."""
    gaps, handle, patience = _draws(n_arrivals, seed)
    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=AGENTS)
    waits: list[float] = []
    abandoned = [0]

    def caller(i: int):
        arrived = env.now
        with agents.request() as req:
            got = yield req | env.timeout(patience[i])
            if req not in got:
                abandoned[0] += 1
                return
            waits.append(env.now - arrived)
            yield env.timeout(handle[i])

    def source():
        for i in range(n_arrivals):
            yield env.timeout(gaps[i])
            env.process(caller(i))

    env.process(source())
    t0, c0 = time.perf_counter(), time.process_time()
    env.run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert len(waits) + abandoned[0] == n_arrivals
    return _rates(n_arrivals, wall, cpu, both)


def callback(n_arrivals: int, seed: int = 1, both: bool = False) -> float | tuple[float, float]:
    """Arrivals/s of a callback-driven M/M/50+M: ``Timeout`` + callbacks, deque queue, lazy reneging."""
    gaps, handle, patience = _draws(n_arrivals, seed)
    env = simpy.Environment()
    timeout = env.timeout
    queue: deque[int] = deque()
    state = bytearray(n_arrivals)  # 0 waiting, 1 answered, 2 abandoned
    arrival_s = [0.0] * n_arrivals
    wait_s = [0.0] * n_arrivals
    free = [AGENTS]
    k = [0]

    def serve(i: int, now: float) -> None:
        state[i] = 1
        wait_s[i] = now - arrival_s[i]
        timeout(handle[i]).callbacks.append(on_end)

    def on_arrival(_ev) -> None:
        i = k[0]
        k[0] = i + 1
        now = env._now
        arrival_s[i] = now
        if free[0]:
            free[0] -= 1
            serve(i, now)
        else:
            queue.append(i)
            timeout(patience[i], i).callbacks.append(on_patience)
        if i + 1 < n_arrivals:
            timeout(gaps[i + 1]).callbacks.append(on_arrival)

    def on_patience(ev) -> None:
        i = ev._value
        if state[i] == 0:
            state[i] = 2
            wait_s[i] = env._now - arrival_s[i]

    def on_end(_ev) -> None:
        while queue:
            i = queue.popleft()
            if state[i] == 0:
                serve(i, env._now)
                return
        free[0] += 1

    timeout(gaps[0]).callbacks.append(on_arrival)
    t0, c0 = time.perf_counter(), time.process_time()
    env.run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert k[0] == n_arrivals and 0 not in state
    return _rates(n_arrivals, wall, cpu, both)


if __name__ == "__main__":
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    print(f"tutorial {tutorial(n):,.0f} arrivals/s; callback {callback(n):,.0f} arrivals/s ({n:,} arrivals)")
