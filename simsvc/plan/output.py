"""Writing a planning folder atomically: everything appears at once or not at all."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd


def check_out_dir(out: str | Path) -> Path:
    """The folder must not exist yet, or be empty (raises FileExistsError otherwise)."""
    path = Path(out)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise FileExistsError(f"{path} already exists and is not empty; choose another --out")
    return path


def write_folder(out: str | Path, files: dict[str, str | bytes | pd.DataFrame]) -> Path:
    """Write ``files`` (name -> text, bytes or a table written as CSV) into a new folder ``out``."""
    path = check_out_dir(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        for name, content in files.items():
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, pd.DataFrame):
                content.to_csv(target, index=False, float_format="%.6g")
            elif isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        if path.exists():
            path.rmdir()
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def default_out(scenario_name: str, kind: str) -> Path:
    from simsvc.experiment.output import default_out_dir

    return default_out_dir(Path("results") / kind, scenario_name)
