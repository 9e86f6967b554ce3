"""`simsvc results`: what a results folder holds, and its summary."""
from __future__ import annotations

import json

import click

from simsvc.cli._common import InPath


@click.command()
@click.argument("folder", type=InPath(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "markdown"]), default="markdown",
              show_default=True, help="Format of the summary table.")
def results(folder: str, fmt: str) -> None:
    """List what FOLDER (a run or an experiment) holds and print its summary."""
    from simsvc.experiment.browse import describe, to_markdown

    try:
        info = describe(folder)
    except (FileNotFoundError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    summary = info["summary"]
    if not info["complete"]:
        expected = info["expected_replications"]
        of = f" of {expected}" if expected else ""
        click.echo(f"note: {folder}: this experiment is still running or was interrupted "
                   f"(status {info['manifest'].get('status')!s}); {info['stored_replications']}{of} "
                   "replications are stored; no summary until it completes (run the same command "
                   "again to resume)", err=True)
    if fmt == "json":
        m = info["manifest"]
        click.echo(json.dumps({
            "folder": info["folder"], "kind": info["kind"],
            "name": m.get("scenario_name") or m.get("name"),
            "files": [{"path": p, "bytes": b} for p, b in info["files"]],
            "stored_replications": info["stored_replications"],
            "complete": info["complete"],
            "summary": json.loads(summary.to_json(orient="records")),
        }, indent=2))
        return
    if fmt == "csv":
        click.echo(summary.to_csv(index=False), nl=False)
        return
    m = info["manifest"]
    name = m.get("scenario_name") or m.get("name")
    click.echo(f"# {name} ({info['kind']})\n")
    if info["kind"] == "run":
        from simsvc.report.data import manifest_problems

        damaged = manifest_problems(m)

        def fact(field: str, text: str) -> str:
            return f"{field.replace('_', ' ')} damaged in manifest.json ({damaged[field]})" \
                if field in damaged else text
        click.echo(", ".join((
            fact("root_seed", f"seed {m.get('root_seed')}"),
            fact("replications", f"{m.get('replications')} replications"),
            fact("scenario_hash", f"scenario hash {str(m.get('scenario_hash'))[:16]}"),
            fact("simsvc_version", f"simsvc {m.get('simsvc_version')}"))) + "\n")
        for field, why in damaged.items():
            click.echo(f"warning: {folder}: manifest.json: {field} is {why}", err=True)
    else:
        click.echo(f"{len(m.get('variants', {}))} variants, seed {m.get('seed')}, status {m.get('status')}, "
                   f"{info['stored_replications']} stored replications\n")
    for path, size in info["files"]:
        click.echo(f"- {path} ({size:,} bytes)")
    click.echo("")
    if summary.empty and info["kind"] == "run":
        # A run's folder is written whole: no rows (or no file) means it is damaged.
        missing = (f"{info['table']} has no rows" if info["table_present"]
                   else f"{info['table']} is missing from the folder")
        click.echo(f"({missing}: no KPIs to show)")
        click.echo(f"warning: {folder}: {missing}: no KPIs to show", err=True)
    elif summary.empty:
        click.echo("(no summary yet: the run was interrupted or is still going; "
                   "run the same command again to finish it)")
    elif {"channel", "metric", "mean"} <= set(summary.columns) and "variant" not in summary.columns:
        click.echo(to_markdown(readable_summary(summary)))
        click.echo("\nmean ±95 % CI half-width over replications; rates in %; – where a metric does not "
                   "apply; every digit: --format csv")
    else:
        click.echo(to_markdown(readable_points(summary)))


# Metrics that are shares, shown in % (the CSV keeps them as fractions).
RATES = {"abandon_rate", "p_wait", "service_level", "occupancy", "fcr", "fcr_contact",
         "response_within_target", "containment_rate", "csat", "churn_rate", "churn_risk"}


def readable_summary(summary):
    """Metrics (rows) × channels (columns), each cell ``mean ±half-width`` rounded to what the CI
    supports; rates in %."""
    import pandas as pd

    from simsvc.cli._common import NA, mean_ci_text

    channels = list(dict.fromkeys(summary["channel"].astype(str)))
    index = {(str(r.channel), str(r.metric)): r for r in summary.itertuples(index=False)}
    rows = []
    for metric in dict.fromkeys(summary["metric"].astype(str)):
        scale = 100.0 if metric in RATES else 1.0
        row = {"metric": metric + (" %" if scale != 1 else "")}
        for ch in channels:
            r = index.get((ch, metric))
            row[ch] = (mean_ci_text(r.mean * scale, r.ci_low * scale, r.ci_high * scale)
                       if r is not None else NA)
        if any(row[ch] != NA for ch in channels):
            rows.append(row)
    return pd.DataFrame(rows, columns=["metric", *channels])


def readable_points(points):
    """An experiment's points.csv: variant names, parameters, ``mean ±half-width`` per metric."""
    import pandas as pd

    from simsvc.cli._common import mean_ci_text

    keep = [c for c in points.columns if c not in ("variant",) and not c.endswith(("_ci_low", "_ci_high"))]
    out = {}
    for c in keep:
        if f"{c}_ci_low" in points.columns:
            scale = 100.0 if c.split("@", 1)[0] in RATES else 1.0
            out[c + (" %" if scale != 1 else "")] = [
                mean_ci_text(m * scale, lo * scale, hi * scale)
                for m, lo, hi in zip(points[c], points[f"{c}_ci_low"], points[f"{c}_ci_high"])]
        else:
            out[c] = points[c].astype(object).where(points[c].notna(), "").astype(str)
    return pd.DataFrame(out)
