"""Closed-form queueing models (Erlang B, C and A) and staffing calculations."""
from __future__ import annotations

from simsvc.analytic.erlang import QueueMetrics, erlang_b, erlang_c, mmc, mmcc
from simsvc.analytic.erlang_a import mmc_m
from simsvc.analytic.staffing import MODELS, agents_needed

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
