"""Options and output helpers shared by the planning commands (requirements, staff)."""
from __future__ import annotations

import click

from simsvc.cli._common import FiniteFloat, fail

target_option = click.option(
    "--target", "targets", multiple=True, metavar="'METRIC OP VALUE on CHANNEL'",
    help="Per-interval target, e.g. 'service_level >= 0.8 on phone', 'abandon_rate <= 0.05 on chat', "
         "'asa_s <= 30 on phone' (repeatable). Default: each real-time channel's service_level_target.")

max_occupancy_option = click.option(
    "--max-occupancy", type=FiniteFloat(0, 1, min_open=True), default=None,
    help="Occupancy cap for the analytic requirement, e.g. 0.85 (real-time agents and async workload).")


def load_targets(scenario_path: str, texts: tuple[str, ...], blocked_is_lost: bool = True):
    """(scenario, targets) or exit 2 with one message (``blocked_is_lost``: see parse_targets)."""
    from simsvc.cli._common import load_or_exit
    from simsvc.plan import PlanError
    from simsvc.plan.targets import parse_targets, with_scenario_targets

    scenario = load_or_exit(scenario_path)
    try:
        targets = with_scenario_targets(parse_targets(texts, scenario, blocked_is_lost), scenario)
    except PlanError as exc:
        fail(str(exc))
    return scenario, targets


def out_dir_or_exit(out: str | None, scenario_name: str, kind: str):
    """The output folder (default ``results/<scenario>/<kind>/<UTC time>``), new or empty, or exit 2."""
    from pathlib import Path

    from simsvc.experiment.safepath import RESULTS_ROOT, empty_or_new, results_folder, timestamped

    path = Path(out) if out else timestamped(results_folder(RESULTS_ROOT, scenario_name, kind))
    try:
        return empty_or_new(path)
    except FileExistsError as exc:
        fail(str(exc))


def pool_table(totals) -> str:
    from simsvc.cli._common import text_table

    rows = [list(totals.columns)]
    for _, r in totals.iterrows():
        rows.append([str(r.iloc[0])] + [f"{v:,.0f}" if isinstance(v, float) else str(v) for v in r.iloc[1:]])
    return text_table(rows)
