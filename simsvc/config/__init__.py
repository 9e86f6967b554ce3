"""Scenario configuration: schema, units, loading, validation."""
from simsvc.config.load import (
    ScenarioError,
    apply_overrides,
    load_scenario,
    scenario_dict,
    scenario_hash,
    scenario_yaml,
    validate,
)
from simsvc.config.schema import Scenario

__all__ = [
    "Scenario", "ScenarioError", "apply_overrides", "load_scenario", "scenario_dict",
    "scenario_hash", "scenario_yaml", "validate",
]
