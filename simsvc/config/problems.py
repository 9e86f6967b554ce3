"""Turning pydantic's validation errors into the problems a scenario's author needs.

Pydantic reports every branch of a union it tried and puts branch names
(``voice``, ``int``, ``function-after[...]``) into locations. These helpers pick
the error the user most likely means, express its location in the keys the user
wrote, and name what is allowed there (the known fields, a mapping, a list).
"""
from __future__ import annotations

from typing import Any

from simsvc.config.schema import Scenario


def _a(value: object) -> str:
    kind = kind_of(value)
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def kind_of(value: object) -> str:
    """A value's kind in words (for messages that must not quote the value)."""
    return {str: "text", list: "list", int: "number", float: "number", bool: "boolean", dict: "mapping",
            type(None): "empty value"}.get(type(value), type(value).__name__)


# Error types that only say "the input is not of this shape": when a field accepts
# several shapes (a number or a table, a distribution or a per-reason mapping),
# such errors come from the branches the user did not mean.
SHAPE_ERRORS = {
    "int_type", "int_parsing", "int_from_float", "float_type", "float_parsing", "bool_type",
    "bool_parsing", "string_type", "dict_type", "list_type", "model_type", "model_attributes_type",
    "literal_error", "union_tag_not_found", "is_instance_of", "none_required",
}


def pick_error(errors: list[dict[str, Any]], data: dict[str, Any]) -> dict[str, Any]:
    """The error the user most likely needs.

    Errors inside the branch that the input's own ``dist``/``kind`` selects come
    first, even a shape mismatch (the user wrote ``dist: lognormal``, so a missing
    ``cv`` or a ``cv: abc`` is the news, not what the per-reason mapping branch made
    of the same keys); then errors other than shape mismatches (those mostly come
    from branches the user did not mean); then the deepest: a mapping given where
    a number or a mapping is allowed (``staffing: {shifts: ...}``) is reported at
    the field inside it, not as "not a number". Ties keep pydantic's order.
    """
    return max(errors, key=lambda e: (_discriminated(e, data), e.get("type") not in SHAPE_ERRORS,
                                      len(_user_loc(e.get("loc", ()), data))))


def _discriminated(err: dict[str, Any], data: Any) -> bool:
    """Whether the error lies in the union branch named by the data's dist/kind field."""
    if err.get("type") == "union_tag_invalid":
        return True
    node = data
    for item in err.get("loc", ()):
        if isinstance(node, dict) and item in node:
            node = node[item]
        elif isinstance(node, list) and isinstance(item, int) and item < len(node):
            node = node[item]
        elif isinstance(node, dict) and item in (node.get("dist"), node.get("kind")):
            return True
    return False


def _user_loc(loc: tuple[Any, ...], data: Any) -> list[Any]:
    """The part of a pydantic location that names keys the user wrote.

    Pydantic puts union branch names (``voice``, ``int``, ``function-after[...]``)
    into locations; walking the input alongside keeps a key only where the data
    has it, so a channel that happens to be called ``chat`` keeps its name.
    """
    out: list[Any] = []
    node = data
    for item in loc:
        if isinstance(node, dict) and item in node:
            out.append(item)
            node = node[item]
        elif isinstance(node, list) and isinstance(item, int) and item < len(node):
            out.append(item)
            node = node[item]
    return out


def union_point(loc: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """The location up to where pydantic left the data for a union branch (or all of it):
    errors that share it are alternatives of one union, of which one is reported."""
    out: list[Any] = []
    node = data
    for k, item in enumerate(loc):
        if isinstance(node, dict) and item in node:
            node = node[item]
        elif isinstance(node, list) and isinstance(item, int) and item < len(node):
            node = node[item]
        elif _is_branch(item) or k < len(loc) - 1:  # a missing field ends a location: more after it is a branch
            return tuple(out)
        else:
            return (*out, item)  # a missing field: its own problem
        out.append(item)
    return tuple(out)


def unmeant_alternative(err: dict[str, Any], picked: list[dict[str, Any]], data: Any) -> bool:
    """Whether ``err`` only says that the input is not of a union branch's shape while another
    picked error concerns the same entry (its location overlaps): an alternative the user did not
    mean, left over where a branch label went unrecognised. A shape error at an entry no other
    error concerns is a problem of its own (``seed: x``, ``staffing: 5x``) and is reported."""
    loc = tuple(err.get("loc", ()))
    mine = tuple(_user_loc(loc, data))
    if err.get("type") not in SHAPE_ERRORS or len(mine) == len(loc):  # every item a key: no union branch
        return False
    for other in picked:
        theirs = tuple(_user_loc(other.get("loc", ()), data))
        if other is err or not theirs:  # a problem of the scenario as a whole hides nothing
            continue
        if mine[:len(theirs)] == theirs or theirs[:len(mine)] == mine:
            return True
    return False


def _is_branch(item: Any) -> bool:
    """Whether a pydantic location item names a union branch rather than a key (field names have
    no ``-``: ``constrained-float``, ``lax-or-strict`` are pydantic's labels)."""
    text = str(item)
    return (text in _MODEL_TAGS or "[" in text or "-" in text
            or text in ("int", "float", "str", "bool", "list", "dict", "none") or text[:1].isupper())


def pydantic_problem(err: dict[str, Any], data: dict[str, Any]) -> tuple[str, object, str]:
    loc = tuple(err.get("loc", ()))
    keys = _user_loc(loc, data)
    kind = err.get("type", "")
    if kind == "missing" and loc and (not keys or keys[-1] != loc[-1]):
        keys.append(loc[-1])  # a missing field is, by definition, not in the data
    path = ".".join(str(k) for k in keys)
    if kind == "extra_forbidden":
        known = _known_fields(loc[:-1])
        allowed = f"one of the known fields {known}" if known else "no such field"
        return path, loc[-1] if loc else err.get("input"), allowed
    if kind == "missing":
        return path, None, "a value (this field is required)"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        ctx = err.get("ctx", {})
        tag = ctx.get("discriminator", "").strip("'")
        expected = ctx.get("expected_tags", "")
        value = ctx.get("tag") if kind == "union_tag_invalid" else None
        allowed = f"one of {expected}" if expected else f"a {tag} field"
        return (f"{path}.{tag}" if tag else path), value, allowed
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return path, err.get("input"), f"a mapping of fields (name: value, ...), not {_a(err.get('input'))}"
    if kind == "list_type":
        return path, err.get("input"), f"a list [a, b, ...], not {_a(err.get('input'))}"
    msg = err.get("msg", "invalid value")
    for prefix in ("Value error, ", "Input should be "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return path, err.get("input"), msg


def _known_fields(loc: tuple[Any, ...]) -> list[str]:
    """Field names the schema accepts at ``loc`` (for the unknown-key message)."""
    model: Any = Scenario
    for item in loc:
        text = str(item)
        if text in _MODEL_TAGS:
            model = _MODEL_TAGS[text]
        elif text in getattr(model, "model_fields", {}):
            model = _model_of(model.model_fields[text].annotation)
        # otherwise a mapping key or list index: the model stays the same
    return sorted(getattr(model, "model_fields", {}))


def _model_of(annotation: Any) -> Any:
    from typing import get_args

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _tags() -> dict[str, Any]:
    from simsvc.config import schema as sch

    return {
        "voice": sch.VoiceChannel, "chat": sch.ChatChannel, "bot": sch.BotChannel,
        "async": sch.AsyncChannel, "exponential": sch.Exponential, "lognormal": sch.Lognormal,
        "gamma": sch.Gamma, "deterministic": sch.Deterministic, "uniform": sch.Uniform,
        "empirical": sch.Empirical, "Staffing": sch.Staffing,
    }


_MODEL_TAGS = _tags()


