"""Staffing plans over the simulator: analytic requirements, staffing by simulation.

``requirements`` answers what an Erlang calculator would staff per pool × interval;
``staff`` finds the fewest agents that meet per-interval targets in simulation
(the iterative staffing algorithm). Both build scenarios and call the public run
API; the model knows nothing of them.
"""
from __future__ import annotations


class PlanError(ValueError):
    """Bad planning input (a target, a rule, a table): one clear message for the user."""


def no_availability(scenario, pools: list[str], command: str) -> None:
    """``staff`` and ``roster`` plan whole agents after a constant shrinkage; a pool with
    availability per interval would be planned as if it had none, so it is refused."""
    have = [p for p in pools if p in scenario.agents and scenario.agents[p].availability is not None]
    if have:
        raise PlanError(f"{command}: pool{'s' if len(have) > 1 else ''} {', '.join(map(repr, have))} "
                        "ha" + ("ve" if len(have) > 1 else "s") + " availability per interval, which "
                        f"{command} does not plan for yet; remove agents.<pool>.availability (use shrinkage) "
                        "or plan with `simsvc requirements`, which grosses up by availability")
