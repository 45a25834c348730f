"""Applying fixes to files: format-preserving rewrites, diffs and atomic writes.

Fixes come from the diagnostics (pointers into the *original* document), so the
CLI can apply only the safe ones unless ``--unsafe-fixes`` is given. Edits are
applied in reverse document order, so removing ``/tools/1`` never shifts the
pointer ``/tools/0/...`` that is edited next, and a removal under a removed
parent is a no-op.

- JSON is re-serialized with the file's own indent, separators, newline style,
  trailing newline and ASCII escaping; key order is kept.
- YAML goes through ruamel.yaml's round-trip mode (imported only here), which
  keeps comments, key order and quoting.
- JSONL lines are rewritten one by one in the compact style of each line.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, MutableMapping, MutableSequence, Sequence
from dataclasses import dataclass
from typing import Any

from fwcompat._diagnostics import Diagnostic
from fwcompat._paths import is_index, parse_pointer

from ._sources import (
    _DECODER,
    _find_element,
    _find_member,
    _ws,
    file_tokens,
    fixable,
    scanstring,
)

__all__ = [
    "Edit",
    "JsonStyle",
    "apply_edits",
    "dump_json",
    "edits_for",
    "file_tokens",
    "fix_json_text",
    "fix_yaml_text",
    "unified_diff",
    "write_atomic",
]


@dataclass(frozen=True, slots=True)
class Edit:
    tokens: tuple[str, ...]
    """Where, as unescaped pointer tokens into the file's document."""
    remove: bool
    replacement: Any = None


def edits_for(diagnostics: Iterable[Diagnostic], envelope: bool, unsafe: bool) -> list[Edit]:
    edits = []
    for d in diagnostics:
        if not fixable(d, unsafe):
            continue
        try:
            tokens = file_tokens(d, parse_pointer(d.path), envelope)
        except ValueError:
            continue
        if tokens is None:
            continue
        assert d.fix is not None
        edits.append(Edit(tuple(tokens), d.action == "removed", d.fix.replacement))
    return edits


def _order(edit: Edit) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(t)) if t.isascii() and t.isdigit() else (1, t) for t in edit.tokens)


def apply_edits(document: Any, edits: Iterable[Edit]) -> tuple[Any, int]:
    """Apply edits in place (reverse document order); returns (document, edits applied)."""
    applied = 0
    for edit in sorted(edits, key=_order, reverse=True):
        if not edit.tokens:
            if not edit.remove:
                document = edit.replacement
                applied += 1
            continue
        parent = document
        for token in edit.tokens[:-1]:
            parent = _child(parent, token)
            if parent is _ABSENT:
                break
        if parent is _ABSENT:
            continue
        last = edit.tokens[-1]
        if isinstance(parent, MutableMapping):
            if edit.remove:
                if last in parent:
                    del parent[last]
                    applied += 1
            else:
                parent[last] = edit.replacement
                applied += 1
        elif isinstance(parent, MutableSequence) and is_index(last):
            index = int(last)
            if index < len(parent):
                if edit.remove:
                    del parent[index]
                else:
                    parent[index] = edit.replacement
                applied += 1
    return document, applied


_ABSENT = object()


def _child(node: Any, token: str) -> Any:
    if isinstance(node, MutableMapping):
        return node.get(token, _ABSENT)
    if isinstance(node, MutableSequence) and is_index(token) and int(token) < len(node):
        return node[int(token)]
    return _ABSENT


# --------------------------------------------------------------------------- JSON


@dataclass(frozen=True, slots=True)
class JsonStyle:
    indent: str | None
    item_separator: str
    key_separator: str
    ensure_ascii: bool
    newline: str
    trailing_newline: bool
    bom: bool

    @classmethod
    def of(cls, text: str) -> JsonStyle:
        bom = text.startswith("\ufeff")
        body = text[1:] if bom else text
        match = re.search(r"[\[{][ \t]*\r?\n([ \t]+)[^ \t\r\n]", body)
        if match:
            indent: str | None = match.group(1)
            item, key = ",", ": "
        else:
            indent = None
            item = ", " if re.search(r",[ ]", body) else ","
            key = ": " if re.search(r'":[ ]', body) else ":"
            if not re.search(r'[,:"]', body):
                item, key = ", ", ": "
        return cls(
            indent=indent,
            item_separator=item,
            key_separator=key,
            ensure_ascii=body.isascii(),
            newline="\r\n" if "\r\n" in body else "\n",
            trailing_newline=body.endswith("\n"),
            bom=bom,
        )


def dump_json(document: Any, style: JsonStyle) -> str:
    indent: str | int | None = style.indent
    if isinstance(indent, str) and indent.strip(" ") == "":
        indent = len(indent)
    text = json.dumps(
        document,
        indent=indent,
        separators=(style.item_separator, style.key_separator),
        ensure_ascii=style.ensure_ascii,
    )
    if style.newline != "\n":
        text = text.replace("\n", style.newline)
    if style.trailing_newline:
        text += style.newline
    return ("\ufeff" if style.bom else "") + text


def _value_at(text: str, tokens: Sequence[str], start: int) -> int | None:
    """Offset of the value the pointer names in JSON ``text``; None when absent."""
    pos = _ws(text, start)
    for token in tokens:
        ch = text[pos]
        if ch == "{":
            member = _find_member(text, pos, token)
            if member is None:
                return None
            pos = member[1]
        elif ch == "[" and is_index(token):
            element = _find_element(text, pos, int(token))
            if element is None:
                return None
            pos = element
        else:
            return None
    return pos


def _members(text: str, pos: int) -> tuple[list[tuple[str | None, int, int]], int]:
    """Members of the container at ``pos`` as (key, start, end), and its closing bracket."""
    is_object = text[pos] == "{"
    close = "}" if is_object else "]"
    out: list[tuple[str | None, int, int]] = []
    i = _ws(text, pos + 1)
    if text[i] == close:
        return out, i
    while True:
        start = i
        key: str | None = None
        if is_object:
            key, i = scanstring(text, i + 1)
            i = _ws(text, _ws(text, i) + 1)
        _, i = _DECODER.raw_decode(text, i)
        out.append((key, start, i))
        i = _ws(text, i)
        if text[i] != ",":
            return out, i
        i = _ws(text, i + 1)


def _delete(text: str, parent: int, index: int) -> str:
    members, close = _members(text, parent)
    if len(members) == 1:
        return text[: parent + 1] + text[close:]
    if index < len(members) - 1:
        return text[: members[index][1]] + text[members[index + 1][1] :]
    return text[: members[index - 1][2]] + text[members[index][2] :]


def _splice(text: str, edits: Sequence[Edit], start: int) -> tuple[str, int]:
    ensure_ascii = text.isascii()
    applied = 0
    for edit in sorted(edits, key=_order, reverse=True):
        if not edit.tokens:
            if not edit.remove:
                value = json.dumps(edit.replacement, ensure_ascii=ensure_ascii)
                end = _DECODER.raw_decode(text, _ws(text, start))[1]
                text = text[: _ws(text, start)] + value + text[end:]
                applied += 1
            continue
        parent = _value_at(text, edit.tokens[:-1], start)
        if parent is None or text[parent] not in "{[":
            continue
        last = edit.tokens[-1]
        members, _ = _members(text, parent)
        if text[parent] == "{":
            hits = [i for i, (key, _, _) in enumerate(members) if key == last]
        else:
            hits = [int(last)] if is_index(last) and int(last) < len(members) else []
        if not hits:
            continue
        if edit.remove:
            for index in reversed(hits):  # duplicate keys: remove every copy
                text = _delete(text, parent, index)
        else:
            value_at = _value_at(text, edit.tokens, start)
            if value_at is None:
                continue
            end = _DECODER.raw_decode(text, value_at)[1]
            value = json.dumps(edit.replacement, ensure_ascii=ensure_ascii)
            text = text[:value_at] + value + text[end:]
        applied += 1
    return text, applied


def fix_json_text(text: str, edits: Sequence[Edit]) -> tuple[str, int]:
    """Apply edits to JSON text by splicing: every byte not edited stays as it was.

    The spliced text is checked against the same edits applied to the parsed
    document; if they ever differ, the document is re-serialized in the file's
    style instead, so the result is always right.
    """
    if not edits:
        return text, 0
    start = 1 if text.startswith("\ufeff") else 0
    expected, applied = apply_edits(json.loads(text[start:]), edits)
    if not applied:
        return text, 0
    try:
        new, _ = _splice(text, edits, start)
        if json.loads(new[start:]) == expected:
            return new, applied
    except (ValueError, IndexError):
        pass
    return dump_json(expected, JsonStyle.of(text)), applied


# --------------------------------------------------------------------------- YAML


_OPENS_BLOCK = re.compile(r":(?:\s+[&!]\S+)*\s*(?:#.*)?$")


def _yaml_indents(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) indentation as ruamel.yaml wants it, guessed from text."""
    mapping = 2
    sequence, offset = 2, 0
    lines = text.splitlines()
    for i, line in enumerate(lines[1:], 1):
        prev = lines[i - 1]
        prev_indent = len(prev) - len(prev.lstrip(" "))
        indent = len(line) - len(line.lstrip(" "))
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or not _OPENS_BLOCK.search(prev):
            continue
        if stripped.startswith("- "):
            offset = indent - prev_indent
            sequence = offset + 2
            break
        if indent > prev_indent and mapping == 2:
            mapping = indent - prev_indent
    return mapping, max(sequence, offset + 2), offset


def _keep_anchors(node: Any, depth: int = 0) -> None:
    """Have ruamel.yaml dump every anchor the file had, used by an alias or not."""
    anchor = getattr(node, "anchor", None)
    if anchor is not None and getattr(anchor, "value", None):
        anchor.always_dump = True
    if depth > 500:
        return
    if isinstance(node, MutableMapping):
        for value in node.values():
            _keep_anchors(value, depth + 1)
    elif isinstance(node, MutableSequence):
        for value in node:
            _keep_anchors(value, depth + 1)


def fix_yaml_text(text: str, edits: Sequence[Edit]) -> tuple[str, int]:
    """Round-trip ``text`` through ruamel.yaml with ``edits`` applied; keeps comments."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 16
    mapping, sequence, offset = _yaml_indents(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    bom = text.startswith("\ufeff")
    document = yaml.load(text[1:] if bom else text)
    _keep_anchors(document)
    if text.lstrip("\ufeff").startswith("---"):
        yaml.explicit_start = True
    document, applied = apply_edits(document, edits)
    if not applied:
        return text, 0
    out = io.StringIO()
    yaml.dump(document, out)
    new = out.getvalue()
    if "\r\n" in text:
        new = new.replace("\n", "\r\n")
    return ("\ufeff" if bom else "") + new, applied


# --------------------------------------------------------------------------- output


def unified_diff(old: str, new: str, name: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
    )


def write_atomic(path: str, text: str) -> None:
    """Replace ``path``'s content with ``text`` (UTF-8) via a temp file and os.replace.

    The file either keeps its old content or gets the whole new one, never a
    partial write; its permission bits are kept; a symlink's target is rewritten.
    """
    target = os.path.realpath(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{os.path.basename(target)}.", suffix=".fwcompat-tmp", dir=os.path.dirname(target)
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            shutil.copymode(target, tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
