"""Errors a run raises when its own numbers go wrong (not the scenario file's wording)."""
from __future__ import annotations


class SimulationError(RuntimeError):
    """The simulation reached a state it must not continue from.

    Raised, for example, when a NaN, infinite or negative delay reaches the
    scheduling path (a duration that slipped past validation): the run stops
    with the cause named instead of finishing early with short, wrong results.
    """
