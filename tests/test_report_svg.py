"""SVG copies of the report's plots are opt-in (``--svg``, ``svg=True``): without it the SVG is
not rendered at all and none is left from an earlier report; with it, the same SVG bytes as
``render.render`` gives (savefig's bytes, ``tests/test_report_render.py``)."""
from __future__ import annotations

import shutil
from pathlib import Path

import matplotlib
import pytest
from click.testing import CliRunner

matplotlib.use("Agg")

from simsvc.cli import main  # noqa: E402
from simsvc.report import render, write_report  # noqa: E402
from simsvc.report.build import run_blocks  # noqa: E402
from simsvc.report.data import load_run  # noqa: E402

ERLANG_A = Path(__file__).resolve().parents[1] / "scenarios" / "erlang_a_check.yaml"
ARGS = ["--reps", "1", "--workers", "1", "--seed", "3", "--set", "horizon=4h", "--set", "warmup=1h"]
SVG_NOTE = " and <code>.svg</code>"


@pytest.fixture(scope="module")
def svg_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``simsvc run --svg``: its report drawn by the report process forked before the run."""
    out = tmp_path_factory.mktemp("svg") / "run"
    result = CliRunner().invoke(main, ["run", str(ERLANG_A), *ARGS, "--svg", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _plots(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "plots").iterdir())}


def test_run_svg_writes_an_svg_beside_every_png(svg_run: Path) -> None:
    names = set(_plots(svg_run))
    pngs = {name for name in names if name.endswith(".png")}
    assert len(pngs) >= 6 and names == pngs | {name[:-4] + ".svg" for name in pngs}
    text = (svg_run / "report.html").read_text(encoding="utf-8")
    assert text.count(SVG_NOTE) == len(pngs)


def test_without_svg_the_svg_is_not_even_rendered(monkeypatch: pytest.MonkeyPatch) -> None:
    """A report's figures render without savefig when no SVG is asked for (the SVG is
    render()'s only savefig), and Plots keeps PNGs only."""
    from matplotlib.figure import Figure

    from simsvc.report import html, style

    plots = render.Plots()
    for key in ("a", "b"):
        with style.context():
            fig = style.new_figure(height=2.0, width=3.0)
            fig.add_subplot().plot([0, 1, 3], label=key)
        plots.add(html.Block(key, key), fig)

    def no_svg(*args, **kwargs):
        raise AssertionError("an SVG was rendered")

    monkeypatch.setattr(Figure, "savefig", no_svg)
    monkeypatch.setattr(render, "RENDER_PROCESSES", 0)   # in this process, where the patch holds
    plots.render()
    assert sorted(plots.files) == ["a.png", "b.png"]
    assert all(data[:8] == b"\x89PNG\r\n\x1a\n" for data in plots.files.values())


def test_a_report_without_svg_removes_the_earlier_svgs(svg_run: Path, tmp_path: Path) -> None:
    """The same PNGs and page (less its mentions of the SVGs), and no SVG left that would no
    longer match its PNG."""
    folder = tmp_path / "run"
    shutil.copytree(svg_run, folder)
    text = write_report(folder).read_text(encoding="utf-8")
    assert _plots(folder) == {name: data for name, data in _plots(svg_run).items() if name.endswith(".png")}
    old = (svg_run / "report.html").read_text(encoding="utf-8").replace(str(svg_run), str(folder))
    assert ".svg" not in text and text == old.replace(SVG_NOTE, "")


def test_report_svg_gives_the_run_s_svg_bytes_which_are_render_s(svg_run: Path, tmp_path: Path) -> None:
    folder = tmp_path / "run"
    shutil.copytree(svg_run, folder, ignore=shutil.ignore_patterns("plots", "report.html"))
    result = CliRunner().invoke(main, ["report", str(folder), "--svg"])
    assert result.exit_code == 0, result.output
    written = _plots(svg_run)
    assert _plots(folder) == written   # the report process's files, byte for byte
    # render()'s SVG (savefig's bytes: tests/test_report_render.py), for a figure drawn afresh
    plots = render.Plots(svg=True)
    run_blocks(load_run(folder), plots)
    block, fig = plots._drawn[0]
    assert written[f"{block.key}.svg"] == render.render(fig)[1]


def test_run_svg_without_a_report_process(svg_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Drawn in the run's own process (no fork): the option reaches that path too."""
    from simsvc.report import aside

    monkeypatch.setattr(aside, "available", lambda: False)
    here = tmp_path / "here"
    result = CliRunner().invoke(main, ["run", str(ERLANG_A), *ARGS, "--svg", "--out", str(here)])
    assert result.exit_code == 0, result.output
    assert _plots(here) == _plots(svg_run)


@pytest.mark.parametrize("command", [["compare", "a.yaml", "b.yaml"], ["sweep", "a.yaml", "--vary", "seed=1,2"],
                                     ["experiment", "e.yaml"], ["run", "a.yaml"]])
def test_every_report_command_takes_svg_but_not_with_no_report(command: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(main, command + ["--svg", "--no-report", "--out", str(tmp_path / "none")])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: --svg") and "--no-report" in result.stderr
    assert not (tmp_path / "none").exists()
