"""The whole ``simsvc run`` against tutorial SimPy by machine instructions (callgrind), which a
shared machine's load does not move.

``bench_process.py`` times the run and the anchor a moment apart; on these shared two-core
machines the anchor alone moved by 30 % within four rounds (docs/performance.md, "Thirteenth
pass"), more than most changes save. This script counts instructions instead, with
``valgrind --tool=callgrind``, for the same M/M/50+M reference:

* ``simsvc run ref.yaml --reps 1 --workers 1 --no-report`` as a whole process at two sizes,
  which gives its fixed cost (start-up, imports, scenario) and its cost per arrival (loop,
  tables, writing): the run of ``--arrivals`` (1M by default) is projected from the two;
* :func:`anchors.tutorial` at two sizes, whose difference is its cost per arrival (the anchor
  ``bench_process.py`` times is that function's run, without the interpreter's start-up).

It prints both, and "× tutorial by instructions": the tutorial's instructions for the
projected run's arrivals over the projected run's. Instructions are not seconds (the
interpreter's loop and numpy's or Parquet's streaming work do not retire instructions at the
same rate), so this is the steady companion of ``bench_process.py``'s ratio, not a substitute.
``--tree PATH`` counts another checkout (say, the code before a change) the same way.
Needs valgrind; the report (a process of its own) is left out.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_process import ROOT, SCENARIO, imported_from  # noqa: E402


def instructions(args: list[str], pythonpath: str | None) -> int:
    """Instructions callgrind counted for the process ``args`` (the children it forks not included)."""
    # A fixed hash seed: sets and dicts of strings iterate alike in every count (about 1 % otherwise).
    env = dict(os.environ, PYTHONHASHSEED="0",
               PYTHONPATH=os.pathsep.join(filter(None, [pythonpath, os.environ.get("PYTHONPATH")])))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    res = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *args],
                         capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed under valgrind ({res.returncode}):\n{res.stderr[-2000:]}")
    found = re.search(r"Collected : (\d+)", res.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in callgrind's output:\n{res.stderr[-2000:]}")
    return int(found.group(1))


def simsvc_run(arrivals: int, tree: str, tmp: Path) -> int:
    ref = tmp / f"ref-{arrivals}.yaml"
    ref.write_text(SCENARIO.format(minutes=arrivals * 0.6 / 60))
    out = tmp / f"out-{arrivals}"
    shutil.rmtree(out, ignore_errors=True)
    code = "import sys; from simsvc.cli import main; sys.argv[0] = 'simsvc'; main()"
    return instructions([sys.executable, "-c", code, "run", str(ref), "--reps", "1", "--workers", "1",
                         "--no-report", "--out", str(out)], tree)


def tutorial_run(arrivals: int) -> int:
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); from anchors import tutorial; tutorial({arrivals})"
    return instructions([sys.executable, "-c", code], None)


def line(fixed: float, per_arrival: float) -> str:
    return f"start-up and fixed {fixed / 1e9:6.2f} G, per arrival {per_arrival:8,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arrivals", type=int, default=1_000_000, help="the run the ratio is projected to")
    parser.add_argument("--sizes", type=int, nargs=2, default=[20_000, 60_000],
                        help="the two runs of simsvc counted (arrivals)")
    parser.add_argument("--anchor-sizes", type=int, nargs=2, default=[5_000, 15_000],
                        help="the two runs of the tutorial anchor counted (arrivals)")
    parser.add_argument("--tree", default=None, help="another checkout of simsvc, counted the same way")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    if args.tree and not (Path(args.tree) / "simsvc" / "__init__.py").is_file():
        parser.error(f"--tree {args.tree}: not a checkout of simsvc (no simsvc/__init__.py in it)")
    (a, b), (ta, tb) = sorted(args.sizes), sorted(args.anchor_sizes)
    if a == b or ta == tb:
        parser.error("the two sizes must differ")
    tut = (tutorial_run(tb) - tutorial_run(ta)) / (tb - ta)
    print(f"tutorial SimPy: {tut:,.0f} instructions per arrival ({ta:,} and {tb:,} arrivals)")
    print(f"simsvc run --no-report, {a:,} and {b:,} arrivals, projected to {args.arrivals:,}:")
    for label, tree in [("this", str(ROOT))] + ([("tree", args.tree)] if args.tree else []):
        # Compiled first: a checkout's first run compiles its modules (about 1 G instructions),
        # which would count in the smaller run only and bend the slope.
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(tree) / "simsvc")], check=True,
                       env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
        with tempfile.TemporaryDirectory(prefix="bench-instructions-") as tmp:
            small, large = simsvc_run(a, tree, Path(tmp)), simsvc_run(b, tree, Path(tmp))
        per = (large - small) / (b - a)
        fixed = small - a * per
        whole = fixed + args.arrivals * per
        print(f"  {label} ({imported_from(tree)}): {line(fixed, per)}; the run {whole / 1e9:6.2f} G, "
              f"× tutorial by instructions {args.arrivals * tut / whole:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
