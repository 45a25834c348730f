"""A prepared rule in its scope (:class:`Step`), a scope's rules (:class:`Steps`), and what
running a rule at a place does: the edit (:func:`edit`) and its diagnostic (:func:`report`).

The general loop of :mod:`._interpreter` and the one-pass run of :mod:`._onepass` share
these, so both build exactly the same diagnostics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from string import Formatter
from typing import Any

from fwcompat._diagnostics import Diagnostic, Fix, Severity
from fwcompat.engine._model import CompiledRule, passed_through
from fwcompat.engine._replacements import computed_replacement

from ._conditions import Context
from ._findings import CopyOnWrite, Fields, Found, diagnostic, shown, under
from ._json import remember, short
from ._paths import MISSING, PathTrie, Segment, format_pointer
from ._places import Place
from ._prefilter import Locator
from ._schema import CompiledSchema, SchemaCompileError

__all__ = ["Split", "Step", "Steps", "edit", "refused", "report", "validate"]

Tables = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class Step:
    compiled: CompiledRule
    severity: Severity
    local: bool  # its condition sees only the value: an edit elsewhere cannot change it
    trie: PathTrie  # this rule's path alone, for matching it again after an edit
    plain: tuple[str, ...] | None  # the path, when it names members only (no * or index)
    fix: Fix | None  # a removal's fix (the same for every match)
    refuse: bool = False  # an unsafe fix the caller did not opt in to: reported, not applied
    said: dict[Any, Diagnostic] = field(default_factory=dict, compare=False, repr=False)
    """Diagnostics already built, by place and (scalar) value: they are immutable, and a
    client sends the same few fields again and again (data only, bounded)."""
    action: str = field(init=False, compare=False, repr=False)
    """The rule's action (read on every match: kept here, not looked up each time)."""
    edits: bool = field(init=False, compare=False, repr=False)
    """Whether the rule changes the request where it fires."""
    blind: bool = field(init=False, compare=False, repr=False)
    """Whether its diagnostic does not depend on the matched value (its words name only
    the place): then it is remembered by place alone, the value not previewed."""

    def __post_init__(self) -> None:
        rule = self.compiled.rule
        action = rule.action
        edits = not self.refuse and action in ("remove", "replace")
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "edits", edits)
        raised = edits and self.severity is Severity.ERROR and rule.severity is not Severity.ERROR
        named = _named(rule.message)
        blind = not raised and named is not None and named <= _PLACE_ONLY
        object.__setattr__(self, "blind", blind)


_PLACE_ONLY = frozenset({"key", "pointer", "where"})
"""Placeholders that follow from the place alone (see :class:`Fields`)."""


def _named(template: str) -> frozenset[str] | None:
    """The placeholders a message template names; None when one is not a plain name
    (an attribute, an index, a nested field), or the template does not parse."""
    names: set[str] = set()
    try:
        for _, name, spec, _ in Formatter().parse(template):
            if name is None:
                continue
            if not name.isidentifier() or (spec and "{" in spec):
                return None
            names.add(name)
    except ValueError:
        return None
    return frozenset(names)


Check = Callable[[Any], bool]


class Split:
    """The body's gate and its schema, each in two: the request without the elements of
    ``messages``, and one message (see :meth:`CompiledSchema.split_gate`). A dirty
    request is then located and validated message by message, and a message where no
    rule fires and the schema holds is not looked at again. Compiled on first use."""

    def __init__(self, schema: CompiledSchema, constraint: Any, name: str = "messages") -> None:
        self.name = name
        self._schema = schema
        self._constraint = constraint
        self._checks: tuple[Check, Check, Check, Check] | None = None
        self._tried = False

    def checks(self) -> tuple[Check, Check, Check, Check] | None:
        """(gate without the elements, gate of one element, schema without the elements,
        schema of one element); None when the schema is not shaped for the split."""
        if not self._tried:
            self._tried = True
            extra = () if self._constraint is True else (self._constraint,)
            try:
                gates = self._schema.split_gate(self.name, *extra)
                schemas = self._schema.split_gate(self.name)
            except SchemaCompileError:  # not split: the whole gate and schema are used
                gates = schemas = None
            if gates is not None and schemas is not None:
                self._checks = (*gates, *schemas)
        return self._checks


@dataclass(frozen=True)
class Steps:
    """A scope's rules in order, with what runs them quickly."""

    steps: tuple[Step, ...]
    trie: PathTrie  # every path rule of the scope
    fallback: PathTrie  # the path rules the prefilter could not translate
    gate: Callable[[Any], bool] | None  # prefilter + schema; None: always run the rules
    locator: Locator | None  # where the translated rules fire, found natively
    plain: tuple[int, ...] = ()  # translated rules with a plain path: looked up directly
    once: bool = False
    """Whether the one-pass run may be tried."""
    by_first: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    """Path rules by the first member their path names, for finding who an edit concerns."""
    wild_first: tuple[int, ...] = ()
    """Path rules whose path starts with ``*`` (or is the whole document)."""
    schemas: tuple[int, ...] = ()
    """The ``validate`` rules."""
    window: tuple[tuple[tuple[int, tuple[tuple[str, ...], ...]], ...], int] = ((), 0)
    """The one pass holds when no edit comes after the first schema rule (``window[1]``)
    and none changes, before it runs, what a rule reading other fields reads
    (``window[0]``: each such rule's index, its path and the fields it names)."""
    split: Split | None = None
    """The gate and schema message by message, when the one-pass run may use them."""
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    """What the one-pass run worked out from the places of a set of edits (data only)."""
    plain_paths: tuple[tuple[tuple[str, ...], tuple[int, ...], bool], ...] = ()
    """The :attr:`plain` rules by path (each path read once): the path, its rules, and
    whether they all see only the value there (then :attr:`plain_memo` remembers them)."""
    gated: frozenset[int] = frozenset()
    """The rules the gate holds (translated exactly): where the split gate passes on a
    message, none of them fires in it."""
    plain_local: bool = False
    """Whether every plain rule sees only the value at its path."""
    plain_memo: dict[Any, tuple[Any, ...]] = field(default_factory=dict, compare=False, repr=False)
    """The plain rules that fire on a scalar value at a path, by path and typed value (data
    only, bounded): a client sends the same model and fields again and again."""
    plain_firsts: tuple[str, ...] = field(init=False, compare=False, repr=False)
    """The first member of each of :attr:`plain_paths` (read in one native loop)."""
    plain_nested: tuple[int, ...] = field(init=False, compare=False, repr=False)
    """Which of :attr:`plain_paths` go deeper than a member of the document."""

    def __post_init__(self) -> None:
        paths = self.plain_paths
        object.__setattr__(self, "plain_firsts", tuple(p[0] if p else "" for p, _, _ in paths))
        nested = tuple(k for k, (p, _, _) in enumerate(paths) if len(p) != 1)
        object.__setattr__(self, "plain_nested", nested)


def edit(
    step: Step, segments: tuple[Segment, ...], value: Any, doc: CopyOnWrite, tables: Tables
) -> Any:
    """A removal's or replacement's edit at one match; the replacement (None for a removal)."""
    if step.action == "remove":
        doc.remove(segments)
        return None
    rule = step.compiled.rule
    assert rule.replace is not None
    replacement = computed_replacement(rule.replace, value, Context(tables, doc.root))
    doc.replace(segments, replacement)
    return replacement


_REMEMBERED = frozenset({str, int, bool, type(None)})  # not float: -0.0 == 0.0, shown apart


def report(
    step: Step,
    segments: tuple[Segment, ...],
    value: Any,
    replacement: Any,
    rejected: set[tuple[Segment, ...]],
    found: Found,
) -> None:
    """The diagnostic of one match of a rule that is not refused."""
    if step.action == "reject":
        rejected.add(segments)
    if type(replacement) in _REMEMBERED:
        kind: Any = type(value)
        seen: Any = None
        if step.blind:  # its words name only the place: the value is not shown
            kind = None
        elif kind in _REMEMBERED or value is MISSING:
            seen = value
        elif kind is list:  # its words show it only through a short preview
            seen = short(value)
        elif kind is dict:  # and, for an object, its type and name
            seen = _small(value)
            if seen is None:
                seen = (
                    short(value),
                    shown(value.get("type", MISSING)),
                    shown(value.get("name", MISSING)),
                )
        else:
            found.append((segments, _diagnostic(step, segments, value, replacement)))
            return
        key = (segments, kind, seen, type(replacement), replacement)
        said = step.said.get(key)
        if said is None:
            said = _diagnostic(step, segments, value, replacement)
            remember(step.said, key, said, 64)
        found.append((segments, said))
        return
    found.append((segments, _diagnostic(step, segments, value, replacement)))


def _small(value: dict[Any, Any]) -> tuple[tuple[Any, type, Any], ...] | None:
    """A small object of scalar members as its members, typed: what its words show of it
    (its preview, type and name) follows from them. None for any other object."""
    if len(value) > 4:
        return None
    out = tuple((k, type(v), v) for k, v in value.items())
    for k, kind, _ in out:
        if type(k) is not str or kind not in _REMEMBERED:
            return None
    return out


def _diagnostic(
    step: Step, segments: tuple[Segment, ...], value: Any, replacement: Any
) -> Diagnostic:
    rule = step.compiled.rule
    action = rule.action
    fix = None
    if action == "remove":
        fix = step.fix
    elif action == "replace":
        fix = Fix(rule.fix or "safe", replacement)
    pointer = format_pointer(segments)
    fields = Fields(segments, pointer, value, replacement)
    # A fix whose rule the configuration raised to an error still applies to the
    # normalized request, but the request is not ok: its message must not read as if
    # the change made it fine.
    if fix is not None and step.severity is Severity.ERROR and rule.severity is not Severity.ERROR:
        verb = "remove it" if action == "remove" else f"set {fields['replacement']}"
        message = (
            f"{rule.title} ({fields['where']}: {fields['value']}); an error by "
            f"configuration ({rule.code}): the request must not be sent as it is "
            f"(the fix would {verb})"
        )
    else:
        message = rule.message.format_map(fields)
    return diagnostic(rule, step.severity, pointer, message, fix)


def refused(
    step: Step,
    matches: list[Place],
    root: Any,
    tables: Tables,
    rejected: set[tuple[Segment, ...]],
    found: Found,
) -> None:
    """An unsafe fix the caller did not opt in to: an error at each match, and no edit
    (the request is not changed behind the caller's back)."""
    rule = step.compiled.rule
    for segments, value in matches:
        replacement: Any = None
        if rule.action == "replace":
            assert rule.replace is not None
            replacement = computed_replacement(rule.replace, value, Context(tables, root))
        rejected.add(segments)
        pointer = format_pointer(segments)
        fields = Fields(segments, pointer, value, replacement)
        verb = "remove it" if rule.action == "remove" else f"set {fields['replacement']}"
        message = (
            f"{rule.title} ({fields['where']}: {fields['value']}); not changed: the fix would "
            f"{verb}, which changes what the request asks for (an unsafe fix, {rule.code}). "
            "Change the request, or opt in with --unsafe-fixes / Config(unsafe_fixes=True)."
        )
        found.append(
            (segments, diagnostic(rule, step.severity, pointer, message, None, "rejected"))
        )


def validate(
    step: Step,
    document: Any,
    rejected: set[tuple[Segment, ...]],
    found: Found,
    tables: Tables,
) -> None:
    """A ``validate`` rule: a diagnostic per schema violation, except those at or under a
    rejected place, or at a member a removing rule handles."""
    rule = step.compiled.rule
    schema = step.compiled.schema
    assert schema is not None
    passthrough = step.compiled.passthrough
    ctx = Context(tables, document)
    skip = frozenset(tuple(str(seg) for seg in place) for place in rejected)
    for err in schema.iter_errors(document, skip=skip):
        if under(err.path, rejected):
            continue
        # A member a removing rule handles is that rule's to report (or, when it is
        # ignored, to let through).
        if passthrough and passed_through(err.path, document, passthrough, ctx):
            continue
        at = err.path[:-1] if err.keyword == "required" else err.path
        pointer = format_pointer(err.path)
        fields = Fields(at, pointer, MISSING, None)
        fields["error"] = err.message
        message = rule.message.format_map(fields)
        found.append((err.path, diagnostic(rule, step.severity, pointer, message, None)))
