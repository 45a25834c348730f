"""Fixing YAML text by splicing node spans: comments, order, quoting and layout stay.

Every splice is verified by reading the result back (see :func:`~._fix.fix_json_text`);
an edit through an alias or merge key, a duplicate key, or a result that does not read
back as exactly the edited document raises :class:`~._fix.FixRefused`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from fwcompat.cli.sources.units import SourceError, Unit, YamlInfo, without_gc
from fwcompat.cli.sources.yaml_reader import load_yaml, yaml_members

from ._fix import Edit, FixRefused, Splice, expected_after, grouped, runs, verified

__all__ = ["fix_yaml_text"]


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _only_space_before(text: str, pos: int) -> bool:
    return text[_line_start(text, pos) : pos].strip(" \t") == ""


def _content_end(text: str, start: int, end: int) -> int:
    """End of a node's own text: before the blank and comment lines PyYAML counts in."""
    while True:
        while end > start and text[end - 1] in " \t\r\n":
            end -= 1
        line = _line_start(text, end)
        if line > start and text[line:end].lstrip(" \t").startswith("#"):
            end = line
            continue
        return end


def _line_end(text: str, pos: int) -> int | None:
    """After the newline ending ``pos``'s line, if only a comment or spaces follow ``pos``."""
    newline = text.find("\n", pos)
    rest = text[pos : newline if newline >= 0 else len(text)]
    stripped = rest.strip(" \t\r")
    if stripped and not (stripped.startswith("#") and rest[:1] in " \t"):
        return None
    return newline + 1 if newline >= 0 else len(text)


_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*")


def _yaml_scalar(value: Any, style: str | None) -> str:
    """The replacement in the style of the value it replaces, when that reads back exactly.

    A plain ``max`` becomes a plain ``high``; anything YAML could misread (``on``,
    ``1.0``, ``null``) or any other value is written as JSON, which is YAML: a
    double-quoted, ASCII-escaped scalar or a flow collection. The result is
    verified by reading the file back in any case.
    """
    if isinstance(value, str):
        if not style and _PLAIN.fullmatch(value):
            import yaml

            if yaml.safe_load(value) == value:
                return value
        if style == "'" and "\n" not in value and value.isprintable():
            return "'" + value.replace("'", "''") + "'"
    return json.dumps(value, ensure_ascii=True)


@without_gc
def fix_yaml_text(
    text: str,
    edits: Sequence[Edit],
    unit: Unit | None = None,
    *,
    splices_out: list[Splice] | None = None,
    load: Callable[[str], Unit] = load_yaml,
) -> tuple[str, int]:
    """Apply edits to YAML text by splicing node spans (comments and layout stay).

    ``load`` reads the edited text back as the document (one of a stream of several).

    Raises :class:`FixRefused` (file untouched) when an edit goes through an alias
    or merge key (the same data appears elsewhere), for duplicate keys, and when
    the result does not read back as exactly the edited document.
    """
    if not edits:
        return text, 0
    try:
        if unit is None:
            unit = load_yaml(text)
    except SourceError as exc:
        raise FixRefused(exc.message) from None
    info = unit.yaml
    if info is None or info.root is None:
        raise FixRefused("no YAML document")
    if unit.problems:
        raise FixRefused("the document has duplicate or non-string keys")
    expected, effective = expected_after(unit.document, edits)
    if not effective:
        return text, 0
    splicer = _YamlSplicer(text, info)
    for parent_tokens, group in grouped(effective).items():
        splicer.edit(parent_tokens, group)
    return verified(text, splicer.splices, load, expected, splices_out), len(effective)


class _YamlSplicer:
    """The splices that apply edits to one YAML document's text, one parent at a time."""

    def __init__(self, text: str, info: YamlInfo) -> None:
        self.text = text
        self.info = info
        self.cache: dict[int, dict[str, tuple[Any, Any]]] = {}
        self.splices: list[Splice] = []

    def start_of(self, node: Any) -> int:
        return int(node.start_mark.index) + self.info.bom

    def end_of(self, node: Any) -> int:
        return _content_end(
            self.text, self.start_of(node), int(node.end_mark.index) + self.info.bom
        )

    def _parent(self, tokens: tuple[str, ...]) -> tuple[Any, Any]:
        """(the key node naming it, or None; the node) of the container ``tokens`` names."""
        import yaml

        node = self.info.root
        parent_key: Any = None
        for token in tokens:
            if id(node) in self.info.shared:
                raise FixRefused(_alias_message(tokens))
            if isinstance(node, yaml.MappingNode):
                parent_key, node = yaml_members(node, self.cache)[token]
            else:
                parent_key, node = None, node.value[int(token)]
        if id(node) in self.info.shared:
            raise FixRefused(_alias_message(tokens))
        return parent_key, node

    def _members(self, node: Any) -> tuple[list[tuple[int, Any]], dict[str, int]]:
        """(start of each member's text, its value node), and each token's member index."""
        import yaml

        if isinstance(node, yaml.MappingNode):
            members = [(self.start_of(k), v) for k, v in node.value]
            position = {
                k.value: n
                for n, (k, _) in enumerate(node.value)
                if k.tag == "tag:yaml.org,2002:str"
            }
        else:
            members = [(_dash(self.text, self.start_of(v)), v) for v in node.value]
            position = {str(n): n for n in range(len(node.value))}
        return members, position

    def edit(self, parent_tokens: tuple[str, ...], group: list[Edit]) -> None:
        """Splice the edits of the members of one container."""
        import yaml

        parent_key, node = self._parent(parent_tokens)
        members, position = self._members(node)
        removed = []
        for edit in group:
            n = position[edit.tokens[-1]]
            value = members[n][1]
            if id(value) in self.info.shared:
                raise FixRefused(_alias_message(edit.tokens))
            if edit.remove:
                removed.append(n)
            else:
                style = value.style if isinstance(value, yaml.ScalarNode) else '"'
                replacement = _yaml_scalar(edit.replacement, style)
                self.splices.append((self.start_of(value), self.end_of(value), replacement))
        if removed and len(removed) == len(members):
            self._empty(node, parent_key)
        elif removed:
            for first, last in runs(removed):
                self._remove(node, members, first, last)

    def _empty(self, node: Any, parent_key: Any) -> None:
        """Every member removed: the container becomes ``{}`` or ``[]``."""
        import yaml

        empty = "{}" if isinstance(node, yaml.MappingNode) else "[]"
        if node.flow_style:
            end = int(node.end_mark.index) + self.info.bom - 1
            self.splices.append((self.start_of(node) + 1, end, ""))
        elif parent_key is not None and _bare_colon(
            self.text, self.end_of(parent_key), self.start_of(node)
        ):
            # `key:\n  - x` -> `key: []` (also right for `key:\n- x`, at the key's column)
            self.splices.append((self.end_of(parent_key), self.end_of(node), ": " + empty))
        else:
            self.splices.append((self.start_of(node), self.end_of(node), empty))

    def _remove(self, node: Any, members: list[tuple[int, Any]], first: int, last: int) -> None:
        """Remove the members ``first`` to ``last`` (a run), with their lines when alone."""
        text = self.text
        member_start = members[first][0]
        if node.flow_style:
            if last + 1 < len(members):
                self.splices.append((member_start, members[last + 1][0], ""))
            else:
                start = self.end_of(members[first - 1][1])
                self.splices.append((start, self.end_of(members[last][1]), ""))
            return
        value_end = self.end_of(members[last][1])
        line_end = _line_end(text, value_end)
        if _only_space_before(text, member_start) and line_end is not None:
            cut_from = _line_start(text, member_start)
            if line_end == len(text) and not text.endswith("\n") and cut_from:
                cut_from -= 2 if text[cut_from - 2 : cut_from] == "\r\n" else 1
            self.splices.append((cut_from, line_end, ""))
        elif last + 1 < len(members):
            between = text[value_end : members[last + 1][0]]
            if "#" in between:
                raise FixRefused("a comment sits between the removed member and the next")
            self.splices.append((member_start, members[last + 1][0], ""))
        else:
            raise FixRefused("cannot remove this member in place")


def _bare_colon(text: str, key_end: int, value_start: int) -> bool:
    """Only ``:`` and white space between a key and its value (no comment, anchor, tag)."""
    between = text[key_end:value_start]
    return between.lstrip(" \t").startswith(":") and between.strip(" \t\r\n") == ":"


def _dash(text: str, item_start: int) -> int:
    """Where a block sequence item's ``-`` is (its item may start on a later line)."""
    i = item_start - 1
    while i >= 0 and text[i] in " \t\r\n":
        i -= 1
    if i >= 0 and text[i] == "-":
        return i
    return item_start  # a flow sequence: the item itself


def _alias_message(tokens: Sequence[str]) -> str:
    from fwcompat.engine import format_pointer

    return (
        f"{format_pointer(tokens) or '/'} is shared through a YAML alias or merge key "
        "(the same data appears elsewhere); edit it by hand"
    )
