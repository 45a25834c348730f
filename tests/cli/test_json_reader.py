"""The JSON reader gives the same documents, problems and errors with orjson as without.

orjson keeps the last of duplicate keys silently and reads an integer past 64 bits as a
float; the reader's guard sends such texts to the standard library's reader. Each test
reads a text both ways (orjson, and the standard library alone) and compares everything
the CLI uses, and counts how often the standard library's reader was called.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fwcompat.cli.sources import json_reader
from fwcompat.cli.sources.json_reader import load_json
from fwcompat.cli.sources.units import SourceError

from .conftest import fresh_python

orjson = pytest.importorskip("orjson")


@pytest.fixture(autouse=True)
def with_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    """orjson imported from the start (the CLI imports it after a megabyte)."""
    monkeypatch.setattr(json_reader, "_orjson", orjson)


class Counted:
    """The standard library's strict reader, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.decoder = json_reader._PAIRS_DECODER

    def decode(self, text: str) -> Any:
        self.calls += 1
        return self.decoder.decode(text)


@pytest.fixture
def stdlib_calls(monkeypatch: pytest.MonkeyPatch) -> Counted:
    counted = Counted()
    monkeypatch.setattr(json_reader, "_PAIRS_DECODER", counted)
    return counted


def read(text: str, *, line: int = 1) -> tuple[str, Any]:
    """What the CLI takes from a text: the document (with types), problems, or the error."""
    try:
        unit = load_json(text, line=line)
    except SourceError as exc:
        return "error", (exc.message, exc.line, exc.column)
    problems = [(p.code, p.message, p.line, p.column) for p in unit.problems]
    return "unit", (typed(unit.document), problems)


def typed(value: Any) -> Any:
    """``value`` with each scalar's type kept (1 and 1.0 and True differ)."""
    if isinstance(value, dict):
        return {"{}": [(k, typed(v)) for k, v in value.items()]}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


def both_ways(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    fast = read(text)
    with monkeypatch.context() as patch:
        patch.setattr(json_reader, "_orjson", None)
        slow = read(text)
    return fast, slow


TEXTS = [
    '{"model": "m", "messages": []}',
    '{\n  "a": 1,\n  "b": {"c": 2, "c": 3},\n  "a": 4\n}',  # nested and top-level duplicates
    '{"a" : 1, "a" : 2}',  # white space before the colon
    '{"a": 1, "\\u0061": 2}',  # the same key, escaped
    '{"a\\u003a": 1, "a:": 2}',  # an escaped colon in a key
    '{"x": "\\u003a\\u003a", "y": 1, "y": 2}',  # escaped colons in a value beside a duplicate
    '{"t": "k\\": v", "u": 1}',  # a quote and a colon inside a string
    '{"n": 18446744073709551616}',  # past 64 bits: an int, never a float
    '{"n": -9223372036854775809, "m": 9223372036854775807}',
    '{"f": 1e400}',
    '{"f": 1.5e+300, "g": -0, "h": -0.0, "i": 1E2}',
    '{"n": NaN}',
    '{"s": "\\ud800"}',  # a lone surrogate escape
    '{"a": 1,}',
    "[" * 1200 + "]" * 1200,  # deeper than orjson reads
    '{"k": "' + "1" * 30 + '", "k": 2}',
    "\ufeff" + '{"bom": true, "bom": false}',
    "",
    "   ",
]


@pytest.mark.parametrize("text", TEXTS)
def test_orjson_and_the_standard_library_read_alike(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow = both_ways(text, monkeypatch)
    assert fast == slow


def test_duplicates_are_reported_with_their_positions_through_orjson(
    stdlib_calls: Counted,
) -> None:
    text = (
        '{\n  "model": "m",\n  "messages": [{"role": "user", "role": "assistant"}],\n'
        '  "model": "n"\n}'
    )
    unit = load_json(text, line=7)
    assert [(p.code, p.line, p.column) for p in unit.problems] == [
        ("E904", 9, 33),
        ("E904", 10, 3),
    ]
    assert "duplicate key 'role'" in unit.problems[0].message
    assert unit.document["model"] == "n"  # the last value, as the standard library keeps it
    assert stdlib_calls.calls == 1  # the guard handed the text over


def test_a_clean_text_is_read_by_orjson_alone(stdlib_calls: Counted) -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": [{"type": "text", "text": 'say "a: b"'}]}],
        "max_tokens": 10,
        "temperature": 0.5,
    }
    for text in (json.dumps(body), json.dumps(body, indent=2), json.dumps(body, indent="\t")):
        assert load_json(text).document == body
    assert stdlib_calls.calls == 0


def test_without_orjson_the_standard_library_reads_every_text(
    stdlib_calls: Counted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_reader, "_orjson", None)
    assert load_json('{"a": 1}').document == {"a": 1}
    unit = load_json('{"a": 1, "a": 2}')
    assert [(p.code, p.line, p.column) for p in unit.problems] == [("E904", 1, 10)]
    assert stdlib_calls.calls == 2


def test_the_reader_works_when_orjson_is_not_installed() -> None:
    """A fresh interpreter where ``import orjson`` fails: the standard library reads."""
    program = (
        "import sys\n"
        "sys.modules['orjson'] = None  # import orjson raises ImportError\n"
        "from fwcompat.cli.sources import json_reader\n"
        "assert json_reader.load_orjson() is None\n"
        'unit = json_reader.load_json(\'{"a": 1, "b": [1, 2], "a": 3}\')\n'
        "print(unit.document, [(p.code, p.line, p.column) for p in unit.problems])\n"
    )
    result = fresh_python(program)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{'a': 3, 'b': [1, 2]} [('E904', 1, 23)]"


def test_orjson_is_imported_once_a_megabyte_is_read(
    stdlib_calls: Counted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json_reader, "_orjson", json_reader._NOT_YET)
    monkeypatch.setattr(json_reader, "_read_before", 0)
    monkeypatch.setattr(json_reader, "ORJSON_AFTER", 100)
    text = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x" * 20}]})
    assert 50 < len(text) < 100
    assert load_json(text).document["model"] == "m"
    assert json_reader._orjson is json_reader._NOT_YET  # 1 text read: not yet
    assert stdlib_calls.calls == 1
    for _ in range(3):
        assert load_json(text).document["model"] == "m"
    assert json_reader._orjson is orjson  # past 100 characters: imported, and reading
    assert stdlib_calls.calls == 1


# Texts built token by token, so that keys repeat (which json.dumps never writes).
keys = st.sampled_from(["a", "b", "a:", "\\u0061", "\\u003a", 'q\\"', "\\\\"])
scalars = st.sampled_from(
    ["1", "-0", "0.5", "1e+20", "18446744073709551616", "true", "null", '"x: y"', '"\\u003a"']
)


def _value(draw: st.DrawFn, depth: int) -> str:
    kind = draw(st.integers(0, 2 if depth < 3 else 0))
    if kind == 0:
        return draw(scalars)
    space = draw(st.sampled_from(["", " ", "\n  "]))
    if kind == 1:
        items = [_value(draw, depth + 1) for _ in range(draw(st.integers(0, 3)))]
        return "[" + f",{space}".join(items) + "]"
    members = [
        f'"{draw(keys)}"{draw(st.sampled_from(["", " "]))}:{space}{_value(draw, depth + 1)}'
        for _ in range(draw(st.integers(0, 4)))
    ]
    return "{" + space + f",{space}".join(members) + "}"


@st.composite
def json_texts(draw: st.DrawFn) -> str:
    return _value(draw, 0)


@settings(max_examples=300, deadline=None)
@given(json_texts())
def test_any_text_reads_alike_both_ways(text: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        fast, slow = both_ways(text, monkeypatch)
    assert fast == slow
