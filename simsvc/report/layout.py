"""The report's figure layout: margins from the sizes of a figure's texts, computed at each draw.

matplotlib's constrained layout was most of a report's rendering (1.4 of 2.5 CPU s for the 1M
reference's six figures): it asks every axis for its tight bounding box, which builds and lays
out each tick (a tick mark, a grid line, two texts) twice per draw before the draw does it
again. :class:`MeasuredLayout` reserves the same room from what decides it: the widest tick
label (the locator's positions formatted by the axis's formatter, measured as text, without
building a tick), the axis labels, the titles, the legends and texts that reach out of an axes,
the figure's suptitle, supylabel and "outside" legends. It then places the axes in the cells of
their grid, measures again (an axes' size decides its ticks) until nothing moves, and places
the axis labels where matplotlib would (beside the widest tick label), so the draw does not
measure the ticks again either.

It lays out a figure whose visible axes all sit in one grid (``fig.subplots``, ``add_subplot``,
a colorbar given its own grid cell); anything else (subfigures, nested grids, axes placed by
hand, a figure legend not placed "outside") falls back to the constrained layout.
"""
from __future__ import annotations

import math

import numpy as np
from matplotlib.layout_engine import ConstrainedLayoutEngine, LayoutEngine
from matplotlib.text import Text

PAD_IN = 3 / 72    # the constrained layout's default pad around each axes and the figure's edge
GAP_IN = 0.1       # at least this between two axes' boxes (0.02 of the figure, as constrained, is 0.2 in)


class MeasuredLayout(LayoutEngine):
    """A layout engine (``Figure(layout=MeasuredLayout())``) that sizes margins from text extents."""

    _adjust_compatible = True
    # A colour bar added beside an axes (``fig.colorbar(image, ax=...)``) is placed by hand
    # (``colorbar.make_axes``), so such a figure falls back to the constrained layout, which
    # knows where to put it; a colour bar in a grid cell of its own (``cax=``) is laid out here.
    _colorbar_gridspec = False

    def execute(self, fig) -> None:
        try:
            laid_out = self._measure_and_place(fig)
        except AttributeError:   # a matplotlib without a private attribute read here (see below)
            laid_out = False
        if not laid_out:
            ConstrainedLayoutEngine().execute(fig)

    def _measure_and_place(self, fig) -> bool:
        """Lay ``fig`` out; False where it is not one grid. It reads private attributes of
        matplotlib (``_get_renderer``, ``_set_position``, ``_suptitle``, ``_supylabel``,
        ``_autopos``, ``_outside_loc``, ``_left_title``, ``_right_title``, ``_autotitlepos``):
        a release that renames one gets the constrained layout instead of an error, and
        ``tests/test_report_layout.py`` checks that the installed one is laid out here."""
        grid = _one_grid(fig)
        if grid is None:
            return False
        renderer = fig._get_renderer()
        gs, axes = grid
        for ax in axes:   # from the same start at every draw: the same layout every time
            ax._set_position(ax.get_subplotspec().get_position(fig))
        # Measured where the axes are, placed, measured again: an axes' size decides its ticks (the
        # locators fit as many as its length takes, so "0, 5, 10" may become "0.0, 2.5, ... 12.5")
        # and how far a legend anchored beside it reaches. Until nothing moves (a pixel), at most
        # four times; the axis labels go beside the tick labels of the last placing.
        previous = None
        for _ in range(4):
            needs = {ax: _decorations(ax, renderer) for ax in axes}
            spans = {ax: _overhang(ax, renderer, needs[ax]) for ax in axes}
            flat = np.array([list(span.values()) for span in spans.values()])
            if previous is not None and np.abs(flat - previous).max() < 1.0:
                break
            _apply(fig, gs, spans, renderer)
            previous = flat
        for ax in axes:
            _place_axis_labels(ax, needs[ax], renderer)
        return True


def _one_grid(fig):
    """(the GridSpec, the visible axes in it) when every visible axes sits in one top-level grid
    and the figure holds nothing else the layout would have to place; else None."""
    if fig.subfigs:
        return None
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_in_layout()]
    if not axes:
        return None
    specs = [ax.get_subplotspec() for ax in axes]
    if any(spec is None for spec in specs):
        return None
    gs = specs[0].get_gridspec()
    if any(spec.get_gridspec() is not gs for spec in specs) or hasattr(gs, "get_topmost_subplotspec"):
        return None   # several grids, or a grid nested in a cell (GridSpecFromSubplotSpec)
    if any(getattr(legend, "_outside_loc", None) not in ("lower", "upper") for legend in fig.legends):
        return None
    return gs, axes


def _px(fig, points: float) -> float:
    return points * fig.dpi / 72.0


_EXTENTS: dict[tuple, tuple[float, float]] = {}   # text extents by (dpi, text, font, rotation, spacing)


def _text_extent(fig, renderer, text: str, like: Text) -> tuple[float, float]:
    """(width, height) in pixels of ``text`` drawn as ``like`` is (font, rotation, line spacing);
    kept, since a layout measures the same labels at each placing and figures share most."""
    font = like.get_fontproperties()
    # (``Text.get_linespacing`` came with matplotlib 3.11; ``_linespacing``, the attribute it
    # reads, is there in 3.8, the oldest matplotlib the project takes)
    spacing = like._linespacing
    key = (fig.dpi, text, hash(font), like.get_rotation(), spacing)
    if key not in _EXTENTS:
        if len(_EXTENTS) > 20_000:
            _EXTENTS.clear()
        probe = Text(0, 0, text, fontproperties=font, rotation=like.get_rotation(), linespacing=spacing)
        probe.set_figure(fig)
        box = probe.get_window_extent(renderer)
        _EXTENTS[key] = box.width, box.height
    return _EXTENTS[key]


def _tick_labels(axis) -> tuple[list[str], Text | None, str]:
    """The major tick labels the axis will draw (its locator's positions in the view, formatted),
    a tick label to measure them as, and the formatter's offset text."""
    ticks = axis.get_major_ticks(1)
    if not ticks:
        return [], None, ""
    lo, hi = sorted(axis.get_view_interval())
    locs = np.asarray(axis.get_majorticklocs(), dtype=float)
    span = (hi - lo) or 1.0
    locs = locs[(locs >= lo - 1e-10 * span) & (locs <= hi + 1e-10 * span)]
    formatter = axis.get_major_formatter()
    labels = [s for s in formatter.format_ticks(list(locs)) if s] if locs.size else []
    offset = formatter.get_offset() if hasattr(formatter, "get_offset") else ""
    return labels, ticks[0], offset


def _decorations(ax, renderer) -> dict:
    """What each side of ``ax`` needs outside its box for its ticks, axis labels and titles, in
    pixels, and the tick labels' depth (their size and pad) on each side. The ticks are those its
    locators give for the axes' present size."""
    fig = ax.figure
    need = {"left": 0.0, "right": 0.0, "top": 0.0, "bottom": 0.0, "tick_w": 0.0, "tick_h": 0.0,
            "tick_w2": 0.0, "tick_h2": 0.0}
    offset_h = 0.0   # a y axis's offset text ("1e6"), which the titles go above
    for axis, across in ((ax.xaxis, "h"), (ax.yaxis, "w")):
        if not axis.get_visible():
            continue
        labels, tick, offset = _tick_labels(axis)
        near, far = ("bottom", "top") if across == "h" else ("left", "right")
        size = 0.0
        if tick is not None:
            pad = _px(fig, tick.get_pad() + tick.get_tick_padding())
            extents = [_text_extent(fig, renderer, s, tick.label1) for s in labels]
            size = max((w if across == "w" else h for w, h in extents), default=0.0)
            for side, label, key in ((near, tick.label1, "tick_" + across), (far, tick.label2, f"tick_{across}2")):
                shown = label.get_visible() and size > 0
                mark = tick.tick1line if side == near else tick.tick2line
                need[key] = size + pad if shown else (_px(fig, tick.get_tick_padding()) if mark.get_visible() else 0.0)
                need[side] = max(need[side], need[key])
            if offset:   # "1e6" beside the axis's far end
                w, h = _text_extent(fig, renderer, offset, tick.label1)
                if across == "w":   # the titles go above it (style.RC places them at the top)
                    offset_h = h + _px(fig, 3)
                    need["top"] += offset_h
                    ax._autotitlepos = True
                else:
                    need["right"] += w + _px(fig, 3)
        label = axis.label
        if label.get_visible() and label.get_text():
            box = label.get_window_extent(renderer)
            side = axis.get_label_position()
            depth = box.height if across == "h" else box.width
            base = need["tick_" + across] if side == near else need[f"tick_{across}2"]
            need[side] = max(need[side], base + _px(fig, axis.labelpad) + depth)
    titles = _titles(ax)
    if titles:
        from matplotlib import rcParams

        height = max(_text_extent(fig, renderer, t.get_text(), t)[1] for t in titles)
        need["top"] = max(need["top"], height + _px(fig, rcParams["axes.titlepad"]) + offset_h)
    return need


def _titles(ax) -> list[Text]:
    """The axes' shown titles (centre, left, right)."""
    return [t for t in (ax.title, ax._left_title, ax._right_title) if t.get_visible() and t.get_text()]


def _overhang(ax, renderer, need: dict) -> dict:
    """The room each side of ``ax`` needs: its decorations, and whatever reaches out of its box
    where it is now (legends anchored outside it, texts, titles wider than it, the end tick
    labels' halves)."""
    box = ax.get_window_extent(renderer)
    span = {side: need[side] for side in ("left", "right", "top", "bottom")}
    reaching = [t for t in ax.texts if t.get_visible() and t.get_in_layout()]
    legend = ax.get_legend()   # beside the axes, or inside it and wider than it
    if legend is not None and legend.get_visible():
        reaching.append(legend)
    titles = _titles(ax)
    reaching += titles
    for artist in reaching:
        b = artist.get_window_extent(renderer)
        if not (math.isfinite(b.x0) and math.isfinite(b.y0)):
            continue
        span["left"] = max(span["left"], box.x0 - b.x0)
        span["right"] = max(span["right"], b.x1 - box.x1)
        if artist not in titles:
            span["top"] = max(span["top"], b.y1 - box.y1)
            span["bottom"] = max(span["bottom"], box.y0 - b.y0)
    # The first and last x tick labels are centred on their ticks: half of each may pass the box.
    if need["tick_h"] > 0 and ax.xaxis.get_visible():
        labels, tick, _ = _tick_labels(ax.xaxis)
        if labels and tick is not None and tick.label1.get_visible():
            fig = ax.figure
            half = _text_extent(fig, renderer, labels[-1], tick.label1)[0] / 2
            end = max(ax.get_xlim())
            locs = [v for v in ax.xaxis.get_majorticklocs() if v <= end]
            if locs:
                x = ax.transData.transform((max(locs), 0))[0]
                span["right"] = max(span["right"], x + half - box.x1)
    return span


def _apply(fig, gs, spans: dict, renderer) -> None:
    """Place the axes in their grid cells from each one's span (pixels) and the figure's own texts:
    the cells of a row (column) as high (wide) as each other, each space between two the room its
    neighbours need (as the constrained layout does, so a legend beside one column does not widen
    every space)."""
    nrows, ncols = gs.get_geometry()
    w_px, h_px = fig.bbox.width, fig.bbox.height
    pad = PAD_IN * fig.dpi
    left, right = np.zeros(ncols), np.zeros(ncols)
    top, bottom = np.zeros(nrows), np.zeros(nrows)
    for ax, span in spans.items():
        spec = ax.get_subplotspec()
        r0, r1 = spec.rowspan.start, spec.rowspan.stop - 1
        c0, c1 = spec.colspan.start, spec.colspan.stop - 1
        left[c0] = max(left[c0], span["left"])
        right[c1] = max(right[c1], span["right"])
        top[r0] = max(top[r0], span["top"])
        bottom[r1] = max(bottom[r1], span["bottom"])
    fig_top, fig_left, fig_bottom = _figure_texts(fig, renderer, pad)
    gap = GAP_IN * fig.dpi
    xs = _cells(w_px, left[0] + pad + fig_left, right[-1] + pad,
                [max(right[c] + left[c + 1] + 2 * pad, gap) for c in range(ncols - 1)],
                gs.get_width_ratios())
    # Rows from the top down.
    ys = _cells(h_px, top[0] + pad + fig_top, bottom[-1] + pad + fig_bottom,
                [max(bottom[r] + top[r + 1] + 2 * pad, gap) for r in range(nrows - 1)],
                gs.get_height_ratios())
    if xs is None or ys is None:   # the texts leave no room: let the axes be, as small as they come
        return
    from matplotlib.transforms import Bbox

    for ax in spans:
        spec = ax.get_subplotspec()
        x0, x1 = xs[spec.colspan.start][0], xs[spec.colspan.stop - 1][1]
        y_top, y_bottom = ys[spec.rowspan.start][0], ys[spec.rowspan.stop - 1][1]
        ax._set_position(Bbox.from_extents(x0 / w_px, 1 - y_bottom / h_px, x1 / w_px, 1 - y_top / h_px))


def _cells(length: float, start: float, end: float, gaps: list[float], ratios) -> list | None:
    """(from, to) of each cell along a side of ``length`` pixels, margins ``start`` and ``end``,
    ``gaps`` between cells, the cells' sizes in ``ratios`` (None: equal)."""
    ratios = np.ones(len(gaps) + 1) if ratios is None else np.asarray(ratios, dtype=float)
    room = length - start - end - sum(gaps)
    if room <= 0:
        return None
    sizes = room * ratios / ratios.sum()
    out, at = [], start
    for i, size in enumerate(sizes):
        out.append((at, at + size))
        at += size + (gaps[i] if i < len(gaps) else 0.0)
    return out


def _figure_texts(fig, renderer, pad: float) -> tuple[float, float, float]:
    """The room the figure's suptitle, supylabel and outside legends take (top, left, bottom),
    placing the suptitle and supylabel at the figure's edge as the constrained layout does."""
    top = left = bottom = 0.0
    title = fig._suptitle
    if title is not None and title.get_visible() and title.get_in_layout():
        if getattr(title, "_autopos", False):
            title.set_y(1 - pad / fig.bbox.height)
        top = title.get_window_extent(renderer).height + pad
    label = fig._supylabel
    if label is not None and label.get_visible() and label.get_in_layout():
        if getattr(label, "_autopos", False):
            label.set_x(pad / fig.bbox.width)
        left = label.get_window_extent(renderer).width + pad
    for legend in fig.legends:
        if legend.get_visible():
            height = legend.get_window_extent(renderer).height + pad
            if legend._outside_loc == "lower":
                bottom = max(bottom, height)
            else:
                top = max(top, height)
    return top, left, bottom


def _place_axis_labels(ax, need: dict, renderer) -> None:
    """Put each axis label where matplotlib would, beside the tick labels just measured, so the
    draw does not lay the ticks out again to find it (``Axis.set_label_coords``)."""
    box = ax.get_window_extent(renderer)
    fig = ax.figure
    for axis, across in ((ax.xaxis, "h"), (ax.yaxis, "w")):
        label = axis.label
        if not (axis.get_visible() and label.get_visible() and label.get_text()):
            continue
        side = axis.get_label_position()
        near = side in ("bottom", "left")
        depth = need["tick_" + across] if near else need[f"tick_{across}2"]
        offset = depth + _px(fig, axis.labelpad)
        if across == "h":
            y = -offset / box.height if near else 1 + offset / box.height
            axis.set_label_coords(0.5, y)
        else:
            x = -offset / box.width if near else 1 + offset / box.width
            axis.set_label_coords(x, 0.5)
