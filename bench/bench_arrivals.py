"""Speed and memory of simsvc's event loop, as ratios against SimPy anchors run side by side.

The workload is the reference M/M/50+M queue (λ = 100/min, exponential handling
with mean 27 s, exponential patience with mean 2 min, 50 agents), the same as the
anchors in ``bench/anchors.py``. Each measurement runs in a fresh process (so its
peak resident memory is its own), and the rounds interleave simsvc and the anchors
so that both see the same machine load: in each round the callback anchor runs just
before and just after simsvc's runs, and simsvc is compared with the mean of the two
(a load that changes during the round moves both sides alike). Prints, per round:

* tutorial /s  — tutorial-style SimPy (process per caller, ``Resource``, ``req | timeout``);
* callback /s  — minimal callback-driven SimPy (``Timeout`` + callbacks, deque, lazy reneging),
  the mean of its runs before and after simsvc's;
* simsvc loop /s — simsvc's event loop with full records (``sim_wall_s`` of one replication);
* × tutorial, × callback — simsvc loop speed over each anchor (the figures that count);
* × cb CPU    — the same over the callback anchor per CPU second (``process_time``), which
  moves less with a shared machine's load (time spent waiting for a core is not counted);
* run /s       — the whole replication: loop, tables and summary (no writing);
* peak MB, MB per 1M — simsvc process's peak RSS, and scaled to 1M contact legs.

``--tree PATH`` runs simsvc from another checkout as well (e.g. the code before a
change, ``git worktree add /tmp/before <commit>``), side by side in the same rounds.

Usage: ``python bench/bench_arrivals.py [--arrivals 1000000] [--tutorial-arrivals 200000]
[--rounds 2] [--tree /tmp/before]``
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SIMSVC = r"""
import json, resource, sys, time
from simsvc.config.load import validate
from simsvc.experiment.runner import run_replication
from simsvc.model import centre

# The loop's CPU time: ContactCentre.run timed by process_time (the window of its wall_s).
_run, cpu = centre.ContactCentre.run, {}
def _timed_run(self):
    c0 = time.process_time()
    raw = _run(self)
    cpu["s"] = time.process_time() - c0
    return raw
centre.ContactCentre.run = _timed_run

n = int(sys.argv[1])
scenario = validate({
    "name": "bench-ref", "seed": 1, "replications": 1, "horizon": f"{n / 6000:.6f}h",
    "channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "2min"},
                           "service_level_threshold": "20s"}},
    "demand": {"phone": {"rate": "100/min"}},
    "handling": {"phone": {"dist": "exponential", "mean": "27s"}},
    "resolution": {"phone": 1.0},
    "agents": {"team": {"skills": ["phone"], "staffing": 50}},
})
t0 = time.perf_counter()
t = run_replication(scenario, 1, 0)
print(json.dumps({"legs": t.arrivals, "sim_s": t.sim_wall_s, "cpu_s": cpu["s"], "run_s": time.perf_counter() - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

ANCHOR = r"""
import json, resource, sys
sys.path.insert(0, sys.argv[3])
import anchors
rate, cpu_rate = getattr(anchors, sys.argv[1])(int(sys.argv[2]), both=True)
print(json.dumps({"rate": rate, "cpu_rate": cpu_rate,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _child(code: str, args: list[str], tree: Path | None = None) -> dict:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         cwd=tree or ROOT, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arrivals", type=int, default=1_000_000, help="simsvc and callback anchor")
    parser.add_argument("--tutorial-arrivals", type=int, default=200_000, help="the slow anchor")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tree", type=Path, action="append", default=[],
                        help="another checkout to measure side by side (repeatable)")
    args = parser.parse_args()
    here = str(Path(__file__).resolve().parent)
    trees = [("this tree", None)] + [(str(t), t.resolve()) for t in args.tree]
    print(f"reference M/M/50+M, {args.arrivals:,} arrivals (tutorial anchor: {args.tutorial_arrivals:,})")
    print(f"{'round':<6}{'code':<22}{'tutorial /s':>12}{'callback /s':>12}{'simsvc loop /s':>15}"
          f"{'× tutorial':>11}{'× callback':>11}{'× cb CPU':>9}{'run /s':>10}{'peak MB':>9}{'MB per 1M':>10}")
    for k in range(args.rounds):
        tut = _child(ANCHOR, ["tutorial", str(args.tutorial_arrivals), here])["rate"]
        cb_before = _child(ANCHOR, ["callback", str(args.arrivals), here])
        runs = [(label, _child(SIMSVC, [str(args.arrivals)], tree)) for label, tree in trees]
        cb_after = _child(ANCHOR, ["callback", str(args.arrivals), here])
        # The callback anchor brackets simsvc's runs: the mean of the two is the load it met.
        cb = (cb_before["rate"] + cb_after["rate"]) / 2
        cb_cpu = (cb_before["cpu_rate"] + cb_after["cpu_rate"]) / 2
        for label, r in runs:
            loop = r["legs"] / r["sim_s"]
            loop_cpu = r["legs"] / r["cpu_s"]
            print(f"{k + 1:<6}{label[-21:]:<22}{tut:>12,.0f}{cb:>12,.0f}{loop:>15,.0f}{loop / tut:>11.2f}"
                  f"{loop / cb:>11.2f}{loop_cpu / cb_cpu:>9.2f}{r['legs'] / r['run_s']:>10,.0f}"
                  f"{r['peak_mb']:>9.0f}"
                  f"{r['peak_mb'] * 1e6 / r['legs']:>10.0f}", flush=True)


if __name__ == "__main__":
    main()
