"""fwcompat.anthropic as a user relies on it (issue 8 "SDK client"; issue 11, items 6, 7, 14)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest
from fireworks_stub import MODEL, ForwardingApp, ServerThread, Upstream

import fwcompat
import fwcompat.anthropic as fa

HI: Any = [{"role": "user", "content": "Hi"}]
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


class RecordingProxy(ForwardingApp):
    """A plain HTTP forward proxy: requests arrive in absolute form and are forwarded as is."""

    def __init__(self) -> None:
        super().__init__("")
        self.seen: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append(f"{scope['method']} {scope['path']}")
        await super().__call__(scope, receive, send)


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, RecordingProxy]]:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    app = RecordingProxy()
    with ServerThread(app) as server:
        yield server.url, app


def create(client: anthropic.Anthropic, **extra: Any) -> Any:
    return client.messages.create(model=MODEL, max_tokens=16, messages=HI, **extra)


# ----------------------------------------------------------------- proxies and defaults


@pytest.mark.parametrize(
    ("environment", "options"),
    [
        ({"HTTP_PROXY": "{proxy}"}, {}),
        ({"ALL_PROXY": "{proxy}"}, {}),
        ({"HTTP_PROXY": "{proxy}", "NO_PROXY": "127.0.0.1"}, {}),
        ({"HTTP_PROXY": "{proxy}"}, {"trust_env": False}),
        ({}, {"proxy": "{proxy}"}),
        ({}, {}),
    ],
    ids=["http-proxy", "all-proxy", "no-proxy", "trust-env-false", "proxy-argument", "none"],
)
def test_proxies_are_chosen_exactly_as_the_sdk_chooses_them(
    upstream: Upstream,
    proxy: tuple[str, RecordingProxy],
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    options: dict[str, Any],
) -> None:
    proxy_url, recorder = proxy
    for name, value in environment.items():
        monkeypatch.setenv(name, value.format(proxy=proxy_url))
    options = {
        k: v.format(proxy=proxy_url) if isinstance(v, str) else v for k, v in options.items()
    }
    routes = []
    for make in (anthropic.DefaultHttpxClient, fa.http_client):  # the plain SDK, then fwcompat
        before = len(recorder.seen)
        with anthropic.Anthropic(
            base_url=upstream.url, api_key="k", http_client=make(**options)
        ) as c:
            create(c, extra_body={"service_tier": "auto"})
        routes.append(len(recorder.seen) - before)
    plain_route, checked_route = routes
    assert checked_route == plain_route
    if "HTTP_PROXY" in environment and len(environment) == 1 and not options:
        assert plain_route == 1  # through the proxy
        assert recorder.seen[-1] == f"POST {upstream.url}/v1/messages"
    plain, checked = upstream.received
    assert plain.body["service_tier"] == "auto"
    assert "service_tier" not in checked.body  # checked, whichever way it went


def test_async_client_uses_environment_proxies(
    upstream: Upstream, proxy: tuple[str, RecordingProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    proxy_url, recorder = proxy
    monkeypatch.setenv("ALL_PROXY", proxy_url)

    async def run() -> None:
        async with anthropic.AsyncAnthropic(
            base_url=upstream.url, api_key="k", http_client=fa.async_http_client()
        ) as c:
            await c.messages.create(
                model=MODEL, max_tokens=16, messages=HI, extra_body={"speed": "fast"}
            )

    asyncio.run(run())
    assert recorder.seen == [f"POST {upstream.url}/v1/messages"]
    assert "speed" not in upstream.received[0].body


def test_every_other_client_default_of_the_sdk_is_kept() -> None:
    plain, checked = anthropic.DefaultHttpxClient(), fa.http_client()
    try:
        assert checked.timeout == plain.timeout
        assert checked.follow_redirects == plain.follow_redirects
        assert checked.trust_env == plain.trust_env
        inner = checked._transport._transport  # type: ignore[attr-defined]
        assert type(checked._transport) is fa.CompatTransport
        assert type(inner) is type(plain._transport)
        for setting in ("_max_connections", "_max_keepalive_connections", "_socket_options"):
            assert getattr(inner._pool, setting) == getattr(plain._transport._pool, setting)  # type: ignore[attr-defined]
    finally:
        plain.close()
        checked.close()


def test_import_without_the_sdk_says_how_to_install_it() -> None:
    code = "import sys; sys.modules['anthropic'] = None; import fwcompat.anthropic"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: fwcompat.anthropic needs the Anthropic SDK")
    assert "pip install 'fwcompat[anthropic]'" in last


# ----------------------------------------------------------------- rejection


def test_rejection_is_a_bad_request_error_with_the_middlewares_envelope(
    upstream: Upstream, gateway_url: str
) -> None:
    bad = {"model": "claude-opus-4-7", "thinking": {"type": "adaptive"}}
    with (
        anthropic.Anthropic(base_url=gateway_url, api_key="k", max_retries=0) as c,
        pytest.raises(anthropic.BadRequestError) as from_gateway,
    ):
        c.messages.create(max_tokens=16, messages=HI, **bad)  # type: ignore[call-overload]
    attempts: list[Any] = []  # httpx request hooks run once per attempt
    http_client = fa.http_client(event_hooks={"request": [attempts.append]})
    with anthropic.Anthropic(base_url=upstream.url, api_key="k", http_client=http_client) as c:
        try:  # an existing handler, unchanged
            c.messages.create(max_tokens=16, messages=HI, **bad)  # type: ignore[call-overload]
        except anthropic.BadRequestError as exc:
            local = exc
    assert upstream.received == []  # nothing sent
    assert len(attempts) == 1  # the SDK did not retry it (max_retries is 2)
    assert isinstance(local, fwcompat.IncompatibleRequestError)
    assert local.status_code == 400
    assert local.body == from_gateway.value.body  # the very envelope the middleware answers
    assert local.response.json() == local.body
    assert (
        local.response.headers["x-fwcompat-rejected"]
        == (from_gateway.value.response.headers["x-fwcompat-rejected"])
    )
    assert local.response.headers["x-should-retry"] == "false"
    assert local.errors and all(d.severity == "error" for d in local.errors)
    assert str(local.errors[0]) in str(local)


def test_rejection_survives_pickling() -> None:
    import pickle

    result = fwcompat.check({"model": "claude-opus-4-7", "max_tokens": 1, "messages": HI})
    error = fa.IncompatibleRequestError(result.diagnostics)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is fa.IncompatibleRequestError
    assert (again.errors, again.body, str(again)) == (error.errors, error.body, str(error))


# ----------------------------------------------------------------- bodies and paths


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (
            b'{"model": "claude-opus-4-7", "model": "' + MODEL.encode() + b'", "max_tokens": 8}',
            "duplicate key 'model'",
        ),
        (json.dumps({"model": MODEL}).encode("utf-16"), "not valid UTF-8"),
        (b'{"model": "' + MODEL.encode() + b'", "max_tokens": Infinity}', "Infinity"),
    ],
    ids=["duplicate-key", "utf-16", "infinity"],
)
def test_ambiguous_bodies_are_refused_before_sending(
    upstream: Upstream, gateway_url: str, content: bytes, needle: str
) -> None:
    with fa.http_client() as http, pytest.raises(fa.IncompatibleRequestError) as info:
        http.post(upstream.url + "/v1/messages", content=content)
    assert upstream.received == []
    assert [d.code for d in info.value.errors] == ["E901"]
    assert needle in info.value.body["error"]["message"]  # type: ignore[index]
    with httpx.Client() as plain:  # the middleware says the same
        assert plain.post(gateway_url + "/v1/messages", content=content).json() == info.value.body


@pytest.mark.parametrize(
    "path", ["//v1/messages", "/V1/messages", "/v1/messages/", "/v1//messages", "/v1/./messages"]
)
def test_every_spelling_of_the_endpoint_is_checked(upstream: Upstream, path: str) -> None:
    bad = {"model": "claude-opus-4-7", "max_tokens": 8, "messages": HI}
    with fa.http_client() as http:
        with pytest.raises(fa.IncompatibleRequestError):
            http.post(upstream.url + path, json=bad)
        for method in ("POST", "post"):
            with pytest.raises(fa.IncompatibleRequestError):
                http.request(method, upstream.url + path, json=bad)
        http.post(upstream.url + path, json={**bad, "model": MODEL, "service_tier": "auto"})
    assert upstream.received[0].body == {**bad, "model": MODEL}


# ----------------------------------------------------------------- feedback


def test_log_records_name_fwcompat_method_path_and_codes(
    upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="fwcompat")
    dirty = {"service_tier": "auto", "inference_geo": "us"}
    results: list[Any] = []
    client = fa.http_client(on_result=lambda request, result: results.append(result))
    with anthropic.Anthropic(base_url=upstream.url, api_key="k", http_client=client) as c:
        create(c, extra_body=dirty)
    [expected] = results
    assert {"FW401", "FW402"} <= {d.code for d in expected.diagnostics}
    records = [r for r in caplog.records if r.name == "fwcompat"]
    assert [r.code for r in records] == [d.code for d in expected.diagnostics]
    for record in records:
        assert (record.method, record.path) == ("POST", "/v1/messages")
        assert record.codes == tuple(d.code for d in expected.diagnostics)
        assert record.getMessage().startswith("POST /v1/messages: FW")


def test_warn_true_warns_once_per_change_at_the_callers_line(
    upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="fwcompat")
    results: list[Any] = []
    client = fa.http_client(warn=True, on_result=lambda request, result: results.append(result))
    with (
        anthropic.Anthropic(base_url=upstream.url, api_key="k", http_client=client) as c,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        # Two 529s first: the SDK sends the request three times.
        line = sys._getframe().f_lineno + 1
        c.messages.create(
            model=MODEL,
            max_tokens=16,
            messages=HI,
            extra_body={"service_tier": "auto", "speed": "fast"},
            extra_headers={"x-stub-fail-attempts": "2"},
        )
    assert len(upstream.received) == 3
    assert all("service_tier" not in r.body for r in upstream.received)  # each one checked
    mine = [w for w in caught if issubclass(w.category, fa.FwcompatWarning)]
    [result] = results
    changes = [d for d in result.diagnostics if d.severity == "warning"]
    assert len(changes) == 2
    assert [str(w.message) for w in mine] == [f"POST /v1/messages: {d}" for d in changes]
    assert {(w.filename, w.lineno) for w in mine} == {(__file__, line)}
    assert len(results) == 1
    assert not [r for r in caplog.records if r.name == "fwcompat" and r.levelno >= logging.WARNING]


def test_async_warnings_point_at_the_caller(upstream: Upstream) -> None:
    import asyncio

    async def run() -> int:
        async with anthropic.AsyncAnthropic(
            base_url=upstream.url, api_key="k", http_client=fa.async_http_client(warn=True)
        ) as c:
            line = sys._getframe().f_lineno + 1
            await c.messages.create(
                model=MODEL, max_tokens=8, messages=HI, extra_body={"speed": "fast"}
            )
            return line

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = asyncio.run(run())
    [warning] = [w for w in caught if issubclass(w.category, fa.FwcompatWarning)]
    assert (warning.filename, warning.lineno) == (__file__, line)


def test_on_result_that_raises_is_logged_and_changes_nothing(
    upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    def on_result(request: Any, result: Any) -> None:
        raise RuntimeError("metrics are down")

    with anthropic.Anthropic(
        base_url=upstream.url, api_key="k", http_client=fa.http_client(on_result=on_result)
    ) as c:
        create(c, extra_body={"service_tier": "auto"})
    assert "service_tier" not in upstream.received[0].body
    [failure] = [r for r in caplog.records if "on_result raised" in r.getMessage()]
    assert failure.exc_info is not None
