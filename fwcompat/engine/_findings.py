"""What a run of the rules produces: the edited copy, the diagnostics, their order.

:class:`CopyOnWrite` edits a request without touching the caller's: only the
containers along an edited path are copied. :class:`Fields` fills a rule's message
template, computing each placeholder only if the template names it.
:func:`document_order` sorts findings by where they sit in the original document.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fwcompat._diagnostics import Diagnostic, Fix, Severity, make_diagnostic
from fwcompat.engine._model import Rule

from ._json import short
from ._paths import MISSING, Segment

__all__ = ["CopyOnWrite", "Fields", "Found", "diagnostic", "document_order", "under", "where"]

Found = list[tuple[tuple[Segment, ...], Diagnostic]]


class CopyOnWrite:
    """A document plus the set of containers this run already owns (copied)."""

    __slots__ = ("_owned", "root")

    def __init__(self, root: Any) -> None:
        self.root = root
        # The copies this run owns, by id; holding them keeps their ids unique.
        self._owned: dict[int, Any] = {}

    def _own(self, node: Any) -> Any:
        if id(node) in self._owned:
            return node
        is_dict = type(node) is dict or (type(node) is not list and isinstance(node, dict))
        copy: Any = dict(node) if is_dict else list(node)
        self._owned[id(copy)] = copy
        return copy

    def _parent(self, segments: tuple[Segment, ...]) -> Any:
        node = self.root
        if id(node) not in self._owned:
            self.root = node = self._own(node)
        if len(segments) == 1:  # a member of the document: most edits
            return node
        for seg in segments[:-1]:
            child = node[seg]
            owned = self._own(child)
            if owned is not child:
                node[seg] = owned
            node = owned
        return node

    def remove(self, segments: tuple[Segment, ...]) -> None:
        if len(segments) == 1 and id(self.root) in self._owned:  # a member, once owned
            del self.root[segments[0]]
            return
        del self._parent(segments)[segments[-1]]

    def remove_members(self, names: list[Segment]) -> None:
        """Remove these members of the document (an object), in one step."""
        root = self.root
        if id(root) not in self._owned:
            self.root = root = self._own(root)
        for name in names:
            del root[name]

    def replace(self, segments: tuple[Segment, ...], value: Any) -> None:
        self._parent(segments)[segments[-1]] = value


def where(segments: tuple[Segment, ...]) -> str:
    """A human path such as ``messages[2].content[0].type``."""
    if not segments:
        return "the request"
    out = ""
    for seg in segments:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else str(seg))
    return out


def shown(value: Any) -> str:
    return "(absent)" if value is MISSING else short(value)


class Fields(dict[str, str]):
    """A message's placeholders, each computed only if the template names it."""

    __slots__ = ("_pointer", "_replacement", "_segments", "_value")

    def __init__(self, segments: tuple[Segment, ...], pointer: str, value: Any, replacement: Any):
        super().__init__()
        self._segments = segments
        self._pointer = pointer
        self._value = value
        self._replacement = replacement

    def __missing__(self, name: str) -> str:
        if name == "value":
            return shown(self._value)
        if name in ("type", "name"):
            value = self._value
            return shown(value.get(name, MISSING) if isinstance(value, dict) else MISSING)
        if name == "key":
            return str(self._segments[-1]) if self._segments else ""
        if name == "pointer":
            return self._pointer
        if name == "replacement":
            return shown(self._replacement)
        if name == "where":
            return where(self._segments)
        return ""  # error: only validate rules fill it


def diagnostic(
    rule: Rule,
    severity: Severity,
    pointer: str,
    message: str,
    fix: Fix | None,
    action: str | None = None,
) -> Diagnostic:
    return make_diagnostic(
        rule.code,
        rule.name,
        severity,
        rule.scope,
        pointer,
        action or rule.past_action,
        message,
        rule.doc,
        fix,
        rule.pack,
        rule.revision,
    )


def under(segments: tuple[Segment, ...], rejected: set[tuple[Segment, ...]]) -> bool:
    """Whether ``segments`` is at or under a rejected place: one set lookup per depth."""
    return bool(rejected) and any(segments[:n] in rejected for n in range(len(segments) + 1))


def document_order(original: Any, found: Found) -> list[Diagnostic]:
    """Sort diagnostics by where their pointer sits in the original document (stable).

    Each object's member positions are indexed once, so the cost is linear in the
    number of diagnostics times their depth, plus the objects they pass through.
    """
    if len(found) < 2:
        return [d for _, d in found]
    key_positions: dict[int, dict[Any, int]] = {}
    end = 1 << 62
    top = {k: i for i, k in enumerate(original)} if type(original) is dict else None
    if top is not None:
        key_positions[id(original)] = top

    def position(segments: tuple[Segment, ...]) -> tuple[int, ...]:
        node = original
        out: list[int] = []
        for seg in segments:
            if isinstance(node, dict):
                index = key_positions.get(id(node))
                if index is None:
                    index = key_positions[id(node)] = {k: i for i, k in enumerate(node)}
                pos = index.get(seg, end)
                out.append(pos)
                node = node[seg] if pos != end else None
            elif isinstance(node, (list, tuple)) and isinstance(seg, int) and seg < len(node):
                out.append(seg)
                node = node[seg]
            else:
                out.append(end)
                node = None
        return tuple(out)

    if top is None:
        keys = [position(s) for s, _ in found]
    else:
        # Findings under different members of the document are ordered by those members
        # alone: only those sharing a member (or the document itself) need their full place.
        firsts = [top.get(s[0], end) if s else -1 for s, _ in found]
        keys = [(first,) for first in firsts]
        if len(set(firsts)) < len(firsts):
            shared = {first for first, n in Counter(firsts).items() if n > 1}
            for i, (s, _) in enumerate(found):
                if firsts[i] in shared:
                    keys[i] = position(s)
    return [found[i][1] for i in sorted(range(len(found)), key=keys.__getitem__)]
