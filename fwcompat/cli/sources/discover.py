"""Which files a check reads: folders searched recursively (``include``, ``exclude``,
``.gitignore`` through pathspec), files named on the command line as given, and each
file's format."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

from fwcompat.settings.file_selection import (
    DEFAULT_EXCLUDE,
    DEFAULT_INCLUDE,
    FileSettings,
    gitignore_spec,
    path_matches,
    rel_matches,
    relative_path,
)

from .units import Format

__all__ = ["SUFFIXES", "GitIgnore", "WalkError", "detect_format", "discover"]


SUFFIXES: dict[str, Format] = {
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


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
                chain = (*inherited, (folder, gitignore_spec(tuple(lines))))
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


def _excluded(path: str, selection: Callable[[str], FileSettings]) -> bool:
    """A named path is excluded when it, or a folder above it, matches ``exclude``.

    As ruff's ``--force-exclude``: the exclude patterns only; ``.gitignore`` decides
    what a folder search finds, never whether a file named on the command line is read.
    """
    settings = selection(os.path.dirname(os.path.abspath(path)))
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
        if path != "-" and force_exclude and _excluded(path, selection):
            continue
        if path != "-" and os.path.isdir(path):
            candidates = _search(path, selection, gitignore)
        else:
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


def _search(
    folder: str, selection: Callable[[str], FileSettings], gitignore: GitIgnore
) -> list[str | WalkError]:
    """The request files under ``folder``, sorted, with the folders that cannot be listed."""
    found: list[str | WalkError] = []
    errors: list[OSError] = []
    for root, dirs, files in os.walk(folder, onerror=errors.append):
        settings = selection(root)
        use_git = settings.respect_gitignore
        # Relative and absolute forms of the folder once; its entries are joins.
        here = relative_path(root, settings.root)
        prefix = here + "/" if here else ""
        absolute = os.path.abspath(root)
        include, exclude = settings.include, settings.exclude
        kept = []
        for d in sorted(dirs):
            if rel_matches(prefix + d, exclude, folder=True, own=True):
                continue
            if use_git and gitignore.ignored(os.path.join(absolute, d), folder=True, own=True):
                continue
            kept.append(d)
        dirs[:] = kept
        for f in files:
            rel = prefix + f
            if not rel_matches(rel, include, folder=False, own=False):
                continue
            if rel_matches(rel, exclude, folder=False, own=True):
                continue
            if use_git and gitignore.ignored(os.path.join(absolute, f), own=True):
                continue
            found.append(os.path.join(root, f))
    for error in errors:
        where = error.filename if isinstance(error.filename, str) else folder
        found.append(WalkError(where, f"cannot read folder: {error.strerror or error}"))
    return sorted(found, key=lambda c: c.path if isinstance(c, WalkError) else c)


def detect_format(name: str, head: str = "") -> Format:
    """By suffix; for unknown suffixes, sniff the first characters."""
    fmt = SUFFIXES.get(os.path.splitext(name)[1].lower())
    if fmt is not None:
        return fmt
    stripped = head.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):
        return "json"
    return "yaml"
