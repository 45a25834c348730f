"""The interpreter: applies a compiled rule pack to one request. Pure.

For each scope (url, then headers, then body) it runs the rules in pack order
over that scope's document:

1. **Prefilter** (body): one native pass of jsonschema-rs over the request
   schema plus a "no rule can fire" schema (see :mod:`._prefilter`). A clean
   request ends here, returned as the very same object.
2. **Match**: native yes/no checks name the rules that fire, and jsonschema-rs
   reports where; Python reads values only there and confirms each with the
   rule's predicate. The few rules without an exact translation are walked in
   Python (a :class:`PathTrie`), as is a document jsonschema-rs cannot read.
3. **Apply**: rules run in order; each emits a diagnostic per match and, for
   ``remove``/``replace``, edits a copy-on-write view where the match was found
   (only the containers along an edited path are copied). A rule an earlier
   edit may affect is asked again at the places that edit changed.
4. **Validate**: a ``validate`` rule turns each schema violation into a
   diagnostic, except violations at or under a place another rule already
   rejected (that rule explains it better), or at a member a removing rule
   handles (ignoring that rule lets the member through).

Nothing here knows about any provider.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from hashlib import blake2b
from itertools import repeat
from typing import Any

from fwcompat._config import Config
from fwcompat._diagnostics import Diagnostic, Fix, Result, Scope, Severity, make_result
from fwcompat.engine._model import CompiledRule, Pack, Rule, replacement_specs
from fwcompat.engine._tables import pack_tables

from ._conditions import Context
from ._findings import CopyOnWrite, Found, document_order, under
from ._json import keepable, remember
from ._onepass import index_first, run_once
from ._paths import MISSING, PathTrie, Segment, is_index
from ._places import UNREACHABLE, Place, by_rule, lookup, position, reread
from ._prefilter import Locator, Untranslatable, merge, no_fire_schema, uses_only_local
from ._schema import CompiledSchema
from ._steps import Split, Step, Steps, edit, refused, report, validate

__all__ = ["Plan", "make_plan", "run_plan"]

Tables = Mapping[str, Mapping[str, str]]
_UNREADABLE = (ValueError, TypeError, OverflowError, RecursionError)  # raised by jsonschema-rs


@dataclass(frozen=True)
class Plan:
    """A pack prepared for one Config: enabled rules per scope, severities, tables."""

    pack: Pack
    scopes: Mapping[str, Steps]
    tables: Tables
    config: Config
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    """URL and header documents already checked, with what was found (data only)."""
    clean: Callable[[Any], bool] | None = None
    """jsonschema-rs's own check that a body is valid and no rule can fire on it (it may
    raise for what it cannot read); None when some body rule is left to Python."""


def _when(compiled: CompiledRule) -> Mapping[str, Any]:
    """The condition a rule's predicate implements, as data."""
    return compiled.effective_when or compiled.rule.when


def _add(trie: PathTrie, index: int, compiled: CompiledRule) -> None:
    trie.add(index, compiled.selector.tokens, compiled.predicate, compiled.matches_absent)


_BodyChecks = tuple[
    Callable[[Any], bool],
    Locator,
    PathTrie,
    tuple[int, ...],
    Callable[[Any], bool] | None,
    Split | None,
    frozenset[int],
]


def _body_checks(steps: list[Step], tables: Tables) -> _BodyChecks:
    """The body's one-pass gate, the native locator (for paths with a * or an index),
    the rules left to Python, the translated rules whose path is plain, and every
    translated rule (those the gate holds)."""
    translated: list[Any] = []
    located: list[Any] = []  # the rules with a * or an index in their path
    plain: list[int] = []
    fallback = PathTrie()
    failed: list[int] = []  # the rules left to Python
    schemas: list[CompiledSchema] = []
    for index, step in enumerate(steps):
        compiled = step.compiled
        if compiled.schema is not None:
            schemas.append(compiled.schema)
            continue
        try:
            no_fire = no_fire_schema(
                compiled.selector.tokens, _when(compiled), compiled.matches_absent, tables, index
            )
        except Untranslatable:
            _add(fallback, index, compiled)
            failed.append(index)
            continue
        translated.append(no_fire)
        if step.plain is None:
            located.append(no_fire)
        else:
            plain.append(index)
    first = schemas[0] if schemas else CompiledSchema(True, name="any JSON")
    merged = merge(translated)
    native = first.native_gate(*(() if merged is True else (merged,)))
    checks = [_guarded(native), *(s.is_valid for s in schemas[1:])]
    gate = checks[0] if len(checks) == 1 else (lambda body: all(c(body) for c in checks))
    clean = native if len(schemas) <= 1 and fallback.empty else None
    split = Split(first, merged) if len(schemas) == 1 else None
    gated = frozenset(i for i, s in enumerate(steps) if s.compiled.schema is None) - set(failed)
    return gate, Locator(merge(located)), fallback, tuple(plain), clean, split, gated


def _guarded(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    """``check``, answering "no" for what jsonschema-rs cannot read."""

    def is_valid(instance: Any) -> bool:
        try:
            return bool(check(instance))
        except _UNREADABLE:
            return False

    return is_valid


def _consented(rule: Rule, config: Config, pack: Pack) -> bool:
    """Whether the caller opted in to a rule's unsafe fix: ``unsafe_fixes``, an opt-in
    rule the config selects, or a replacement looked up (by the matched value) in a
    table only the config fills, such as ``model_map``."""
    if config.unsafe_fixes or rule.opt_in:
        return True

    tables = [
        s["table"]
        for s in replacement_specs(rule.replace or {})
        if "table" in s and "key_tokens" not in s
    ]
    return bool(tables) and all(
        t in config.tables and not pack.table_defaults.get(t) for t in tables
    )


def _plain_paths(
    steps: list[Step], plain: tuple[int, ...]
) -> tuple[tuple[tuple[str, ...], tuple[int, ...], bool], ...]:
    """The plain rules grouped by path, in rule order within a path."""
    by_path: dict[tuple[str, ...], list[int]] = {}
    for index in plain:
        tokens = steps[index].plain
        assert tokens is not None
        by_path.setdefault(tokens, []).append(index)
    return tuple(
        (path, tuple(rules), all(steps[i].local for i in rules)) for path, rules in by_path.items()
    )


def make_plan(pack: Pack, config: Config) -> Plan:
    severities = config.severity
    tables = pack_tables(pack, config)
    steps: dict[str, list[Step]] = {"url": [], "headers": [], "body": []}
    for compiled in pack.rules:
        rule = compiled.rule
        if not config.runs(rule.code, opt_in=rule.opt_in):
            continue
        severity = severities.get(rule.code, rule.severity)
        alone = PathTrie()
        _add(alone, 0, compiled)
        local = not compiled.depends and uses_only_local(_when(compiled))
        tokens = compiled.selector.tokens
        plain = None if any(t == "*" or is_index(t) for t in tokens) else tokens
        if rule.scope == "headers":
            plain = None  # header names are compared case-insensitively
        fix = Fix(rule.fix or "safe") if rule.action == "remove" else None
        refuse = rule.fix == "unsafe" and not _consented(rule, config, pack)
        if refuse and rule.code not in severities:
            severity = Severity.ERROR
        steps[rule.scope].append(Step(compiled, severity, local, alone, plain, fix, refuse))
    scopes: dict[str, Steps] = {}
    clean: Callable[[Any], bool] | None = None
    for name, scope_steps in steps.items():
        trie = PathTrie()
        for index, step in enumerate(scope_steps):
            compiled = step.compiled
            if compiled.schema is None:
                _add(trie, index, compiled)
        if name == "body":
            gate, locator, fallback, looked_up, clean, split, gated = _body_checks(
                scope_steps, tables
            )
            once, by_first, wild_first, validating, window = index_first(tuple(scope_steps))
            scopes[name] = Steps(
                tuple(scope_steps), trie, fallback, gate, locator, looked_up,
                once, by_first, wild_first, validating, window, split if once else None,
                plain_paths=(paths := _plain_paths(scope_steps, looked_up)),
                plain_local=all(local for _, _, local in paths),
                gated=gated,
            )  # fmt: skip
        else:
            scopes[name] = Steps(tuple(scope_steps), trie, trie, None, None)
    return Plan(pack=pack, scopes=scopes, tables=tables, config=config, clean=clean)


def _overlapping(
    tokens: tuple[str, ...], absent: bool, edits: list[tuple[tuple[Segment, ...], bool]]
) -> list[tuple[tuple[Segment, ...], bool]]:
    """The ``edits`` (segments, was-a-removal) that can change what a rule sees.

    A replacement at E changes the values at E, above it and below it. A removal at E
    changes the values above E (its ancestors lost a member), and takes away whatever a
    rule matched at E or below it (a later rule must not edit what is gone); removing
    an array element also moves the elements after it.
    """
    out = []
    for place, removal in edits:
        for token, seg in zip(tokens, place, strict=False):
            if token != "*" and token != seg and token != str(seg):
                break
        else:
            out.append((place, removal))
    return out


def _changed_places(
    tokens: tuple[str, ...], overlapping: list[tuple[tuple[Segment, ...], bool]]
) -> set[tuple[Segment, ...]] | None:
    """The places (as deep as the rule's path) whose value the edits changed; None when
    an edit changed a whole subtree the rule selects in, or removed an array element
    (indexes shift): then the rule is matched again everywhere."""
    places = set()
    for place, removal in overlapping:
        if len(place) < len(tokens) or (removal and isinstance(place[-1], int)):
            return None
        places.add(place[: len(tokens)])
    return places


def _rematch_at(
    step: Step,
    before: list[Place],
    places: set[tuple[Segment, ...]],
    root: Any,
    ctx: Context,
) -> list[Place]:
    """A local rule's matches after edits at ``places``: the earlier matches elsewhere,
    and the rule asked again at each changed place."""
    compiled = step.compiled
    out = [(segments, value) for segments, value in before if segments not in places]
    for place in places:
        found = reread(root, place)
        if found is None:
            continue  # its parent is gone
        segments, value = found
        if value is MISSING and not compiled.matches_absent:
            continue
        if compiled.predicate(value, segments[-1] if segments else "", ctx):
            out.append((segments, value))
    out.sort(key=lambda place: position(place[0]))
    return out


def _rematch(step: Step, root: Any, ctx: Context, fold: bool) -> list[Place]:
    return [(segments, value) for _, segments, value in step.trie.walk(root, ctx, fold_case=fold)]


def _match(
    scope: Steps, document: Any, tables: Tables, fold: bool, failed: list[int] | None = None
) -> dict[int, list[Place]]:
    """Every place each path rule fires, per rule, in document order.

    One native pass names the translated rules that fire and where; Python reads
    values only there (and walks the paths of the few rules left to it). A document
    jsonschema-rs cannot read is walked for every rule at once. ``failed``: see
    :meth:`Locator.locate` (-1: every message is in doubt).
    """
    ctx = Context(tables, document)
    located = None
    if scope.locator is not None:
        checks = scope.split.checks() if scope.split is not None else None
        item_ok = checks[1] if checks is not None else None  # raises: the locator catches
        located = scope.locator.locate(document, item_ok, failed)
    if located is None:
        if failed is not None:
            failed.append(-1)
        return by_rule(scope.trie.walk(document, ctx, fold_case=fold))
    # The rules left to Python, the plain ones and the located ones are apart: each
    # rule's places are gathered in one place, already in document order.
    matched = (
        {} if scope.fallback.empty else by_rule(scope.fallback.walk(document, ctx, fold_case=fold))
    )
    for index, path, value in _plain_matches(scope, document, ctx):
        matched[index] = [(path, value)]  # a plain path is one place
    for index, raw in located.items():
        step = scope.steps[index]
        predicate = step.compiled.predicate
        places = _located(step, raw, document)
        if places is None:  # not understood: walk this rule's path in Python
            places = [(s, v) for _, s, v in step.trie.walk(document, ctx)]
        else:
            places = [p for p in places if predicate(p[1], p[0][-1] if p[0] else "", ctx)]
        if places:
            matched[index] = places
    return matched


_SCALARS = frozenset({str, int, bool, type(None)})  # not float: -0.0 == 0.0, shown apart


_KEYED = frozenset({*_SCALARS, type(MISSING)})  # values a remembered answer is keyed on


def _plain_matches(
    scope: Steps, document: Any, ctx: Context
) -> list[tuple[int, tuple[Segment, ...], Any]]:
    """The rules with a plain path that fire, each path looked up once. What the rules
    say of scalar values (or absence) is remembered when they see only the value: by all
    the values at once, or else path by path."""
    paths = scope.plain_paths
    values = list(map(document.get, scope.plain_firsts, repeat(MISSING)))  # one native loop
    for k in scope.plain_nested:  # the few paths deeper than a member of the document
        values[k] = lookup(document, paths[k][0])
    types = tuple(map(type, values))
    memo = scope.plain_memo
    if not scope.plain_local or not _KEYED.issuperset(types):
        return _plain_by_path(scope, values, ctx)
    key = ("all", tuple(values), types)
    firing = memo.get(key)
    if firing is None:
        firing = tuple(
            (index, k)
            for k, (path, rules, _) in enumerate(paths)
            for index in _plain_firing(scope, rules, path, values[k], ctx)
        )
        remember(memo, key, firing)
    return [(index, paths[k][0], values[k]) for index, k in firing]


def _plain_by_path(
    scope: Steps, values: list[Any], ctx: Context
) -> list[tuple[int, tuple[Segment, ...], Any]]:
    found: list[tuple[int, tuple[Segment, ...], Any]] = []
    memo = scope.plain_memo
    for (path, rules, local), value in zip(scope.plain_paths, values, strict=True):
        if value is UNREACHABLE:
            continue
        key: tuple[Any, ...] | None = None
        if local and type(value) in _SCALARS:
            key = (path, type(value), value)
        if value is MISSING and local:
            key = (path, None, None)  # absent: the same answer each time
        firing = memo.get(key) if key is not None else None
        if firing is None:
            firing = _plain_firing(scope, rules, path, value, ctx)
            if key is not None:
                remember(memo, key, firing)
        if firing:
            found += [(index, path, value) for index in firing]
    return found


def _plain_firing(
    scope: Steps, rules: tuple[int, ...], path: tuple[str, ...], value: Any, ctx: Context
) -> tuple[int, ...]:
    key = path[-1] if path else ""
    out = []
    for index in rules:
        compiled = scope.steps[index].compiled
        if value is MISSING and not compiled.matches_absent:
            continue
        if compiled.predicate(value, key, ctx):
            out.append(index)
    return tuple(out)


def _located(step: Step, raw: list[tuple[Any, ...]], document: Any) -> list[Place] | None:
    """The places the locator reports for a rule, re-read against the document and in
    document order; None if any report does not fit the document."""
    depth = len(step.compiled.selector.tokens)
    out: list[Place] = []
    for path in raw if len(raw) == 1 else dict.fromkeys(raw):
        if len(path) != depth:  # a member named "" was dropped from the report
            return None
        place = reread(document, path)
        if place is None:
            return None
        out.append(place)
    if len(out) > 1:
        out.sort(key=lambda place: position(place[0]))
    return out


def _run_scope(scope_name: Scope, document: Any, scope: Steps, tables: Tables) -> tuple[Any, Found]:
    """Match every rule first, then run the rules in order over those matches.

    A rule is looked at only if it matched, or if an earlier edit may have changed
    what it sees (then it is matched again, alone, on the edited document).
    """
    fold = scope_name == "headers"  # HTTP header names are case-insensitive
    failed: list[int] = []  # the messages the split gate found something in
    matched = _match(scope, document, tables, fold, failed) if isinstance(document, dict) else {}
    if scope.once and isinstance(document, dict):
        once = run_once(scope, document, matched, tables, failed)
        if once is not None:
            return once
    doc = CopyOnWrite(document)
    edits: list[tuple[tuple[Segment, ...], bool]] = []
    edited_first: set[str] = set()  # first members of edited paths: most rules skip quickly
    edits_under: dict[str | None, list[tuple[tuple[Segment, ...], bool]]] = {}  # by first member
    found: Found = []
    rejected: set[tuple[Segment, ...]] = set()
    removed: set[tuple[Segment, ...]] = set()  # member removals (no array elements)
    for index, step in enumerate(scope.steps):
        if step.compiled.schema is not None:
            validate(step, doc.root, rejected, found, tables)
            continue
        matches = matched.get(index)
        if edits and isinstance(doc.root, dict) and _touched(step, edited_first):
            tokens = step.compiled.selector.tokens
            near = edits
            if tokens and tokens[0] != "*":
                near = edits_under.get(tokens[0], []) + edits_under.get(None, [])
            matches = _matched_again(step, matches, near, doc.root, tables, fold)
        if matches and removed:  # a match at or under a removed member is gone with it
            matches = [m for m in matches if not under(m[0], removed)]
        if not matches:
            continue
        if step.refuse:
            refused(step, matches, doc.root, tables, rejected, found)
            continue
        action = step.action
        if action in ("remove", "replace"):
            edits.extend((segments, action == "remove") for segments, _ in matches)
            if action == "remove":
                if any(seg and isinstance(seg[-1], int) for seg, _ in matches):
                    removed.clear()  # indexes shifted: the recorded places are stale
                removed.update(seg for seg, _ in matches if seg and isinstance(seg[-1], str))
            for segments, _ in matches:  # None: the whole document, which every rule sees
                first = str(segments[0]) if segments else None
                edits_under.setdefault(first, []).append((segments, action == "remove"))
            edited_first.update(str(segments[0]) for segments, _ in matches if segments)
        _apply(step, matches, doc, tables, rejected, found)
    return doc.root, found


def _matched_again(
    step: Step,
    matches: list[Place] | None,
    edits: list[tuple[tuple[Segment, ...], bool]],
    root: Any,
    tables: Tables,
    fold: bool,
) -> list[Place] | None:
    """A rule's matches after earlier edits: asked again where they changed what it sees."""
    ctx = Context(tables, root)
    if not step.local:
        return _rematch(step, root, ctx, fold)  # it reads other fields: asked again everywhere
    tokens = step.compiled.selector.tokens
    overlapping = _overlapping(tokens, step.compiled.matches_absent, edits)
    places = _changed_places(tokens, overlapping) if step.local and not fold else None
    if not step.local or places is None:
        return _rematch(step, root, ctx, fold)
    if places:
        return _rematch_at(step, matches or [], places, root, ctx)
    return matches


def _apply(
    step: Step,
    matches: list[Place],
    doc: CopyOnWrite,
    tables: Tables,
    rejected: set[tuple[Segment, ...]],
    found: Found,
) -> None:
    """One rule's edits and diagnostics at its matches, last first (so that removing
    array elements keeps the earlier indexes valid)."""
    edits = step.action in ("remove", "replace")
    for segments, value in reversed(matches):
        replacement = edit(step, segments, value, doc, tables) if edits else None
        report(step, segments, value, replacement, rejected, found)


def _touched(step: Step, edited_first: set[str]) -> bool:
    """Whether earlier edits may change what this rule finds: a quick first test."""
    if not step.local:
        return True  # it reads other fields of the request
    tokens = step.compiled.selector.tokens
    return not tokens or tokens[0] == "*" or tokens[0] in edited_first


def _clean(scope: Steps, body: Any, tables: Tables) -> bool:
    """True when no rule can fire and the schema holds: the prefilter's one pass, plus the
    Python walk for the few rules it could not translate."""
    if scope.gate is None or not isinstance(body, dict) or not scope.gate(body):
        return False
    return scope.fallback.empty or not scope.fallback.walk(body, Context(tables, body))


def run_plan(plan: Plan, *, body: Any, headers: Any, base_url: Any, path: Any) -> Result:
    """Apply a prepared pack to one request: the normalized request and its diagnostics."""
    clean = plan.clean
    known: bool | None = None  # what the body's one native pass said, if it was asked
    if clean is not None and type(body) is dict:
        # The common case, a clean body: one native pass (and a Result, for a body alone).
        try:
            known = bool(clean(body))
        except _UNREADABLE:
            known = False
        if known and headers is None and base_url is None and path is None:
            return make_result(body, {}, (), plan.pack.name, plan.pack.revision)
    diagnostics: list[Diagnostic] = []
    if base_url is not None or path is not None:
        diagnostics += _url_findings(plan, base_url, path)
    out_headers: dict[str, Any] = {}
    if headers is not None:
        out_headers, found_headers = _header_findings(plan, headers)
        diagnostics += found_headers
    new_body = body
    body_scope = plan.scopes["body"]
    if known is False or (known is None and not _clean(body_scope, body, plan.tables)):
        new_body, found = _run_scope("body", body, body_scope, plan.tables)
        diagnostics += document_order(body, found)
    return make_result(
        new_body, out_headers, tuple(diagnostics), plan.pack.name, plan.pack.revision
    )


_MEMO_SIZE = 256
"""URL and header documents remembered per plan, with their findings (a client sends
the same few again and again); past this many, the memo starts over."""


def _memo_key(scope: str, items: Any) -> tuple[Any, ...] | None:
    """A key for a document of string members (in order), or None: not remembered."""
    key = (scope, *items)
    return key if all(type(k) is str and type(v) is str for k, v in items) else None


def _url_findings(plan: Plan, base_url: Any, path: Any) -> tuple[Diagnostic, ...]:
    url_doc: dict[str, Any] = {}
    if base_url is not None:
        url_doc["base_url"] = base_url
    if path is not None:
        url_doc["path"] = path
    key = _memo_key("url", tuple(url_doc.items()))
    found_before = plan.memo.get(key) if key is not None else None
    if found_before is not None:
        return found_before  # type: ignore[no-any-return]
    _, found = _run_scope("url", url_doc, plan.scopes["url"], plan.tables)
    diagnostics = tuple(document_order(url_doc, found))
    _remember(plan, key, diagnostics)
    return diagnostics


def _header_findings(plan: Plan, headers: Any) -> tuple[dict[str, Any], tuple[Diagnostic, ...]]:
    """The normalized headers (a new dict each time) and their diagnostics. Headers carry
    credentials: they are remembered by a digest, and the normalized copy is kept only
    when a rule changed it."""
    header_doc: Any = dict(headers.items()) if isinstance(headers, Mapping) else headers
    key = _memo_key("headers", tuple(header_doc.items())) if type(header_doc) is dict else None
    if key is not None:
        text = "".join(f"{len(k)}:{k}{len(v)}:{v}" for k, v in key[1:])
        key = ("headers", blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest())
    before = plan.memo.get(key) if key is not None else None
    if before is not None:
        return dict(header_doc if before[0] is None else before[0]), before[1]
    new_headers, found = _run_scope("headers", header_doc, plan.scopes["headers"], plan.tables)
    out = new_headers if isinstance(new_headers, dict) else {}
    diagnostics = tuple(document_order(header_doc, found))
    changed = None if out == header_doc else dict(out)
    _remember(plan, key, (changed, diagnostics), tuple(changed.items()) if changed else ())
    return out, diagnostics


def _remember(plan: Plan, key: tuple[Any, ...] | None, value: Any, kept: Any = ()) -> None:
    """Store an answer, unless its key or what it ``kept`` of the request is large."""
    if key is not None and keepable(kept):
        remember(plan.memo, key, value, _MEMO_SIZE)
