"""RFC 6901 JSON Pointers and the small wildcard path language rules select with.

A rule path looks like a pointer in which a ``*`` token matches every member of
an object or every element of an array: ``/tools/*/cache_control``. Matching
always yields concrete segments, so every diagnostic carries a real pointer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

__all__ = [
    "MISSING",
    "Match",
    "PathTrie",
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
    if not segments:
        return ""
    text = "/".join(s if isinstance(s, str) else str(s) for s in segments)
    if "~" in text or text.count("/") != len(segments) - 1:  # some member needs escaping
        return "".join("/" + escape(s) for s in segments)
    return "/" + text


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


Match = tuple[int, tuple[Segment, ...], Any]
"""One rule matched: (rule index, concrete segments, the value there or MISSING)."""

Predicate = Callable[[Any, Segment, Any], bool]


class PathTrie:
    """Several wildcard paths merged, so one walk serves every rule at once.

    Each node lists the rules that look at the value found there (``present``)
    and those about the member being absent (``absent``), with their
    predicates. The walk follows only the members some rule names: its cost is
    the size of what the rules select, not of the document.
    """

    __slots__ = ("absent", "children", "indexes", "leaf", "present", "wildcard")

    def __init__(self) -> None:
        self.children: dict[str, PathTrie] = {}
        self.indexes: list[tuple[int, PathTrie]] = []  # tokens that also name array elements
        self.wildcard: PathTrie | None = None
        self.present: list[tuple[int, Predicate]] = []
        self.absent: list[tuple[int, Predicate]] = []
        self.leaf = True

    def add(self, index: int, tokens: Sequence[str], predicate: Predicate, absent: bool) -> None:
        node = self
        for token in tokens:
            node.leaf = False
            if token == WILDCARD:
                node.wildcard = node.wildcard or PathTrie()
                node = node.wildcard
            else:
                if token not in node.children:
                    node.children[token] = PathTrie()
                    if is_index(token):
                        node.indexes.append((int(token), node.children[token]))
                node = node.children[token]
        (node.absent if absent else node.present).append((index, predicate))

    @property
    def empty(self) -> bool:
        """No rule at all: a walk would find nothing."""
        return self.leaf and not self.present and not self.absent

    def walk(self, document: Any, ctx: Any, *, fold_case: bool = False) -> list[Match]:
        """Every (rule, place) whose predicate holds. A token names an object member and,
        when it is an index, an array element too. ``fold_case`` compares member names
        case-insensitively (HTTP headers). Recursion is bounded by the longest rule path,
        never by the document's depth."""
        out: list[Match] = []
        _visit(self, document, "", [], ctx, out, fold_case)
        return out


def _visit(
    node: PathTrie,
    value: Any,
    key: Segment,
    path: list[Segment],
    ctx: Any,
    out: list[Match],
    fold: bool,
) -> None:
    for index, predicate in node.present:
        if predicate(value, key, ctx):
            out.append((index, tuple(path), value))
    if node.leaf:
        return
    if isinstance(value, dict):
        for token, child in node.children.items():
            if fold:
                low = token.lower()
                names: list[Any] = [k for k in value if isinstance(k, str) and k.lower() == low]
            elif token in value:
                names = [token]
            else:
                names = []
            if not names:
                for index, predicate in child.absent:
                    if predicate(MISSING, token, ctx):
                        out.append((index, (*path, token), MISSING))
            elif child.present or not child.leaf:
                for name in names:
                    path.append(name)
                    _visit(child, value[name], name, path, ctx, out, fold)
                    path.pop()
        items: Any = value.items()
    elif isinstance(value, (list, tuple)):
        for i, child in node.indexes:
            if i < len(value):
                path.append(i)
                _visit(child, value[i], i, path, ctx, out, fold)
                path.pop()
        items = enumerate(value)
    else:
        return
    wildcard = node.wildcard
    if wildcard is not None:
        for k, v in items:
            path.append(k)
            _visit(wildcard, v, k, path, ctx, out, fold)
            path.pop()


def _always(value: Any, key: Segment, ctx: Any) -> bool:
    return True


class Selector:
    """A compiled wildcard path: yields ``(segments, value)`` for every match.

    The last segment, when not a wildcard, also matches an *absent* member of
    an object (value :data:`MISSING`), so rules can require a field.
    """

    __slots__ = ("_present", "_with_absent", "source", "tokens")

    def __init__(self, path: str) -> None:
        self.source = path
        self.tokens: tuple[str, ...] = tuple(parse_pointer(path))
        self._present = PathTrie()
        self._present.add(0, self.tokens, _always, absent=False)
        self._with_absent = PathTrie()
        self._with_absent.add(0, self.tokens, _always, absent=False)
        if self.tokens and self.tokens[-1] != WILDCARD:
            self._with_absent.add(0, self.tokens, _always, absent=True)

    def select(
        self, document: Any, *, fold_case: bool = False, absent: bool = True
    ) -> list[tuple[tuple[Segment, ...], Any]]:
        """Every match as ``(segments, value)``; ``absent`` also reports a missing last
        member (value ``MISSING``); ``fold_case`` compares member names case-insensitively."""
        trie = self._with_absent if absent else self._present
        return [
            (segments, value)
            for _, segments, value in trie.walk(document, None, fold_case=fold_case)
        ]
