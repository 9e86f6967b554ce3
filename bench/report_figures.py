"""What each report figure costs to render: PNG and SVG seconds (CPU), artists, file sizes.

Loads a results folder (``simsvc run ... --out DIR``), draws the run's figures as the
report does (``report.build.run_blocks``) and renders each one serially in this process,
``--repeat`` times (the fastest is printed; rendering is a pure function of the figure, so
the repeats are the same work). Counts the artists of each figure (every artist under the
figure, and of them the patches, lines, collections, texts), so a change that draws the
same picture with fewer artists shows here.

Usage: ``python bench/report_figures.py DIR [--repeat 3] [--compress-level N]``
"""
from __future__ import annotations

import argparse
import time
from io import BytesIO

import matplotlib

matplotlib.use("Agg")

from matplotlib.collections import Collection  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from simsvc.report import style  # noqa: E402
from simsvc.report.build import run_blocks  # noqa: E402
from simsvc.report.data import load_run  # noqa: E402
from simsvc.report.render import Plots, render  # noqa: E402


def artists(fig) -> dict[str, int]:
    every = list(fig.findobj())
    return {"all": len(every),
            "patch": sum(isinstance(a, Patch) for a in every),
            "line": sum(isinstance(a, Line2D) for a in every),
            "coll": sum(isinstance(a, Collection) for a in every),
            "text": sum(isinstance(a, Text) and bool(a.get_text()) for a in every)}


def timed(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    run = load_run(args.folder)
    plots = Plots()
    start = time.process_time()
    run_blocks(run, plots)
    drawn = plots._drawn  # the figures drawn, not yet rendered
    print(f"drawing {len(drawn)} figures: {time.process_time() - start:.3f} CPU s")
    print(f"{'figure':<24}{'render s':>9}{'png s':>8}{'svg s':>8}{'png kB':>8}{'svg kB':>8}"
          f"{'artists':>8}{'patch':>6}{'line':>6}{'coll':>6}{'text':>6}")
    totals = [0.0, 0.0, 0.0]
    for block, fig in drawn:
        best = [float("inf")] * 3
        for _ in range(args.repeat):
            t_all = timed(lambda: render(fig))
            png, svg = render(fig)
            with style.context():
                t_png = timed(lambda: fig.savefig(BytesIO(), format="png", dpi=style.DPI,
                                                  metadata={"Software": None}))
                t_svg = timed(lambda: fig.savefig(BytesIO(), format="svg",
                                                  metadata={"Date": None, "Creator": "simsvc"}))
            best = [min(b, t) for b, t in zip(best, (t_all, t_png, t_svg))]
        totals = [a + b for a, b in zip(totals, best)]
        n = artists(fig)
        print(f"{block.key:<24}{best[0]:>9.3f}{best[1]:>8.3f}{best[2]:>8.3f}{len(png) / 1e3:>8.0f}"
              f"{len(svg) / 1e3:>8.0f}{n['all']:>8}{n['patch']:>6}{n['line']:>6}{n['coll']:>6}"
              f"{n['text']:>6}")
    print(f"{'total':<24}{totals[0]:>9.3f}{totals[1]:>8.3f}{totals[2]:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
