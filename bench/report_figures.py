"""What each report figure costs to render: PNG and SVG seconds (CPU), artists, file sizes.

Loads a results folder (``simsvc run ... --out DIR``), draws the run's figures as the
report does (``report.build.journey_blocks`` for a journey-mode run, then ``run_blocks``) and renders each one in this process with
``report.render.render`` (PNG + SVG, the layout included), ``--repeat`` times, each time
drawn afresh (the fastest is printed): "png s" is the render less its SVG, "svg s" one SVG
``savefig`` of the rendered figure (what ``render`` does for it: one draw, the layout kept),
"no-svg s" the render of the same figure drawn afresh without its SVG (``render(fig,
svg=False)``: what a report pays without ``--svg``).
Counts the artists of each figure (every artist under the figure, and of them the patches,
lines, collections, texts), so a change that draws the same picture with fewer artists shows
here. ``PYTHONPATH=OTHER_CHECKOUT`` measures another checkout's rendering (a checkout whose
``render`` lays the SVG out again shows that in "svg s" only partly: time it whole).

``--against-savefig N`` instead renders every figure in N interleaved rounds with
``render`` and with what rendering was before it (``savefig`` for the PNG, then for the SVG
with the layout kept: each format drawn twice, the layout run once), in this process, and
prints the CPU seconds of each side (fastest and median round): a comparison the machine's
load moves little, since both sides share it.

Usage: ``python bench/report_figures.py DIR [--repeat 3] [--only lost_by_day,volumes] [--against-savefig 6]``
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
from simsvc.report.build import journey_blocks, run_blocks  # noqa: E402
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
    parser.add_argument("--against-savefig", type=int, default=0, metavar="ROUNDS")
    parser.add_argument("--only", default="", metavar="KEY,KEY", help="these figures only (plots/ names)")
    args = parser.parse_args()
    run = load_run(args.folder)
    if args.against_savefig:
        return against_savefig(run, args.against_savefig)
    best: dict[str, list[float]] = {}
    sizes: dict[str, tuple[int, int, dict[str, int]]] = {}
    for _ in range(args.repeat):
        plots = Plots()   # drawn afresh: render() lays a figure out once, on its first rendering
        start = time.process_time()
        journey_blocks(run, plots)
        run_blocks(run, plots)
        drawing = time.process_time() - start
        again = Plots()
        journey_blocks(run, again)
        run_blocks(run, again)
        for (block, fig), (_, fresh) in zip(plots._drawn, again._drawn):  # drawn, not yet rendered
            if args.only and block.key not in args.only.split(","):
                continue
            try:
                t_no_svg = timed(lambda: render(fresh, svg=False))
            except TypeError:   # PYTHONPATH=a checkout from before the SVG became opt-in
                t_no_svg = float("nan")
            t_render = timed(lambda: render(fig))
            png, svg = render(fig)
            n = artists(fig)   # after rendering: ticks and their labels exist once drawn
            with style.context():   # the SVG part of render(): one draw, the layout kept
                t_svg = timed(lambda: fig.savefig(BytesIO(), format="svg",
                                                  metadata={"Date": None, "Creator": "simsvc"}))
            times = (t_render, t_render - t_svg, t_svg, t_no_svg)
            best[block.key] = [min(b, t) for b, t in zip(best.get(block.key, [float("inf")] * 4), times)]
            sizes[block.key] = (len(png), len(svg), n)
    print(f"drawing {len(best)} figures: {drawing:.3f} CPU s (last repeat)")
    print(f"{'figure':<24}{'render s':>9}{'png s':>8}{'svg s':>8}{'no-svg s':>9}{'png kB':>8}{'svg kB':>8}"
          f"{'artists':>8}{'patch':>6}{'line':>6}{'coll':>6}{'text':>6}")
    for key, (t_render, t_png, t_svg, t_no_svg) in best.items():
        png, svg, n = sizes[key]
        print(f"{key:<24}{t_render:>9.3f}{t_png:>8.3f}{t_svg:>8.3f}{t_no_svg:>9.3f}{png / 1e3:>8.0f}{svg / 1e3:>8.0f}"
              f"{n['all']:>8}{n['patch']:>6}{n['line']:>6}{n['coll']:>6}{n['text']:>6}")
    totals = [sum(values[i] for values in best.values()) for i in range(4)]
    print(f"{'total':<24}{totals[0]:>9.3f}{totals[1]:>8.3f}{totals[2]:>8.3f}{totals[3]:>9.3f}")
    return 0


def savefig_render(fig) -> tuple[bytes, bytes]:
    """Rendering as it was before ``render`` (simsvc at 90a1d79..e66c836)."""
    with style.context():
        png, svg = BytesIO(), BytesIO()
        fig.savefig(png, format="png", dpi=style.DPI, metadata={"Software": None})
        fig.set_layout_engine("none")
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": "simsvc"})
    return png.getvalue(), svg.getvalue()


def against_savefig(run, rounds: int) -> int:
    def drawn():
        plots = Plots()
        journey_blocks(run, plots)
        run_blocks(run, plots)
        return [fig for _, fig in plots._drawn]

    for fig in drawn():
        render(fig)   # fonts and caches warm before the first round
    seconds: dict[str, list[float]] = {"savefig (before)": [], "render": []}
    sides = [("savefig (before)", savefig_render), ("render", render)]
    for r in range(rounds):
        for name, fn in sides if r % 2 == 0 else sides[::-1]:
            figures = drawn()
            start = time.process_time()
            for fig in figures:
                fn(fig)
            seconds[name].append(time.process_time() - start)
    for name, values in seconds.items():
        values.sort()
        print(f"{name:<18} fastest {values[0]:6.3f}  median {values[len(values) // 2]:6.3f} CPU s "
              f"for {len(figures)} figures, {rounds} rounds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
