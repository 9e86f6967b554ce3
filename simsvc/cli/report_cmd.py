"""`simsvc report`: write report.html (and plots/) for a results or experiment folder."""
from __future__ import annotations

import click

from simsvc.cli._common import InPath, svg_option


@click.command()
@click.argument("results_dir", type=InPath(file_okay=False))
@svg_option
def report(results_dir: str, svg: bool) -> None:
    """Write RESULTS_DIR/report.html: run facts, KPI table and plots (also as PNG under plots/)."""
    from simsvc.report import ReportError, write_report

    try:
        path = write_report(results_dir, svg=svg,
                            warn=lambda text: click.echo(f"warning: {results_dir}: {text}", err=True))
    except ReportError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    except OSError as exc:  # a read-only or full folder: the results themselves are untouched
        where = exc.filename or results_dir
        click.echo(f"error: {where}: cannot write the report ({exc.strerror or exc}); the results are "
                   "unchanged; make the folder writable or copy it elsewhere and run simsvc report there",
                   err=True)
        raise SystemExit(2) from None
    click.echo(f"report: {path}")
