"""Explaining the errors of a large document piece by piece, in bounded memory.

jsonschema-rs's ``iter_errors`` builds every error object before handing out the
first: a body of 200,000 empty content blocks held 425 MB of them, although only the
first :data:`~._schema.MAX_ERRORS` are ever explained. :class:`Pieces` walks a large
document along its schema instead, and asks jsonschema-rs about one piece at a time:
an object without its large members, then each large member; an array without its
elements, then its elements, a run of small ones at a time. The caller stops reading
at the cap, so no more than one piece's errors are ever held.

A node is split only where the split is exact: an ``if``/``then``/``else`` (the branch
``if`` chooses), an array whose only other keywords are ``type``/``minItems``/``maxItems``
(its elements are checked by ``items`` alone), an object whose only other keywords are
``type``/``required``/``additionalProperties`` (a member listed in ``properties`` is
checked by its own schema alone). Anything else is asked whole. Every error comes back
as if the whole document had been asked: full instance path, schema path into the
original schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["LARGE", "Moved", "Pieces", "larger_than"]

LARGE = 20_000
"""Values (as serialized) above which a document, or a member, is asked piece by piece."""
_CHUNK = 64  # small array elements asked together
_PIECE = "__fwcompat_piece"
_ROOT_ONLY = frozenset({"$defs", "$schema", "$id"})
_INERT = frozenset({"title", "description", "$comment", "x-fwcompat-union", "default", *_ROOT_ONLY})
_ARRAY = frozenset({"type", "items", "minItems", "maxItems"})
_OBJECT = frozenset({"type", "required", "properties", "additionalProperties"})


class Moved:
    """A jsonschema-rs error of a piece, with the paths it has in the whole document."""

    __slots__ = ("_context", "_error", "_pointer", "_prefix", "_shift")

    def __init__(self, error: Any, prefix: tuple[Any, ...], shift: int, pointer: tuple[Any, ...]):
        self._error = error
        self._prefix = prefix
        self._shift = shift  # added to the first index (an element of a chunk)
        self._pointer = pointer  # where the piece's own schema sits in the original

    @property
    def kind(self) -> Any:
        return self._error.kind

    @property
    def message(self) -> Any:
        return self._error.message

    @property
    def instance_path(self) -> tuple[Any, ...]:
        path = tuple(self._error.instance_path)
        if self._shift and path:
            path = (path[0] + self._shift, *path[1:])
        return (*self._prefix, *path)

    @property
    def schema_path(self) -> list[Any]:
        path = list(self._error.schema_path)
        if path[:2] == ["$defs", _PIECE]:
            return [*self._pointer, *path[2:]]
        return path

    @property
    def context(self) -> list[list[Moved]]:
        return [
            [Moved(e, self._prefix, self._shift, self._pointer) for e in branch]
            for branch in self._error.kind.context
        ]


class Pieces:
    """The errors of a document, asked of jsonschema-rs piece by piece (see the module)."""

    def __init__(self, schema: Any, compile_validator: Any) -> None:
        self._root = schema
        self._compile = compile_validator
        self._validators: dict[Any, Any] = {}
        self._usable: bool | None = None  # worked out on first use: start-up counts

    @property
    def usable(self) -> bool:
        """Whether the schema can be asked in pieces (every ``$ref`` into its ``$defs``)."""
        if self._usable is None:
            self._usable = isinstance(self._root, Mapping) and _refs_to_defs(self._root)
        return self._usable

    @usable.setter
    def usable(self, value: bool) -> None:
        self._usable = value

    def errors(self, instance: Any) -> Iterator[Any]:
        """Every error of ``instance``, in pieces (as :class:`Moved` errors)."""
        return self._walk((), instance, ())

    def _at(self, pointer: tuple[Any, ...]) -> Any:
        node = self._root
        try:
            for token in pointer:
                node = node[token]
        except (KeyError, IndexError, TypeError):
            raise ValueError(f"no schema at #/{'/'.join(map(str, pointer))}") from None
        return node

    def _validator(self, key: Any, piece: Any) -> Any:
        validator = self._validators.get(key)
        if validator is None:
            if isinstance(piece, Mapping):
                piece = {k: v for k, v in piece.items() if k not in _ROOT_ONLY}
            defs = {**self._root.get("$defs", {}), _PIECE: piece}
            validator = self._compile({"$defs": defs, "$ref": f"#/$defs/{_PIECE}"}, "schema")
            self._validators[key] = validator
        return validator

    def _ask(
        self,
        key: Any,
        piece: Any,
        pointer: tuple[Any, ...],
        instance: Any,
        at: tuple[Any, ...],
        shift: int = 0,
    ) -> Iterator[Moved]:
        for error in self._validator(key, piece).iter_errors(instance):
            yield Moved(error, at, shift, pointer)

    def _walk(self, pointer: tuple[Any, ...], instance: Any, at: tuple[Any, ...]) -> Iterator[Any]:
        node = self._at(pointer)
        for _ in range(32):
            if isinstance(node, Mapping) and set(node) - _INERT == {"$ref"}:
                ref = node["$ref"][2:].split("/")
                pointer = tuple(t.replace("~1", "/").replace("~0", "~") for t in ref)
                node = self._at(pointer)
            else:
                break
        keys = set(node) - _INERT if isinstance(node, Mapping) else {"?"}
        if "if" in keys and keys <= {"if", "then", "else"}:
            chosen = (
                "then"
                if self._validator((pointer, "if"), node["if"]).is_valid(instance)
                else "else"
            )
            if chosen in node:
                yield from self._walk((*pointer, chosen), instance, at)
            return
        if "items" in keys and keys <= _ARRAY and type(instance) is list:
            yield from self._ask(
                (pointer, "shallow"), _without(node, "items"), pointer, instance, at
            )
            yield from self._elements(pointer, node, instance, at)
            return
        props = node.get("properties") if isinstance(node, Mapping) else None
        if isinstance(props, Mapping) and keys <= _OBJECT and type(instance) is dict:
            large = tuple(k for k in props if k in instance and larger_than(instance[k], LARGE))
            if large:
                shallow = {**node, "properties": {**props, **dict.fromkeys(large, True)}}
                yield from self._ask((pointer, large), shallow, pointer, instance, at)
                for k in large:
                    yield from self._walk((*pointer, "properties", k), instance[k], (*at, k))
                return
        yield from self._ask((pointer, "whole"), node, pointer, instance, at)

    def _elements(
        self,
        pointer: tuple[Any, ...],
        node: Mapping[str, Any],
        items: list[Any],
        at: tuple[Any, ...],
    ) -> Iterator[Any]:
        """An array's elements: each large one walked alone, small ones asked in runs."""
        chunk = {"items": node["items"]}
        start = size = 0
        for i, item in enumerate(items):
            weight = _weight(item, LARGE)
            if weight > LARGE:
                if start < i:
                    yield from self._ask(
                        (pointer, "chunk"), chunk, pointer, items[start:i], at, start
                    )
                yield from self._walk((*pointer, "items"), item, (*at, i))
                start, size = i + 1, 0
                continue
            size += weight
            if i + 1 - start >= _CHUNK or size > LARGE:
                yield from self._ask(
                    (pointer, "chunk"), chunk, pointer, items[start : i + 1], at, start
                )
                start, size = i + 1, 0
        if start < len(items):
            yield from self._ask((pointer, "chunk"), chunk, pointer, items[start:], at, start)


def _without(node: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k != key}


def larger_than(value: Any, limit: int) -> bool:
    """Whether ``value`` holds more than ``limit`` values as serialized (shared containers
    counted at every reference); stops counting past ``limit``, so at most that many steps."""
    count = 0
    stack = [value]
    while stack:
        count += 1
        if count > limit:
            return True
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


def _weight(value: Any, limit: int) -> int:
    """How many values ``value`` holds, up to ``limit + 1``."""
    count = 0
    stack = [value]
    while stack and count <= limit:
        count += 1
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return count


def _refs_to_defs(node: Any) -> bool:
    """Whether every ``$ref`` in a schema points into its root's ``$defs``."""
    if isinstance(node, list):
        return all(_refs_to_defs(v) for v in node)
    if not isinstance(node, Mapping):
        return True
    ref = node.get("$ref")
    if ref is not None and not (isinstance(ref, str) and ref.startswith("#/$defs/")):
        return False
    return all(_refs_to_defs(v) for k, v in node.items() if k not in ("enum", "const"))
