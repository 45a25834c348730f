"""RFC 6901 JSON Pointers and the small wildcard path language rules select with.

A rule path looks like a pointer in which a ``*`` token matches every member of
an object or every element of an array: ``/tools/*/cache_control``. Matching
always yields concrete segments, so every diagnostic carries a real pointer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

__all__ = [
    "MISSING",
    "Segment",
    "Selector",
    "escape",
    "format_pointer",
    "is_index",
    "parse_pointer",
]

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


def is_index(token: str) -> bool:
    """An RFC 6901 array index: ASCII digits, no leading zero."""
    return token.isascii() and token.isdigit() and (token == "0" or token[0] != "0")


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

    __slots__ = ("_plain", "_tokens", "source")

    def __init__(self, path: str) -> None:
        self.source = path
        self._tokens: tuple[str, ...] = tuple(parse_pointer(path))
        # Member names only (no wildcard, no array index): walked without bookkeeping.
        self._plain = all(t != WILDCARD and not is_index(t) for t in self._tokens)

    @property
    def tokens(self) -> tuple[str, ...]:
        return self._tokens

    def select(
        self, document: Any, *, fold_case: bool = False, absent: bool = True
    ) -> list[tuple[tuple[Segment, ...], Any]]:
        """Every match, in document order, as ``(segments, value)``.

        Iterative (no recursion, no generators): this runs for every rule on
        every request. ``fold_case`` compares object keys case-insensitively;
        ``absent`` also reports a missing last member (value ``MISSING``).
        """
        tokens = self._tokens
        if not tokens:
            return [((), document)]
        if self._plain and not fold_case:
            node = document
            for token in tokens[:-1]:
                if not isinstance(node, dict) or token not in node:
                    return []
                node = node[token]
            if not isinstance(node, dict):
                return []
            value = node.get(tokens[-1], MISSING)
            if value is MISSING and not absent:
                return []
            return [(tokens, value)]
        frontier: list[tuple[tuple[Segment, ...], Any]] = [((), document)]
        last = len(tokens) - 1
        for depth, token in enumerate(tokens):
            nxt: list[tuple[tuple[Segment, ...], Any]] = []
            if token == WILDCARD:
                # Look ahead: when a plain member name follows, skip children without it.
                ahead = tokens[depth + 1] if depth < last else None
                if (
                    ahead is not None
                    and ahead != WILDCARD
                    and not fold_case
                    and not is_index(ahead)
                    and not (absent and depth + 1 == last)
                ):
                    for prefix, node in frontier:
                        if isinstance(node, dict):
                            items: Any = node.items()
                        elif isinstance(node, (list, tuple)):
                            items = enumerate(node)
                        else:
                            continue
                        nxt.extend(
                            ((*prefix, k), v)
                            for k, v in items
                            if isinstance(v, dict) and ahead in v
                        )
                    if not nxt:
                        return nxt
                    frontier = nxt
                    continue
                for prefix, node in frontier:
                    if isinstance(node, dict):
                        nxt.extend(((*prefix, k), v) for k, v in node.items())
                    elif isinstance(node, (list, tuple)):
                        nxt.extend(((*prefix, i), v) for i, v in enumerate(node))
            elif fold_case:
                low = token.lower()
                for prefix, node in frontier:
                    if isinstance(node, dict):
                        keys = [k for k in node if isinstance(k, str) and k.lower() == low]
                        nxt.extend(((*prefix, k), node[k]) for k in keys)
                        if not keys and absent and depth == last:
                            nxt.append(((*prefix, token), MISSING))
            else:
                index = is_index(token)
                for prefix, node in frontier:
                    if isinstance(node, dict):
                        if token in node:
                            nxt.append(((*prefix, token), node[token]))
                        elif absent and depth == last:
                            nxt.append(((*prefix, token), MISSING))
                    elif index and isinstance(node, (list, tuple)) and int(token) < len(node):
                        nxt.append(((*prefix, int(token)), node[int(token)]))
            if not nxt:
                return nxt
            frontier = nxt
        return frontier
