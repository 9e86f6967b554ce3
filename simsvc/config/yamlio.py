"""Reading YAML and text input safely: YAML 1.2 numbers, no ambiguity, no blow-up, no echo.

PyYAML follows YAML 1.1, where ``12:00`` is the integer 720, ``8:14:2`` is
29642 and ``0100`` is 64. In scenario and experiment files those are clock
times, ranges and plain numbers, so simsvc reads them with a loader that keeps
base-60 forms as strings and has no legacy octal (as YAML 1.2 does).

Every file simsvc reads goes through :func:`read_text`, and every YAML document
through :func:`load_yaml`, which hold the input rules in one place:

- a file is at most ``MAX_FILE_BYTES`` (CSV: ``MAX_TABLE_BYTES``) and UTF-8; a
  UTF-8 byte-order mark (Excel's "CSV UTF-8") is accepted; other encodings get
  one message naming the file, never its contents;
- a key given twice in one mapping is an error naming both lines;
- nesting deeper than ``MAX_DEPTH`` and documents whose aliases would expand to
  more than ``MAX_NODES`` nodes (an "alias bomb" of a few hundred bytes) are
  refused before anything is built from them.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from simsvc.config.errors import ScenarioError

MAX_FILE_BYTES = 4 * 1024 * 1024  # a scenario or experiment file; real ones are a few kB
MAX_TABLE_BYTES = 64 * 1024 * 1024  # a CSV table (a year of 15-minute rows is under 2 MB)
MAX_DEPTH = 40  # nesting of mappings and lists
MAX_NODES = 200_000  # values in a document once its aliases are expanded


class YamlInputError(ScenarioError, yaml.YAMLError):
    """YAML text that cannot be used (also a ``yaml.YAMLError``, for callers that catch those)."""


class YamlRuleError(YamlInputError):
    """Well-formed YAML that breaks an input rule (a duplicate key, an alias bomb, deep nesting)."""


class Loader(yaml.SafeLoader):
    """SafeLoader whose int and float resolvers do not accept ``a:b`` (sexagesimal) forms."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"""^(?:[-+]?0b[0-1_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$""", re.X),
    list("-+0123456789"),
)
Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


# libyaml's event parser (C) when present, composed into nodes here in Python: the same
# nodes as PyYAML's own parser builds, several times faster on a scenario file (`check`
# starts sooner). Not libyaml's own composer: it recurses in C, so deep nesting in hostile
# input would overflow the C stack instead of stopping at Python's recursion limit. Text
# that libyaml refuses, or that PyYAML's reader would refuse, goes through PyYAML's own
# parser, so every error message stays PyYAML's.
try:
    from yaml._yaml import CParser as _CParser
except ImportError:  # PyYAML built without libyaml
    _CParser = None


if _CParser is not None:
    class _EventLoader(yaml.composer.Composer, _CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """:class:`Loader`'s composer, constructors and resolvers over libyaml's events."""

        yaml_implicit_resolvers = Loader.yaml_implicit_resolvers

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            yaml.composer.Composer.__init__(self)


def _event_loader(text: str) -> Any:
    """A loader over libyaml's events, or None where PyYAML's own parser must read ``text``:
    without libyaml, text PyYAML's reader refuses (its error is the message), and tags (``!``:
    libyaml resolves an empty tagged value differently), which scenario files never use."""
    if _CParser is None or "!" in text or yaml.reader.Reader.NON_PRINTABLE.search(text):
        return None
    return _EventLoader(text)


def read_text(path: str | Path, what: str = "file", limit: int = MAX_FILE_BYTES) -> str:
    """The text of a UTF-8 file (a BOM is dropped), or a ScenarioError that never quotes it."""
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
        if size > limit:
            raise ScenarioError(name, "", None, f"a {what} of at most {limit // (1024 * 1024)} MB "
                                f"(this one has {size / 1024 / 1024:,.1f} MB)", show_value=False)
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise ScenarioError(name, "", None, f"a readable {what} ({exc.strerror or exc})",
                            show_value=False) from None
    if len(data) > limit:  # grew while we looked, or not a regular file (a device, a pipe)
        raise ScenarioError(name, "", None, f"a {what} of at most {limit // (1024 * 1024)} MB",
                            show_value=False)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ScenarioError(name, f"line {line}", None, f"a UTF-8 text {what} (byte 0x{data[exc.start]:02x} "
                            "is not UTF-8; save the file as UTF-8, e.g. Excel's 'CSV UTF-8')",
                            show_value=False) from None
    return text.removeprefix("\ufeff")


def load_yaml(text: str, file: str = "") -> Any:
    """Parse one YAML document under the rules above; errors are ScenarioErrors naming ``file``."""
    text = text.removeprefix("\ufeff")
    loader = _event_loader(text)
    if loader is None:
        loader = Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError:
            if isinstance(loader, Loader):
                raise
            loader.dispose()
            loader = Loader(text)  # PyYAML's own parser: the error in PyYAML's words (and line, column)
            node = loader.get_single_node()
        if node is None:
            return None
        _check_tree(node, file)
        return loader.construct_document(node)
    except YamlInputError:
        raise
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not YAML"
        raise YamlInputError(file, where, None, f"well-formed YAML ({problem})", show_value=False) from None
    except RecursionError:
        raise YamlRuleError(file, "", None, f"nesting at most {MAX_DEPTH} levels deep",
                            show_value=False) from None
    finally:
        loader.dispose()


def _check_tree(root: yaml.Node, file: str) -> None:
    """Duplicate keys, nesting depth and expanded size, on the composed node graph.

    Aliases make the graph share nodes; sizes are memoised per node, so the check
    costs one visit per distinct node however large the expansion would be.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def visit(node: yaml.Node, path: list[str]) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if len(path) > MAX_DEPTH:
            raise YamlRuleError(file, _where(path, node), None, f"nesting at most {MAX_DEPTH} levels deep",
                                show_value=False)
        if key in active:
            raise YamlRuleError(file, _where(path, node), None, "no alias that refers to itself",
                                show_value=False)
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, v in node.value:
                name = k.value if isinstance(k, yaml.ScalarNode) else None
                if name is not None and name != "<<":
                    line = k.start_mark.line + 1
                    if name in seen:
                        raise YamlRuleError(
                            file, ".".join([*path, name]) + f" (line {line})", None,
                            f"each key once in a mapping ('{_cut(name)}' is also at line {seen[name]})",
                            show_value=False)
                    seen[name] = line
                total += visit(v, [*path, _cut(name) if name is not None else "?"])
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                total += visit(v, [*path, str(i)])
        active.discard(key)
        if total > MAX_NODES:
            raise YamlRuleError(file, _where(path, node), None,
                                f"at most {MAX_NODES:,} values once aliases are expanded "
                                "(anchors and aliases that multiply are refused)", show_value=False)
        sizes[key] = total
        return total

    visit(root, [])


def _where(path: list[str], node: yaml.Node) -> str:
    line = f"line {node.start_mark.line + 1}"
    return f"{'.'.join(path)} ({line})" if path else line


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_yaml(path: str | Path, what: str = "scenario file") -> Any:
    """Read and parse a YAML file under the rules above."""
    return load_yaml(read_text(path, what), str(path))
