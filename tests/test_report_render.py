"""`report.render.render` draws a figure's PNG once and its SVG once (savefig draws each twice):
the files must be what savefig gives, the SVG byte for byte and the PNG pixel for pixel."""
from __future__ import annotations

from io import BytesIO

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from PIL import Image  # noqa: E402

from simsvc.report import render, style  # noqa: E402


def _saved(fig) -> tuple[bytes, bytes]:
    """What rendering was before: savefig for the PNG, then the SVG with the layout kept."""
    with style.context():
        png, svg = BytesIO(), BytesIO()
        fig.savefig(png, format="png", dpi=style.DPI, metadata={"Software": None})
        fig.set_layout_engine("none")
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": "simsvc"})
    return png.getvalue(), svg.getvalue()


def _panels(transparent: bool = False):
    """Two panels with titles, a legend outside, a band, a colour bar: what the constrained
    layout has to make room for, as in the report's figures."""
    with style.context():
        fig = style.new_figure(height=3.0, width=5.0)
        if transparent:
            fig.patch.set_alpha(0.0)
        ax, heat = fig.subplots(1, 2)
        x = np.linspace(0, 24, 97)
        ax.plot(x, 0.8 + 0.1 * np.sin(x / 3), label="phone (SL: answered ≤ 20 s)")
        ax.fill_between(x, 0.7, 0.9, alpha=0.2, lw=0)
        ax.axhline(0.8, ls="--", label="target 80 %")
        ax.set_title("Service level by time of day")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        image = heat.imshow(np.arange(28.0).reshape(4, 7) / 28, aspect="auto", vmin=0, vmax=1)
        fig.colorbar(image, ax=heat)
        fig.suptitle("A figure", x=0.01, ha="left")
    return fig


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(BytesIO(png)).convert("RGBA"))


@pytest.mark.parametrize("transparent", [False, True])
def test_render_gives_savefigs_svg_bytes_and_png_pixels(transparent: bool) -> None:
    png, svg = render.render(_panels(transparent))
    old_png, old_svg = _saved(_panels(transparent))
    assert svg == old_svg
    assert np.array_equal(_pixels(png), _pixels(old_png))
    picture = Image.open(BytesIO(png))
    assert picture.mode == ("RGBA" if transparent else "RGB")   # alpha kept only where it says something
    assert picture.info["dpi"] == Image.open(BytesIO(old_png)).info["dpi"]
    assert not any(key in picture.info for key in ("Software", "Creation Time"))


def test_render_leaves_the_figure_as_it_was_and_renders_again_alike() -> None:
    fig = _panels()
    canvas, dpi = fig.canvas, fig.dpi
    first = render.render(fig)
    assert fig.canvas is canvas and fig.dpi == dpi
    assert tuple(fig.get_facecolor()) == (1.0, 1.0, 1.0, 1.0)
    assert render.render(fig) == first   # the layout kept from the first rendering
