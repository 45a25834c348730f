"""Helpers about JSON values: types, equality, short previews, and what is not JSON.

Every walk here is iterative and bounded, so a 100,000-deep list, a structure
that shares one sub-list a million times, or a value that is not JSON at all
(a set, bytes, NaN, an object with a non-string key) is described in bounded
time and never raises. Nothing here imports from the rest of fwcompat.
"""

from __future__ import annotations

import json.encoder
import math
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MEMO_TEXT",
    "TYPE_CHECKS",
    "describe",
    "is_integer",
    "is_number",
    "json_equal",
    "keepable",
    "non_json",
    "remember",
    "short",
]

MAX_DEPTH = 512
"""Deepest nesting a request may have. Deeper values are reported, never walked
(natively or in Python), so a 100,000-deep value costs nothing and crashes nothing;
no real request comes near it (Python's own JSON parser stops near 1,000)."""


MEMO_TEXT = 256
"""Longest string a remembered answer may be keyed on or hold. The engine's memos keep a
few hundred entries each; a bound on each entry keeps a stream of requests with 30 MB
values from being kept alive by them (memory stays in proportion to the request)."""


def keepable(key: Any) -> bool:
    """Whether a memo may keep this key (a tuple of tuples of scalars and types): every
    string short, every integer within 64 bits, a few thousand values at most. Asked only
    when an entry is stored, so a request answered from a memo pays nothing for it."""
    stack = [key]
    budget = 4096
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is tuple:
            budget -= len(item)
            if budget < 0:
                return False
            stack.extend(item)
        elif kind is str:
            if len(item) > MEMO_TEXT:
                return False
        elif kind is int and not -(1 << 64) < item < (1 << 64):
            return False
    return True


def remember(memo: dict[Any, Any], key: Any, value: Any, size: int = 256) -> None:
    """Store ``value`` under ``key`` in one of the engine's memos, unless the key is not
    :func:`keepable`; a full memo starts over (entries never outlive ``size`` others)."""
    if keepable(key):
        if len(memo) >= size:
            memo.clear()
        memo[key] = value


def is_integer(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return True
    return isinstance(x, float) and math.isfinite(x) and x.is_integer()


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, (list, tuple)),
    "string": lambda x: isinstance(x, str),
    "integer": is_integer,
    "number": is_number,
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
}


def describe(x: Any) -> str:
    """The JSON type of a value, with an article, for messages."""
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "a boolean"
    if isinstance(x, int):
        return "an integer"
    if isinstance(x, float):
        return "a number" if math.isfinite(x) else f"{x!r} (not a JSON number)"
    if isinstance(x, str):
        return "a string"
    if isinstance(x, dict):
        return "an object"
    if isinstance(x, (list, tuple)):
        return "an array"
    return f"a Python {type(x).__name__} (not a JSON value)"


_encode_string: Callable[[str], str] = json.encoder.encode_basestring


def _scalar(x: Any, limit: int) -> str:
    if x is None:
        return "null"
    if x is True:
        return "true"
    if x is False:
        return "false"
    if isinstance(x, str):
        # Encode a prefix only: a 30 MB string costs no more than a short one.
        return _encode_string(x[: limit + 1])
    if isinstance(x, int):
        if x.bit_length() > 200:  # str() of a huge int is quadratic and may raise
            return f"<integer of {x.bit_length()} bits>"
        return str(x)
    if isinstance(x, float):
        return repr(x) if math.isfinite(x) else {"nan": "NaN"}.get(repr(x), repr(x))
    return f"<{type(x).__name__}>"


def short(x: Any, limit: int = 60) -> str:
    """A compact JSON-like preview of a value, at most ``limit`` characters.

    Stops as soon as the preview is long enough, so its cost is bounded by
    ``limit`` whatever the value's size, depth or sharing.
    """
    if isinstance(x, str) or x is None or isinstance(x, (bool, int, float)):
        text = _scalar(x, limit)
        return text if len(text) <= limit else text[: limit - 1] + "…"
    out: list[str] = []
    size = 0
    # A stack of pending pieces: a value to render, or a literal string.
    stack: list[tuple[bool, Any]] = [(False, x)]
    while stack and size <= limit:
        literal, item = stack.pop()
        if literal:
            text = item
        elif isinstance(item, dict):
            pieces: list[tuple[bool, Any]] = [(True, "{")]
            for i, (k, v) in enumerate(item.items()):
                if i:
                    pieces.append((True, ", "))
                key = _encode_string(k[: limit + 1]) if isinstance(k, str) else _scalar(k, limit)
                pieces += [(True, key + ": "), (False, v)]
                if i * 2 > limit:
                    break
            pieces.append((True, "}"))
            stack.extend(reversed(pieces))
            continue
        elif isinstance(item, (list, tuple)):
            pieces = [(True, "[")]
            for i, v in enumerate(item):
                if i:
                    pieces.append((True, ", "))
                pieces.append((False, v))
                if i * 2 > limit:
                    break
            pieces.append((True, "]"))
            stack.extend(reversed(pieces))
            continue
        else:
            text = _scalar(item, limit)
        out.append(text)
        size += len(text)
    text = "".join(out)
    if size > limit or stack:
        return text[: limit - 1] + "…"
    return text


def json_equal(a: Any, b: Any, budget: int = 100_000) -> bool:
    """Equality as JSON sees it (``1 == 1.0``, ``True != 1``), iterative and bounded.

    Used to compare request values with the small constants of rules; gives up
    (unequal) after ``budget`` steps instead of walking a huge or cyclic value.
    """
    stack = [(a, b)]
    while stack:
        budget -= 1
        if budget < 0:
            return False
        x, y = stack.pop()
        if isinstance(x, bool) or isinstance(y, bool):
            if not (isinstance(x, bool) and isinstance(y, bool) and x == y):
                return False
        elif is_number(x) and is_number(y):
            if x != y:
                return False
        elif isinstance(x, dict) and isinstance(y, dict):
            if x.keys() != y.keys():
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif type(x) is not type(y) or x != y:
            return False
    return True


def non_json(document: Any, *, max_depth: int = MAX_DEPTH) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Every place where ``document`` is not plain JSON, as ``(path, problem)``.

    Problems: a value of a non-JSON type, a non-finite float, a non-string
    object key, a container that contains itself, and nesting deeper than
    ``max_depth`` (reported once, not walked). Iterative; each container is
    walked once however often it is shared, so the cost is linear in the
    number of distinct containers and their members.
    """
    done: set[int] = set()  # containers walked completely
    open_: set[int] = set()  # containers on the current path (a repeat is a cycle)
    stack: list[tuple[Any, tuple[Any, ...], bool]] = [(document, (), False)]
    while stack:
        value, path, leaving = stack.pop()
        if leaving:
            open_.discard(id(value))
            done.add(id(value))
            continue
        if isinstance(value, (dict, list, tuple)):
            if id(value) in open_:
                yield path, "the value contains itself (a cycle, which JSON cannot hold)"
                continue
            if id(value) in done:
                continue
            if len(path) >= max_depth:
                yield path, f"the value is nested more than {max_depth} levels deep"
                continue
            open_.add(id(value))
            stack.append((value, path, True))
            if isinstance(value, dict):
                children = []
                for k, v in value.items():
                    if not isinstance(k, str):
                        problem = f"the key {short(k)} is {describe(k)}; JSON keys are strings"
                        yield (*path, k), problem
                        continue
                    children.append(((*path, k), v))
            else:
                children = [((*path, i), v) for i, v in enumerate(value)]
            stack.extend((v, p, False) for p, v in reversed(children))
        elif isinstance(value, float):
            if not math.isfinite(value):
                yield path, f"the value is {short(value)}, which is not a JSON number"
        elif value is not None and not isinstance(value, (str, int, bool)):
            yield path, f"the value is {describe(value)}"


def expanded_size(document: Any, cap: int) -> int:
    """How many values ``document`` holds counting every shared container once per
    reference (what a serializer would write), up to ``cap + 1``. Linear in the
    number of distinct containers: sizes are memoized per container."""
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(document, False)]
    while stack:
        value, children_done = stack.pop()
        if not isinstance(value, (dict, list, tuple)):
            continue
        if not children_done and id(value) in sizes:
            continue
        children = list(value.values()) if isinstance(value, dict) else list(value)
        if not children_done:
            sizes[id(value)] = -1  # in progress: a cycle counts as one value
            stack.append((value, True))
            stack.extend((c, False) for c in children)
            continue
        total = 1
        for c in children:
            size = sizes.get(id(c), 1) if isinstance(c, (dict, list, tuple)) else 1
            total = min(cap + 1, total + max(size, 1))
        sizes[id(value)] = total
    if not isinstance(document, (dict, list, tuple)):
        return 1
    return sizes[id(document)]
