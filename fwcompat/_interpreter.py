"""The interpreter: applies a compiled rule pack to one request. Pure.

For each scope (url, then headers, then body) it runs the rules in pack order
over that scope's document. A rule selects members with its wildcard path,
keeps those its condition accepts, and for each one emits a diagnostic and,
for ``remove``/``replace``, edits a copy-on-write view of the document: only
the containers along an edited path are copied, never the whole request. A
``validate`` rule turns each schema violation into a diagnostic, except
violations at or under a place another rule already rejected (that rule
explains it better). Nothing here knows about any provider.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._config import Config
from ._diagnostics import Diagnostic, Fix, Scope, Severity
from ._paths import MISSING, Segment, format_pointer
from ._rules import CompiledRule, Pack
from ._schema import short

__all__ = ["run_pack"]


class _CopyOnWrite:
    """A document plus the set of containers this run already owns (copied)."""

    __slots__ = ("_keep", "_owned", "root")

    def __init__(self, root: Any) -> None:
        self.root = root
        self._owned: set[int] = set()
        self._keep: list[Any] = []  # owned copies stay alive, so their ids stay unique

    def _own(self, node: Any) -> Any:
        if id(node) in self._owned:
            return node
        copy: Any = dict(node) if isinstance(node, dict) else list(node)
        self._owned.add(id(copy))
        self._keep.append(copy)
        return copy

    def _parent(self, segments: tuple[Segment, ...]) -> Any:
        self.root = node = self._own(self.root)
        for seg in segments[:-1]:
            child = node[seg]
            owned = self._own(child)
            if owned is not child:
                node[seg] = owned
            node = owned
        return node

    def remove(self, segments: tuple[Segment, ...]) -> None:
        del self._parent(segments)[segments[-1]]

    def replace(self, segments: tuple[Segment, ...], value: Any) -> None:
        self._parent(segments)[segments[-1]] = value


class _Shown:
    """A value as a message shows it: compact JSON; ``{value[type]}`` reaches members."""

    __slots__ = ("_value",)

    def __init__(self, value: Any) -> None:
        self._value = value

    def __format__(self, spec: str) -> str:
        return "(absent)" if self._value is MISSING else short(self._value)

    def __getitem__(self, key: Any) -> _Shown:
        v = self._value
        if isinstance(v, dict):
            return _Shown(v.get(key, MISSING))
        if isinstance(v, (list, tuple)) and str(key).isdigit() and int(key) < len(v):
            return _Shown(v[int(key)])
        return _Shown(MISSING)


def _where(segments: tuple[Segment, ...]) -> str:
    """A human path such as ``messages[2].content[0].type``."""
    if not segments:
        return "the request"
    out = ""
    for seg in segments:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else str(seg))
    return out


def _under(segments: tuple[Segment, ...], prefixes: Iterable[tuple[Segment, ...]]) -> bool:
    return any(segments[: len(p)] == p for p in prefixes)


def _run_scope(
    scope: Scope,
    document: Any,
    rules: Iterable[CompiledRule],
    config: Config,
    tables: Mapping[str, Mapping[str, str]],
) -> tuple[Any, list[tuple[tuple[Segment, ...], Diagnostic]]]:
    doc = _CopyOnWrite(document)
    found: list[tuple[tuple[Segment, ...], Diagnostic]] = []
    rejected: list[tuple[Segment, ...]] = []
    fold = scope == "headers"  # HTTP header names are case-insensitive
    severities = config.severity
    for compiled in rules:
        rule = compiled.rule
        if rule.scope != scope or not config.enabled(rule.code):
            continue
        severity = severities.get(rule.code, rule.severity)
        if compiled.schema is not None:
            for err in compiled.schema.iter_errors(doc.root):
                if _under(err.path, rejected):
                    continue
                message = rule.message.format(
                    error=err.message, where=_where(err.path), pointer=format_pointer(err.path),
                    value="", key="", replacement="",
                )  # fmt: skip
                found.append((err.path, _diagnostic(rule, severity, err.path, message, None)))
            continue
        if not isinstance(doc.root, dict):
            continue  # only schema rules speak about a document that is not an object
        matches = [
            (segments, value)
            for segments, value in compiled.selector.select(doc.root, fold_case=fold)
            if (value is not MISSING or compiled.matches_absent)
            and compiled.predicate(value, segments[-1] if segments else "", tables)
        ]
        # Apply edits last-first so removing array elements keeps earlier indices valid.
        for segments, value in reversed(matches):
            fix = None
            replacement: Any = None
            if rule.action == "remove":
                doc.remove(segments)
                fix = Fix(rule.fix or "safe")
            elif rule.action == "replace":
                assert rule.replace is not None
                if "table" in rule.replace:
                    replacement = tables[rule.replace["table"]][value]
                else:
                    replacement = rule.replace["value"]
                doc.replace(segments, replacement)
                fix = Fix(rule.fix or "safe", replacement)
            elif rule.action == "reject":
                rejected.append(segments)
            message = rule.message.format(
                value=_Shown(value),
                key=str(segments[-1]) if segments else "",
                pointer=format_pointer(segments),
                replacement=short(replacement),
                where=_where(segments),
                error="",
            )
            found.append((segments, _diagnostic(rule, severity, segments, message, fix)))
    return doc.root, found


def _diagnostic(
    rule: Any, severity: Severity, segments: tuple[Segment, ...], message: str, fix: Fix | None
) -> Diagnostic:
    return Diagnostic(
        code=rule.code,
        rule=rule.name,
        severity=severity,
        scope=rule.scope,
        path=format_pointer(segments),
        action=rule.past_action,
        message=message,
        doc=rule.doc,
        fix=fix,
    )


def _document_order(original: Any, found: list[tuple[tuple[Segment, ...], Diagnostic]]) -> list[Diagnostic]:
    """Sort diagnostics by where their pointer sits in the original document (stable)."""
    if len(found) < 2:
        return [d for _, d in found]
    key_positions: dict[int, dict[Any, int]] = {}

    def position(segments: tuple[Segment, ...]) -> tuple[int, ...]:
        node = original
        out: list[int] = []
        for seg in segments:
            if isinstance(node, dict):
                index = key_positions.get(id(node))
                if index is None:
                    index = key_positions[id(node)] = {k: i for i, k in enumerate(node)}
                pos = index.get(seg, len(index))
                out.append(pos)
                node = node.get(seg) if pos < len(index) else None
            elif isinstance(node, (list, tuple)) and isinstance(seg, int) and seg < len(node):
                out.append(seg)
                node = node[seg]
            else:
                out.append(1 << 30)
                node = None
        return tuple(out)

    return [d for _, d in sorted(found, key=lambda item: position(item[0]))]


def run_pack(
    pack: Pack,
    config: Config,
    *,
    body: Any,
    headers: Any,
    base_url: Any,
    path: Any,
) -> tuple[Any, dict[str, Any], list[Diagnostic]]:
    """Apply ``pack`` to one request. Returns (body, headers, diagnostics)."""
    tables = {name: config.table(name) for name in pack.tables}
    diagnostics: list[Diagnostic] = []

    url_doc: dict[str, Any] = {}
    if base_url is not None:
        url_doc["base_url"] = base_url
    if path is not None:
        url_doc["path"] = path
    if url_doc:
        _, found = _run_scope("url", url_doc, pack.rules, config, tables)
        diagnostics += _document_order(url_doc, found)

    out_headers: dict[str, Any] = {}
    if headers is not None:
        header_doc: Any = dict(headers.items()) if isinstance(headers, Mapping) else headers
        new_headers, found = _run_scope("headers", header_doc, pack.rules, config, tables)
        diagnostics += _document_order(header_doc, found)
        if isinstance(new_headers, dict):
            out_headers = new_headers

    new_body, found = _run_scope("body", body, pack.rules, config, tables)
    diagnostics += _document_order(body, found)
    return new_body, out_headers, diagnostics
