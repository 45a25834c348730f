"""The real ``anthropic`` SDK (sync, async, streaming) through fwcompat.anthropic to a server."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from typing import Any

import anthropic
import pytest
from fireworks_stub import MODEL, Upstream

import fwcompat
import fwcompat.anthropic as fa
from fwcompat.usage import Usage, UsageMeter, usage_from_response

SDK_MAJOR = int(anthropic.__version__.split(".")[0])

CLEAN: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "system": "Be brief.",
    "messages": [
        {"role": "user", "content": "What is the weather in Oslo?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"c": "Oslo"},
                },
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Rain, 7 C"}],
        },
    ],
    "tools": [
        {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "input_schema": {"type": "object", "properties": {"c": {"type": "string"}}},
        }
    ],
    "stop_sequences": ["END"],
    "metadata": {"user_id": "u-1"},
}


def dirty() -> dict[str, Any]:
    """CLEAN plus fields Fireworks does not support (all removed with warnings)."""
    body = copy.deepcopy(CLEAN)
    body["service_tier"] = "auto"
    body["inference_geo"] = "us"
    body["tools"][0]["cache_control"] = {"type": "ephemeral"}
    body["tools"][0]["eager_input_streaming"] = True
    return body


def create_kwargs(body: dict[str, Any]) -> dict[str, Any]:
    """``messages.create`` kwargs: fields typed in every supported SDK, the rest in extra_body."""
    typed = {"model", "max_tokens", "system", "messages", "tools", "stop_sequences", "metadata"}
    kwargs = {k: v for k, v in body.items() if k in typed}
    extra = {k: v for k, v in body.items() if k not in typed}
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def client(upstream: Upstream, **options: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=upstream.url, api_key="test-key", http_client=fa.http_client(**options)
    )


def async_client(upstream: Upstream, **options: Any) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=upstream.url, api_key="test-key", http_client=fa.async_http_client(**options)
    )


def test_sdk_uses_the_detected_http_library() -> None:
    assert ("httpx2" if SDK_MAJOR >= 1 else "httpx") == fa.HTTP_LIBRARY
    http = fa.http_client()
    try:
        assert type(http).__module__.startswith("anthropic")
        assert any(cls.__module__.split(".")[0] == fa.HTTP_LIBRARY for cls in type(http).__mro__)
    finally:
        http.close()


def test_unsupported_fields_are_removed_before_sending(
    upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fwcompat")
    with client(upstream) as c:
        message = c.messages.create(**create_kwargs(dirty()))
    [received] = upstream.received
    assert received.path == "/v1/messages"
    assert received.body == CLEAN  # unsupported fields gone, nothing else changed
    assert int(received.headers["content-length"]) == len(received.raw)
    assert usage_from_response(message) == Usage(**(received.usage or {}))
    logged = [r.getMessage() for r in caplog.records if r.name == "fwcompat"]
    for field in ("/service_tier", "/inference_geo", "/tools/0/cache_control"):
        assert any(field in line for line in logged), field
    assert "/tools/0/eager_input_streaming" in " ".join(logged)


def test_compatible_request_is_sent_unchanged(upstream: Upstream) -> None:
    with client(upstream) as c:
        c.messages.create(**create_kwargs(CLEAN))
    [received] = upstream.received
    assert received.body == CLEAN


def test_warn_true_issues_python_warnings(upstream: Upstream) -> None:
    with client(upstream, warn=True) as c, pytest.warns(fa.FwcompatWarning, match="service_tier"):
        c.messages.create(**create_kwargs({**CLEAN, "service_tier": "auto"}))
    assert upstream.received[0].body == CLEAN


@pytest.mark.parametrize(
    ("change", "code_in_message"),
    [
        ({"model": "claude-sonnet-4-6"}, "/model"),
        ({"thinking": {"type": "adaptive"}}, "/thinking"),
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "/tools/0"),
    ],
)
def test_incompatible_request_raises_before_any_traffic(
    upstream: Upstream, change: dict[str, Any], code_in_message: str
) -> None:
    with client(upstream) as c, pytest.raises(fwcompat.IncompatibleRequestError) as info:
        c.messages.create(**create_kwargs({**CLEAN, **change}))
    assert upstream.received == []  # never reached the server, and was not retried
    assert isinstance(info.value, anthropic.AnthropicError)
    assert info.value.errors
    assert all(d.severity == "error" for d in info.value.errors)
    assert code_in_message in str(info.value)


def test_model_map_from_config(upstream: Upstream) -> None:
    config = {"model_map": {"claude-sonnet-4-6": MODEL}}
    with client(upstream, config=config) as c:
        c.messages.create(**create_kwargs({**CLEAN, "model": "claude-sonnet-4-6"}))
    assert upstream.received[0].body == CLEAN


def test_base_url_ending_in_v1_is_rejected(upstream: Upstream) -> None:
    c = anthropic.Anthropic(
        base_url=upstream.url + "/v1", api_key="k", http_client=fa.http_client()
    )
    with c, pytest.raises(fwcompat.IncompatibleRequestError) as info:
        c.messages.create(**create_kwargs(CLEAN))
    assert {d.scope for d in info.value.errors} == {"url"}
    assert upstream.received == []


def test_other_endpoints_are_rejected_by_the_url_rules(upstream: Upstream) -> None:
    with client(upstream) as c, pytest.raises(fwcompat.IncompatibleRequestError) as info:
        c.messages.count_tokens(model=MODEL, messages=CLEAN["messages"])
    assert {d.scope for d in info.value.errors} == {"url"}
    assert upstream.received == []


def test_other_endpoints_pass_when_the_rule_is_ignored(upstream: Upstream) -> None:
    with (
        client(upstream, config={"ignore": ["FW104"]}) as c,
        pytest.raises(anthropic.NotFoundError),
    ):
        c.messages.count_tokens(model=MODEL, messages=CLEAN["messages"])
    [received] = upstream.received  # sent untouched; the stub answers 404
    assert received.path == "/v1/messages/count_tokens"
    assert received.body == {"model": MODEL, "messages": CLEAN["messages"]}


def test_explicit_base_url_is_used_to_split_the_url(upstream: Upstream) -> None:
    with client(upstream, base_url=upstream.url) as c:
        c.messages.create(**create_kwargs(dirty()))
    assert upstream.received[0].body == CLEAN


def test_sync_stream_is_metered_from_message_delta(upstream: Upstream) -> None:
    meter = UsageMeter()
    with client(upstream) as c:
        stream = c.messages.create(stream=True, **create_kwargs(dirty()))
        text = ""
        for event in stream:
            meter.feed(event)
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                text += event.delta.text
    [received] = upstream.received
    assert received.body == {**CLEAN, "stream": True}
    assert text == "Hello from the stub."
    assert received.usage is not None
    assert meter.finish() == Usage(**received.usage)
    assert received.usage["input_tokens"] > 0
    assert meter.issues == ()


def test_stream_helper_events_are_metered(upstream: Upstream) -> None:
    meter = UsageMeter()
    with client(upstream) as c, c.messages.stream(**create_kwargs(CLEAN)) as stream:
        for event in stream:
            meter.feed(event)
    received = upstream.received[0]
    assert meter.finish() == Usage(**(received.usage or {}))
    assert meter.ok


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ("two-deltas", ["FWU002"]),
        ("no-delta", ["FWU001"]),
        ("delta-after-stop", ["FWU003", "FWU002"]),
    ],
)
def test_broken_stream_shape_is_reported(
    upstream: Upstream, shape: str, expected: list[str]
) -> None:
    meter = UsageMeter()
    with client(upstream) as c:
        stream = c.messages.create(
            stream=True, extra_headers={"x-stub-shape": shape}, **create_kwargs(CLEAN)
        )
        for event in stream:
            meter.feed(event)
    meter.finish()
    assert [issue.code for issue in meter.issues] == expected


def test_async_create_and_stream(upstream: Upstream) -> None:
    async def run() -> tuple[Any, Usage | None]:
        async with async_client(upstream) as c:
            message = await c.messages.create(**create_kwargs(dirty()))
            meter = UsageMeter()
            stream = await c.messages.create(stream=True, **create_kwargs(dirty()))
            async for event in stream:
                meter.feed(event)
            return message, meter.finish()

    message, streamed = asyncio.run(run())
    first, second = upstream.received
    assert first.body == CLEAN
    assert second.body == {**CLEAN, "stream": True}
    assert usage_from_response(message) == Usage(**(first.usage or {}))
    assert streamed == Usage(**(second.usage or {}))


def test_async_incompatible_request_raises(upstream: Upstream) -> None:
    async def run() -> None:
        async with async_client(upstream) as c:
            await c.messages.create(**create_kwargs({**CLEAN, "model": "claude-opus-4-7"}))

    with pytest.raises(fwcompat.IncompatibleRequestError):
        asyncio.run(run())
    assert upstream.received == []


def test_error_is_picklable() -> None:
    import pickle

    result = fwcompat.check({**CLEAN, "model": "claude-opus-4-7"})
    error = fa.IncompatibleRequestError(result.diagnostics)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is fa.IncompatibleRequestError
    assert again.errors == error.errors
    assert str(again) == str(error)
    assert json.dumps([d.to_dict() for d in again.errors])
