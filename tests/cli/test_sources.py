"""Source maps and text fixes, property-tested in process (the real functions, no mocks)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fwcompat.cli._fix import Edit, apply_edits, fix_json_text
from fwcompat.cli.sources.json_positions import json_offset, offset_to_position
from fwcompat.cli.sources.json_reader import load_json
from fwcompat.cli.sources.yaml_reader import load_yaml
from fwcompat.engine._paths import escape, parse_pointer

keys = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)
styles = st.sampled_from(
    [
        {"indent": None},
        {"indent": 2},
        {"indent": 4},
        {"indent": "\t"},
        {"indent": None, "separators": (",", ":")},
        {"indent": 2, "ensure_ascii": False},
    ]
)


def paths(document: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    if isinstance(document, dict):
        for key, value in document.items():
            out.append((*prefix, key))
            out += paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            out.append((*prefix, str(index)))
            out += paths(value, (*prefix, str(index)))
    return out


@settings(max_examples=300, deadline=None)
@given(documents, styles)
def test_json_offset_points_at_the_member(document: Any, style: dict[str, Any]) -> None:
    text = json.dumps(document, **style)
    for tokens in paths(document):
        offset = json_offset(text, tokens)
        parent: Any = document
        for token in tokens[:-1]:
            parent = parent[int(token)] if isinstance(parent, list) else parent[token]
        if isinstance(parent, dict):
            # an object member: the offset is its key
            key, _ = json.JSONDecoder().raw_decode(text, offset)
            assert key == tokens[-1]
        else:
            value, _ = json.JSONDecoder().raw_decode(text, offset)
            assert value == parent[int(tokens[-1])]


@settings(max_examples=300, deadline=None)
@given(documents, styles, st.data())
def test_text_fixes_equal_document_edits(document: Any, style: dict[str, Any], data: Any) -> None:
    text = json.dumps(document, **style) + "\n"
    candidates = paths(document)
    chosen = data.draw(st.lists(st.sampled_from(candidates), max_size=4)) if candidates else []
    edits = [
        Edit(tokens, remove=data.draw(st.booleans()), replacement=data.draw(scalars))
        for tokens in chosen
    ]
    expected, applied = apply_edits(copy.deepcopy(document), edits)
    new, count = fix_json_text(text, edits)
    assert count == applied
    assert json.loads(new) == expected
    if not applied:
        assert new == text


def test_fix_json_text_keeps_untouched_bytes() -> None:
    text = '{\n  "a": 1,   "b" : [1,2],\n\t"c": {"d": true}\n}\n'
    new, applied = fix_json_text(text, [Edit(("b",), remove=True)])
    assert applied == 1
    assert new == '{\n  "a": 1,   "c": {"d": true}\n}\n'
    new, _ = fix_json_text(text, [Edit(("c",), remove=True)])
    assert new == '{\n  "a": 1,   "b" : [1,2]\n}\n'
    new, _ = fix_json_text('{"only": 1}', [Edit(("only",), remove=True)])
    assert new == "{}"
    new, _ = fix_json_text(text, [Edit(("c", "d"), remove=False, replacement="x")])
    assert new == '{\n  "a": 1,   "b" : [1,2],\n\t"c": {"d": "x"}\n}\n'


def test_positions() -> None:
    text = '\ufeff{\n  "a~b/c": [10, {"k": 1}]\n}'
    unit = load_json(text)
    assert unit.locate(parse_pointer("/a~0b~1c/1/k")) == (2, 18)
    assert unit.locate(parse_pointer("/a~0b~1c/0")) == (2, 13)
    assert unit.locate(parse_pointer("/missing/deeper")) == (1, 2)  # the root, after the BOM
    assert escape("a~b/c") == "a~0b~1c"
    assert offset_to_position("ab\ncd", 4) == (2, 2)
    yaml_unit = load_yaml("# c\nmodel: x\nmessages:\n  - role: user\n    content: hi\n")
    assert yaml_unit.locate(parse_pointer("/messages/0/content")) == (5, 5)
    assert yaml_unit.locate(parse_pointer("/messages/3")) == (3, 1)  # deepest existing
    assert load_yaml("when: 2024-01-01\n").document == {"when": "2024-01-01"}


def apply_unified_diff(old: str, diff: str) -> str:
    """A small `patch`: apply a unified diff's hunks to ``old``."""
    import re

    lines = old.splitlines(keepends=True)
    body = diff.splitlines(keepends=True)[2:]
    out: list[str] = []
    at = 0
    last = ""
    i = 0
    while i < len(body):
        match = re.match(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", body[i])
        assert match, body[i]
        start = int(match.group(1)) - (1 if int(match.group(2) or 1) else 0)
        assert start >= at
        out.extend(lines[at:start])
        at = start
        i += 1
        while i < len(body) and not body[i].startswith("@@"):
            line = body[i]
            i += 1
            if line.startswith("\\"):
                if last in " +":
                    out[-1] = out[-1][:-1]
                continue
            if line[0] in " -":
                assert lines[at].rstrip("\n") == line[1:].rstrip("\n")
                at += 1
            if line[0] in " +":
                out.append(line[1:])
            last = line[0]
    out.extend(lines[at:])
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a\n", "b\n", "}\n", "{\n", "x", "\n"]), max_size=30), st.data())
def test_splice_diff_applies_back(pieces: list[str], data: Any) -> None:
    from fwcompat.cli._fix import _splices_apply
    from fwcompat.cli._fix_diff import splice_diff

    old = "".join(pieces)
    points = sorted(data.draw(st.sets(st.integers(0, len(old)), max_size=6)))
    splices = [
        (a, b, data.draw(st.sampled_from(["", "Z", "Q\n", "\n"])))
        for a, b in zip(points[::2], points[1::2], strict=False)
    ]
    new = _splices_apply(old, list(splices))
    assert apply_unified_diff(old, splice_diff(old, splices, "f")) == new


YAML_SPLICES = [
    ("a: 1\nb: 2", [("b",)], "a: 1"),
    ("a: 1\r\nb: 2\r\nc: 3\r\n", [("b",)], "a: 1\r\nc: 3\r\n"),
    ("\ufeffa: 1\nb: 2\n", [("a",)], "\ufeffb: 2\n"),
    (
        "a: 1\nnotes: |\n  line1\n  line2\n\n# after\nb: 2\n",
        [("notes",)],
        "a: 1\n\n# after\nb: 2\n",
    ),
    ("a:\n  x: 1\n  y:\n    z: 2\n  # kept\nb: 2\n", [("a", "y")], "a:\n  x: 1\n  # kept\nb: 2\n"),
    (
        "a: {x: 1, y: 2, z: 3}\nb: [1, 2, 3]\n",
        [("a", "y"), ("b", "2")],
        "a: {x: 1, z: 3}\nb: [1, 2]\n",
    ),
    ("l:\n  - a: 1\n    b: 2\n  - a: 3\n", [("l", "0", "a")], "l:\n  - b: 2\n  - a: 3\n"),
    ("l:\n  - 1\n  - 2\n  - 3\n", [("l", "1")], "l:\n  - 1\n  - 3\n"),
    ("l:\n- 1\nm: 2\n", [("l", "0")], "l: []\nm: 2\n"),
    ("a:\n  x: 1\nb: 2\n", [("a", "x")], "a: {}\nb: 2\n"),
    ("a: 1  # one\nb: 2  # two\nc: 3\n", [("b",)], "a: 1  # one\nc: 3\n"),
    ("# head\n---\na: 1\nb: 2\n...\n", [("b",)], "# head\n---\na: 1\n...\n"),
]


@pytest.mark.parametrize(("text", "removals", "expected"), YAML_SPLICES)
def test_yaml_removals_splice_in_place(
    text: str, removals: list[tuple[str, ...]], expected: str
) -> None:
    from fwcompat.cli._fix_yaml import fix_yaml_text

    new, applied = fix_yaml_text(text, [Edit(tokens, remove=True) for tokens in removals])
    assert new == expected
    assert applied == len(removals)
