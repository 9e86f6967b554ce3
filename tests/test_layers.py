"""The core's dependencies run one way: model → observe → domain → config.

Checked on the source (every ``import`` statement, including those inside
functions), so a lazy import cannot hide a dependency running the wrong way.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "simsvc"

# package → simsvc packages it must not import
FORBIDDEN = {
    "domain": {"model", "observe", "experiment", "report", "cli", "analytic"},
    "observe": {"model", "experiment", "report", "cli"},
    "model": {"experiment", "report", "cli"},
}


def _simsvc_imports(path: Path) -> set[str]:
    """Top-level simsvc packages imported anywhere in the module at ``path``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "simsvc" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_run_one_way(package):
    modules = sorted((PKG / package).glob("*.py"))
    assert modules, f"no modules in simsvc/{package}"
    wrong = {m.name: sorted(_simsvc_imports(m) & FORBIDDEN[package]) for m in modules}
    assert not {k: v for k, v in wrong.items() if v}


def test_the_check_sees_a_wrong_way_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from simsvc.model.centre import simulate\n")
    assert _simsvc_imports(bad) == {"model"}


def _model_modules_imported(path: Path) -> set[str]:
    """Modules of ``simsvc.model`` that the module at ``path`` imports (at run time or for types)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("simsvc.model."):
                found.add(node.module.split(".")[2])
            elif node.module == "simsvc.model":
                found.update(a.name for a in node.names)
    return found


def test_the_rooms_do_not_know_the_loop_that_ties_them():
    """Only the event loop (centre.py) imports the rooms it mixes in; no room imports it,
    so each room reads on its own and there is no import cycle through the centre."""
    importers = {m.name for m in (PKG / "model").glob("*.py") if "centre" in _model_modules_imported(m)}
    assert importers == set()
    rooms = _model_modules_imported(PKG / "model" / "centre.py")
    assert {"agents", "reserve", "waiting", "followups", "bot", "duty", "channels", "demand", "events", "journey"} <= rooms


def test_model_modules_fit_in_one_sitting():
    sizes = {m.name: len(m.read_text().splitlines()) for m in (PKG / "model").glob("*.py")}
    assert max(sizes.values()) <= 450, sizes
