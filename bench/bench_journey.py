"""Throughput and memory of journey mode.

Runs ``scenarios/journey_baseline.yaml`` (one replication) with the population
scaled by ``--scale`` (initial customers, acquisition and agents alike), each
size in a fresh process so the peak resident memory belongs to that run alone.
Prints, per size:

* customers      — customers who lived in the run (initial + acquired + referred);
* stage visits   — stage entries (the journey's main event);
* contact legs   — rows of contacts.parquet;
* sim s          — the event loop (journey and contact centre together);
* visits/s       — stage visits per second of event loop;
* loop CPU s     — the event loop's CPU time, and visits per CPU second (on a shared, busy
                   machine the CPU figures compare code; the wall-clock ones also measure the load);
* total s        — simulation plus tables, summary and customers table;
* CPU s          — the process's CPU time over that total;
* peak RSS MB    — maximum resident memory of the process.

``--tree PATH`` runs the same sizes with simsvc from another checkout as well (e.g. the code
before a change, ``git worktree add /tmp/before <commit>``), side by side, size by size.

The child imports ``scipy.special`` before the clock starts: journey mode needs it (lognormal
and gamma quantiles), older code imported it with the package, and newer code on first use,
inside the loop's time; importing it first makes both measure the simulation, not the import.

``--profile N`` runs this tree's largest size once under cProfile instead and prints the top
``N`` entries (by own time) of the loop (``ContactCentre.run``) and of the after-run (tables,
customers table, summary), separately.

Usage: ``python bench/bench_journey.py [--scales 0.25 0.5 1] [--tree /tmp/before] [--rounds 3] [--profile 25]``
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
import scipy.special  # imported before the clock (see the module's docstring)
from simsvc.config.load import load_scenario
from simsvc.experiment.runner import run_replication
from simsvc.model import centre as _centre

_run, _loop = _centre.ContactCentre.run, {}


def _timed_run(self):  # the event loop's CPU time (robust to a busy machine, unlike its wall time)
    c0 = time.process_time()
    out = _run(self)
    _loop["cpu_s"] = time.process_time() - c0
    return out


_centre.ContactCentre.run = _timed_run
profile = int(sys.argv[3]) if len(sys.argv) > 3 else 0
if profile:
    import cProfile, pstats
    _loop_prof, _after_prof = cProfile.Profile(), cProfile.Profile()

    def _profiled_run(self):  # the loop under one profiler; what follows it (tables) under the other
        _loop_prof.enable()
        try:
            return _timed_run(self)
        finally:
            _loop_prof.disable()
            _after_prof.enable()

    _centre.ContactCentre.run = _profiled_run

scale = float(sys.argv[1])
s = load_scenario(sys.argv[2])
cust = s.customers
agents = {}
for name, pool in s.agents.items():
    st = pool.staffing
    if isinstance(st, int):
        agents[name] = pool.model_copy(update={"staffing": max(1, round(st * scale))})
    else:
        shifts = [sh.model_copy(update={"agents": max(1, round(sh.agents * scale))}) for sh in st.shifts]
        agents[name] = pool.model_copy(update={"staffing": st.model_copy(update={"shifts": shifts})})
s = s.model_copy(update={
    "customers": cust.model_copy(update={"initial": round(cust.initial * scale),
                                         "acquisition": cust.acquisition * scale}),
    "agents": agents})
t0, c0 = time.perf_counter(), time.process_time()
tables = run_replication(s, 1, 0)
total, cpu = time.perf_counter() - t0, time.process_time() - c0
if profile:
    _after_prof.disable()
    for title, prof in (("loop: ContactCentre.run", _loop_prof), ("after the run: tables", _after_prof)):
        print(f"=== {title}", file=sys.stderr)
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(profile)
ev = tables.journey_events
print(json.dumps({
    "scale": scale,
    "customers": int(len(tables.customers)),
    "stage_visits": int((ev.event == "stage").sum()),
    "legs": int(len(tables.contacts)),
    "sim_s": tables.sim_wall_s,
    "total_s": total,
    "cpu_s": cpu,
    "loop_cpu_s": _loop["cpu_s"],
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "journey_baseline.yaml"))
    parser.add_argument("--tree", type=Path, action="append", default=[],
                        help="another checkout to measure side by side (repeatable)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat the whole table, interleaving the trees (the machine's load drifts)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile this tree's largest size once and print the top N entries")
    args = parser.parse_args()
    if args.profile:
        subprocess.run([sys.executable, "-c", CHILD, str(max(args.scales)), args.scenario, str(args.profile)],
                       check=True, cwd=ROOT)
        return
    trees = [("this tree", None)] + [(str(t), t.resolve()) for t in args.tree]
    print(f"{'code':<22}{'scale':>5} {'customers':>10} {'stage visits':>12} {'contact legs':>12} {'sim s':>7} "
          f"{'visits/s':>9} {'loop CPU s':>10} {'visits/CPU s':>12} {'total s':>8} {'CPU s':>6} "
          f"{'peak RSS MB':>11}")
    runs = [(scale, label, tree) for _ in range(args.rounds) for scale in args.scales for label, tree in trees]
    for scale, label, tree in runs:
        env = dict(os.environ)
        if tree is not None:
            env["PYTHONPATH"] = str(tree) + os.pathsep + env.get("PYTHONPATH", "")
        out = subprocess.run([sys.executable, "-c", CHILD, str(scale), args.scenario], env=env,
                             check=True, capture_output=True, text=True, cwd=tree or ROOT).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{label[-21:]:<22}{r['scale']:>5g} {r['customers']:>10,} {r['stage_visits']:>12,} "
              f"{r['legs']:>12,} {r['sim_s']:>7.1f} {r['stage_visits'] / r['sim_s']:>9,.0f} "
              f"{r['loop_cpu_s']:>10.1f} {r['stage_visits'] / r['loop_cpu_s']:>12,.0f} "
              f"{r['total_s']:>8.1f} {r['cpu_s']:>6.1f} {r['peak_mb']:>11.0f}", flush=True)


if __name__ == "__main__":
    main()
