"""How long `simsvc staff` takes on the baseline, against a plain run measured in the same process.

Staffs ``scenarios/baseline.yaml`` (a week after a one-day warm-up, three pools,
phone and chat with 80/20 and 80/60 targets) at 15-minute intervals by default,
with ``--reps`` replications per iteration (common random numbers) and
``--confirm-reps`` fresh replications, on ``--workers`` processes. The anchor is a
plain run of the same scenario with ``--reps`` replications (the cost of one
iteration's simulation); the ratio says how many such runs staffing costs. A second
anchor is a one-replication ``simsvc run`` (the command, start-up included, no report):
staffing's time per replication is compared with it, which stays meaningful on a
machine shared with other jobs. The Erlang requirement (the starting plan) is timed
on its own.
Prints iterations (missed intervals, levels changed, agent hours), replications,
minutes, the agent hours and cost of the Erlang plan and of the simulated plan, and
the verification in fresh replications.

Usage: ``python bench/bench_staff.py [--interval 15min] [--reps 4] [--confirm-reps 10] [--workers 2] [--overall]``
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--interval", default="15min")
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--confirm-reps", type=int, default=10)
    parser.add_argument("--max-iterations", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--overall", action="store_true", help="targets over the whole horizon (staff --overall)")
    args = parser.parse_args()

    from simsvc.config.load import load_scenario
    from simsvc.experiment.runner import run
    from simsvc.plan.staff import StaffOptions, staff
    from simsvc.plan.staff_overall import staff_overall
    from simsvc.plan.targets import with_scenario_targets

    import subprocess
    import sys
    import tempfile

    from simsvc.plan.requirements import requirements

    scenario = load_scenario(args.scenario, [f"interval={args.interval}"])
    targets = with_scenario_targets([], scenario)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([str(Path(sys.executable).with_name("simsvc")), "run", args.scenario, "--set", f"interval={args.interval}",
                        "-n", "1", "-w", "1", "--no-report", "-o", str(Path(tmp) / "one")], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        one_rep = time.perf_counter() - t0
    t0 = time.perf_counter()
    requirements(scenario, targets, None)
    analytic = time.perf_counter() - t0
    t0 = time.perf_counter()
    run(scenario, replications=args.reps, workers=args.workers, keep_contacts=False)
    anchor = time.perf_counter() - t0

    done = {"reps": 0}

    def progress(stage: str, d: int, total: int) -> None:
        if d == total:
            done["reps"] += total
            print(f"  {stage}: {total} replications, {time.perf_counter() - t1:6.1f} s", flush=True)

    t1 = time.perf_counter()
    search = staff_overall if args.overall else staff
    result = search(scenario, targets, StaffOptions(replications=args.reps, confirm_replications=args.confirm_reps,
                                                   max_iterations=args.max_iterations, workers=args.workers),
                   progress)
    wall = time.perf_counter() - t1
    print(f"\nscenario {Path(args.scenario).name} at {args.interval} intervals; targets: "
          + "; ".join(map(str, targets)))
    print(f"{'iteration':>9} {'missed':>14} {'changed':>8} {'agent hours':>12}")
    for it in result.iterations:
        print(f"{it.number:>9} {f'{it.missed} of {it.checked}':>14} {it.changed:>8} {it.agent_hours:>12,.0f}")
    print(f"anchor: plain run, {args.reps} replications on {args.workers} workers: {anchor:.1f} s; "
          f"one-replication `simsvc run`: {one_rep:.1f} s; Erlang requirement: {analytic:.2f} s")
    print(f"staff: {len(result.iterations)} iterations x {args.reps} replications + {args.confirm_reps} "
          f"confirming = {done['reps']} replications, {wall:.1f} s = {wall / 60:.2f} min "
          f"= {wall / anchor:.1f} x the anchor; {wall / done['reps']:.1f} s per replication "
          f"= {wall / done['reps'] / one_rep:.2f} x a one-replication simsvc run")
    print(result.totals(scenario).to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
    if args.overall:
        print(result.verification[["target", "pool", "factor", "value", "ci_low", "ci_high", "status"]]
              .to_string(index=False))
    counts = (result.interval_verification if args.overall else result.verification)["status"].value_counts()
    print("verification:", ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
