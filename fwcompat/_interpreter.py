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

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._cache import compile_cached
from ._conditions import Context, Predicate
from ._config import Config
from ._diagnostics import Diagnostic, Fix, Scope, Severity
from ._packs import computed_replacement, pack_tables, passed_through
from ._paths import MISSING, Segment, format_pointer, is_index
from ._rules import CompiledRule, Pack, Rule
from ._schema import short

__all__ = ["Plan", "make_plan", "run_plan"]

Found = list[tuple[tuple[Segment, ...], Diagnostic]]


class _Trie:
    """All rule paths of a scope merged, so one walk can test every rule at once."""

    __slots__ = ("absent", "children", "leaf", "present", "wildcard")

    def __init__(self) -> None:
        self.children: dict[str, _Trie] = {}
        self.wildcard: _Trie | None = None
        self.present: list[tuple[int, Predicate]] = []  # rules about the value found here
        self.absent: list[tuple[int, Predicate]] = []  # rules about this member being absent
        self.leaf = True

    def add(self, index: int, compiled: CompiledRule) -> None:
        node = self
        for token in compiled.selector.tokens:
            node.leaf = False
            if token == "*":
                node.wildcard = node.wildcard or _Trie()
                node = node.wildcard
            else:
                node = node.children.setdefault(token, _Trie())
        target = node.absent if compiled.matches_absent else node.present
        target.append((index, compiled.predicate))


Scan = Callable[[Any, Mapping[str, Mapping[str, str]]], set[int]]


def _compile_scan(trie: _Trie) -> Scan:
    """Generate one function that walks a document along every rule path at once.

    It returns the indices of the rules that match the unedited document, with
    nested loops instead of a call per node. Predicates are bound by name; the only
    text from the rules that reaches the source is through those names.
    """
    ns: dict[str, Any] = {"_M": MISSING, "_Ctx": Context}
    lines = ["def scan(root, tables):", "    ctx = _Ctx(tables, root)", "    hits = set()"]
    counter = [0]

    def fresh(prefix: str, value: Any = None) -> str:
        counter[0] += 1
        name = f"{prefix}{counter[0]}"
        if value is not None:
            ns[name] = value
        return name

    def emit(node: _Trie, var: str, key: str, ind: str) -> None:
        for index, predicate in node.present:
            name = fresh("p", predicate)
            lines.append(f"{ind}if {name}({var}, {key}, ctx): hits.add({index})")
        if node.leaf:
            return
        # A plain token names an object member; one that is an index also names an array
        # element, exactly as Selector.select reads it.
        names = list(node.children)
        if names:
            lines.append(f"{ind}if isinstance({var}, dict):")
            for token in names:
                child = node.children[token]
                tok = fresh("k", token)
                sub = fresh("v")
                lines.append(f"{ind}    {sub} = {var}.get({tok}, _M)")
                if child.absent:
                    lines.append(f"{ind}    if {sub} is _M:")
                    for index, predicate in child.absent:
                        name = fresh("p", predicate)
                        test = f"if {name}(_M, {tok}, ctx): hits.add({index})"
                        lines.append(f"{ind}        {test}")
                if child.present or not child.leaf:
                    lines.append(f"{ind}    if {sub} is not _M:")
                    emit(child, sub, tok, ind + "        ")
        indexes = [t for t in node.children if is_index(t)]
        if indexes:
            lines.append(f"{ind}if isinstance({var}, (list, tuple)):")
            for token in indexes:
                sub = fresh("v")
                lines.append(f"{ind}    if len({var}) > {int(token)}:")
                lines.append(f"{ind}        {sub} = {var}[{int(token)}]")
                emit(node.children[token], sub, str(int(token)), ind + "        ")
        if node.wildcard is not None:
            it, k, w = fresh("it"), fresh("key"), fresh("v")
            lines.append(f"{ind}if isinstance({var}, dict): {it} = {var}.items()")
            lines.append(f"{ind}elif isinstance({var}, (list, tuple)): {it} = enumerate({var})")
            lines.append(f"{ind}else: {it} = ()")
            lines.append(f"{ind}for {k}, {w} in {it}:")
            before = len(lines)
            emit(node.wildcard, w, k, ind + "    ")
            if len(lines) == before:
                lines.append(f"{ind}    pass")

    emit(trie, "root", "''", "    ")
    lines.append("    return hits")
    code = compile_cached("\n".join(lines), "<fwcompat rule scan>")
    exec(code, ns)
    scan: Scan = ns["scan"]
    return scan


@dataclass(frozen=True)
class _Step:
    compiled: CompiledRule
    severity: Severity


@dataclass(frozen=True)
class Plan:
    """A pack prepared for one Config: enabled rules per scope, severities, tables."""

    pack: Pack
    scopes: Mapping[str, tuple[_Step, ...]]
    tables: Mapping[str, Mapping[str, str]]
    body_scan: Scan


def make_plan(pack: Pack, config: Config) -> Plan:
    severities = config.severity
    scopes: dict[str, list[_Step]] = {"url": [], "headers": [], "body": []}
    for compiled in pack.rules:
        rule = compiled.rule
        if not config.runs(rule.code, opt_in=rule.opt_in):
            continue
        severity = severities.get(rule.code, rule.severity)
        scopes[rule.scope].append(_Step(compiled, severity))
    trie = _Trie()
    for index, step in enumerate(scopes["body"]):
        if step.compiled.schema is None:
            trie.add(index, step.compiled)
    return Plan(
        pack=pack,
        scopes={k: tuple(v) for k, v in scopes.items()},
        tables=pack_tables(pack, config),
        body_scan=_compile_scan(trie),
    )


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
        if isinstance(v, (list, tuple)) and is_index(str(key)) and int(key) < len(v):
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


def _diagnostic(
    rule: Rule, severity: Severity, segments: tuple[Segment, ...], message: str, fix: Fix | None
) -> Diagnostic:
    return Diagnostic(
        code=rule.code,
        rule=rule.name,
        severity=severity,
        scope=rule.scope,
        path=format_pointer(segments),
        action=rule.past_action,  # type: ignore[arg-type]
        message=message,
        doc=rule.doc,
        fix=fix,
        pack=rule.pack,
        revision=rule.revision,
    )


def _validate(
    step: _Step,
    document: Any,
    rejected: list[tuple[Segment, ...]],
    found: Found,
    tables: Mapping[str, Mapping[str, Any]],
) -> None:
    rule = step.compiled.rule
    schema = step.compiled.schema
    assert schema is not None
    passthrough = step.compiled.passthrough
    ctx = Context(tables, document)
    for err in schema.iter_errors(document):
        if _under(err.path, rejected):
            continue
        if passthrough and passed_through(err.path, document, passthrough, ctx):
            continue
        at = err.path[:-1] if err.keyword == "required" else err.path
        message = rule.message.format(
            error=err.message, where=_where(at), pointer=format_pointer(err.path),
            value=_Shown(MISSING), key="", replacement="",
        )  # fmt: skip
        found.append((err.path, _diagnostic(rule, step.severity, err.path, message, None)))


def _run_clean(
    document: Any, steps: tuple[_Step, ...], tables: Mapping[str, Mapping[str, Any]]
) -> Found:
    """The run when no path rule matches: only schema rules can speak."""
    found: Found = []
    for step in steps:
        if step.compiled.schema is not None:
            _validate(step, document, [], found, tables)
    return found


def _overlaps(
    tokens: tuple[str, ...], absent: bool, edits: list[tuple[tuple[Segment, ...], bool]]
) -> bool:
    """Whether one of ``edits`` (segments, was-a-removal) can change what a rule sees.

    A replacement at E changes the values at E, above it and below it. A removal at E
    changes only the values above E (its ancestors lost a member); a rule that selects
    at E's depth or deeper can newly match there only if it matches absent members.
    """
    for edit, removal in edits:
        if removal and (len(tokens) > len(edit) or (len(tokens) == len(edit) and not absent)):
            continue
        for token, seg in zip(tokens, edit, strict=False):
            if token != "*" and token != seg and token != str(seg):
                break
        else:
            return True
    return False


def _run_scope(
    scope: Scope,
    document: Any,
    steps: tuple[_Step, ...],
    tables: Mapping[str, Mapping[str, str]],
    hits: set[int] | None = None,
) -> tuple[Any, Found]:
    """Run the rules one by one. ``hits``, when known, are the rules that match the
    unedited document: any other rule is skipped unless an edit touched its paths."""
    doc = _CopyOnWrite(document)
    edits: list[tuple[tuple[Segment, ...], bool]] = []
    edited_first: set[str] = set()
    found: Found = []
    rejected: list[tuple[Segment, ...]] = []
    fold = scope == "headers"  # HTTP header names are case-insensitive
    # Several rules often select the same path (/model, /output_config/effort): select once
    # and reuse the matches until an edit changes the document.
    selections: dict[tuple[str, bool], list[tuple[tuple[Segment, ...], Any]]] = {}
    for index, step in enumerate(steps):
        compiled = step.compiled
        if compiled.schema is not None:
            _validate(step, doc.root, rejected, found, tables)
            continue
        # A rule that reads other fields may change its answer after any edit: never skipped.
        if hits is not None and index not in hits and not (edits and compiled.depends):
            tokens = compiled.selector.tokens
            if not edits or (tokens and tokens[0] != "*" and tokens[0] not in edited_first):
                continue
            if not _overlaps(tokens, step.compiled.matches_absent, edits):
                continue
        root = doc.root
        if not isinstance(root, dict):
            continue  # only schema rules speak about a document that is not an object
        predicate = compiled.predicate
        ctx = Context(tables, root)
        cache_key = (compiled.selector.source, compiled.matches_absent)
        selected = selections.get(cache_key)
        if selected is None:
            selected = selections[cache_key] = compiled.selector.select(
                root, fold_case=fold, absent=compiled.matches_absent
            )
        matches = [
            (segments, value)
            for segments, value in selected
            if predicate(value, segments[-1] if segments else "", ctx)
        ]
        if not matches:
            continue
        rule = compiled.rule
        if rule.action in ("remove", "replace"):
            selections.clear()
            removal = rule.action == "remove"
            edits.extend((segments, removal) for segments, _ in matches)
            edited_first.update(str(segments[0]) for segments, _ in matches if segments)
        # Apply edits last-first so removing array elements keeps earlier indices valid.
        for segments, value in reversed(matches):
            fix = None
            replacement: Any = None
            if rule.action == "remove":
                doc.remove(segments)
                fix = Fix(rule.fix or "safe")
            elif rule.action == "replace":
                assert rule.replace is not None
                replacement = computed_replacement(rule.replace, value, ctx)
                doc.replace(segments, replacement)
                fix = Fix(rule.fix or "safe", replacement)
            elif rule.action == "reject":
                rejected.append(segments)
            message = rule.message.format(
                value=_Shown(value),
                key=str(segments[-1]) if segments else "",
                pointer=format_pointer(segments),
                replacement=_Shown(replacement),
                where=_where(segments),
                error="",
            )
            found.append((segments, _diagnostic(rule, step.severity, segments, message, fix)))
    return doc.root, found


def _document_order(original: Any, found: Found) -> list[Diagnostic]:
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


def run_plan(
    plan: Plan, *, body: Any, headers: Any, base_url: Any, path: Any
) -> tuple[Any, dict[str, Any], list[Diagnostic]]:
    """Apply a prepared pack to one request. Returns (body, headers, diagnostics)."""
    diagnostics: list[Diagnostic] = []
    tables = plan.tables

    if base_url is not None or path is not None:
        url_doc: dict[str, Any] = {}
        if base_url is not None:
            url_doc["base_url"] = base_url
        if path is not None:
            url_doc["path"] = path
        _, found = _run_scope("url", url_doc, plan.scopes["url"], tables)
        diagnostics += _document_order(url_doc, found)

    out_headers: dict[str, Any] = {}
    if headers is not None:
        header_doc: Any = dict(headers.items()) if isinstance(headers, Mapping) else headers
        new_headers, found = _run_scope("headers", header_doc, plan.scopes["headers"], tables)
        diagnostics += _document_order(header_doc, found)
        if isinstance(new_headers, dict):
            out_headers = new_headers

    # Fast path: one walk over the unedited body tests every path rule at once. When none
    # matches, no edit can happen, so running the rules one by one would find nothing either.
    hits = plan.body_scan(body, tables) if isinstance(body, dict) else None
    if hits is not None and not hits:
        new_body, found = body, _run_clean(body, plan.scopes["body"], tables)
    else:
        new_body, found = _run_scope("body", body, plan.scopes["body"], tables, hits)
    diagnostics += _document_order(body, found)
    return new_body, out_headers, diagnostics
