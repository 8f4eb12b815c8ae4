"""YAML loading that remembers the line of every mapping and key."""

from __future__ import annotations

from typing import Any

import yaml


class LineDict(dict):
    """A mapping from YAML that knows its line and the line of each key."""

    line: int
    key_lines: dict[Any, int]


class LineList(list):
    """A sequence from YAML that knows its line and the line of each item."""

    line: int
    item_lines: list[int]


class DuplicateKeyError(yaml.MarkedYAMLError):
    """The same key twice in one mapping: YAML would silently keep the last."""


# libyaml's parser (in PyYAML's wheels) reads rules.yaml ten times faster than the pure-Python
# one, with the same marks; the pure-Python one is the fallback where PyYAML was built without it.
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise DuplicateKeyError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def load_yaml(text: str) -> Any:
    """Parse YAML into LineDict/LineList values (raises yaml.YAMLError)."""
    return yaml.load(text, Loader=_Loader)


def item_line(value: Any, index: int, default: int = 0) -> int:
    """The line of item ``index`` of a YAML sequence, or ``default``."""
    lines = getattr(value, "item_lines", None)
    return lines[index] if lines is not None and index < len(lines) else default


def line_of(value: Any, key: Any = None, default: int = 0) -> int:
    """The line of ``value`` (or of ``key`` inside it), or ``default``."""
    if key is not None and isinstance(value, LineDict) and key in value.key_lines:
        return value.key_lines[key]
    return getattr(value, "line", default)
