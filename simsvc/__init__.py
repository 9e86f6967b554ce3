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

import os as _os

# Arrow's C++ allocator is chosen once, when pyarrow is first imported (pandas imports it),
# and the Parquet writer's page and compression buffers come from it whatever pyarrow's
# ``set_memory_pool`` says. Its default, mimalloc, keeps the pages of every row group a
# run writes: ~25 MB more at the peak of a 1M-contact run (issue 13). The C library's
# malloc returns them. Only where the buffers come from changes, not what is written; a
# value set by the user is kept. See simsvc.experiment.output._use_system_allocator.
_os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

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
