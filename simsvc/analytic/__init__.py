"""Closed-form queueing models (Erlang B, C and A) and staffing calculations."""
from __future__ import annotations

from simsvc.analytic.erlang import (
    MODELS,
    QueueMetrics,
    agents_needed,
    erlang_b,
    erlang_c,
    mmc,
    mmc_m,
    mmcc,
)

__all__ = [
    "MODELS",
    "QueueMetrics",
    "agents_needed",
    "erlang_b",
    "erlang_c",
    "mmc",
    "mmc_m",
    "mmcc",
]
