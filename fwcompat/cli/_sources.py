"""Reading request files: JSON, YAML and JSONL, with JSON Pointer -> line:col maps.

A *source* is one file (or stdin). It yields *units*: one document each, with a
``locate_all(pointers) -> [(line, col), ...]`` function that maps pointers into
the unit's document to 1-based positions in the file. Positions are computed
only for pointers that carry a diagnostic, in **one pass** over the text (an
offset index built once per document), so cost stays linear in the file size
plus the number of diagnostics, and clean files cost one parse.

Before anything is reported or fixed, :func:`classify` decides whether a
document is a request at all (see its docstring): ``package.json`` or a
workflow file is skipped, never reported on and never written.

JSONL files are streamed line by line: memory stays constant whatever the size.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any, Literal, NamedTuple, ParamSpec, TypeVar

from fwcompat.engine._paths import is_index

__all__ = [
    "DEFAULT_EXCLUDE",
    "DEFAULT_INCLUDE",
    "ENVELOPE_KEYS",
    "REQUEST_KEYS",
    "FileSettings",
    "Format",
    "GitIgnore",
    "Problem",
    "SourceError",
    "Unit",
    "YamlInfo",
    "classify",
    "detect_format",
    "discover",
    "file_tokens",
    "fixable",
    "json_index",
    "json_offset",
    "load_json",
    "load_yaml",
    "offset_to_position",
    "path_matches",
    "positions",
    "scanstring",
    "split_envelope",
]

Format = Literal["json", "yaml", "jsonl"]
Kind = Literal["request", "envelope"]
Tokens = Sequence[str]
LocateAll = Callable[[Sequence[Tokens]], list[tuple[int, int]]]

SUFFIXES: dict[str, Format] = {
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
DEFAULT_INCLUDE = ("*.json", "*.yaml", "*.yml", "*.jsonl", "*.ndjson")
"""Files searched for under a folder (``include`` replaces this list)."""
DEFAULT_EXCLUDE = (
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
    "dist",
    "build",
)
"""Never searched (``exclude`` replaces this list, ``extend-exclude`` adds to it)."""
ENVELOPE_KEYS = ("body", "headers", "base_url", "path")
REQUEST_KEYS = frozenset(
    {
        "system",
        "tools",
        "tool_choice",
        "stop_sequences",
        "thinking",
        "container",
        "service_tier",
        "mcp_servers",
        "output_config",
        "context_management",
        "inference_geo",
        "speed",
    }
)
"""Top-level members only a Messages request has. Generic ones (``max_tokens``,
``temperature``, ``stream``, ``metadata``) are left out on purpose: an LLM config
file with ``model`` and ``temperature`` is not a request, and ``--fix`` must never
strip its other keys."""
MAX_ALIAS_EXPANSION = 100_000
"""YAML aliases may add at most this many nodes to a document (alias bombs)."""
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_LONG_INT = re.compile(r"-?\d{4301,}")


P = ParamSpec("P")
R = TypeVar("R")


def without_gc(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` with the cyclic GC paused.

    Parsing and indexing allocate many objects and no cycles; a collection pass
    in the middle scans every live object, which made the cost of a big file grow
    faster than its size. Reference counting still frees everything.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not gc.isenabled():
            return function(*args, **kwargs)
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            gc.enable()

    return wrapper


class SourceError(Exception):
    """A file that cannot be read or parsed; ``line``/``column`` are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1, *, io: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.io = io


class Problem(NamedTuple):
    """A defect of the document itself (duplicate key, non-string key), placed in the file."""

    code: str
    message: str
    line: int
    column: int


class YamlInfo(NamedTuple):
    """What the YAML fixer needs: the node tree and which nodes aliases share."""

    text: str
    root: Any
    shared: frozenset[int]
    """ids of nodes reached more than once (through aliases) or holding a merge key."""
    bom: int


class Unit(NamedTuple):
    """One document of a file: the parsed value plus a way to find pointers in it."""

    document: Any
    line: int
    """1-based line where the unit starts (the JSONL line; 1 for whole files)."""
    locate_all: LocateAll
    """Token lists of RFC 6901 pointers -> 1-based (line, column) each, in one pass."""
    problems: tuple[Problem, ...] = ()
    yaml: YamlInfo | None = None
    number: int | None = None
    """1-based number of the document in a YAML stream of several; None for one."""

    def locate(self, tokens: Tokens) -> tuple[int, int]:
        return self.locate_all([tokens])[0]


# --------------------------------------------------------------------------- requests


def _looks_like_body(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if "messages" in value:
        return True
    return "model" in value and any(key in REQUEST_KEYS for key in value)


def classify(document: Any) -> Kind | None:
    """Whether a document is a Messages request, an envelope holding one, or neither.

    - a **request** is an object with a ``messages`` member, or with ``model``
      plus a member only Messages requests have (``system``, ``tools``,
      ``thinking``, ``stop_sequences`` ... see :data:`REQUEST_KEYS`);
    - an **envelope** is an object with a ``body`` that is a request, no
      ``messages`` or ``model`` of its own, and only envelope members
      (``body``, ``headers``, ``base_url``, ``path``);
    - anything else (``package.json``, a CI workflow, a list, a scalar) is
      neither: it is skipped, never reported on and never written.
    """
    if not isinstance(document, dict):
        return None
    if _looks_like_body(document):
        return "request"
    if (
        "body" in document
        and all(isinstance(key, str) and key in ENVELOPE_KEYS for key in document)
        and _looks_like_body(document["body"])
    ):
        return "envelope"
    return None


def split_envelope(document: Any) -> tuple[bool, dict[str, Any]]:
    """``(is_envelope, check kwargs)`` for a parsed document (stdin is always a request)."""
    if (
        isinstance(document, dict)
        and "body" in document
        and "messages" not in document
        and "model" not in document
        and all(isinstance(key, str) and key in ENVELOPE_KEYS for key in document)
    ):
        return True, {k: document[k] for k in ENVELOPE_KEYS if k in document}
    return False, {"body": document}


# --------------------------------------------------------------------------- discovery


class FileSettings(NamedTuple):
    """Which files a folder search takes, and which rules each file skips (ruff's keys).

    Patterns are gitignore-style (``**``, ``!``, a trailing ``/`` for folders, matched
    through pathspec): a pattern without ``/`` matches a name at any depth, one with
    ``/`` is anchored at ``root`` (the folder of the config file that set it; the
    current folder for ``--config`` and the defaults).
    """

    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(pattern, codes) pairs; a pattern starting with ``!`` applies to files it does not match."""
    respect_gitignore: bool = True
    root: str = ""
    """Folder that anchored patterns are relative to ("" = the current folder)."""

    def with_flags(
        self,
        *,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        extend_exclude: Sequence[str] | None = None,
        per_file_ignores: Sequence[tuple[str, Sequence[str]]] | None = None,
        extend_per_file_ignores: Sequence[tuple[str, Sequence[str]]] | None = None,
        respect_gitignore: bool | None = None,
    ) -> FileSettings:
        ignores = self.per_file_ignores
        if per_file_ignores is not None:
            ignores = tuple((p, tuple(c)) for p, c in per_file_ignores)
        if extend_per_file_ignores:
            ignores = (*ignores, *((p, tuple(c)) for p, c in extend_per_file_ignores))
        return self._replace(
            include=tuple(include) if include else self.include,
            exclude=(*(tuple(exclude) if exclude else self.exclude), *(extend_exclude or ())),
            per_file_ignores=ignores,
            respect_gitignore=(
                self.respect_gitignore if respect_gitignore is None else respect_gitignore
            ),
        )

    def ignored_codes(self, path: str) -> tuple[str, ...]:
        """The codes ``per-file-ignores`` turns off for ``path``."""
        codes: list[str] = []
        for pattern, listed in self.per_file_ignores:
            negated = pattern.startswith("!")
            hit = path_matches(path, (pattern[1:] if negated else pattern,), self.root)
            if hit != negated:
                codes.extend(c for c in listed if c not in codes)
        return tuple(codes)


@functools.lru_cache(maxsize=512)
def _spec(patterns: tuple[str, ...]) -> Any:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns)


def _relative(path: str, root: str) -> str:
    """``path`` relative to ``root`` with ``/`` separators; a path outside ``root`` as
    given, less its leading ``../`` (so unanchored patterns still match its names)."""
    absolute = os.path.abspath(path)
    try:
        rel = os.path.relpath(absolute, os.path.abspath(root or os.curdir))
    except ValueError:  # another drive (Windows)
        rel = absolute
    parts = [p for p in rel.replace(os.sep, "/").split("/") if p not in ("", ".", "..")]
    return "/".join(parts)


def path_matches(
    path: str, patterns: Sequence[str], root: str = "", *, folder: bool = False, own: bool = False
) -> bool:
    """Whether a gitignore-style pattern list matches ``path`` or a folder above it.

    ``own``: only a match of the path itself counts, not one it inherits from a folder
    above (a folder search prunes excluded folders as it goes, and never excludes the
    folder it was given)."""
    if not patterns:
        return False
    return _rel_matches(_relative(path, root), patterns, folder=folder, own=own)


def _rel_matches(rel: str, patterns: Sequence[str], *, folder: bool, own: bool) -> bool:
    """:func:`path_matches` for a path already relative to the patterns' root."""
    if not rel or not patterns:
        return False
    spec = _spec(tuple(patterns))
    if not spec.match_file(rel + "/" if folder else rel):
        return False
    return not (own and "/" in rel and spec.match_file(rel.rsplit("/", 1)[0] + "/"))


def _git_root(folder: str) -> str | None:
    current = os.path.abspath(folder)
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


class GitIgnore:
    """The ``.gitignore`` files that apply to a folder, as git reads them: the folder's
    own and those above it up to the work tree's root (a deeper file wins). Outside a
    git work tree nothing is ignored (ripgrep's and ruff's default)."""

    def __init__(self) -> None:
        self._specs: dict[str, tuple[tuple[str, Any], ...]] = {}
        self._roots: dict[str, str | None] = {}

    def _chain(self, folder: str) -> tuple[tuple[str, Any], ...]:
        found = self._specs.get(folder)
        if found is not None:
            return found
        git_root = self._roots.get(folder, "?")
        if git_root == "?":
            git_root = _git_root(folder)
            self._roots[folder] = git_root
        if git_root is None:
            chain: tuple[tuple[str, Any], ...] = ()
        else:
            parent = os.path.dirname(folder)
            inherited = () if folder == git_root else self._chain(parent)
            if parent != folder and folder != git_root:
                self._roots.setdefault(parent, git_root)
            chain = inherited
            try:
                with open(os.path.join(folder, ".gitignore"), encoding="utf-8") as handle:
                    lines = handle.read().splitlines()
            except (OSError, UnicodeDecodeError):
                lines = []
            if lines:
                chain = (*inherited, (folder, _spec(tuple(lines))))
        self._specs[folder] = chain
        return chain

    def ignored(self, path: str, *, folder: bool = False, own: bool = False) -> bool:
        """Whether git ignores ``path``; ``own`` as for :func:`path_matches`."""
        absolute = path if os.path.isabs(path) else os.path.abspath(path)
        for base, spec in reversed(self._chain(os.path.dirname(absolute))):
            if absolute.startswith(base + os.sep):
                rel = absolute[len(base) + 1 :].replace(os.sep, "/")
            else:
                rel = os.path.relpath(absolute, base).replace(os.sep, "/")
            verdict = _verdict(spec, rel + "/" if folder else rel)
            if verdict is None:
                continue
            if verdict and own and "/" in rel and _verdict(spec, rel.rsplit("/", 1)[0] + "/"):
                return False
            return verdict
        return False


def _verdict(spec: Any, rel: str) -> bool | None:
    """The last pattern of a .gitignore that matches decides; None when none does."""
    verdict = None
    for pattern in spec.patterns:
        if pattern.include is not None and pattern.match_file(rel) is not None:
            verdict = bool(pattern.include)
    return verdict


def _excluded(path: str, settings: FileSettings) -> bool:
    """A named path is excluded when it, or a folder above it, matches ``exclude``.

    As ruff's ``--force-exclude``: the exclude patterns only; ``.gitignore`` decides
    what a folder search finds, never whether a file named on the command line is read.
    """
    return path_matches(path, settings.exclude, settings.root, folder=os.path.isdir(path))


class WalkError(NamedTuple):
    path: str
    message: str


def discover(
    paths: Sequence[str],
    *,
    include: Sequence[str] = DEFAULT_INCLUDE,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    force_exclude: bool = False,
    skip: frozenset[str] = frozenset(),
    selection: Callable[[str], FileSettings] | None = None,
) -> Iterator[str | WalkError]:
    """Expand folders recursively into their request files; files pass through as given.

    Under a folder, a file must match ``include`` and neither it nor a folder above
    it may match ``exclude`` or (``respect_gitignore``) a ``.gitignore``. Each folder
    uses the selection of its own settings: ``selection(folder)`` (hierarchical config),
    else the ``include`` / ``exclude`` given. A file named on the command line is
    always checked, unless ``force_exclude`` (for pre-commit, which names every file).
    ``skip`` holds real paths never to read (the report file). A folder that cannot
    be listed yields a :class:`WalkError`.
    """
    if selection is None:
        fixed = FileSettings(tuple(include), tuple(exclude))

        def selection(folder: str) -> FileSettings:
            return fixed

    gitignore = GitIgnore()
    seen: set[str] = set()
    for path in paths:
        if path != "-" and os.path.isdir(path):
            if force_exclude and _excluded(path, selection(os.path.dirname(os.path.abspath(path)))):
                continue
            found: list[str | WalkError] = []
            errors: list[OSError] = []
            for root, dirs, files in os.walk(path, onerror=errors.append):
                settings = selection(root)
                use_git = settings.respect_gitignore
                # Relative and absolute forms of the folder once; its entries are joins.
                here = _relative(root, settings.root)
                prefix = here + "/" if here else ""
                absolute = os.path.abspath(root)
                include, exclude = settings.include, settings.exclude
                kept = []
                for d in sorted(dirs):
                    if _rel_matches(prefix + d, exclude, folder=True, own=True):
                        continue
                    if use_git and gitignore.ignored(
                        os.path.join(absolute, d), folder=True, own=True
                    ):
                        continue
                    kept.append(d)
                dirs[:] = kept
                for f in files:
                    rel = prefix + f
                    if not _rel_matches(rel, include, folder=False, own=False):
                        continue
                    if _rel_matches(rel, exclude, folder=False, own=True):
                        continue
                    if use_git and gitignore.ignored(os.path.join(absolute, f), own=True):
                        continue
                    found.append(os.path.join(root, f))
            for error in errors:
                where = error.filename if isinstance(error.filename, str) else path
                found.append(WalkError(where, f"cannot read folder: {error.strerror or error}"))
            candidates: list[str | WalkError] = sorted(
                found, key=lambda c: c.path if isinstance(c, WalkError) else c
            )
        else:
            if (
                force_exclude
                and path != "-"
                and _excluded(path, selection(os.path.dirname(os.path.abspath(path))))
            ):
                continue
            candidates = [path]
        for candidate in candidates:
            if isinstance(candidate, WalkError):
                yield candidate
                continue
            key = candidate if candidate == "-" else os.path.normpath(candidate)
            if key in seen:
                continue
            seen.add(key)
            if skip and candidate != "-" and os.path.realpath(candidate) in skip:
                continue
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


def positions(text: str, offsets: Sequence[int]) -> list[tuple[int, int]]:
    """Many offsets -> (line, column) each, in one sweep over the text (sorted order)."""
    order = sorted(range(len(offsets)), key=offsets.__getitem__)
    out: list[tuple[int, int]] = [(1, 1)] * len(offsets)
    line, last, line_start = 1, 0, 0
    for index in order:
        offset = max(0, min(offsets[index], len(text)))
        newlines = text.count("\n", last, offset)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", last, offset) + 1
        last = offset
        out[index] = (line, offset - line_start + 1)
    return out


def _ws(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _skip(text: str, pos: int) -> int:
    """Offset after the JSON value at ``pos``."""
    try:
        return int(_DECODER.raw_decode(text, pos)[1])
    except RecursionError:
        return _skip_deep(text, pos)


_STRUCTURE = re.compile(r'["\[\]{}]')


def _skip_deep(text: str, pos: int) -> int:
    """Skip a value nested deeper than the C decoder's recursion limit, iteratively."""
    depth = 0
    i = pos
    while True:
        match = _STRUCTURE.search(text, i)
        if match is None:
            raise ValueError("unterminated value")
        ch = match.group()
        if ch == '"':
            i = scanstring(text, match.start() + 1)[1]
            if depth == 0:
                return int(i)
            continue
        depth += 1 if ch in "[{" else -1
        i = match.end()
        if depth == 0:
            return i


class _Done(Exception):
    """Every wanted pointer was found: stop scanning early."""


Members = list[tuple[str, int, int, int]]
"""(key or index token, member start, value start, value end) per member."""


class JsonIndex(NamedTuple):
    offsets: dict[tuple[str, ...], int]
    """pointer -> offset of its key (object member) or of the element (array)."""
    values: dict[tuple[str, ...], int]
    """pointer -> offset of its value."""
    members: dict[tuple[str, ...], tuple[int, int, Members]]
    """container pointer -> (open bracket, close bracket, members), for wanted parents."""


def _scan(
    text: str,
    pos: int,
    trie: dict[str, Any],
    prefix: tuple[str, ...],
    index: JsonIndex,
    remaining: list[int],
    with_members: bool,
) -> int:
    """Index the container at ``pos`` along ``trie``; returns the offset after it."""
    is_object = text[pos] == "{"
    close = "}" if is_object else "]"
    members: Members = []
    i = _ws(text, pos + 1)
    if text[i] == close:
        if with_members:
            index.members[prefix] = (pos, i, members)
        return i + 1
    n = 0
    while True:
        start = i
        if is_object:
            if text[i] != '"':
                raise ValueError("expected a key")
            token, i = scanstring(text, i + 1)
            i = _ws(text, i)
            if text[i] != ":":
                raise ValueError("expected ':'")
            i = _ws(text, i + 1)
        else:
            token = str(n)
        value_at = i
        child = trie.get(token)
        if child is not None:
            path = (*prefix, token)
            if path not in index.offsets:
                remaining[0] -= 1
            index.offsets[path] = start
            index.values[path] = value_at
            if child and text[i] in "{[":
                i = _scan(text, i, child, path, index, remaining, with_members)
            else:
                if not remaining[0] and not with_members:
                    raise _Done
                i = _skip(text, i)
        else:
            i = _skip(text, i)
        members.append((token, start, value_at, i))
        n += 1
        i = _ws(text, i)
        if text[i] == ",":
            i = _ws(text, i + 1)
            continue
        if text[i] != close:
            raise ValueError(f"expected ',' or {close!r}")
        if with_members:
            index.members[prefix] = (pos, i, members)
        return i + 1


@without_gc
def json_index(
    text: str, pointers: Iterable[Tokens], start: int = 0, *, with_members: bool = False
) -> JsonIndex:
    """One pass over JSON ``text`` that finds every pointer (and, for fixes, their parents).

    Only the containers on the way to a wanted pointer are scanned member by
    member; everything else is skipped by the C decoder, so the cost is one
    parse of the text whatever the number of pointers. Unreadable text (which a
    parse already rejected) or nesting beyond the interpreter's limit simply
    leaves the rest unindexed: locating falls back to the deepest ancestor found.
    """
    root = _ws(text, start)
    trie: dict[str, Any] = {}
    count = 0
    for tokens in pointers:
        node = trie
        for token in tokens:
            nxt = node.get(token)
            if nxt is None:
                nxt = node[token] = {}
                count += 1
            node = nxt
    index = JsonIndex({(): root}, {(): root}, {})
    if trie and root < len(text) and text[root] in "{[":
        with contextlib.suppress(_Done, ValueError, IndexError, RecursionError):
            _scan(text, root, trie, (), index, [count], with_members)
    return index


def _found(offsets: dict[tuple[str, ...], int], tokens: Tokens) -> int:
    key = tuple(tokens)
    while key not in offsets:
        key = key[:-1]
    return offsets[key]


def json_offset(text: str, tokens: Tokens, start: int = 0) -> int:
    """Offset of the pointer's target in JSON ``text``.

    For an object member that is its key's opening quote (where an editor should
    put the cursor), for an array element the element itself. A pointer that does
    not exist (a required member that is missing) falls back to its deepest
    existing ancestor.
    """
    return _found(json_index(text, [tokens], start).offsets, tokens)


# --------------------------------------------------------------------------- JSON

_DUPLICATES: list[str] = []


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                _DUPLICATES.append(key)
            seen.add(key)
    return document


class _Constant(ValueError):
    """``NaN``, ``Infinity``, ``-Infinity``: Python reads them, JSON has no such values."""


def _no_constant(name: str) -> Any:
    raise _Constant(name)


_PAIRS_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_no_constant)
_CONSTANT = re.compile(r"-?Infinity|NaN")


def _parse_json(text: str, start: int, line_base: int) -> tuple[Any, list[str]]:
    """Parse JSON text; returns (document, duplicated keys). Raises SourceError."""
    del _DUPLICATES[:]
    try:
        document = _PAIRS_DECODER.decode(text[start:] if start else text)
    except json.JSONDecodeError as exc:
        line, column = offset_to_position(text, exc.pos + start)
        raise SourceError(f"invalid JSON: {exc.msg}", line + line_base, column) from None
    except RecursionError:
        raise SourceError("invalid JSON: nesting too deep", line_base + 1) from None
    except _Constant as exc:
        match = _CONSTANT.search(text)
        line, column = offset_to_position(text, match.start()) if match else (1, 1)
        raise SourceError(
            f"invalid JSON: {exc} is not a JSON number", line + line_base, column
        ) from None
    except ValueError as exc:
        # Python refuses to convert integers of more than 4,300 digits.
        match = _LONG_INT.search(text)
        line, column = offset_to_position(text, match.start()) if match else (1, 1)
        if match:
            message = f"invalid JSON: a number of {len(match.group().lstrip('-'))} digits"
        else:
            message = f"invalid JSON: {exc}"
        raise SourceError(message, line + line_base, column) from None
    return document, list(_DUPLICATES)


def _duplicate_problems(
    text: str, start: int, keys: list[str], line_base: int
) -> tuple[Problem, ...]:
    """Place duplicated keys: a slow walk, run only when a duplicate was seen."""
    wanted = set(keys)
    found: list[tuple[str, int]] = []

    def walk(pos: int, depth: int) -> int:
        if depth > 400:
            raise RecursionError
        ch = text[pos]
        if ch not in "{[":
            return _skip(text, pos)
        close = "}" if ch == "{" else "]"
        i = _ws(text, pos + 1)
        if text[i] == close:
            return i + 1
        seen: set[str] = set()
        while True:
            if ch == "{":
                key, end = scanstring(text, i + 1)
                if key in seen and key in wanted:
                    found.append((key, i))
                seen.add(key)
                i = _ws(text, _ws(text, end) + 1)
            i = _ws(text, walk(i, depth + 1))
            if text[i] != ",":
                return i + 1
            i = _ws(text, i + 1)

    with contextlib.suppress(ValueError, IndexError, RecursionError):
        walk(_ws(text, start), 0)
    if not found:
        found = [(key, start) for key in keys]
    places = positions(text, [offset for _, offset in found])
    return tuple(
        Problem(
            "E904",
            f"duplicate key {key!r}: JSON readers disagree on which value wins",
            line + line_base,
            column,
        )
        for (key, _), (line, column) in zip(found, places, strict=False)
    )


@without_gc
def load_json(text: str, *, line: int = 1) -> Unit:
    """Parse a whole JSON file (or one JSONL line, ``line`` being its number)."""
    start = 1 if text.startswith("\ufeff") else 0
    base = line - 1
    document, duplicates = _parse_json(text, start, base)
    problems = _duplicate_problems(text, start, duplicates, base) if duplicates else ()

    def locate_all(pointers: Sequence[Tokens]) -> list[tuple[int, int]]:
        offsets = json_index(text, pointers, start).offsets
        places = positions(text, [_found(offsets, tokens) for tokens in pointers])
        return [(row + base, column) for row, column in places]

    return Unit(document, line, locate_all, problems)


def iter_jsonl(
    stream: Iterable[bytes],
) -> Iterator[tuple[int, str, Unit | SourceError | None]]:
    """One (line number, raw line, unit or error) per line, streamed; None for blank lines.

    The raw line is decoded with ``surrogateescape``, so writing it back with the
    same error handler restores the original bytes, even for a line that is not
    UTF-8 (reported as an error, never changed).
    """
    for number, data in enumerate(stream, 1):
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raw = data.decode("utf-8", "surrogateescape")
            if raw.strip():
                column = len(data[: exc.start].decode("utf-8", "replace")) + 1
                message = f"not UTF-8 text: {exc.reason} at byte {exc.start} of the line"
                yield number, raw, SourceError(message, number, column)
            else:
                yield number, raw, None
            continue
        line = raw.lstrip("\ufeff") if number == 1 else raw
        if not line.strip():
            yield number, raw, None
            continue
        try:
            yield number, raw, load_json(line.rstrip("\r\n"), line=number)
        except SourceError as exc:
            yield number, raw, exc


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
            seen: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag == _MERGE:
                    merged.add(nid)
                elif not isinstance(key, yaml.ScalarNode) or key.tag != _STR:
                    fatal = True
                    what = _KIND.get(key.tag, "not a string")
                    shown = key.value if isinstance(key, yaml.ScalarNode) else "?"
                    problems.append(
                        Problem(
                            "E905",
                            f"key {shown!r} is {what}, not a string: JSON object keys are "
                            f'strings; quote it ("{shown}")',
                            *_mark(key),
                        )
                    )
                elif key.value in seen:
                    problems.append(
                        Problem(
                            "E904",
                            f"duplicate key {key.value!r}: YAML readers disagree on "
                            "which value wins",
                            *_mark(key),
                        )
                    )
                else:
                    seen.add(key.value)
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


# --------------------------------------------------------------------------- suppression

IGNORE_MARK = "fwcompat: ignore"
_IGNORE = re.compile(r"(?:^|[ \t])#[ \t]*fwcompat:[ \t]*ignore(?:\[([^\]\n]*)\])?")
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"\\]|\\.)*\"")
ALL_CODES: frozenset[str] = frozenset({"*"})
"""The codes of a bare ``# fwcompat: ignore``: every finding on its line."""


def inline_ignores(text: str) -> dict[int, frozenset[str]]:
    """1-based line -> codes a YAML comment turns off there (:data:`ALL_CODES` for all).

    ``# fwcompat: ignore[FW401, FW402]`` at the end of a line applies to that line, as
    ruff's ``# noqa``; alone on its line it applies to the next line that is not blank
    or a comment, as yamllint's ``# yamllint disable-line``. Codes are exact. A ``#``
    inside a quoted string on the line is not a comment (a string quoted over several
    lines is not followed).
    """
    if IGNORE_MARK not in text:
        return {}
    out: dict[int, frozenset[str]] = {}
    waiting: set[str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        match = _IGNORE.search(_QUOTED.sub("''", line) if "'" in line or '"' in line else line)
        codes: set[str] | None = None
        if match is not None:
            listed = match.group(1)
            if listed is None:
                codes = set(ALL_CODES)
            else:
                codes = {c.strip() for c in listed.split(",") if c.strip()}
        if not stripped or stripped.startswith("#"):
            if codes is not None and stripped.startswith("#"):
                waiting = (waiting or set()) | codes
            continue
        mine = (waiting or set()) | (codes or set())
        waiting = None
        if mine:
            out[number] = frozenset(mine)
    return out


def is_ignored(codes: frozenset[str] | None, code: str) -> bool:
    return codes is not None and ("*" in codes or code in codes)


# --------------------------------------------------------------------------- envelopes


def file_tokens(scope: str, tokens: Sequence[str], envelope: bool) -> list[str] | None:
    """Where a diagnostic's pointer lives in the file's document; None if not in the file."""
    if scope == "body":
        return ["body", *tokens] if envelope else list(tokens)
    if not envelope:
        return None
    if scope == "headers":
        return ["headers", *tokens]
    # url scope: the pointer names the base URL ("") or the request path.
    if tokens and tokens[0] in ("path", "base_url"):
        return [tokens[0]]
    return ["base_url"]


def fixable(diagnostic: Any, unsafe: bool) -> bool:
    """Whether ``--fix`` (with or without ``--unsafe-fixes``) applies this diagnostic."""
    fix = diagnostic.fix
    if fix is None or diagnostic.action not in ("removed", "replaced"):
        return False
    return bool(fix.applicability == "safe" or unsafe)
