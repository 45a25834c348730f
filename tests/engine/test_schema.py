"""fwcompat's own validator, checked against python-jsonschema on the shipped schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fwcompat.engine._schema import CompiledSchema, SchemaCompileError
from tests.strategies import JSON, requests

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
REQUEST = json.loads((SCHEMAS / "fireworks-messages-request.schema.json").read_text())
RULE_FILE = json.loads((SCHEMAS / "rule-file.schema.json").read_text())
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.json")), ids=lambda p: p.name)
def test_shipped_schemas_are_valid_json_schema(path: Path) -> None:
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    CompiledSchema(schema)


def agree(schema: Any, compiled: CompiledSchema, instance: Any) -> None:
    reference = jsonschema.Draft202012Validator(schema).is_valid(instance)
    assert compiled.is_valid(instance) == reference
    errors = list(compiled.iter_errors(instance))
    assert (not errors) == reference
    assert all(e.message for e in errors)


COMPILED_REQUEST = CompiledSchema(REQUEST)
COMPILED_RULE_FILE = CompiledSchema(RULE_FILE)


@SETTINGS
@given(instance=requests() | JSON)
def test_request_schema_agrees_with_jsonschema(instance: Any) -> None:
    agree(REQUEST, COMPILED_REQUEST, instance)


@SETTINGS
@given(
    instance=st.fixed_dictionaries(
        {
            "rules": st.lists(
                st.dictionaries(
                    st.sampled_from(
                        [
                            "code",
                            "name",
                            "title",
                            "doc",
                            "path",
                            "severity",
                            "action",
                            "message",
                            "examples",
                            "when",
                            "replace",
                            "fix",
                        ]
                    ),
                    JSON,
                ),
                max_size=2,
            )
        }
    )
    | JSON
)
def test_rule_file_schema_agrees_with_jsonschema(instance: Any) -> None:
    agree(RULE_FILE, COMPILED_RULE_FILE, instance)


KEYWORD_CASES: list[tuple[Any, list[Any]]] = [
    ({"type": "integer"}, [1, 1.0, 1.5, True, "1", None, float("inf")]),
    ({"type": "number", "minimum": 0, "exclusiveMaximum": 1}, [0, 0.5, 1, -1, False, "x"]),
    ({"type": ["string", "null"], "maxLength": 2}, ["ab", "abc", None, 3]),
    ({"enum": [1, "a", None, True]}, [1, 1.0, True, "a", None, False, 0]),
    ({"const": {"a": [1, 2]}}, [{"a": [1, 2]}, {"a": [1, 2.0]}, {"a": [True, 2]}, {"a": [1]}]),
    ({"pattern": "^a"}, ["abc", "cba", 5]),
    (
        {"properties": {"a": {"type": "string"}}, "required": ["a"]},
        [{"a": "x"}, {"a": 1}, {}, [], "s"],
    ),
    (
        {"type": "object", "additionalProperties": {"type": "integer"}, "minProperties": 1},
        [{"x": 1}, {"x": "1"}, {}],
    ),
    (
        {"items": {"type": "string"}, "minItems": 1, "maxItems": 2},
        [["a"], [], ["a", 1], ["a", "b", "c"], "no"],
    ),
    ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, ["a", 1, 1.5, None]),
    ({"oneOf": [{"type": "integer"}, {"minimum": 2}]}, [1, 3, 2.5, "x"]),
    ({"allOf": [{"type": "string"}, {"minLength": 2}]}, ["ab", "a", 3]),
    ({"not": {"type": "string"}}, ["a", 1]),
    (
        {"$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"},
        [[], [[]], [[1]], 1],
    ),
]


@pytest.mark.parametrize(
    ("schema", "instances"), KEYWORD_CASES, ids=[json.dumps(c[0])[:40] for c in KEYWORD_CASES]
)
def test_keyword_semantics_match_jsonschema(schema: Any, instances: list[Any]) -> None:
    compiled = CompiledSchema(schema)
    for instance in instances:
        agree(schema, compiled, instance)


def test_discriminated_union_gives_one_error_not_a_branch_dump() -> None:
    compiled = CompiledSchema(REQUEST)
    bad = {
        "model": "m",
        "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "url"}}]}],
    }
    errors = list(compiled.iter_errors(bad))
    assert [(e.path, e.message) for e in errors] == [
        (("messages", 0, "content", 0, "source", "url"), "missing required field 'url'")
    ]


@pytest.mark.parametrize(
    ("schema", "needle"),
    [
        ({"$ref": "http://example.com/s.json"}, "not allowed"),
        ({"$ref": "#/$defs/missing"}, "missing"),
        ({"pattern": "("}, "regex"),
        ({"type": "text"}, "text"),
        ({"anyOf": []}, "less than 1 item"),
    ],
)
def test_invalid_schemas_fail_loudly_and_never_fetch(schema: Any, needle: str) -> None:
    with pytest.raises(SchemaCompileError) as info:
        CompiledSchema(schema, name="my.schema.json")
    assert "my.schema.json" in str(info.value) and needle in str(info.value)
