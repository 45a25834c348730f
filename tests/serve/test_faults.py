"""Faults end in a well-formed Anthropic error for the client and no leaked connection."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx
import pytest
from fireworks_stub import Upstream

from tests.serve.conftest import MODEL, Proxy, ServeFactory, free_port, last, wait_until

HI: Any = [{"role": "user", "content": "Hi"}]
STREAM_BODY: Any = {"model": MODEL, "max_tokens": 16, "stream": True, "messages": HI}


def sse_events(text: str) -> list[tuple[str, Any]]:
    """(event, data) of each complete event of an SSE body; raises on a torn event."""
    events = []
    for frame in text.split("\n\n"):
        if not frame.strip():
            continue
        fields = dict(line.split(": ", 1) for line in frame.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def settled(proxy: Proxy) -> bool:
    """Nothing in flight: every request's connection was closed and counted."""
    return "fwcompat_serve_in_flight_requests 0.0" in proxy.metrics()


@pytest.mark.parametrize("shape", ["die", "die-torn"])
def test_upstream_dying_mid_stream_ends_with_an_error_event(
    proxy: Proxy, upstream: Upstream, shape: str
) -> None:
    response = httpx.post(
        proxy.url + "/v1/messages",
        json=STREAM_BODY,
        headers={"x-stub-shape": shape, "x-request-id": f"die-{shape}"},
        timeout=30,
    )
    assert response.status_code == 200  # the stream had started
    events = sse_events(response.text)  # every event whole: a torn one is never forwarded
    assert [e[0] for e in events] == ["message_start", "error"]
    name, data = events[-1]
    assert name == "error"
    assert data["type"] == "error"
    assert data["error"]["type"] == "api_error"
    assert "broke mid-stream" in data["error"]["message"]
    assert wait_until(lambda: settled(proxy))
    assert "broke mid-stream" in proxy.line(f"die-{shape}")["error"]


def test_sdk_sees_the_mid_stream_death_as_an_api_error(proxy: Proxy, upstream: Upstream) -> None:
    with (
        anthropic.Anthropic(base_url=proxy.url, api_key="k", max_retries=0) as client,
        pytest.raises(anthropic.APIStatusError, match="broke mid-stream"),
        client.messages.stream(
            model=MODEL, max_tokens=16, messages=HI, extra_headers={"x-stub-shape": "die"}
        ) as stream,
    ):
        for _ in stream:
            pass


def test_upstream_stalling_before_headers_is_a_504_timeout_error(
    serve: ServeFactory, upstream: Upstream
) -> None:
    proxy = serve("--upstream-timeout", "1")  # the stub would wait 60 s
    response = httpx.post(
        proxy.url + "/v1/messages",
        json={**STREAM_BODY, "stream": False},
        headers={"x-stub-shape": "stall-headers"},
        timeout=60,
    )
    assert response.status_code == 504
    assert response.json()["error"]["type"] == "timeout_error"
    # The proxy closed its upstream request: the stub saw the disconnect.
    assert wait_until(lambda: last(upstream).disconnected)
    assert wait_until(lambda: settled(proxy))


def test_upstream_stalling_mid_stream_ends_with_a_timeout_error_event(
    serve: ServeFactory, upstream: Upstream
) -> None:
    proxy = serve("--upstream-timeout", "1")  # the stub would wait 60 s
    response = httpx.post(
        proxy.url + "/v1/messages",
        json=STREAM_BODY,
        headers={"x-stub-shape": "stall-mid"},
        timeout=60,
    )
    events = sse_events(response.text)
    assert [e[0] for e in events] == ["message_start", "error"]
    assert events[-1][1]["error"]["type"] == "timeout_error"
    assert wait_until(lambda: last(upstream).disconnected)
    assert wait_until(lambda: settled(proxy))


def test_client_disconnect_mid_stream_closes_the_upstream_request(
    proxy: Proxy, upstream: Upstream
) -> None:
    headers = {"x-stub-shape": "stall-mid", "x-stub-delay": "60", "x-request-id": "gone-1"}
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", proxy.url + "/v1/messages", json=STREAM_BODY, headers=headers) as r,
    ):
        for chunk in r.iter_raw():
            if b"message_start" in chunk:
                break  # leave mid-stream: the connection closes here
    assert wait_until(lambda: bool(upstream.received) and last(upstream).disconnected)
    assert wait_until(lambda: settled(proxy))
    line = proxy.line("gone-1")
    assert line["error"] == "client disconnected"


def test_body_over_the_limit_is_413_and_not_forwarded(proxy: Proxy, upstream: Upstream) -> None:
    # The shared proxy runs with --max-body-size 65536.
    big = {"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "x" * 70000}]}
    response = httpx.post(proxy.url + "/v1/messages", json=big, timeout=30)
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"

    def chunks() -> Any:  # no content-length: counted while reading
        yield b'{"model": "m", "messages": [{"role": "user", "content": "'
        for _ in range(100):
            yield b"y" * 1000
        yield b'"}]}'

    response = httpx.post(proxy.url + "/v1/messages", content=chunks(), timeout=30)
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"
    assert upstream.received == []
    assert wait_until(lambda: settled(proxy))


@pytest.mark.parametrize(
    "raw", [b"{not json", b'{"model": "m", "messages": [}', b"[1, 2]", b"\xff\xfe{}"]
)
def test_invalid_json_is_400_and_not_forwarded(
    proxy: Proxy, upstream: Upstream, raw: bytes
) -> None:
    response = httpx.post(
        proxy.url + "/v1/messages",
        content=raw,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400
    error = response.json()
    assert error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert upstream.received == []
    assert wait_until(lambda: settled(proxy))


@pytest.mark.parametrize(("status", "kind"), [(429, "rate_limit_error"), (529, "overloaded_error")])
def test_upstream_429_and_529_pass_through_with_retry_after(
    proxy: Proxy, upstream: Upstream, status: int, kind: str
) -> None:
    response = httpx.post(
        proxy.url + "/v1/messages",
        json={**STREAM_BODY, "stream": False},
        headers={"x-stub-status": str(status), "x-request-id": f"status-{status}"},
        timeout=30,
    )
    assert response.status_code == status
    assert response.headers["retry-after"] == "7"
    assert response.json() == {
        "type": "error",
        "error": {"type": kind, "message": f"stub says {status}"},
    }
    line = proxy.line(f"status-{status}")
    assert (line["status"], line["upstream_status"]) == (status, status)
    assert wait_until(lambda: settled(proxy))


def test_sdk_gets_the_429_with_retry_after(proxy: Proxy, upstream: Upstream) -> None:
    with (
        anthropic.Anthropic(base_url=proxy.url, api_key="k", max_retries=0) as client,
        pytest.raises(anthropic.RateLimitError) as caught,
    ):
        client.messages.create(
            model=MODEL, max_tokens=8, messages=HI, extra_headers={"x-stub-status": "429"}
        )
    assert caught.value.response.headers["retry-after"] == "7"


def test_unreachable_upstream_is_a_502_api_error(serve: ServeFactory, upstream: Upstream) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proxy = serve("--upstream", dead, "--connect-timeout", "5")
    response = httpx.post(proxy.url + "/v1/messages", json=STREAM_BODY, timeout=30)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["type"] == "api_error"
    assert dead in error["message"]
    (line,) = proxy.wait_records(1)
    assert line["status"] == 502
    assert line["error"].startswith("upstream unreachable")


def test_a_full_upstream_pool_is_a_529_overloaded_error() -> None:
    from fireworks_stub import FireworksStub, ServerThread

    from fwcompat.serve import ServeSettings, create_app

    stub = FireworksStub()
    with ServerThread(stub) as upstream:
        settings = ServeSettings(upstream=upstream.url, max_connections=1, connect_timeout=0.5)
        with ServerThread(create_app(settings)) as proxy, httpx.Client(timeout=60) as client:
            held = {**STREAM_BODY}
            url = proxy.url + "/v1/messages"
            with client.stream("POST", url, json=held, headers={"x-stub-shape": "held"}) as first:
                assert first.status_code == 200  # streaming: it holds the one connection
                assert wait_until(lambda: len(stub.received) == 1)
                second = httpx.post(url, json={**STREAM_BODY, "stream": False}, timeout=30)
                stub.release()
                assert b"message_stop" in first.read()
            assert second.status_code == 529
            assert second.json()["error"]["type"] == "overloaded_error"
            assert len(stub.received) == 1  # the second request never went upstream
            after = client.post(url, json={**STREAM_BODY, "stream": False})
            assert after.status_code == 200  # the connection went back to the pool
