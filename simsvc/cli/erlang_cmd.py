"""``simsvc erlang``: an Erlang B / C / A calculator for planners.

Evaluate staffing levels::

    simsvc erlang --rate 150/h --aht 4min --agents 9
    simsvc erlang --rate 150/h --aht 4min --agents 8:14 --patience 90s

or find the staffing that meets targets::

    simsvc erlang --rate 150/h --aht 4min --target-sl 0.8 --threshold 20s
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

import click

if TYPE_CHECKING:
    from simsvc.analytic import QueueMetrics

# simsvc.analytic (scipy) and simsvc.config (pydantic) are imported where used, so
# that `simsvc --help` does not pay for them (this module is imported to register it).

_MODEL_NAMES = {"a": "erlang_a", "b": "erlang_b", "c": "erlang_c"}
_MODEL_LABELS = {"erlang_a": "Erlang A (M/M/c+M)", "erlang_b": "Erlang B (M/M/c/c)",
                 "erlang_c": "Erlang C (M/M/c)"}


def _parse_duration(text: str) -> float:
    """``'20s'``, ``'4min'``, ``'1.5h'``, ``'90'`` (seconds) -> seconds."""
    from simsvc.config.units import parse_duration

    return _with_value(parse_duration, text)


def _parse_rate(text: str) -> float:
    """``'150/h'``, ``'2.5/min'``, ``'150'`` (per hour) -> per second."""
    from simsvc.config.units import parse_rate

    return _with_value(parse_rate, text)


def _with_value(parse: Callable[[str], float], text: str) -> float:
    try:
        return parse(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not {exc}") from None


def _parse_fraction(text: str) -> float:
    """``'0.8'`` or ``'80%'`` -> 0.8."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"{text!r} is not a fraction such as 0.8 or 80%") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{text!r} is not between 0 and 1 (or 0% and 100%)")
    return value


def _parse_agents(text: str) -> list[int]:
    """``'9'`` -> [9]; ``'8:14'`` -> 8..14; ``'8:20:2'`` -> 8, 10, ..., 20 (inclusive)."""
    allowed = "an agent count such as 9, or an inclusive range START:STOP or START:STOP:STEP"
    try:
        parts = [int(p) for p in text.strip().split(":")]
    except ValueError:
        raise ValueError(f"{text!r} is not {allowed}") from None
    if len(parts) == 1:
        parts = [parts[0], parts[0], 1]
    elif len(parts) == 2:
        parts.append(1)
    if len(parts) != 3:
        raise ValueError(f"{text!r} is not {allowed}")
    start, stop, step = parts
    if start < 1 or stop < start or step < 1:
        raise ValueError(f"{text!r}: need 1 <= START <= STOP and STEP >= 1 ({allowed})")
    count = (stop - start) // step + 1
    if stop > MAX_AGENTS or count > MAX_AGENT_LEVELS:
        raise ValueError(f"{text!r}: at most {MAX_AGENT_LEVELS:,} staffing levels up to {MAX_AGENTS:,} agents "
                         f"(this range has {count:,})")
    return list(range(start, stop + 1, step))


MAX_AGENTS = 100_000  # as a scenario's pool (simsvc.config.schema.MAX_AGENTS)
MAX_AGENT_LEVELS = 1_000


def _option(parser: Callable[[str], Any], *, positive: bool = False) -> Callable[..., Any]:
    """Click callback: run ``parser``, turning ValueError into click.BadParameter."""

    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
        if value is None:
            return None
        try:
            parsed = parser(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
        if positive and not parsed > 0:
            raise click.BadParameter(f"{value!r} must be greater than zero", ctx=ctx, param=param)
        return parsed

    return callback


# --------------------------------------------------------------------------- #
# Output
# --------------------------------------------------------------------------- #
def _columns(threshold_s: float) -> list[tuple[str, Callable[[QueueMetrics], str]]]:
    return [
        ("agents", lambda m: f"{m.servers:d}"),
        ("p_wait", lambda m: f"{m.p_wait:.4f}"),
        ("asa_s", lambda m: f"{m.asa_s:.2f}"),
        ("wait_mean_s", lambda m: f"{m.wait_mean_s:.2f}"),
        (f"sl_{threshold_s:g}s", lambda m: f"{m.service_level:.4f}"),
        ("p_abandon", lambda m: f"{m.p_abandon:.4f}"),
        ("p_blocked", lambda m: f"{m.p_blocked:.4f}"),
        ("occupancy", lambda m: f"{m.occupancy:.4f}"),
        ("answered_per_h", lambda m: f"{m.answered_rate_per_s * 3600:.1f}"),
    ]


def _table(rows: list[QueueMetrics | tuple[int, str]], threshold_s: float) -> str:
    from simsvc.analytic import QueueMetrics

    cols = _columns(threshold_s)
    cells: list[list[str]] = []
    notes: dict[int, str] = {}
    for i, row in enumerate(rows):
        if isinstance(row, QueueMetrics):
            cells.append([fmt(row) for _, fmt in cols])
        else:
            cells.append([str(row[0])])
            notes[i] = row[1]
    widths = [max([len(name)] + [len(r[j]) for r in cells if j < len(r)])
              for j, (name, _) in enumerate(cols)]
    lines = ["  ".join(name.rjust(w) for (name, _), w in zip(cols, widths))]
    for i, r in enumerate(cells):
        if i in notes:
            lines.append(f"{r[0].rjust(widths[0])}  {notes[i]}")
        else:
            lines.append("  ".join(c.rjust(w) for c, w in zip(r, widths)))
    return "\n".join(lines)


def _header(model: str, rate: float, aht: float, patience: float | None, threshold: float) -> str:
    parts = [
        f"model: {_MODEL_LABELS[model]}",
        f"rate: {rate * 3600:g}/h",
        f"aht: {aht:g} s",
        f"load: {rate * aht:.3f} Erl",
    ]
    if patience is not None:
        parts.append(f"patience: {patience:g} s")
    parts.append(f"threshold: {threshold:g} s")
    return "   ".join(parts)


# --------------------------------------------------------------------------- #
# Command
# --------------------------------------------------------------------------- #
@click.command("erlang")
@click.option("--rate", required=True, metavar="RATE", callback=_option(_parse_rate),
              help="Offered arrival rate: 150/h, 2.5/min, 0.04/s, 3600/d (bare number = per hour).")
@click.option("--aht", required=True, metavar="DURATION", callback=_option(_parse_duration, positive=True),
              help="Average handle time: 240, 240s, 4min, 0.1h (bare number = seconds).")
@click.option("--agents", metavar="N|START:STOP[:STEP]", callback=_option(_parse_agents),
              help="Agents to evaluate: N, or an inclusive range START:STOP[:STEP] such as 8:14.")
@click.option("--patience", metavar="DURATION", callback=_option(_parse_duration, positive=True),
              help="Mean caller patience (enables Erlang A): 90s, 2min.")
@click.option("--threshold", default="20s", show_default=True, metavar="DURATION",
              callback=_option(_parse_duration),
              help="Service-level answer-time threshold.")
@click.option("--model", type=click.Choice(["a", "b", "c"], case_sensitive=False),
              help="a: Erlang A (abandonment), b: Erlang B (blocking), c: Erlang C (waiting). "
                   "Default: a with --patience, else c.")
@click.option("--target-sl", metavar="FRACTION", callback=_option(_parse_fraction, positive=True),
              help="Staffing target: minimum service level, 0.8 or 80%.")
@click.option("--target-asa", metavar="DURATION", callback=_option(_parse_duration),
              help="Staffing target: maximum average speed of answer, e.g. 30s.")
@click.option("--target-abandon", metavar="FRACTION", callback=_option(_parse_fraction),
              help="Staffing target: maximum share lost, e.g. 0.05: abandoned (needs --patience) or "
                   "blocked (--model b); Erlang C loses no caller, so it is refused there.")
@click.option("--max-occupancy", metavar="FRACTION", callback=_option(_parse_fraction, positive=True),
              help="Staffing target: maximum occupancy, e.g. 0.85.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
def erlang(rate: float, aht: float, agents: list[int] | None, patience: float | None,
           threshold: float, model: str | None, target_sl: float | None,
           target_asa: float | None, target_abandon: float | None,
           max_occupancy: float | None, fmt: str) -> None:
    """Erlang B / C / A queue metrics, or the agents needed to meet targets.

    Give --agents to evaluate staffing levels, or one or more --target-* options
    (and no --agents) to find the smallest staffing meeting all of them.
    """
    from simsvc.analytic import QueueMetrics, agents_needed, mmc, mmc_m, mmcc

    name = _MODEL_NAMES[(model or ("a" if patience is not None else "c")).lower()]
    if name == "erlang_a" and patience is None:
        raise click.UsageError("--model a (Erlang A) needs --patience, e.g. --patience 90s")
    if name != "erlang_a" and patience is not None:
        raise click.UsageError(f"--patience only applies to --model a, not --model {name[-1]}")
    if target_abandon is not None and name == "erlang_c":
        # Erlang C loses no caller (nobody abandons, nobody is blocked): every staffing meets it.
        raise click.UsageError(
            f"--target-abandon {target_abandon:g} needs callers who can be lost: give --patience "
            "(Erlang A: callers abandon, e.g. --patience 90s) or --model b (Erlang B: blocked calls "
            "are lost); Erlang C (the model without --patience) loses no caller, so every staffing "
            "would meet it")
    _refuse_unreachable(name, {"--target-sl": ("service_level", target_sl), "--target-asa": ("asa_s", target_asa),
                               "--target-abandon": ("abandon_rate", target_abandon)})
    targets = {"target_service_level": target_sl, "target_asa_s": target_asa,
               "target_abandon": target_abandon, "target_occupancy_max": max_occupancy}
    targets = {k: v for k, v in targets.items() if v is not None}
    if agents is None and not targets:
        raise click.UsageError(
            "give --agents to evaluate, or a target (--target-sl, --target-asa, "
            "--target-abandon, --max-occupancy) to find the agents needed")
    if agents is not None and targets:
        raise click.UsageError("give either --agents or --target-* options, not both")

    def evaluate(c: int) -> QueueMetrics:
        if name == "erlang_a":
            assert patience is not None
            return mmc_m(rate, aht, c, patience, threshold)
        return (mmcc if name == "erlang_b" else mmc)(rate, aht, c, threshold)

    needed: int | None = None
    if targets:
        try:
            needed = agents_needed(name, rate, aht, threshold_s=threshold,
                                   mean_patience_s=patience, **targets)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        agents = [needed]
    assert agents is not None

    rows: list[QueueMetrics | tuple[int, str]] = []
    for c in agents:
        try:
            rows.append(evaluate(c))
        except ValueError as exc:
            if len(agents) == 1:
                raise click.ClickException(str(exc)) from None
            unstable = name == "erlang_c" and rate * aht >= c
            rows.append((c, f"unstable: load {rate * aht:.3f} Erl >= {c} agents"
                         if unstable else str(exc)))

    if fmt == "json":
        doc: dict[str, Any] = {
            "model": name,
            "inputs": {"arrival_rate_per_s": rate, "mean_handle_s": aht,
                       "offered_load_erlangs": rate * aht, "mean_patience_s": patience,
                       "threshold_s": threshold},
        }
        if needed is not None:
            doc["targets"] = targets
            doc["agents_needed"] = needed
        doc["results"] = [r.to_dict() if isinstance(r, QueueMetrics)
                          else {"servers": r[0], "error": r[1]} for r in rows]
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(_header(name, rate, aht, patience, threshold))
    if needed is not None:
        click.echo(f"agents needed: {needed}  ({_describe_targets(targets, threshold)})")
    click.echo(_table(rows, threshold))


def _refuse_unreachable(model: str, targets: dict[str, tuple[str, float | None]]) -> None:
    """A target only infinitely many agents meet (a service level of 1, an ASA or a loss of 0) is
    refused, as `requirements` and `staff` refuse it (simsvc.plan.targets.unreachable)."""
    from simsvc.plan.targets import unreachable

    lost = "some callers find every agent busy and are blocked" if model == "erlang_b" else \
        "callers with a patience sometimes abandon"
    for option, (metric, value) in targets.items():
        why = unreachable(metric, value, lost) if value is not None else ""
        if why:
            raise click.BadParameter(f"{value:g}: no finite staffing meets it ({why})", param_hint=option)


def _describe_targets(targets: dict[str, float], threshold: float) -> str:
    text = {
        "target_service_level": lambda v: f"service level >= {v:.2%} within {threshold:g} s",
        "target_asa_s": lambda v: f"ASA <= {v:g} s",
        "target_abandon": lambda v: f"lost <= {v:.2%}",
        "target_occupancy_max": lambda v: f"occupancy <= {v:.2%}",
    }
    return ", ".join(text[k](v) for k, v in targets.items())

