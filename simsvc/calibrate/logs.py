"""Reading a contact log: one row per contact (or leg), named by a column map.

The result is a tidy ``ContactLog``: one row per usable contact with fixed columns
(``day`` as a date, ``clock_s`` seconds after midnight, ``channel``, ``reason``,
``outcome`` in answered/abandoned, ``wait_s``, ``handle_s``, ``wrap_s``, ``agent``,
``customer_id``) and a count of the rows set aside, by reason. A log that cannot be
read at all (missing column, unparseable time, negative duration, empty window)
raises ``LogError`` with the file, the field (column or row), the value and what is
allowed.

Defaults (no map needed): a column named ``arrival_time`` (or ``arrival``,
``timestamp``, ``start_time``, ``call_start``) holding date and time; ``channel``
(default: every row is ``phone``); ``reason`` (or ``type``, ``queue``, ``skill``;
default one reason); ``wait_s`` (or ``wait``, ``queue_time``, ``wait_time``);
``outcome`` (or ``status``, ``result``); ``handle_s`` (or ``handle_time``,
``talk_time``); ``wrap_s`` (or ``wrap_time``, ``acw``); ``agent`` (or ``agent_id``);
``customer_id`` (or ``customer``, ``caller_id``); ``class`` (or ``routing_class``,
``customer_class``; default one class): a routing class, given as a column or as
``{column: C, values: {log value: class}}`` to derive it (every value must be mapped).
Durations are seconds or
``H:MM:SS``, from 0 to 30 days (``MAX_DURATION_S``). Times with a UTC offset (``Z``,
``+01:00``) are read as written, at their offset, which must be the same on every row (or
no row has one): a log across a daylight-saving change should give local times without.
Outcome words: answered/served/handled/agent → answered,
abandoned/abandon/hang/hangup/hung_up → abandoned, anything else → other.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ALIASES: dict[str, tuple[str, ...]] = {
    "arrival": ("arrival_time", "arrival", "timestamp", "start_time", "call_start", "arrival_datetime"),
    "channel": ("channel", "media", "media_type"),
    "reason": ("reason", "type", "queue", "skill", "call_type"),
    "wait_s": ("wait_s", "wait", "queue_time", "wait_time", "queue_s"),
    "outcome": ("outcome", "status", "result", "disposition"),
    "handle_s": ("handle_s", "handle_time", "talk_time", "talk_s", "service_time"),
    "wrap_s": ("wrap_s", "wrap_time", "acw", "wrap_up"),
    "agent": ("agent", "agent_id", "agent_name", "server"),
    "customer_id": ("customer_id", "customer", "caller_id", "ani"),
    "queue_entry": ("queue_entry", "queue_start", "q_start"),
    "class": ("class", "routing_class", "customer_class"),
}
REQUIRED = ("arrival", "outcome", "wait_s")
OUTCOME_WORDS = {
    "answered": "answered", "served": "answered", "handled": "answered", "agent": "answered",
    "abandoned": "abandoned", "abandon": "abandoned", "hang": "abandoned", "hangup": "abandoned",
    "hung_up": "abandoned", "abandoned_queue": "abandoned",
}
COLUMNS = ("row", "day", "clock_s", "channel", "reason", "outcome", "wait_s", "handle_s", "wrap_s",
           "agent", "customer_id", "class")
NO_CLASS = "all"  # the class of every contact when the log has no class column
# The longest wait, handle or wrap-up time a log may hold: longer ones (and inf) are errors, not
# contacts (a 1e15 s handle time would be spread over a billion staffing intervals).
MAX_DURATION_S = 30 * 86400.0


@dataclass
class LogError(Exception):
    """A contact log that cannot be used, with where and why (same shape as ScenarioError)."""

    file: str
    field: str
    value: object
    allowed: str

    def __str__(self) -> str:
        value = repr(self.value) if isinstance(self.value, str) else str(self.value)
        value = value if len(value) <= 120 else value[:117] + "..."
        return f"{self.file}: {self.field} = {value}: expected {self.allowed}"


@dataclass(frozen=True)
class ColumnMap:
    """Which log column holds what, and how to read it (see the module docstring for defaults)."""

    columns: dict[str, Any] = field(default_factory=dict)  # role -> column, {date, time} or {value}
    outcomes: dict[str, str] = field(default_factory=dict)  # log word -> answered/abandoned/other
    missing: dict[str, list[str]] = field(default_factory=dict)  # role -> values meaning "none"
    datetime_format: str | None = None  # for a single arrival column; None: ISO-like, inferred
    date_format: str = "%Y-%m-%d"
    time_format: str = "%H:%M:%S"

    @classmethod
    def from_yaml(cls, path: str | Path) -> "ColumnMap":
        import yaml

        p = Path(path)
        if not p.is_file():
            raise LogError(str(path), "--columns", str(path), "an existing YAML column map")
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise LogError(str(path), "(file)", str(exc).splitlines()[0], "a YAML mapping") from None
        if not isinstance(data, dict):
            raise LogError(str(path), "(top level)", data, "a mapping with columns, outcomes, missing, formats")
        known = {"columns", "outcomes", "missing", "datetime_format", "date_format", "time_format"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LogError(str(path), unknown[0], data[unknown[0]], f"one of the keys {sorted(known)}")
        roles = set(ALIASES)
        for role in data.get("columns", {}) or {}:
            if role not in roles:
                raise LogError(str(path), f"columns.{role}", role, f"one of the roles {sorted(roles)}")
        for word, meaning in (data.get("outcomes") or {}).items():
            if meaning not in ("answered", "abandoned", "other"):
                raise LogError(str(path), f"outcomes.{word}", meaning, "answered, abandoned or other")
        for key in ("datetime_format", "date_format", "time_format"):
            if key in data and not (key == "datetime_format" and data[key] is None):
                _check_format(data[key], str(path), key)
        _check_format(f"{data.get('date_format', '%Y-%m-%d')} {data.get('time_format', '%H:%M:%S')}",
                      str(path), "date_format + time_format")
        return cls(columns=data.get("columns") or {},
                   outcomes={str(k): v for k, v in (data.get("outcomes") or {}).items()},
                   missing={k: [str(x) for x in v] for k, v in (data.get("missing") or {}).items()},
                   datetime_format=data.get("datetime_format"),
                   date_format=data.get("date_format", "%Y-%m-%d"),
                   time_format=data.get("time_format", "%H:%M:%S"))


def _check_format(fmt: object, file: str, field: str) -> None:
    """A LogError naming ``field`` and ``fmt`` unless pandas can parse dates with the strptime
    format ``fmt`` (pandas refuses an unknown directive such as ``%Q``, a stray ``%``, or a
    directive given twice, only when it parses: deep inside, with no file or option named)."""
    allowed = "a strptime date-time format such as '%Y-%m-%d %H:%M:%S'"
    if not isinstance(fmt, str) or not fmt.strip():
        raise LogError(file, field, fmt, allowed)
    try:
        pd.to_datetime(pd.Series(["2026-01-05 00:00:00"]), format=fmt, errors="coerce")
    except Exception as exc:  # noqa: BLE001 - ValueError, re.error, ...
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if reason.startswith("redefinition of group name"):   # re.error: a directive given twice
            reason = f"%{reason.split(chr(39))[1]} appears twice"
        raise LogError(file, field, fmt, f"{allowed} (pandas cannot use it: {reason})") from None


@dataclass
class ContactLog:
    """The usable contacts of a log, and what was set aside (reason → rows)."""

    file: str
    contacts: pd.DataFrame
    set_aside: dict[str, int]
    rows_read: int
    roles: dict[str, str]  # role -> where it came from (for the fit report)

    @property
    def days(self) -> list[pd.Timestamp]:
        return sorted(self.contacts["day"].unique())


def read_log(path: str | Path, column_map: ColumnMap | None = None, *,
             date_from: str | None = None, date_to: str | None = None) -> ContactLog:
    """Read a CSV contact log into a ``ContactLog`` (raises ``LogError`` on a log it cannot use)."""
    cmap = column_map or ColumnMap()
    file = str(path)
    if not Path(path).is_file():
        raise LogError(file, "LOG", file, "an existing CSV file")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise LogError(file, "(file)", str(exc).splitlines()[0] if str(exc) else "", "a CSV file with a header row") from None
    found = list(raw.columns)
    lower = {c.strip().lower(): c for c in found}
    roles: dict[str, Any] = {}
    for role, names in ALIASES.items():
        if role in cmap.columns:
            spec = cmap.columns[role]
            if spec is None:
                continue
            for col in _spec_columns(spec):
                if col not in raw.columns:
                    raise LogError(file, f"column {col!r} (for {role})", col,
                                   f"a column of the log; found {found}")
            roles[role] = spec
        else:
            hit = next((lower[n] for n in names if n in lower), None)
            if hit is not None:
                roles[role] = hit
    missing = [r for r in REQUIRED if r not in roles]
    if missing:
        wanted = {r: list(ALIASES[r][:3]) for r in missing}
        raise LogError(file, "columns", found,
                       f"columns for {missing} (default names {wanted}, or a --columns map)")
    n = len(raw)
    if n == 0:
        raise LogError(file, "rows", "(none)", "at least one contact row")
    out = pd.DataFrame({"row": np.arange(2, n + 2)})  # the line number in the file (header is 1)
    stamp = _arrival(raw, roles["arrival"], cmap, file)
    out["day"] = stamp.dt.normalize()
    out["clock_s"] = (stamp - stamp.dt.normalize()).dt.total_seconds()
    out["channel"] = _text(raw, roles.get("channel"), "phone")
    slashed = out["channel"][out["channel"].str.contains("/", regex=False)]
    if len(slashed):   # the fitted scenario's skills read channel/reason
        raise LogError(file, f"column {str(roles.get('channel'))!r} (for channel), row {int(slashed.index[0]) + 2}",
                       slashed.iloc[0], "a channel name without / (a scenario's skills write channel/reason)")
    out["reason"] = _text(raw, roles.get("reason"), "general")
    words = raw[_col(roles["outcome"])].str.strip()
    mapping = {k.lower(): v for k, v in OUTCOME_WORDS.items()} | {k.lower(): v for k, v in cmap.outcomes.items()}
    out["outcome"] = words.str.lower().map(mapping).fillna("other")
    for role in ("wait_s", "handle_s", "wrap_s"):
        out[role] = _duration(raw, roles.get(role), role, file) if role in roles else (0.0 if role == "wrap_s" else np.nan)
    out["agent"] = _optional(raw, roles.get("agent"), cmap.missing.get("agent", []))
    out["customer_id"] = _optional(raw, roles.get("customer_id"), cmap.missing.get("customer_id", []))
    out["class"] = _classes(raw, roles.get("class"), file)
    queued = None
    if "queue_entry" in roles:
        q = raw[_col(roles["queue_entry"])].str.strip()
        queued = ~q.isin(cmap.missing.get("queue_entry", [])) & (q != "")

    set_aside: dict[str, int] = {}

    def drop(mask: pd.Series, reason: str) -> None:
        nonlocal out, queued
        k = int(mask.sum())
        if k:
            set_aside[reason] = set_aside.get(reason, 0) + k
            keep = ~mask.to_numpy()
            out = out[keep]
            if queued is not None:
                queued = queued[keep]

    drop(out["outcome"].eq("other"), "outcome neither answered nor abandoned")
    if queued is not None:
        drop(out["outcome"].eq("abandoned") & ~queued.to_numpy(), "abandoned before reaching the queue (IVR)")
    if date_from is not None:
        drop(out["day"] < _date(date_from, "--from", file), "before --from")
    if date_to is not None:
        drop(out["day"] > _date(date_to, "--to", file), "after --to")
    if out.empty:
        window = f"{date_from or 'start'} to {date_to or 'end'}"
        raise LogError(file, "rows in the window", window, "at least one answered or abandoned contact "
                       f"(set aside: {set_aside or 'none'})")
    out = out.sort_values(["day", "clock_s"], kind="stable").reset_index(drop=True)
    for c in ("channel", "reason", "outcome", "class"):
        out[c] = out[c].astype("category")
    return ContactLog(file=file, contacts=out[list(COLUMNS)], set_aside=set_aside, rows_read=n,
                      roles={k: str(v) for k, v in roles.items()})


def _date(text: str, option: str, file: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(str(text)).normalize()
    except ValueError:
        raise LogError(file, option, text, "a date YYYY-MM-DD") from None


def _classes(raw: pd.DataFrame, spec: Any, file: str) -> pd.Series:
    """Routing class per row: a column's values, or a column's values mapped by ``values``.

    Class names become parts of reason names, so they must be letters, digits or ``_``;
    a value the map does not name (or an empty one) is an error naming its row.
    """
    if spec is None:
        return pd.Series(NO_CLASS, index=raw.index)
    if isinstance(spec, dict) and "column" not in spec:
        raise LogError(file, "columns.class", spec, "a column name or {column: C, values: {log value: class}}")
    col = _col(spec)
    text = raw[col].str.strip()
    where = f"column {col} (class)"
    if isinstance(spec, dict) and "values" in spec:
        values = spec["values"]
        if not isinstance(values, dict) or not values:
            raise LogError(file, "columns.class.values", values, "a mapping {log value: class name}")
        mapping = {str(k): str(v) for k, v in values.items()}
        for name in mapping.values():
            if not name.replace("_", "").isalnum():
                raise LogError(file, "columns.class.values", name, "class names of letters, digits and _")
        classes = text.map(mapping)
        bad = classes.isna().to_numpy()
        _stop_at_first(bad, file, where, text,
                       f"one of the mapped values {sorted(mapping)} ({int(bad.sum())} rows are not)")
        return classes
    bad = ~text.str.fullmatch(r"[A-Za-z0-9_]+").to_numpy()
    _stop_at_first(bad, file, where, text, "a class name of letters, digits and _ (or a columns.class.values map)")
    return text


def _stop_at_first(bad: np.ndarray, file: str, where: str, text: pd.Series, allowed: str) -> None:
    """A LogError naming the first row flagged in ``bad`` (row 1 is the header), if any."""
    if bad.any():
        i = int(np.argmax(bad))
        raise LogError(file, f"row {i + 2} {where}", text.iloc[i], allowed)


def _spec_columns(spec: Any) -> list[str]:
    if isinstance(spec, dict):
        return [v for k, v in spec.items() if k in ("date", "time", "column")]
    return [spec]


def _col(spec: Any) -> str:
    return spec["column"] if isinstance(spec, dict) else spec


def _text(raw: pd.DataFrame, spec: Any, default: str) -> pd.Series:
    if spec is None:
        return pd.Series(default, index=raw.index)
    if isinstance(spec, dict) and "value" in spec:
        return pd.Series(str(spec["value"]), index=raw.index)
    values = raw[_col(spec)].str.strip()
    return values.where(values != "", default)


def _optional(raw: pd.DataFrame, spec: Any, none_values: list[str]) -> pd.Series:
    if spec is None:
        return pd.Series(pd.NA, index=raw.index, dtype="string")
    values = raw[_col(spec)].str.strip().astype("string")
    return values.mask(values.isin(none_values) | (values == ""))


def _arrival(raw: pd.DataFrame, spec: Any, cmap: ColumnMap, file: str) -> pd.Series:
    if isinstance(spec, dict) and "date" in spec and "time" in spec:
        text = raw[spec["date"]].str.strip() + " " + raw[spec["time"]].str.strip()
        fmt = f"{cmap.date_format} {cmap.time_format}"
        where = f"{spec['date']} + {spec['time']}"
        _check_format(fmt, file, "date_format + time_format")
    else:
        text = raw[_col(spec)].str.strip()
        fmt = cmap.datetime_format or "ISO8601"
        where = _col(spec)
        _check_format(fmt, file, "datetime_format")
    try:
        stamp = pd.to_datetime(text, format=fmt, errors="coerce")
    except ValueError:  # rows with different UTC offsets (or some with one, some without)
        stamp = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
        bad = stamp.isna().to_numpy()
        _stop_at_first(bad, file, f"column {where}", text,
                       f"a date and time in the format {fmt!r} ({int(bad.sum())} rows fail)")
        _mixed_offsets(text, fmt, file, where)
    bad = stamp.isna().to_numpy()
    _stop_at_first(bad, file, f"column {where}", text,
                   f"a date and time in the format {fmt!r} ({int(bad.sum())} rows fail)")
    if stamp.dt.tz is not None:  # one offset on every row: read as written (wall-clock time at it)
        stamp = stamp.dt.tz_localize(None)
    return stamp


def _offset_name(tz: object) -> str:
    return "none" if tz is None else str(tz)


def _mixed_offsets(text: pd.Series, fmt: str, file: str, where: str, chunk: int = 1024) -> None:
    """A LogError naming the first row whose UTC offset differs from most rows' (every row parses).

    Parsed in chunks (a chunk of one offset is read at once), so a long log costs little.
    """
    offsets: list = []
    for lo in range(0, len(text), chunk):
        part = text.iloc[lo:lo + chunk]
        try:
            offsets.extend([pd.to_datetime(part, format=fmt).dt.tz] * len(part))
        except ValueError:
            offsets.extend(pd.to_datetime(t, format=fmt).tz for t in part)
    names = pd.Series([_offset_name(tz) for tz in offsets])
    counts = names.value_counts(sort=True)
    usual = counts.index[0]
    differs = (names != usual).to_numpy()
    if not differs.any():
        return
    i = int(np.argmax(differs))
    raise LogError(file, f"row {i + 2} column {where}", text.iloc[i],
                   f"one UTC offset on every row or none on any (this row's: {names.iloc[i]}; "
                   f"{int(counts.iloc[0]):,} of {len(names):,} rows: {usual}); times are read as written, at their "
                   "offset, so a log across a daylight-saving change should give local times without one")


def _duration(raw: pd.DataFrame, spec: Any, role: str, file: str) -> pd.Series:
    """Seconds from a column of numbers or H:MM:SS; negative or unreadable values are errors."""
    text = raw[_col(spec)].str.strip()
    seconds = pd.to_numeric(text, errors="coerce")
    clock = seconds.isna() & text.str.contains(":", regex=False)
    if clock.any():
        parts = text[clock].str.split(":", expand=True).apply(pd.to_numeric, errors="coerce")
        weights = [3600, 60, 1][-parts.shape[1]:]
        seconds[clock] = (parts * weights).sum(axis=1, min_count=parts.shape[1])
    _stop_at_first((seconds.isna() & (text != "")).to_numpy(), file, f"column {_col(spec)} ({role})", text,
                   "a duration in seconds or H:MM:SS")
    neg = (seconds < 0).to_numpy()
    if neg.any():
        i = int(np.argmax(neg))
        raise LogError(file, f"row {i + 2} column {_col(spec)} ({role})", text.iloc[i],
                       f"a duration >= 0 ({int(neg.sum())} rows are negative)")
    long = (seconds > MAX_DURATION_S).to_numpy()  # inf too
    if long.any():
        i = int(np.argmax(long))
        raise LogError(file, f"row {i + 2} column {_col(spec)} ({role})", text.iloc[i],
                       f"a finite duration of at most {MAX_DURATION_S / 86400:.0f} days "
                       f"({MAX_DURATION_S:,.0f} s; rows longer or infinite: {int(long.sum())})")
    return seconds.astype(float)


def parse_days(spec: str | None, log: ContactLog, weekdays: str | None = None, option: str = "--days") -> list:
    """Days of the log by number (1 = the log's first date; ``1-15,20``) and weekdays (``sun-thu``).

    ``None`` means every day (every weekday). Each range is checked against the days the log
    spans before anything is expanded: day 0, a range past the log's last day, an empty list
    or an empty item is refused (:class:`LogError` naming ``option`` or ``--weekdays``).
    """
    import re

    first = log.contacts["day"].min()
    days = log.days
    span = (max(log.days) - first).days + 1   # day numbers 1..span
    allowed = (f"day numbers like 1-15 or 1-5,8-12 between 1 (= {first.date()}, the log's first date) "
               f"and {span} (its last)")
    if spec is not None:
        wanted: set[int] = set()
        parts = spec.split(",")
        for part in parts:
            m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
            if not m:
                raise LogError(log.file, option, spec, allowed)
            lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
            if not 1 <= lo <= hi <= span:
                why = ("day 0 does not exist" if lo == 0 else "a range runs from low to high" if lo > hi
                       else f"the log has no day {hi}")
                raise LogError(log.file, option, spec, f"{allowed}; {why}")
            wanted.update(range(lo, hi + 1))   # at most span numbers
        days = [d for d in days if (d - first).days + 1 in wanted]
    if weekdays is not None:
        allowed_days = _weekday_set(weekdays, log.file)
        days = [d for d in days if d.weekday() in allowed_days]
    if not days:
        raise LogError(log.file, option, f"{spec or 'all'} ({weekdays or 'any weekday'})",
                       f"days present in the log (it covers {len(log.days)} days from {first.date()})")
    return days


def _weekday_set(text: str, file: str) -> set[int]:
    """Weekdays (0 = mon) of ``sun-thu`` or ``mon,wed``, as the scenario's day specs read them."""
    from simsvc.config.references import day_spec_days

    if not text.strip() or not all(p.strip() for p in text.split(",")):
        raise LogError(file, "--weekdays", text, "weekdays like sun-thu or mon,wed (no empty list or item; "
                       "leave --weekdays out for every day)")
    try:
        return set(day_spec_days(text))
    except ValueError:
        raise LogError(file, "--weekdays", text, "weekdays like sun-thu or mon,wed") from None
