"""The fused gate kept lean (fwcompat/engine/_fuse.py): the same answers, fewer checks.

Each simplification is checked for the same answer on hand-picked documents, and the
shipped gate is checked by its shape where a clean request spends its time (every
content block, every message's role, every custom tool): no rule check is left there.
The fused gate as a whole is compared with the unfused checks in tests/engine/test_fuse.py.
Counted, never timed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest

import fwcompat
from fwcompat.engine._fuse import fuse, lean
from tests.cost import calls
from tests.engine.gates import gate_halves

DOCUMENTS: list[Any] = [
    None, True, 0, 1.5, "", "a", "system", "file", [], [1, "a"], {}, {"a": 1}, {"b": "x"},
    {"a": "x", "b": 2}, {"source": {"type": "file"}}, {"source": {"type": "url"}},
    {"source": "s"}, {"source": {}}, {"title": 1}, {"x": {"y": []}},
]  # fmt: skip

CASES: list[Any] = [
    {"not": {}, "x-fwcompat-rule": 3},
    {"properties": {"a": {"allOf": [{"not": {}}, {"type": "string"}]}}},
    {"allOf": [{"type": "object"}, {"allOf": [{"required": ["a"]}, {"minProperties": 1}]}]},
    {"allOf": [{"type": "object", "allOf": [{"required": ["a"]}]}, {"required": ["b"]}]},
    {"anyOf": [{"required": ["a"]}], "allOf": [{"required": ["b"]}, {"type": "object"}]},
    {"anyOf": [{"required": ["a"]}, False, {"required": ["b"]}]},
    {"anyOf": [False, False]},
    {"anyOf": [{"title": "anything"}, {"required": ["zz"]}]},
    {"properties": {"a": True}, "allOf": [{"additionalProperties": False}]},
    {"items": True, "allOf": [{"prefixItems": [{"type": "string"}]}]},
    {"if": {"required": ["a"]}, "allOf": [{"then": False}]},
    {"not": {"not": {"type": "string"}}, "allOf": [{"not": False}]},
    {"properties": {"title": {"type": "string"}, "description": False}},
    {"unevaluatedProperties": False, "allOf": [{"properties": {"a": True}}]},
]


@pytest.mark.parametrize("schema", CASES)
def test_lean_gives_the_same_answer(schema: Any) -> None:
    before = jsonschema_rs.validator_for(schema)
    after = jsonschema_rs.validator_for(lean(schema))
    assert [after.is_valid(d) for d in DOCUMENTS] == [before.is_valid(d) for d in DOCUMENTS]


def test_lean_drops_what_cannot_change_the_answer() -> None:
    assert lean({"not": {}, "x-fwcompat-rule": 3}) is False
    nested = {"allOf": [{"type": "object"}, {"allOf": [{"required": ["a"]}, {"allOf": []}]}]}
    assert lean(nested) == {"type": "object", "required": ["a"]}
    assert lean({"anyOf": [{"required": ["a"]}, False]}) == {"required": ["a"]}
    tied = {"properties": {"a": True}, "allOf": [{"additionalProperties": False}]}
    assert lean(tied) == tied  # "additionalProperties" reads "properties": kept apart
    assert lean({"properties": {"title": {"title": "t"}}}) == {"properties": {"title": True}}


def test_a_rule_on_a_member_is_checked_where_the_member_is() -> None:
    block = {"type": "object", "properties": {"source": {"type": "object"}}}
    fires = {"required": ["source"], "properties": {"source": {"properties": {"type": {}}}}}
    source_file = {"allOf": [{"type": "object"}, fires]}
    fused = lean(fuse(block, {"not": source_file}, lambda ref: None))
    assert "not" not in fused and "allOf" not in fused
    expected = jsonschema_rs.validator_for({"allOf": [block, {"not": source_file}]})
    got = jsonschema_rs.validator_for(fused)
    assert [got.is_valid(d) for d in DOCUMENTS] == [expected.is_valid(d) for d in DOCUMENTS]
    # Without "type": "object" on either side the rewrite would not be exact: left alone.
    assert "allOf" in fuse({"properties": {}}, {"not": fires}, lambda ref: None)


def test_a_rule_on_an_enum_is_decided_per_value() -> None:
    role = {"enum": ["user", "assistant", "system"]}
    assert fuse(role, {"not": {"const": "system"}}, lambda ref: None) == {
        "enum": ["user", "assistant"]
    }
    assert fuse(role, {"type": "string"}, lambda ref: None) is role
    assert fuse({"const": "x"}, {"not": {"const": "x"}}, lambda ref: None) is False


def _gate(pack: str) -> Any:
    """The body gate's schema of a shipped pack, as check() compiles it."""
    schema, rules = gate_halves(pack)
    fused, defs = schema._fused((rules,))
    return fused, defs


def _nodes(schema: Any) -> Iterator[dict[str, Any]]:
    """Every schema object in ``schema`` (not the member names of ``properties``)."""
    if not isinstance(schema, dict):
        return
    yield schema
    for keyword, value in schema.items():
        if keyword in ("properties", "$defs") and isinstance(value, dict):
            for sub in value.values():
                yield from _nodes(sub)
        elif keyword in ("allOf", "anyOf", "oneOf", "prefixItems") and isinstance(value, list):
            for sub in value:
                yield from _nodes(sub)
        elif keyword in ("additionalProperties", "items", "not", "if", "then", "else"):
            yield from _nodes(value)


@pytest.mark.parametrize("pack", ["fireworks", "fireworks-r4", "deepseek", "minimax"])
def test_the_shipped_gate_leaves_no_rule_check_on_the_hot_paths(pack: str) -> None:
    fused, defs = _gate(pack)
    nodes = list(_nodes({"$defs": defs, **fused}))
    assert len(nodes) > 300
    for node in nodes:
        assert node.get("not") not in ({}, True)
        assert not (isinstance(node.get("anyOf"), list) and len(node["anyOf"]) == 1)
        assert not {"x-fwcompat-rule", "title", "description"} & set(node)
    if pack != "fireworks":
        return
    message = fused["properties"]["messages"]["items"]
    assert message["properties"]["role"] == {"enum": ["user", "assistant"]}
    blocks = message["properties"]["content"]["anyOf"][1]["items"]["anyOf"]
    for block in blocks:
        assert set(block) == {"type", "required", "properties", "additionalProperties"}
    custom = fused["properties"]["tools"]["items"]["oneOf"][0]
    assert "allOf" not in custom and "not" not in custom


def test_a_clean_body_alone_makes_seven_calls() -> None:
    body = {
        "model": "accounts/fireworks/models/kimi-k2p5",
        "messages": [{"role": "user", "content": "hi"}],
    }
    fwcompat.check(body)
    # the lambda, check, run_plan, the native is_valid, make_result, object.__new__ and
    # the profiler's own setprofile call
    assert calls(lambda: fwcompat.check(body)) <= 7
