"""Reading JSON strictly, with positions: duplicate keys are reported (E904), ``NaN`` and
huge integers are errors that name their place.

orjson reads the text when it is installed (the ``fast`` extra), behind a guard that sends
every text it might read differently to the standard library's reader, which decides alone
otherwise: the documents, errors and problems are the same either way. orjson is imported
once a megabyte has been read (see :data:`ORJSON_AFTER`), so a check of a few small files
does not pay for its import.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Sequence
from typing import Any

from fwcompat._fastjson import UNSURE, guarded_loads, import_orjson
from fwcompat.cli._codes import DUPLICATE_KEY

from .json_positions import (
    _found,
    _skip,
    _ws,
    json_index,
    offset_to_position,
    positions,
    scanstring,
)
from .units import Problem, SourceError, Tokens, Unit, without_gc

__all__ = ["ORJSON_AFTER", "load_json", "load_orjson"]

ORJSON_AFTER = 1 << 20
"""Characters the standard library reads before orjson is imported: with what it imports
(uuid, platform) orjson costs about 2.5 ms, which its speed repays past about a megabyte."""
_NOT_YET: Any = object()
_orjson: Any = _NOT_YET
"""The orjson module once imported; None when it is not installed."""
_read_before = 0


def load_orjson() -> Any:
    """Import orjson now; the module, or None when it is not installed."""
    global _orjson
    if _orjson is _NOT_YET:
        _orjson = import_orjson()  # None: the standard library reads alone
    return _orjson


def _orjson_for(size: int) -> Any:
    """orjson, once :data:`ORJSON_AFTER` characters have been read; else None."""
    global _read_before
    if _orjson is _NOT_YET:
        _read_before += size
        if _read_before < ORJSON_AFTER:
            return None
        return load_orjson()
    return _orjson


_LONG_INT = re.compile(r"-?\d{4301,}")
_DUPLICATES: list[str] = []


def _fast_parse(body: str) -> Any:
    """The document as orjson reads ``body`` (once it is imported; see :data:`ORJSON_AFTER`),
    or :data:`~fwcompat._fastjson.UNSURE` when the standard library's reader must decide."""
    orjson = _orjson_for(len(body))
    if orjson is None:
        return UNSURE
    return guarded_loads(orjson, body)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                _DUPLICATES.append(key)
            seen.add(key)
    return document


class _Constant(ValueError):
    """``NaN``, ``Infinity``, ``-Infinity``: Python reads them, JSON has no such values."""


def _no_constant(name: str) -> Any:
    raise _Constant(name)


_PAIRS_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_no_constant)
_CONSTANT = re.compile(r"-?Infinity|NaN")


def _parse_json(text: str, start: int, line_base: int) -> tuple[Any, list[str]]:
    """Parse JSON text; returns (document, duplicated keys). Raises SourceError."""
    body = text[start:] if start else text
    document = _fast_parse(body)
    if document is not UNSURE:
        return document, []
    del _DUPLICATES[:]
    try:
        document = _PAIRS_DECODER.decode(body)
    except json.JSONDecodeError as exc:
        line, column = offset_to_position(text, exc.pos + start)
        raise SourceError(f"invalid JSON: {exc.msg}", line + line_base, column) from None
    except RecursionError:
        raise SourceError("invalid JSON: nesting too deep", line_base + 1) from None
    except _Constant as exc:
        match = _CONSTANT.search(text)
        line, column = offset_to_position(text, match.start()) if match else (1, 1)
        raise SourceError(
            f"invalid JSON: {exc} is not a JSON number", line + line_base, column
        ) from None
    except ValueError as exc:
        # Python refuses to convert integers of more than 4,300 digits.
        match = _LONG_INT.search(text)
        line, column = offset_to_position(text, match.start()) if match else (1, 1)
        if match:
            message = f"invalid JSON: a number of {len(match.group().lstrip('-'))} digits"
        else:
            message = f"invalid JSON: {exc}"
        raise SourceError(message, line + line_base, column) from None
    return document, list(_DUPLICATES)


def _duplicate_problems(
    text: str, start: int, keys: list[str], line_base: int
) -> tuple[Problem, ...]:
    """Place duplicated keys: a slow walk, run only when a duplicate was seen."""
    wanted = set(keys)
    found: list[tuple[str, int]] = []

    def walk(pos: int, depth: int) -> int:
        if depth > 400:
            raise RecursionError
        ch = text[pos]
        if ch not in "{[":
            return _skip(text, pos)
        close = "}" if ch == "{" else "]"
        i = _ws(text, pos + 1)
        if text[i] == close:
            return i + 1
        seen: set[str] = set()
        while True:
            if ch == "{":
                key, end = scanstring(text, i + 1)
                if key in seen and key in wanted:
                    found.append((key, i))
                seen.add(key)
                i = _ws(text, _ws(text, end) + 1)
            i = _ws(text, walk(i, depth + 1))
            if text[i] != ",":
                return i + 1
            i = _ws(text, i + 1)

    with contextlib.suppress(ValueError, IndexError, RecursionError):
        walk(_ws(text, start), 0)
    if not found:
        found = [(key, start) for key in keys]
    places = positions(text, [offset for _, offset in found])
    return tuple(
        Problem(
            DUPLICATE_KEY,
            f"duplicate key {key!r}: JSON readers disagree on which value wins",
            line + line_base,
            column,
        )
        for (key, _), (line, column) in zip(found, places, strict=False)
    )


@without_gc
def load_json(text: str, *, line: int = 1) -> Unit:
    """Parse a whole JSON file (or one JSONL line, ``line`` being its number)."""
    start = 1 if text.startswith("\ufeff") else 0
    base = line - 1
    document, duplicates = _parse_json(text, start, base)
    problems = _duplicate_problems(text, start, duplicates, base) if duplicates else ()

    def locate_all(pointers: Sequence[Tokens]) -> list[tuple[int, int]]:
        offsets = json_index(text, pointers, start).offsets
        places = positions(text, [_found(offsets, tokens) for tokens in pointers])
        return [(row + base, column) for row, column in places]

    return Unit(document, line, locate_all, problems)
