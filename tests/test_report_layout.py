"""The report's figure layout (``report.layout.MeasuredLayout``, margins from the sizes of the
figures' texts instead of matplotlib's constrained layout): nothing clipped at the figure's edge,
nothing of one axes over another's, the figure's own texts over none; the constrained layout
where a figure holds what it does not place, or where the installed matplotlib lacks a private
attribute it reads; the same layout at every draw."""
from __future__ import annotations


import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.layout_engine import ConstrainedLayoutEngine  # noqa: E402

from simsvc.report import style  # noqa: E402
from simsvc.report.daily_plots import lost_by_day, service_level_heatmap  # noqa: E402
from simsvc.report.layout import MeasuredLayout  # noqa: E402
from simsvc.report.plots import (pool_staffing, service_level_by_time_of_day,  # noqa: E402
                                 volumes_by_interval)
from simsvc.report.wait_plots import wait_distribution  # noqa: E402
from test_report import (CHANNELS, synthetic_contacts, synthetic_intervals,  # noqa: E402
                         synthetic_pools)

TOLERANCE_PX = 1.0


def _drawn(fig):
    with style.context():
        canvas = FigureCanvasAgg(fig)
        fig.set_dpi(style.DPI)
        canvas.draw()
    return canvas.get_renderer()


def _overlap(a, b) -> float:
    """Area (px²) two boxes share."""
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(w, 0.0) * max(h, 0.0) if w > TOLERANCE_PX and h > TOLERANCE_PX else 0.0


def _check_laid_out(fig) -> None:
    """Every axes with its ticks, labels, title, legend and texts inside the figure and clear of
    every other axes; the suptitle, supylabel and figure legends clear of every axes. (Measured
    in the report's style, as drawn: the locators fit as many ticks as the tick labels' size
    lets them.)"""
    with style.context():
        _check_laid_out_here(fig, _drawn(fig))


def _check_laid_out_here(fig, renderer) -> None:
    page = fig.bbox
    axes = [ax for ax in fig.axes if ax.get_visible()]
    boxes = {ax: ax.get_tightbbox(renderer) for ax in axes}
    for ax, box in boxes.items():
        name = ax.get_title() or ax.get_label()
        assert box.x0 >= page.x0 - TOLERANCE_PX and box.x1 <= page.x1 + TOLERANCE_PX, (name, box, page)
        assert box.y0 >= page.y0 - TOLERANCE_PX and box.y1 <= page.y1 + TOLERANCE_PX, (name, box, page)
    for i, a in enumerate(axes):
        for b in axes[i + 1:]:
            assert _overlap(boxes[a], boxes[b]) == 0, (a.get_title(), b.get_title())
    figure_texts = [t for t in (fig._suptitle, fig._supylabel) if t is not None] + list(fig.legends)
    for text in figure_texts:
        box = text.get_window_extent(renderer)
        assert page.x0 - TOLERANCE_PX <= box.x0 and box.x1 <= page.x1 + TOLERANCE_PX
        assert page.y0 - TOLERANCE_PX <= box.y0 and box.y1 <= page.y1 + TOLERANCE_PX
        for ax in axes:
            assert _overlap(box, boxes[ax]) == 0, (getattr(text, "get_text", lambda: "legend")(),
                                                   ax.get_title())
    boxes_of_texts = [t.get_window_extent(renderer) for t in figure_texts]
    for i, a in enumerate(boxes_of_texts):   # the suptitle, supylabel and legends apart
        for b in boxes_of_texts[i + 1:]:
            assert _overlap(a, b) == 0, (a, b)


def _daily(days: int = 9):
    import pandas as pd

    week = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    rows = [(d, week[d % 7], ch, metric, float(d % 5 + k) * 1000)
            for ch in ("phone", "chat") for d in range(days)
            for k, metric in enumerate(("abandoned", "lost", "lost_closed"))]
    return pd.DataFrame(rows, columns=["day", "weekday", "channel", "metric", "mean"])


FIGURES = {
    "service_level": lambda: service_level_by_time_of_day(synthetic_intervals(), CHANNELS),
    "volumes": lambda: volumes_by_interval(synthetic_intervals(), CHANNELS, start_day="mon"),
    "volumes, one channel": lambda: volumes_by_interval(
        synthetic_intervals().query("channel == 'phone'"), {"phone": CHANNELS["phone"]}, start_day="mon"),
    "pools": lambda: pool_staffing(synthetic_pools(), start_day="mon"),
    "waits": lambda: wait_distribution(synthetic_contacts(), CHANNELS),
    "lost_by_day": lambda: lost_by_day(_daily(), CHANNELS),
    "heatmap": lambda: service_level_heatmap(synthetic_intervals(interval_s=1800.0), CHANNELS,
                                             1800.0, "mon"),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_report_figures_are_laid_out_by_their_texts(name: str) -> None:
    fig = FIGURES[name]()
    assert isinstance(fig.get_layout_engine(), MeasuredLayout)
    _check_laid_out(fig)


def _crowded():
    """A grid of three with long tick labels, a legend beside the first axes, a legend wider than
    the second inside it, long texts reaching out of the third, a suptitle, a supylabel and a
    figure legend below: what the layout has to make room for."""
    with style.context():
        fig = style.new_figure(height=4.0, width=12.0)
        axes = fig.subplots(1, 3)
        for i, ax in enumerate(axes):
            ax.plot([0, 1e6], [0, 123456.0 * (i + 1)], label=f"a longer series name {i}")
            ax.set_xlabel("x (contacts)")
            ax.set_ylabel("y (thousands of contacts)")
            ax.set_title(f"panel {i}")
            ax.yaxis.set_major_formatter(style.thousands_formatter())
        axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        axes[1].legend(loc="upper left", fontsize=16)   # wider than its axes
        axes[2].text(1.02, 0.5, "a note beside the axes, long enough", transform=axes[2].transAxes)
        fig.supylabel("the figure's y label")
        fig.suptitle("A crowded figure", x=0.01, ha="left")
        fig.legend(handles=axes[0].lines, loc="outside lower center")
    return fig


def test_a_crowded_figure_keeps_everything_inside_and_apart() -> None:
    _check_laid_out(_crowded())


def test_the_layout_is_the_same_at_every_draw() -> None:
    fig = _crowded()
    _drawn(fig)
    first = np.array([ax.get_position().bounds for ax in fig.axes])
    _drawn(fig)
    assert np.array([ax.get_position().bounds for ax in fig.axes]) == pytest.approx(first, abs=1e-12)


def test_what_it_cannot_place_falls_back_to_the_constrained_layout() -> None:
    """A colour bar placed beside an axes (not in a grid cell) and a nested grid: the positions the
    constrained layout gives."""
    def figure(engine):
        with style.context():
            fig = style.new_figure(height=3.0, width=6.0)
            fig.set_layout_engine(engine)
            ax, heat = fig.subplots(1, 2)
            ax.plot([0, 1], [0, 1])
            image = heat.imshow(np.arange(12.0).reshape(3, 4))
            fig.colorbar(image, ax=heat)
        return fig

    ours, theirs = figure(MeasuredLayout()), figure(ConstrainedLayoutEngine())
    _drawn(ours)
    _drawn(theirs)
    assert np.array([ax.get_position().bounds for ax in ours.axes]) == pytest.approx(
        np.array([ax.get_position().bounds for ax in theirs.axes]))


def test_the_installed_matplotlib_is_laid_out_by_the_texts_not_the_fallback() -> None:
    """The layout reads private attributes of matplotlib and falls back to the constrained layout
    where one is missing; with the matplotlib installed here it must not need to."""
    fig = _crowded()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    assert MeasuredLayout()._measure_and_place(fig) is True


def test_a_missing_private_attribute_gives_the_constrained_layout(monkeypatch) -> None:
    """A matplotlib release without an attribute the layout reads gets the constrained layout, not
    an error."""
    import simsvc.report.layout as layout

    def missing(fig):
        raise AttributeError("'Figure' object has no attribute '_suptitle'")

    def figure():
        with style.context():
            fig = style.new_figure(height=3.0, width=6.0)
            fig.subplots(1, 2)[0].plot([0, 1], [0, 1])
        return fig

    theirs = figure()
    theirs.set_layout_engine(ConstrainedLayoutEngine())
    _drawn(theirs)
    ours = figure()
    monkeypatch.setattr(layout, "_one_grid", missing)
    _drawn(ours)
    assert np.array([ax.get_position().bounds for ax in ours.axes]) == pytest.approx(
        np.array([ax.get_position().bounds for ax in theirs.axes]))


def test_minor_marks_skip_the_major_ticks_and_follow_shared_axes() -> None:
    with style.context():
        fig = style.new_figure(rows=2)
        top, bottom = fig.subplots(2, 1, sharex=True)
        bottom.plot([0, 24], [0, 1])
        style.format_clock_axis(bottom, 0, 24)
    for ax in (top, bottom):
        marks = [line for line in ax.lines if line.get_label() == "_minor ticks"]
        assert len(marks) == 1
        x = marks[0].get_xdata()
        # every half hour but the majors (every 3 h with a day's span: minor every hour)
        assert list(x) == [h for h in range(25) if h % 3]
    assert not bottom.get_legend_handles_labels()[0][1:]   # the marks are no legend entry


def test_a_y_axis_offset_text_keeps_the_title_above_it() -> None:
    """Titles sit at the top of their axes (style.RC), unless the y axis shows an offset text
    ("1e7"): then the title goes above it, and the layout leaves room for both."""
    with style.context():
        fig = style.new_figure(rows=2)
        top, bottom = fig.subplots(2, 1)
        top.plot([0, 1], [2.0e7, 2.5e7])
        top.set_title("large counts")
        bottom.plot([0, 1], [0, 1])
        bottom.set_title("small counts")
        renderer = _drawn(fig)
        offset = top.yaxis.offsetText
        assert offset.get_text()
        assert _overlap(offset.get_window_extent(renderer), top.title.get_window_extent(renderer)) == 0
        assert top.title.get_window_extent(renderer).y0 >= offset.get_window_extent(renderer).y1 - TOLERANCE_PX
        _check_laid_out_here(fig, renderer)
