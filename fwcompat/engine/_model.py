"""The compiled form the engine runs: a rule as written, a compiled rule, a pack.

The rule-pack layer builds these from YAML; the engine only reads them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fwcompat._diagnostics import Severity
from fwcompat.engine._conditions import Context, Predicate
from fwcompat.engine._paths import MISSING, Segment, Selector
from fwcompat.engine._schema import CompiledSchema

__all__ = [
    "Basis",
    "CompiledRule",
    "Pack",
    "Rule",
    "RuleAction",
    "passed_through",
    "replacement_specs",
]


RuleAction = Literal["remove", "replace", "reject", "note"]
Basis = Literal["documented", "code", "inferred"]
_PAST: dict[str, str] = {
    "remove": "removed",
    "replace": "replaced",
    "reject": "rejected",
    "note": "noted",
}


@dataclass(frozen=True)
class Rule:
    """One documented difference, as written in a rule file."""

    code: str
    name: str
    title: str
    doc: str
    scope: Literal["body", "headers", "url"]
    path: str
    severity: Severity
    action: RuleAction
    message: str
    fix: Literal["safe", "unsafe"] | None = None
    when: Mapping[str, Any] = field(default_factory=dict)
    replace: Mapping[str, Any] | None = None
    validate: str | None = None
    examples: tuple[Mapping[str, Any], ...] = ()
    source: str = ""
    opt_in: bool = False
    """Runs only when ``select``/``extend_select`` names its full code or name."""
    catch_all: bool = False
    """Leaves alone the members other rules of the pack remove by name."""
    pack: str = ""
    """The pack this rule ran in (set when the pack is loaded)."""
    revision: str = ""
    basis: Basis = "documented"
    """What ``doc`` is: a sentence of the pack's source text (``documented``), a line of
    the server code the source text holds (``code``), or the pack author's reading
    (``inferred``: such a rule only notes, it never rejects, removes or replaces)."""
    source_date: str = ""
    """When the pack's source text was retrieved (or its revision label)."""

    @property
    def past_action(self) -> str:
        """The diagnostic's action: removed, replaced, rejected or noted."""
        return _PAST[self.action]


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    selector: Selector
    predicate: Predicate
    matches_absent: bool
    schema: CompiledSchema | None
    depends: tuple[tuple[str, ...], ...] = ()
    """Other fields its condition reads (``fields:``, ``gt: {field: ...}``)."""
    effective_when: Mapping[str, Any] | None = None
    """The condition its predicate implements, when that is not ``rule.when`` (a
    catch-all also leaves alone the members other rules handle). Data, for the
    prefilter's translation."""
    passthrough: tuple[CompiledRule, ...] = ()
    """For a ``validate`` rule: the pack's removing rules. A schema error at a member
    one of them handles is theirs to report, so ignoring them lets the member through."""


@dataclass(frozen=True)
class Pack:
    """A loaded, compiled rule pack."""

    name: str
    title: str
    source: str
    revision: str
    provider: str
    endpoint: str
    tables: Mapping[str, Mapping[str, Any]]
    rules: tuple[CompiledRule, ...]
    table_checks: Mapping[str, tuple[Predicate, Predicate]]
    extends: str | None = None
    retired: Mapping[str, str] = field(default_factory=dict)
    """Codes this pack (or a pack it extends) retired, with why: never reused."""
    table_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    folder: str = ""
    usage: Mapping[str, Any] = field(default_factory=dict)
    """The pack's ``usage:`` block: how its provider reports token usage (inherited)."""
    source_text: str = ""
    """The path of the provider documentation text the pack encodes ("" if none)."""
    source_date: str = ""
    """When that text was retrieved (YYYY-MM-DD), or its revision label."""


def replacement_specs(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """A ``replace`` spec and every spec nested in its ``members``."""
    yield spec
    for sub in (spec.get("members") or {}).values():
        if isinstance(sub, Mapping):
            yield from replacement_specs(sub)


def passed_through(
    segments: tuple[Segment, ...], document: Any, rules: tuple[CompiledRule, ...], ctx: Context
) -> bool:
    """Whether a schema error at ``segments`` (or under it) is about a member that a
    removing rule handles: by name, or for a catch-all, one its condition accepts."""
    for rule in rules:
        tokens = rule.selector.tokens
        if len(segments) < len(tokens) or not tokens:
            continue
        if not all(t == "*" or t == str(s) for t, s in zip(tokens, segments, strict=False)):
            continue
        if tokens[-1] != "*":  # a member named by the rule's path
            return True
        node = document
        for seg in segments[: len(tokens)]:
            try:
                node = node[seg]
            except (KeyError, IndexError, TypeError):
                node = MISSING
                break
        if node is not MISSING and rule.predicate(node, segments[len(tokens) - 1], ctx):
            return True
    return False
