"""Do two checkouts write the same results? ``python bench/same_outputs.py --tree REF [scenarios...]``.

Runs each scenario (default: baseline, erlang_a_check, journey_baseline) with this
checkout and with the one at ``REF`` (a ``git worktree add --detach REF <commit>``), 2
replications, serial and ``-w 2``, and compares every file they write: CSV byte for byte,
Parquet read back equal (exact), the manifest without its timings and dates.
``--report`` writes the report too and compares it: SVG plots byte for byte, PNG plots by
their decoded pixels (RGBA arrays; an encoder setting may change the bytes of the same
picture), ``report.html`` as text with each embedded PNG compared the same way.
``--svg`` runs this checkout with ``--svg`` (a report's SVGs are opt-in since the ninth pass;
a reference from before wrote them always), so its SVGs are compared too; without it, the
SVGs only the reference wrote are listed and the page's mention of them differs.

Each run is a fresh Python started outside both trees, with the tree first on
``PYTHONPATH``, and it checks which ``simsvc`` it imported: ``python -c`` started inside
a checkout would import that checkout's code whatever ``PYTHONPATH`` says, and the
comparison would compare the code with itself.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ["baseline", "erlang_a_check", "journey_baseline"]
RUN = ("import sys, simsvc; tree = sys.argv.pop(1); "
       "assert simsvc.__file__.startswith(tree), f'imported {simsvc.__file__}, not from {tree}'; "
       "from simsvc.cli import main; main()")
VOLATILE = {"created_utc", "wall_s", "replication_wall_s", "python", "platform", "workers"}


def run(tree: Path, scenario: Path, out: Path, workers: int, work: Path, report: bool = False,
        extra: tuple[str, ...] = ()) -> None:
    env = dict(os.environ, PYTHONPATH=str(tree))
    subprocess.run([sys.executable, "-c", RUN, str(tree), "run", str(scenario), "-n", "2", "-w", str(workers),
                    *([] if report else ["--no-report"]), *extra, "-o", str(out)], cwd=work, env=env, check=True,
                   capture_output=True, text=True)


def pixels(png: bytes):
    """The decoded picture of PNG bytes, as an RGBA array."""
    from io import BytesIO

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(BytesIO(png)).convert("RGBA"))


def same_pictures(a: bytes, b: bytes) -> bool:
    import numpy as np

    return a == b or np.array_equal(pixels(a), pixels(b))


def same_report_html(a: str, b: str) -> bool:
    """The same text (but the run's wall time, creation time and folder), and the same pictures
    where PNGs are embedded (base64)."""
    import base64
    import re

    embedded = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")
    wall = re.compile(r"<dt>(wall time|run created|results folder)</dt><dd>(<code>)?[^<]*(</code>)?</dd>")
    pics_a, pics_b = embedded.findall(a), embedded.findall(b)
    a, b = (wall.sub("", embedded.sub("PNG", text)) for text in (a, b))
    return (a == b and len(pics_a) == len(pics_b)
            and all(same_pictures(base64.b64decode(x), base64.b64decode(y)) for x, y in zip(pics_a, pics_b)))


def differences(a: Path, b: Path) -> list[str]:
    import pandas as pd
    from pandas.testing import assert_frame_equal

    found = []
    names = sorted({p.name for p in a.iterdir()} | {p.name for p in b.iterdir()})
    for name in names:
        fa, fb = a / name, b / name
        if not (fa.exists() and fb.exists()):
            found.append(f"{name}: only in {'this' if fa.exists() else 'the reference'}")
        elif name.endswith(".parquet"):
            try:
                assert_frame_equal(pd.read_parquet(fa), pd.read_parquet(fb), check_exact=True)
            except AssertionError as exc:
                found.append(f"{name}: {str(exc).splitlines()[0]}")
        elif fa.is_dir():
            found += [f"{name}/{d}" for d in differences(fa, fb)]
        elif name.endswith(".png"):
            if not same_pictures(fa.read_bytes(), fb.read_bytes()):
                found.append(f"{name}: pictures differ")
        elif name == "report.html":
            if not same_report_html(fa.read_text(), fb.read_text()):
                found.append(f"{name}: differs beyond the PNG bytes of the same pictures")
        elif name == "manifest.json":
            ja, jb = (json.loads(f.read_text()) for f in (fa, fb))
            for j in (ja, jb):
                for key in VOLATILE:
                    j.pop(key, None)
                j.pop("dependencies", None)
            if ja != jb:
                found.append(f"{name}: differs beyond timings")
        elif fa.read_bytes() != fb.read_bytes():
            found.append(f"{name}: bytes differ")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", required=True, type=Path, help="the reference checkout")
    parser.add_argument("scenarios", nargs="*", default=DEFAULT,
                        help="names in scenarios/ or paths (default: %(default)s)")
    parser.add_argument("--report", action="store_true", help="write and compare the report too")
    parser.add_argument("--svg", action="store_true", help="this checkout's report with --svg (SVGs compared too)")
    args = parser.parse_args()
    ref = args.tree.resolve()
    bad = 0
    with tempfile.TemporaryDirectory(prefix="same-outputs-") as tmp:
        work = Path(tmp)
        for name in args.scenarios:
            scenario = Path(name) if name.endswith((".yaml", ".yml")) else ROOT / "scenarios" / f"{name}.yaml"
            for workers in (1, 2):
                outs = []
                for label, tree in (("this", ROOT), ("ref", ref)):
                    out = work / f"{scenario.stem}-{workers}-{label}"
                    extra = ("--svg",) if args.svg and label == "this" else ()
                    run(tree, scenario.resolve(), out, workers, work, args.report, extra)
                    outs.append(out)
                found = differences(*outs)
                bad += bool(found)
                print(f"{scenario.stem}, -w {workers}: " + ("same" if not found else "; ".join(found)))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
