"""Draw docs/img/service_level.png, the plot shown in the README.

It is the report's service-level plot of the bundled example, run exactly as
in the README's quickstart (scenarios/baseline.yaml: its seed, its 10
replications). Run from the repository root:

    .venv/bin/python docs/make_readme_plot.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import simsvc
from simsvc.report import channels_from_scenario, service_level_by_time_of_day
from simsvc.report.files import atomic_write

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "img" / "service_level.png"
MAX_BYTES = 150_000


def main() -> int:
    scenario = simsvc.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    result = simsvc.run(scenario, replications=scenario.replications)
    fig = service_level_by_time_of_day(result.intervals, channels_from_scenario(result.scenario))
    png = _png(fig)
    if len(png) > MAX_BYTES:
        print(f"error: {OUT.name} would be {len(png):,} bytes (limit {MAX_BYTES:,})", file=sys.stderr)
        return 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(OUT, png)
    print(f"{OUT.relative_to(ROOT)}: {len(png):,} bytes, seed {result.seed}, "
          f"{scenario.replications} replications")
    return 0


def _png(fig) -> bytes:
    from io import BytesIO

    from simsvc.report import style

    with style.context():
        buffer = BytesIO()
        # 1000 px wide: sharp in the README, small in the repository
        fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


if __name__ == "__main__":
    raise SystemExit(main())
