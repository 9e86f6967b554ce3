"""``--set`` / ``--vary`` overrides: ``dotted.path=value`` applied to a scenario mapping.

An override may only set a path that exists in the scenario or in its schema,
so a typo (``agents.generalist.staffing=30`` when the pool is ``team``) is an
error about that option, naming the nearest known names, instead of a phantom
pool. A new named entry (a pool, a channel, a segment) is created only by
setting it whole: ``--set 'agents.night={skills: [phone], staffing: 3}'``.
"""
from __future__ import annotations

import copy
import difflib
import typing
from typing import Any, Iterable, Union

from pydantic import BaseModel

from simsvc.config.errors import MAX_PROBLEMS, ScenarioError
from simsvc.config.yamlio import YamlRuleError, load_yaml

Override = Union[str, tuple[str, str]]  # "path=value" (a --set) or (option label, "path=value")


def override_parts(item: Override) -> tuple[str, str]:
    """(option label, ``path=value`` text) of an override."""
    return ("--set", item) if isinstance(item, str) else (item[0], item[1])


def override_keys(text: str) -> list[str]:
    """The keys of a ``dotted.path=value`` override's path, each stripped (empty where the
    path has an empty part)."""
    return [k.strip() for k in text.split("=", 1)[0].strip().split(".")]


def apply_overrides(data: dict[str, Any], overrides: Iterable[Override],
                    schema: type[BaseModel] | None = None) -> dict[str, Any]:
    """Apply ``dotted.path=value`` strings; the value is read as YAML (``10``, ``4min``, ``[a, b]``).

    With ``schema``, every key must exist in the data or be a field of the schema
    at that place; a new mapping entry is only accepted as the last key, set whole.
    """
    out = copy.deepcopy(data)
    problems: list[ScenarioError] = []
    for item in overrides:
        option, text = override_parts(item)
        label = f"{option} {_cut(text)}"
        if "=" not in text:
            raise ScenarioError(option, text, text, "dotted.path=value")
        dotted, raw = text.split("=", 1)
        keys = override_keys(text)
        if not any(keys):   # no name at all: '=3', '..=3'
            raise ScenarioError(option, text, text, "dotted.path=value")
        if not all(keys):   # 'horizon.=1d', 'channels..phone=1', '.horizon=1d'
            raise ScenarioError(label, dotted.strip(), None, "a dotted path with a name between every two dots "
                                "and none at either end, e.g. agents.team.staffing=12", show_value=False)
        try:
            value = load_yaml(raw, label)
        except YamlRuleError:
            raise
        except ScenarioError:
            value = raw  # not YAML: take the text as written (a name, a clock time)
        try:
            _set(out, keys, value, label, schema)
        except ScenarioError as exc:
            problems.append(exc)
    if problems:
        first = problems[0]
        first.others = [(f"{p.path} ({p.file})", p.value, p.allowed) for p in problems[1:MAX_PROBLEMS]]
        first.more = len(problems) - 1
        raise first
    return out


def _set(out: dict[str, Any], keys: list[str], value: Any, label: str, schema: type[BaseModel] | None) -> None:
    node: Any = out
    types: list[Any] | None = [schema] if schema is not None else None
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        here = ".".join(keys[: depth + 1])
        if isinstance(node, list):
            if not (key.isdigit() and int(key) < len(node)):
                raise ScenarioError(label, here, None, f"an index 0..{len(node) - 1} of the list "
                                    f"{'.'.join(keys[:depth]) or '(top level)'}", show_value=False)
            types = _step(types, key, node[int(key)])[0] if types is not None else None
            if last:
                node[int(key)] = value
            else:
                node = node[int(key)]
            continue
        if not isinstance(node, dict):
            raise ScenarioError(label, ".".join(keys[:depth]) or "(top level)", node, "a mapping to set a field in")
        present = key in node
        child_types, kind = _step(types, key, node.get(key)) if types is not None else (None, "field")
        if types is not None and not present:
            _check_new_key(label, keys, depth, node, types, kind, value)
        if last:
            node[key] = value
            return
        if not isinstance(node.get(key), (dict, list)):
            node[key] = _default_of(types, key) if not present else {}
        node, types = node[key], child_types


def _check_new_key(label: str, keys: list[str], depth: int, node: dict, types: list[Any], kind: str,
                   value: Any) -> None:
    key, parent, here = keys[depth], ".".join(keys[:depth]), ".".join(keys[: depth + 1])
    last = depth == len(keys) - 1
    if kind == "field":
        return  # a schema field left at its default: setting it is fine
    if kind == "entry":
        names = [k for k in node if isinstance(k, str)]
        if not last:
            raise ScenarioError(label, here, key,
                                f"an existing entry of {parent} ({_known(names)}){_nearest(key, names)}; "
                                f"to add '{key}', set it whole: --set '{here}={{...}}'")
        return
    fields = sorted({f for t in _candidates(types) if _is_model(t) for f in t.model_fields})
    if not fields:
        raise ScenarioError(label, here, None, f"a path into the scenario ({parent or 'the top level'} "
                            "holds no fields)", show_value=False)
    raise ScenarioError(label, here, key, f"one of the known fields {fields}{_nearest(key, fields)}")


def _default_of(types: list[Any] | None, key: str) -> dict | list:
    """The schema's default for an absent field, as plain data (so ``reasons.general.…``
    reaches the default ``general`` reason), or an empty mapping."""
    for t in _candidates(types or []):
        if _is_model(t) and key in t.model_fields:
            info = t.model_fields[key]
            if info.default_factory is None and info.default is None:
                continue
            default = info.get_default(call_default_factory=True)
            dumped = _plain(default)
            if isinstance(dumped, (dict, list)):
                return dumped
    return {}


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(exclude_defaults=True)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _nearest(key: str, names: list[str]) -> str:
    close = difflib.get_close_matches(key, [str(n) for n in names], n=2, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def _known(names: list[str]) -> str:
    return "known: " + ", ".join(map(str, names[:12])) + (", ..." if len(names) > 12 else "") if names else "none yet"


# --------------------------------------------------------------------------- schema walk
def _candidates(types: list[Any]) -> list[Any]:
    """Concrete types behind annotations (Annotated, Optional and Union unwrapped)."""
    out: list[Any] = []
    for t in types:
        origin = typing.get_origin(t)
        if origin is typing.Annotated:
            out += _candidates([typing.get_args(t)[0]])
        elif origin is Union or str(origin) == "types.UnionType":
            out += _candidates(list(typing.get_args(t)))
        else:
            out.append(t)
    return out


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _step(types: list[Any], key: str, data_node: Any) -> tuple[list[Any], str]:
    """The candidate types of ``key`` under a node of ``types``, and how the key is known there:
    ``field`` (a schema field), ``entry`` (a name in a mapping) or ``unknown``."""
    fields, entries = [], []
    for t in _candidates(types):
        if _is_model(t):
            if key in t.model_fields:
                fields.append(t.model_fields[key].annotation)
        elif typing.get_origin(t) is dict:
            entries.append(typing.get_args(t)[1])
        elif typing.get_origin(t) is list and key.isdigit():
            entries.append(typing.get_args(t)[0])
    if fields:
        return _narrow(fields, data_node), "field"
    if entries:
        return _narrow(entries, data_node), "entry"
    # No schema knowledge here (free-form mapping or a scalar): let validation judge the value.
    return [Any], "unknown" if any(_is_model(t) for t in _candidates(types)) else "field"


def _narrow(types: list[Any], data_node: Any) -> list[Any]:
    """Keep the union branches that the data's own ``kind``/``dist`` selects (if it says)."""
    if not isinstance(data_node, dict):
        return types
    tag = next((data_node[k] for k in ("kind", "dist") if isinstance(data_node.get(k), str)), None)
    if tag is None:
        return types
    chosen = [t for t in _candidates(types)
              if _is_model(t) and any(tag in typing.get_args(t.model_fields[k].annotation)
                                      for k in ("kind", "dist") if k in t.model_fields)]
    return chosen or types


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
