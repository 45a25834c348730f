"""Unions keyed on ``type``, for explaining errors in bounded memory.

Anthropic content blocks and tools are unions told apart by their ``type`` member.
Written as ``oneOf``/``anyOf`` (readable, and fast for a yes/no answer), a value that
fits no branch makes jsonschema-rs report one error per branch, each with its own
errors: 2,000 blocks with a bad ``type`` held 159 MB of error objects for a 0.2 MB
body. For explaining errors, :func:`keyed_unions` rewrites such a union into
``if``/``then`` on the value of ``type`` (the same valid documents), so a value is
checked, and reported on, against the one branch its ``type`` names.

A union is rewritten when every branch (through local ``$ref``) is an object that
requires ``type`` and pins it to its own string constant, except at most one
catch-all branch whose ``type`` is any other string. The rewritten nodes carry
:data:`MARK` (ignored by validators), from which :func:`union_message` words the
errors about the union itself as before: not an object, no ``type``, an unknown one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._json import describe, short

__all__ = ["MARK", "exclusive", "keyed_unions", "union_message"]

MARK = "x-fwcompat-union"
_ANNOTATION_KEYS = frozenset({"title", "description", "$comment"})


def keyed_unions(schema: Any) -> Any:
    """``schema`` with each type-keyed union rewritten (a new object; input untouched)."""
    return _rewrite(schema, schema)


def _rewrite(node: Any, root: Any) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, root) for item in node]
    if not isinstance(node, Mapping):
        return node
    out = {k: (v if k in ("enum", "const", MARK) else _rewrite(v, root)) for k, v in node.items()}
    keyword = "oneOf" if "oneOf" in out else "anyOf"
    branches = out.get(keyword)
    if not isinstance(branches, list) or not set(out) - {keyword} <= _ANNOTATION_KEYS:
        return out
    keyed = _keyed(out, keyword, branches, root)
    if keyed is None:
        keyed = _by_json_type(out, branches, root)
    return out if keyed is None else keyed


_JSON_TYPES = ("null", "boolean", "object", "array", "number", "string", "integer")


def _declared(branch: Any) -> list[str] | None:
    types = branch.get("type") if isinstance(branch, Mapping) else None
    names = [types] if isinstance(types, str) else types
    if not isinstance(names, list) or not names or any(n not in _JSON_TYPES for n in names):
        return None
    return [str(n) for n in names]


def _widest(name: str) -> str:
    return "number" if name == "integer" else name


def _by_json_type(node: Mapping[str, Any], branches: list[Any], root: Any) -> Any:
    """A union whose branches declare disjoint JSON types (a string, or an array of
    blocks): ``if``/``then`` on the type, the last ``else`` naming every type."""
    if not branches:
        return None  # not a valid union: left for the validator to say so
    declared = [_declared(_resolve(b, root)) for b in branches]
    seen: list[str] = []
    for names in declared:
        if names is None:
            return None
        if {_widest(n) for n in names} & {_widest(n) for n in seen}:
            return None  # overlapping types ("integer" is a "number")
        seen += sorted(names)
    title = node.get("title")
    last: dict[str, Any] = {"type": seen[0] if len(seen) == 1 else seen}
    if isinstance(title, str):
        last["title"] = title
    chain: Any = last
    for names, branch in reversed(list(zip(declared, branches, strict=True))):
        assert names is not None
        chain = {"if": {"type": names}, "then": branch, "else": chain}
    annotations = {k: v for k, v in node.items() if k in _ANNOTATION_KEYS}
    return {**annotations, **chain}


def _resolve(branch: Any, root: Any) -> Any:
    if isinstance(branch, Mapping) and isinstance(branch.get("$ref"), str):
        ref = branch["$ref"]
        if not ref.startswith("#/"):
            return None
        node = root
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            node = node.get(token) if isinstance(node, Mapping) else None
        return node
    return branch


def _pinned(branch: Any) -> str | None:
    """The constant ``type`` of an object branch that requires it, or None."""
    if not (isinstance(branch, Mapping) and branch.get("type") == "object"):
        return None
    prop = (branch.get("properties") or {}).get("type")
    if "type" not in (branch.get("required") or ()) or not isinstance(prop, Mapping):
        return None
    const = prop.get("const")
    return const if isinstance(const, str) else None


def _catch_all(branch: Any, consts: list[str]) -> bool:
    """An object branch that requires ``type`` to be any string but ``consts``."""
    if not (isinstance(branch, Mapping) and branch.get("type") == "object"):
        return False
    prop = (branch.get("properties") or {}).get("type")
    return (
        "type" in (branch.get("required") or ())
        and isinstance(prop, Mapping)
        and set(prop) == {"type", "not"}
        and prop["type"] == "string"
        and isinstance(prop["not"], Mapping)
        and set(prop["not"]) == {"enum"}
        and sorted(map(str, prop["not"]["enum"])) == sorted(consts)
        and all(isinstance(x, str) for x in prop["not"]["enum"])
    )


def _keyed_branches(
    branches: list[Any], root: Any
) -> tuple[list[tuple[str, Any]], list[Any]] | None:
    """The branches pinning ``type`` (with their constants) and the catch-all (if any),
    when the union is keyed on ``type``; None otherwise."""
    pinned: list[tuple[str, Any]] = []
    others: list[Any] = []
    for branch in branches:
        const = _pinned(_resolve(branch, root))
        if const is None:
            others.append(branch)
        else:
            pinned.append((const, branch))
    consts = [c for c, _ in pinned]
    if not pinned or len(set(consts)) != len(consts) or len(others) > 1:
        return None
    if others and not _catch_all(_resolve(others[0], root), consts):
        return None
    return pinned, others


def exclusive(branches: list[Any], root: Any) -> bool:
    """Whether at most one branch of the union can hold: it is keyed on ``type``."""
    return _keyed_branches(branches, root) is not None


def _keyed(node: Mapping[str, Any], keyword: str, branches: list[Any], root: Any) -> Any:
    split = _keyed_branches(branches, root)
    if split is None:
        return None
    pinned, others = split
    consts = [c for c, _ in pinned]
    title = node.get("title")
    what = title if isinstance(title, str) else None
    mark: dict[str, Any] = {"what": what, "kinds": consts, "keyword": keyword}
    mark["closed"] = not others
    parts: list[Any] = [
        {
            "if": {"type": "object", "required": ["type"], "properties": {"type": {"const": c}}},
            "then": branch,
        }
        for c, branch in pinned
    ]
    then: dict[str, Any] = {"required": ["type"], "allOf": parts, MARK: mark}
    if others:
        parts.append({"if": {"properties": {"type": {"enum": consts}}}, "else": others[0]})
    else:
        then["properties"] = {"type": {"enum": consts, MARK: mark}}
    annotations = {k: v for k, v in node.items() if k in _ANNOTATION_KEYS}
    return {
        **annotations,
        "if": {"type": "object"},
        "then": then,
        "else": {"type": "object", MARK: mark},
    }


def union_message(
    mark: Mapping[str, Any], kind: str, path: tuple[Any, ...], value: Any
) -> tuple[tuple[Any, ...], str, str] | None:
    """(path, message, keyword) for an error about a keyed union itself, worded as the
    union's own; None for an error this does not word (it is explained as usual)."""
    what = mark.get("what")
    kinds = ", ".join(mark.get("kinds") or ())
    closed = mark.get("closed")
    if kind == "Type":  # the else branch: not an object
        lead = f"{what} " if what else ("value " if closed else "")
        return path, f"{lead}must be an object, got {describe(value)}", "type"
    if kind == "Required" and closed:
        return (*path, "type"), f"{what or 'value'} has no 'type' (one of {kinds})", "required"
    if kind == "Enum" and closed:
        message = f"{short(value)} is not a known {what or 'value'} type (expected one of {kinds})"
        return path, message, str(mark.get("keyword"))
    return None
