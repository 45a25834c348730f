"""The middleware checks exactly what it forwards (issue 11, items 6, 7 and 10; issue 8)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import MeteredGateway
from fireworks_stub import MODEL, ForwardingApp, ServerThread, Upstream, gzip_bomb

import fwcompat
from fwcompat._http import normalize_path
from fwcompat.asgi import CompatMiddleware
from fwcompat.usage import Usage

BODY: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 32,
    "messages": [{"role": "user", "content": "Hello"}],
}
SERVER_TOOL = '{"type": "web_search_20250305", "name": "web_search"}'


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=60) as client:
        yield client


def message_of(response: httpx.Response) -> str:
    data = response.json()
    assert set(data) == {"type", "error"}
    assert data["error"]["type"] == "invalid_request_error"
    text: str = data["error"]["message"]
    return text


# ----------------------------------------------------------------- bodies (item 6)


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (
            b'{"model": "claude-opus-4", "model": "' + MODEL.encode() + b'", "max_tokens": 8,'
            b' "messages": [{"role": "user", "content": "Hi"}]}',
            "duplicate key 'model'",
        ),
        (
            b'{"model": "'
            + MODEL.encode()
            + b'", "max_tokens": 8, "tools": ['
            + SERVER_TOOL.encode()
            + b'], "tools": [], "messages": [{"role": "user", "content": "Hi"}]}',
            "duplicate key 'tools'",
        ),
        (
            b'{"model": "' + MODEL.encode() + b'", "max_tokens": 8, "messages": [{"role":'
            b' "user", "content": [{"type": "text", "text": "a", "text": "b"}]}]}',
            "duplicate key 'text'",
        ),
        (json.dumps(BODY).encode("utf-16"), "not valid UTF-8"),
        (json.dumps(BODY).encode("utf-16-le"), "not valid UTF-8"),
        (json.dumps(BODY).encode("utf-32"), "not valid UTF-8"),
        (b"\xef\xbb\xbf" + json.dumps(BODY).encode(), "BOM"),
        (b'{"model": "' + MODEL.encode() + b'", "max_tokens": NaN}', "NaN"),
        (b'{"max_tokens": ' + b"9" * 5000 + b"}", "not valid JSON"),
        (b'{"system": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
    ],
    ids=[
        "duplicate-model",
        "duplicate-tools",
        "duplicate-nested",
        "utf-16",
        "utf-16-le",
        "utf-32",
        "utf-8-bom",
        "nan",
        "huge-integer",
        "deep",
    ],
)
def test_ambiguous_bodies_are_refused_not_forwarded(
    upstream: Upstream, gateway_url: str, http: httpx.Client, raw: bytes, needle: str
) -> None:
    response = http.post(
        gateway_url + "/v1/messages", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert needle in message_of(response)
    assert upstream.received == []


def test_a_clean_body_is_still_forwarded_byte_for_byte(
    upstream: Upstream, gateway_url: str, http: httpx.Client
) -> None:
    raw = '{"model": "%s", "max_tokens": 8, "messages": [{"role": "user", "content": "h\\u00e9"}]}'
    response = http.post(gateway_url + "/v1/messages", content=(raw % MODEL).encode())
    assert response.status_code == 200
    assert upstream.received[0].raw == (raw % MODEL).encode()


# ----------------------------------------------------------------- paths and methods (item 7)


def raw_request(url: str, method: bytes, path: bytes, body: bytes) -> bytes:
    """One HTTP/1.1 exchange on a socket, as written (httpx would fix the method's case)."""
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            method + b" " + path + b" HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        )
        reply = b""
        while data := sock.recv(65536):
            reply += data
    return reply


@pytest.mark.parametrize(
    ("method", "path"),
    [
        (b"POST", b"//v1/messages"),
        (b"POST", b"/V1/messages"),
        (b"POST", b"/v1/Messages"),
        (b"POST", b"/v1/messages/"),
        (b"POST", b"/v1//messages"),
        (b"POST", b"/v1/./messages"),
        (b"POST", b"/x/../v1/messages"),
        (b"POST", b"/v1/messages?beta=true"),
        (b"post", b"/v1/messages"),
        (b"Post", b"//V1/messages/"),
    ],
)
def test_every_spelling_of_the_endpoint_is_checked(
    upstream: Upstream, gateway_url: str, method: bytes, path: bytes
) -> None:
    bad = json.dumps({**BODY, "model": "claude-opus-4-7"}).encode()
    reply = raw_request(gateway_url, method, path, bad)
    assert reply.startswith(b"HTTP/1.1 400 "), reply[:200]
    assert b"x-fwcompat-rejected: FW" in reply
    assert upstream.received == []
    dirty = json.dumps({**BODY, "service_tier": "auto"}).encode()
    reply = raw_request(gateway_url, method, path, dirty)
    assert b"x-fwcompat-applied: FW" in reply
    [received] = upstream.received
    assert received.body == BODY  # normalized, whatever the upstream then answers
    assert normalize_path(received.path) == "/v1/messages"  # the same endpoint upstream


def test_other_methods_on_the_endpoint_pass_through(
    upstream: Upstream, gateway_url: str, http: httpx.Client
) -> None:
    assert http.get(gateway_url + "/V1/messages/").status_code == 404
    [received] = upstream.received
    assert (received.method, received.path) == ("GET", "/V1/messages/")


# ----------------------------------------------------------------- logs (issue 8)


def test_log_records_carry_path_request_id_and_client(
    gateway_url: str, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="fwcompat")
    bad = {**BODY, "model": "claude-opus-4-7", "service_tier": "auto"}
    response = http.post(
        gateway_url + "//v1/messages", json=bad, headers={"x-request-id": "trace-42"}
    )
    assert response.status_code == 400
    assert response.headers["request-id"] == "trace-42"
    records = [r for r in caplog.records if r.name == "fwcompat"]
    diagnostics = [r for r in records if hasattr(r, "code")]
    expected = [d.code for d in fwcompat.check(bad).diagnostics]
    assert [r.code for r in diagnostics] == expected
    assert len(expected) >= 2
    for record in records:
        assert record.path == "//v1/messages"
        assert record.method == "POST"
        assert record.request_id == "trace-42"
        assert record.client.startswith("127.0.0.1:")
        assert "trace-42" in record.getMessage()
    for record in diagnostics:
        assert set(record.codes) == {r.code for r in diagnostics}
    # a request id the client did not send (or one unfit for a log line) is made up
    caplog.clear()
    response = http.post(
        gateway_url + "/v1/messages",
        json={**BODY, "model": "x"},
        headers={"x-request-id": 'a b"c ' + "x" * 200},
    )
    assert response.headers["request-id"].startswith("req_")
    assert {r.request_id for r in caplog.records if r.name == "fwcompat"} == {
        response.headers["request-id"]
    }


# ----------------------------------------------------------------- big bodies (issue 8)


def big_body(size: int) -> bytes:
    """A compatible request of about ``size`` bytes: many turns, each a few KB."""
    text = "All work and no play makes Jack a dull boy. " * 100
    turns = max(1, size // (len(text) + 60))
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": text} for i in range(turns)
    ]
    if len(messages) % 2 == 0:
        messages.append({"role": "user", "content": "Go on."})
    return json.dumps({**BODY, "messages": messages, "service_tier": "auto"}).encode()


def test_a_big_body_is_checked_off_the_event_loop(upstream: Upstream) -> None:
    # Deterministic, with no clock: on_result of the 32 MB request blocks the thread that
    # checked it until the small request has come back. Had the check run on the event
    # loop, the small request could not be served and would time out.
    big = big_body(31 * 1024 * 1024)
    entered = threading.Event()
    release = threading.Event()
    results: dict[str, Any] = {}

    def on_result(scope: Any, result: Any) -> None:
        if (
            scope["path"] == "/v1/messages"
            and "x-big" in dict(scope["headers"]).get(b"x-marker", b"").decode()
        ):
            entered.set()
            results["big_released"] = release.wait(120)

    app = CompatMiddleware(ForwardingApp(upstream.url), on_result=on_result)
    with ServerThread(app) as server, httpx.Client(timeout=120) as http:

        def send_big() -> None:
            results["big"] = http.post(
                server.url + "/v1/messages", content=big, headers={"x-marker": "x-big"}
            )

        sender = threading.Thread(target=send_big)
        sender.start()
        try:
            assert entered.wait(120), "the big request never reached its check"
            with httpx.Client(timeout=60) as other:
                small = other.post(server.url + "/v1/messages", json=BODY)
            small_done_while_big_was_checked = not release.is_set() and "big" not in results
        finally:
            release.set()
            sender.join(120)
    assert small.status_code == 200
    assert small_done_while_big_was_checked
    assert results["big_released"]
    assert results["big"].status_code == 200
    assert results["big"].headers["x-fwcompat-applied"] == "FW401"
    first, second = upstream.received  # the small one went upstream first
    assert first.body == BODY
    assert "service_tier" not in second.body
    assert len(second.body["messages"]) == len(json.loads(big)["messages"])


def test_small_bodies_are_checked_inline_and_the_threshold_is_a_setting(
    upstream: Upstream,
) -> None:
    threads: list[str] = []

    def on_result(scope: Any, result: Any) -> None:
        threads.append(threading.current_thread().name)

    raw = json.dumps({**BODY, "service_tier": "auto"}).encode()
    inline = CompatMiddleware(ForwardingApp(upstream.url), on_result=on_result)
    always = CompatMiddleware(ForwardingApp(upstream.url), on_result=on_result, thread_threshold=0)
    with ServerThread(inline) as a, ServerThread(always) as b, httpx.Client(timeout=30) as http:
        assert http.post(a.url + "/v1/messages", content=raw).status_code == 200
        assert http.post(b.url + "/v1/messages", content=raw).status_code == 200
    loop_thread, worker = threads
    assert loop_thread != worker
    assert [r.body for r in upstream.received] == [BODY, BODY]


# ----------------------------------------------------------------- metering (item 10)


def stream_through(url: str, http: httpx.Client, shape: str) -> bytes:
    with http.stream(
        "POST",
        url + "/v1/messages",
        json={**BODY, "stream": True},
        headers={"x-stub-shape": shape},
    ) as response:
        assert response.status_code == 200
        return response.read()


def test_deep_sse_data_does_not_cut_the_stream(
    upstream: Upstream, metered_gateway: MeteredGateway, http: httpx.Client
) -> None:
    direct = stream_through(upstream.url, http, "deep-data")
    metered = stream_through(metered_gateway.url, http, "deep-data")
    assert metered == direct  # byte for byte: metering changed nothing
    assert b"message_stop" in metered
    [(_, usage, issues)] = metered_gateway.wait()
    assert usage == Usage(**(upstream.received[-1].usage or {}))
    assert [i.code for i in issues] == ["FWU007"]


def test_a_gzip_bomb_is_inflated_within_the_cap(
    upstream: Upstream, metered_gateway: MeteredGateway, http: httpx.Client
) -> None:
    bomb = gzip_bomb(256)  # 256 MiB inflated, built before measuring
    tracemalloc.start()
    try:
        with http.stream(
            "POST",
            metered_gateway.url + "/v1/messages",
            json=BODY,
            headers={"x-stub-gzip-bomb": "256"},
        ) as response:
            raw = b"".join(response.iter_raw())  # as sent: the client does not inflate here
        [(_, usage, issues)] = metered_gateway.wait()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert raw == bomb  # passed through untouched
    assert (usage, issues) == (None, ())  # over the 4 MiB cap: not read
    assert peak < 48 * 1024 * 1024, peak  # the old meter inflated each chunk whole


def test_a_failing_on_usage_changes_nothing_for_the_client(
    upstream: Upstream, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    def on_usage(scope: Any, usage: Any, issues: Any) -> None:
        raise RuntimeError("billing is down")

    app = CompatMiddleware(ForwardingApp(upstream.url), on_usage=on_usage)
    with ServerThread(app) as server:
        direct = stream_through(upstream.url, http, "")
        metered = stream_through(server.url, http, "")
        plain = http.post(server.url + "/v1/messages", json=BODY)
        for _ in range(500):
            if len([r for r in caplog.records if "on_usage raised" in r.getMessage()]) >= 2:
                break
            time.sleep(0.01)
    assert metered == direct
    assert plain.status_code == 200
    assert plain.json()["usage"] == upstream.received[-1].usage
    failures = [r for r in caplog.records if "on_usage raised" in r.getMessage()]
    assert len(failures) == 2
    assert all(r.exc_info and "billing is down" in str(r.exc_info[1]) for r in failures)
