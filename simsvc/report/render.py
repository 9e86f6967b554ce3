"""Rendering a report's figures to PNG (and, on request, SVG) bytes, in parallel processes where there are cores.

Drawing a figure (its data and artists) is cheap; rendering it (layout, rasterising, the
SVG) is most of a report's time. :class:`Plots` collects the drawn figures of one report
and renders them together, in forked processes (:class:`Rendering`); the bytes are the same
as rendering one figure after another.
"""
from __future__ import annotations

import sys
from io import BytesIO

import matplotlib as mpl
from matplotlib.figure import Figure

from simsvc.experiment.executors import available_cores
from simsvc.report import html, style


# zlib level of the PNGs' unfiltered rows (see _write_png): 3 deflates as fast as 1 and 2 with
# files 6 % smaller; 4 takes 2.5 times as long. (Through Pillow, with its filters, level 1 had
# encoded 30 % faster than the default 6 for files of the same size.)
PNG_COMPRESS_LEVEL = 3


def render(fig: Figure, svg: bool = True) -> tuple[bytes, bytes | None]:
    """(PNG, SVG) bytes of a figure, without timestamps so reruns give the same files;
    with ``svg=False`` the SVG is not rendered at all and comes back as None (a third of
    the work less: the report writes SVGs only when asked, ``--svg``).

    The SVG is the same bytes as ``fig.savefig`` gives and the PNG the same picture (pixel
    for pixel; tested), with a third of the work less: ``savefig`` draws a figure twice when
    it has a layout engine (a draw with rendering disabled that runs the layout, then the
    real one), so a PNG and an SVG cost four draws. Here the PNG is one Agg draw that runs
    the constrained layout itself, and the layout engine is then removed, so the SVG is one
    draw laid out alike. The PNG is written as RGB where every pixel is opaque (the report's
    white figures), at :data:`PNG_COMPRESS_LEVEL`.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with style.context():
        png = BytesIO()
        canvas, dpi = fig.canvas, fig.dpi
        colours = fig.get_facecolor(), fig.get_edgecolor()
        try:
            # The canvas first, at the figure's own resolution, as savefig makes its canvas:
            # matplotlib before 3.11 notes the figure's dpi at a canvas's creation as the
            # figure's "original" dpi (Figure._original_dpi), at which a later savefig with
            # dpi="figure" (the SVG below) rasterises the images it embeds (imshow, a colour
            # bar's solids); made after set_dpi, the SVG's images came out at 150 dpi, not 100.
            agg = FigureCanvasAgg(fig)
            # What savefig sets while it saves: the resolution and the saved colours.
            fig.set_dpi(style.DPI)
            for colour, set_colour in ((mpl.rcParams["savefig.facecolor"], fig.set_facecolor),
                                       (mpl.rcParams["savefig.edgecolor"], fig.set_edgecolor)):
                if not (isinstance(colour, str) and colour == "auto"):
                    set_colour(colour)
            agg.draw()   # the layout engine runs inside this draw, before anything is drawn
            _write_png(png, agg.buffer_rgba())
        finally:
            fig.set_dpi(dpi)
            fig.set_facecolor(colours[0])
            fig.set_edgecolor(colours[1])
            fig.set_canvas(canvas)
        # Keep the layout just computed: without an engine, savefig neither lays the SVG out
        # again nor draws it a first time with rendering disabled.
        with mpl.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
            fig.set_layout_engine(None)   # (those settings would give it a new engine)
        if not svg:
            return png.getvalue(), None
        vector = BytesIO()
        fig.savefig(vector, format="svg", metadata={"Date": None, "Creator": "simsvc"})
    return png.getvalue(), vector.getvalue()


def _write_png(out: BytesIO, buffer: memoryview) -> None:
    """An Agg buffer as PNG: the resolution chunk matplotlib's writer gives and no text chunk;
    RGB where every pixel is opaque, else RGBA; the rows unfiltered (PNG filter 0) and deflated
    at :data:`PNG_COMPRESS_LEVEL`. A third of the time Pillow's writer took for the same
    pictures (its adaptive filter tries five on every row): a report's figures are mostly flat
    colour, which deflate compresses as well without a filter (the files 1-2 % larger)."""
    import struct
    import zlib

    import numpy as np

    rgba = np.asarray(buffer)
    height, width = rgba.shape[:2]
    pixels = rgba[..., :3] if rgba[..., 3].min() == 255 else rgba   # opaque: no alpha channel
    rows = np.zeros((height, width * pixels.shape[2] + 1), dtype=np.uint8)   # column 0: filter 0
    rows[:, 1:] = pixels.reshape(height, -1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    per_metre = int(style.DPI / 0.0254 + 0.5)
    colour_type = 2 if pixels.shape[2] == 3 else 6   # RGB, RGBA; 8 bits a sample
    out.write(b"\x89PNG\r\n\x1a\n"
              + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0))
              + chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))
              + chunk(b"IDAT", zlib.compress(rows.tobytes(), PNG_COMPRESS_LEVEL))
              + chunk(b"IEND", b""))


class Plots:
    """The figures drawn for one report, rendered together by :meth:`render`.

    Drawing (data and artists) happens as the blocks are built; rendering (the PNG
    and the SVG of each figure, most of a report's time) waits until every figure is
    drawn, so that the figures can be rendered in parallel processes (see
    :func:`render_all`). ``files`` then holds the PNG bytes by file name, and the SVG
    bytes too when ``svg`` (otherwise no SVG is rendered).
    :meth:`start` and :meth:`collect` split :meth:`render` in two, so the caller can do
    other work (``simsvc run`` writes the tables) while the processes render. :meth:`start`
    may be called more than once: each call sets the figures drawn since the last one
    rendering (a batch), so the figures whose data comes first render while the rest are
    still being computed; :meth:`collect` waits for every batch.
    """

    def __init__(self, svg: bool = False, beside_run: bool = False) -> None:
        self.svg, self.beside_run = svg, beside_run
        self.files: dict[str, bytes] = {}
        self._drawn: list[tuple[html.Block, Figure]] = []
        self._batches: list[tuple[list[tuple[html.Block, Figure]], Rendering]] = []

    def add(self, block: html.Block, fig: Figure) -> None:
        block.png = b""  # drawn: the bytes come with render()
        block.svg = self.svg
        self._drawn.append((block, fig))

    def render(self) -> None:
        self.start()
        self.collect()

    def start(self) -> None:
        """Start rendering every figure drawn since the last call (in forked processes where there
        are cores)."""
        if self._drawn:
            drawn, self._drawn = self._drawn, []
            self._batches.append((drawn, Rendering([fig for _, fig in drawn], self.svg, self.beside_run)))

    def collect(self) -> None:
        """Wait for the figures started by :meth:`start` and keep their bytes."""
        self.start()   # anything drawn but not started yet renders now
        # The last batch first: it renders here if it is a single figure, while the earlier
        # batches' processes may still be at work.
        batches, self._batches = self._batches, []
        rendered = [rendering.result() for _, rendering in reversed(batches)][::-1]
        for (drawn, _), pictures in zip(batches, rendered):
            for (block, _), (png, svg) in zip(drawn, pictures):
                block.png = png
                self.files[f"{block.key}.png"] = png
                if svg is not None:
                    self.files[f"{block.key}.svg"] = svg

    def cancel(self) -> None:
        """Stop rendering (the run was interrupted or failed); nothing is kept."""
        for _, rendering in self._batches:
            rendering.cancel()
        self._batches, self._drawn = [], []


# Processes forked to render a report's figures: None = one per available core (at most 4;
# none on one core), and beside a run (``simsvc run``'s report process) one per core the
# run leaves (none on two cores: the report process renders itself, on the core the run
# leaves; docs/performance.md "Eighth pass: the whole run", "Tenth pass");
# 0 = none: the figures render one after another in the caller, when collected (beside a
# run: as soon as they are drawn).
RENDER_PROCESSES: int | None = None
_FIGURES: list[Figure] = []  # what forked render processes find (inherited, not pickled)


def render_processes(beside_run: bool = False) -> int:
    """How many processes :class:`Rendering` forks (see :data:`RENDER_PROCESSES`); ``beside_run``:
    for the report process of ``simsvc run``, whose run keeps one core busy meanwhile."""
    if RENDER_PROCESSES is not None:
        return RENDER_PROCESSES
    cores = available_cores() - (1 if beside_run else 0)
    return min(cores, 4) if cores > 1 else 0


def _render_nth(i: int, svg: bool) -> tuple[bytes, bytes | None]:
    return render(_FIGURES[i], svg)


class Rendering:
    """:func:`render` of each figure (``svg``: with its SVG), in figure order; in forked processes (Linux, several
    figures, :func:`render_processes` not 0), else one after another in :meth:`result`, or,
    ``beside_run``, here and now.

    Rendering is a pure function of the figure, so the bytes are the same either way. The
    processes are forked here, after the figures are drawn, and inherit them (nothing is
    pickled but the bytes coming back); until :meth:`result` the caller is free to work
    while they render. ``beside_run`` (``simsvc run``'s report process, which has nothing
    else to do meanwhile) renders without processes at once rather than when collected.
    """

    def __init__(self, figures: list[Figure], svg: bool = True, beside_run: bool = False) -> None:
        global _FIGURES
        self.figures, self.svg = figures, svg
        self._pool = None
        self._futures: list = []
        self._done: list[tuple[bytes, bytes | None]] | None = None
        workers = min(render_processes(beside_run), len(figures))
        if workers < 1 or len(figures) < 2 or not sys.platform.startswith("linux"):
            if beside_run:
                self._done = [render(fig, svg) for fig in figures]
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _FIGURES = figures
        try:
            self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
            # All processes fork at the first submit (fork context), so all inherit _FIGURES.
            self._futures = [self._pool.submit(_render_nth, i, svg) for i in range(len(figures))]
        finally:
            _FIGURES = []  # the parent lets go; the forked processes keep their copies

    def result(self) -> list[tuple[bytes, bytes | None]]:
        if self._done is not None:
            return self._done
        if self._pool is None:
            return [render(fig, self.svg) for fig in self.figures]
        try:
            return [future.result() for future in self._futures]
        finally:
            self._pool.shutdown(wait=True)
            self._pool = None

    def cancel(self) -> None:
        """Stop the render processes without waiting for them."""
        if self._pool is not None:
            processes = list((getattr(self._pool, "_processes", None) or {}).values())
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                if process.is_alive():
                    process.terminate()
            for process in processes:
                process.join(timeout=5)
            self._pool = None


def render_all(figures: list[Figure], svg: bool = True) -> list[tuple[bytes, bytes | None]]:
    """:func:`render` of each figure, in figure order (see :class:`Rendering`)."""
    return Rendering(figures, svg).result()
