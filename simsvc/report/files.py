"""Writing a report's files: ``plots/*.png`` (and ``*.svg``, ``--svg``) and ``report.html``, each atomically.

Kept apart from the drawing (no matplotlib here), so a run whose report is drawn by
another process (:mod:`simsvc.report.aside`) writes the files without importing it.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable

REPORT_NAME = "report.html"
PLOTS_DIR = "plots"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())   # mkstemp makes it private; these are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def plots_problem(path: Path) -> str | None:
    """Why ``path/plots`` cannot hold a report's plots, or None: it must be a folder of the
    results folder itself. A symbolic link there (to a folder elsewhere) would have the
    report write, and remove stale plots, outside the results folder."""
    plots = path / PLOTS_DIR
    if plots.is_symlink():
        return (f"{plots}: is a symbolic link (to {os.readlink(plots)}); a report writes only inside its "
                "results folder: remove the link")
    if plots.exists() and not plots.is_dir():
        return f"{plots}: is a file, not a folder; a report writes its plots there: remove or rename it"
    return None


def write_files(path: Path, files: dict[str, bytes], skipped: Iterable[str], text: str) -> Path:
    """The plots' files and report.html, each written atomically; the files of the plots
    ``skipped`` (their keys) are removed, and so is the SVG of a plot written as PNG only,
    so that no file survives from an earlier report (an SVG of an earlier ``--svg`` report
    would no longer match its PNG)."""
    problem = plots_problem(path)
    if problem is not None:
        raise ValueError(problem)
    plots = path / PLOTS_DIR
    if files:
        plots.mkdir(exist_ok=True)
        for name, data in files.items():
            atomic_write(plots / name, data)
    stale = [f"{key}.{ext}" for key in skipped for ext in ("png", "svg")]
    stale += [f"{name[:-4]}.svg" for name in files if name.endswith(".png") and f"{name[:-4]}.svg" not in files]
    for name in stale:
        (plots / name).unlink(missing_ok=True)
    report = path / REPORT_NAME
    atomic_write(report, text.encode("utf-8"))
    return report
