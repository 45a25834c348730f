"""Places in a document: re-reading a reported place, looking up a plain path, ordering.

jsonschema-rs reports places with every segment as it read it (a member named like a
number comes back as an int); :func:`reread` types them as the document has them.
"""

from __future__ import annotations

from typing import Any

from ._paths import MISSING, Segment

__all__ = ["UNREACHABLE", "Place", "by_rule", "lookup", "position", "reread"]

Place = tuple[tuple[Segment, ...], Any]
UNREACHABLE: Any = object()  # a path whose parent is missing: no rule sees it


def position(segments: tuple[Segment, ...]) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, s) if isinstance(s, int) else (1, s) for s in segments)


def reread(document: Any, raw: tuple[Any, ...]) -> Place | None:
    """A reported place with segments typed as the document has them (member names
    are strings, indexes ints), and its value; only the last member may be absent."""
    node = document
    segments: list[Segment] = []
    last = len(raw) - 1
    for depth, seg in enumerate(raw):  # the exact types first: no call for plain JSON
        kind = type(node)
        if kind is dict or (kind is not list and isinstance(node, dict)):
            key = seg if type(seg) is str or isinstance(seg, str) else str(seg)
            if key not in node:
                return ((*segments, key), MISSING) if depth == last else None
            segments += (key,)
            node = node[key]
        elif (
            (kind is list or isinstance(node, (list, tuple)))
            and (type(seg) is int or isinstance(seg, int))
            and 0 <= seg < len(node)
        ):
            segments += (seg,)
            node = node[seg]
        else:
            return None
    return tuple(segments), node


def lookup(document: Any, tokens: tuple[str, ...]) -> Any:
    """The value at a path of member names; MISSING if absent (an absent last member)
    or unreachable (then no rule can see it: callers check the parent exists)."""
    node = document
    for token in tokens[:-1]:
        if (type(node) is not dict and not isinstance(node, dict)) or token not in node:
            return UNREACHABLE
        node = node[token]
    if not tokens:
        return node
    if type(node) is not dict and not isinstance(node, dict):
        return UNREACHABLE
    return node.get(tokens[-1], MISSING)


def by_rule(found: list[tuple[int, tuple[Segment, ...], Any]]) -> dict[int, list[Place]]:
    matched: dict[int, list[Place]] = {}
    for index, segments, value in found:
        matched.setdefault(index, []).append((segments, value))
    return matched
