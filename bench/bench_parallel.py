"""Speed-up of an experiment with local worker processes, and that it changes nothing.

Runs the same 40-replication experiment twice, into two fresh folders: serially
(``workers=1``) and with ``--workers`` local processes (default 2). The design is
the issue's erlang-a-check queue at 9, 10, 11 and 12 agents (4 variants x 10
replications, common random numbers), at a horizon that makes one replication
take about 1-2 s. Prints both wall times, the speed-up and the efficiency
(speed-up / workers), then checks that summary.csv, points.csv and
comparison.csv are byte-identical; exits 1 if they are not.

With ``--run``, measures ``simsvc.run`` instead (what ``simsvc run --workers W``
does): one scenario, ``--reps`` replications with every table streamed to a
results folder, serially and with ``--workers`` processes; then checks that the
two folders' summary.csv and replications.csv are byte-identical and their
Parquet tables equal.

Usage: ``python bench/bench_parallel.py [--horizon 35d] [--variants 4] [--reps 10] [--workers 2] [--run]``
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = ("summary.csv", "points.csv", "comparison.csv")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "erlang_a_check.yaml"))
    parser.add_argument("--horizon", default="35d", help="simulated horizon (warm-up 1d)")
    parser.add_argument("--variants", type=int, default=4, help="staffing levels 9, 10, ...")
    parser.add_argument("--reps", type=int, default=10, help="replications per variant")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--run", action="store_true", help="time simsvc.run (tables streamed) instead")
    args = parser.parse_args()
    if args.run:
        return bench_run(args)

    from simsvc.config.load import load_scenario
    from simsvc.experiment.design import Design, Variant, grid_variants
    from simsvc.experiment.executors import make_executor
    from simsvc.experiment.experiment import run_experiment

    overrides = (f"horizon={args.horizon}", "warmup=1d")
    base = Variant("", load_scenario(args.scenario, overrides), {}, args.scenario, overrides)
    variants = grid_variants(base, {"agents.team.staffing": list(range(9, 9 + args.variants))}, args.scenario)
    design = Design("bench-parallel", "sweep", variants, args.reps, 1)
    total = len(variants) * args.reps
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{args.scenario}: horizon {args.horizon}, {len(variants)} variants x {args.reps} replications "
          f"= {total}; {cores} cores available")
    print(f"load average before: {os.getloadavg()[0]:.2f} (other work on the machine distorts the figures)")

    with tempfile.TemporaryDirectory(prefix="bench-parallel-") as tmp:
        walls = {}
        for workers in (1, args.workers):
            folder = Path(tmp) / f"w{workers}"
            executor = make_executor(workers)
            t0 = time.perf_counter()
            try:
                result = run_experiment(design, folder, executor)
            finally:
                executor.close()
            walls[workers] = time.perf_counter() - t0
            assert result.ran == total and result.reused == 0, (result.ran, result.reused)
            print(f"workers={workers}: {walls[workers]:7.2f} s wall, "
                  f"{walls[workers] / total:.3f} s per replication")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        speedup = walls[1] / walls[args.workers]
        print(f"speed-up x{speedup:.2f} with {args.workers} workers "
              f"(efficiency {speedup / args.workers:.0%})")
        same = {name: (Path(tmp) / "w1" / name).read_bytes() == (Path(tmp) / f"w{args.workers}" / name).read_bytes()
                for name in OUTPUTS}
        print("identical outputs: " + ", ".join(f"{n} {'yes' if ok else 'NO'}" for n, ok in same.items()))
    return 0 if all(same.values()) else 1


def bench_run(args: argparse.Namespace) -> int:
    """Serial vs parallel ``simsvc.run`` with every table written, and identical outputs."""
    import pandas as pd

    from simsvc.config.load import load_scenario
    from simsvc.experiment.runner import run

    scenario = load_scenario(args.scenario, (f"horizon={args.horizon}", "warmup=1d"))
    print(f"{args.scenario}: horizon {args.horizon}, {args.reps} replications, tables streamed to a folder; "
          f"load average before: {os.getloadavg()[0]:.2f} (other work on the machine distorts the figures)")
    with tempfile.TemporaryDirectory(prefix="bench-parallel-run-") as tmp:
        walls = {}
        for workers in (1, args.workers):
            t0 = time.perf_counter()
            run(scenario, replications=args.reps, seed=1, workers=workers, out=Path(tmp) / f"w{workers}")
            walls[workers] = time.perf_counter() - t0
            print(f"workers={workers}: {walls[workers]:7.2f} s wall, {walls[workers] / args.reps:.3f} s per replication")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        speedup = walls[1] / walls[args.workers]
        print(f"speed-up x{speedup:.2f} with {args.workers} workers (efficiency {speedup / args.workers:.0%})")
        a, b = Path(tmp) / "w1", Path(tmp) / f"w{args.workers}"
        same = {name: (a / name).read_bytes() == (b / name).read_bytes()
                for name in ("summary.csv", "replications.csv")}
        for file in sorted(a.glob("*.parquet")):
            same[file.name] = pd.read_parquet(file).equals(pd.read_parquet(b / file.name))
        print("identical outputs: " + ", ".join(f"{n} {'yes' if ok else 'NO'}" for n, ok in same.items()))
    return 0 if all(same.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
