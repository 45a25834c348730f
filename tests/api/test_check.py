"""The public contract of check(), normalize(), Result, Diagnostic and Config."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

import pytest

import fwcompat

OK_BODY: dict[str, Any] = {
    "model": "accounts/fireworks/models/kimi-k2p5",
    "max_tokens": 256,
    "messages": [{"role": "user", "content": "Hi"}],
}


def body(**extra: Any) -> dict[str, Any]:
    return {**OK_BODY, **extra}


def codes(result: fwcompat.Result) -> list[tuple[str, str]]:
    return [(d.code, d.path) for d in result.diagnostics]


def test_clean_request_passes_through_untouched() -> None:
    request = body()
    result = fwcompat.check(request)
    assert result.ok and result.diagnostics == () and result.headers == {}
    assert result.request is request  # nothing changed: no copy made
    assert fwcompat.normalize(request) == request


def test_diagnostic_shape() -> None:
    result = fwcompat.check(
        body(
            tools=[
                {
                    "name": "t",
                    "input_schema": {"type": "object"},
                    "cache_control": {"type": "ephemeral"},
                }
            ]
        )
    )
    (diag,) = result.diagnostics
    assert diag.code == "FW603"
    assert diag.rule == "tool-cache-control"
    assert diag.severity == "warning" and diag.severity is fwcompat.Severity.WARNING
    assert diag.scope == "body"
    assert diag.path == "/tools/0/cache_control"
    assert diag.action == "removed"
    assert "cache_control" in diag.message
    assert "eager_input_streaming,cache_control" in diag.doc  # verbatim, as the page has it
    assert diag.fix == fwcompat.Fix("safe")
    json.dumps(diag.to_dict())  # JSON-ready
    with pytest.raises(dataclasses.FrozenInstanceError):
        diag.code = "X"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.request = {}  # type: ignore[misc]


def test_only_changed_containers_are_copied() -> None:
    messages = [{"role": "user", "content": "Hi"}]
    tools = [
        {"name": "a", "input_schema": {"type": "object"}},
        {"name": "b", "input_schema": {"type": "object"}, "eager_input_streaming": True},
    ]
    request = body(messages=messages, tools=tools, service_tier="auto")
    result = fwcompat.check(request)
    assert result.request is not request
    assert result.request["messages"] is messages  # untouched subtree shared, not copied
    assert result.request["tools"] is not tools
    assert result.request["tools"][0] is tools[0]
    assert "eager_input_streaming" in tools[1] and "service_tier" in request  # input intact


def test_diagnostics_come_in_document_order() -> None:
    request = {
        "speed": "fast",
        "model": "accounts/fireworks/models/kimi-k2p5",
        "tools": [
            {
                "name": "a",
                "input_schema": {"type": "object"},
                "input_examples": [],
                "cache_control": {},
            }
        ],
        "messages": [{"role": "user", "content": "Hi"}],
        "service_tier": "auto",
    }
    result = fwcompat.check(
        request,
        base_url="https://api.fireworks.ai/inference/v1",
        headers={"anthropic-version": "2023-06-01"},
    )
    assert codes(result) == [
        ("FW101", "/base_url"),
        ("FW201", "/anthropic-version"),
        ("FW403", "/speed"),
        ("FW606", "/tools/0/input_examples"),
        ("FW603", "/tools/0/cache_control"),
        ("FW401", "/service_tier"),
    ]
    assert [d.scope for d in result.diagnostics][:2] == ["url", "headers"]


@pytest.mark.parametrize(
    ("effort", "expected", "code"),
    [
        ("low", "low", None),
        ("medium", "medium", None),
        ("high", "high", None),
        ("max", "high", "FW502"),
        ("xhigh", "xhigh", "FW503"),  # not in R2's mapping: passed on with a warning
        ("turbo", "turbo", "FW001"),  # not an Anthropic effort at all
        (None, None, None),
    ],
)
def test_effort_table(effort: Any, expected: Any, code: str | None) -> None:
    result = fwcompat.check(body(output_config={"effort": effort}))
    assert result.request["output_config"]["effort"] == expected
    assert [d.code for d in result.diagnostics] == ([code] if code else [])
    if code == "FW502":
        assert result.ok and result.diagnostics[0].action == "replaced"
    if code == "FW503":
        assert result.ok and result.diagnostics[0].severity == "warning"
    if code == "FW001":
        assert not result.ok


def test_effort_map_maps_extra_values() -> None:
    result = fwcompat.check(
        body(output_config={"effort": "xhigh"}), config={"effort_map": {"xhigh": "medium"}}
    )
    assert result.ok and result.request["output_config"] == {"effort": "medium"}
    (diag,) = result.diagnostics
    assert diag.code == "FW501" and diag.fix == fwcompat.Fix("unsafe", "medium")


@pytest.mark.parametrize(
    "model",
    [
        "accounts/fireworks/models/kimi-k2p5",
        "accounts/fireworks/routers/kimi-k2p5-turbo",
        "accounts/alice/deployments/12345678",
        "accounts/fireworks/models/mixtral-8x7b#accounts/alice/deployments/12345678",
        "fireworks/mixtral-8x7b#alice/12345678",
    ],
)
def test_fireworks_model_forms_pass(model: str) -> None:
    assert fwcompat.check(body(model=model)).diagnostics == ()


@pytest.mark.parametrize(
    ("model", "code"),
    [
        ("claude-sonnet-4-6", "FW304"),
        ("anthropic/claude-3-opus", "FW304"),
        ("kimi-k2p5", "FW305"),
        ("accounts/Fireworks/models/x", "FW305"),
        ("accounts/fireworks/models/", "FW305"),
        (42, "FW302"),
        (None, "FW302"),
    ],
)
def test_bad_models_are_rejected(model: Any, code: str) -> None:
    result = fwcompat.check(body(model=model))
    assert not result.ok
    assert [d.code for d in result.diagnostics] == [code]


def test_claude_name_message_points_at_model_map() -> None:
    (diag,) = fwcompat.check(body(model="claude-opus-4-7")).diagnostics
    assert "model_map" in diag.message


def test_model_map_replaces_with_an_unsafe_fix() -> None:
    config = {"model_map": {"claude-opus-4-7": "accounts/fireworks/models/kimi-k2p5"}}
    result = fwcompat.check(body(model="claude-opus-4-7"), config=config)
    assert result.ok
    assert result.request["model"] == "accounts/fireworks/models/kimi-k2p5"
    (diag,) = result.diagnostics
    assert (diag.code, diag.severity, diag.action) == ("FW303", "warning", "replaced")
    assert diag.fix == fwcompat.Fix("unsafe", "accounts/fireworks/models/kimi-k2p5")


@pytest.mark.parametrize(
    ("base_url", "path", "code"),
    [
        ("https://api.fireworks.ai/inference/v1", None, "FW101"),
        ("https://api.fireworks.ai/inference/v1/", None, "FW101"),
        ("https://acct-1.us-iowa-1.direct.fireworks.ai", None, "FW102"),
        ("https://api.fireworks.ai", None, "FW103"),
        ("https://api.fireworks.ai/inference/extra", None, "FW103"),
        (None, "/v1/messages/count_tokens", "FW104"),
        (None, "/v1/messages/batches", "FW104"),
        (None, "/v1/models", "FW104"),
        (7, None, "FW100"),
    ],
)
def test_url_rules(base_url: Any, path: Any, code: str) -> None:
    result = fwcompat.check(body(), base_url=base_url, path=path)
    assert [(d.code, d.scope, d.severity) for d in result.diagnostics] == [(code, "url", "error")]


@pytest.mark.parametrize(
    "base_url",
    [
        "https://api.fireworks.ai/inference",
        "https://api.fireworks.ai/inference/",
        "https://us.api.fireworks.ai/inference",
        "http://localhost:8000",
    ],
)
def test_good_base_urls(base_url: str) -> None:
    assert fwcompat.check(body(), base_url=base_url, path="/v1/messages").diagnostics == ()


def test_headers_are_matched_case_insensitively_and_kept() -> None:
    headers = {"Anthropic-Version": "2023-06-01", "x-api-key": "k"}
    result = fwcompat.check(body(), headers=headers)
    assert result.ok
    assert result.headers == headers and result.headers is not headers
    (diag,) = result.diagnostics
    assert (diag.code, diag.scope, diag.severity, diag.action, diag.path) == (
        "FW201",
        "headers",
        "info",
        "noted",
        "/Anthropic-Version",
    )


@pytest.mark.parametrize("value", [None, [], "text", 3, 1.5, True, ["a", {"b": 1}]])
def test_non_object_bodies_are_errors_not_exceptions(value: Any) -> None:
    result = fwcompat.check(value)
    assert not result.ok
    assert [(d.code, d.path) for d in result.diagnostics] == [("FW001", "")]
    assert result.request is value
    with pytest.raises(fwcompat.IncompatibleRequestError) as info:
        fwcompat.normalize(value)
    assert isinstance(info.value, ValueError)
    assert info.value.diagnostics == result.diagnostics


def test_schema_errors_are_one_per_problem_and_readable() -> None:
    result = fwcompat.check(
        body(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "text"}, {"type": "image"}, {"text": "no type"}],
                }
            ],
            temperature=3,
        )
    )
    assert codes(result) == [
        ("FW001", "/messages/0/content/0/text"),
        ("FW001", "/messages/0/content/1/source"),
        ("FW001", "/messages/0/content/2/type"),
        ("FW001", "/temperature"),
    ]
    messages = [d.message for d in result.diagnostics]
    assert messages[0] == "messages[0].content[0]: missing required field 'text'"
    assert "missing required field 'source'" in messages[1]
    assert "must be at most 1" in messages[3]


def test_rejected_places_are_not_reported_twice() -> None:
    result = fwcompat.check(
        body(
            tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
            raw_output="yes",
        )
    )
    assert codes(result) == [("FW601", "/tools/0"), ("FW407", "/raw_output")]


def test_max_tokens_is_optional() -> None:
    request = {k: v for k, v in OK_BODY.items() if k != "max_tokens"}
    assert fwcompat.check(request).diagnostics == ()


def test_deeply_nested_input_gives_a_result() -> None:
    deep: Any = "leaf"
    for _ in range(10_000):
        deep = {"a": [deep]}
    for request in (
        deep,
        body(messages=[{"role": "user", "content": [deep]}]),
        body(tools=[deep]),
        body(metadata=deep),
        body(extra=deep),
    ):
        result = fwcompat.check(request, headers={"x": deep})
        assert not result.ok or result.diagnostics
    result = fwcompat.check(
        body(
            tool_choice=deep,
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "tool_use", "id": "1", "name": "n", "input": deep}],
                }
            ],
        )
    )
    assert [d.code for d in result.diagnostics] == ["FW001"]
    assert sys.getrecursionlimit() < 10_000  # the walk above really was deeper than the stack


def test_huge_request_is_checked() -> None:
    messages = [
        {
            "role": "user" if i % 2 == 0 else "assistant",
            "content": [{"type": "text", "text": "x" * 100, "caller": {"type": "direct"}}],
        }
        for i in range(20_000)
    ]
    result = fwcompat.check(body(messages=messages))
    assert len(result.diagnostics) == 20_000
    assert all(d.code == "FW701" for d in result.diagnostics)
    assert result.diagnostics[-1].path == "/messages/19999/content/0/caller"
    assert "caller" not in result.request["messages"][5]["content"][0]
    assert "caller" in messages[5]["content"][0]


def test_config_ignore_select_and_severity() -> None:
    request = body(service_tier="auto", speed="fast")
    assert [d.code for d in fwcompat.check(request, config={"ignore": ["FW401"]}).diagnostics] == [
        "FW403"
    ]
    assert [d.code for d in fwcompat.check(request, config={"select": ["FW40"]}).diagnostics] == [
        "FW401",
        "FW403",
    ]
    assert fwcompat.check(request, config={"select": ["FW5"]}).diagnostics == ()
    strict = fwcompat.check(
        request, config=fwcompat.Config.from_dict({"severity": {"FW401": "error"}})
    )
    assert not strict.ok and strict.errors[0].code == "FW401"
    ignored = fwcompat.check(request, config={"ignore": ["FW401"]})
    assert ignored.request["service_tier"] == "auto"


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        ({"colour": "red"}, "unknown key 'colour'"),
        ({"severity": {"FW401": "fatal"}}, "'fatal' is not a severity"),
        ({"ignore": ["nope"]}, "'nope' is not a rule code"),
        ({"ignore": ["FW999"]}, "'FW999' matches no rule"),
        ({"model_map": {"claude-x": "gpt-4o"}}, "value 'gpt-4o' is not accepted"),
        ({"model_map": {"claude-x": 5}}, "must be a non-empty string"),
        ({"effort_map": {"xhigh": "max"}}, "value 'max' is not accepted"),
        ({"effort_map": {"low": "high"}}, "key 'low' is not accepted"),
        ({"pack": "nosuchpack"}, "unknown rule pack 'nosuchpack'"),
        ({"rule_files": "one.yaml"}, "expected a list of paths"),
        ("strict", "expected a dict or fwcompat.Config"),
    ],
)
def test_bad_config_is_a_clear_error(config: Any, needle: str) -> None:
    with pytest.raises(fwcompat.FwcompatError) as info:
        fwcompat.check(body(), config=config)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, fwcompat.FwcompatError)
    assert needle in str(info.value)


def test_config_objects_are_hashable_and_mergeable() -> None:
    config = fwcompat.Config.from_dict(
        {"model-map": {"claude-x": "accounts/fireworks/models/kimi-k2p5"}, "ignore": ["FW2"]}
    )
    assert hash(config) == hash(fwcompat.Config.from_dict(config.to_dict()))
    merged = config.merged(ignore=["FW4"])
    assert merged.ignore == ("FW4",) and merged.model_map == config.model_map


def test_list_rules_covers_every_documented_difference() -> None:
    rules = {r.code: r for r in fwcompat.list_rules()}
    paths = {r.path for r in rules.values()}
    documented = ["/service_tier", "/inference_geo", "/speed", "/output_config/speed"]
    documented += ["/container", "/raw_output", "/thinking/type", "/output_config/effort"]
    documented += ["/model", "/tools/*", "/messages/*/content/*/caller"]
    documented += ["/anthropic-version", "/base_url", "/path"]
    for path in documented:
        assert path in paths
    for field in (
        "eager_input_streaming",
        "cache_control",
        "allowed_callers",
        "defer_loading",
        "input_examples",
    ):
        assert f"/tools/*/{field}" in paths


def test_error_message_stays_readable_with_many_errors() -> None:
    messages = [{"role": "robot", "content": "x"} for _ in range(50)]
    with pytest.raises(fwcompat.IncompatibleRequestError) as info:
        fwcompat.normalize(body(messages=messages))
    assert len(info.value.errors) == 50
    text = str(info.value)
    assert text.startswith(
        "request is not compatible (50 error(s)): FW001 [error] /messages/0/role"
    )
    assert text.endswith("and 40 more (see .errors)")


def test_a_fix_raised_to_error_does_not_read_as_done() -> None:
    body = {
        "model": "accounts/fireworks/models/kimi-k2p5",
        "messages": [{"role": "user", "content": "Hi"}],
        "service_tier": "auto",
    }
    result = fwcompat.check(body, config={"severity": {"FW401": "error"}})
    (d,) = result.diagnostics
    assert not result.ok and d.severity == "error" and d.fix is not None
    assert "removed (" not in d.message and "an error by configuration (FW401)" in d.message
    with pytest.raises(fwcompat.IncompatibleRequestError):
        fwcompat.normalize(body, config={"severity": {"FW401": "error"}})


def test_a_member_removed_earlier_is_not_reported_again_by_a_later_rule(tmp_path: Any) -> None:
    """FW602 removes eager_input_streaming; a later note on every tool member must not
    report the member that is gone (its match was found before the removal)."""
    rule_file = tmp_path / "notes.yaml"
    rule_file.write_text(
        """
rules:
  - code: XX601
    name: tool-member-noted
    title: Every tool member is noted
    doc: "Our gateway notes tool members."
    basis: inferred
    path: /tools/*/*
    when: {key_not_in: [name, input_schema]}
    severity: info
    action: note
    message: "{key} noted."
    examples:
      - name: a description
        body:
          model: accounts/fireworks/models/kimi-k2p5
          messages: []
          tools: [{name: f, input_schema: {type: object}, description: d}]
        expect: [{code: XX601, path: /tools/0/description}]
      - name: a bare tool
        body:
          model: accounts/fireworks/models/kimi-k2p5
          messages: []
          tools: [{name: f, input_schema: {type: object}}]
        expect: []
"""
    )
    tool = {"name": "f", "input_schema": {"type": "object"}, "eager_input_streaming": True}
    result = fwcompat.check(body(tools=[tool]), config={"rule_files": [str(rule_file)]})
    assert [(d.code, d.path) for d in result.diagnostics] == [
        ("FW602", "/tools/0/eager_input_streaming")
    ]
