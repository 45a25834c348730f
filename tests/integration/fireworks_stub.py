"""Real parts for the integration tests and the benchmark.

- :class:`FireworksStub`: a small ASGI app that behaves like Fireworks'
  Anthropic-compatible ``POST /v1/messages``: it records every request it
  receives, answers non-streaming requests with a message carrying ``usage``, and
  streams SSE with zero usage in ``message_start`` and the real counts in the one
  final ``message_delta``. The header ``x-stub-shape`` bends the stream out of
  that shape (``no-delta``, ``two-deltas``, ``delta-after-stop``, ``cut``) so the
  meter's diagnostics can be tested over real HTTP; ``held`` holds the
  ``message_delta`` back until the test calls :meth:`FireworksStub.release` (a
  handshake, to see that a gateway does not buffer the stream: no sleep, no timing);
  ``deep-data`` adds an event whose data is 50,000 ``[``. ``x-stub-gzip: 1``
  gzips a JSON answer; ``x-stub-gzip-bomb: N`` answers with a gzip body that
  inflates to N MiB of spaces. ``x-stub-fail-attempts: N`` answers 529
  ``overloaded_error`` (with ``retry-after-ms: 1``) while the SDK's
  ``x-stainless-retry-count`` is below N, so SDK retries can be tested.
- :class:`ForwardingApp`: a minimal gateway that forwards requests to an
  upstream with ``httpx`` and streams the response back without buffering.
- :class:`ServerThread`: uvicorn on 127.0.0.1, on a free port, in a thread.

Pure ASGI: no web framework needed.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import socket
import threading
import zlib
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn

from fwcompat._http import ASGIApp, Receive, Scope, Send

MODEL = "accounts/fireworks/models/kimi-k2p5"
REPLY = ["Hello", " from", " the", " stub."]


@dataclass
class Received:
    """One request as the stub saw it."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    raw: bytes
    body: Any
    usage: dict[str, int] | None = None
    disconnected: bool = False


class StubFault(Exception):
    """Raised by the stub to break a connection (``x-stub-shape: die``)."""


@dataclass
class FireworksStub:
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    held: threading.Event = field(default_factory=threading.Event)
    released: list[bool] = field(default_factory=list)
    """Per ``held`` stream: whether the test released it (False: the hold timed out)."""

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
            self.released.clear()
        self.held.clear()

    def release(self) -> None:
        """Let a ``held`` stream send its ``message_delta``."""
        self.held.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body", False):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        record = Received(
            scope["method"],
            scope["path"],
            scope["query_string"].decode(),
            headers,
            raw,
            body,
        )
        with self.lock:
            self.received.append(record)
        if scope["method"] != "POST" or scope["path"] != "/v1/messages":
            await _json(send, 404, {"type": "error", "error": {"type": "not_found_error"}})
            return
        if not isinstance(body, dict):
            error = {"type": "invalid_request_error", "message": "bad body"}
            await _json(send, 400, {"type": "error", "error": error})
            return
        fail = int(headers.get("x-stub-fail-attempts", "0") or 0)
        if int(headers.get("x-stainless-retry-count", "0") or 0) < fail:
            error = {"type": "overloaded_error", "message": "Overloaded"}
            await _json(send, 529, {"type": "error", "error": error}, retry_after_ms=True)
            return
        status = headers.get("x-stub-status")
        if status:
            kind = {"429": "rate_limit_error", "529": "overloaded_error"}.get(status, "api_error")
            error = {"type": "error", "error": {"type": kind, "message": f"stub says {status}"}}
            await _json(send, int(status), error, extra=[(b"retry-after", b"7")])
            return
        shape = headers.get("x-stub-shape", "")
        delay = float(headers.get("x-stub-delay", "60"))
        if shape == "stall-headers" and await _disconnected_within(receive, delay):
            record.disconnected = True
            return
        reply = list(REPLY)
        if headers.get("x-stub-echo") == "1":
            reply.append(" " + _last_user_text(body))
        usage = {"input_tokens": len(raw) // 4, "output_tokens": len(reply) + 1}
        record.usage = usage
        bomb = int(headers.get("x-stub-gzip-bomb", "0") or 0)
        if bomb:
            await _bytes(send, 200, gzip_bomb(bomb), b"application/json", b"gzip")
            return
        if body.get("stream"):
            await self._stream(send, usage, shape, reply=reply, receive=receive, record=record)
        else:
            gzipped = headers.get("x-stub-gzip") == "1"
            cookie = [(b"set-cookie", b"affinity=replica-7; Path=/")]
            extra = cookie if headers.get("x-stub-cookie") == "1" else None
            await _json(send, 200, _message("".join(reply), usage), gzipped=gzipped, extra=extra)

    async def _stream(
        self,
        send: Send,
        usage: dict[str, int],
        shape: str,
        *,
        reply: list[str] | None = None,
        receive: Receive | None = None,
        record: Received | None = None,
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )

        async def event(name: str, data: dict[str, Any]) -> None:
            frame = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
            await send({"type": "http.response.body", "body": frame, "more_body": True})

        start = _message("", {"input_tokens": 0, "output_tokens": 0})
        start["stop_reason"] = None
        await event("message_start", {"type": "message_start", "message": start})
        if shape == "die":
            raise StubFault("the stub breaks the connection mid-stream")
        if shape == "die-torn":  # half an event, then the connection breaks
            frame = b'event: ping\ndata: {"type": "pi'
            await send({"type": "http.response.body", "body": frame, "more_body": True})
            await asyncio.sleep(0.05)
            raise StubFault("the stub breaks the connection mid-event")
        if shape == "stall-mid" and receive is not None and record is not None:
            delay = float(record.headers.get("x-stub-delay", "60"))
            if await _disconnected_within(receive, delay):
                record.disconnected = True
                return
        block = {"type": "text", "text": ""}
        await event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": block},
        )
        await event("ping", {"type": "ping"})
        for piece in reply or REPLY:
            delta = {"type": "text_delta", "text": piece}
            await event(
                "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
            )
            await asyncio.sleep(0)
        await event("content_block_stop", {"type": "content_block_stop", "index": 0})
        if shape == "deep-data":
            frame = b"event: content_block_delta\ndata: " + b"[" * 50_000 + b"\n\n"
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        delta_event = {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": usage,
        }
        if shape == "held":  # a deadline only against a hang: the test releases it at once
            released = await asyncio.to_thread(self.held.wait, 60)
            with self.lock:
                self.released.append(released)
        if shape != "no-delta":
            await event("message_delta", delta_event)
        if shape == "two-deltas":
            await event("message_delta", delta_event)
        if shape != "cut":
            await event("message_stop", {"type": "message_stop"})
        if shape == "delta-after-stop":
            await event("message_delta", delta_event)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _message(text: str, usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": "msg_stub",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": text}] if text else [],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": usage,
    }


async def _disconnected_within(receive: Receive, seconds: float) -> bool:
    """Wait ``seconds``; True as soon as the caller disconnects instead."""

    async def disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(disconnect(), seconds)
    except asyncio.TimeoutError:
        return False
    return True


def _last_user_text(body: dict[str, Any]) -> str:
    messages = body.get("messages")
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                texts = [b.get("text", "") for b in content if isinstance(b, dict)]
                return "".join(t for t in texts if isinstance(t, str))
    return ""


async def _json(
    send: Send,
    status: int,
    data: Any,
    *,
    gzipped: bool = False,
    extra: list[tuple[bytes, bytes]] | None = None,
    retry_after_ms: bool = False,
) -> None:
    payload = json.dumps(data).encode()
    headers = [(b"content-type", b"application/json"), *(extra or ())]
    if gzipped:
        payload = gzip.compress(payload)
        headers.append((b"content-encoding", b"gzip"))
    if retry_after_ms:
        headers.append((b"retry-after-ms", b"1"))
    headers.append((b"content-length", b"%d" % len(payload)))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _bytes(send: Send, status: int, payload: bytes, kind: bytes, encoding: bytes) -> None:
    headers = [
        (b"content-type", kind),
        (b"content-encoding", encoding),
        (b"content-length", b"%d" % len(payload)),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


@functools.cache
def gzip_bomb(mebibytes: int) -> bytes:
    """A gzip body that inflates to ``mebibytes`` MiB of spaces (about 1 KiB per MiB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1024 * 1024)
    out = [packer.compress(block) for _ in range(mebibytes)]
    out.append(packer.flush())
    return b"".join(out)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


@dataclass
class Upstream:
    """What the tests see of a running stub: its URL and what it received."""

    url: str
    stub: FireworksStub

    @property
    def received(self) -> list[Received]:
        with self.stub.lock:
            return list(self.stub.received)


_HOP_BY_HOP = {
    b"host",
    b"connection",
    b"keep-alive",
    b"transfer-encoding",
    b"te",
    b"upgrade",
    b"proxy-connection",
}


_SERVER_SET = {b"date", b"server"}  # uvicorn adds its own: copying them would duplicate them


class ForwardingApp:
    """A minimal gateway: forwards every request to ``upstream`` and streams the answer back.

    The request body is streamed to the upstream as it arrives and the response
    is streamed back chunk by chunk (never buffered), as a real gateway does.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            if self.client is not None:
                await self.client.aclose()
            return
        if self.client is None:
            self.client = httpx.AsyncClient(  # trust_env=False: never through a test's proxy
                timeout=30, limits=httpx.Limits(max_keepalive_connections=64), trust_env=False
            )

        async def body() -> Any:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return
                chunk = message.get("body", b"")
                if chunk:
                    yield chunk
                if not message.get("more_body", False):
                    return

        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP]
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        url = self.upstream + path
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode("latin-1")
        request = self.client.build_request(scope["method"], url, headers=headers, content=body())
        response = await self.client.send(request, stream=True)
        try:
            out = [
                (k, v)
                for k, v in response.headers.raw
                if k.lower() not in _HOP_BY_HOP and k.lower() not in _SERVER_SET
            ]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": out}
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()


class ServerThread:
    """A real uvicorn server for ``app`` on 127.0.0.1, on a free port, in a daemon thread."""

    def __init__(self, app: ASGIApp, **config: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        settings = {"log_level": "warning", "lifespan": "on", "access_log": False, **config}
        self.server = uvicorn.Server(uvicorn.Config(app, **settings))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        for _ in range(1000):
            if self.server.started:
                return self
            if not self.thread.is_alive():
                break
            threading.Event().wait(0.01)
        raise RuntimeError("uvicorn did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
