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

import difflib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, MutableMapping, MutableSequence, Sequence
from dataclasses import dataclass
from typing import Any

from .._diagnostics import Diagnostic
from ._sources import pointer_tokens

__all__ = [
    "Edit",
    "JsonStyle",
    "apply_edits",
    "dump_json",
    "edits_for",
    "file_tokens",
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


def file_tokens(diagnostic: Diagnostic, tokens: Sequence[str], envelope: bool) -> list[str] | None:
    """Where a diagnostic's pointer lives in the file's document; None if not in the file."""
    if diagnostic.scope == "body":
        return ["body", *tokens] if envelope else list(tokens)
    if not envelope:
        return None
    if diagnostic.scope == "headers":
        return ["headers", *tokens]
    # url scope: the pointer names the base URL ("") or the request path.
    if tokens and tokens[0] in ("path", "base_url"):
        return [tokens[0]]
    return ["base_url"]


def fixable(diagnostic: Diagnostic, unsafe: bool) -> bool:
    """Whether ``--fix`` (with or without ``--unsafe-fixes``) applies this diagnostic."""
    fix = diagnostic.fix
    if fix is None or diagnostic.action not in ("removed", "replaced"):
        return False
    return fix.applicability == "safe" or unsafe


def edits_for(
    diagnostics: Iterable[Diagnostic], envelope: bool, unsafe: bool
) -> list[Edit]:
    edits = []
    for d in diagnostics:
        if not fixable(d, unsafe):
            continue
        try:
            tokens = file_tokens(d, pointer_tokens(d.path), envelope)
        except ValueError:
            continue
        if tokens is None:
            continue
        assert d.fix is not None
        edits.append(Edit(tuple(tokens), d.action == "removed", d.fix.replacement))
    return edits


def _order(edit: Edit) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(t)) if t.isdigit() else (1, t) for t in edit.tokens)


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
        elif isinstance(parent, MutableSequence) and _is_index(last):
            index = int(last)
            if index < len(parent):
                if edit.remove:
                    del parent[index]
                else:
                    parent[index] = edit.replacement
                applied += 1
    return document, applied


_ABSENT = object()


def _is_index(token: str) -> bool:
    return token.isdigit() and (token == "0" or token[0] != "0")


def _child(node: Any, token: str) -> Any:
    if isinstance(node, MutableMapping):
        return node.get(token, _ABSENT)
    if isinstance(node, MutableSequence) and _is_index(token) and int(token) < len(node):
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


# --------------------------------------------------------------------------- YAML


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
        if not stripped or stripped.startswith("#") or not prev.rstrip().endswith(":"):
            continue
        if stripped.startswith("- "):
            offset = indent - prev_indent
            sequence = offset + 2
            break
        if indent > prev_indent and mapping == 2:
            mapping = indent - prev_indent
    return mapping, max(sequence, offset + 2), offset


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
        try:
            shutil.copymode(target, tmp)
        except OSError:
            pass
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
