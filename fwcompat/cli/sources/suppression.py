"""Inline suppressions: ``# fwcompat: ignore[CODE]`` comments in YAML files."""

from __future__ import annotations

import re

__all__ = ["ALL_CODES", "IGNORE_MARK", "inline_ignores", "is_ignored"]

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
