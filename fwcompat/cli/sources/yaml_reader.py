"""Reading YAML with positions: node marks kept for every pointer, aliases bounded,
keys that JSON cannot hold reported (E905), duplicates reported (E904)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, ParamSpec, TypeVar

from fwcompat.cli._codes import DUPLICATE_KEY, NON_STRING_KEY
from fwcompat.engine import is_index

from .units import Problem, SourceError, Tokens, Unit, YamlInfo, without_gc

__all__ = ["SeveralDocuments", "load_yaml", "load_yaml_documents", "yaml_members"]

MAX_ALIAS_EXPANSION = 100_000
"""YAML aliases may add at most this many nodes to a document (alias bombs)."""

P = ParamSpec("P")
R = TypeVar("R")


def _yaml_loader() -> type[Any]:
    import yaml

    base: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc]
        """Safe loader that keeps timestamps as strings (a request is JSON data)."""

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


_LOADER: type[Any] | None = None
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_INT = "tag:yaml.org,2002:int"
_KIND = {
    "tag:yaml.org,2002:bool": "a boolean",
    "tag:yaml.org,2002:null": "null",
    _INT: "a number",
    "tag:yaml.org,2002:float": "a number",
}


class _Graph(NamedTuple):
    shared: frozenset[int]
    problems: tuple[Problem, ...]
    fatal: bool


def _mark(node: Any) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _yaml_graph(root: Any) -> _Graph:
    """One walk over the node graph: sharing, alias expansion, bad keys. Iterative."""
    import yaml

    refs: dict[int, int] = {}
    size: dict[int, int] = {}
    active: set[int] = set()
    merged: set[int] = set()
    problems: list[Problem] = []
    fatal = False
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        nid = id(node)
        if done:
            active.discard(nid)
            if isinstance(node, yaml.MappingNode):
                children = [c for pair in node.value for c in pair]
            else:
                children = list(node.value)
            size[nid] = 1 + sum(size[id(c)] for c in children)
            continue
        refs[nid] = refs.get(nid, 0) + 1
        if nid in size:
            continue
        if nid in active:
            line, column = _mark(node)
            raise SourceError("invalid YAML: an alias refers to its own anchor", line, column)
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _INT and len(node.value) > 4300:
                line, column = _mark(node)
                raise SourceError(
                    f"invalid YAML: a number of {len(node.value)} digits", line, column
                )
            size[nid] = 1
            continue
        active.add(nid)
        stack.append((node, True))
        if isinstance(node, yaml.MappingNode):
            merge, bad_key = _check_keys(node, problems)
            if merge:
                merged.add(nid)
            fatal = fatal or bad_key
            for key, value in node.value:
                stack.append((key, False))
                stack.append((value, False))
        else:
            stack.extend((child, False) for child in reversed(node.value))
    extra = size[id(root)] - len(size)
    if extra > MAX_ALIAS_EXPANSION:
        raise SourceError(
            f"invalid YAML: aliases expand the document by {extra:,} nodes (more than "
            f"{MAX_ALIAS_EXPANSION:,}); write the repeated values out"
        )
    shared = {nid for nid, count in refs.items() if count > 1} | merged
    return _Graph(frozenset(shared), tuple(problems), fatal)


def _check_keys(node: Any, problems: list[Problem]) -> tuple[bool, bool]:
    """Add a mapping's duplicate (E904) and non-string (E905) keys to ``problems``;
    returns (it has a merge key, it has a key JSON cannot hold)."""
    import yaml

    merge = fatal = False
    seen: set[str] = set()
    for key, _ in node.value:
        if isinstance(key, yaml.ScalarNode) and key.tag == _MERGE:
            merge = True
        elif not isinstance(key, yaml.ScalarNode) or key.tag != _STR:
            fatal = True
            what = _KIND.get(key.tag, "not a string")
            shown = key.value if isinstance(key, yaml.ScalarNode) else "?"
            problems.append(
                Problem(
                    NON_STRING_KEY,
                    f"key {shown!r} is {what}, not a string: JSON object keys are "
                    f'strings; quote it ("{shown}")',
                    *_mark(key),
                )
            )
        elif key.value in seen:
            problems.append(
                Problem(
                    DUPLICATE_KEY,
                    f"duplicate key {key.value!r}: YAML readers disagree on which value wins",
                    *_mark(key),
                )
            )
        else:
            seen.add(key.value)
    return merge, fatal


class SeveralDocuments(SourceError):
    """A YAML stream of several documents: never a request file."""


def _loader(text: str) -> Any:
    global _LOADER
    if _LOADER is None:
        _LOADER = _yaml_loader()
    return _LOADER(text)


def _yaml_errors(function: Callable[P, R]) -> Callable[P, R]:
    """PyYAML's exceptions (and deep nesting) as :class:`SourceError` with a position."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import yaml

        try:
            return function(*args, **kwargs)
        except yaml.composer.ComposerError as exc:
            said = f"{exc.context or ''} {exc.problem or ''}"
            if "single document" in said or "another document" in said:
                raise SeveralDocuments("several YAML documents") from None
            raise _yaml_error(exc) from None
        except yaml.MarkedYAMLError as exc:
            raise _yaml_error(exc) from None
        except yaml.YAMLError as exc:
            raise SourceError(f"invalid YAML: {exc}") from None
        except RecursionError:
            raise SourceError("invalid YAML: nesting too deep") from None
        except (ValueError, TypeError, OverflowError) as exc:
            raise SourceError(f"invalid YAML: {exc}") from None

    return wrapper


def _yaml_unit(text: str, loader: Any, node: Any, index: int | None) -> Unit:
    """One document of a YAML stream as a unit; positions stay those of the whole file."""
    graph = _yaml_graph(node) if node is not None else _Graph(frozenset(), (), False)
    if graph.fatal:
        # Not JSON data: classify the keys as written, so a workflow's `on:` is skipped.
        document = _as_written(node)
    else:
        document = loader.construct_document(node) if node is not None else None

    @without_gc
    def locate_all(pointers: Sequence[Tokens]) -> list[tuple[int, int]]:
        cache: dict[int, dict[str, tuple[Any, Any]]] = {}
        return [_yaml_position(node, tokens, cache) for tokens in pointers]

    bom = 1 if text.startswith("\ufeff") else 0
    info = YamlInfo(text, node, graph.shared, bom)
    line = node.start_mark.line + 1 if node is not None and index is not None else 1
    return Unit(document, line, locate_all, graph.problems, info, index)


@without_gc
@_yaml_errors
def load_yaml(text: str) -> Unit:
    """Parse a YAML file holding one document, keeping node marks for positions.

    Several documents raise :class:`SeveralDocuments` (see :func:`load_yaml_documents`)."""
    loader = _loader(text)
    try:
        return _yaml_unit(text, loader, loader.get_single_node(), None)
    finally:
        loader.dispose()


@without_gc
@_yaml_errors
def load_yaml_documents(text: str) -> list[Unit]:
    """Every document of a YAML stream (``---`` separated), one unit each, numbered from
    1; positions are those of the whole file. One document gives one unnumbered unit."""
    loader = _loader(text)
    units: list[Unit] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            units.append(_yaml_unit(text, loader, node, len(units) + 1))
    finally:
        loader.dispose()
    if len(units) == 1:
        units = [units[0]._replace(number=None, line=1)]
    return units


def _as_written(node: Any) -> Any:
    """A document with every mapping key as its source text (only for classification)."""
    import yaml

    if isinstance(node, yaml.MappingNode):
        return {(k.value if isinstance(k, yaml.ScalarNode) else "?"): True for k, _ in node.value}
    return None


def _yaml_error(exc: Any) -> SourceError:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = exc.problem or exc.context or "malformed document"
    return SourceError(f"invalid YAML: {problem}", line, column)


def yaml_members(node: Any, cache: dict[int, dict[str, tuple[Any, Any]]]) -> dict[str, Any]:
    """A mapping node's members by key (the last one wins, as the constructor does)."""
    found = cache.get(id(node))
    if found is None:
        found = cache[id(node)] = {
            k.value: (k, v) for k, v in node.value if getattr(k, "tag", None) == _STR
        }
    return found


def _yaml_position(
    node: Any, tokens: Tokens, cache: dict[int, dict[str, tuple[Any, Any]]]
) -> tuple[int, int]:
    import yaml

    if node is None:
        return 1, 1
    mark = node.start_mark
    for token in tokens:
        child: Any = None
        if isinstance(node, yaml.MappingNode):
            pair = yaml_members(node, cache).get(token)
            if pair is not None:
                child, mark = pair[1], pair[0].start_mark
        elif isinstance(node, yaml.SequenceNode) and is_index(token):
            index = int(token)
            if index < len(node.value):
                child = node.value[index]
                mark = child.start_mark
        if child is None:
            break
        node = child
    return mark.line + 1, mark.column + 1
