"""The prefilter's translations are exact: Python's reading and jsonschema-rs's agree.

The prefilter may skip a request only when no rule can fire, so a translated
condition must hold exactly when the Python predicate does. Regular expressions
are the risky part: Python's ``re`` and the ECMA-262 dialect differ on ``$``,
``.``, ``\\d``, case folding and more.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fwcompat
from fwcompat.engine._conditions import Context, compile_condition
from fwcompat.engine._prefilter import (
    _FOLDS_BEYOND_ASCII,
    Untranslatable,
    ecma_pattern,
    no_fire_schema,
)


def test_the_extra_case_folds_are_exactly_pythons() -> None:
    """(?i) is spelled out as classes; beyond ASCII, Python equates these letters."""
    everything = "".join(
        chr(c) for c in range(0x80, sys.maxunicode + 1) if not 0xD800 <= c < 0xE000
    )
    found: dict[str, set[str]] = {}
    for ch in re.findall("(?i)[a-z]", everything):  # one pass, in C, over every code point
        for letter in "abcdefghijklmnopqrstuvwxyz":
            if re.fullmatch(f"(?i){letter}", ch):
                found.setdefault(letter, set()).add(ch)
    assert found == {k: set(v) for k, v in _FOLDS_BEYOND_ASCII.items()}
    for letter, extra in _FOLDS_BEYOND_ASCII.items():  # the upper-case letter folds alike
        assert all(re.fullmatch(f"(?i){letter.upper()}", ch) for ch in extra)


def shipped_patterns() -> list[str]:
    patterns: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("matches", "not_matches") and isinstance(value, str):
                    patterns.add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for info in fwcompat.packs():
        for rule in fwcompat.list_rules({"pack": info.name}):
            walk(dict(rule.when))
    return sorted(patterns)


PATTERNS = [
    *shipped_patterns(),
    "^abc$",
    "a|b$",
    "^a.c",
    "(?i)^claude",
    "(?i)[ks]ey",
    "^x{2,3}$",
    "^[a-z0-9-]+$",
    "[^/]+/",
]
TEXT = st.text(
    alphabet=st.sampled_from([*"abcxyzKSI-_/.:#0123\n\r ", "\u212a", "\u017f", "\u0131", "é"]),
    max_size=16,
)


def test_every_shipped_pattern_is_checked_here() -> None:
    assert len(shipped_patterns()) >= 4


@pytest.mark.parametrize("pattern", PATTERNS)
@settings(max_examples=150, deadline=None)
@given(text=TEXT | st.sampled_from(["claude-sonnet-4-6", "accounts/fireworks/models/k2", "x\n"]))
def test_a_translated_pattern_matches_what_python_matches(pattern: str, text: str) -> None:
    try:
        translated = ecma_pattern(pattern)
    except Untranslatable:
        return  # left to the Python walk: exact by construction
    native = jsonschema_rs.validator_for({"type": "string", "pattern": translated})
    assert native.is_valid(text) == (re.search(pattern, text) is not None), (pattern, text)


@pytest.mark.parametrize(
    "pattern",
    ["\\d+", "\\w", "a$b", "(?=x)", "(?P<n>x)", "(?m)^a", "[]a]", "[[:alpha:]]", "a{,2}", "é"],
)
def test_patterns_the_dialects_read_differently_are_left_to_python(pattern: str) -> None:
    with pytest.raises(Untranslatable):
        ecma_pattern(pattern)


CONDITIONS: list[Any] = [
    {"type": ["string", "null"]},
    {"not_type": "object"},
    {"equals": "max"},
    {"equals": {"a": [1, 2]}},
    {"in": ["low", 1, None]},
    {"not_in": ["low", "medium"]},
    {"in_table": "model_map"},
    {"not_in_table": "model_map"},
    {"members": {"type": {"matches": "^web_search"}, "name": {"present": False}}},
    {"any_of": [{"type": "integer"}, {"equals": "x"}]},
    {"all_of": [{"type": "number"}, {"gt": 5}, {"le": 10}]},
    {"not": {"type": "boolean"}},
    {"key_in": ["a", "b"]},
    {"key_not_in": ["a"]},
]
SCALARS = st.none() | st.booleans() | st.integers(-20, 20) | st.floats(-20, 20)
VALUES = st.recursive(
    SCALARS | st.text("abx", max_size=3) | st.sampled_from(["max", "low", "claude-x", "web_x"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["a", "b", "type", "name", "0"]), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip


@pytest.mark.parametrize("when", CONDITIONS, ids=lambda c: next(iter(c)))
@settings(max_examples=150, deadline=None)
@given(document=st.dictionaries(st.sampled_from(["a", "b", "c"]), VALUES, max_size=3))
def test_a_translated_condition_holds_exactly_when_the_predicate_does(
    when: dict[str, Any], document: dict[str, Any]
) -> None:
    """A rule at /* with this condition fires on some member iff its no-fire schema fails."""
    tables = {"model_map": {"claude-x": "accounts/f/models/m"}}
    predicate, _ = compile_condition(when)
    ctx = Context(tables, document)
    fires = any(predicate(v, k, ctx) for k, v in document.items())
    schema = no_fire_schema(("*",), when, False, tables)
    holds = True if schema is True else jsonschema_rs.validator_for(schema).is_valid(document)
    assert holds == (not fires)
