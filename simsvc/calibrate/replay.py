"""Replay scenarios: given log days simulated with their own arrival volumes and staffing.

A replay scenario numbers the chosen days 0, 1, 2… (absolute days, so weekdays do
not matter), takes each day's observed contacts per interval as its demand
(Poisson around them, reason mix of those days; with ``replay_arrivals: trace`` the
logged contacts themselves, config/trace.py), and the given staffing per pool ×
day × interval, and the fitted wrap-up (``behaviour["wrap_up_s"]``, if any) on
every pool. Redials and repeats are not modelled: the observed arrivals already
contain them. Fractional staffing is carried as whole scheduled agents (agents
seen in the interval) and an ``availability`` per interval (see
:func:`~simsvc.calibrate.tables.scheduled_and_availability`). It is built in
memory (inline ``volumes`` and ``steps``) and validated like any scenario.
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import partial
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from simsvc.calibrate.estimate import DAY_S, shares
from simsvc.calibrate.tables import demand_rows, scheduled_and_availability
from simsvc.config.identity_cache import IdentityCache

HOUR_S = 3600.0


def replay_dict(behaviour: dict, contacts: pd.DataFrame, staffing: pd.DataFrame, days: list,
                interval_s: float, name: str, seed: int = 1) -> dict:
    """Scenario data for ``days`` of ``contacts`` with ``staffing`` (pool, day, start_s, agents and,
    where known, distinct_agents: the agents seen, scheduled in the replay)."""
    index = {d: i for i, d in enumerate(days)}
    c = contacts[contacts["day"].isin(days)]
    demand = {}
    for ch, g in c.groupby("channel", observed=True):
        if behaviour.get("replay_arrivals") == "trace":
            demand[str(ch)] = _validated_trace(contacts, days, str(ch), g, index, behaviour["reasons"],
                                               bool(behaviour.get("own_handles")))
            continue
        vol = (pd.DataFrame({"day": g["day"].map(index), "start_s": (g["clock_s"] // interval_s) * interval_s})
               .groupby(["day", "start_s"]).size().rename("volume").reset_index())
        rows = demand_rows(vol, interval_s, list(range(len(days))))
        spec: dict = {"volumes": [{"day": int(r.day), "start": r.start, "volume": float(r.volume)}
                                  for r in rows.itertuples()]}
        if behaviour.get("mix_by_interval") and len(behaviour["reasons"]) > 1:
            _interval_mixes(spec["volumes"], g, index, interval_s, behaviour["reasons"])
        if len(behaviour["reasons"]) > 1:
            spec["mix"] = shares(g["reason"].astype(str).value_counts(), behaviour["reasons"], 6)
        demand[str(ch)] = spec
    agents = {}
    for pool, skills in behaviour["pools"].items():
        s = staffing[(staffing["pool"] == pool) & staffing["day"].isin(days)]
        s = s.assign(day=s["day"].map(index))
        if "distinct_agents" in s:
            s = s.assign(heads=s["distinct_agents"])
        rows, avail = scheduled_and_availability(s, interval_s, list(range(len(days))))
        agents[pool] = {"skills": skills,
                        "staffing": {"steps": [{"day": int(r.day), "start": r.start, "agents": int(r.agents)}
                                               for r in rows.itertuples()]},
                        "availability": {"steps": [{"day": int(r.day), "start": r.start,
                                                    "availability": float(r.availability)}
                                                   for r in avail.itertuples()]}}
        if behaviour.get("wrap_up_s"):  # after-call work the log does not show (calibrate/wrap.py)
            agents[pool]["wrap_up"] = f"{float(behaviour['wrap_up_s']):g}s"
    channels = {ch: {k: v for k, v in spec.items() if k not in ("redial", "hours")}
                for ch, spec in behaviour["channels"].items()}
    return {
        "name": name, "seed": seed, "horizon": f"{len(days)}d", "interval": f"{int(interval_s)}s",
        "channels": channels, "demand": demand,
        # Hook for routing classes (calibrate/classes.py): each reason's queue credit and patience, if any.
        "reasons": reason_data(behaviour),
        "handling": behaviour["handling"], "agents": agents,
    }


# The fit's searches replay the same days again and again: each channel's trace is validated
# once (``DemandSpec``, frozen) and handed to every replay as it is (validation keeps a model
# instance as given; references are still checked against each scenario).
_TRACES: IdentityCache = IdentityCache(8)


def _validated_trace(contacts: pd.DataFrame, days: list, channel: str, g: pd.DataFrame, index: dict,
                     reasons: list, own_handles: bool):
    from simsvc.config.schema import DemandSpec

    def validated() -> DemandSpec:
        return DemandSpec.model_validate(trace_spec(g, index, reasons, own_handles))

    try:
        return _TRACES.get(contacts, (tuple(days), channel, tuple(map(str, reasons)), own_handles), validated)
    except ValueError:  # not expected: the spec as it is, whose scenario's validation says what is wrong
        return trace_spec(g, index, reasons, own_handles)


def trace_spec(g: pd.DataFrame, index: dict, reasons: list, own_handles: bool) -> dict:
    """A channel's demand as a trace (``--replay-arrivals trace``): each logged contact at its
    logged day (numbered by ``index``) and clock time with its reason and, with ``own_handles``,
    an answered contact's own handle time (the others draw theirs)."""
    names = set(map(str, reasons))
    day = g["day"].map(index).to_numpy()
    clock = g["clock_s"].to_numpy(dtype=float)
    reason = g["reason"].astype(str).to_numpy()
    handle = np.full(len(g), np.nan)
    if own_handles:
        answered = (g["outcome"] == "answered").to_numpy()
        handle = np.where(answered, g["handle_s"].to_numpy(dtype=float), np.nan)
        handle = np.where(handle < 1e-3, 0.0, handle)  # a duration is 0 or at least 1ms
    rows = []
    for d, t, r, h in zip(day.tolist(), clock.tolist(), reason.tolist(), handle.tolist()):
        row = {"day": int(d), "start": t}
        if r in names:
            row["reason"] = r
        if h == h:  # not NaN
            row["handle"] = h
        rows.append(row)
    spec: dict = {"arrivals": rows}
    if len(reasons) > 1:
        spec["mix"] = shares(g["reason"].astype(str).value_counts(), reasons, 6)
    return spec


def _interval_mixes(rows: list[dict], g: pd.DataFrame, index: dict, interval_s: float, reasons: list) -> None:
    """Give each volume row with contacts the reason shares of that day × interval's own contacts
    (``--replay-mix interval``: the test days' class and reason mix as it moved through the day)."""
    per_day = int(DAY_S // interval_s)
    row = (g["day"].map(index).to_numpy() * per_day + (g["clock_s"].to_numpy() // interval_s)).astype(int)
    names = list(reasons)
    # reasons the scenario does not name (none in a fitted behaviour; -1 all the same) are left out
    code = g["reason"].astype(str).map({n: j for j, n in enumerate(names)}).fillna(-1).to_numpy(dtype=np.int64)
    ok = code >= 0
    counts = np.zeros((len(rows), len(names)))
    np.add.at(counts, (row[ok], code[ok]), 1.0)
    totals = counts.sum(axis=1)
    for k in np.flatnonzero(totals).tolist():
        nz = np.flatnonzero(counts[k])
        rows[k]["mix"] = {names[j]: float(counts[k, j] / totals[k]) for j in nz.tolist()}


def reason_data(behaviour: dict) -> dict:
    """``reasons``: each reason's queue credit (routing classes), its class's patience and routing
    delay, if any."""
    patience = behaviour.get("reason_patience", {})
    delay = behaviour.get("reason_delay", {})
    return {r: {**behaviour.get("reason_specs", {}).get(r, {}), **({"patience": patience[r]} if r in patience else {}),
                **({"routing_delay": delay[r]} if r in delay else {})}
            for r in behaviour["reasons"]}


def simulate_hours(data, reps: int, seed: int, keep_days: set[int] | None = None) -> pd.DataFrame:
    """Run a scenario (data or a validated ``Scenario``); per replication × channel × hour of
    day: offered, abandoned, waited, wait_sum_s, answered within threshold (only
    simulation days in ``keep_days`` when given)."""
    from simsvc.config.load import validate

    scenario = validate(data, file=f"<replay {data['name']}>") if isinstance(data, dict) else data
    return pd.concat(each_replication(partial(_hour_counts_of, keep_days), scenario, reps, seed), ignore_index=True)


def _hour_counts_of(keep_days: set[int] | None, scenario, seed: int, replication: int) -> pd.DataFrame:
    return hour_counts(simulate_contacts_on(keep_days, scenario, seed, replication), scenario)


def simulate_contacts_on(keep_days: set[int] | None, scenario, seed: int, replication: int) -> pd.DataFrame:
    """One replication's contacts, only those arriving on the simulation days ``keep_days``
    (all when None)."""
    contacts = simulate_contacts(scenario, seed, replication)
    if keep_days is None:
        return contacts
    return contacts[np.isin((contacts["arrival_s"].to_numpy() // DAY_S).astype(int), list(keep_days))]


# Processes the replays' replications run in (fit's searches, the back-test): see `workers`.
_WORKERS = 1


@contextmanager
def workers(n: int) -> Iterator[None]:
    """Within this block, the replications of every replay run in ``n`` local processes.

    The numbers are the same as in one process: a replication is a function of (scenario,
    root seed, replication), and :func:`each_replication` returns the results in replication
    order, so every sum over them is taken in the same order.
    """
    global _WORKERS
    before, _WORKERS = _WORKERS, max(1, int(n))
    try:
        yield
    finally:
        _WORKERS = before


def each_replication(fn: Callable, scenario, reps: int, seed: int) -> list:
    """``fn(scenario, seed, r)`` for r = 0 … reps − 1, in that order; in processes where
    :func:`workers` allows more than one (``fn`` then must pickle: a module-level function or
    a ``partial`` of one)."""
    n = min(_WORKERS, reps)
    if n <= 1:
        return [fn(scenario, seed, r) for r in range(reps)]
    import signal
    import threading

    from simsvc.experiment.executors import LocalExecutor, stop_pool

    # Ctrl-C reaches the whole process group: the workers end at once (executors.watch_parent)
    # and the pool breaks. Here it is only noted, so that it cannot land half-way through
    # stopping the pool (which would leave the pool's thread waiting and the process hanging
    # at exit); once the pool is stopped it is raised as KeyboardInterrupt.
    interrupted: list[int] = []
    main = threading.current_thread() is threading.main_thread()
    before = signal.signal(signal.SIGINT, lambda *_: interrupted.append(1)) if main else None
    try:
        # The workers fork at the first task (fork start method) and inherit the scenario, so it
        # is not pickled into every task: a replay of a month's trace is 1.6 MB, 0.2 s a task.
        shared = _share(scenario)
        executor = LocalExecutor(n)
        try:
            done = dict(executor.run(_numbered, [(fn, shared, seed, r) for r in range(reps)]))
        except BaseException:
            stop_pool(executor._pool)
            if interrupted:
                raise KeyboardInterrupt from None
            raise
        executor.close()
    finally:
        _SHARED.clear()
        if main:
            signal.signal(signal.SIGINT, before)
    if interrupted:
        raise KeyboardInterrupt
    return [done[r] for r in range(reps)]


# The scenario of the replay whose workers are being forked (see each_replication).
_SHARED: dict[int, object] = {}


class _Inherited:
    """Stands for the scenario in a task: the forked worker has it in ``_SHARED``."""

    def __init__(self, key: int) -> None:
        self.key = key


def _share(scenario):
    """What a task carries for ``scenario``: a key where the pool's workers fork (they inherit
    ``_SHARED``), else the scenario itself (pickled into each task)."""
    import multiprocessing

    if multiprocessing.get_start_method(allow_none=False) != "fork":
        return scenario
    _SHARED.clear()
    _SHARED[id(scenario)] = scenario
    return _Inherited(id(scenario))


def _numbered(fn: Callable, scenario, seed: int, replication: int):
    if isinstance(scenario, _Inherited):
        scenario = _SHARED[scenario.key]
    return replication, fn(scenario, seed, replication)


def simulate_contacts(scenario, seed: int, replication: int) -> pd.DataFrame:
    """One replication's contact table only.

    ``run_replication`` would also build the pools table, whose cost grows with
    intervals × staffing steps (seconds per replication for a month of 15-minute
    steps); a replay needs only the contacts.
    """
    from simsvc.model.centre import simulate
    from simsvc.observe.tables import contacts_frame

    return contacts_frame(scenario, simulate(scenario, seed, replication))


def hour_counts(contacts: pd.DataFrame, scenario) -> pd.DataFrame:
    """Simulated contacts (first legs of real-time channels) counted per replication × channel × hour."""
    c = contacts[contacts["outcome"].isin(["answered", "abandoned"])]
    thr = {ch: float(scenario.channels[ch].service_level_threshold) for ch in scenario.channels}
    hour = (c["arrival_s"].to_numpy() % DAY_S) // HOUR_S
    return count_hours(c, c["channel"].astype(str).to_numpy(), hour, thr, replication=True)


def observed_hours(contacts: pd.DataFrame, days: list, thresholds: dict[str, float]) -> pd.DataFrame:
    """The same counts from the log for ``days``, per channel × hour of day."""
    c = contacts[contacts["day"].isin(days)]
    return count_hours(c, c["channel"].astype(str).to_numpy(), c["clock_s"].to_numpy() // HOUR_S, thresholds)


def count_hours(c: pd.DataFrame, label: np.ndarray, hour: np.ndarray, thresholds: dict[str, float],
                replication: bool = False) -> pd.DataFrame:
    """Offered, abandoned, waited, wait sum and answered within the channel's threshold, summed
    per (replication ×) ``label`` (written as ``channel``) × ``hour`` for the contacts ``c``."""
    wait = c["wait_s"].fillna(0).to_numpy(float)
    frame = pd.DataFrame({
        "channel": label, "hour": hour.astype(int), "offered": 1,
        "abandoned": (c["outcome"] == "abandoned").to_numpy().astype(int), "waited": (wait > 0).astype(int),
        "wait_sum_s": wait,
        "within": ((c["outcome"] == "answered").to_numpy()
                   & (wait <= c["channel"].astype(str).map(thresholds).to_numpy())).astype(int)})
    keys = ["channel", "hour"]
    if replication:
        frame.insert(0, "replication", c["replication"].to_numpy())
        keys = ["replication", *keys]
    return frame.groupby(keys, as_index=False).sum()


def rates(counts: pd.DataFrame) -> pd.DataFrame:
    """Abandonment, mean wait (all offered), P(wait > 0) and service level from counts."""
    out = counts.copy()
    n = out["offered"].where(out["offered"] > 0, np.nan)
    out["abandon_rate"] = out["abandoned"] / n
    out["wait_mean_s"] = out["wait_sum_s"] / n
    out["p_wait"] = out["waited"] / n
    out["service_level"] = out["within"] / n
    return out


METRICS = ("abandon_rate", "wait_mean_s", "p_wait", "service_level")

