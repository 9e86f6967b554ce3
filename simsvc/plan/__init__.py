"""Staffing plans over the simulator: analytic requirements, staffing by simulation.

``requirements`` answers what an Erlang calculator would staff per pool × interval;
``staff`` finds the fewest agents that meet per-interval targets in simulation
(the iterative staffing algorithm). Both build scenarios and call the public run
API; the model knows nothing of them.
"""
from __future__ import annotations


class PlanError(ValueError):
    """Bad planning input (a target, a rule, a table): one clear message for the user."""

