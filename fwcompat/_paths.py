"""RFC 6901 JSON Pointers and the small wildcard path language rules select with.

A rule path looks like a pointer in which a ``*`` token matches every member of
an object or every element of an array: ``/tools/*/cache_control``. Matching
always yields concrete segments, so every diagnostic carries a real pointer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

__all__ = ["MISSING", "Segment", "Selector", "escape", "format_pointer", "parse_pointer"]

Segment = str | int


class _Missing:
    """Marks a selected member that is absent (``present: false`` rules see it)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()
WILDCARD: Final = "*"


def escape(token: object) -> str:
    """Escape one reference token (``~`` -> ``~0``, ``/`` -> ``~1``)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def format_pointer(segments: Sequence[Segment]) -> str:
    """Concrete segments -> RFC 6901 pointer (``""`` for the whole document)."""
    return "".join("/" + escape(s) for s in segments)


def parse_pointer(pointer: str) -> list[str]:
    """RFC 6901 pointer -> unescaped tokens. Raises ValueError when malformed."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"a JSON Pointer must be empty or start with '/': {pointer!r}")
    tokens = pointer[1:].split("/")
    for token in tokens:
        rest = token.replace("~0", "").replace("~1", "")
        if "~" in rest:
            raise ValueError(f"bad escape in JSON Pointer token {token!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in tokens]


class Selector:
    """A compiled wildcard path: yields ``(segments, value)`` for every match.

    The last segment, when not a wildcard, also matches an *absent* member of
    an object (value :data:`MISSING`), so rules can require a field.
    """

    __slots__ = ("_tokens", "source")

    def __init__(self, path: str) -> None:
        self.source = path
        self._tokens: tuple[str, ...] = tuple(parse_pointer(path))

    @property
    def tokens(self) -> tuple[str, ...]:
        return self._tokens

    def select(self, document: Any, *, fold_case: bool = False) -> Iterator[tuple[tuple[Segment, ...], Any]]:
        """Every match in document order. ``fold_case`` compares object keys case-insensitively."""
        if not self._tokens:
            yield (), document
            return
        yield from _walk(document, self._tokens, 0, (), fold_case)


def _walk(
    node: Any, tokens: tuple[str, ...], i: int, prefix: tuple[Segment, ...], fold: bool
) -> Iterator[tuple[tuple[Segment, ...], Any]]:
    token = tokens[i]
    last = i == len(tokens) - 1
    if token == WILDCARD:
        if isinstance(node, dict):
            items: Any = list(node.items())
        elif isinstance(node, (list, tuple)):
            items = enumerate(node)
        else:
            return
        for key, child in items:
            if last:
                yield (*prefix, key), child
            else:
                yield from _walk(child, tokens, i + 1, (*prefix, key), fold)
        return
    if isinstance(node, dict):
        if fold:
            matches = [k for k in node if isinstance(k, str) and k.lower() == token.lower()]
            if not matches:
                if last:
                    yield (*prefix, token), MISSING
                return
            for key in matches:
                if last:
                    yield (*prefix, key), node[key]
                else:
                    yield from _walk(node[key], tokens, i + 1, (*prefix, key), fold)
            return
        if token in node:
            if last:
                yield (*prefix, token), node[token]
            else:
                yield from _walk(node[token], tokens, i + 1, (*prefix, token), fold)
        elif last:
            yield (*prefix, token), MISSING
        return
    if isinstance(node, (list, tuple)) and token.isdigit() and (token == "0" or token[0] != "0"):
        index = int(token)
        if index < len(node):
            if last:
                yield (*prefix, index), node[index]
            else:
                yield from _walk(node[index], tokens, i + 1, (*prefix, index), fold)
