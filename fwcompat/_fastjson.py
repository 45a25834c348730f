"""orjson behind a guard: the one fast reading of JSON that the request path and
``fwcompat check`` share.

orjson (the ``fast`` and ``serve`` extras) reads JSON several times faster than the
standard library, but not the same way on every text: it keeps the last of duplicate keys
without a word, and reads an integer past 64 bits as a float. :func:`guarded_loads` returns
orjson's document only where it provably reads the text as the strict standard-library
readers do, and :data:`UNSURE` otherwise; the caller's strict reader then decides alone,
errors included. Each caller keeps its own policy for when to import orjson.
"""

from __future__ import annotations

from typing import Any

__all__ = ["UNSURE", "guarded_loads", "import_orjson"]

UNSURE: Any = object()
"""What :func:`guarded_loads` returns when the caller's strict reader must decide."""


def import_orjson() -> Any:
    """The orjson module, or ``None`` when it is not installed (it is optional)."""
    try:
        import orjson
    except ImportError:
        return None
    return orjson


def guarded_loads(orjson: Any, text: str | bytes) -> Any:
    """The document as ``orjson`` reads ``text``, or :data:`UNSURE`.

    The guard costs two colon counts: outside strings a ``:`` only separates a member's key from
    its value, and strings are written back the same, so the ``:`` counts of the text and of
    orjson's own output differ exactly when a member was dropped. A text that writes a colon
    as an escape (``\\u003a``) could hide one, and an output float with an exponent (``e+``)
    may be such an integer: those, and every text orjson refuses (invalid UTF-8, ``NaN``, a
    lone surrogate, deep nesting), are :data:`UNSURE`.
    """
    if isinstance(text, bytes):
        if b"\\" in text and b"\\u003" in text:
            return UNSURE
        colons = _colons(text)
    else:
        if "\\" in text and "\\u003" in text:
            return UNSURE
        colons = text.count(":")
    try:
        document = orjson.loads(text)
        out = orjson.dumps(document)
    except (ValueError, TypeError, RecursionError):  # orjson's decode and encode errors
        return UNSURE
    if (b"+" in out and b"e+" in out) or colons != _colons(out):
        return UNSURE
    return document


def _colons(data: bytes) -> int:
    """How many ``:`` bytes ``data`` holds: its length less that of a copy without them, made
    in one ``memchr`` pass (``bytes.count`` of one byte reads byte by byte: about 2.7x the
    cost on a 10 kB body, 105,000 -> 35,000 instructions for two counts)."""
    return len(data) - len(data.replace(b":", b""))
