"""Where results go, safely: one place that turns names into folders and checks them first.

Every command builds its default output folder with :func:`results_folder`, which
derives folder names from labels (:func:`simsvc.config.names.folder_name`) and
verifies that the result stays inside the results root, so a scenario or
experiment ``name`` can never write elsewhere. :func:`check_output` is called
before any simulation starts: the folder's nearest existing parent must be
writable and have room for a rough estimate of the output. The writers use
:func:`fsync_file` and :func:`fsync_dir` so that a rename only ever publishes
flushed data, and :func:`leftover_temporaries` finds the hidden temporary folders
of writers that were killed. Every folder a command writes is built in a
:func:`temporary_beside` folder and published by :func:`place` (directly, or
through :func:`write_folder` for folders of small files).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from simsvc.config.names import folder_name

RESULTS_ROOT = "results"
FREE_SPACE_MARGIN = 1.5  # ask for 50 % more than the estimate: the estimate is rough


class OutputError(Exception):
    """The output folder cannot be used; the message says why and what to do."""


def results_folder(root: str | Path, *labels: str) -> Path:
    """``root/<folder>/<folder>…`` with one safe folder name per label; never outside ``root``."""
    base = Path(root)
    path = base.joinpath(*(folder_name(label) for label in labels))
    resolved_base = base.resolve()
    if resolved_base not in path.resolve().parents and path.resolve() != resolved_base:
        raise OutputError(f"{path} would lie outside {base}")  # unreachable with folder_name; kept as a guard
    return path


def timestamped(folder: str | Path) -> Path:
    """A new ``folder/<UTC timestamp>`` (with ``-1``, ``-2``… if taken)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path, n = Path(folder) / stamp, 1
    while path.exists():
        path, n = Path(folder) / f"{stamp}-{n}", n + 1
    return path


def check_output(folder: str | Path, need_bytes: float = 0, option: str = "--out") -> None:
    """Raise OutputError unless ``folder`` can be created (or written) with ``need_bytes`` free."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{option} {folder}: is a file, not a folder")
    link = _link_inside(folder)
    if link is not None:
        raise OutputError(f"{option} {folder}: {link} is a symbolic link (to {os.readlink(link)}); results are "
                          "written only inside the folder: remove the link")
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{option} {folder}: {existing} is a file, so the folder cannot be created")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {folder}: {existing} is not writable (choose another --out)")
    try:
        free = shutil.disk_usage(existing).free
    except OSError:
        return
    need = need_bytes * FREE_SPACE_MARGIN
    if need > free:
        raise OutputError(f"{option} {folder}: about {_mb(need)} needed but {_mb(free)} free on {existing} "
                          "(free space, choose another --out, or use --no-contacts)")


def _link_inside(folder: Path) -> Path | None:
    """A symbolic link among what a resumed folder's writers follow (its entries, and the
    entries of its folders: an experiment's ``runs/<variant>``, a report's ``plots``), or None.
    Through one, a resumed experiment would store replications in the folder it points to."""
    if not folder.is_dir():
        return None
    for entry in folder.iterdir():
        if entry.is_symlink():
            return entry
        if entry.is_dir():
            for inner in entry.iterdir():
                if inner.is_symlink():
                    return inner
    return None


def _mb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e9 else f"{n / 1e6:,.0f} MB"


def fsync_file(path: str | Path) -> None:
    """Flush a written file to disk (before it is renamed into place)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str | Path) -> None:
    """Flush a folder's entries (after a rename into it), where the platform allows."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems do not sync directories
    finally:
        os.close(fd)


def fsync_tree(root: str | Path) -> None:
    """Flush every file and folder under ``root`` (a results folder before its final rename)."""
    root = Path(root)
    for path in sorted(root.rglob("*")):
        if path.is_file():
            fsync_file(path)
    for path in [*(p for p in root.rglob("*") if p.is_dir()), root]:
        fsync_dir(path)


def leftover_temporaries(parent: str | Path) -> list[Path]:
    """Hidden ``.*.tmp`` folders in ``parent``: what a writer killed mid-write leaves behind."""
    parent = Path(parent)
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.glob(".*.tmp") if p.is_dir())


def empty_or_new(out: str | Path) -> Path:
    """``out`` as a Path; FileExistsError unless it does not exist yet or is an empty folder."""
    path = Path(out)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise FileExistsError(f"{path} already exists and is not empty; choose another --out")
    return path


def temporary_beside(out: Path) -> Path:
    """A new hidden ``.<name>.*.tmp`` folder next to ``out`` (where :func:`leftover_temporaries`
    looks), with ordinary permissions (``mkdtemp`` makes it private)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    return tmp


def place(tmp: Path, out: Path) -> None:
    """Publish the finished folder ``tmp`` as ``out`` (absent or empty): flushed first,
    so a power loss cannot leave half files under the final name."""
    fsync_tree(tmp)
    if out.exists():
        out.rmdir()
    os.replace(tmp, out)
    fsync_dir(out.parent)


def write_folder(out: str | Path, files: dict, float_format: str | None = None) -> Path:
    """Write ``files`` (name -> text, bytes or a DataFrame written as CSV) as the new folder
    ``out``, atomically: everything appears at once or, on any failure, nothing."""
    path = empty_or_new(out)
    tmp = temporary_beside(path)
    try:
        for name, content in files.items():
            if Path(name).is_absolute() or ".." in Path(name).parts:   # names derive from input
                raise ValueError(f"refusing to write {name!r}: a file of the folder must stay inside it")
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, (str, bytes)):
                target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
            else:
                content.to_csv(target, index=False, float_format=float_format)
        place(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path
