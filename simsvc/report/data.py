"""Reading a results folder (or an experiment folder) for the report.

Everything here is plain pandas: the plot functions take the DataFrames and the
channel facts returned by :func:`load_run`, so a notebook can call them on a
folder, or on a :class:`simsvc.RunResult` in memory (``channels_from_scenario``).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import yaml

from simsvc.config.yamlio import load_yaml
from simsvc.report.hours import hours_key
from simsvc.report.waits import (  # noqa: F401 - re-exported
    _CONTACT_COLUMNS, HISTOGRAM_COLUMNS, WAIT_BIN_S, WAIT_COARSE_BIN_S, WAIT_COARSE_FROM_S,
    merge_wait_histograms, wait_histogram, wait_histogram_of_file)

SUMMARY_COLUMNS = ("channel", "metric", "mean", "ci_low", "ci_high", "reps")
REAL_TIME_KINDS = ("voice", "chat")
# The schema's defaults, used only when a written scenario lacks the field.
_DEFAULT_THRESHOLD_S = {"voice": 20.0, "chat": 60.0, "async": 86400.0}
# Journey mode: the stages in order, and the customers.parquet columns the report reads.
STAGES = ("need_awareness", "information_search", "evaluation", "purchase", "usage",
          "post_purchase", "loyalty")
JOURNEY_COLUMNS = ("segment", "stage", "metric", "mean", "ci_low", "ci_high", "reps")
_CUSTOMER_COLUMNS = (["replication", "segment", "source", "status", "stage_end", "ended_s",
                      "churn_cause", "satisfaction"] + [f"reached_{s}_s" for s in STAGES])
JOURNEY_FILES = ("journey.csv", "customers.parquet", "journey_events.parquet")
# The intervals.parquet columns the weekday × time-of-day heat map reads (with pending_not_due).
GRID_COLUMNS = ["replication", "start_s", "channel", "offered", "lost_closed",
                "answered_within_threshold", "in_warmup"]


class ReportError(Exception):
    """The folder cannot be reported on; the message is one line for the user."""


@dataclass(frozen=True)
class ChannelInfo:
    """What the plots need to know about a channel."""

    name: str
    kind: str                     # voice | chat | bot | async | unknown
    threshold_s: float | None     # service-level threshold; async: response target
    target: float | None = None   # service_level_target (voice/chat), if the scenario sets one
    hours: Any = "24/7"           # opening hours as written, hashable (report.hours.hours_key)

    @property
    def real_time(self) -> bool:
        return self.kind in REAL_TIME_KINDS

    @property
    def is_async(self) -> bool:
        return self.kind == "async"


@dataclass
class RunData:
    """The contents of one results folder; optional tables are None when absent."""

    path: Path
    summary: pd.DataFrame
    manifest: dict[str, Any]
    scenario: dict[str, Any]
    channels: dict[str, ChannelInfo]
    intervals: pd.DataFrame | None = None
    pools: pd.DataFrame | None = None
    waits: pd.DataFrame | None = None   # wait_histogram of contacts.parquet (None when absent)
    problems: list[str] = field(default_factory=list)   # optional files that could not be read
    journey: pd.DataFrame | None = None       # journey.csv (journey mode)
    customers: pd.DataFrame | None = None     # customers.parquet, the columns the report reads
    journey_files: tuple[str, ...] = ()       # the journey outputs present in the folder
    # A run reported from memory (simsvc.report.live) carries these; read from the folder, they
    # are None and read when needed: daily.csv, and intervals.parquet's columns for the heat map.
    daily: pd.DataFrame | None = None
    grid: pd.DataFrame | None = None

    @property
    def contacts(self) -> pd.DataFrame | None:
        """The columns of ``contacts.parquet`` the report reads, loaded on demand (the report
        itself plots :attr:`waits`, its histogram, and never loads them all)."""
        return _optional_parquet(self.path / "contacts.parquet", [], _CONTACT_COLUMNS)

    @property
    def start_day(self) -> str:
        return str(self.scenario.get("start_day", "mon"))

    @property
    def is_journey(self) -> bool:
        """Whether the folder holds journey-mode outputs (a scenario with ``customers:``)."""
        return bool(self.journey_files)

    @property
    def horizon_s(self) -> float | None:
        return _seconds(self.scenario.get("horizon"), None)

    @property
    def warmup_s(self) -> float:
        return _seconds(self.scenario.get("warmup"), 0.0) or 0.0

    @property
    def segments(self) -> list[str]:
        """Customer segments in scenario order (then any others journey.csv names)."""
        spec = (self.scenario.get("customers") or {}).get("segments") or {}
        names = [str(n) for n in spec] if isinstance(spec, dict) else []
        if self.journey is not None:
            names += [s for s in dict.fromkeys(self.journey["segment"].astype(str))
                      if s != "all" and s not in names]
        return names


@dataclass
class ExperimentData:
    """An experiment folder (``simsvc compare/sweep/experiment``)."""

    path: Path
    meta: dict[str, Any]
    summary: pd.DataFrame
    comparison: pd.DataFrame | None = None
    points: pd.DataFrame | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return str(self.meta.get("kind", "experiment"))

    @property
    def variants(self) -> dict[str, dict[str, Any]]:
        return dict(self.meta.get("variants") or {})

    @property
    def targets(self) -> list[dict[str, Any]]:
        return list(self.meta.get("targets") or [])

    def label(self, variant: object) -> str:
        """A variant's display name (its key when it has none)."""
        spec = self.variants.get(str(variant)) or {}
        return str(spec.get("name") or variant)


# --------------------------------------------------------------------------- helpers
def _seconds(value: object, default: float | None) -> float | None:
    if value is None:
        return default
    from simsvc.config.units import parse_duration

    try:
        return parse_duration(value)
    except ValueError:
        return default


def channels_from_scenario(scenario: Any) -> dict[str, ChannelInfo]:
    """Channel facts from a scenario: a :class:`simsvc.Scenario` or its written dict."""
    if hasattr(scenario, "model_dump"):
        from simsvc.config.load import scenario_dict

        scenario = scenario_dict(scenario)
    out: dict[str, ChannelInfo] = {}
    for name, spec in (scenario or {}).get("channels", {}).items():
        spec = spec or {}
        kind = str(spec.get("kind", "unknown"))
        field_name = "response_target" if kind == "async" else "service_level_threshold"
        threshold = _seconds(spec.get(field_name), _DEFAULT_THRESHOLD_S.get(kind))
        target = spec.get("service_level_target")
        out[str(name)] = ChannelInfo(str(name), kind, None if kind == "bot" else threshold,
                                     float(target) if target is not None else None,
                                     hours_key(spec.get("hours", "24/7")))
    return out


def read_summary(path: Path) -> pd.DataFrame:
    """``summary.csv`` with its columns checked; ReportError names what is wrong."""
    file = path / "summary.csv"
    if not file.is_file():
        raise ReportError(f"{path}: no summary.csv here; expected a simsvc results folder "
                          f"(written by `simsvc run`) or an experiment folder")
    try:
        summary = pd.read_csv(file)
    except Exception as exc:  # noqa: BLE001 - pandas raises many kinds
        raise ReportError(f"{file}: cannot be read as CSV ({_first_line(exc)})") from None
    return summary


NUMBER_COLUMNS = ("mean", "ci_low", "ci_high", "reps")


def check_numbers(frame: pd.DataFrame, file: Path, columns: tuple[str, ...] = NUMBER_COLUMNS
                  ) -> pd.DataFrame:
    """``frame`` with ``columns`` (those it has) as numbers; ReportError naming the file, the
    column and the first cell that is text where a number belongs (empty cells are NaN)."""
    out = frame.copy()
    for column in columns:
        if column not in out.columns or pd.api.types.is_numeric_dtype(out[column]):
            continue
        values = pd.to_numeric(out[column], errors="coerce")
        text = out[column].astype(str).str.strip()
        bad = values.isna() & out[column].notna() & (text != "")
        if bad.any():
            at = int(bad.to_numpy().nonzero()[0][0])
            raise ReportError(f"{file}: column {column} holds {text.iloc[at]!r} on line {at + 2}, "
                              f"not a number; the file is damaged")
        out[column] = values
    return out


def _describe_value(value: object) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _whole(low: int):
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


def _seconds_value(v: object) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0)


# What manifest.json's fields must be (run folders), with the words for the user.
MANIFEST_FIELDS: dict[str, tuple[Any, str]] = {
    "scenario_name": (lambda v: isinstance(v, str), "text"),
    "scenario_hash": (lambda v: isinstance(v, str), "text"),
    "simsvc_version": (lambda v: isinstance(v, str), "text"),
    "python": (lambda v: isinstance(v, str), "text"),
    "platform": (lambda v: isinstance(v, str), "text"),
    "created_utc": (lambda v: isinstance(v, str), "text"),
    "seeding": (lambda v: isinstance(v, str), "text"),
    "root_seed": (_whole(0), "a whole number ≥ 0"),
    "replications": (_whole(1), "a whole number ≥ 1"),
    "workers": (_whole(1), "a whole number ≥ 1"),
    "arrivals": (_whole(0), "a whole number ≥ 0"),
    "wall_s": (_seconds_value, "seconds (a number ≥ 0)"),
    "replication_wall_s": (lambda v: isinstance(v, list) and all(_seconds_value(x) for x in v),
                           "a list of seconds"),
    "dependencies": (lambda v: isinstance(v, dict) and all(
        isinstance(x, str) or x is None for x in v.values()), "package names with versions"),
    "scenario": (lambda v: isinstance(v, dict), "the scenario (a mapping)"),
    "contacts_written": (lambda v: isinstance(v, bool), "true or false"),
}


def manifest_problems(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Field → what is wrong with it, for the manifest fields whose value is not what
    ``simsvc run`` writes (absent fields are not problems: older runs lack some)."""
    out = {}
    for name, (ok, expected) in MANIFEST_FIELDS.items():
        if name in manifest and manifest[name] is not None and not ok(manifest[name]):
            out[name] = f"{_describe_value(manifest[name])}, not {expected}"
    return out


def contacts_absent(run: RunData, file: str = "contacts.parquet") -> str:
    """Why ``file`` (contacts.parquet or customers.parquet) is not shown: could not be read,
    left out by ``--no-contacts`` (as the manifest records), or missing from the folder."""
    for problem in run.problems:
        if problem.startswith(f"{file} "):
            return f"{file} could not be read"
    if run.manifest.get("contacts_written") is False:
        return f"{file} is absent (the run was written with --no-contacts)"
    return f"{file} is missing from the folder"


def run_warnings(run: RunData) -> list[str]:
    """What the report of ``run`` says is missing or damaged, one line each (for stderr)."""
    out = list(run.problems)
    out += [f"manifest.json: {field} is {why}" for field, why in manifest_problems(run.manifest).items()]
    if run.summary.empty:
        out.append("summary.csv has no rows: no KPIs to show")
    return out


def _require(frame: pd.DataFrame, columns: tuple[str, ...], file: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ReportError(f"{file}: missing column(s) {', '.join(missing)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _read_json(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{file}: cannot be read as JSON ({_first_line(exc)})") from None
    if not isinstance(data, dict):
        raise ReportError(f"{file}: expected a JSON object")
    return data


def _optional_parquet(file: Path, problems: list[str], columns: list[str] | None = None
                      ) -> pd.DataFrame | None:
    if not file.is_file():
        return None
    try:
        return pd.read_parquet(file, columns=columns)
    except Exception as exc:  # noqa: BLE001
        problems.append(f"{file.name} could not be read ({_first_line(exc)})")
        return None


def _optional_csv(file: Path, problems: list[str]) -> pd.DataFrame | None:
    if not file.is_file():
        return None
    try:
        return pd.read_csv(file)
    except Exception as exc:  # noqa: BLE001
        problems.append(f"{file.name} could not be read ({_first_line(exc)})")
        return None


# --------------------------------------------------------------------------- loading
def is_experiment(path: str | Path) -> bool:
    return (Path(path) / "experiment.json").is_file()


def channels_of(scenario: dict[str, Any], summary: pd.DataFrame) -> dict[str, ChannelInfo]:
    """The scenario's channels, then any other the summary names (kind unknown)."""
    channels = channels_from_scenario(scenario)
    for name in dict.fromkeys(summary["channel"].astype(str)):
        if name != "all" and name not in channels:
            channels[name] = ChannelInfo(name, "unknown", None)
    return channels


def load_run(path: str | Path) -> RunData:
    """Read a results folder written by ``simsvc run`` / :func:`simsvc.write_results`."""
    path = Path(path)
    if not path.is_dir():
        raise ReportError(f"{path}: no such folder")
    summary = read_summary(path)
    _require(summary, SUMMARY_COLUMNS, path / "summary.csv")
    summary = check_numbers(summary, path / "summary.csv")
    problems: list[str] = []
    manifest = _read_json(path / "manifest.json") if (path / "manifest.json").is_file() else {}
    scenario: dict[str, Any] = {}
    if (path / "scenario.yaml").is_file():
        try:
            scenario = load_yaml((path / "scenario.yaml").read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            problems.append(f"scenario.yaml could not be read ({_first_line(exc)})")
        if not isinstance(scenario, dict):
            problems.append("scenario.yaml could not be read (not a mapping of scenario fields)")
            scenario = {}
    if not scenario and isinstance(manifest.get("scenario"), dict):
        scenario = manifest["scenario"]
    try:
        channels = channels_of(scenario, summary)
    except (AttributeError, TypeError, ValueError) as exc:
        problems.append(f"the scenario's channels could not be read ({_first_line(exc)}); "
                        "channel kinds and thresholds are unknown")
        channels = channels_of({}, summary)
    waits = None
    if (path / "contacts.parquet").is_file():
        try:
            waits = wait_histogram_of_file(path / "contacts.parquet")
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds
            problems.append(f"contacts.parquet could not be read ({_first_line(exc)})")
    journey = _optional_csv(path / "journey.csv", problems)
    if journey is not None:
        try:
            _require(journey, JOURNEY_COLUMNS, path / "journey.csv")
            journey = journey.assign(segment=journey["segment"].astype(str),
                                     stage=journey["stage"].astype(str),
                                     metric=journey["metric"].astype(str))
        except ReportError as exc:
            problems.append(str(exc))
            journey = None
    return RunData(
        path=path, summary=summary, manifest=manifest, scenario=scenario, channels=channels,
        intervals=_optional_parquet(path / "intervals.parquet", problems),
        pools=_optional_parquet(path / "pools.parquet", problems),
        waits=waits, problems=problems, journey=journey,
        customers=_optional_parquet(path / "customers.parquet", problems, list(_CUSTOMER_COLUMNS)),
        journey_files=tuple(f for f in JOURNEY_FILES if (path / f).is_file()),
    )


def load_experiment(path: str | Path) -> ExperimentData:
    """Read an experiment folder (``experiment.json`` + ``summary.csv`` and friends)."""
    path = Path(path)
    if not path.is_dir():
        raise ReportError(f"{path}: no such folder")
    meta = _read_json(path / "experiment.json")
    _check_experiment_meta(meta, path / "experiment.json")
    summary = read_summary(path)
    _require(summary, ("variant",) + SUMMARY_COLUMNS, path / "summary.csv")
    summary = check_numbers(summary, path / "summary.csv")
    summary["variant"] = summary["variant"].astype(str)
    problems: list[str] = []
    comparison = _optional_csv(path / "comparison.csv", problems)
    if comparison is not None:
        try:
            _require(comparison, ("variant", "baseline", "channel", "metric", "diff", "diff_low",
                                  "diff_high", "significant"), path / "comparison.csv")
            comparison["variant"] = comparison["variant"].astype(str)
            comparison["baseline"] = comparison["baseline"].astype(str)
            comparison["significant"] = as_bool(comparison["significant"])
        except ReportError as exc:
            problems.append(str(exc))
            comparison = None
    points = _optional_csv(path / "points.csv", problems)
    if points is not None:
        if "variant" not in points.columns:
            problems.append("points.csv has no variant column")
            points = None
        else:
            points["variant"] = points["variant"].astype(str)
            for column in ("meets_targets", "cheapest"):
                if column in points.columns:
                    points[column] = as_bool(points[column])
    return ExperimentData(path=path, meta=meta, summary=summary, comparison=comparison,
                          points=points, problems=problems)


def _check_experiment_meta(meta: dict[str, Any], file: Path) -> None:
    """The fields of ``experiment.json`` the report reads, in the shapes ``simsvc`` writes them;
    ReportError naming the field otherwise (a tampered or damaged file, not a traceback)."""
    def fail(field: str, value: object, expected: str) -> None:
        raise ReportError(f"{file}: {field} = {json.dumps(value, default=str)[:80]}: expected {expected}")

    variants = meta.get("variants")
    if variants is not None:
        if not isinstance(variants, dict):
            fail("variants", variants, "a mapping of variant keys to their descriptions")
        for key, spec in variants.items():
            if not isinstance(spec, dict):
                fail(f"variants.{key}", spec, "a mapping (name, params, ...)")
            if not isinstance(spec.get("params") or {}, dict):
                fail(f"variants.{key}.params", spec["params"], "a mapping of parameters to values")
    for field, what in (("metrics", "metric@channel names"), ("targets", "targets (mappings)")):
        value = meta.get(field)
        if value is not None and not isinstance(value, list):
            fail(field, value, f"a list of {what}")
    for k, target in enumerate(meta.get("targets") or []):
        if not isinstance(target, dict):
            fail(f"targets.{k}", target, "a mapping (metric, channel, op, value)")
    cost = meta.get("cost_metric")
    if cost is not None and not isinstance(cost, str):
        fail("cost_metric", cost, "a metric@channel name")


def as_bool(values: pd.Series) -> pd.Series:
    """True/False/1/0/yes/no (any case) as a bool Series; anything else is False."""
    if values.dtype == bool:
        return values
    text = values.astype(str).str.strip().str.lower()
    return text.isin(["true", "1", "1.0", "yes", "y"])


def point_columns(points: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(varied parameters, ``metric@channel`` names) of a ``points.csv`` table."""
    fixed = {"variant", "name", "meets_targets", "cheapest", "target_status"}
    metrics = [c for c in points.columns
               if "@" in c and not c.endswith(("_ci_low", "_ci_high")) and c not in fixed]
    params = [c for c in points.columns
              if c not in fixed and "@" not in c]
    return params, metrics


def split_metric(key: str, default_channel: str = "all") -> tuple[str, str]:
    """``"service_level@phone"`` → (``service_level``, ``phone``); a bare metric → channel ``all``."""
    metric, _, channel = str(key).partition("@")
    return metric, channel or default_channel


def summary_value(summary: pd.DataFrame, channel: str, metric: str) -> tuple[float, float, float, int]:
    """(mean, ci_low, ci_high, reps) of one summary row; NaNs when absent."""
    row = summary[(summary["channel"].astype(str) == channel) & (summary["metric"] == metric)]
    if row.empty:
        return float("nan"), float("nan"), float("nan"), 0
    r = row.iloc[0]
    reps = r.get("reps", 0)
    return (float(r["mean"]), float(r["ci_low"]), float(r["ci_high"]),
            int(reps) if pd.notna(reps) else 0)


def ordered_channels(channels: Mapping[str, ChannelInfo], present: object) -> list[str]:
    """Channels in scenario order, restricted to those in ``present``."""
    names = {str(x) for x in present}
    return [c for c in channels if c in names]
