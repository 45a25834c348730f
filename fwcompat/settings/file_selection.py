"""Which files a folder search takes, and which rules each file skips: ruff's ``include``,
``exclude``, ``extend-exclude``, ``per-file-ignores`` and ``respect-gitignore``.

Shared by the config files (``[tool.fwcompat]``), the command line's flags, and the
folder search of ``fwcompat check`` (``fwcompat.cli.sources.discover``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any, NamedTuple

__all__ = [
    "DEFAULT_EXCLUDE",
    "DEFAULT_INCLUDE",
    "FileSettings",
    "gitignore_spec",
    "path_matches",
    "rel_matches",
    "relative_path",
]

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
def gitignore_spec(patterns: tuple[str, ...]) -> Any:
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(patterns)


def relative_path(path: str, root: str) -> str:
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
    return rel_matches(relative_path(path, root), patterns, folder=folder, own=own)


def rel_matches(rel: str, patterns: Sequence[str], *, folder: bool, own: bool) -> bool:
    """:func:`path_matches` for a path already relative to the patterns' root."""
    if not rel or not patterns:
        return False
    spec = _names_only(tuple(patterns)) or gitignore_spec(tuple(patterns))
    if not spec.match_file(rel + "/" if folder else rel):
        return False
    return not (own and "/" in rel and spec.match_file(rel.rsplit("/", 1)[0] + "/"))


_NAME_GLOB = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+@~*?")


class _NameSpec(NamedTuple):
    """What ``pathspec.GitIgnoreSpec`` does for patterns that are names or simple globs
    (``*.json``, ``node_modules``, ``build/``): each matches a name at any depth, and a
    folder that matches takes everything below it; a trailing ``/`` matches folders
    only. The defaults are such patterns, so a run that names its files never imports
    pathspec (a few ms of start-up); any other pattern goes to pathspec."""

    patterns: tuple[tuple[str, bool], ...]
    """(glob, folders only)."""

    def match_file(self, path: str) -> bool:
        from fnmatch import fnmatchcase

        names = path.rstrip("/").split("/")
        folders = names if path.endswith("/") else names[:-1]
        return any(
            fnmatchcase(name, glob)
            for glob, folder_only in self.patterns
            for name in (folders if folder_only else names)
        )


@functools.lru_cache(maxsize=512)
def _names_only(patterns: tuple[str, ...]) -> _NameSpec | None:
    """A :class:`_NameSpec` when every pattern is a simple name glob, else None."""
    out = []
    for pattern in patterns:
        glob = pattern[:-1] if pattern.endswith("/") else pattern
        if not glob or not set(glob) <= _NAME_GLOB or not glob.strip("."):
            return None
        out.append((glob, glob != pattern))
    return _NameSpec(tuple(out))
