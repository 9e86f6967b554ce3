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
        kind, manifest = "experiment", _manifest(root / "experiment.json")
        _check_experiment(manifest, root / "experiment.json")
        table = root / ("points.csv" if (root / "points.csv").is_file() else "summary.csv")
    elif (root / "manifest.json").is_file():
        kind, manifest = "run", _manifest(root / "manifest.json")
        table = root / "summary.csv"
    else:
        raise FileNotFoundError(f"{root} holds neither a run (manifest.json) nor an experiment (experiment.json)")
    runs = [p for p in files if p.parent.parent == root / "runs" and p.suffix == ".parquet"]
    listed = [p for p in files if p.parent.parent != root / "runs"]
    # An experiment whose manifest does not say "complete" was interrupted or is still
    # running: a summary.csv or points.csv beside it belongs to an earlier run, not this one.
    complete = kind == "run" or manifest.get("status") == "complete"
    return {
        "folder": str(root),
        "kind": kind,
        "manifest": manifest,
        "complete": complete,
        "expected_replications": _expected(manifest) if kind == "experiment" else None,
        "files": [(str(p.relative_to(root)), p.stat().st_size) for p in listed],
        "stored_replications": len(runs),
        "summary": _table(table, kind) if complete and table.is_file() else pd.DataFrame(),
        "table": table.name,
        "table_present": table.is_file(),
    }


def _table(file: Path, kind: str) -> pd.DataFrame:
    """summary.csv or points.csv with its columns and numbers checked; ValueError naming the
    file and what is wrong when it is damaged."""
    from simsvc.report.data import (
        NUMBER_COLUMNS,
        SUMMARY_COLUMNS,
        ReportError,
        _first_line,
        _require,
        check_numbers,
    )

    try:
        frame = pd.read_csv(file)
    except Exception as exc:  # noqa: BLE001 - pandas raises many kinds
        raise ValueError(f"{file}: cannot be read as CSV ({_first_line(exc)})") from None
    # points.csv: each metric@channel column with its CI columns
    paired = [c for c in frame.columns if f"{c}_ci_low" in frame.columns]
    numbers = tuple(dict.fromkeys([*NUMBER_COLUMNS, *paired, *(f"{c}_ci_low" for c in paired),
                                   *(f"{c}_ci_high" for c in paired if f"{c}_ci_high" in frame.columns)]))
    try:
        if file.name == "summary.csv":
            _require(frame, SUMMARY_COLUMNS if kind == "run" else ("variant",) + SUMMARY_COLUMNS, file)
        return check_numbers(frame, file, numbers)
    except ReportError as exc:
        raise ValueError(str(exc)) from None


def _manifest(path: Path) -> dict:
    """A manifest as a dict; ValueError naming the file if it is damaged."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: damaged, not the JSON simsvc writes ({exc.__class__.__name__} "
                         f"at {getattr(exc, 'lineno', '?')}:{getattr(exc, 'colno', '?')})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: damaged, not the JSON object simsvc writes")
    return data


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_experiment(manifest: dict, path: Path) -> None:
    """The fields of experiment.json that are read back (variants, replications) have the types
    simsvc writes; ValueError naming the file and the field otherwise."""
    def damaged(field: str, value: object, expected: str) -> ValueError:
        shown = json.dumps(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return ValueError(f"{path}: damaged: {field} is {shown}, expected {expected}")

    variants = manifest.get("variants")
    if not isinstance(variants, dict):
        raise damaged("variants", variants, "an object of variants by name")
    if "replications" in manifest and not _whole(manifest["replications"]):
        raise damaged("replications", manifest["replications"], "a whole number")
    if "replications_per_variant" in manifest:
        per_variant = manifest["replications_per_variant"]
        if not isinstance(per_variant, dict):
            raise damaged("replications_per_variant", per_variant, "an object of replications by variant")
        for key, n in per_variant.items():
            if not _whole(n):
                raise damaged(f"replications_per_variant.{key}", n, "a whole number")


def _expected(manifest: dict) -> int | None:
    per_variant = manifest.get("replications_per_variant")
    if isinstance(per_variant, dict):
        return sum(int(n) for n in per_variant.values())
    variants, reps = manifest.get("variants"), manifest.get("replications")
    if isinstance(variants, dict) and isinstance(reps, int):
        return len(variants) * reps
    return None


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
