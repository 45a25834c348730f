"""Fusing the rules' "does not fire" schema into the request schema: one walk, not two.

The gate asks "is this request valid, and can no rule fire on it?". Asked as
``allOf: [rules, request]``, jsonschema-rs walks the messages once for the request
schema and once more for the rules, and at every content block it tests each rule's
condition on ``type`` although the request schema already told the block's kind.
:func:`fuse` pushes each part of the rules' schema down to the place of the request
schema that checks the same value, and into each branch of a union keyed on
``type``, where it is first evaluated for that branch's constant (a rule about
``server_tool_use`` blocks is nothing inside the ``text`` branch). The fused schema
holds on exactly the same documents as the two together; anything this module does
not know how to push down stays where it is, as ``allOf`` at that place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from json import dumps, loads
from typing import Any

import jsonschema_rs

__all__ = ["fuse", "specialize"]

Resolve = Callable[[str], Any]
_STRUCTURE = frozenset({"properties", "additionalProperties", "items", "allOf"})
_THROUGH_REF = _STRUCTURE | {"not"}
"""A constraint with one of these is fused into the schema a ``$ref`` names."""
_UNSPECIALIZED = frozenset(
    {"if", "then", "else", "$ref", "oneOf", "dependentSchemas", "dependentRequired"}
)


def fuse(schema: Any, constraint: Any, resolve: Resolve) -> Any:
    """A schema equivalent to ``schema`` and ``constraint`` together. ``resolve`` maps
    a local ``$ref`` of ``schema`` to its target (``constraint`` has no references)."""
    if constraint is True:
        return schema
    if constraint is False or schema is False:
        return False
    if not isinstance(constraint, Mapping) or not isinstance(schema, Mapping):
        return _both(schema, constraint)
    if set(schema) == {"$ref"}:
        target = resolve(schema["$ref"])
        if isinstance(target, Mapping) and (_THROUGH_REF & set(constraint) or _union(target)):
            return fuse(target, constraint, resolve)
        return _both(schema, constraint)
    if "$ref" in schema or "patternProperties" in schema or "unevaluatedProperties" in schema:
        return _both(schema, constraint)
    keyword = _union(schema)
    if keyword is not None:
        branches = [_branch(b, constraint, resolve) for b in schema[keyword]]
        return {**schema, keyword: branches}
    values = _finite(schema)
    if values is not None:
        return _filtered(schema, values, constraint)
    return _into(schema, constraint, resolve)


def _finite(schema: Mapping[str, Any]) -> list[Any] | None:
    """The values an ``enum`` or ``const`` allows, when each is a string or null (values
    that equal only themselves), or None."""
    values = schema["enum"] if "enum" in schema else [schema["const"]] if "const" in schema else 0
    if isinstance(values, list) and all(v is None or isinstance(v, str) for v in values):
        return values
    return None


def _filtered(schema: Mapping[str, Any], values: list[Any], constraint: Any) -> Any:
    """``schema`` and ``constraint``, for a schema that allows only ``values``: the
    constraint decided on each value (a rule about ``role`` is then no check at all)."""
    kept = [value for value in values if _holds(constraint, value)]
    if len(kept) == len(values):
        return schema
    if not kept:
        return False
    return {**schema, "enum": kept}


def _union(schema: Mapping[str, Any]) -> str | None:
    for keyword in ("anyOf", "oneOf"):
        if isinstance(schema.get(keyword), list) and "allOf" not in schema:
            return keyword
    return None


def _both(schema: Any, constraint: Any) -> Any:
    return {"allOf": [constraint, schema]}


def _branch(branch: Any, constraint: Any, resolve: Resolve) -> Any:
    """A union's branch and the constraint; specialized when the branch pins ``type``."""
    target = resolve(branch["$ref"]) if isinstance(branch, Mapping) and "$ref" in branch else branch
    const = _pinned(target)
    if const is not None:
        constraint = specialize(constraint, const)
        if constraint is True:
            return branch
    return fuse(branch, constraint, resolve)


def _pinned(schema: Any) -> str | None:
    """The constant ``type`` member of an object schema that requires it, or None."""
    if not isinstance(schema, Mapping) or schema.get("type") != "object":
        return None
    prop = (schema.get("properties") or {}).get("type")
    if "type" not in (schema.get("required") or ()) or not isinstance(prop, Mapping):
        return None
    const = prop.get("const")
    return const if isinstance(const, str) else None


def _types(schema: Mapping[str, Any]) -> set[str] | None:
    declared = schema.get("type")
    if isinstance(declared, str):
        return {declared}
    return set(declared) if isinstance(declared, list) else None


def _all(parts: list[Any]) -> Any:
    parts = [p for p in parts if p is not True]
    if any(p is False for p in parts):
        return False
    return True if not parts else parts[0] if len(parts) == 1 else {"allOf": parts}


def _split(constraint: Any) -> tuple[list[tuple[dict[str, Any], Any]], list[Any], list[Any]]:
    """The constraint as (properties, additionalProperties) pairs, items, and the rest,
    each list a conjunction; nested ``allOf`` is flattened."""
    members: list[tuple[dict[str, Any], Any]] = []
    items: list[Any] = []
    rest: list[Any] = []
    stack = [constraint]
    while stack:
        part = stack.pop()
        if part is True:
            continue
        if not isinstance(part, Mapping):
            rest.append(part)
            continue
        part = dict(part)
        stack.extend(part.pop("allOf", ()))
        props, add = part.pop("properties", {}), part.pop("additionalProperties", True)
        if props or add is not True:
            members.append((dict(props), add))
        if "items" in part:
            items.append(part.pop("items"))
        if part:
            rest.append(part)
    return members, items, rest


def _into(schema: Mapping[str, Any], constraint: Any, resolve: Resolve) -> Any:
    """Push the constraint's member and item parts into the schema's own; the rest
    stays here, in ``allOf``."""
    out = dict(schema)
    members, items, rest = _split(constraint)
    types = _types(schema)
    if types is None or "object" in types:
        kept: list[Any] = []
        for part in rest:
            pair = _negated_member(part, types == {"object"})
            if pair is None:
                kept.append(part)
            else:
                members.append(pair)
        rest = kept
    if types is not None and "array" not in types:
        items = []  # only arrays have items
    if types is not None and "object" not in types:
        members = []  # only objects have members
    if items:
        if "prefixItems" in out or "items" not in out:
            rest.append({"items": _all(items)})
        else:
            out["items"] = fuse(out["items"], _all(items), resolve)
    if members:
        s_props = dict(out.get("properties") or {})
        s_add = out.get("additionalProperties", True)
        names = {*s_props, *(n for props, _ in members for n in props)}
        for name in names:
            wanted = _all([props.get(name, add) for props, add in members])
            s_props[name] = fuse(s_props.get(name, s_add), wanted, resolve)
        out["properties"] = s_props
        out["additionalProperties"] = fuse(s_add, _all([add for _, add in members]), resolve)
    if rest:
        out["allOf"] = [*rest, *out.get("allOf", ())]
    return out


def _negated_member(part: Any, an_object: bool) -> tuple[dict[str, Any], Any] | None:
    """``not (object, with member m, where A holds)`` as ``properties: {m: not A}``, a
    check made where m is, when m is there; None for any other part. Exact on objects,
    and on anything when the part itself asks for an object (``an_object``: the place
    is known to hold one)."""
    if not isinstance(part, Mapping) or set(part) - _ANNOTATIONS != {"not"}:
        return None
    conjuncts = _conjuncts(part["not"])
    if conjuncts is None:
        return None
    required: set[str] = set()
    props: dict[str, list[Any]] = {}
    for conjunct in conjuncts:
        for keyword, value in conjunct.items():
            if keyword == "type" and value in ("object", ["object"]):
                an_object = True
            elif keyword == "required" and isinstance(value, list):
                required.update(value)
            elif keyword == "properties" and isinstance(value, Mapping):
                for name, sub in value.items():
                    props.setdefault(name, []).append(sub)
            elif keyword not in _ANNOTATIONS:
                return None
    if not an_object or len(required) != 1 or not set(props) <= required:
        return None
    (name,) = required
    if not isinstance(name, str):
        return None
    inner = _all(props.get(name, []))
    return {name: True if inner is False else False if inner is True else {"not": inner}}, True


def _conjuncts(schema: Any) -> list[Mapping[str, Any]] | None:
    """``schema`` as a list of schemas that must all hold (``allOf`` flattened), or None
    when one of them is not an object schema."""
    if schema is True:
        return []
    if not isinstance(schema, Mapping):
        return None
    parts = schema.get("allOf", [])
    if not isinstance(parts, list):
        return None
    out: list[Mapping[str, Any]] = [{k: v for k, v in schema.items() if k != "allOf"}]
    for part in parts:
        inner = _conjuncts(part)
        if inner is None:
            return None
        out += inner
    return out


def specialize(constraint: Any, const: str) -> Any:
    """The constraint for an object whose ``type`` member is ``const``: the same answer
    on every such object, with what ``const`` decides decided."""
    if not isinstance(constraint, Mapping) or _UNSPECIALIZED & set(constraint):
        return constraint
    out: dict[str, Any] = {}
    for keyword, value in constraint.items():
        if keyword == "type":
            names = {value} if isinstance(value, str) else set(value)
            if "object" not in names:
                return False
        elif keyword == "required":
            rest = [name for name in value if name != "type"]
            if rest:
                out[keyword] = rest
        elif keyword == "properties" and "type" in value:
            if not _holds(value["type"], const):
                return False
            if "additionalProperties" in constraint or "patternProperties" in constraint:
                out[keyword] = {**value, "type": True}  # still not an "additional" member
            elif len(value) > 1:
                out[keyword] = {k: v for k, v in value.items() if k != "type"}
        elif keyword == "not":
            inner = specialize(value, const)
            if inner is True:
                return False
            if inner is not False:
                out[keyword] = inner
        elif keyword in ("allOf", "anyOf"):
            parts = [specialize(part, const) for part in value]
            if keyword == "allOf":
                if any(part is False for part in parts):
                    return False
                parts = [part for part in parts if part is not True]
            else:
                if any(part is True for part in parts):
                    continue
                parts = [part for part in parts if part is not False]
                if not parts:
                    return False
            if parts:
                out[keyword] = parts
        else:
            out[keyword] = value
    return out if set(out) - _ANNOTATIONS else True


_ANNOTATIONS = frozenset({"x-fwcompat-rule", "title", "description", "$comment"})


def _holds(schema: Any, value: str) -> bool:
    """Whether ``value`` satisfies ``schema`` (natively; compiled once per schema)."""
    return _checker(dumps(schema, sort_keys=True))(value)


@lru_cache(maxsize=512)
def _checker(schema_json: str) -> Callable[[Any], bool]:
    validator = jsonschema_rs.validator_for(loads(schema_json))
    return lambda value: bool(validator.is_valid(value))


_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_ONE = (
    "additionalProperties", "items", "not", "if", "then", "else", "contains", "propertyNames",
    "unevaluatedProperties", "unevaluatedItems",
)  # fmt: skip
_TIED = (
    frozenset({"properties", "patternProperties", "additionalProperties"}),
    frozenset({"items", "prefixItems"}),
    frozenset({"if", "then", "else"}),
    frozenset({"contains", "minContains", "maxContains"}),
)
"""Keywords that read each other: a part of ``allOf`` holding one of a group is merged
into a schema holding none of that group."""
_ALONE = frozenset(
    {"$ref", "$dynamicRef", "$id", "$anchor", "$dynamicAnchor", "unevaluatedProperties",
     "unevaluatedItems"}
)  # fmt: skip


def lean(schema: Any) -> Any:
    """The same yes/no answer on every document, with less for the validator to do:
    ``not {}`` is ``false``, ``allOf`` is flattened into its schema where no keyword
    reads another, an ``allOf`` or ``anyOf`` of one schema is that schema, and the rules'
    tags and other annotations are dropped. For a gate only: nothing is reported from it."""
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for keyword, value in schema.items():
        if keyword in _ANNOTATIONS:
            continue
        if keyword in _MAPS and isinstance(value, Mapping):
            out[keyword] = {name: lean(sub) for name, sub in value.items()}
        elif keyword in _LISTS and isinstance(value, list):
            out[keyword] = [lean(sub) for sub in value]
        elif keyword in _ONE:
            out[keyword] = lean(value)
        else:
            out[keyword] = value
    if "not" in out:
        if _trivial(out["not"]):
            return False
        if out["not"] is False:
            del out["not"]
    choices = out.pop("anyOf", None)
    if isinstance(choices, list) and not any(_trivial(c) for c in choices):
        choices = [c for c in choices if c is not False]
        if not choices:
            return False
        if len(choices) == 1:  # one choice: it must hold
            out["allOf"] = [*out.get("allOf", ()), choices[0]]
        else:
            out["anyOf"] = choices
    elif choices is not None and not isinstance(choices, list):
        out["anyOf"] = choices
    if isinstance(out.get("allOf"), list):
        joined: Any = _joined(out, out.pop("allOf"))
        return joined if joined is False or joined else True
    return out if out else True


def _trivial(schema: Any) -> bool:
    return schema is True or (isinstance(schema, Mapping) and not schema)


def _joined(out: dict[str, Any], parts: list[Any]) -> Any:
    """``out`` and every one of ``parts``: nested ``allOf`` flattened, each part merged
    into ``out`` where that is the same schema, the rest left in ``allOf``."""
    flat: list[Any] = []
    stack = list(reversed(parts))
    while stack:
        part = stack.pop()
        inner = part.get("allOf") if isinstance(part, Mapping) else None
        if isinstance(inner, list) and not _ALONE & set(part):
            stack.extend(reversed(inner))
            rest = {k: v for k, v in part.items() if k != "allOf"}
            if rest:
                flat.append(rest)
        elif part is False:
            return False
        elif not _trivial(part):
            flat.append(part)
    kept: list[Any] = []
    for part in flat:
        if isinstance(part, Mapping) and _mergeable(out, part):
            out.update(part)
        else:
            kept.append(part)
    if kept:
        out["allOf"] = kept
    return out


def _mergeable(out: Mapping[str, Any], part: Mapping[str, Any]) -> bool:
    """Whether ``part``'s keywords can sit beside ``out``'s with the same meaning."""
    if set(out) & set(part) or _ALONE & (set(out) | set(part)):
        return False
    return not any(group & set(out) and group & set(part) for group in _TIED)
