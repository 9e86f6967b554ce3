"""`simsvc results`: what a results folder holds, and its summary."""
from __future__ import annotations

import json

import click


@click.command()
@click.argument("folder", type=click.Path(file_okay=False))
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
        click.echo(f"seed {m.get('root_seed')}, {m.get('replications')} replications, "
                   f"scenario hash {str(m.get('scenario_hash'))[:16]}, simsvc {m.get('simsvc_version')}\n")
    else:
        click.echo(f"{len(m.get('variants', {}))} variants, seed {m.get('seed')}, status {m.get('status')}, "
                   f"{info['stored_replications']} stored replications\n")
    for path, size in info["files"]:
        click.echo(f"- {path} ({size:,} bytes)")
    click.echo("")
    if summary.empty:
        click.echo("(no summary yet: the run was interrupted or is still going; "
                   "run the same command again to finish it)")
    else:
        click.echo(to_markdown(summary))
