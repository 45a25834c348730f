"""Applying fixes to files: edits, in-place JSON text splices, and safe writes.

YAML text is fixed in :mod:`._fix_yaml`, diffs are built in :mod:`._fix_diff`.

Fixes come from the diagnostics (pointers into the *original* document), so the
CLI can apply only the safe ones unless ``--unsafe-fixes`` is given.

Both JSON and YAML are fixed by **splicing the text**: only the members a
diagnostic names change; every other byte (comments, order, quoting, blank
lines, a header comment or ``---``) stays as it was. Every splice is verified
by parsing the result and comparing it, strictly, with the same edits applied to
the parsed document; anything that does not verify raises :class:`FixRefused`
and the file is left byte-identical.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fwcompat.cli.sources.fixtures import file_tokens, fixable
from fwcompat.cli.sources.json_positions import json_index
from fwcompat.cli.sources.json_reader import load_json
from fwcompat.cli.sources.units import SourceError, Unit, without_gc
from fwcompat.engine import is_index, parse_pointer

__all__ = [
    "Edit",
    "FixRefused",
    "Splice",
    "apply_edits",
    "edits_for",
    "expected_after",
    "fix_json_text",
    "grouped",
    "runs",
    "same_document",
    "verified",
    "write_atomic",
]

Splice = tuple[int, int, str]
"""(start, end, new text): ``text[start:end]`` becomes the new text."""


class FixRefused(Exception):
    """A fix that cannot be applied exactly as named: the file stays as it was."""


@dataclass(frozen=True, slots=True)
class Edit:
    tokens: tuple[str, ...]
    """Where, as unescaped pointer tokens into the file's document."""
    remove: bool
    replacement: Any = None


def edits_for(diagnostics: Iterable[Any], envelope: bool, unsafe: bool) -> list[Edit]:
    edits = []
    for d in diagnostics:
        if not fixable(d, unsafe):
            continue
        try:
            tokens = file_tokens(d.scope, parse_pointer(d.path), envelope)
        except ValueError:
            continue
        if tokens is None:
            continue
        edits.append(Edit(tuple(tokens), d.action == "removed", d.fix.replacement))
    return edits


def _order(edit: Edit) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(t)) if t.isascii() and t.isdigit() else (1, t) for t in edit.tokens)


_ABSENT = object()


def _child(node: Any, token: str) -> Any:
    if isinstance(node, dict):  # parsed documents are dicts and lists: no ABC checks
        return node.get(token, _ABSENT)
    if isinstance(node, list) and is_index(token) and int(token) < len(node):
        return node[int(token)]
    return _ABSENT


def _effective(document: Any, edits: Iterable[Edit]) -> list[Edit]:
    """The edits that change something: target present, no edited ancestor, no duplicate."""
    chosen: dict[tuple[str, ...], Edit] = {}
    for edit in edits:
        if not edit.tokens:
            continue
        node = document
        for token in edit.tokens:
            node = _child(node, token)
            if node is _ABSENT:
                break
        if node is not _ABSENT:
            chosen.setdefault(edit.tokens, edit)
    # An edit under another one is moot: the outer removal or replacement wins.
    return [
        edit
        for tokens, edit in chosen.items()
        if not any(tokens[:n] in chosen for n in range(1, len(tokens)))
    ]


def apply_edits(document: Any, edits: Iterable[Edit]) -> tuple[Any, int]:
    """Apply edits in place (reverse document order); returns (document, edits applied)."""
    effective = _effective(document, edits)
    for edit in sorted(effective, key=_order, reverse=True):
        parent = document
        for token in edit.tokens[:-1]:
            parent = _child(parent, token)
        last = edit.tokens[-1]
        if isinstance(parent, dict):
            if edit.remove:
                del parent[last]
            else:
                parent[last] = edit.replacement
        else:
            if edit.remove:
                del parent[int(last)]
            else:
                parent[int(last)] = edit.replacement
    return document, len(effective)


def same_document(a: Any, b: Any) -> bool:
    """Strict equality: ``1``, ``1.0`` and ``true`` differ; key order does not matter."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, dict):
            if x.keys() != y.keys():
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=False))
        elif x != y:
            return False
    return True


def copy_document(document: Any) -> Any:
    """A deep copy of dicts and lists, iterative: any depth the parser accepted."""
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(document, root, 0)]
    while stack:
        value, parent, key = stack.pop()
        if isinstance(value, dict):
            new: Any = {}
            stack.extend((v, new, k) for k, v in value.items())
        elif isinstance(value, list):
            new = [None] * len(value)
            stack.extend((v, new, i) for i, v in enumerate(value))
        else:
            new = value
        parent[key] = new
    return root[0]


def expected_after(document: Any, edits: Sequence[Edit]) -> tuple[Any, list[Edit]]:
    copied = copy_document(document)
    effective = _effective(copied, edits)
    expected, _ = apply_edits(copied, effective)
    return expected, effective


def _splices_apply(text: str, splices: list[tuple[int, int, str]]) -> str:
    splices.sort(key=lambda s: (s[0], s[1]))
    for (_, end, _), (start, _, _) in itertools.pairwise(splices):
        if start < end:
            raise FixRefused("overlapping edits")
    out = []
    last = 0
    for start, end, new in splices:
        out.append(text[last:start])
        out.append(new)
        last = end
    out.append(text[last:])
    return "".join(out)


def grouped(edits: Sequence[Edit]) -> dict[tuple[str, ...], list[Edit]]:
    groups: dict[tuple[str, ...], list[Edit]] = {}
    for edit in edits:
        groups.setdefault(edit.tokens[:-1], []).append(edit)
    return groups


def runs(indices: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for i in sorted(indices):
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


# --------------------------------------------------------------------------- JSON


@without_gc
def verified(
    text: str,
    splices: list[tuple[int, int, str]],
    load: Callable[[str], Any],
    expected: Any,
    splices_out: list[tuple[int, int, str]] | None,
) -> str:
    """The spliced text, once it reads back (with ``load``) as exactly the fixed request;
    otherwise :class:`FixRefused`, and the file stays as it was."""
    new = _splices_apply(text, splices)
    try:
        if not same_document(load(new).document, expected):
            raise FixRefused("the edited text does not read back as the fixed request")
    except SourceError as exc:
        raise FixRefused(f"the edited text does not parse: {exc.message}") from None
    if splices_out is not None:
        splices_out.extend(splices)
    return new


def fix_json_text(
    text: str,
    edits: Sequence[Edit],
    unit: Unit | None = None,
    *,
    splices_out: list[tuple[int, int, str]] | None = None,
) -> tuple[str, int]:
    """Apply edits to JSON text by splicing: every byte not edited stays as it was.

    Raises :class:`FixRefused` (file untouched) for duplicate keys or when the
    splice does not read back as exactly the edited document.
    """
    if not edits:
        return text, 0
    start = 1 if text.startswith("\ufeff") else 0
    try:
        if unit is None:
            unit = load_json(text)
    except SourceError as exc:
        raise FixRefused(exc.message) from None
    if unit.problems:
        raise FixRefused("the document has duplicate keys")
    expected, effective = expected_after(unit.document, edits)
    if not effective:
        return text, 0
    index = json_index(text, [e.tokens for e in effective], start, with_members=True)
    ascii_only = text.isascii()
    splices: list[tuple[int, int, str]] = []
    for parent, group in grouped(effective).items():
        found = index.members.get(parent)
        if found is None:
            raise FixRefused("cannot find the edited member")
        open_at, close_at, members = found
        by_token = {token: n for n, (token, *_rest) in enumerate(members)}
        removed = []
        for edit in group:
            n = by_token[edit.tokens[-1]]
            if edit.remove:
                removed.append(n)
            else:
                _, _, value_start, value_end = members[n]
                value = json.dumps(edit.replacement, ensure_ascii=ascii_only)
                splices.append((value_start, value_end, value))
        if len(removed) == len(members):
            splices.append((open_at + 1, close_at, ""))
            continue
        for first, last in runs(removed):
            if last + 1 < len(members):
                splices.append((members[first][1], members[last + 1][1], ""))
            else:
                splices.append((members[first - 1][3], members[last][3], ""))
    return verified(text, splices, load_json, expected, splices_out), len(effective)


# --------------------------------------------------------------------------- writing


def check_writable(path: str) -> None:
    """Raise OSError when ``path`` (a real file) is read-only: --fix never overrides that."""
    import stat

    target = os.path.realpath(path)
    # The mode bits, not os.access: root may write anything, yet 0444 says "leave me".
    if not os.stat(target).st_mode & stat.S_IWUSR or not os.access(target, os.W_OK):
        raise PermissionError(13, "the file is read-only", path)


def write_atomic(path: str, text: str) -> None:
    """Replace ``path``'s content with ``text`` (UTF-8) via a temp file and os.replace.

    The file either keeps its old content or gets the whole new one, never a
    partial write; its permission bits are kept; a symlink's target is rewritten;
    a read-only file is refused (PermissionError).
    """
    check_writable(path)
    target = os.path.realpath(path)
    mode = os.stat(target).st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(
        prefix=f".{os.path.basename(target)}.", suffix=".fwcompat-tmp", dir=os.path.dirname(target)
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
