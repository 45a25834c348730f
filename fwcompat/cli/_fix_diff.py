"""Diffs of fixes (``--diff``): a unified diff built from the splices themselves."""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator, Sequence

__all__ = ["diff_header", "splice_diff"]

Splice = tuple[int, int, str]
"""(start, end, new text): ``old[start:end]`` becomes the new text."""
Change = tuple[int, int, list[str], list[str]]
"""(first line, last line, the lines before, the lines after) of one changed range."""
CONTEXT = 3
"""Lines of context around each change, as ``diff -u``."""


def _diff_names(name: str) -> tuple[str, str]:
    """Relative names get git's ``a/``, ``b/`` prefixes; absolute ones stay as they are."""
    if os.path.isabs(name):
        return name, name
    return f"a/{name}", f"b/{name}"


def diff_header(name: str) -> str:
    before, after = _diff_names(name)
    return f"--- {before}\n+++ {after}\n"


def splice_diff(old: str, splices: Sequence[Splice], name: str) -> str:
    """The unified diff of ``old`` with ``splices`` applied, built from the splices.

    Linear in the text and the number of edits (difflib's matcher is quadratic on
    the many identical lines of a big file: 4,000 edits took 30 s), and the same
    lines as ``difflib.unified_diff`` of the two texts.
    """
    lines = _Lines(old)
    changes = _changes(lines, _groups(lines, splices))
    return diff_header(name) + "".join(_hunks(old.splitlines(keepends=True), changes))


class _Lines:
    """Line numbers (0-based) of offsets in a text, and each line's end."""

    def __init__(self, text: str) -> None:
        self.text = text
        starts = [0]
        starts.extend(i + 1 for i, ch in enumerate(text) if ch == "\n")
        if starts[-1] == len(text) and len(starts) > 1:
            starts.pop()  # no line after a final newline
        self.starts = starts

    def of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1

    def end(self, line: int) -> int:
        return self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)


def _groups(lines: _Lines, splices: Sequence[Splice]) -> list[tuple[int, int, list[Splice]]]:
    """The splices grouped by the line ranges they change (overlapping ranges merged)."""
    groups: list[tuple[int, int, list[Splice]]] = []
    for splice in sorted(splices):
        start, end, _ = splice
        first = lines.of(start)
        last = lines.of(end - 1) if end > start else first
        if groups and first <= groups[-1][1]:
            g_first, g_last, members = groups[-1]
            groups[-1] = (g_first, max(g_last, last), [*members, splice])
        else:
            groups.append((first, last, [splice]))
    return groups


def _changes(lines: _Lines, groups: list[tuple[int, int, list[Splice]]]) -> list[Change]:
    """Each group's lines before and after; a range whose new text would end mid-line
    takes in the next line, so every hunk is whole lines on both sides."""
    old = lines.text
    changes: list[Change] = []
    n = 0
    while n < len(groups):
        first, last, members = groups[n]
        n += 1
        while True:
            a, b = lines.starts[first], lines.end(last)
            parts: list[str] = []
            at = a
            for start, end, new in members:
                parts.append(old[at:start])
                parts.append(new)
                at = end
            parts.append(old[at:b])
            after_text = "".join(parts)
            if after_text and not after_text.endswith("\n") and b < len(old):
                last += 1
                while n < len(groups) and groups[n][0] <= last:
                    last = max(last, groups[n][1])
                    members = [*members, *groups[n][2]]
                    n += 1
                continue
            break
        before = old[a:b].splitlines(keepends=True)
        changes.append((first, last, before, after_text.splitlines(keepends=True)))
    return changes


def _hunks(lines: list[str], changes: list[Change]) -> Iterator[str]:
    """The hunks: changes closer than twice the context share one."""
    i = 0
    offset = 0  # new line number minus old line number so far
    while i < len(changes):
        j = i
        while j + 1 < len(changes) and changes[j + 1][0] - changes[j][1] - 1 <= 2 * CONTEXT:
            j += 1
        hunk, offset = _hunk(lines, changes[i : j + 1], offset)
        yield hunk
        i = j + 1


def _hunk(lines: list[str], changes: list[Change], offset: int) -> tuple[str, int]:
    """One hunk of nearby changes, and the line offset after it."""
    lo = max(0, changes[0][0] - CONTEXT)
    hi = min(len(lines) - 1, changes[-1][1] + CONTEXT)
    body: list[str] = []
    cursor = lo
    old_count = new_count = 0
    hunk_offset = offset
    for first, last, before, after in changes:
        for line in lines[cursor:first]:
            body.append(" " + line)
            old_count += 1
            new_count += 1
        body.extend("-" + line for line in before)
        body.extend("+" + line for line in after)
        old_count += len(before)
        new_count += len(after)
        offset += len(after) - len(before)
        cursor = last + 1
    for line in lines[cursor : hi + 1]:
        body.append(" " + line)
        old_count += 1
        new_count += 1
    old_start = lo + 1 if old_count else lo
    new_start = lo + 1 + hunk_offset if new_count else lo + hunk_offset
    head = f"@@ -{_span(old_start, old_count)} +{_span(new_start, new_count)} @@\n"
    text = "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in body
    )
    return head + text, offset


def _span(start: int, count: int) -> str:
    return str(start) if count == 1 else f"{start},{count}"
