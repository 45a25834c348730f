"""The rule-key prefilter: "can any rule fire on this request?" as one JSON Schema.

Most requests are clean, so the question that must be cheap is whether any
rule can fire at all. Each path rule is translated into a schema that holds
exactly when the rule does *not* fire (``/tools/*/cache_control`` becomes
"no tool has a cache_control member"); the interpreter evaluates them together
with the request schema in one pass of jsonschema-rs, touching only the members
some rule names, in native code.

A rule is translated only when the translation is exact. Anything else (a
regular expression outside the subset both engines read alike, a condition on
another field of the request, a condition this module does not know) is left
to the Python walk, which runs for those rules on every request: the prefilter
may only ever answer "maybe" too often, never "clean" wrongly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._conditions import Context, compile_condition
from ._json import remember
from ._paths import MISSING, WILDCARD, is_index
from ._tables import GlobTable

__all__ = [
    "LOCAL_CONDITIONS",
    "RULE_TAG",
    "Locator",
    "Untranslatable",
    "merge",
    "no_fire_schema",
    "uses_only_local",
]

LOCAL_CONDITIONS = frozenset(
    {
        "present", "type", "not_type", "equals", "in", "not_in", "matches", "not_matches",
        "key_in", "key_not_in", "in_table", "not_in_table", "members", "any_of", "all_of", "not",
        "gt", "ge", "lt", "le", "last",
    }
)  # fmt: skip
"""Conditions that look only at the value, its member name and the config tables
(a comparison only when it is against a number, not ``{field: ...}``)."""
RULE_TAG = "x-fwcompat-rule"
"""The key under which a place a rule fires at names the rule (ignored by validators)."""
_BOUNDS = {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum", "le": "maximum"}

Tables = Mapping[str, Mapping[str, Any]]


class Untranslatable(Exception):
    """This rule's condition has no exact JSON Schema translation here."""


class _Other:
    """A member name not mentioned by any key condition."""


class _Index:
    """An array element (its key is an int)."""


_OTHER = _Other()
_INDEX = _Index()


def uses_only_local(when: Any) -> bool:
    """Whether a condition (recursively) uses only :data:`LOCAL_CONDITIONS`."""
    if not isinstance(when, Mapping):
        return True
    for key, arg in when.items():
        if key not in LOCAL_CONDITIONS:
            return False
        if key in _BOUNDS and isinstance(arg, Mapping):
            return False  # compared with another field
        if key == "last" and not uses_only_local(arg):
            return False
        if key == "members" and isinstance(arg, Mapping):
            if not all(uses_only_local(c) for c in arg.values()):
                return False
        elif key in ("any_of", "all_of") and isinstance(arg, list):
            if not all(uses_only_local(c) for c in arg):
                return False
        elif key == "not" and not uses_only_local(arg):
            return False
    return True


def no_fire_schema(
    tokens: Sequence[str],
    when: Mapping[str, Any] | None,
    absent: bool,
    tables: Tables,
    tag: int | None = None,
) -> Any:
    """A schema a document satisfies exactly when this rule finds nothing in it.

    ``tag`` (the rule's index) is written into each place the rule fires at, under
    :data:`RULE_TAG`: the :class:`Locator` reads it back from jsonschema-rs's reports.
    Raises :class:`Untranslatable` when no exact translation is known.
    """
    marks = {} if tag is None else {RULE_TAG: tag}
    when = when or {}
    if not uses_only_local(when):
        raise Untranslatable("condition on other fields")
    if absent:
        if not tokens or tokens[-1] == WILDCARD:
            return True  # only a named member can be absent
        predicate, _ = compile_condition(when)
        if not predicate(MISSING, tokens[-1], Context(tables)):
            return True
        return _nest(tokens[:-1], {"required": [tokens[-1]], **marks})
    if tokens and tokens[-1] == WILDCARD:
        names = sorted(_key_names(when))
        other = _leaf(_fires(when, _OTHER, tables), marks)
        element = _leaf(_fires(when, _INDEX, tables), marks)
        leaf: dict[str, Any] = {"additionalProperties": other, "items": element}
        if any(is_index(n) for n in names):
            raise Untranslatable("key condition naming an array index")
        if names:
            leaf["properties"] = {n: _leaf(_fires(when, n, tables), marks) for n in names}
        if all(v is True for v in (other, element, *leaf.get("properties", {}).values())):
            return True
        return _nest(tokens[:-1], leaf)
    key = tokens[-1] if tokens else ""
    if tokens and is_index(key):
        raise Untranslatable("an index as the last token")
    leaf_schema = _leaf(_fires(when, key, tables), marks)
    return True if leaf_schema is True else _nest(tokens, leaf_schema)


def _leaf(fires: Any, marks: Mapping[str, Any]) -> Any:
    """The schema a selected value must meet for the rule not to fire. "Fires on any
    value" is ``{"not": {}}`` rather than ``false``, so that jsonschema-rs reports it
    at the value itself (the locator reads match places from those reports)."""
    leaf = {"not": {}} if fires is True else _negate(fires)
    return {**leaf, **marks} if isinstance(leaf, dict) else leaf


def merge(schemas: Sequence[Any]) -> Any:
    """One schema equivalent to all of ``schemas`` together, with shared paths merged.

    ``{"properties": {"tools": A}}`` and ``{"properties": {"tools": B}}`` become
    ``{"properties": {"tools": <A and B merged>}}``, so jsonschema-rs visits each
    member once however many rules look under it. Anything else stays in ``allOf``.
    """
    props: dict[str, list[Any]] = {}
    wild: list[Any] = []
    rest: list[Any] = []
    for schema in schemas:
        if schema is True:
            continue
        if isinstance(schema, dict) and set(schema) == {"properties"}:
            for name, sub in schema["properties"].items():
                props.setdefault(name, []).append(sub)
        elif (
            isinstance(schema, dict)
            and set(schema) == {"items", "additionalProperties"}
            and schema["items"] is schema["additionalProperties"]
        ):
            wild.append(schema["items"])
        else:
            rest.append(schema)
    parts: list[Any] = list(rest)
    if props:
        parts.append({"properties": {name: merge(subs) for name, subs in props.items()}})
    if wild:
        inner = merge(wild)
        parts.append({"items": inner, "additionalProperties": inner})
    if not parts:
        return True
    return parts[0] if len(parts) == 1 else {"allOf": parts}


def _negate(schema: Any) -> Any:
    if schema is True:
        return False
    if schema is False:
        return True
    return {"not": schema}


def _nest(tokens: Sequence[str], leaf: Any) -> Any:
    """``leaf`` must hold at every place the tokens select (``*``: every member)."""
    schema = leaf
    for token in reversed(tokens):
        if schema is True:
            continue
        if token == WILDCARD:
            schema = {"items": schema, "additionalProperties": schema}
        elif is_index(token):
            schema = {
                "properties": {token: schema},
                "prefixItems": [True] * int(token) + [schema],
            }
        else:
            schema = {"properties": {token: schema}}
    return schema


def _key_names(when: Any) -> set[str]:
    """Member names that key conditions mention (members: sees its own names)."""
    names: set[str] = set()
    if not isinstance(when, Mapping):
        return names
    for key, arg in when.items():
        if key in ("key_in", "key_not_in") and isinstance(arg, list):
            names.update(str(a) for a in arg)
        elif key in ("any_of", "all_of") and isinstance(arg, list):
            for c in arg:
                names |= _key_names(c)
        elif key == "not":
            names |= _key_names(arg)
    return names


def _fires(when: Any, key: str | _Other | _Index, tables: Tables) -> Any:
    """A schema matched by exactly the present values on which ``when`` holds."""
    if not isinstance(when, Mapping):
        raise Untranslatable("not a condition")
    return _all_of([_one(name, arg, key, tables) for name, arg in when.items()])


def _all_of(parts: list[Any]) -> Any:
    """The conjunction, with ``true`` dropped and ``false`` absorbing."""
    if any(part is False for part in parts):
        return False
    parts = [part for part in parts if part is not True]
    if not parts:
        return True
    return parts[0] if len(parts) == 1 else {"allOf": parts}


def _one(name: str, arg: Any, key: str | _Other | _Index, tables: Tables) -> Any:
    if name == "present":
        return bool(arg)  # present values: true holds, false never does
    if name in ("type", "not_type"):
        names = [arg] if isinstance(arg, str) else list(arg)
        return {"type": names} if name == "type" else {"not": {"type": names}}
    if name == "equals":
        return {"const": arg}
    if name == "in":
        return {"enum": list(arg)} if arg else False
    if name == "not_in":
        return {"not": {"enum": list(arg)}} if arg else True
    if name in ("matches", "not_matches"):
        pattern = {"pattern": ecma_pattern(arg)}
        return {"type": "string", **(pattern if name == "matches" else {"not": pattern})}
    if name in ("key_in", "key_not_in"):
        if key is _INDEX:
            return False  # names are never indexes here (see no_fire_schema), and key_not_in
            # never matches an array element
        inside = isinstance(key, str) and key in {str(a) for a in arg}
        return inside if name == "key_in" else not inside
    if name in _BOUNDS:
        if isinstance(arg, bool) or not isinstance(arg, (int, float)):
            raise Untranslatable("a comparison with another field")
        return {"type": "number", _BOUNDS[name]: arg}
    if name in ("in_table", "not_in_table"):
        table = tables.get(arg, {})
        if isinstance(table, GlobTable) and table.has_globs:
            raise Untranslatable("a table with glob keys")
        keys = sorted(k for k in table if isinstance(k, str))
        if name == "in_table":
            return {"type": "string", "enum": keys} if keys else False
        return {"type": "string", "not": {"enum": keys}} if keys else {"type": "string"}
    if name == "members":
        parts: list[Any] = [{"type": "object"}]
        for member, sub in arg.items():
            member = str(member)
            predicate, _ = compile_condition(sub)
            inner = _fires(sub, member, tables)
            if predicate(MISSING, member, Context(tables)):
                parts.append({"properties": {member: inner}})
            else:
                parts.append({"required": [member], "properties": {member: inner}})
        return {"allOf": parts}
    if name == "all_of":
        return _all_of([_fires(c, key, tables) for c in arg])
    if name == "any_of":
        subs = [_fires(c, key, tables) for c in arg]
        if any(sub is True for sub in subs):
            return True
        subs = [sub for sub in subs if sub is not False]
        return False if not subs else subs[0] if len(subs) == 1 else {"anyOf": subs}
    if name == "not":
        return _negate(_fires(arg, key, tables))
    raise Untranslatable(f"condition {name!r}")


_ESCAPABLE = set(".^$*+?()[]{}|\\/-#:")
# Python's IGNORECASE also equates these non-ASCII letters with ASCII ones
# (tests/engine/test_prefilter.py checks the table against every code point).
_FOLDS_BEYOND_ASCII = {"i": "\u0130\u0131", "k": "\u212a", "s": "\u017f"}


def _caseless(c: str) -> str:
    """Every character Python's ``(?i)`` equates with the ASCII letter ``c``."""
    low = c.lower()
    return low + low.upper() + _FOLDS_BEYOND_ASCII.get(low, "")


_CLASS_UNSAFE = ("&&", "--", "~~", "||")


def ecma_pattern(pattern: str) -> str:
    """The same regular expression for jsonschema-rs, or :class:`Untranslatable`.

    Python's ``re`` and the ECMA-262 dialect disagree on ``$`` (a final newline),
    ``.``, ``\\d``/``\\w``/``\\s`` (Unicode or ASCII), flags and more. Only a
    subset both read alike is accepted: ASCII literals, escaped punctuation,
    classes, groups, alternation, quantifiers, ``^``, a final ``$``, and a leading
    ``(?i)`` (spelled out as classes of the characters Python equates).
    """
    if not pattern.isascii():
        raise Untranslatable("non-ASCII pattern")
    caseless = pattern.startswith("(?i)")
    if caseless:
        pattern = pattern[4:]
    out: list[str] = []
    i = 0
    while i < len(pattern):
        piece, i = _ecma_piece(pattern, i, caseless)
        out.append(piece)
    return "".join(out)


def _ecma_piece(pattern: str, i: int, caseless: bool) -> tuple[str, int]:
    """The ECMA-262 spelling of the piece of ``pattern`` at ``i``, and where the next
    piece starts; :class:`Untranslatable` if the dialects may read it differently."""
    c = pattern[i]
    if c == "\\":
        if i + 1 >= len(pattern) or pattern[i + 1] not in _ESCAPABLE:
            raise Untranslatable("escape sequence")
        return pattern[i : i + 2], i + 2
    if c == "[":
        end = _class_end(pattern, i)
        body = pattern[i + 1 : end]
        if caseless and any(ch.isalpha() for ch in body):
            if "-" in body.strip("-") or body.startswith("^"):
                raise Untranslatable("a caseless class with a range or negation")
            body = "".join(_caseless(ch) if ch.isalpha() else ch for ch in body)
        return "[" + body + "]", end + 1
    if c == "(":
        if pattern.startswith("(?", i) and not pattern.startswith("(?:", i):
            raise Untranslatable("group extension")
        return c, i + 1
    if c == ".":
        return "[^\\n]", i + 1
    if c == "$":
        if i != len(pattern) - 1:
            raise Untranslatable("$ before the end")
        # Python's $ also matches before a final newline. Nothing follows it, so
        # consuming that newline reads the same, and needs no lookahead (which would
        # force jsonschema-rs onto its slower backtracking engine).
        return "\\n?$", i + 1
    if c == "{":
        end = pattern.find("}", i)
        body = pattern[i + 1 : end] if end > 0 else ""
        lo, _, hi = body.partition(",")
        if not (lo.isdigit() and (hi == "" or hi.isdigit())):
            raise Untranslatable("a brace that is not a quantifier")
        return pattern[i : end + 1], end + 1
    if caseless and c.isalpha():
        return "[" + _caseless(c) + "]", i + 1
    if c.isprintable():
        return c, i + 1
    raise Untranslatable("control character")


def _class_end(pattern: str, start: int) -> int:
    """Index of the ``]`` closing the class at ``start``; only plain classes pass."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        raise Untranslatable("a class starting with ]")
    while i < len(pattern):
        c = pattern[i]
        if c == "]":
            body = pattern[start + 1 : i]
            if any(op in body for op in _CLASS_UNSAFE):
                raise Untranslatable("class set operation")
            return i
        if c == "[":
            raise Untranslatable("nested class")
        if c == "\\":
            if i + 1 >= len(pattern) or pattern[i + 1] not in _ESCAPABLE:
                raise Untranslatable("escape sequence in a class")
            i += 2
            continue
        if not c.isprintable():
            raise Untranslatable("control character")
        i += 1
    raise Untranslatable("unterminated class")


class Locator:
    """Where the translated rules fire on a document: native passes, no Python walk.

    Asked only when the gate said "maybe". Each place a rule fires at carries the
    rule's index (:data:`RULE_TAG`); ``iter_errors`` of jsonschema-rs over the rules
    together reports every such place, and the tag of the schema node behind each
    report names its rule. For the reports, "must not match X" is written as
    ``if X then false``: the same answer, and a report that does not spell out X.

    ``iter_errors`` costs about twice ``is_valid``, so the rules are split in two: those
    on the request without the elements of ``messages``, and those on one message. The
    first is asked of the request; the second is asked yes/no of each message, and only
    a message where some rule fires is reported on.
    """

    def __init__(self, merged: Any, split: str = "messages") -> None:
        """``merged``: the rules' tagged no-fire schemas, merged. Compiled on first
        use: start-up counts for the CLI."""
        self._schema = _reporting_form(merged)
        parts = _split_items(merged, split)
        self._split = split if parts is not None else None
        self._parts = None if parts is None else tuple(_reporting_form(p) for p in parts)
        self._validators: Any = None
        self._tags: dict[tuple[int, tuple[Any, ...]], int | None] = {}  # see _report

    def _compiled(self) -> Any:
        if self._validators is None:
            from ._schema import compile_validator

            whole = compile_validator(self._schema, "rule locator")
            parts = tuple(compile_validator(p, "rule locator") for p in self._parts or ())
            self._validators = (whole, *parts)
        return self._validators

    def locate(
        self,
        document: Any,
        item_ok: Callable[[Any], bool] | None = None,
        failed: list[int] | None = None,
    ) -> dict[int, list[tuple[Any, ...]]] | None:
        """``{rule index: [raw place, ...]}`` for the rules that fire, as jsonschema-rs
        reports them (a member named like a number comes back as an int, a member named
        "" is dropped: callers re-read each place against the document). None when the
        document cannot be read natively or a report is not understood.

        ``item_ok``: a quicker check that no rule fires in one element of the split
        member (the gate's); the indexes of the elements it fails are added to
        ``failed``, unless the locator is not split (then ``failed`` gets -1)."""
        validators = self._compiled()
        out: dict[int, list[tuple[Any, ...]]] = {}
        name = self._split
        items = document.get(name) if name is not None and type(document) is dict else None
        try:
            if self._parts is None or (name in document and type(items) is not list):
                if failed is not None:
                    failed.append(-1)
                whole = _report(validators[0], self._schema, document, (), out, self._tags)
                return out if whole else None
            assert self._parts is not None
            assert name is not None
            shallow, one = self._parts
            if not _report(validators[1], shallow, document, (), out, self._tags):
                return None
            is_valid = validators[2].is_valid if item_ok is None else item_ok
            for i in _failing(is_valid, items or ()):
                item = items[i]  # type: ignore[index]
                if failed is not None:
                    failed.append(i)
                if not _report(validators[2], one, item, (name, i), out, self._tags):
                    return None
        except (ValueError, TypeError, OverflowError, RecursionError):
            return None
        return out


def _failing(is_valid: Callable[[Any], bool], items: Sequence[Any]) -> list[int]:
    """The indexes of the items ``is_valid`` rejects, asked in one C-level loop (a long
    conversation is thousands of messages, nearly all of them clean)."""
    answers = list(map(is_valid, items))
    out: list[int] = []
    if False not in answers:
        return out
    at = 0
    try:
        while True:
            at = answers.index(False, at)
            out.append(at)
            at += 1
    except ValueError:
        return out


def _report(
    validator: Any,
    schema: Any,
    document: Any,
    prefix: tuple[Any, ...],
    out: dict[int, list[tuple[Any, ...]]],
    tags: dict[tuple[int, tuple[Any, ...]], int | None],
) -> bool:
    """Add the places where rules fire to ``out``; False for a report not understood.
    ``tags``: the rule tag behind each schema path already seen (the schema is fixed)."""
    for error in validator.iter_errors(document):
        kind = type(error.kind).__name__
        path = (*prefix, *error.instance_path)
        if kind == "Required":
            path = (*path, error.kind.property)
        elif kind not in ("Not", "FalseSchema"):
            return False
        key = (id(schema), tuple(error.schema_path))
        tag = tags.get(key, -1)
        if tag == -1:
            tag = _tag_at(schema, key[1])
            remember(tags, key, tag)
        if tag is None:
            return False
        out.setdefault(tag, []).append(path)
    return True


def _split_items(schema: Any, name: str) -> tuple[Any, Any] | None:
    """``schema`` as (the same without the elements of member ``name``, the schema each
    element must meet); None when the split is not known to be exact."""
    if not isinstance(schema, dict):
        return schema, True
    if "patternProperties" in schema:
        return None
    out = dict(schema)
    items: list[Any] = []
    if "allOf" in out:
        parts = [_split_items(p, name) for p in out["allOf"]]
        if any(p is None for p in parts):
            return None
        out["allOf"] = [p[0] for p in parts if p is not None]
        items += [p[1] for p in parts if p is not None]
    props = out.get("properties")
    member: Any = True
    if isinstance(props, dict) and name in props:
        member = props[name]
    elif "additionalProperties" in out:
        member = out["additionalProperties"]
    stripped = _strip_items(member)
    if stripped is None:
        return None
    if stripped[1] is not True:
        out["properties"] = {**(props or {}), name: stripped[0]}
        items.append(stripped[1])
    kept = [i for i in items if i is not True]
    return out, True if not kept else kept[0] if len(kept) == 1 else {"allOf": kept}


def _strip_items(schema: Any) -> tuple[Any, Any] | None:
    """An array's schema as (the same without ``items``, ``items``); None if an element
    is also checked some other way (by index)."""
    if not isinstance(schema, dict):
        return schema, True
    if "prefixItems" in schema:
        return None
    out = dict(schema)
    items: list[Any] = [out.pop("items", True)]
    if "allOf" in out:
        parts = [_strip_items(p) for p in out["allOf"]]
        if any(p is None for p in parts):
            return None
        out["allOf"] = [p[0] for p in parts if p is not None]
        items += [p[1] for p in parts if p is not None]
    kept = [i for i in items if i is not True]
    return out, True if not kept else kept[0] if len(kept) == 1 else {"allOf": kept}


def _reporting_form(schema: Any) -> Any:
    """``schema`` with each tagged ``{"not": X}`` (X not ``{}``) as ``if X then false``."""
    if isinstance(schema, list):
        return [_reporting_form(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if RULE_TAG in schema and set(schema) == {"not", RULE_TAG} and schema["not"] != {}:
        return {"if": schema["not"], "then": False, RULE_TAG: schema[RULE_TAG]}
    kept = ("if", "const", "enum")  # a condition, and values: left as they are
    return {k: v if k in kept else _reporting_form(v) for k, v in schema.items()}


def _tag_at(schema: Any, schema_path: Sequence[Any]) -> int | None:
    """The rule tag of the node a report's keyword sits in."""
    node = schema
    for token in list(schema_path)[:-1]:
        if isinstance(node, dict):
            node = node.get(str(token))
        elif isinstance(node, list) and isinstance(token, int) and 0 <= token < len(node):
            node = node[token]
        else:
            return None
    tag = node.get(RULE_TAG) if isinstance(node, dict) else None
    return tag if isinstance(tag, int) and not isinstance(tag, bool) else None
