"""What a request costs on serve's hot path, counted (never timed).

A clean request is forwarded as the very bytes the client sent (no re-encoding), a changed
one is written once, by orjson when that writes the same JSON value; its body
is read once by orjson, behind the guard that hands anything orjson might read differently
to the strict reader; metric children are made once per label set; the endpoint match, the
request id and the log line do no more work than they need; the collector of a serve worker
is tuned once everything is loaded.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import subprocess
import sys
from typing import Any

import httpx
import pytest
from prometheus_client import Counter

import fwcompat._http as http
import fwcompat.asgi as asgi
from fwcompat._diagnostics import Result
from fwcompat.asgi import CompatMiddleware
from fwcompat.serve._app import GC_THRESHOLD
from fwcompat.serve._logging import format_json, record_fields
from fwcompat.serve._metrics import LabelPolicy, Metrics
from fwcompat.serve._record import RequestRecord
from fwcompat.usage import Usage
from tests.serve.conftest import MODEL

BODY: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi: there"}]}] * 5,
}
HEADERS = [(b"content-type", b"application/json"), (b"anthropic-version", b"2023-06-01")]


def _post(app: Any, raw: bytes, path: str = "/v1/messages") -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [*HEADERS, (b"content-length", str(len(raw)).encode())],
    }
    sent = [{"type": "http.request", "body": raw, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return sent.pop(0) if sent else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        pass

    asyncio.run(app(scope, receive, send))


class _Capture:
    """The app behind the middleware: what it was handed."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.headers: list[Any] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        self.bodies.append(message["body"])
        self.headers.append(scope["headers"])


def test_a_clean_request_is_forwarded_as_its_own_bytes_never_reencoded(monkeypatch: Any) -> None:
    app = _Capture()
    middleware = CompatMiddleware(app)
    _post(middleware, json.dumps(BODY).encode())  # the first request loads the pack's plan
    raw = json.dumps(BODY, indent=1).encode()  # a spelling only these bytes have
    dumps: list[Any] = []
    real_dumps = http.json.dumps
    monkeypatch.setattr(http.json, "dumps", lambda *a, **k: dumps.append(a) or real_dumps(*a, **k))
    strict: list[bytes] = []
    real_strict = http._strict_decode
    monkeypatch.setattr(http, "_strict_decode", lambda raw: strict.append(raw) or real_strict(raw))
    for _ in range(3):
        _post(middleware, raw)
    assert app.bodies[1:] == [raw] * 3
    assert all(body is raw for body in app.bodies[1:])  # the same object: not even copied
    assert dumps == []  # nothing re-encoded
    assert strict == []  # orjson read it: the strict reader was not needed
    length = [v for k, v in app.headers[1] if k == b"content-length"]
    assert length == [str(len(raw)).encode()]


def test_a_changed_request_is_encoded_once(monkeypatch: Any) -> None:
    app = _Capture()
    middleware = CompatMiddleware(app)
    raw = json.dumps({**BODY, "service_tier": "auto"}).encode()  # removed by a rule
    _post(middleware, raw)  # the first request loads the pack's plan
    dumps: list[Any] = []
    real_dumps = http.json.dumps
    monkeypatch.setattr(http.json, "dumps", lambda *a, **k: dumps.append(a) or real_dumps(*a, **k))
    fast: list[Any] = []
    real_fast = http._fast_encode
    monkeypatch.setattr(http, "_fast_encode", lambda d: fast.append(d) or real_fast(d))
    _post(middleware, raw)
    assert len(fast) == 1  # one encode, by orjson: the standard library's was not needed
    assert dumps == []
    assert "service_tier" not in json.loads(app.bodies[1])
    expected = {k: v for k, v in json.loads(raw).items() if k != "service_tier"}
    assert json.loads(app.bodies[1]) == expected


def test_a_changed_request_orjson_may_write_differently_is_written_by_the_standard_library(
    monkeypatch: Any,
) -> None:
    app = _Capture()
    middleware = CompatMiddleware(app)
    # ':null' (here in a text) might be orjson's spelling of NaN: the standard library writes it
    raw = json.dumps({**BODY, "service_tier": "auto", "stop_sequences": ["a:null"]}).encode()
    _post(middleware, raw)
    dumps: list[Any] = []
    real_dumps = http.json.dumps
    monkeypatch.setattr(http.json, "dumps", lambda *a, **k: dumps.append(a) or real_dumps(*a, **k))
    _post(middleware, raw)
    assert len(dumps) == 1
    assert app.bodies[1] == real_dumps(dumps[0][0], separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b'{"a": 1, "a": 2}', "duplicate key"),
        (b'{"a": {"b": 1, "b": 1}}', "duplicate key"),
        (b'{"a\\u003a": 1, "a\\u003a": 2}', "duplicate key"),  # colons the guard cannot count
        (b'{"n": 123456789012345678901234567890}', None),  # past 64 bits: stays an integer
        (b'{"n": 1e400}', None),  # infinity, as the standard library reads it
        (b'{"s": "\\ud800"}', None),  # a lone surrogate: orjson refuses, Python reads it
        (b'{"x": NaN}', "NaN"),
    ],
)
def test_what_orjson_might_read_differently_goes_to_the_strict_reader(
    monkeypatch: Any, raw: bytes, why: str | None
) -> None:
    strict: list[bytes] = []
    real_strict = http._strict_decode
    monkeypatch.setattr(http, "_strict_decode", lambda r: strict.append(r) or real_strict(r))
    if why is None:
        assert http.decode_body(raw) == json.loads(raw)
        assert type(http.decode_body(raw).get("n", 0)) is type(json.loads(raw).get("n", 0))
    else:
        with pytest.raises(http.BodyError, match=why):
            http.decode_body(raw)
    assert strict and strict[0] == raw


def test_plain_bodies_are_read_by_orjson_alone(monkeypatch: Any) -> None:
    strict: list[bytes] = []
    monkeypatch.setattr(http, "_strict_decode", lambda r: strict.append(r) or {})
    for body in ({"a": 1}, BODY, {"n": -(2**63), "m": 2**64 - 1, "f": 0.5, "e": [None, True]}):
        raw = json.dumps(body).encode()
        assert http.decode_body(raw) == body
    assert strict == []


def test_metric_children_are_made_once_per_label_set(monkeypatch: Any) -> None:
    made: list[tuple[str, ...]] = []
    real_labels = Counter.labels

    def labels(self: Any, *values: str) -> Any:
        made.append(values)
        return real_labels(self, *values)

    metrics = Metrics()
    monkeypatch.setattr(Counter, "labels", labels)
    rec = RequestRecord(request_id="req_1", method="POST", path="/v1/messages", started=0.0)
    rec.result = Result(request={"model": MODEL})
    rec.status = 200
    rec.usage = Usage(input_tokens=3, output_tokens=4)
    for _ in range(50):
        metrics.observe(rec)
    assert sorted(made) == [("200",), (MODEL, "input"), (MODEL, "output")]
    text = metrics.render().decode()
    assert 'fwcompat_serve_requests_total{status="200"} 50.0' in text
    assert f'fwcompat_serve_tokens_total{{kind="output",model="{MODEL}"}} 200.0' in text


def test_the_endpoint_match_is_remembered_and_bounded(monkeypatch: Any) -> None:
    calls: list[str] = []
    real = asgi.normalize_path
    monkeypatch.setattr(asgi, "normalize_path", lambda p: calls.append(p) or real(p))
    middleware = CompatMiddleware(_Capture())
    calls.clear()
    scope = {"type": "http", "path": "/v1/messages", "headers": []}
    assert [middleware._api_path(scope) for _ in range(10)] == ["/v1/messages"] * 10
    assert calls == ["/v1/messages"]
    for i in range(1000):  # paths a client makes up: the memo stops growing
        middleware._api_path({"type": "http", "path": f"/x{i}", "headers": []})
        assert len(middleware._api_paths) <= 256
    calls.clear()
    assert [middleware._api_path(scope) for _ in range(10)] == ["/v1/messages"] * 10
    assert calls == ["/v1/messages"]  # remembered again after the junk
    long = {"type": "http", "path": "/v1/messages/" + "x" * 100_000, "headers": []}
    middleware._api_path(long)
    assert max(len(path) for path, _ in middleware._api_paths) < 1024  # a long path is not kept


def test_request_ids_are_distinct_and_of_the_documented_form() -> None:
    ids = [http.request_id({"headers": []}) for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"req_[0-9a-f]{24}", i) for i in ids)
    before = http._ids.prefix
    http._ids.reset()  # what a forked child does
    assert http._ids.prefix != before


def test_the_json_log_line_reads_as_the_standard_library_would_write_it() -> None:
    rec = RequestRecord(request_id="req_1", method="POST", path="/v1/méssages", started=0.0)
    rec.result = Result(request={"model": MODEL})
    rec.status, rec.duration_seconds = 200, 0.0123
    rec.usage = Usage(input_tokens=3, output_tokens=4)
    line = format_json(rec)
    assert "é" in line  # not escaped, as ensure_ascii=False writes it
    fields = record_fields(rec)
    assert json.loads(line) == json.loads(json.dumps(fields, ensure_ascii=False))
    rec.path = "/v1/\udcff"  # a lone surrogate: orjson refuses it, the standard library writes it
    assert json.loads(format_json(rec))["path"] == "/v1/\udcff"


def test_a_non_streamed_response_makes_no_stream_meter(monkeypatch: Any) -> None:
    made: list[Any] = []
    real = asgi.UsageMeter
    monkeypatch.setattr(asgi, "UsageMeter", lambda shape: made.append(shape) or real(shape))
    usages: list[Usage | None] = []
    meter = asgi._ResponseMeter({}, lambda s, u, i: usages.append(u), asgi.usage_shape(None))
    meter.start({"status": 200, "headers": [(b"content-type", b"application/json")]})
    meter.feed(
        json.dumps({"type": "message", "usage": {"input_tokens": 1, "output_tokens": 2}}).encode()
    )
    meter.report()
    assert made == []
    assert usages == [Usage(input_tokens=1, output_tokens=2)]


def test_a_serve_worker_tunes_its_collector_once_loaded() -> None:
    code = (
        "import gc, json, os\n"
        "from fwcompat.serve._settings import SETTINGS_ENV, ServeSettings\n"
        "os.environ[SETTINGS_ENV] = ServeSettings(upstream='http://127.0.0.1:9').to_json()\n"
        "from fwcompat.serve._app import app_from_env\n"
        "before = gc.get_freeze_count()\n"
        "app_from_env()\n"
        "print(json.dumps([before, gc.get_freeze_count(), gc.get_threshold()]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, frozen, threshold = json.loads(out.stdout)
    assert before == 0
    assert frozen > 10_000  # modules, the pack, the compiled schema: no longer scanned
    assert tuple(threshold) == GC_THRESHOLD
    assert gc.get_threshold() != GC_THRESHOLD or GC_THRESHOLD == (700, 10, 10)  # not this one


def test_a_serve_process_makes_no_log_record_for_a_diagnostic() -> None:
    code = (
        "import json, logging\n"
        "from fwcompat._diagnostics import Diagnostic, Severity\n"
        "from fwcompat._http import log_diagnostics\n"
        "from fwcompat.serve._app import quiet_diagnostic_logger\n"
        "made = []\n"
        "real = logging.Logger.makeRecord\n"
        "logging.Logger.makeRecord = lambda self, *a, **k: made.append(a) or real(self, *a, **k)\n"
        "d = Diagnostic(code='FW401', rule='r', severity=Severity.WARNING, scope='body',\n"
        "               path='/x', action='removed', message='m', doc='d')\n"
        "log_diagnostics([d], method='POST', path='/v1/messages')\n"
        "before = len(made)\n"
        "quiet_diagnostic_logger()\n"
        "log_diagnostics([d], method='POST', path='/v1/messages')\n"
        "print(json.dumps([before, len(made) - before]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [1, 0]  # one record before; none once quiet


def test_the_meter_reads_a_chunk_only_once_it_is_sent() -> None:
    order: list[Any] = []

    class Meter:
        def start(self, message: Any) -> None:
            order.append("start")

        def feed(self, chunk: bytes) -> None:
            order.append(("metered", chunk))

        def report(self) -> None:
            order.append("report")

    tap = asgi.SendTap(b"FW401", Meter())  # type: ignore[arg-type]
    messages = [
        {"type": "http.response.start", "status": 200, "headers": []},
        {"type": "http.response.body", "body": b"event: a\n\n", "more_body": True},
        {"type": "http.response.body", "body": b"", "more_body": False},
    ]
    for message in messages:
        out = tap.before(message)
        order.append(("sent", out.get("body")))
        tap.after(out)
    assert order == [
        "start",
        ("sent", None),
        ("sent", b"event: a\n\n"),
        ("metered", b"event: a\n\n"),
        ("sent", b""),
        ("metered", b""),
        "report",
    ]


def test_a_request_leaves_no_cycle_for_the_collector() -> None:
    """Everything a request made is freed by reference counting once it is answered: none
    of it (its record, its decoded body, its meter) waits for the cycle collector."""
    from fireworks_stub import FireworksStub, ServerThread

    from fwcompat.asgi import SendTap
    from fwcompat.serve._app import ServeApp
    from fwcompat.serve._settings import ServeSettings
    from tests.serve.conftest import wait_until

    def waiting(kind: type) -> int:  # alive or awaiting collection: no gc.collect() here
        return sum(1 for obj in gc.get_objects() if type(obj) is kind)

    with ServerThread(FireworksStub()) as upstream:
        app = ServeApp(ServeSettings(upstream=upstream.url))
        with ServerThread(app) as proxy, httpx.Client(timeout=60) as client:
            client.post(proxy.url + "/v1/messages", json=BODY)  # warm: pools, the pack's plan
            gc.collect()
            gc.disable()
            try:
                for stream in (False, True, False, True):
                    response = client.post(
                        proxy.url + "/v1/messages", json={**BODY, "stream": stream}
                    )
                    assert response.status_code == 200
                assert wait_until(lambda: waiting(RequestRecord) == 0, deadline=30)
                assert waiting(SendTap) == 0
                assert waiting(asgi._ResponseMeter) == 0
            finally:
                gc.enable()


def test_a_chunk_the_client_did_not_take_is_metered_all_the_same() -> None:
    """The upstream sent (and bills) it: a send that fails still feeds the meter."""
    usages: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        head = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": head})
        body = json.dumps({"type": "message", "usage": {"input_tokens": 5, "output_tokens": 6}})
        await send({"type": "http.response.body", "body": body.encode(), "more_body": False})

    middleware = CompatMiddleware(app, on_usage=lambda scope, usage, issues: usages.append(usage))
    raw = json.dumps(BODY).encode()
    sent = [{"type": "http.request", "body": raw, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return sent.pop(0) if sent else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body":
            raise OSError("the client went away")

    scope = {"type": "http", "method": "POST", "path": "/v1/messages", "headers": HEADERS}
    with pytest.raises(OSError, match="went away"):
        asyncio.run(middleware(scope, receive, send))
    assert usages == [Usage(input_tokens=5, output_tokens=6)]


def test_a_quiet_diagnostic_logger_gets_no_diagnostics_to_drop(monkeypatch: Any) -> None:
    """serve silences the ``fwcompat`` logger: the middleware then hands it nothing (no
    prefix, no client text), but still gives the request its id, as the callbacks see it."""
    import logging

    seen: list[Any] = []
    middleware = CompatMiddleware(_Capture(), on_result=lambda scope, result: seen.append(scope))
    raw = json.dumps({**BODY, "service_tier": "auto"}).encode()  # one warning diagnostic
    _post(middleware, raw)
    logged: list[Any] = []
    real = asgi.log_diagnostics
    monkeypatch.setattr(asgi, "log_diagnostics", lambda *a, **k: logged.append(a) or real(*a, **k))
    _post(middleware, raw)
    assert len(logged) == 1  # the logger takes warnings: handed over as before
    fwcompat_logger = logging.getLogger("fwcompat")
    level = fwcompat_logger.level
    fwcompat_logger.setLevel(logging.CRITICAL + 1)  # as quiet_diagnostic_logger() leaves it
    try:
        _post(middleware, raw)
    finally:
        fwcompat_logger.setLevel(level)
    assert len(logged) == 1  # the logger takes nothing: not even called
    assert re.fullmatch(r"req_[0-9a-f]{24}", seen[-1][http.REQUEST_ID_KEY])


def test_the_log_line_and_the_metrics_read_a_result_once(monkeypatch: Any) -> None:
    from fwcompat._diagnostics import Diagnostic, Severity

    reads: list[int] = []
    real_ok = Result.ok
    monkeypatch.setattr(Result, "ok", property(lambda self: reads.append(1) or real_ok.fget(self)))
    d = Diagnostic(code="FW401", rule="r", severity=Severity.WARNING, scope="body",
                   path="/x", action="removed", message="m", doc="d")  # fmt: skip
    rec = RequestRecord(request_id="req_1", method="POST", path="/v1/messages", started=0.0)
    rec.result = Result(request={"model": MODEL}, diagnostics=(d, d))
    rec.status, rec.usage = 200, Usage(input_tokens=1, output_tokens=2)
    Metrics(LabelPolicy(models=[MODEL], codes=["FW401"])).observe(rec)
    fields = record_fields(rec)
    assert (fields["codes"], fields["upstream_model"]) == (["FW401"], MODEL)
    assert len(reads) == 1  # once for the metrics and the log line together
    rec.codes.append("changed")  # a copy: the next reader gets the true codes
    assert rec.codes == ["FW401"]
    rec.result = Result(request={"model": "other"})
    assert (rec.codes, rec.upstream_model) == ([], "other")  # a new result is read anew
    assert len(reads) == 2


def test_a_json_response_is_read_for_its_usage_without_a_copy(monkeypatch: Any) -> None:
    bodies: list[Any] = []
    real = asgi.usage_from_response
    monkeypatch.setattr(
        asgi, "usage_from_response", lambda body, shape: bodies.append(body) or real(body, shape)
    )
    usages: list[Any] = []
    meter = asgi._ResponseMeter({}, lambda s, u, i: usages.append(u), asgi.usage_shape(None))
    meter.start({"status": 200, "headers": [(b"content-type", b"application/json")]})
    body = json.dumps({"type": "message", "usage": {"input_tokens": 5, "output_tokens": 6}})
    meter.feed(body.encode())
    meter.report()
    assert usages == [Usage(input_tokens=5, output_tokens=6)]
    assert bodies == [body.encode()] and bodies[0] is meter._body  # the buffer itself


def test_a_stream_chunk_goes_straight_to_the_stream_meter() -> None:
    """Each chunk of an uncompressed stream reaches the stream meter in one step, with no
    buffering layer of the response meter in between (its ``_feed`` and ``_take``)."""
    usages: list[Any] = []
    meter = asgi._ResponseMeter({}, lambda s, u, i: usages.append(u), asgi.usage_shape(None))
    meter.start({"status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    chunks = [b'event: ping\ndata: {"type": "ping"}\n\n'] * 50
    chunks.append(b'event: message_delta\ndata: {"type": "message_delta", "usage": ')
    chunks.append(b'{"output_tokens": 4}}\n\n')
    names: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename == asgi.__file__:
            names.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        for chunk in chunks:
            meter.feed(chunk)
    finally:
        sys.setprofile(None)
    assert names == ["feed"] * len(chunks)
    meter.report()
    assert usages[0] is not None and usages[0].output_tokens == 4


def test_request_headers_are_filtered_in_one_pass(monkeypatch: Any) -> None:
    """The headers that go upstream take one pass over the client's; the fields a
    ``Connection:`` field lists (before or after it) are looked for only when there is one."""
    import fwcompat.serve._forward as forward

    scans: list[int] = []
    real = forward._connection_tokens
    monkeypatch.setattr(forward, "_connection_tokens", lambda raw: scans.append(1) or real(raw))
    forwarder = forward.Forwarder(
        "http://127.0.0.1:9", path="/v1/messages", connect_timeout=1, read_timeout=1,
        max_connections=1, upstream_key="sk-proxy",
    )  # fmt: skip
    plain = [
        (b"Host", b"proxy"), (b"content-type", b"application/json"), (b"X-Api-Key", b"client"),
        (b"content-length", b"2"), (b"Transfer-Encoding", b"chunked"), (b"x-request-id", b"r1"),
    ]  # fmt: skip
    assert forwarder._headers(plain) == [
        ("content-type", "application/json"), ("x-request-id", "r1"),
        ("x-api-key", "sk-proxy"), ("connection", "keep-alive"),
    ]  # fmt: skip
    assert scans == []
    listed = [(b"x-hop", b"1"), (b"Connection", b"keep-alive, X-Hop"), (b"accept", b"*/*")]
    assert forwarder._headers(listed) == [
        ("accept", "*/*"), ("x-api-key", "sk-proxy"), ("connection", "keep-alive"),
    ]  # fmt: skip
    assert scans == [1]


class _CountedName(bytes):
    """A header name that counts its lower-case copies."""

    copies = 0

    def lower(self) -> bytes:
        _CountedName.copies += 1
        return bytes.lower(self)


def test_the_middleware_makes_no_lower_case_copy_of_a_field_it_does_not_look_for() -> None:
    """The middleware's header passes (content-length and -encoding, the request id, the
    rebuilt headers, the usage meter's content-type) skip a field by its length first."""
    raw = json.dumps(BODY).encode()
    headers = [
        *HEADERS,
        (_CountedName(b"user-agent"), b"claude-cli/2"),
        (_CountedName(b"Accept"), b"application/json"),
        (b"content-length", str(len(raw)).encode()),
    ]
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["headers"])
        await receive()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(_CountedName(b"x-upstream"), b"1"),
                                (b"content-type", b"application/json")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b'{"usage": {}}'})

    middleware = CompatMiddleware(app, on_usage=lambda *args: None)
    scope = {"type": "http", "method": "POST", "path": "/v1/messages", "headers": headers}
    sent = [{"type": "http.request", "body": raw, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return sent.pop(0) if sent else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        pass

    _CountedName.copies = 0
    asyncio.run(middleware(scope, receive, send))
    assert [name for name, _ in seen[0]][-3:] == [b"user-agent", b"Accept", b"content-length"]
    assert _CountedName.copies == 0


def test_the_body_guard_counts_colons_without_a_byte_by_byte_count() -> None:
    """The fast body reader's guard (``fwcompat._fastjson``) compares the ``:`` of the text and
    of orjson's output by removing them (a ``memchr`` pass), not with ``bytes.count`` of one
    byte (about 2.7x the cost on the 10.5 kB body)."""
    raw = json.dumps(BODY).encode()
    called: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "c_call":
            called.append(arg.__name__)

    sys.setprofile(profile)
    try:
        document = http._fast_decode(raw)
    finally:
        sys.setprofile(None)
    assert document == BODY
    assert "count" not in called
    assert called.count("replace") == 2  # the text's colons, and the output's
    from fwcompat._fastjson import _colons

    assert _colons(b'{"a": ":", "b": 1}') == 3
