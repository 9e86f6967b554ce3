"""The whole `simsvc run` process against tutorial SimPy, measured side by side.

Runs the issue's M/M/50+M reference (λ = 100/min, AHT 27 s, exponential patience
2 min, about ``--arrivals`` arrivals, one replication, one worker) as a user does:
``simsvc run ref.yaml --reps 1 --workers 1 --out DIR`` in a fresh process, with
writing the results folder and the report (and once with ``--no-report``).
Rounds are interleaved with the tutorial-style SimPy anchor
(``anchors.tutorial``), so each ratio compares two measurements a moment apart
on the same (shared, loaded) machine. Prints, per round:

* process arrivals/s — arrivals / wall time of the whole command (start-up,
  simulation, tables, Parquet, summary, report);
* × tutorial        — that rate over the anchor's arrivals/s (target ≥ 5);
* loop s, rest s    — the event loop's own time (``replication_wall_s`` in
  manifest.json) and everything else the command spent (start-up, tables,
  writing, report): the part this bench is about, since the loop's own speed is
  measured against the anchors by ``bench_arrivals.py``;
* peak RSS MB       — maximum resident memory of the command's process,
  also per million contacts (target ≤ 200 MB);
* CPU s             — user + system seconds of the command and of every process it
  waited for (the report process, its render processes): the work, which the load
  moves less than the wall time; report CPU: those of the report process and its
  render processes alone.

``--niceness 0 19`` adds, per round, this checkout's run with the report process (and its render
processes) at that niceness (``simsvc.report.aside.NICENESS``, set through ``bench/phases.py``;
0 = the run's own priority, the default; docs/performance.md "Tenth pass").

``--svg-too`` adds, per round, this checkout's run with ``--svg`` (the report's SVGs too, as
every report wrote them before they became opt-in).

``--render-processes 1 2`` adds, per round, this checkout's run with the report rendered by
that many processes (``simsvc.report.render.RENDER_PROCESSES``, set through ``bench/phases.py``),
to weigh the forked render processes against the cores they take from the run.

Each command runs under ``bench/phases.py``, which clocks the phases of the command's own
(parent) process, and the bench prints, after the rounds, the seconds each phase held the
critical path (its own time, the phases it called subtracted): imports by library, scenario
load, model build, event loop, each table, the metrics and summary, writing, the report's
data and the wait for the report process, and whatever is left (Python's own start-up is
measured from the bench's clock). The report process and its render processes run beside
the parent: only the time the parent waits for them shows, as "report wait".

``--tree PATH`` also measures another checkout of simsvc (say, the code before a change)
in the same rounds (run with ``PYTHONPATH=PATH``). "This" code is the checkout the script
is in (``PYTHONPATH`` is set to it), not the ``simsvc`` the Python has installed; the
header says where each side's ``simsvc`` was imported from.

``--startup 7`` adds the start-up of ``simsvc --help`` and ``simsvc check ref.yaml``
(target ≤ 0.5 s each): wall and CPU (user + system) time of each command in a fresh
process, fastest and median of that many runs (the fastest is the least disturbed by
other work on the machine).

``--memory-reps 1 3`` adds a memory check on a smaller run: peak RSS of the
same command with 1 and with 3 replications (it should stay flat, since each
replication's tables are streamed to the folder and dropped).

Usage: ``python bench/bench_process.py [--arrivals 1000000] [--anchor-arrivals 200000]
[--rounds 2] [--tree PATH] [--no-report-too] [--startup 7] [--memory-reps 1 3 --memory-arrivals 300000]``
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from anchors import tutorial  # noqa: E402

SCENARIO = """name: mmc50m-reference
seed: 1
replications: 1
horizon: {minutes}min
channels:
  phone:
    kind: voice
    patience: {{dist: exponential, mean: 2min}}
demand:
  phone: {{rate: 100/min}}
handling:
  phone: {{dist: exponential, mean: 27s}}
resolution:
  phone: 1.0
agents:
  team:
    skills: [phone]
    staffing: 50
"""


PHASES = Path(__file__).resolve().parent / "phases.py"
ROOT = Path(__file__).resolve().parent.parent  # the checkout this script is in: "this" code


def imported_from(tree: str | None) -> str:
    """The checkout whose ``simsvc`` a measured command imports (``tree``, or this script's)."""
    env = dict(os.environ, PYTHONPATH=tree) if tree else None
    code = "import os, simsvc; print(os.path.dirname(os.path.dirname(os.path.abspath(simsvc.__file__))))"
    res = subprocess.run([sys.executable, "-c", code], env=env, cwd=tempfile.gettempdir(),
                         capture_output=True, text=True, check=True)
    return res.stdout.strip()


def simsvc_command() -> list[str]:
    script = Path(sys.executable).parent / "simsvc"
    return [str(script)] if script.exists() else [sys.executable, "-c", "from simsvc.cli import main; main()"]


def phased_command(times: Path) -> list[str]:
    """simsvc under bench/phases.py, which writes its phases' seconds to ``times``."""
    return [sys.executable, str(PHASES), str(times)]


def timed_run(args: list[str], env: dict | None = None) -> tuple[float, float, str, float, float]:
    """(wall s, peak RSS MB, stdout, start time on the monotonic clock, CPU s) of one command in
    a fresh process; CPU is user + system time of the command and every process it waited for
    (the report process and its render processes)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    # Called in a fresh Python (run_in_child) whose only child is this command, so the
    # largest resident size among its children is the command's own.
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = usage.ru_maxrss / 1024
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{err}")
    return wall, peak_mb, out, t0, usage.ru_utime + usage.ru_stime


def run_in_child(args: list[str], tree: str | None = None, env: dict | None = None
                 ) -> tuple[float, float, str, float, float]:
    """Run ``timed_run`` in a fresh Python so the peak RSS and the CPU time belong to that one
    command (simsvc imported from ``tree`` when given; ``env``: variables added)."""
    code = ("import json, os, sys; sys.path.insert(0, %r); from bench_process import timed_run; "
            "env = dict(os.environ, PYTHONPATH=sys.argv[2]) if sys.argv[2] else None; "
            "print(json.dumps(timed_run(json.loads(sys.argv[1]), env)))" % str(Path(__file__).resolve().parent))
    res = subprocess.run([sys.executable, "-c", code, json.dumps(args), tree or ""], capture_output=True,
                         text=True, check=True, env=dict(os.environ, **(env or {})))
    return tuple(json.loads(res.stdout.strip().splitlines()[-1]))


def phase_seconds(times: Path, started: float, wall: float) -> dict[str, float]:
    """The critical-path seconds of each phase of one phased run (see ``bench/phases.py``)."""
    data = json.loads(times.read_text())
    phases = dict(data["phases"])
    phases["python start-up"] = data["t0"] - started
    phases["exit"] = started + wall - data["end"]
    return phases


def print_phases(runs: list[tuple[str, dict[str, float]]]) -> None:
    """A table: one row per phase (by the first run's seconds), one column per run."""
    names = sorted({name for _, phases in runs for name in phases},
                   key=lambda name: (-max(phases.get(name, 0.0) for _, phases in runs)))
    print("\ncritical path of the command's own process, seconds per phase "
          "(own time; imports by library):")
    print(f"{'phase':<44}" + "".join(f"{label:>16}" for label, _ in runs))
    for name in names:
        if max(phases.get(name, 0.0) for _, phases in runs) >= 0.02:
            print(f"{name:<44}" + "".join(f"{phases.get(name, 0.0):>16.2f}" for _, phases in runs))
    print(f"{'total (critical path)':<44}" + "".join(
        f"{sum(phases.values()):>16.2f}" for _, phases in runs))


def startup(args: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``runs`` fresh runs of one command."""
    import resource

    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return walls, cpus


def report_cpu(times: Path) -> str:
    """CPU seconds of the report process and its render processes (written by bench/phases.py)."""
    path = Path(f"{times}.report")
    return f"{float(path.read_text()):.2f}" if path.is_file() else ""


def arrivals_of(stdout: str) -> int:
    """The contacts count `simsvc run` prints ("1 replications, seed 1, 1,001,106 contacts, ...")."""
    for line in stdout.splitlines():
        if " contacts, " in line:
            return int(line.split(" contacts, ")[0].rsplit(" ", 1)[-1].replace(",", ""))
    raise SystemExit("could not find the contacts count in simsvc's output:\n" + stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arrivals", type=int, default=1_000_000)
    parser.add_argument("--anchor-arrivals", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--startup", type=int, default=0, help="runs of --help and check to time")
    parser.add_argument("--memory-reps", type=int, nargs="*", default=[])
    parser.add_argument("--memory-arrivals", type=int, default=300_000)
    parser.add_argument("--tree", default=None, help="another checkout of simsvc, measured in the same rounds")
    parser.add_argument("--report-only", action="store_true", help="skip the --no-report runs")
    parser.add_argument("--render-processes", type=int, nargs="*", default=[],
                        help="also run this checkout with the report rendered by that many processes "
                             "(simsvc.report.render.RENDER_PROCESSES; 0 = none: the report process renders itself)")
    parser.add_argument("--niceness", type=int, nargs="*", default=[],
                        help="also run this checkout with the report process at that niceness "
                             "(simsvc.report.aside.NICENESS; 0 = the run's priority)")
    parser.add_argument("--svg-too", action="store_true",
                        help="also run this checkout with the report's SVGs (run --svg), in the same rounds")
    args = parser.parse_args()
    if args.tree and not (Path(args.tree) / "simsvc" / "__init__.py").is_file():
        parser.error(f"--tree {args.tree}: not a checkout of simsvc (no simsvc/__init__.py in it)")
    # "This" code is the checkout the script is in, not whatever simsvc the Python has
    # installed (an editable install points at its own checkout): every command measured
    # without --tree imports it first. Said in the header, with the other side's.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    cmd = simsvc_command()
    print(f"M/M/50+M reference, ~{args.arrivals:,} arrivals; anchor: tutorial SimPy, "
          f"{args.anchor_arrivals:,} arrivals; {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f} (other work on the machine moves absolute figures; ratios less)")
    print(f"simsvc from {imported_from(None)}" + (f"; 'before' from {imported_from(args.tree)}" if args.tree else ""))
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("PYTHONDONTWRITEBYTECODE is set: every command compiles simsvc's modules from source "
              "(about 0.3 CPU s here), which an installed simsvc, or a checkout with __pycache__, does not")
    with tempfile.TemporaryDirectory(prefix="bench-process-") as tmp:
        ref = Path(tmp) / "ref.yaml"
        ref.write_text(SCENARIO.format(minutes=args.arrivals * 0.6 / 60))
        print(f"{'round':<6}{'command':<29}{'wall s':>7}{'loop s':>7}{'rest s':>7}{'arrivals/s':>11}"
              f"{'anchor/s':>9}{'x tutorial':>11}{'peak MB':>8}{'MB per 1M':>10}{'CPU s':>7}{'report CPU':>11}")
        commands = [("run (write + report)", [], None)] + (
            [] if args.report_only else [("run --no-report", ["--no-report"], None)])
        trees = [("", None)] + ([("before ", args.tree)] if args.tree else [])
        runs = [(c, t) for c in commands for t in trees] + [
            ((f"run, {n} render proc.", [], {"BENCH_RENDER_PROCESSES": str(n)}), ("", None))
            for n in args.render_processes] + [
            ((f"run, report nice {n}", [], {"BENCH_REPORT_NICENESS": str(n)}), ("", None))
            for n in args.niceness] + (
            [(("run --svg (write + report)", ["--svg"], None), ("", None))] if args.svg_too else [])
        phased: list[tuple[str, dict[str, float]]] = []
        ratios: dict[str, list[float]] = {}   # command -> its × tutorial in each round
        for r in range(args.rounds):
            for i, ((label, extra, env), (which, tree)) in enumerate(runs):
                anchor_before = tutorial(args.anchor_arrivals, seed=r + 1)
                key = f"{r}-{i}"
                out, times = Path(tmp) / f"out-{key}", Path(tmp) / f"phases-{key}.json"
                wall, peak, stdout, started, cpu = run_in_child(
                    phased_command(times) + ["run", str(ref), "--reps", "1", "--workers", "1", "--out", str(out),
                                             *extra], tree, env)
                anchor_after = tutorial(args.anchor_arrivals, seed=r + 1)
                n = arrivals_of(stdout)
                loop = sum(json.loads((out / "manifest.json").read_text())["replication_wall_s"])
                anchor = (anchor_before + anchor_after) / 2
                print(f"{r + 1:<6}{which + label:<29}{wall:>7.1f}{loop:>7.1f}{wall - loop:>7.1f}{n / wall:>11,.0f}"
                      f"{anchor:>9,.0f}{n / wall / anchor:>11.2f}{peak:>8.0f}{peak / (n / 1e6):>10.0f}{cpu:>7.1f}{report_cpu(times):>11}", flush=True)
                ratios.setdefault(which + label, []).append(n / wall / anchor)
                short = f"{r + 1}:{which}{'no-rep' if '--no-report' in extra else 'svg' if extra else 'report'}" + "".join(
                    f",{value}{'p' if 'RENDER' in name else 'n'}" for name, value in (env or {}).items())
                phased.append((short, phase_seconds(times, started, wall)))
        if args.rounds > 1:   # each round's anchor moves with the machine: the middle round says more than one
            print("\n× tutorial over the rounds: median (lowest–highest)")
            for label, values in ratios.items():
                print(f"  {label:<29}{statistics.median(values):6.2f}  ({min(values):.2f}–{max(values):.2f})")
        print_phases(phased)
        if args.startup:
            print(f"\nstart-up, {args.startup} fresh runs each (target <= 0.5 s): fastest / median")
            for label, extra in (("simsvc --help", ["--help"]), ("simsvc check ref.yaml", ["check", str(ref)])):
                walls, cpus = startup(cmd + extra, args.startup)
                print(f"  {label:<22} wall {min(walls):5.2f} / {sorted(walls)[len(walls) // 2]:5.2f} s, "
                      f"CPU {min(cpus):5.2f} / {sorted(cpus)[len(cpus) // 2]:5.2f} s")
        if args.memory_reps:
            small = Path(tmp) / "small.yaml"
            small.write_text(SCENARIO.format(minutes=args.memory_arrivals * 0.6 / 60))
            print(f"\npeak RSS by replications (~{args.memory_arrivals:,} arrivals each, 1 worker, "
                  "--no-report): streamed to the folder, it should stay flat")
            for reps in args.memory_reps:
                out = Path(tmp) / f"mem-{reps}"
                wall, peak, *_ = run_in_child(cmd + ["run", str(small), "--reps", str(reps), "--workers", "1",
                                                    "--out", str(out), "--no-report"])
                print(f"  {reps:>3} replications: peak {peak:6.0f} MB, {wall:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
