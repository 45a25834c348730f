"""A small, fast JSON Schema validator for the subset fwcompat's schemas use.

Why not python-jsonschema: it costs milliseconds per request on a large
``anyOf`` schema, more than serializing the request. This module compiles a
schema once into closures with two paths:

- ``is_valid``: a fast boolean check with no path bookkeeping (the common case);
- ``iter_errors``: run only on invalid documents, one readable error per
  problem, each with its path. Unions whose branches all pin ``type`` to a
  distinct ``const`` (how Anthropic content blocks and tools are told apart) are
  dispatched on that value, so an unknown block gets one clear error instead of
  a dump of every branch.

Supported keywords: type, enum, const, properties, required,
additionalProperties, minProperties, maxProperties, items, minItems, maxItems,
minLength, maxLength, pattern, minimum, maximum, exclusiveMinimum,
exclusiveMaximum, anyOf, oneOf, allOf, not, $ref (local ``#/$defs/...``).
Annotations (title, description, default, examples, format, $comment, ...) are
ignored. Any other keyword is a compile error, so nothing is silently skipped.
Semantics follow JSON Schema 2020-12 for that subset (checked against
python-jsonschema by a differential Hypothesis test).
"""

from __future__ import annotations

import json
import json.encoder
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ._paths import Segment

__all__ = ["CompiledSchema", "SchemaCompileError", "SchemaViolation", "describe", "short"]

FastCheck = Callable[[Any], bool]
SlowCheck = Callable[[Any, tuple[Segment, ...]], Iterator["SchemaViolation"]]

_ANNOTATIONS = frozenset(
    {
        "$schema", "$id", "$comment", "$defs", "definitions", "title", "description",
        "default", "examples", "format", "deprecated", "readOnly", "writeOnly",
        "$anchor", "contentMediaType", "contentEncoding",
    }
)  # fmt: skip
_OBJECT_KEYS = frozenset(
    {"properties", "required", "additionalProperties", "minProperties", "maxProperties"}
)
_ARRAY_KEYS = frozenset({"items", "minItems", "maxItems"})
_STRING_KEYS = frozenset({"minLength", "maxLength", "pattern"})
_NUMBER_KEYS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_KNOWN = (
    _ANNOTATIONS
    | _OBJECT_KEYS
    | _ARRAY_KEYS
    | _STRING_KEYS
    | _NUMBER_KEYS
    | {"type", "enum", "const", "anyOf", "oneOf", "allOf", "not", "$ref"}
)


class SchemaCompileError(ValueError):
    """The schema uses a keyword or shape this validator does not support."""


@dataclass(frozen=True, slots=True)
class SchemaViolation:
    """One problem: where (path segments), what (message), which keyword."""

    path: tuple[Segment, ...]
    message: str
    keyword: str


# ---------------------------------------------------------------- JSON typing


def _is_integer(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, int):
        return True
    return isinstance(x, float) and math.isfinite(x) and x.is_integer()


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


_TYPE_CHECKS: dict[str, FastCheck] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, (list, tuple)),
    "string": lambda x: isinstance(x, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
}


_encode_string: Callable[[str], str] = json.encoder.encode_basestring

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list, tuple),
    "string": (str,),
    "boolean": (bool,),
    "null": (type(None),),
}


def _type_check(types: list[str]) -> FastCheck:
    """One fast predicate for a list of JSON type names."""
    if "number" in types or "integer" in types:
        checks = [_TYPE_CHECKS[t] for t in types]
        if len(checks) == 1:
            return checks[0]
        return lambda x: any(c(x) for c in checks)
    py: tuple[type, ...] = tuple(t for name in types for t in _PY_TYPES[name])
    return lambda x: isinstance(x, py)


def describe(x: Any) -> str:
    """The JSON type of a value, with an article, for messages."""
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "a boolean"
    if isinstance(x, int):
        return "an integer"
    if isinstance(x, float):
        return "a number"
    if isinstance(x, str):
        return "a string"
    if isinstance(x, dict):
        return "an object"
    if isinstance(x, (list, tuple)):
        return "an array"
    return f"a {type(x).__name__} (not a JSON value)"


def short(x: Any, limit: int = 60) -> str:
    """A compact JSON rendering of a value for messages, truncated."""
    if isinstance(x, str):
        text = _encode_string(x)
        return text if len(text) <= limit else text[: limit - 1] + "…"
    if x is None or isinstance(x, (bool, int)):
        return "null" if x is None else ("true" if x is True else "false" if x is False else str(x))
    try:
        text = json.dumps(x, ensure_ascii=False, default=repr, check_circular=False)
    except (ValueError, TypeError, RecursionError):
        text = repr(x)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ------------------------------------------------------------------ compiler


class _Node:
    """A compiled schema node: ``fast`` (bool) and ``slow`` (errors)."""

    __slots__ = ("fast", "resolved", "schema", "slow", "title", "types")

    def __init__(self) -> None:
        self.resolved: Any = True
        self.fast: FastCheck = _always
        self.slow: SlowCheck = _no_errors
        self.schema: Any = True
        self.title: str | None = None
        self.types: frozenset[str] | None = None


def _always(_x: Any) -> bool:
    return True


def _never(_x: Any) -> bool:
    return False


def _no_errors(_x: Any, _p: tuple[Segment, ...]) -> Iterator[SchemaViolation]:
    return iter(())


class CompiledSchema:
    """A JSON Schema compiled for repeated validation.

    Raises :class:`SchemaCompileError` at construction for unsupported shapes.
    """

    def __init__(self, schema: Any, *, name: str = "schema", eager: bool = True) -> None:
        self.name = name
        self.schema = schema
        self._defs: dict[str, _Node] = {}
        self._compiling: set[str] = set()
        # The error reporter is compiled now (which checks every keyword) unless the caller
        # knows this schema compiled before: then on the first invalid document.
        self._root_node = self._compile(schema, "#") if eager else None
        from ._schema_codegen import compile_fast

        self._fast = compile_fast(schema)

    @property
    def _root(self) -> _Node:
        if self._root_node is None:
            self._root_node = self._compile(self.schema, "#")
        return self._root_node

    def is_valid(self, instance: Any) -> bool:
        return self._fast(instance)

    def iter_errors(self, instance: Any) -> Iterator[SchemaViolation]:
        """Every problem, one error each, in document order. Empty when valid."""
        if self._fast(instance):
            return iter(())
        return self._root.slow(instance, ())

    # -- compilation -------------------------------------------------------

    def _resolve(self, ref: str, where: str) -> _Node:
        if not ref.startswith("#/"):
            raise SchemaCompileError(f"{where}: only local $ref ('#/$defs/...') is supported")
        if ref in self._defs:
            return self._defs[ref]
        target: Any = self.schema
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, Mapping) or token not in target:
                raise SchemaCompileError(f"{where}: $ref {ref!r} does not resolve")
            target = target[token]
        node = _Node()
        self._defs[ref] = node  # placeholder first: recursion-safe
        self._compiling.add(ref)
        compiled = self._compile(target, ref)
        self._compiling.discard(ref)
        node.fast, node.slow = compiled.fast, compiled.slow
        node.schema, node.title, node.types = compiled.schema, compiled.title, compiled.types
        node.resolved = compiled.resolved
        return node

    def _compile(self, schema: Any, where: str) -> _Node:
        node = _Node()
        node.schema = node.resolved = schema
        if schema is True or schema == {}:
            return node
        if schema is False:
            node.fast = _never
            node.slow = lambda x, p: iter([SchemaViolation(p, "no value is allowed here", "false")])
            return node
        if not isinstance(schema, Mapping):
            raise SchemaCompileError(f"{where}: a schema must be an object or a boolean")
        unknown = set(schema) - _KNOWN
        if unknown:
            raise SchemaCompileError(f"{where}: unsupported keyword(s) {sorted(unknown)}")
        title = schema.get("title")
        node.title = title if isinstance(title, str) else None

        fast: list[FastCheck] = []
        slow: list[SlowCheck] = []

        types = schema.get("type")
        if isinstance(types, str):
            types = [types]
        if types is not None:
            if not isinstance(types, list) or not all(t in _TYPE_CHECKS for t in types):
                raise SchemaCompileError(f"{where}: bad 'type' {schema.get('type')!r}")
            node.types = frozenset(types)
        only = types[0] if types is not None and len(types) == 1 else None

        # Type-specific keyword groups, fused with the type check when the type is single.
        fused = False
        if _OBJECT_KEYS & schema.keys():
            f, s = self._object(schema, where, strict=only == "object")
            fast.append(f)
            slow.append(s)
            fused = only == "object"
        if _ARRAY_KEYS & schema.keys():
            f, s = self._array(schema, where, strict=only == "array")
            fast.append(f)
            slow.append(s)
            fused = fused or only == "array"
        if _STRING_KEYS & schema.keys():
            f, s = self._string(schema, where, strict=only == "string")
            fast.append(f)
            slow.append(s)
            fused = fused or only == "string"
        if _NUMBER_KEYS & schema.keys():
            f, s = self._number(schema, where)
            fast.append(f)
            slow.append(s)

        if types is not None and not fused:
            f, s = self._type(types, node.title)
            fast.insert(0, f)
            slow.insert(0, s)

        if "enum" in schema:
            f, s = self._enum(schema["enum"], where)
            fast.append(f)
            slow.append(s)
        if "const" in schema:
            f, s = self._const(schema["const"])
            fast.append(f)
            slow.append(s)
        if "$ref" in schema:
            ref = schema["$ref"]
            if not isinstance(ref, str):
                raise SchemaCompileError(f"{where}: $ref must be a string")
            target = self._resolve(ref, where)
            if len(schema) == 1:
                node.resolved, node.types = target.resolved, target.types
                node.title = node.title or target.title
            if ref in self._compiling:  # recursive: look the function up at call time
                fast.append(lambda x: target.fast(x))
                slow.append(lambda x, p: target.slow(x, p))
            else:
                fast.append(target.fast)
                slow.append(target.slow)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                f, s = self._union(schema[key], key, where, node.title)
                fast.append(f)
                slow.append(s)
        if "allOf" in schema:
            parts = self._branches(schema["allOf"], "allOf", where)
            fast.append(lambda x: all(b.fast(x) for b in parts))
            slow.append(lambda x, p: (e for b in parts if not b.fast(x) for e in b.slow(x, p)))
        if "not" in schema:
            neg = self._compile(schema["not"], f"{where}/not")
            fast.append(lambda x: not neg.fast(x))
            slow.append(
                lambda x, p: iter([SchemaViolation(p, f"{short(x)} is not allowed here", "not")])
            )

        node.fast = _all(fast)
        node.slow = _chain(fast, slow)
        return node

    def _branches(self, value: Any, key: str, where: str) -> list[_Node]:
        if not isinstance(value, list) or not value:
            raise SchemaCompileError(f"{where}: {key} must be a non-empty array")
        return [self._compile(b, f"{where}/{key}/{i}") for i, b in enumerate(value)]

    def _type(self, types: list[str], title: str | None) -> tuple[FastCheck, SlowCheck]:
        fast = _type_check(types)

        wanted = " or ".join(types)

        def slow(x: Any, p: tuple[Segment, ...]) -> Iterator[SchemaViolation]:
            if not fast(x):
                what = f"{title} " if title else ""
                yield SchemaViolation(p, f"{what}must be {wanted}, got {describe(x)}", "type")

        return fast, slow

    def _object(
        self, schema: Mapping[str, Any], where: str, *, strict: bool
    ) -> tuple[FastCheck, SlowCheck]:
        props_schema = schema.get("properties", {})
        if not isinstance(props_schema, Mapping):
            raise SchemaCompileError(f"{where}: properties must be an object")
        props = {k: self._compile(v, f"{where}/properties/{k}") for k, v in props_schema.items()}
        # None marks a property whose schema accepts anything: no call needed.
        props_fast: dict[str, FastCheck | None] = {
            k: (None if n.schema is True or n.schema == {} else n.fast) for k, n in props.items()
        }
        required = tuple(schema.get("required", ()))
        addl_schema = schema.get("additionalProperties", True)
        addl = (
            None
            if addl_schema is True
            else self._compile(addl_schema, f"{where}/additionalProperties")
        )
        closed = addl_schema is False
        addl_fast = None if addl is None or closed else addl.fast
        min_p = schema.get("minProperties")
        max_p = schema.get("maxProperties")
        absent = object()
        allowed = ", ".join(props) if len(props) <= 16 else ", ".join(list(props)[:16]) + ", …"

        allowed_keys = frozenset(props)
        checks = tuple((k, f) for k, f in props_fast.items() if f is not None)

        def fast(x: Any) -> bool:
            if not isinstance(x, dict):
                return not strict
            for k in required:
                if k not in x:
                    return False
            if closed and not x.keys() <= allowed_keys:
                return False
            for k, check in checks:
                v = x.get(k, absent)
                if v is not absent and not check(v):
                    return False
            if addl_fast is not None:
                for k, v in x.items():
                    if k not in allowed_keys and not addl_fast(v):
                        return False
            if min_p is not None and len(x) < min_p:
                return False
            return not (max_p is not None and len(x) > max_p)

        def slow(x: Any, p: tuple[Segment, ...]) -> Iterator[SchemaViolation]:
            if not isinstance(x, dict):
                if strict:
                    yield SchemaViolation(p, f"must be an object, got {describe(x)}", "type")
                return
            for k in required:
                if k not in x:
                    # Pointing at the missing member itself lets rules about it take over.
                    yield SchemaViolation((*p, k), f"missing required field {k!r}", "required")
            for k, v in x.items():
                sub = props.get(k) if isinstance(k, str) else None
                if sub is None:
                    if closed:
                        yield SchemaViolation(
                            (*p, k),
                            f"field {k!r} is not allowed here (allowed: {allowed})",
                            "additionalProperties",
                        )
                    elif addl is not None and not addl.fast(v):
                        yield from addl.slow(v, (*p, k))
                elif not sub.fast(v):
                    yield from sub.slow(v, (*p, k))
            if min_p is not None and len(x) < min_p:
                yield SchemaViolation(
                    p, f"needs at least {_plural(min_p, 'field')}", "minProperties"
                )
            if max_p is not None and len(x) > max_p:
                yield SchemaViolation(
                    p, f"allows at most {_plural(max_p, 'field')}", "maxProperties"
                )

        return fast, slow

    def _array(
        self, schema: Mapping[str, Any], where: str, *, strict: bool
    ) -> tuple[FastCheck, SlowCheck]:
        items = self._compile(schema["items"], f"{where}/items") if "items" in schema else None
        item_fast = None if items is None or items.schema is True else items.fast
        lo = schema.get("minItems")
        hi = schema.get("maxItems")

        def fast(x: Any) -> bool:
            if not isinstance(x, (list, tuple)):
                return not strict
            if lo is not None and len(x) < lo:
                return False
            if hi is not None and len(x) > hi:
                return False
            return item_fast is None or all(map(item_fast, x))

        def slow(x: Any, p: tuple[Segment, ...]) -> Iterator[SchemaViolation]:
            if not isinstance(x, (list, tuple)):
                if strict:
                    yield SchemaViolation(p, f"must be an array, got {describe(x)}", "type")
                return
            if lo is not None and len(x) < lo:
                yield SchemaViolation(p, f"needs at least {_plural(lo, 'item')}", "minItems")
            if hi is not None and len(x) > hi:
                yield SchemaViolation(p, f"allows at most {_plural(hi, 'item')}", "maxItems")
            if items is not None:
                for i, v in enumerate(x):
                    if not items.fast(v):
                        yield from items.slow(v, (*p, i))

        return fast, slow

    def _string(
        self, schema: Mapping[str, Any], where: str, *, strict: bool
    ) -> tuple[FastCheck, SlowCheck]:
        lo = schema.get("minLength")
        hi = schema.get("maxLength")
        pattern = schema.get("pattern")
        try:
            regex = re.compile(pattern) if pattern is not None else None
        except (re.error, TypeError) as exc:
            raise SchemaCompileError(f"{where}: bad pattern {pattern!r}: {exc}") from None

        def fast(x: Any) -> bool:
            if not isinstance(x, str):
                return not strict
            if lo is not None and len(x) < lo:
                return False
            if hi is not None and len(x) > hi:
                return False
            return regex is None or regex.search(x) is not None

        def slow(x: Any, p: tuple[Segment, ...]) -> Iterator[SchemaViolation]:
            if not isinstance(x, str):
                if strict:
                    yield SchemaViolation(p, f"must be a string, got {describe(x)}", "type")
                return
            if lo is not None and len(x) < lo:
                yield SchemaViolation(
                    p, f"must be at least {_plural(lo, 'character')} long", "minLength"
                )
            if hi is not None and len(x) > hi:
                yield SchemaViolation(
                    p, f"must be at most {_plural(hi, 'character')} long", "maxLength"
                )
            if regex is not None and regex.search(x) is None:
                yield SchemaViolation(
                    p, f"{short(x)} does not match the pattern {pattern}", "pattern"
                )

        return fast, slow

    def _number(self, schema: Mapping[str, Any], where: str) -> tuple[FastCheck, SlowCheck]:
        bounds: list[tuple[str, Any, Callable[[Any, Any], bool], str]] = []
        for key, op, text in (
            ("minimum", lambda x, b: x >= b, "at least"),
            ("maximum", lambda x, b: x <= b, "at most"),
            ("exclusiveMinimum", lambda x, b: x > b, "greater than"),
            ("exclusiveMaximum", lambda x, b: x < b, "less than"),
        ):
            if key in schema:
                if not _is_number(schema[key]):
                    raise SchemaCompileError(f"{where}: {key} must be a number")
                bounds.append((key, schema[key], op, text))

        lo = schema.get("minimum")
        hi = schema.get("maximum")
        if set(schema) & _NUMBER_KEYS <= {"minimum", "maximum"}:

            def fast(x: Any) -> bool:
                if not isinstance(x, (int, float)) or isinstance(x, bool):
                    return True
                return (lo is None or x >= lo) and (hi is None or x <= hi)
        else:

            def fast(x: Any) -> bool:
                if not _is_number(x):
                    return True
                return all(op(x, b) for _, b, op, _ in bounds)

        def slow(x: Any, p: tuple[Segment, ...]) -> Iterator[SchemaViolation]:
            if not _is_number(x):
                return
            for key, b, op, text in bounds:
                if not op(x, b):
                    yield SchemaViolation(p, f"must be {text} {b}, got {short(x)}", key)

        return fast, slow

    def _enum(self, values: Any, where: str) -> tuple[FastCheck, SlowCheck]:
        if not isinstance(values, list) or not values:
            raise SchemaCompileError(f"{where}: enum must be a non-empty array")
        strings = frozenset(v for v in values if isinstance(v, str))
        others = [v for v in values if not isinstance(v, str)]

        def fast(x: Any) -> bool:
            if isinstance(x, str):
                return x in strings
            return any(_json_equal(x, v) for v in others)

        listed = ", ".join(short(v) for v in values)

        def slow(x: Any, p: tuple[Segment, ...]) -> Iterator[SchemaViolation]:
            if not fast(x):
                yield SchemaViolation(p, f"{short(x)} is not one of {listed}", "enum")

        return fast, slow

    def _const(self, value: Any) -> tuple[FastCheck, SlowCheck]:
        if isinstance(value, str):

            def fast(x: Any) -> bool:
                return x == value and isinstance(x, str)
        else:

            def fast(x: Any) -> bool:
                return _json_equal(x, value)

        def slow(x: Any, p: tuple[Segment, ...]) -> Iterator[SchemaViolation]:
            if not fast(x):
                yield SchemaViolation(p, f"must be {short(value)}, got {short(x)}", "const")

        return fast, slow

    def _union(
        self, value: Any, key: str, where: str, title: str | None
    ) -> tuple[FastCheck, SlowCheck]:
        branches = self._branches(value, key, where)
        table = _discriminator(branches)
        if table is not None:
            return _dispatch(table, title)
        exactly_one = key == "oneOf"

        branch_fasts = [b.fast for b in branches]
        if not exactly_one and len(branches) == 2:
            first, second = branch_fasts

            def fast(x: Any) -> bool:
                return first(x) or second(x)
        elif not exactly_one:

            def fast(x: Any) -> bool:
                return any(f(x) for f in branch_fasts)
        else:

            def fast(x: Any) -> bool:
                return sum(1 for f in branch_fasts if f(x)) == 1

        def slow(x: Any, p: tuple[Segment, ...]) -> Iterator[SchemaViolation]:
            passing = sum(1 for b in branches if b.fast(x))
            if passing and not exactly_one:
                return
            if passing > 1:
                yield SchemaViolation(p, "matches more than one of the allowed shapes", key)
                return
            if passing == 1:
                return
            # Prefer the branch(es) whose declared type fits the value.
            fitting = [
                b for b in branches if b.types is None or any(_TYPE_CHECKS[t](x) for t in b.types)
            ]
            if not fitting:
                names: list[str] = []
                for b in branches:
                    for t in sorted(b.types or ()):
                        if t not in names:
                            names.append(t)
                what = f"{title} " if title else ""
                yield SchemaViolation(
                    p, f"{what}must be {' or '.join(names)}, got {describe(x)}", "type"
                )
                return
            best = min((list(b.slow(x, p)) for b in fitting), key=len)
            yield from best

        return fast, slow


def _discriminator(branches: list[_Node]) -> dict[str, _Node] | None:
    """``{const: branch}`` when every branch is an object pinning ``type`` to a distinct const."""
    table: dict[str, _Node] = {}
    for b in branches:
        s = b.resolved
        if not _pins_type(s):
            return None
        const = s["properties"]["type"]["const"]
        if const in table:
            return None
        table[const] = b
    return table


def _pins_type(s: Any) -> bool:
    return (
        isinstance(s, Mapping)
        and s.get("type") == "object"
        and "type" in s.get("required", ())
        and isinstance(s.get("properties", {}).get("type"), Mapping)
        and isinstance(s["properties"]["type"].get("const"), str)
    )


def _dispatch(table: dict[str, _Node], title: str | None) -> tuple[FastCheck, SlowCheck]:
    fasts = {k: v.fast for k, v in table.items()}
    kinds = ", ".join(table)
    what = title or "value"

    def fast(x: Any) -> bool:
        if not isinstance(x, dict):
            return False
        t = x.get("type")
        if not isinstance(t, str):
            return False
        check = fasts.get(t)
        return check is not None and check(x)

    def slow(x: Any, p: tuple[Segment, ...]) -> Iterator[SchemaViolation]:
        if not isinstance(x, dict):
            yield SchemaViolation(p, f"{what} must be an object, got {describe(x)}", "type")
            return
        if "type" not in x:
            yield SchemaViolation(
                (*p, "type"), f"{what} has no 'type' (one of {kinds})", "required"
            )
            return
        t = x["type"]
        branch = table.get(t) if isinstance(t, str) else None
        if branch is None:
            yield SchemaViolation(
                (*p, "type"),
                f"{short(t)} is not a known {what} type (expected one of {kinds})",
                "oneOf",
            )
            return
        yield from branch.slow(x, p)

    return fast, slow


def _all(checks: list[FastCheck]) -> FastCheck:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        a, b = checks
        return lambda x: a(x) and b(x)
    if len(checks) == 3:
        a, b, c = checks
        return lambda x: a(x) and b(x) and c(x)
    return lambda x: all(c(x) for c in checks)


def _chain(fast: list[FastCheck], slow: list[SlowCheck]) -> SlowCheck:
    pairs = list(zip(fast, slow, strict=True))

    def run(x: Any, p: tuple[Segment, ...]) -> Iterator[SchemaViolation]:
        for f, s in pairs:
            if not f(x):
                wrong_type = False
                for err in s(x, p):
                    wrong_type = wrong_type or (err.keyword == "type" and err.path == p)
                    yield err
                if wrong_type:  # further keywords on a wrongly typed value only add noise
                    return

    return run
