"""Throughput and memory of the simulator on Erlang-A workloads.

Runs the issue's ``erlang-a-check`` queue (9 agents, 150 calls/h, 4 min,
90 s patience) and an M/M/50+M queue at the same load per agent, scaled by the
horizon to a target number of arrivals, each size in a fresh process so that the
peak resident memory belongs to that run alone. Prints, per run:

* sim arrivals/s  — the event loop alone (what the speed target is about);
* run arrivals/s  — simulation plus reduction to tables and summary;
* peak RSS MB     — maximum resident memory of the process;
* write s         — writing the results folder (Parquet + CSV).

Usage: ``python bench/bench_arrivals.py [--sizes 100000 300000 1000000] [--no-write]``
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time, tempfile
import simsvc
from simsvc.config.load import validate
from simsvc.experiment.runner import run

agents, rate_per_h, n, write = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"
hours = n / rate_per_h
scenario = validate({
    "name": f"bench-mmc{agents}m", "seed": 11, "replications": 1,
    "horizon": f"{hours + 24:.6f}h", "warmup": "1d",
    "channels": {"phone": {"kind": "voice", "patience": {"dist": "exponential", "mean": "90s"},
                           "service_level_threshold": "20s"}},
    "demand": {"phone": {"rate": f"{rate_per_h}/h"}},
    "handling": {"phone": {"dist": "exponential", "mean": "4min"}},
    "resolution": {"phone": 1.0},
    "agents": {"team": {"skills": ["phone"], "staffing": agents}},
})
t0 = time.perf_counter()
result = run(scenario, workers=1)
run_s = time.perf_counter() - t0
write_s = float("nan")
if write:
    with tempfile.TemporaryDirectory() as d:
        t1 = time.perf_counter()
        simsvc.write_results(result, d + "/out")
        write_s = time.perf_counter() - t1
sim_s = result.manifest["replication_wall_s"][0]
print(json.dumps({
    "agents": agents, "arrivals": result.manifest["arrivals"], "sim_s": sim_s, "run_s": run_s,
    "write_s": write_s, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "p_abandon": result.metric("abandon_rate", "phone"),
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--no-write", action="store_true", help="skip timing the results folder")
    args = parser.parse_args()
    workloads = [(9, 150.0), (50, 150.0 * 50 / 9)]  # same offered load per agent (10/9 Erlang)
    print(f"{'queue':<10}{'arrivals':>10}{'sim s':>8}{'sim arr/s':>11}{'run s':>8}{'run arr/s':>11}"
          f"{'write s':>9}{'peak MB':>9}")
    for agents, rate in workloads:
        for n in args.sizes:
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(agents), str(rate), str(n), "0" if args.no_write else "1"],
                capture_output=True, text=True, cwd=ROOT, check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{'M/M/' + str(agents) + '+M':<10}{r['arrivals']:>10,}{r['sim_s']:>8.2f}"
                  f"{r['arrivals'] / r['sim_s']:>11,.0f}{r['run_s']:>8.2f}{r['arrivals'] / r['run_s']:>11,.0f}"
                  f"{r['write_s']:>9.2f}{r['peak_rss_mb']:>9.0f}", flush=True)


if __name__ == "__main__":
    main()
