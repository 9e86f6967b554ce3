"""Comparing two customer views field by field (tests of the view's faster paths)."""
from __future__ import annotations

import dataclasses

import numpy as np

from simsvc.observe.records import ComputedColumn


def assert_same_view(view, other) -> None:
    """Every field of ``other`` equals ``view``'s: arrays (computed columns compared whole) value
    for value with the same dtype, the rest by ``==``."""
    for field in dataclasses.fields(view):
        a, b = getattr(view, field.name), getattr(other, field.name)
        if isinstance(a, (np.ndarray, ComputedColumn)):  # a computed column: compared whole
            assert a.dtype == b.dtype, field.name
            np.testing.assert_array_equal(a, b, err_msg=field.name)
        else:
            assert a == b, field.name
