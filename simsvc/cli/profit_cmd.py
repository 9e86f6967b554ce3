"""`simsvc staff --objective profit`: the staffing level that maximises net value (journey mode).

Not a command of its own: ``staff`` dispatches here. Parses the level options, calls
:mod:`simsvc.plan.profit`, writes the folder atomically and prints the table.
"""
from __future__ import annotations

import click


def staff_profit(scenario_path: str, vary_pools: str | None, levels: str | None, agents: tuple[str, ...],
                 reps: int, seed: int | None, workers: int | None, out: str | None) -> None:
    import sys

    from tqdm import tqdm

    from simsvc.cli._common import load_or_exit
    from simsvc.cli._plan_common import fail, out_dir_or_exit
    from simsvc.experiment.runner import default_workers
    from simsvc.experiment.safepath import write_folder
    from simsvc.plan import PlanError
    from simsvc.plan import profit

    from simsvc.cli._common import split_list

    pools = tuple(split_list(vary_pools, "--vary-pools", "pools")) if vary_pools is not None else None
    scenario = load_or_exit(scenario_path)
    try:
        factors = profit.parse_factors(levels) if levels is not None else None
        counts = profit.parse_agents(agents) if agents else None
        level_list = profit.staffing_levels(scenario, pools, factors, counts)
    except PlanError as exc:
        fail(str(exc))
    path = out_dir_or_exit(out, scenario.name, "profit")
    bar = tqdm(total=len(level_list) * reps, unit="rep", file=sys.stderr, disable=None, leave=False,
               dynamic_ncols=True)
    finished: dict[str, int] = {}

    def progress(level: str, done: int, total: int) -> None:
        finished[level] = done
        bar.set_description_str(f"level {level}", refresh=False)
        bar.update(sum(finished.values()) - bar.n)

    try:
        result = profit.evaluate(scenario, level_list, reps, seed, workers or default_workers(), progress)
    except PlanError as exc:
        bar.close()
        fail(str(exc))
    finally:
        bar.close()
    files = {"levels.csv": result.table,
             "replications.csv": result.per_replication,
             "scenario.yaml": profit.best_scenario_yaml(scenario, scenario_path, str(path), result),
             "profit.png": _plot(result.table)}
    write_folder(path, files, float_format="%.6g")
    click.echo(_levels_text(result.table))
    click.echo("")
    click.echo(_decision_text(result))
    click.echo(f"scenario: {path / 'scenario.yaml'}  (the best level; simsvc run it)")
    click.echo(f"results: {path}")


def _money(v: float) -> str:
    return "–" if v != v else f"{v:,.0f}"


def _levels_text(table) -> str:
    from simsvc.cli._common import text_table

    rows = [["level", "agent hours", "revenue", "lost to churn", "agent cost", "net value", "vs own",
             "vs best", "verdict"]]
    for r in table.to_dict("records"):
        half = (r["net_value_ci_high"] - r["net_value_ci_low"]) / 2
        d_half = (r["net_value_diff_high"] - r["net_value_diff_low"]) / 2
        b_half = (r["net_value_vs_best_high"] - r["net_value_vs_best_low"]) / 2
        rows.append([r["level"] + (" (own)" if r["own"] else ""), f"{r['agent_hours']:,.0f}",
                     _money(r["revenue"]), _money(r["revenue_lost_to_churn"]), _money(r["agent_cost"]),
                     f"{_money(r['net_value'])} ±{_money(half)}",
                     "–" if r["own"] else f"{r['net_value_diff']:+,.0f} ±{_money(d_half)}",
                     "–" if r["verdict"] == "best" else f"{r['net_value_vs_best']:+,.0f} ±{_money(b_half)}",
                     r["verdict"]])
    return text_table(rows)


def _decision_text(result) -> str:
    t = result.table
    best = t[t["verdict"] == "best"].iloc[0]
    same = list(t.loc[t["verdict"] == "not distinguishable", "level"])
    lines = [f"best: {best['level']}, net value {_money(best['net_value'])} "
             f"(95 % CI {_money(best['net_value_ci_low'])} to {_money(best['net_value_ci_high'])}; "
             f"{result.replications} replications on common random numbers, seed {result.seed})"]
    if same:
        lines.append(f"not distinguishable from it at these replications (paired 95 % CI of the difference "
                     f"contains 0): {', '.join(same)}; more --reps would separate them, or they are worth the same")
    else:
        lines.append("every other level is worse (paired 95 % CI of the difference excludes 0)")
    if result.edge:
        lines.append("the best level is at the edge of the range evaluated: the optimum may lie beyond it "
                     "(widen --levels)")
    return "\n".join(lines)


def _plot(table) -> bytes:
    from io import BytesIO

    import matplotlib

    matplotlib.use("Agg")
    from simsvc.report import style
    from simsvc.report.profit_plots import profit_curve

    fig = profit_curve(table)
    buf = BytesIO()
    with style.context():
        fig.savefig(buf, format="png", dpi=style.DPI, metadata={"Software": None})
    return buf.getvalue()
