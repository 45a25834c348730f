"""Applying fixes to files: in-place text splices, diffs and safe writes.

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
import difflib
import itertools
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fwcompat.cli.sources.fixtures import file_tokens, fixable
from fwcompat.cli.sources.json_positions import json_index
from fwcompat.cli.sources.json_reader import load_json
from fwcompat.cli.sources.units import SourceError, Unit, without_gc
from fwcompat.cli.sources.yaml_reader import load_yaml, yaml_members
from fwcompat.engine._paths import is_index, parse_pointer

__all__ = [
    "Edit",
    "FixRefused",
    "apply_edits",
    "edits_for",
    "fix_json_text",
    "fix_yaml_text",
    "same_document",
    "unified_diff",
    "write_atomic",
]


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


def _expected(document: Any, edits: Sequence[Edit]) -> tuple[Any, list[Edit]]:
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


def _group(edits: Sequence[Edit]) -> dict[tuple[str, ...], list[Edit]]:
    groups: dict[tuple[str, ...], list[Edit]] = {}
    for edit in edits:
        groups.setdefault(edit.tokens[:-1], []).append(edit)
    return groups


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for i in sorted(indices):
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


# --------------------------------------------------------------------------- JSON


@without_gc
def _verified(
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
    expected, effective = _expected(unit.document, edits)
    if not effective:
        return text, 0
    index = json_index(text, [e.tokens for e in effective], start, with_members=True)
    ascii_only = text.isascii()
    splices: list[tuple[int, int, str]] = []
    for parent, group in _group(effective).items():
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
        for first, last in _runs(removed):
            if last + 1 < len(members):
                splices.append((members[first][1], members[last + 1][1], ""))
            else:
                splices.append((members[first - 1][3], members[last][3], ""))
    return _verified(text, splices, load_json, expected, splices_out), len(effective)


# --------------------------------------------------------------------------- YAML


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _only_space_before(text: str, pos: int) -> bool:
    return text[_line_start(text, pos) : pos].strip(" \t") == ""


def _content_end(text: str, start: int, end: int) -> int:
    """End of a node's own text: before the blank and comment lines PyYAML counts in."""
    while True:
        while end > start and text[end - 1] in " \t\r\n":
            end -= 1
        line = _line_start(text, end)
        if line > start and text[line:end].lstrip(" \t").startswith("#"):
            end = line
            continue
        return end


def _line_end(text: str, pos: int) -> int | None:
    """After the newline ending ``pos``'s line, if only a comment or spaces follow ``pos``."""
    newline = text.find("\n", pos)
    rest = text[pos : newline if newline >= 0 else len(text)]
    stripped = rest.strip(" \t\r")
    if stripped and not (stripped.startswith("#") and rest[:1] in " \t"):
        return None
    return newline + 1 if newline >= 0 else len(text)


_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*")


def _yaml_scalar(value: Any, style: str | None) -> str:
    """The replacement in the style of the value it replaces, when that reads back exactly.

    A plain ``max`` becomes a plain ``high``; anything YAML could misread (``on``,
    ``1.0``, ``null``) or any other value is written as JSON, which is YAML: a
    double-quoted, ASCII-escaped scalar or a flow collection. The result is
    verified by reading the file back in any case.
    """
    if isinstance(value, str):
        if not style and _PLAIN.fullmatch(value):
            import yaml

            if yaml.safe_load(value) == value:
                return value
        if style == "'" and "\n" not in value and value.isprintable():
            return "'" + value.replace("'", "''") + "'"
    return json.dumps(value, ensure_ascii=True)


@without_gc
def fix_yaml_text(
    text: str,
    edits: Sequence[Edit],
    unit: Unit | None = None,
    *,
    splices_out: list[tuple[int, int, str]] | None = None,
    load: Callable[[str], Unit] = load_yaml,
) -> tuple[str, int]:
    """Apply edits to YAML text by splicing node spans (comments and layout stay).

    ``load`` reads the edited text back as the document (one of a stream of several).

    Raises :class:`FixRefused` (file untouched) when an edit goes through an alias
    or merge key (the same data appears elsewhere), for duplicate keys, and when
    the result does not read back as exactly the edited document.
    """
    import yaml

    if not edits:
        return text, 0
    try:
        if unit is None:
            unit = load_yaml(text)
    except SourceError as exc:
        raise FixRefused(exc.message) from None
    info = unit.yaml
    if info is None or info.root is None:
        raise FixRefused("no YAML document")
    if unit.problems:
        raise FixRefused("the document has duplicate or non-string keys")
    expected, effective = _expected(unit.document, edits)
    if not effective:
        return text, 0
    bom = info.bom
    cache: dict[int, dict[str, tuple[Any, Any]]] = {}
    splices: list[tuple[int, int, str]] = []

    def start_of(node: Any) -> int:
        return int(node.start_mark.index) + bom

    def end_of(node: Any) -> int:
        return _content_end(text, start_of(node), int(node.end_mark.index) + bom)

    for parent_tokens, group in _group(effective).items():
        node = info.root
        parent_key: Any = None
        for token in parent_tokens:
            if id(node) in info.shared:
                raise FixRefused(_alias_message(parent_tokens))
            if isinstance(node, yaml.MappingNode):
                parent_key, node = yaml_members(node, cache)[token]
            else:
                parent_key, node = None, node.value[int(token)]
        if id(node) in info.shared:
            raise FixRefused(_alias_message(parent_tokens))
        # members: (start of the member's text, its value node)
        if isinstance(node, yaml.MappingNode):
            members = [(start_of(k), v, k) for k, v in node.value]
            position = {
                k.value: n
                for n, (k, _) in enumerate(node.value)
                if k.tag == "tag:yaml.org,2002:str"
            }
        else:
            members = [(_dash(text, start_of(v)), v, None) for v in node.value]
            position = {str(n): n for n in range(len(node.value))}
        removed = []
        for edit in group:
            n = position[edit.tokens[-1]]
            value = members[n][1]
            if id(value) in info.shared:
                raise FixRefused(_alias_message(edit.tokens))
            if edit.remove:
                removed.append(n)
            else:
                style = value.style if isinstance(value, yaml.ScalarNode) else '"'
                replacement = _yaml_scalar(edit.replacement, style)
                splices.append((start_of(value), end_of(value), replacement))
        if not removed:
            continue
        if len(removed) == len(members):
            empty = "{}" if isinstance(node, yaml.MappingNode) else "[]"
            if node.flow_style:
                splices.append((start_of(node) + 1, int(node.end_mark.index) + bom - 1, ""))
            elif parent_key is not None and _bare_colon(text, end_of(parent_key), start_of(node)):
                # `key:\n  - x` -> `key: []` (also right for `key:\n- x`, at the key's column)
                splices.append((end_of(parent_key), end_of(node), ": " + empty))
            else:
                splices.append((start_of(node), end_of(node), empty))
            continue
        for first, last in _runs(removed):
            member_start = members[first][0]
            if node.flow_style:
                if last + 1 < len(members):
                    splices.append((member_start, members[last + 1][0], ""))
                else:
                    splices.append((end_of(members[first - 1][1]), end_of(members[last][1]), ""))
                continue
            value_end = end_of(members[last][1])
            line_end = _line_end(text, value_end)
            if _only_space_before(text, member_start) and line_end is not None:
                cut_from = _line_start(text, member_start)
                if line_end == len(text) and not text.endswith("\n") and cut_from:
                    cut_from -= 2 if text[cut_from - 2 : cut_from] == "\r\n" else 1
                splices.append((cut_from, line_end, ""))
            elif last + 1 < len(members):
                between = text[value_end : members[last + 1][0]]
                if "#" in between:
                    raise FixRefused("a comment sits between the removed member and the next")
                splices.append((member_start, members[last + 1][0], ""))
            else:
                raise FixRefused("cannot remove this member in place")
    return _verified(text, splices, load, expected, splices_out), len(effective)


def _bare_colon(text: str, key_end: int, value_start: int) -> bool:
    """Only ``:`` and white space between a key and its value (no comment, anchor, tag)."""
    between = text[key_end:value_start]
    return between.lstrip(" \t").startswith(":") and between.strip(" \t\r\n") == ":"


def _dash(text: str, item_start: int) -> int:
    """Where a block sequence item's ``-`` is (its item may start on a later line)."""
    i = item_start - 1
    while i >= 0 and text[i] in " \t\r\n":
        i -= 1
    if i >= 0 and text[i] == "-":
        return i
    return item_start  # a flow sequence: the item itself


def _alias_message(tokens: Sequence[str]) -> str:
    from fwcompat.engine._paths import format_pointer

    return (
        f"{format_pointer(tokens) or '/'} is shared through a YAML alias or merge key "
        "(the same data appears elsewhere); edit it by hand"
    )


# --------------------------------------------------------------------------- output


def _diff_names(name: str) -> tuple[str, str]:
    """Relative names get git's ``a/``, ``b/`` prefixes; absolute ones stay as they are."""
    if os.path.isabs(name):
        return name, name
    return f"a/{name}", f"b/{name}"


def diff_header(name: str) -> str:
    before, after = _diff_names(name)
    return f"--- {before}\n+++ {after}\n"


def unified_diff(old: str, new: str, name: str) -> str:
    """A unified diff of ``old`` -> ``new`` for the file shown as ``name``."""
    before, after = _diff_names(name)
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=before,
            tofile=after,
        )
    )


def splice_diff(old: str, splices: Sequence[tuple[int, int, str]], name: str) -> str:
    """The unified diff of ``old`` with ``splices`` applied, built from the splices.

    Linear in the text and the number of edits (difflib's matcher is quadratic on
    the many identical lines of a big file: 4,000 edits took 30 s).
    """
    import bisect

    starts = [0]
    starts.extend(i + 1 for i, ch in enumerate(old) if ch == "\n")
    if starts[-1] == len(old) and len(starts) > 1:
        starts.pop()  # no line after a final newline

    def line_of(offset: int) -> int:
        return bisect.bisect_right(starts, offset) - 1

    def line_end(line: int) -> int:
        return starts[line + 1] if line + 1 < len(starts) else len(old)

    # Group splices into changed line ranges; a range whose new text would end
    # mid-line takes in the next line, so every hunk is whole lines on both sides.
    groups: list[tuple[int, int, list[tuple[int, int, str]]]] = []
    for splice in sorted(splices):
        start, end, _ = splice
        first = line_of(start)
        last = line_of(end - 1) if end > start else first
        if groups and first <= groups[-1][1]:
            g_first, g_last, members = groups[-1]
            groups[-1] = (g_first, max(g_last, last), [*members, splice])
        else:
            groups.append((first, last, [splice]))
    rebuilt: list[tuple[int, int, list[str], list[str]]] = []
    n = 0
    while n < len(groups):
        first, last, members = groups[n]
        n += 1
        while True:
            a, b = starts[first], line_end(last)
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
        rebuilt.append((first, last, before, after_text.splitlines(keepends=True)))
    lines = old.splitlines(keepends=True)
    context = 3
    out: list[str] = []
    before_name, after_name = _diff_names(name)
    out.append(f"--- {before_name}\n+++ {after_name}\n")
    i = 0
    offset = 0  # new line number minus old line number so far
    while i < len(rebuilt):
        j = i
        while j + 1 < len(rebuilt) and rebuilt[j + 1][0] - rebuilt[j][1] - 1 <= 2 * context:
            j += 1
        lo = max(0, rebuilt[i][0] - context)
        hi = min(len(lines) - 1, rebuilt[j][1] + context)
        body: list[str] = []
        cursor = lo
        old_count = new_count = 0
        hunk_offset = offset
        for first, last, before, after in rebuilt[i : j + 1]:
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
        out.append(f"@@ -{_span(old_start, old_count)} +{_span(new_start, new_count)} @@\n")
        out.extend(
            line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
            for line in body
        )
        i = j + 1
    return "".join(out)


def _span(start: int, count: int) -> str:
    return str(start) if count == 1 else f"{start},{count}"


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
