"""JSON Schema validation: jsonschema-rs decides, a small reporter explains.

jsonschema-rs (Rust) answers the yes/no question for every request; on the
rare invalid one, its errors are turned into fwcompat's: one per problem, each
with its path, in words a user reads. The reporter adds what jsonschema-rs
does not say on its own:

- a union whose branches all pin ``type`` to a distinct constant (how Anthropic
  content blocks and tools are told apart) is explained by the branch the
  value names (``"hologram" is not a known content block type``), not by
  "not valid under any of the given schemas";
- an unexpected member, or a missing required one, is reported at its own
  path, so a rule about that member can take over;
- a value that is not JSON at all (a set, bytes, NaN, a non-string key, a
  nesting too deep to walk) is reported where it is, instead of an exception.

:meth:`CompiledSchema.gate` builds the fast check: the schema made strict
about "anything" places (so a NaN inside free-form tool input is caught too)
and bounded in depth (a 100,000-deep value cannot exhaust the native stack).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from ._fuse import fuse, lean
from ._json import TYPE_CHECKS, describe, expanded_size, non_json, short
from ._paths import MISSING, Segment
from ._pieces import LARGE, Moved, Pieces, larger_than
from ._unions import MARK, exclusive, keyed_unions, union_message

__all__ = ["CompiledSchema", "SchemaCompileError", "SchemaViolation", "compile_validator"]

_ANNOTATIONS = frozenset(
    {
        "$schema", "$id", "$comment", "title", "description", "default", "examples",
        "format", "deprecated", "readOnly", "writeOnly", "$anchor",
    }
)  # fmt: skip
_SCALARS = ["string", "boolean", "null", "number"]
_ANY_TYPE = [*_SCALARS, "array", "object"]
_JSON = "__fwcompat_json"
GATE_DEPTH = 256
"""How deep the gate follows a free-form value (tool input, input_schema) natively:
one schema definition per level, since a recursive one overflowed jsonschema-rs's
stack at 100,000 levels. Deeper values only send a request down the slow path; the
error is for nesting beyond :data:`~fwcompat.engine._json.MAX_DEPTH` from the root."""
MAX_EXPANDED = 5_000_000
"""Values a document may hold, counted as serialized, before errors are not explained
one by one (a 32 MB body holds a few million at most)."""


MAX_ERRORS = 10_000
"""Problems explained per document; past that, one more says how the list was cut, so
memory stays in proportion to this bound rather than to a body of 700,000 bad blocks."""


class SchemaCompileError(ValueError):
    """The schema is not a valid JSON Schema (2020-12)."""


@dataclass(frozen=True, slots=True)
class SchemaViolation:
    """One problem: where (path segments), what (message), which keyword."""

    path: tuple[Segment, ...]
    message: str
    keyword: str


def _no_remote_refs(uri: str) -> Any:
    """fwcompat never fetches a schema: a ``$ref`` must point inside the schema."""
    raise ValueError(f"remote $ref {uri!r} is not allowed (only '#/...' references)")


def compile_validator(schema: Any, name: str) -> Any:
    """A jsonschema-rs validator, or :class:`SchemaCompileError` naming the schema."""
    try:
        return jsonschema_rs.validator_for(schema, retriever=_no_remote_refs)
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SchemaCompileError(f"{name}: not a valid JSON Schema: {first}") from None


def _json_defs() -> dict[str, Any]:
    """Any JSON value, at most GATE_DEPTH deep: one definition per level, no recursion."""
    defs: dict[str, Any] = {}
    for depth in range(GATE_DEPTH):
        deeper = {"$ref": f"#/$defs/{_JSON}{depth + 1}"}
        # "items" looks only at arrays, "additionalProperties" only at objects: no union.
        # "type" is what rejects NaN and the infinities (jsonschema-rs's "number" does).
        defs[f"{_JSON}{depth}"] = {
            "type": _ANY_TYPE,
            "items": deeper,
            "additionalProperties": deeper,
        }
    defs[f"{_JSON}{GATE_DEPTH}"] = {"type": _SCALARS}
    return defs


_ANY_JSON = {"$ref": f"#/$defs/{_JSON}0"}
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA_ONE = (
    "additionalProperties", "items", "not", "then", "else", "contains",
    "unevaluatedProperties", "unevaluatedItems",
)  # fmt: skip
# "if" is left as written: it only chooses between "then" and "else", which check the
# value; made strict, it would choose differently (and walk the value once more).


def _json_only(schema: Any, root: Any = None) -> Any:
    """The same schema for JSON documents, which rejects what is not JSON anywhere.

    Every place that accepted anything (``true``, ``{}``, an object's unlisted
    members, an array's items) now accepts any *JSON* value, to a bounded depth.
    ``root`` is the whole schema, for resolving local references.
    """
    root = schema if root is None else root
    if schema is True:
        return _ANY_JSON
    if not isinstance(schema, Mapping):
        return schema
    if set(schema) <= _ANNOTATIONS:
        return _ANY_JSON
    out: dict[str, Any] = dict(schema)
    for key in _SUBSCHEMA_MAPS:
        if isinstance(out.get(key), Mapping):
            out[key] = {k: _json_only(v, root) for k, v in out[key].items()}
    for key in _SUBSCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_json_only(v, root) for v in out[key]]
    if isinstance(out.get("oneOf"), list) and "anyOf" not in out and exclusive(out["oneOf"], root):
        # Branches that pin "type" to distinct constants cannot both hold: "any" is "one",
        # and jsonschema-rs may stop at the first branch that holds.
        out["anyOf"] = out.pop("oneOf")
    for key in _SUBSCHEMA_ONE:
        if key in out:
            out[key] = _json_only(out[key], root)
    types = out.get("type")
    names = {types} if isinstance(types, str) else set(types or ())
    if ("object" in names or "properties" in out) and "additionalProperties" not in out:
        out["additionalProperties"] = _ANY_JSON
    if "array" in names and "items" not in out and "prefixItems" not in out:
        out["items"] = _ANY_JSON
    return out


class CompiledSchema:
    """A JSON Schema compiled once by jsonschema-rs, with fwcompat's error reporter.

    Raises :class:`SchemaCompileError` at construction for an invalid schema.
    """

    def __init__(self, schema: Any, *, name: str = "schema") -> None:
        self.name = name
        self.schema = schema
        # Errors are explained on the same schema with type-keyed unions (bounded memory).
        self._reported = keyed_unions(schema)
        self._validator = compile_validator(self._reported, name)
        self._pieces = Pieces(self._reported, compile_validator)
        self._fast: Callable[[Any], bool] | None = None

    def native_gate(self, *constraints: Mapping[str, Any]) -> Callable[[Any], bool]:
        """:meth:`gate` without its guard: jsonschema-rs's own ``is_valid``, which raises
        ``ValueError``/``TypeError``/``OverflowError``/``RecursionError`` for what it cannot
        take (callers on a hot path catch these themselves)."""
        schema, defs = self._fused(constraints)
        root = {"$defs": defs, "allOf": [schema]}
        check: Callable[[Any], bool] = compile_validator(root, self.name).is_valid
        return check

    def split_gate(
        self, name: str, *constraints: Mapping[str, Any]
    ) -> tuple[Callable[[Any], bool], Callable[[Any], bool]] | None:
        """:meth:`native_gate` in two: for the document without the elements of its
        member ``name`` (an array), and for one such element. The document passes the
        whole gate exactly when it passes the first and each element passes the second.
        None when the schema is not shaped for this split."""
        schema, defs = self._fused(constraints)
        props = schema.get("properties") if isinstance(schema, Mapping) else None
        member = props.get(name) if isinstance(props, Mapping) else None
        if not isinstance(props, Mapping) or not isinstance(member, Mapping):
            return None
        if "items" not in member:
            return None
        if {"prefixItems", "unevaluatedItems", "$ref"} & set(member):
            return None
        shallow = {
            **schema,
            "properties": {**props, name: {k: v for k, v in member.items() if k != "items"}},
        }
        item = {"$defs": defs, "allOf": [member["items"]]}
        return (
            compile_validator({"$defs": defs, "allOf": [shallow]}, self.name).is_valid,
            compile_validator(item, self.name).is_valid,
        )

    def _fused(self, constraints: tuple[Mapping[str, Any], ...]) -> tuple[Any, dict[str, Any]]:
        """The gate's schema (JSON only, bounded depth, the constraints pushed down to
        where the schema checks the same values) and its definitions."""
        schema = _json_only(self.schema)
        defs = dict(schema.get("$defs") or {}) if isinstance(schema, Mapping) else {}
        if isinstance(schema, Mapping):
            schema = {k: v for k, v in schema.items() if k not in ("$defs", "$schema", "$id")}
        defs.update(_json_defs())

        def resolve(ref: str) -> Any:
            name = ref.removeprefix("#/$defs/")
            return defs.get(name) if "/" not in name and not name.startswith("#") else None

        for constraint in constraints:
            schema = fuse(schema, constraint, resolve)
        return lean(schema), {name: lean(sub) for name, sub in defs.items()}

    def gate(self, *constraints: Mapping[str, Any]) -> Callable[[Any], bool]:
        """A yes/no check: valid JSON, valid here, and every extra constraint holds.

        ``constraints`` are schemas evaluated at the root, in one pass of the
        native validator (the interpreter adds "no rule can fire" here). Never
        raises: anything jsonschema-rs cannot take is simply "not valid".
        """
        check = self.native_gate(*constraints)

        def is_valid(instance: Any) -> bool:
            try:
                return bool(check(instance))
            except (ValueError, TypeError, OverflowError, RecursionError):
                return False

        return is_valid

    def is_valid(self, instance: Any) -> bool:
        if self._fast is None:
            self._fast = self.gate()
        return self._fast(instance)

    def iter_errors(
        self, instance: Any, *, skip: frozenset[tuple[str, ...]] = frozenset()
    ) -> Iterator[SchemaViolation]:
        """Every problem, one error each. Empty when valid. Never raises.

        ``skip``: places (segments as strings) whose problems, and those under them,
        are not wanted: they are dropped before being explained.
        """
        if self.is_valid(instance):
            return iter(())
        return iter(self._report(instance, skip))

    # -- the reporter (invalid documents only) ------------------------------

    def _report(self, instance: Any, skip: frozenset[tuple[str, ...]]) -> list[SchemaViolation]:
        if expanded_size(instance, MAX_EXPANDED) > MAX_EXPANDED:
            message = (
                f"the request holds more than {MAX_EXPANDED:,} values once shared "
                "references are expanded (as a serializer would write it)"
            )
            return [SchemaViolation((), message, "json")]
        problems = list(non_json(instance))
        document = _without(instance, [p for p, _ in problems]) if problems else instance
        out = [SchemaViolation(p, m, "json") for p, m in problems]
        try:
            if larger_than(document, LARGE) and self._pieces.usable:
                errors: Iterator[Any] = self._pieces.errors(document)  # bounded memory
            else:
                errors = iter(self._validator.iter_errors(document))
            self._explained(errors, document, skip, problems, out)
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            return out or [SchemaViolation((), f"cannot be validated: {exc}", "json")]
        return out

    def _explained(
        self,
        errors: Iterator[Any],
        document: Any,
        skip: frozenset[tuple[str, ...]],
        problems: list[tuple[tuple[Segment, ...], str]],
        out: list[SchemaViolation],
    ) -> None:
        """Explain ``errors`` into ``out``, up to the cap."""
        bad = {p for p, _ in problems}
        for error in errors:
            if len(out) >= MAX_ERRORS:
                message = (
                    f"more than {MAX_ERRORS:,} problems: only the first {MAX_ERRORS:,} are listed"
                )
                out.append(SchemaViolation((), message, "json"))
                break
            if skip:
                raw = tuple(str(seg) for seg in error.instance_path)
                if any(raw[:n] in skip for n in range(len(raw) + 1)):
                    continue
            for v in self._explain(error, document):
                if not any(v.path[:n] in bad for n in range(len(v.path) + 1)):
                    out.append(v)

    def _node(self, schema_path: Sequence[Any]) -> Any:
        node: Any = self._reported
        for token in schema_path:
            if isinstance(node, Mapping):
                node = node.get(token)
            elif isinstance(node, list) and isinstance(token, int) and token < len(node):
                node = node[token]
            else:
                return None
        return node

    def _resolve(self, node: Any) -> Any:
        for _ in range(32):  # $ref chains are short; a loop is a schema bug, not a hang
            if not (isinstance(node, Mapping) and isinstance(node.get("$ref"), str)):
                return node
            ref = node["$ref"]
            if not ref.startswith("#/"):
                return node
            tokens = [t.replace("~1", "/").replace("~0", "~") for t in ref[2:].split("/")]
            node = self._node(tokens)
        return node

    def _explain(self, error: Any, document: Any) -> list[SchemaViolation]:
        kind = type(error.kind).__name__
        path = tuple(error.instance_path)
        schema_path = list(error.schema_path)
        parent = self._node(schema_path[:-1])
        parent = parent if isinstance(parent, Mapping) else {}
        title = parent.get("title") if isinstance(parent.get("title"), str) else None
        value = _value_at(document, path)
        data = error.kind.as_dict() if kind not in ("AnyOf", "OneOfNotValid") else {}

        def one(message: str, at: tuple[Segment, ...] = path) -> list[SchemaViolation]:
            return [SchemaViolation(at, message, _KEYWORDS.get(kind, kind))]

        if isinstance(parent.get(MARK), Mapping):
            worded = union_message(parent[MARK], kind, path, value)
            if worded is not None:
                return [SchemaViolation(*worded)]

        if kind == "Required":
            prop = data["property"]
            # Pointing at the missing member itself lets rules about it take over.
            return one(f"missing required field {prop!r}", (*path, prop))
        if kind == "AdditionalProperties":
            names = list(parent.get("properties") or {})
            allowed = ", ".join(names[:16]) + (", …" if len(names) > 16 else "")
            return [
                SchemaViolation(
                    (*path, k),
                    f"field {k!r} is not allowed here (allowed: {allowed})",
                    "additionalProperties",
                )
                for k in data["unexpected"]
            ]
        if kind == "Type":
            wanted = _type_names(data.get("types") or [str(parent.get("type"))])
            return one(f"{title + ' ' if title else ''}must be {wanted}, got {describe(value)}")
        if kind in ("AnyOf", "OneOfNotValid"):
            return self._union(error, parent, title, path, value, document)
        if kind == "OneOfMultipleValid":
            return one("matches more than one of the allowed shapes")
        if kind == "Enum":
            listed = ", ".join(short(o) for o in data["options"])
            return one(f"{short(value)} is not one of {listed}")
        if kind == "Constant":
            return one(f"must be {short(data.get('expected_value'))}, got {short(value)}")
        if kind in _BOUNDS:
            text, unit = _BOUNDS[kind]
            limit = data.get("limit")
            if unit:
                noun = unit if limit == 1 else unit + "s"
                return one(f"{text} {limit} {noun}")
            return one(f"must be {text} {limit}, got {short(value)}")
        if kind == "Pattern":
            return one(f"{short(value)} does not match the pattern {data.get('pattern')}")
        if kind == "Not":
            return one(f"{short(value)} is not allowed here")
        if kind == "FalseSchema":
            return one("no value is allowed here")
        return one(short(str(error.message), 200))

    def _union(
        self,
        error: Any,
        parent: Mapping[str, Any],
        title: str | None,
        path: tuple[Segment, ...],
        value: Any,
        document: Any,
    ) -> list[SchemaViolation]:
        keyword = "anyOf" if type(error.kind).__name__ == "AnyOf" else "oneOf"
        branches = [self._resolve(b) for b in parent.get(keyword) or ()]
        context = error.context if isinstance(error, Moved) else list(error.kind.context)
        table = _discriminator(branches)
        what = title or "value"
        if table is not None:
            kinds = ", ".join(table)
            if not isinstance(value, dict):
                message = f"{what} must be an object, got {describe(value)}"
                return [SchemaViolation(path, message, "type")]
            if "type" not in value:
                message = f"{what} has no 'type' (one of {kinds})"
                return [SchemaViolation((*path, "type"), message, "required")]
            index = table.get(value["type"]) if isinstance(value["type"], str) else None
            if index is None:
                message = (
                    f"{short(value['type'])} is not a known {what} type (expected one of {kinds})"
                )
                return [SchemaViolation((*path, "type"), message, keyword)]
            return self._all(context[index], document)
        fitting = [i for i, b in enumerate(branches[: len(context)]) if _fits(b, value)]
        if not fitting:
            names: list[str] = []
            for b in branches:
                names += [t for t in sorted(_types(b) or ()) if t not in names]
            lead = f"{title} " if title else ""
            message = f"{lead}must be {_type_names(names)}, got {describe(value)}"
            return [SchemaViolation(path, message, "type")]
        return min((self._all(context[i], document) for i in fitting), key=len)

    def _all(self, errors: Sequence[Any], document: Any) -> list[SchemaViolation]:
        return [v for e in errors for v in self._explain(e, document)]


_KEYWORDS = {
    "Required": "required",
    "Type": "type",
    "Enum": "enum",
    "Constant": "const",
    "Pattern": "pattern",
    "Not": "not",
    "FalseSchema": "false",
    "OneOfMultipleValid": "oneOf",
    "Minimum": "minimum",
    "Maximum": "maximum",
    "ExclusiveMinimum": "exclusiveMinimum",
    "ExclusiveMaximum": "exclusiveMaximum",
    "MinLength": "minLength",
    "MaxLength": "maxLength",
    "MinItems": "minItems",
    "MaxItems": "maxItems",
    "MinProperties": "minProperties",
    "MaxProperties": "maxProperties",
}
_BOUNDS = {
    "Minimum": ("at least", ""),
    "Maximum": ("at most", ""),
    "ExclusiveMinimum": ("greater than", ""),
    "ExclusiveMaximum": ("less than", ""),
    "MinLength": ("must be at least", "character"),
    "MaxLength": ("must be at most", "character"),
    "MinItems": ("needs at least", "item"),
    "MaxItems": ("allows at most", "item"),
    "MinProperties": ("needs at least", "field"),
    "MaxProperties": ("allows at most", "field"),
}


def _types(schema: Any) -> list[str] | None:
    if not isinstance(schema, Mapping) or "type" not in schema:
        return None
    t = schema["type"]
    names = [t] if isinstance(t, str) else list(t) if isinstance(t, list) else []
    return [n for n in names if n in TYPE_CHECKS] or None


def _type_names(types: Sequence[str]) -> str:
    """``an object``, or ``string or array`` for several."""
    if len(types) == 1:
        name = types[0]
        return name if name == "null" else ("an " if name[0] in "aeiou" else "a ") + name
    return " or ".join(types)


def _fits(schema: Any, value: Any) -> bool:
    """Whether a branch's declared type (if any) admits the value."""
    types = _types(schema)
    return types is None or any(TYPE_CHECKS[t](value) for t in types)


def _pins_type(s: Any) -> bool:
    """An object schema that requires ``type`` and pins it to one string constant."""
    return (
        isinstance(s, Mapping)
        and s.get("type") == "object"
        and "type" in s.get("required", ())
        and isinstance(s.get("properties", {}).get("type"), Mapping)
        and isinstance(s["properties"]["type"].get("const"), str)
    )


def _discriminator(branches: list[Any]) -> dict[str, int] | None:
    """``{const: branch index}`` when every branch pins ``type`` to a distinct const."""
    table: dict[str, int] = {}
    for i, s in enumerate(branches):
        if not _pins_type(s):
            return None
        const = s["properties"]["type"]["const"]
        if const in table:
            return None
        table[const] = i
    return table or None


def _value_at(document: Any, path: tuple[Segment, ...]) -> Any:
    node = document
    for seg in path:
        if isinstance(node, dict):
            node = node.get(seg, MISSING)
        elif isinstance(node, (list, tuple)) and isinstance(seg, int) and seg < len(node):
            node = node[seg]
        else:
            return MISSING
    return node


def _without(document: Any, paths: list[tuple[Segment, ...]]) -> Any:
    """A copy of ``document`` with the values at ``paths`` replaced by null (a non-string
    key: dropped), copying only the containers along those paths."""
    copies: dict[int, Any] = {}  # id of an original container -> its copy
    owned: set[int] = set()

    def own(node: Any) -> Any:
        if id(node) in owned:
            return node
        copy = copies.get(id(node))
        if copy is None:
            copy = copies[id(node)] = dict(node) if isinstance(node, dict) else list(node)
            owned.add(id(copy))
        return copy

    root = own(document) if paths and isinstance(document, (dict, list, tuple)) else document
    for path in sorted(paths, key=len, reverse=True):
        if not path:
            return None
        node = root
        for seg in path[:-1]:
            child = _value_at(node, (seg,))
            if not isinstance(child, (dict, list, tuple)):
                break
            copy = own(child)
            node[seg] = copy
            node = copy
        else:
            last = path[-1]
            if isinstance(node, dict):
                if isinstance(last, str):
                    node[last] = None
                else:
                    node.pop(last, None)
            elif isinstance(last, int) and last < len(node):
                node[last] = None
    return root
