"""A real ASGI gateway (CompatMiddleware in front of a forwarding app, served by uvicorn)."""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest
from conftest import MeteredGateway
from fireworks_stub import MODEL, ForwardingApp, ServerThread, Upstream

import fwcompat
import fwcompat.anthropic as fa
from fwcompat.asgi import CompatMiddleware
from fwcompat.usage import Usage, UsageMeter, iter_sse

BODY: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 32,
    "messages": [{"role": "user", "content": "Hello"}],
    "tools": [
        {
            "name": "lookup",
            "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
        }
    ],
}


def error_of(response: httpx.Response) -> dict[str, Any]:
    data = response.json()
    assert data["type"] == "error"
    assert set(data) == {"type", "error"}
    error: dict[str, Any] = data["error"]
    return error


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def test_normalized_body_is_forwarded(
    upstream: Upstream, gateway_url: str, http: httpx.Client
) -> None:
    dirty = {
        **BODY,
        "service_tier": "auto",
        "inference_geo": "us",
        "speed": "fast",
        "tools": [{**BODY["tools"][0], "cache_control": {"type": "ephemeral"}}],
    }
    response = http.post(gateway_url + "/v1/messages", json=dirty)
    assert response.status_code == 200
    [received] = upstream.received
    assert received.body == BODY
    assert int(received.headers["content-length"]) == len(received.raw)
    applied = response.headers["x-fwcompat-applied"].split(",")
    assert len(applied) == 4
    assert len(set(applied)) == len(applied)
    result = fwcompat.check(dirty)
    assert applied == list(dict.fromkeys(d.code for d in result.diagnostics if d.fix))
    assert response.json()["usage"] == received.usage


def test_compatible_body_is_forwarded_byte_for_byte(
    upstream: Upstream, gateway_url: str, http: httpx.Client
) -> None:
    raw = json.dumps(BODY, indent=2).encode()  # any formatting survives
    response = http.post(
        gateway_url + "/v1/messages",
        content=raw,
        headers={"content-type": "application/json", "anthropic-version": "2023-06-01"},
    )
    assert response.status_code == 200
    assert "x-fwcompat-applied" not in response.headers
    [received] = upstream.received
    assert received.raw == raw
    assert received.headers["anthropic-version"] == "2023-06-01"


def test_incompatible_request_gets_400_and_never_reaches_the_app(
    upstream: Upstream, gateway_url: str, http: httpx.Client
) -> None:
    bad = {**BODY, "model": "claude-sonnet-4-6", "thinking": {"type": "adaptive"}}
    response = http.post(gateway_url + "/v1/messages", json=bad)
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    result = fwcompat.check(bad)
    assert len(result.errors) >= 2
    for diagnostic in result.errors:  # every error is named
        assert str(diagnostic) in error["message"]
    assert response.headers["x-fwcompat-rejected"].split(",") == list(
        dict.fromkeys(d.code for d in result.errors)
    )
    assert upstream.received == []


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid UTF-8"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
        (b"null", "JSON object"),
    ],
)
def test_bad_input_gets_a_clean_400(
    upstream: Upstream, gateway_url: str, http: httpx.Client, content: bytes, needle: str
) -> None:
    response = http.post(gateway_url + "/v1/messages", content=content)
    assert response.status_code == 400
    assert needle in error_of(response)["message"]
    assert upstream.received == []


def test_body_over_the_limit_by_content_length_gets_413(
    upstream: Upstream, small_gateway_url: str, http: httpx.Client
) -> None:
    big = {**BODY, "system": "x" * 4096}
    response = http.post(small_gateway_url + "/v1/messages", json=big)
    assert response.status_code == 413
    assert error_of(response)["type"] == "request_too_large"
    assert upstream.received == []


def test_chunked_body_over_the_limit_gets_413(
    upstream: Upstream, small_gateway_url: str, http: httpx.Client
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "' + MODEL.encode() + b'", "system": "'
        for _ in range(10):
            yield b"y" * 512
        yield b'"}'

    response = http.post(small_gateway_url + "/v1/messages", content=chunks())
    assert response.status_code == 413
    assert upstream.received == []


def test_chunked_body_under_the_limit_is_accepted(
    upstream: Upstream, small_gateway_url: str, http: httpx.Client
) -> None:
    raw = json.dumps(BODY).encode()
    response = http.post(
        small_gateway_url + "/v1/messages", content=iter([raw[:10], raw[10:50], raw[50:]])
    )
    assert response.status_code == 200
    assert upstream.received[0].raw == raw


def test_content_length_over_the_limit_is_refused_before_the_body_is_sent(
    upstream: Upstream, small_gateway_url: str
) -> None:
    # A raw request that declares 5000 bytes and sends none: the 413 must come at once.
    port = int(small_gateway_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /v1/messages HTTP/1.1\r\nHost: gateway\r\n"
            b"Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
        )
        reply = b""
        while b"\r\n\r\n" not in reply:
            data = sock.recv(4096)
            if not data:
                break
            reply += data
    assert reply.startswith(b"HTTP/1.1 413 ")
    assert upstream.received == []


def test_compressed_body_gets_415(upstream: Upstream, gateway_url: str, http: httpx.Client) -> None:
    raw = gzip.compress(json.dumps(BODY).encode())
    response = http.post(
        gateway_url + "/v1/messages", content=raw, headers={"content-encoding": "gzip"}
    )
    assert response.status_code == 415
    assert "gzip" in error_of(response)["message"]
    assert upstream.received == []


def test_gateway_under_a_root_path(upstream: Upstream, http: httpx.Client) -> None:
    app = CompatMiddleware(ForwardingApp(upstream.url))
    with ServerThread(app, root_path="/anthropic") as server:
        response = http.post(server.url + "/v1/messages", json={**BODY, "service_tier": "auto"})
    assert response.status_code == 200
    assert response.headers["x-fwcompat-applied"]
    assert upstream.received[0].body == BODY


def test_under_starlette_as_middleware_and_mounted(upstream: Upstream, http: httpx.Client) -> None:
    pytest.importorskip("starlette")
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    seen: list[Any] = []

    async def messages(request: Request) -> JSONResponse:
        seen.append(await request.json())
        return JSONResponse({"ok": True})

    inner = Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])])
    app = Starlette(
        routes=[Mount("/anthropic", app=CompatMiddleware(inner))],
        middleware=[Middleware(CompatMiddleware, max_body_size=4096)],
    )
    with ServerThread(app) as server:
        mounted = http.post(
            server.url + "/anthropic/v1/messages", json={**BODY, "inference_geo": "us"}
        )
        too_big = http.post(server.url + "/v1/messages", json={**BODY, "system": "x" * 5000})
        rejected = http.post(
            server.url + "/anthropic/v1/messages", json={**BODY, "model": "claude-opus-4-7"}
        )
    assert mounted.status_code == 200
    assert mounted.headers["x-fwcompat-applied"]
    assert seen == [BODY]
    assert too_big.status_code == 413
    assert rejected.status_code == 400
    assert error_of(rejected)["type"] == "invalid_request_error"


def test_other_paths_pass_through_unchanged(
    upstream: Upstream, gateway_url: str, http: httpx.Client
) -> None:
    assert http.get(gateway_url + "/v1/models").status_code == 404  # the upstream's own answer
    raw = b'{"model": "claude-sonnet-4-6"}'
    assert http.post(gateway_url + "/v1/complete", content=raw).status_code == 404
    first, second = upstream.received
    assert (first.method, first.path) == ("GET", "/v1/models")
    assert (second.path, second.raw) == ("/v1/complete", raw)


def test_count_tokens_gets_the_url_rules_as_in_the_sdk_client(
    upstream: Upstream, gateway_url: str, http: httpx.Client
) -> None:
    raw = b'{"model": "claude-sonnet-4-6", "service_tier": "auto"}'
    for path in ("/v1/messages/count_tokens", "//V1/messages/count_tokens/"):
        response = http.post(gateway_url + path, content=raw)
        assert response.status_code == 400
        assert response.headers["x-fwcompat-rejected"] == "FW104"
        assert "count_tokens" in error_of(response)["message"]
    assert upstream.received == []
    # The SDK client says the same, before sending anything.
    with (
        anthropic.Anthropic(base_url=upstream.url, api_key="k", http_client=fa.http_client()) as c,
        pytest.raises(anthropic.BadRequestError) as info,
    ):
        c.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "Hi"}])
    assert info.value.body == response.json()
    assert upstream.received == []


def test_count_tokens_passes_when_the_rule_is_ignored(
    upstream: Upstream, http: httpx.Client
) -> None:
    app = CompatMiddleware(ForwardingApp(upstream.url), config={"ignore": ["FW104"]})
    raw = b'{"model": "claude-sonnet-4-6", "service_tier": "auto"}'
    with ServerThread(app) as server:
        response = http.post(server.url + "/v1/messages/count_tokens", content=raw)
    assert response.status_code == 404  # the stub's own answer
    [received] = upstream.received
    assert (received.path, received.raw) == ("/v1/messages/count_tokens", raw)


def test_streaming_is_passed_through_without_buffering(
    upstream: Upstream, gateway_url: str, http: httpx.Client
) -> None:
    """A handshake, not a timing: the stub holds message_delta back until the client has
    seen the text deltas. A gateway that buffered the stream would never let them
    through, the hold would run out, and ``released`` would say so."""
    meter = UsageMeter()
    seen_before_release: list[bytes] = []
    with http.stream(
        "POST",
        gateway_url + "/v1/messages",
        json={**BODY, "stream": True, "service_tier": "auto"},
        headers={"x-stub-shape": "held"},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "x-fwcompat-applied" in response.headers
        for chunk in response.iter_raw():
            if not upstream.stub.held.is_set():
                seen_before_release.append(chunk)
                if b"content_block_stop" in b"".join(seen_before_release):
                    upstream.stub.release()
            meter.feed_bytes(chunk)
    assert upstream.stub.released == [True]  # released by the client, not by the deadline
    assert b"message_delta" not in b"".join(seen_before_release)
    received = upstream.received[0]
    assert received.body == {**BODY, "stream": True}
    assert meter.finish() == Usage(**(received.usage or {}))
    assert meter.ok


def test_raw_stream_metering_with_iter_sse(
    upstream: Upstream, gateway_url: str, http: httpx.Client
) -> None:
    with http.stream(
        "POST",
        gateway_url + "/v1/messages",
        json={**BODY, "stream": True},
        headers={"x-stub-shape": "two-deltas"},
    ) as response:
        events = list(iter_sse(response.iter_bytes()))
    meter = UsageMeter()
    for event in events:
        meter.feed(event)
    assert meter.finish() == Usage(**(upstream.received[0].usage or {}))
    assert [i.code for i in meter.issues] == ["FWU002"]
    start = json.loads(events[0].data)
    assert start["message"]["usage"] == {"input_tokens": 0, "output_tokens": 0}


def test_sdk_through_the_gateway(upstream: Upstream, gateway_url: str) -> None:
    with anthropic.Anthropic(base_url=gateway_url, api_key="k", max_retries=0) as c:
        raw = c.messages.with_raw_response.create(
            model=MODEL,
            max_tokens=32,
            messages=[{"role": "user", "content": "Hi"}],
            extra_body={"inference_geo": "us"},
        )
        assert raw.headers["x-fwcompat-applied"]
        assert (
            raw.parse().usage.output_tokens == (upstream.received[0].usage or {})["output_tokens"]
        )
        with pytest.raises(anthropic.BadRequestError) as info:
            c.messages.create(
                model="claude-haiku-4-5",
                max_tokens=32,
                messages=[{"role": "user", "content": "Hi"}],
            )
    assert info.value.status_code == 400
    assert "/model" in str(info.value)
    assert len(upstream.received) == 1
    assert upstream.received[0].body["model"] == MODEL
    assert "inference_geo" not in upstream.received[0].body


def test_gateway_and_sdk_transport_together(upstream: Upstream, gateway_url: str) -> None:
    """Checking twice (client and gateway) is harmless: the second check finds nothing to do."""
    http_client = fa.http_client()
    with anthropic.Anthropic(base_url=gateway_url, api_key="k", http_client=http_client) as c:
        raw = c.messages.with_raw_response.create(
            model=MODEL,
            max_tokens=32,
            messages=[{"role": "user", "content": "Hi"}],
            extra_body={"service_tier": "auto"},
        )
    assert "x-fwcompat-applied" not in raw.headers
    assert "service_tier" not in upstream.received[0].body


def test_bad_middleware_settings_fail_at_construction() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not called")

    with pytest.raises(fwcompat.ConfigError):
        CompatMiddleware(app, max_body_size=0)
    with pytest.raises(fwcompat.ConfigError):
        CompatMiddleware(app, config={"no_such_key": 1})
    with pytest.raises(fwcompat.ConfigError, match="/v1"):
        CompatMiddleware(app, upstream_base_url="https://api.fireworks.ai/inference/v1")
    CompatMiddleware(app, upstream_base_url="https://api.fireworks.ai/inference")
    for path in (None, "v1/messages", "", b"/v1/messages"):
        with pytest.raises(fwcompat.ConfigError, match="absolute request path"):
            CompatMiddleware(app, path=path)  # type: ignore[arg-type]
    for threshold in (-1, 1.5, True):
        with pytest.raises(fwcompat.ConfigError, match="thread_threshold"):
            CompatMiddleware(app, thread_threshold=threshold)  # type: ignore[arg-type]


# ----------------------------------------------------------------- on_usage


@pytest.mark.parametrize("gzipped", [False, True])
def test_on_usage_non_streaming(
    upstream: Upstream, metered_gateway: MeteredGateway, http: httpx.Client, gzipped: bool
) -> None:
    headers = {"x-stub-gzip": "1"} if gzipped else {}
    response = http.post(metered_gateway.url + "/v1/messages", json=BODY, headers=headers)
    assert response.status_code == 200
    assert (response.headers.get("content-encoding") == "gzip") is gzipped
    assert metered_gateway.wait() == [
        ("/v1/messages", Usage(**(upstream.received[0].usage or {})), ())
    ]


@pytest.mark.parametrize(
    ("shape", "codes"),
    [("", []), ("two-deltas", ["FWU002"]), ("no-delta", ["FWU001"]), ("cut", ["FWU005"])],
)
def test_on_usage_streaming(
    upstream: Upstream,
    metered_gateway: MeteredGateway,
    http: httpx.Client,
    shape: str,
    codes: list[str],
) -> None:
    with http.stream(
        "POST",
        metered_gateway.url + "/v1/messages",
        json={**BODY, "stream": True, "speed": "fast"},
        headers={"x-stub-shape": shape},
    ) as response:
        assert response.headers["x-fwcompat-applied"]
        response.read()
    [(path, usage, issues)] = metered_gateway.wait()
    expected = None if shape == "no-delta" else Usage(**(upstream.received[0].usage or {}))
    assert (path, usage) == ("/v1/messages", expected)
    assert [i.code for i in issues] == codes


def test_on_usage_is_not_called_for_rejected_or_other_requests(
    metered_gateway: MeteredGateway, http: httpx.Client
) -> None:
    assert (
        http.post(metered_gateway.url + "/v1/messages", json={**BODY, "model": "x"}).status_code
        == 400
    )
    assert http.get(metered_gateway.url + "/v1/models").status_code == 404
    assert metered_gateway.reports == []
