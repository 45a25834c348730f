"""JSON Pointer -> line:column in JSON text, in one pass over the text.

Positions are computed only for pointers that carry a diagnostic: an offset index
built once per document, so cost stays linear in the file size plus the number of
diagnostics, and clean files cost one parse.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Sequence
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any, NamedTuple

from .units import Tokens, without_gc

__all__ = [
    "JsonIndex",
    "json_index",
    "json_offset",
    "offset_to_position",
    "positions",
    "scanstring",
]

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def offset_to_position(text: str, offset: int, *, base: int = 0) -> tuple[int, int]:
    """0-based character offset -> 1-based (line, column), counting from ``base``."""
    offset = max(base, min(offset, len(text)))
    line = text.count("\n", base, offset) + 1
    column = offset - (text.rfind("\n", base, offset) + 1 if line > 1 else base) + 1
    return line, column


def positions(text: str, offsets: Sequence[int]) -> list[tuple[int, int]]:
    """Many offsets -> (line, column) each, in one sweep over the text (sorted order)."""
    order = sorted(range(len(offsets)), key=offsets.__getitem__)
    out: list[tuple[int, int]] = [(1, 1)] * len(offsets)
    line, last, line_start = 1, 0, 0
    for index in order:
        offset = max(0, min(offsets[index], len(text)))
        newlines = text.count("\n", last, offset)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", last, offset) + 1
        last = offset
        out[index] = (line, offset - line_start + 1)
    return out


def _ws(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _skip(text: str, pos: int) -> int:
    """Offset after the JSON value at ``pos``."""
    try:
        return int(_DECODER.raw_decode(text, pos)[1])
    except RecursionError:
        return _skip_deep(text, pos)


_STRUCTURE = re.compile(r'["\[\]{}]')


def _skip_deep(text: str, pos: int) -> int:
    """Skip a value nested deeper than the C decoder's recursion limit, iteratively."""
    depth = 0
    i = pos
    while True:
        match = _STRUCTURE.search(text, i)
        if match is None:
            raise ValueError("unterminated value")
        ch = match.group()
        if ch == '"':
            i = scanstring(text, match.start() + 1)[1]
            if depth == 0:
                return int(i)
            continue
        depth += 1 if ch in "[{" else -1
        i = match.end()
        if depth == 0:
            return i


class _Done(Exception):
    """Every wanted pointer was found: stop scanning early."""


Members = list[tuple[str, int, int, int]]
"""(key or index token, member start, value start, value end) per member."""


class JsonIndex(NamedTuple):
    offsets: dict[tuple[str, ...], int]
    """pointer -> offset of its key (object member) or of the element (array)."""
    values: dict[tuple[str, ...], int]
    """pointer -> offset of its value."""
    members: dict[tuple[str, ...], tuple[int, int, Members]]
    """container pointer -> (open bracket, close bracket, members), for wanted parents."""


def _scan(
    text: str,
    pos: int,
    trie: dict[str, Any],
    prefix: tuple[str, ...],
    index: JsonIndex,
    remaining: list[int],
    with_members: bool,
) -> int:
    """Index the container at ``pos`` along ``trie``; returns the offset after it."""
    is_object = text[pos] == "{"
    close = "}" if is_object else "]"
    members: Members = []
    i = _ws(text, pos + 1)
    if text[i] == close:
        if with_members:
            index.members[prefix] = (pos, i, members)
        return i + 1
    n = 0
    while True:
        start = i
        if is_object:
            if text[i] != '"':
                raise ValueError("expected a key")
            token, i = scanstring(text, i + 1)
            i = _ws(text, i)
            if text[i] != ":":
                raise ValueError("expected ':'")
            i = _ws(text, i + 1)
        else:
            token = str(n)
        value_at = i
        child = trie.get(token)
        if child is not None:
            path = (*prefix, token)
            if path not in index.offsets:
                remaining[0] -= 1
            index.offsets[path] = start
            index.values[path] = value_at
            if child and text[i] in "{[":
                i = _scan(text, i, child, path, index, remaining, with_members)
            else:
                if not remaining[0] and not with_members:
                    raise _Done
                i = _skip(text, i)
        else:
            i = _skip(text, i)
        members.append((token, start, value_at, i))
        n += 1
        i = _ws(text, i)
        if text[i] == ",":
            i = _ws(text, i + 1)
            continue
        if text[i] != close:
            raise ValueError(f"expected ',' or {close!r}")
        if with_members:
            index.members[prefix] = (pos, i, members)
        return i + 1


@without_gc
def json_index(
    text: str, pointers: Iterable[Tokens], start: int = 0, *, with_members: bool = False
) -> JsonIndex:
    """One pass over JSON ``text`` that finds every pointer (and, for fixes, their parents).

    Only the containers on the way to a wanted pointer are scanned member by
    member; everything else is skipped by the C decoder, so the cost is one
    parse of the text whatever the number of pointers. Unreadable text (which a
    parse already rejected) or nesting beyond the interpreter's limit simply
    leaves the rest unindexed: locating falls back to the deepest ancestor found.
    """
    root = _ws(text, start)
    trie: dict[str, Any] = {}
    count = 0
    for tokens in pointers:
        node = trie
        for token in tokens:
            nxt = node.get(token)
            if nxt is None:
                nxt = node[token] = {}
                count += 1
            node = nxt
    index = JsonIndex({(): root}, {(): root}, {})
    if trie and root < len(text) and text[root] in "{[":
        with contextlib.suppress(_Done, ValueError, IndexError, RecursionError):
            _scan(text, root, trie, (), index, [count], with_members)
    return index


def _found(offsets: dict[tuple[str, ...], int], tokens: Tokens) -> int:
    key = tuple(tokens)
    while key not in offsets:
        key = key[:-1]
    return offsets[key]


def json_offset(text: str, tokens: Tokens, start: int = 0) -> int:
    """Offset of the pointer's target in JSON ``text``.

    For an object member that is its key's opening quote (where an editor should
    put the cursor), for an array element the element itself. A pointer that does
    not exist (a required member that is missing) falls back to its deepest
    existing ancestor.
    """
    return _found(json_index(text, [tokens], start).offsets, tokens)


# --------------------------------------------------------------------------- JSON

_DUPLICATES: list[str] = []
