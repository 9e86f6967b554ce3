"""simsvc: discrete-event simulator of customer service.

The library API, for notebooks and scripts::

    import simsvc
    scenario = simsvc.load_scenario("scenarios/baseline.yaml", overrides=["agents.generalists.staffing.shifts.0.agents=40"])
    result = simsvc.run(scenario, replications=5, seed=1)
    result.summary          # channel, metric, mean, ci_low, ci_high, reps
    result.intervals        # per replication × interval × channel
    simsvc.write_results(result, "results/my-run")   # only when asked
    # or stream each replication's tables to a folder as it finishes (flat memory):
    result = simsvc.run(scenario, replications=50, seed=1, out="results/big-run")
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "Scenario", "ScenarioError", "RunResult", "load_scenario", "validate", "run",
    "run_replication", "write_results", "scenario_yaml",
]

# Names are imported on first use so that `simsvc --help` and `simsvc erlang`
# start without loading pandas and SimPy.
_LAZY = {
    "Scenario": "simsvc.config.schema",
    "ScenarioError": "simsvc.config.load",
    "load_scenario": "simsvc.config.load",
    "validate": "simsvc.config.load",
    "scenario_yaml": "simsvc.config.load",
    "RunResult": "simsvc.experiment.runner",
    "run": "simsvc.experiment.runner",
    "run_replication": "simsvc.experiment.runner",
    "write_results": "simsvc.experiment.output",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'simsvc' has no attribute {name!r}")
