"""Reading a results folder back: what it holds and its summary table."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def describe(folder: str | Path) -> dict:
    """Kind (run or experiment), its manifest facts, the files with sizes, and the summary."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    if (root / "experiment.json").is_file():
        kind, manifest = "experiment", json.loads((root / "experiment.json").read_text(encoding="utf-8"))
        table = root / ("points.csv" if (root / "points.csv").is_file() else "summary.csv")
    elif (root / "manifest.json").is_file():
        kind, manifest = "run", json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        table = root / "summary.csv"
    else:
        raise FileNotFoundError(f"{root} holds neither a run (manifest.json) nor an experiment (experiment.json)")
    runs = [p for p in files if p.parent.parent == root / "runs"]
    listed = [p for p in files if p not in runs]
    return {
        "folder": str(root),
        "kind": kind,
        "manifest": manifest,
        "files": [(str(p.relative_to(root)), p.stat().st_size) for p in listed],
        "stored_replications": len(runs),
        "summary": pd.read_csv(table) if table.is_file() else pd.DataFrame(),
    }


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-style table without extra dependencies."""
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:.6g}"
        return str(v)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])
