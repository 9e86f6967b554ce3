"""Reading scenario files: YAML, ``extends:``, ``--set`` overrides, CSV tables, errors.

This is the only part of simsvc that reads scenario files. Everything it hands on
is a validated, immutable :class:`~simsvc.config.schema.Scenario`; everything that
goes wrong becomes one :class:`ScenarioError` naming the file, the field path, the
value and what is allowed.
"""
from __future__ import annotations

import copy
import csv
import io
import math
import sys
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import yaml
from pydantic import ValidationError

from simsvc.config.errors import MAX_PROBLEMS, ScenarioError
# `--set` and the wording of pydantic's errors are imported when needed: a valid scenario
# without overrides (`simsvc check`, `run`) needs neither (tests/test_process.py).
if TYPE_CHECKING:
    from simsvc.config.overrides import Override
from simsvc.config.references import find_problems
from simsvc.config.yamlio import MAX_TABLE_BYTES, read_text, read_yaml
from simsvc.config.schema import Scenario, clock_seconds


def _short_text(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- YAML + extends
MAX_EXTENDS = 10  # files in one extends chain


def _read_yaml(path: Path, what: str = "scenario file") -> dict[str, Any]:
    if not path.is_file():
        raise ScenarioError(str(path), "", str(path), f"an existing {what}")
    data = read_yaml(path, what)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        from simsvc.config.problems import kind_of

        # Never echo the content: the file may be anything (extends: /etc/passwd).
        raise ScenarioError(str(path), "", None, f"a {what}: a YAML mapping of fields at the top level "
                            f"(this file holds a {kind_of(data)})", show_value=False)
    _absolutise_csv(data, path.parent)
    return data


def _csv_tables(data: dict[str, Any]):
    """Each CSV-backed table a scenario mapping names: (holder, field path, table key, columns, file key).

    ``holder`` is the mapping with the file key (``csv``; a trace's ``arrivals_csv``): a demand
    spec or a pool's staffing; the rows read from the file go under ``table key``.
    """
    demand, agents = data.get("demand"), data.get("agents")
    for name, spec in (demand.items() if isinstance(demand, dict) else ()):
        if isinstance(spec, dict) and isinstance(spec.get("csv"), str):
            yield spec, f"demand.{name}", "volumes", ("day", "start", "volume"), "csv"
        if isinstance(spec, dict) and isinstance(spec.get("arrivals_csv"), str):
            yield spec, f"demand.{name}", "arrivals", None, "arrivals_csv"
    for name, pool in (agents.items() if isinstance(agents, dict) else ()):
        staffing = pool.get("staffing") if isinstance(pool, dict) else None
        if isinstance(staffing, dict) and isinstance(staffing.get("csv"), str):
            yield staffing, f"agents.{name}.staffing", "steps", ("day", "start", "agents"), "csv"
        availability = pool.get("availability") if isinstance(pool, dict) else None
        if isinstance(availability, dict) and isinstance(availability.get("csv"), str):
            yield availability, f"agents.{name}.availability", "steps", ("day", "start", "availability"), "csv"


def _absolutise_csv(data: dict[str, Any], base: Path) -> None:
    """Make CSV paths absolute relative to the file that names them (before merging)."""
    for holder, _, _, _, key in _csv_tables(data):
        holder[key] = str((base / holder[key]).resolve())


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; anything else in ``override`` replaces what was there."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _resolve_extends(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise ScenarioError(str(chain[-1]), "extends", str(path), f"no cycle of extends ({cycle})")
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError(str(chain[-1]), "extends", None,
                            f"a chain of at most {MAX_EXTENDS} files that extend each other", show_value=False)
    data = _read_yaml(path)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(str(path), "extends", parent, "the path of another scenario file")
    parent_path = (path.parent / parent)
    if parent_path.suffix.lower() not in (".yaml", ".yml"):
        raise ScenarioError(str(path), "extends", parent, "the path of another scenario file (.yaml or .yml)")
    if not parent_path.is_file():
        raise ScenarioError(str(path), "extends", parent, "the path of an existing scenario file")
    return deep_merge(_resolve_extends(parent_path, (*chain, path)), data)


# --------------------------------------------------------------------------- CSV tables
def csv_rows(file: str, field: str, columns: tuple[str, ...],
             optional: tuple[str, ...] = ()) -> Iterable[tuple[int, dict[str, str]]]:
    """(line number, {column: stripped cell text}) of each non-blank data row of a scenario's CSV
    table: ``columns`` required in the header, ``optional`` read where present. Errors name the
    file and line: a missing file, missing columns (the header quoted only once it is recognisably
    such a table, never a foreign file), a short row, malformed CSV, no data row."""
    path = Path(file)
    if not path.is_file():
        raise ScenarioError(file, field, file, "an existing CSV file")
    text = read_text(path, "CSV file", MAX_TABLE_BYTES)
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = 0
    try:
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in columns if c not in header]
        if missing:
            ours = len(missing) < len(columns)
            also = f" (and optionally {list(optional)})" if optional else ""
            raise ScenarioError(file, field, header if ours else None,
                                f"CSV columns {list(columns)}{also} in its first line (missing {missing})",
                                show_value=ours)
        where = {c: header.index(c) for c in (*columns, *optional) if c in header}
        for line, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) < len(header):
                raise ScenarioError(file, f"line {line}", ",".join(cells),
                                    f"{len(header)} cells per row ({', '.join(header)})")
            if len(cells) > len(header):  # never drop a cell: 0,00:00,1,200 is not a volume of 1
                raise ScenarioError(file, f"line {line}", ",".join(cells),
                                    f"{len(header)} cells per row ({', '.join(header)}), not {len(cells)} "
                                    "(a number with a thousands separator splits in two: write 1200, not 1,200)")
            rows += 1
            yield line, {c: cells[i].strip() for c, i in where.items()}
    except csv.Error as exc:
        raise ScenarioError(file, f"line {reader.line_num}", None, f"well-formed CSV ({exc})",
                            show_value=False) from None
    if not rows:
        raise ScenarioError(file, "rows", "(none)", "at least one data row")


_TABLE_NAMES = {"volume": "a channel's demand table", "agents": "a pool's staffing table",
                "availability": "a pool's availability table"}


def _read_table(file: str, columns: tuple[str, ...], field: str) -> list[dict[str, Any]]:
    """Rows of a demand or staffing CSV, each checked with its file and line in the message.

    Two rows for the same day and start are ambiguous (which one wins?): an error
    naming both lines. So is a table mixing day numbers with weekdays (or ``all``): the
    simulator would follow the day numbers and drop the weekday rows.
    """
    rows, first_line = [], {}
    for line, cells in csv_rows(file, field, columns):
        row = {c: _table_cell(file, line, c, text) for c, text in cells.items()}
        if rows and isinstance(row["day"], int) != isinstance(rows[0]["day"], int):
            from simsvc.config.references import mixed_days

            raise ScenarioError(file, f"line {line}.day", cells["day"],
                                mixed_days(_TABLE_NAMES[columns[-1]], f"line {next(iter(first_line.values()))}",
                                           rows[0]["day"], columns[-1] != "volume"))
        slot = (str(row["day"]), clock_seconds(row["start"]))
        if slot in first_line:
            raise ScenarioError(file, f"line {line}", f"{row['day']},{row['start']}",
                                f"one row per day and start (line {first_line[slot]} has the same)")
        first_line[slot] = line
        rows.append(row)
    return rows


def clock_cell(file: str, where: str, text: str) -> str:
    """A CSV cell that must be a clock time ``HH:MM[:SS]`` (kept as written)."""
    from simsvc.config.units import CLOCK_HELP, parse_clock

    try:
        parse_clock(text)
    except ValueError:
        raise ScenarioError(file, where, text, CLOCK_HELP) from None
    return text


def _table_cell(file: str, line: int, column: str, text: str) -> Any:
    from simsvc.config.schema import DAYS

    where = f"line {line}.{column}"
    if column == "day":
        if text.isdigit():
            return int(text)
        if text.lower() in (*DAYS, "all"):
            return text.lower()
        raise ScenarioError(file, where, text, "a day mon..sun, all, or a day number 0, 1, 2...")
    if column == "start":
        return clock_cell(file, where, text)
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if column == "agents":
        if not (number >= 0 and number.is_integer()):
            raise ScenarioError(file, where, text, "a whole number of agents >= 0")
        return int(number)
    if column == "availability":
        if not 0 <= number <= 1:
            raise ScenarioError(file, where, text, "a share of scheduled agent-time from 0 to 1")
        return number
    if not number >= 0 or number == float("inf"):
        raise ScenarioError(file, where, text, "a finite number >= 0")
    return number


def _load_tables(data: dict[str, Any]) -> None:
    from simsvc.config.trace import read_arrivals

    for holder, field, table, columns, key in _csv_tables(data):
        if table not in holder:
            holder[table] = (_read_table(holder[key], columns, f"{field}.{key}") if columns is not None
                             else read_arrivals(holder[key], f"{field}.{key}"))


def _csv_origin(data: dict[str, Any], path: str) -> str | None:
    """The CSV file behind a field loaded from a table (so the message names that file)."""
    for holder, field, table, _, key in _csv_tables(data):
        if path == f"{field}.{table}" or path.startswith(f"{field}.{table}."):
            return holder[key]
    return None


# Every number a scenario holds must be finite and at most this large: larger ones
# only arise from typos or hostile input, and overflow when rates meet horizons.
MAX_MAGNITUDE = 1e12
MIN_MAGNITUDE = sys.float_info.min  # below it floats are subnormal: 1/x overflows to inf
_UNBOUNDED = {"seed"}  # a root seed is an identifier, not a quantity


def number_problems(data: Any, path: tuple[str, ...] = ()) -> list[tuple[str, object, str]]:
    """Non-finite or overflowing numbers anywhere in ``data``: (field path, value, allowed)."""
    out: list[tuple[str, object, str]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if str(key) not in _UNBOUNDED:
                out += number_problems(value, (*path, str(key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out += number_problems(value, (*path, str(i)))
    elif isinstance(data, (int, float)) and not isinstance(data, bool):
        if isinstance(data, float) and not math.isfinite(data):
            out.append((".".join(path), data, "a finite number (.inf and .nan are not numbers a scenario can use)"))
        elif abs(data) > MAX_MAGNITUDE:
            out.append((".".join(path), data, f"a number of magnitude at most {MAX_MAGNITUDE:.0e}"))
        elif data != 0 and abs(data) < MIN_MAGNITUDE:
            out.append((".".join(path), data, "0 or a number of magnitude at least 2.2e-308 "
                        "(a subnormal number, whose inverse overflows)"))
    return out


def validate(data: dict[str, Any], file: str = "") -> Scenario:
    """Validate a scenario mapping (already merged and overridden) into a ``Scenario``.

    All problems are collected (up to ``MAX_PROBLEMS``); the error names the first
    and carries the others, so one round of fixes can address them all.
    """
    data = copy.deepcopy(data)
    _load_tables(data)
    problems = number_problems(data)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        from simsvc.config.problems import pick_error, pydantic_problem, union_point, unmeant_alternative

        errors = exc.errors(include_url=False)
        # Errors of one entry (handling.phone, agents.team) are often alternatives of a
        # union the user did not mean: report the most likely one per entry.
        groups: dict[tuple, list] = {}
        for err in errors:
            groups.setdefault(union_point(err.get("loc", ()), data), []).append(err)
        first = pick_error(errors, data)
        picked = [first] + [pick_error(g, data) for g in groups.values() if first not in g]
        # Each group is an entry with a problem of its own; a shape error of a union branch is
        # dropped only where another picked error concerns the same entry (problems.py).
        picked = [e for e in picked if e is first or not unmeant_alternative(e, picked, data)]
        seen = {p for p, _, _ in problems}
        for err in picked:
            problem = pydantic_problem(err, data)
            if problem[0] not in seen:
                seen.add(problem[0])
                problems.append(problem)
        _raise(problems, data, file)
    if problems:
        _raise(problems, data, file)
    _raise(find_problems(scenario), data, file)
    return scenario


def _raise(problems: list[tuple[str, object, str]], data: dict[str, Any], file: str) -> None:
    if not problems:
        return
    path, value, allowed = problems[0]
    others = problems[1:MAX_PROBLEMS]
    raise ScenarioError(_csv_origin(data, path) or file, path, value, allowed,
                        more=len(problems) - 1, others=list(others))


def load_scenario(path: str | Path, overrides: Iterable[Override] = ()) -> Scenario:
    """Read, merge (``extends:``), override (``--set``) and validate a scenario file.

    ``overrides`` are ``path=value`` strings (``--set``) or (option label, text)
    pairs, so an error in one is attributed to the option that gave it.
    """
    path = Path(path)
    overrides = list(overrides)
    data = _resolve_extends(path)
    try:
        if overrides:
            data = apply_overrides(data, overrides, schema=Scenario)
    except ScenarioError as exc:
        if exc.file.startswith("--") and " " in exc.file:  # an option's path: name the file too
            exc.file = f"{path} ({exc.file})"
        raise
    try:
        return validate(data, file=str(path))
    except ScenarioError as exc:
        if exc.file == str(path):
            _note_inherited_shares(exc, path, overrides)
            exc.file = _origin(path, overrides, exc.path)
        raise


def apply_overrides(data: dict[str, Any], overrides: Iterable[Override], schema: Any = None) -> dict[str, Any]:
    """:func:`simsvc.config.overrides.apply_overrides` (that module is imported on first use)."""
    from simsvc.config.overrides import apply_overrides as apply

    return apply(data, overrides, schema=schema)


def _origin(path: Path, overrides: list[Override], field: str) -> str:
    """Who wrote ``field``: a ``--set`` (or ``--vary``), this file, or a file it extends."""
    from simsvc.config.overrides import override_keys, override_parts

    for item in reversed(overrides):
        option, text = override_parts(item)
        dotted = ".".join(override_keys(text))
        if field == dotted or field.startswith(dotted + ".") or dotted.startswith(field + "."):
            return f"{path} ({option} {_short_text(text)})"
    if not field and overrides:   # a problem of the scenario as a whole: any override may have caused it
        given = ", ".join(f"{o} {_short_text(t)}" for o, t in map(override_parts, overrides))
        return f"{path} (with {given})"
    keys = [k for k in field.split(".") if k]
    for current, data in _extends_chain(path):
        if _has_path(data, keys[:2]) or not isinstance(data.get("extends"), str):
            return str(path) if current == path.resolve() else str(current)
    return str(path)


def _note_inherited_shares(exc: ScenarioError, path: Path, overrides: list[Override]) -> None:
    """Shares that do not sum to 1 in a mapping that ``extends:`` merged key by key: say which keys
    came from a parent file (the user wrote ``initial_stages: {usage: 1}`` and sees a sum of 1.6)."""
    def note(field: str, value: object, allowed: str) -> str:
        if not isinstance(value, dict) or "sum to 1" not in allowed:
            return allowed
        from simsvc.config.overrides import override_keys, override_parts

        written = set()
        for option, text in map(override_parts, overrides):
            dotted = ".".join(override_keys(text))
            if field == dotted or field.startswith(dotted + "."):
                return allowed  # an option gave the whole mapping: nothing of it is inherited
            if dotted.startswith(field + "."):
                written.add(dotted[len(field) + 1:].split(".")[0])
        keys = field.split(".")
        inherited: dict[str, list[str]] = {}
        for key in value:
            if key in written:
                continue
            source = _writer(path, [*keys, str(key)])
            if source is not None and source != path.resolve():
                inherited.setdefault(str(source), []).append(str(key))
        if not inherited:
            return allowed
        froms = "; ".join(f"{', '.join(ks)} from {f}" for f, ks in inherited.items())
        return (f"{allowed}; inherited through extends: {froms} (extends merges mappings key by key: "
                "give those keys here too, 0 to drop one)")

    exc.allowed = note(exc.path, exc.value, exc.allowed)
    exc.others = [(p, v, note(p, v, a)) for p, v, a in exc.others]


def _writer(path: Path, keys: list[str]) -> Path | None:
    """The nearest file of ``path``'s extends chain that writes the field ``keys``."""
    return next((current for current, data in _extends_chain(path) if _has_path(data, keys)), None)


def _extends_chain(path: Path):
    """(file, mapping) of ``path`` and of each file it extends in turn, as long as they read."""
    current, seen = path.resolve(), set()
    while current not in seen and len(seen) <= MAX_EXTENDS:
        seen.add(current)
        try:
            data = read_yaml(current) or {}
        except ScenarioError:
            return
        if not isinstance(data, dict):
            return
        yield current, data
        if not isinstance(data.get("extends"), str):
            return
        current = (current.parent / data["extends"]).resolve()


def _has_path(data: Any, keys: list[str]) -> bool:
    for key in keys:
        if isinstance(data, dict) and key in data:
            data = data[key]
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return False
    return True


def scenario_dict(scenario: Scenario) -> dict[str, Any]:
    """The resolved scenario as plain data (durations and rates in written form)."""
    data = scenario.model_dump(mode="json")
    # A CSV-backed table prints as its file; the rows were loaded from it.
    for holder, _, table, _, _ in _csv_tables(data):
        holder.pop(table, None)
    return data


def scenario_yaml(scenario: Scenario) -> str:
    # libyaml's emitter when present (the same text as PyYAML's own, several times faster:
    # `check` prints this); the data is a validated scenario, never deeply nested.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(scenario_dict(scenario), Dumper=dumper, sort_keys=False, allow_unicode=True)


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario (tables included), stable across runs and machines."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
