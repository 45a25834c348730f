"""The condition language of rules (``when:``), compiled to predicates.

A condition is a mapping whose entries must all hold::

    present: false              # the member is absent (default: rules see present members only)
    type: string                # JSON type(s) of the value; not_type: the negation
    equals: max                 # in: [low, medium]  /  not_in: [...]
    matches: '^claude-'         # a string value the regex finds (re.search); not_matches
    key_in: [model, messages]   # the selected member's own name; key_not_in (members only)
    in_table: model_map         # a string value that is a key of a config table; not_in_table
    members: {type: {matches: '^web_search'}}   # conditions on members of an object value
    any_of: [{...}, {...}]      # all_of: [...]  /  not: {...}
    gt: 0                       # ge / lt / le: a number compared with a number...
    gt: {field: /thinking/budget_tokens}   # ...or with another field of the document
    fields: {/tool_choice/type: {in: [any, tool]}}   # conditions on other fields
    last: {members: {role: {equals: assistant}}}     # on the last element of an array

Conditions see only the value, its member name, the config tables and the
document they belong to: rules cannot run code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ._json import TYPE_CHECKS as _TYPE_CHECKS
from ._json import is_number
from ._json import json_equal as _json_equal
from ._paths import MISSING, Segment, is_index, parse_pointer

__all__ = [
    "Context",
    "Predicate",
    "compile_condition",
    "compile_pointer",
    "referenced_fields",
    "resolve",
]

Tables = Mapping[str, Mapping[str, str]]


class Context:
    """What a condition may see besides the value and its member name: the config
    tables, and the root of the document being checked (for conditions on another
    field of the same request). Never code, never the environment."""

    __slots__ = ("root", "tables")

    def __init__(self, tables: Tables, root: Any = None) -> None:
        self.tables = tables
        self.root = root


Predicate = Callable[[Any, Segment, Context], bool]

_KNOWN = (
    "present", "type", "not_type", "equals", "in", "not_in", "matches", "not_matches",
    "key_in", "key_not_in", "in_table", "not_in_table", "members", "any_of", "all_of", "not",
    "gt", "ge", "lt", "le", "fields", "last",
)  # fmt: skip
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


_is_number = is_number


def compile_pointer(pointer: Any, where: str) -> tuple[str, ...]:
    """An RFC 6901 pointer into the document (no wildcards), as tokens."""
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        raise ConditionError(
            where, f"expected a JSON Pointer such as /thinking/type, got {pointer!r}"
        )
    try:
        tokens = tuple(parse_pointer(pointer))
    except ValueError as exc:
        raise ConditionError(where, str(exc)) from None
    if "*" in tokens:
        raise ConditionError(where, "a field reference names one member: no * wildcard")
    return tokens


def resolve(root: Any, tokens: tuple[str, ...]) -> Any:
    """The value at ``tokens`` in ``root``, or MISSING."""
    node = root
    for token in tokens:
        if isinstance(node, dict):
            node = node.get(token, MISSING)
        elif isinstance(node, (list, tuple)) and is_index(token) and int(token) < len(node):
            node = node[int(token)]
        else:
            return MISSING
        if node is MISSING:
            return MISSING
    return node


class ConditionError(ValueError):
    """A malformed condition; ``field`` names the offending entry."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class _LazyPattern:
    """A regular expression compiled on first use (for patterns already known to compile)."""

    __slots__ = ("_compiled", "pattern")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled: re.Pattern[str] | None = None

    def search(self, text: str) -> re.Match[str] | None:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern)
        return self._compiled.search(text)


def compile_condition(
    when: Mapping[str, Any] | None, field: str = "when", *, lazy_regex: bool = False
) -> tuple[Predicate, bool]:
    """Compile a ``when`` mapping. Returns ``(predicate, matches_absent)``.

    ``matches_absent`` is True when the condition is about absence
    (``present: false``), so the interpreter offers absent members to it.
    ``lazy_regex`` defers compiling patterns already checked on an earlier load.
    """
    when = when or {}
    absent = when.get("present") is False
    return _compile(when, field, lazy_regex), absent


def _string_set(arg: Mapping[str, Any]) -> dict[str, frozenset[str]] | None:
    """``{name: {equals: "s"}}`` or ``{name: {in: [strings]}}`` as {name: set}, else None."""
    if len(arg) != 1:
        return None
    ((name, cond),) = arg.items()
    if not isinstance(cond, Mapping) or len(cond) != 1:
        return None
    ((op, value),) = cond.items()
    if op == "equals" and isinstance(value, str):
        return {str(name): frozenset([value])}
    if op == "in" and isinstance(value, list) and all(isinstance(x, str) for x in value):
        return {str(name): frozenset(value)}
    return None


def referenced_fields(when: Any) -> tuple[tuple[str, ...], ...]:
    """The other fields a (valid) condition reads, as pointer tokens: an edit there can
    change its answer, so the interpreter must not skip it on a stale prefilter."""
    out: list[tuple[str, ...]] = []

    def walk(node: Any) -> None:
        if not isinstance(node, Mapping):
            return
        for key, arg in node.items():
            if key in _COMPARE and isinstance(arg, Mapping) and isinstance(arg.get("field"), str):
                out.append(tuple(parse_pointer(arg["field"])))
            elif key == "fields" and isinstance(arg, Mapping):
                for ptr, sub in arg.items():
                    out.append(tuple(parse_pointer(ptr)))
                    walk(sub)
            elif key in ("members",) and isinstance(arg, Mapping):
                for sub in arg.values():
                    walk(sub)
            elif key in ("any_of", "all_of") and isinstance(arg, list):
                for sub in arg:
                    walk(sub)
            elif key in ("not", "last"):
                walk(arg)

    walk(when)
    return tuple(dict.fromkeys(out))


def _compile(when: Any, field: str, lazy: bool = False) -> Predicate:
    if not isinstance(when, Mapping):
        raise ConditionError(field, "a condition must be a mapping")
    checks: list[Predicate] = []
    for key, arg in when.items():
        where = f"{field}.{key}"
        if key not in _KNOWN:
            raise ConditionError(where, f"unknown condition {key!r} (known: {', '.join(_KNOWN)})")
        checks.append(_one(key, arg, where, lazy))
    # No implicit "is present" check: the interpreter offers absent members (MISSING)
    # only to rules that say ``present: false``.
    return _conjunction(checks)


def _conjunction(checks: list[Predicate]) -> Predicate:
    """``all`` of the checks, unrolled for the short lists rules actually have."""
    if not checks:
        return lambda v, k, t: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda v, k, t: a(v, k, t) and b(v, k, t)
    if len(checks) == 3:
        a, b, c = checks
        return lambda v, k, t: a(v, k, t) and b(v, k, t) and c(v, k, t)
    return lambda v, k, t: all(c(v, k, t) for c in checks)


def _one(key: str, arg: Any, where: str, lazy: bool = False) -> Predicate:
    """One entry of a condition, compiled by its keyword's compiler."""
    return _COMPILERS[key](key, arg, where, lazy)


def _present(key: str, arg: Any, where: str, lazy: bool) -> Predicate:
    if not isinstance(arg, bool):
        raise ConditionError(where, "present must be true or false")
    return (lambda v, k, t: v is not MISSING) if arg else (lambda v, k, t: v is MISSING)


def _type(key: str, arg: Any, where: str, lazy: bool) -> Predicate:
    names = [arg] if isinstance(arg, str) else arg
    if not isinstance(names, list) or not names or any(n not in _TYPE_CHECKS for n in names):
        raise ConditionError(where, f"expected JSON type name(s) from {sorted(_TYPE_CHECKS)}")
    tests = [_TYPE_CHECKS[n] for n in names]
    if key == "type":
        return lambda v, k, t: v is not MISSING and any(c(v) for c in tests)
    return lambda v, k, t: v is not MISSING and not any(c(v) for c in tests)


def _equals(key: str, arg: Any, where: str, lazy: bool) -> Predicate:
    if isinstance(arg, str):
        return lambda v, k, t: v == arg and isinstance(v, str)
    return lambda v, k, t: v is not MISSING and _json_equal(v, arg)


def _in(key: str, arg: Any, where: str, lazy: bool) -> Predicate:
    if not isinstance(arg, list):
        raise ConditionError(where, f"{key} expects a list of values")
    values = list(arg)
    if all(isinstance(x, str) for x in values):
        strings = frozenset(values)
        if key == "in":
            return lambda v, k, t: isinstance(v, str) and v in strings
        return lambda v, k, t: v is not MISSING and not (isinstance(v, str) and v in strings)
    if key == "in":
        return lambda v, k, t: v is not MISSING and any(_json_equal(v, x) for x in values)
    return lambda v, k, t: v is not MISSING and not any(_json_equal(v, x) for x in values)


def _matches(key: str, arg: Any, where: str, lazy: bool) -> Predicate:
    if not isinstance(arg, str):
        raise ConditionError(where, f"{key} expects a regular expression string")
    regex: re.Pattern[str] | _LazyPattern
    if lazy:
        regex = _LazyPattern(arg)
    else:
        try:
            regex = re.compile(arg)
        except re.error as exc:
            raise ConditionError(where, f"bad regular expression {arg!r}: {exc}") from None
    if key == "matches":
        return lambda v, k, t: isinstance(v, str) and regex.search(v) is not None
    return lambda v, k, t: isinstance(v, str) and regex.search(v) is None


def _key_in(key: str, arg: Any, where: str, lazy: bool) -> Predicate:
    if not isinstance(arg, list) or not all(isinstance(x, str) for x in arg):
        raise ConditionError(where, f"{key} expects a list of member names")
    names_set = frozenset(arg)
    if key == "key_in":
        return lambda v, k, t: str(k) in names_set
    # An object member not in the list: array elements (int keys) never match.
    return lambda v, k, t: isinstance(k, str) and k not in names_set


def _in_table(key: str, arg: Any, where: str, lazy: bool) -> Predicate:
    if not isinstance(arg, str):
        raise ConditionError(where, f"{key} expects a config table name")
    if key == "in_table":
        return lambda v, k, t: isinstance(v, str) and v in t.tables.get(arg, {})
    return lambda v, k, t: isinstance(v, str) and v not in t.tables.get(arg, {})


def _members(key: str, arg: Any, where: str, lazy: bool) -> Predicate:
    if not isinstance(arg, Mapping) or not arg:
        raise ConditionError(where, "members expects a mapping of member name to condition")
    subs = [(str(name), _compile(c, f"{where}.{name}", lazy)) for name, c in arg.items()]
    by_name = _string_set(arg)
    if by_name is not None:  # the common {type: {equals/in: ...}}: one call, no closure
        ((name, wanted),) = by_name.items()
        return lambda v, k, t: (
            isinstance(v, dict) and isinstance(x := v.get(name), str) and x in wanted
        )
    if len(subs) == 1:
        ((name, only),) = subs
        return lambda v, k, t: isinstance(v, dict) and only(v.get(name, MISSING), name, t)

    def members(v: Any, k: Segment, t: Context) -> bool:
        if not isinstance(v, dict):
            return False
        return all(p(v.get(name, MISSING), name, t) for name, p in subs)

    return members


def _any_of(key: str, arg: Any, where: str, lazy: bool) -> Predicate:
    if not isinstance(arg, list) or not arg:
        raise ConditionError(where, f"{key} expects a non-empty list of conditions")
    parts = [_compile(c, f"{where}[{i}]", lazy) for i, c in enumerate(arg)]
    if key == "any_of":
        return lambda v, k, t: any(p(v, k, t) for p in parts)
    return lambda v, k, t: all(p(v, k, t) for p in parts)


def _compare(key: str, arg: Any, where: str, lazy: bool) -> Predicate:
    compare = _COMPARE[key]
    if _is_number(arg):
        bound = arg
        return lambda v, k, t: _is_number(v) and compare(v, bound)
    if isinstance(arg, Mapping) and set(arg) == {"field"}:
        other = compile_pointer(arg["field"], f"{where}.field")

        def against_field(v: Any, k: Segment, t: Context) -> bool:
            w = resolve(t.root, other)
            return _is_number(v) and _is_number(w) and compare(v, w)

        return against_field
    raise ConditionError(where, f"{key} expects a number or {{field: /pointer}}")


def _fields(key: str, arg: Any, where: str, lazy: bool) -> Predicate:
    if not isinstance(arg, Mapping) or not arg:
        raise ConditionError(where, "fields expects a mapping of JSON Pointer to condition")
    refs = [
        (compile_pointer(ptr, f"{where}.{ptr}"), _compile(c, f"{where}.{ptr}", lazy))
        for ptr, c in arg.items()
    ]

    def fields(v: Any, k: Segment, t: Context) -> bool:
        for tokens, p in refs:
            if not p(resolve(t.root, tokens), tokens[-1] if tokens else "", t):
                return False
        return True

    return fields


def _last(key: str, arg: Any, where: str, lazy: bool) -> Predicate:
    last = _compile(arg, where, lazy)
    return lambda v, k, t: isinstance(v, (list, tuple)) and bool(v) and last(v[-1], len(v) - 1, t)


def _not(key: str, arg: Any, where: str, lazy: bool) -> Predicate:
    inner = _compile(arg, where, lazy)
    return lambda v, k, t: not inner(v, k, t)


_COMPILERS: dict[str, Callable[[str, Any, str, bool], Predicate]] = {
    "present": _present,
    "type": _type,
    "not_type": _type,
    "equals": _equals,
    "in": _in,
    "not_in": _in,
    "matches": _matches,
    "not_matches": _matches,
    "key_in": _key_in,
    "key_not_in": _key_in,
    "in_table": _in_table,
    "not_in_table": _in_table,
    "members": _members,
    "any_of": _any_of,
    "all_of": _any_of,
    "not": _not,
    "gt": _compare,
    "ge": _compare,
    "lt": _compare,
    "le": _compare,
    "fields": _fields,
    "last": _last,
}
"""Each condition keyword's compiler (the keys are exactly the known conditions)."""
assert set(_COMPILERS) == set(_KNOWN)
