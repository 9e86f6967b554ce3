"""Names are labels: what a scenario or experiment ``name`` may hold, and the folder it becomes.

A name is shown in tables and reports and becomes part of a results folder's
path. It is validated here as a label (a safe character set and a length), and
every folder name is derived from a label by :func:`folder_name`, so that no
name (``../../x``, an absolute path, a NUL, 300 characters) can reach outside
the results folder. :mod:`simsvc.experiment.safepath` builds paths from these.
"""
from __future__ import annotations

import hashlib
import re

LABEL_MAX = 100
LABEL_HELP = (f"a name of 1 to {LABEL_MAX} characters: letters, digits, space and _ - . , + ( ) [ ] # @ =, "
              "starting with a letter or digit (no / or \\: a name is a label, not a path)")
_LABEL = re.compile(r"[^\W_][\w .,+()\[\]#@=-]*")
FOLDER_MAX = 80


def check_label(text: str) -> str:
    """``text`` if it is a valid label, else ValueError with what is allowed."""
    if not isinstance(text, str) or not 1 <= len(text) <= LABEL_MAX or not _LABEL.fullmatch(text):
        raise ValueError(LABEL_HELP)
    return text


def folder_name(label: str) -> str:
    """A folder name for ``label``: ASCII letters, digits, ``.``, ``_``, ``-``; never ``.``/``..``.

    Long or emptied labels keep a short hash of the original, so different labels
    stay different folders.
    """
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", str(label)).strip("-.")
    digest = hashlib.sha256(str(label).encode("utf-8", "surrogatepass")).hexdigest()[:10]
    if not slug:
        return f"unnamed-{digest}"
    if len(slug) > FOLDER_MAX:
        return f"{slug[:FOLDER_MAX - 11].rstrip('-.')}-{digest}"
    return slug


_PLAIN_FILE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def file_stem(label: str) -> str:
    """A file-name stem for ``label`` where a written file is named after a pool or a channel
    (``staffing_<pool>.csv``): the label itself where it is already ASCII letters, digits,
    ``.``, ``_``, ``-`` (not starting with ``.``) and at most :data:`FOLDER_MAX` long; else
    its slug and a short hash of the original. Pool and channel names are keys of the
    scenario, not labels, so they may hold ``/`` or ``..``: derived this way no name
    reaches outside its folder, and no two names share a file (``a/b`` and ``a b`` would
    both slug to ``a-b``)."""
    text = str(label)
    if len(text) <= FOLDER_MAX and _PLAIN_FILE.fullmatch(text):
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    slug = re.sub(r"[^A-Za-z0-9._-]+|\.{2,}", "-", text)
    slug = re.sub(r"-{2,}", "-", slug).strip("-.")[:FOLDER_MAX - 11].rstrip("-.")
    return f"{slug}-{digest}" if slug else f"unnamed-{digest}"
