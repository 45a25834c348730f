"""Reading request files: JSON, YAML and JSONL, with JSON Pointer -> line:col maps.

A *source* is one file (or stdin). It yields *units*: one request each, with a
``locate(pointer) -> (line, col)`` function that maps a pointer into the unit's
document to a 1-based position in the file. Positions are computed lazily, only
for pointers that carry a diagnostic, so clean files cost one ``json.loads``.

JSONL files are streamed line by line: memory stays constant whatever the size.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from fwcompat._paths import is_index

if TYPE_CHECKING:
    from fwcompat._diagnostics import Diagnostic

__all__ = [
    "ENVELOPE_KEYS",
    "Format",
    "SourceError",
    "Unit",
    "detect_format",
    "discover",
    "file_tokens",
    "fixable",
    "json_offset",
    "load_json",
    "load_yaml",
    "offset_to_position",
    "scanstring",
    "split_envelope",
]

Format = Literal["json", "yaml", "jsonl"]
Locate = Callable[[Sequence[str]], tuple[int, int]]

SUFFIXES: dict[str, Format] = {
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
ENVELOPE_KEYS = ("body", "headers", "base_url", "path")
_SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
    }
)
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class SourceError(Exception):
    """A file that cannot be read or parsed; ``line``/``column`` are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1, *, io: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.io = io


class Unit(NamedTuple):
    """One request of a file: the parsed document plus a way to find pointers in it."""

    document: Any
    line: int
    """1-based line where the unit starts (the JSONL line; 1 for whole files)."""
    locate: Locate
    """Tokens of an RFC 6901 pointer into ``document`` -> 1-based (line, column)."""


# --------------------------------------------------------------------------- discovery


def discover(paths: Sequence[str]) -> Iterator[str]:
    """Expand folders recursively into their request files; files pass through as given."""
    seen: set[str] = set()
    for path in paths:
        if path != "-" and os.path.isdir(path):
            found: list[str] = []
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
                found.extend(
                    os.path.join(root, f)
                    for f in files
                    if os.path.splitext(f)[1].lower() in SUFFIXES
                )
            candidates: list[str] = sorted(found)
        else:
            candidates = [path]
        for candidate in candidates:
            key = candidate if candidate == "-" else os.path.normpath(candidate)
            if key not in seen:
                seen.add(key)
                yield candidate


def detect_format(name: str, head: str = "") -> Format:
    """By suffix; for unknown suffixes, sniff the first characters."""
    fmt = SUFFIXES.get(os.path.splitext(name)[1].lower())
    if fmt is not None:
        return fmt
    stripped = head.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):
        return "json"
    return "yaml"


# --------------------------------------------------------------------------- positions


def offset_to_position(text: str, offset: int, *, base: int = 0) -> tuple[int, int]:
    """0-based character offset -> 1-based (line, column), counting from ``base``."""
    offset = max(base, min(offset, len(text)))
    line = text.count("\n", base, offset) + 1
    column = offset - (text.rfind("\n", base, offset) + 1 if line > 1 else base) + 1
    return line, column


def _ws(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _find_member(text: str, pos: int, token: str) -> tuple[int, int] | None:
    """In the object at ``pos``, the (key offset, value offset) of the last member ``token``."""
    found: tuple[int, int] | None = None
    i = _ws(text, pos + 1)
    if text[i] == "}":
        return None
    while True:
        if text[i] != '"':
            return found
        key, end = scanstring(text, i + 1)
        key_at = i
        i = _ws(text, end)
        if text[i] != ":":
            return found
        i = _ws(text, i + 1)
        if key == token:
            found = (key_at, i)
        _, i = _DECODER.raw_decode(text, i)
        i = _ws(text, i)
        if text[i] != ",":
            return found
        i = _ws(text, i + 1)


def _find_element(text: str, pos: int, index: int) -> int | None:
    i = _ws(text, pos + 1)
    if text[i] == "]":
        return None
    n = 0
    while True:
        if n == index:
            return i
        _, i = _DECODER.raw_decode(text, i)
        i = _ws(text, i)
        if text[i] != ",":
            return None
        i = _ws(text, i + 1)
        n += 1


def json_offset(text: str, tokens: Sequence[str], start: int = 0) -> int:
    """Offset of the pointer's target in JSON ``text``.

    For an object member that is its key's opening quote (where an editor should
    put the cursor), for an array element the element itself. A pointer that does
    not exist (a required member that is missing) falls back to its deepest
    existing ancestor.
    """
    pos = _ws(text, start)
    best = pos
    try:
        for token in tokens:
            ch = text[pos]
            if ch == "{":
                member = _find_member(text, pos, token)
                if member is None:
                    return best
                best, pos = member
            elif ch == "[":
                if not is_index(token):
                    return best
                element = _find_element(text, pos, int(token))
                if element is None:
                    return best
                best = pos = element
            else:
                return best
    except (ValueError, IndexError):
        return best
    return best


# --------------------------------------------------------------------------- JSON


def _json_error(text: str, exc: json.JSONDecodeError, base: int = 0) -> SourceError:
    line, column = offset_to_position(text, exc.pos, base=base)
    return SourceError(f"invalid JSON: {exc.msg}", line, column)


def load_json(text: str) -> Unit:
    """Parse a whole JSON file."""
    start = 1 if text.startswith("\ufeff") else 0
    try:
        document = _DECODER.decode(text[start:]) if start else json.loads(text)
    except json.JSONDecodeError as exc:
        if start:
            exc.pos += start
        raise _json_error(text, exc) from None
    except RecursionError:
        raise SourceError("invalid JSON: nesting too deep") from None

    def locate(tokens: Sequence[str]) -> tuple[int, int]:
        return offset_to_position(text, json_offset(text, tokens, start))

    return Unit(document, 1, locate)


def iter_jsonl(
    stream: Iterable[bytes],
) -> Iterator[tuple[int, str, Unit | SourceError | None]]:
    """One (line number, raw line, unit or error) per line, streamed; None for blank lines.

    The raw line is decoded with ``surrogateescape``, so writing it back with the
    same error handler restores the original bytes, even for a line that is not
    UTF-8 (reported as an error, never changed).
    """
    for number, data in enumerate(stream, 1):
        raw = data.decode("utf-8", "surrogateescape")
        line = raw.lstrip("\ufeff") if number == 1 else raw
        if not line.strip():
            yield number, raw, None
            continue
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            column = len(data[: exc.start].decode("utf-8", "replace")) + 1
            message = f"not UTF-8 text: {exc.reason} at byte {exc.start} of the line"
            yield number, raw, SourceError(message, number, column)
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as exc:
            _, column = offset_to_position(line, exc.pos)
            yield number, raw, SourceError(f"invalid JSON: {exc.msg}", number, column)
            continue
        except RecursionError:
            yield number, raw, SourceError("invalid JSON: nesting too deep", number, 1)
            continue
        yield number, raw, Unit(document, number, _jsonl_locator(line, number))


def _jsonl_locator(line: str, number: int) -> Locate:
    def locate(tokens: Sequence[str]) -> tuple[int, int]:
        _, column = offset_to_position(line, json_offset(line, tokens))
        return number, column

    return locate


# --------------------------------------------------------------------------- YAML


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


def load_yaml(text: str) -> Unit:
    """Parse a YAML file holding one document, keeping node marks for positions."""
    import yaml

    global _LOADER
    if _LOADER is None:
        _LOADER = _yaml_loader()
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        document = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "malformed document"
        raise SourceError(f"invalid YAML: {problem}", line, column) from None
    except yaml.YAMLError as exc:
        raise SourceError(f"invalid YAML: {exc}") from None
    except RecursionError:
        raise SourceError("invalid YAML: nesting too deep") from None
    finally:
        loader.dispose()

    def locate(tokens: Sequence[str]) -> tuple[int, int]:
        return _yaml_position(node, tokens)

    return Unit(document, 1, locate)


def _yaml_position(node: Any, tokens: Sequence[str]) -> tuple[int, int]:
    import yaml

    if node is None:
        return 1, 1
    mark = node.start_mark
    for token in tokens:
        child: Any = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == token:
                    child, mark = value_node, key_node.start_mark
        elif isinstance(node, yaml.SequenceNode) and is_index(token):
            index = int(token)
            if index < len(node.value):
                child = node.value[index]
                mark = child.start_mark
        if child is None:
            break
        node = child
    return mark.line + 1, mark.column + 1


# --------------------------------------------------------------------------- envelopes


def file_tokens(diagnostic: Diagnostic, tokens: Sequence[str], envelope: bool) -> list[str] | None:
    """Where a diagnostic's pointer lives in the file's document; None if not in the file."""
    if diagnostic.scope == "body":
        return ["body", *tokens] if envelope else list(tokens)
    if not envelope:
        return None
    if diagnostic.scope == "headers":
        return ["headers", *tokens]
    # url scope: the pointer names the base URL ("") or the request path.
    if tokens and tokens[0] in ("path", "base_url"):
        return [tokens[0]]
    return ["base_url"]


def fixable(diagnostic: Diagnostic, unsafe: bool) -> bool:
    """Whether ``--fix`` (with or without ``--unsafe-fixes``) applies this diagnostic."""
    fix = diagnostic.fix
    if fix is None or diagnostic.action not in ("removed", "replaced"):
        return False
    return fix.applicability == "safe" or unsafe


def split_envelope(document: Any) -> tuple[bool, dict[str, Any]]:
    """``(is_envelope, check kwargs)`` for a parsed document.

    An envelope is an object with a ``body`` member and neither ``messages`` nor
    ``model``: ``{"body": ..., "headers": ..., "base_url": ..., "path": ...}``.
    """
    if (
        isinstance(document, dict)
        and "body" in document
        and "messages" not in document
        and "model" not in document
    ):
        return True, {k: document[k] for k in ENVELOPE_KEYS if k in document}
    return False, {"body": document}
