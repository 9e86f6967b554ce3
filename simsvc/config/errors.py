"""The one error type for unusable input: where (file or option, field path), what, what is allowed.

Kept in its own module so that the low-level readers (:mod:`.yamlio`, :mod:`.names`)
can raise it without importing the loader.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

# At most this many problems of one file are reported at once (the first is the headline).
MAX_PROBLEMS = 10


@dataclass
class ScenarioError(Exception):
    """A scenario (or experiment, or option) that cannot be used, with where and why.

    ``others`` holds further problems of the same input as ``(path, value, allowed)``;
    ``str()`` is the first problem on one line, ``details()`` lists the others.
    """

    file: str
    path: str
    value: object
    allowed: str
    more: int = 0
    others: list[tuple[str, object, str]] = field(default_factory=list)
    show_value: bool = True

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        field_ = self.path or "(top level)"
        more = self.more or len(self.others)
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        if not self.show_value:
            return f"{where}{field_}: expected {self.allowed}{tail}"
        return f"{where}{field_} = {short(self.value)}: expected {self.allowed}{tail}"

    def details(self) -> list[str]:
        """The further problems, one line each (empty when there is only one)."""
        return [f"{p or '(top level)'} = {short(v)}: expected {a}" for p, v, a in self.others]


def short(value: object, limit: int = 80) -> str:
    """A value as it appears in a message: strings quoted, the rest as JSON, cut to ``limit``."""
    try:
        text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    except (ValueError, RecursionError):  # a self-referencing structure
        text = "(a recursive structure)"
    return text if len(text) <= limit else text[: limit - 3] + "..."
