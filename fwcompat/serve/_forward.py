"""The forwarding end of the proxy: one checked request in, the upstream's answer streamed out.

Sits behind :class:`fwcompat.asgi.CompatMiddleware` and forwards only what the
middleware checked (a request whose record carries a :class:`fwcompat.Result`);
anything else is answered with ``404 not_found_error``, so no path reaches the
upstream unchecked.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, NamedTuple

import aiohttp
from yarl import URL

from ._errors import Receive, Scope, Send, error_payload, send_error
from ._record import RECORD_KEY, RequestRecord

# RFC 9110 section 7.6.1 hop-by-hop fields, plus what the HTTP client recomputes.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Set by the HTTP client for its own request (the body is sent whole: no 100-continue).
_RECOMPUTED = frozenset({b"host", b"content-length", b"expect"})
_CREDENTIALS = frozenset({b"x-api-key", b"authorization"})
# What aiohttp would add on its own: the upstream sees the client's headers, not the proxy's
# HTTP library (no ``User-Agent: Python/3.x aiohttp``, no ``Content-Type`` it guessed...).
_CLIENT_DEFAULTS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")

_SSE_TAIL_LIMIT = 1024 * 1024
"""An SSE event longer than this is forwarded even before its blank line arrives."""


def _connection_tokens(headers: Any) -> frozenset[bytes]:
    """Header names listed in ``Connection:``: hop-by-hop too (RFC 9110 7.6.1)."""
    tokens: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return frozenset(tokens)


def _without_hop_by_hop(raw: Any, drop: frozenset[bytes]) -> list[tuple[bytes, bytes]]:
    """``raw`` without the fields in ``drop`` (the hop-by-hop ones among them) nor the ones a
    ``Connection:`` field lists: one pass, a second only when there is a ``Connection:``."""
    out = []
    connection = False
    for name, value in raw:
        lower = name.lower()
        if lower in drop:
            connection = connection or lower == b"connection"
        else:
            out.append((name, value))
    if connection:
        tokens = _connection_tokens(raw)
        out = [(k, v) for k, v in out if k.lower() not in tokens]
    return out


class Forwarder:
    """ASGI app forwarding checked ``POST`` requests to ``upstream + path``.

    The upstream client is aiohttp: at 64 concurrent requests it spent a tenth of the
    CPU per request of httpx with a tuned pool, on the same machine (see
    ``benchmarks/bench_serve.py``). One session per worker, created on the first
    request (inside the server's event loop), with a pool of ``max_connections``.
    """

    def __init__(
        self,
        upstream: str,
        *,
        path: str,
        connect_timeout: float,
        read_timeout: float,
        max_connections: int,
        upstream_key: str | None = None,
    ) -> None:
        self.url = upstream.rstrip("/") + path
        self._url = URL(self.url)
        self.path = path
        self.upstream_key = upstream_key
        # What is not passed upstream: hop-by-hop fields, what the client recomputes, and the
        # client's credentials when the proxy sends its own key.
        drop = HOP_BY_HOP | _RECOMPUTED
        self._drop = drop | _CREDENTIALS if upstream_key is not None else drop
        self.connect_timeout = connect_timeout
        self.max_connections = max_connections
        # sock_read: the longest wait for any bytes, headers or body (httpx's read timeout).
        self.timeout = aiohttp.ClientTimeout(
            total=None, connect=None, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            # No environment proxies or .netrc: the upstream is what the flags say. No
            # cookie jar either: a cookie the upstream sets for one client must never be
            # sent upstream with another client's requests (it still reaches the client).
            # Nothing of the HTTP library's own (User-Agent, Accept...) goes upstream, and
            # the body comes back as the upstream sent it (no decompression).
            connector = aiohttp.TCPConnector(
                limit=self.max_connections,
                limit_per_host=0,
                keepalive_timeout=4.0,  # under the 5 s keep-alive of common servers: no race
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self.timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                auto_decompress=False,
                skip_auto_headers=_CLIENT_DEFAULTS,
            )
            self._slots = asyncio.Semaphore(self.max_connections)
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _headers(self, raw: Any) -> list[tuple[str, str]]:
        kept = _without_hop_by_hop(raw, self._drop)
        out = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in kept]
        if self.upstream_key is not None:
            out.append(("x-api-key", self.upstream_key))
        out.append(("connection", "keep-alive"))  # the proxy's own, with the upstream
        return out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        record: RequestRecord | None = scope.get(RECORD_KEY)
        if record is None or record.result is None:
            await send_error(
                send,
                404,
                "not_found_error",
                f"{scope.get('method', '')} {scope.get('path', '')} is not served by this "
                f"proxy: it forwards POST {self.path} only.",
            )
            return
        body = await _read_all(receive)
        if body is None:
            record.client_disconnected = True
            return
        url = self._url
        if scope.get("query_string"):
            url = URL(f"{self.url}?{scope['query_string'].decode('latin-1')}", encoded=True)
        upstream = _Upstream(url, self._headers(scope["headers"]), body)
        # One watcher per request: a client that goes away (while the upstream thinks,
        # or mid-stream) cancels the exchange, which closes the upstream request.
        state = _Exchange()
        task = asyncio.current_task()
        watcher = asyncio.ensure_future(_cancel_on_disconnect(receive, task, state))
        try:
            await self._exchange(upstream, send, record, state)
        except asyncio.CancelledError:
            if not state.client_gone:
                raise
            if task is not None and hasattr(task, "uncancel"):
                task.uncancel()  # handled: the cancellation was ours
            record.client_disconnected = True
            record.error = "client disconnected"
        finally:
            state.finished = True
            watcher.cancel()

    async def _exchange(
        self, upstream: _Upstream, send: Send, record: RequestRecord, state: _Exchange
    ) -> None:
        session = self.session
        slots = self._slots
        assert slots is not None
        if slots.locked():  # every upstream connection is busy: wait as long as a connect
            try:
                await asyncio.wait_for(slots.acquire(), self.connect_timeout)
            except asyncio.TimeoutError:
                record.error = "upstream connection pool exhausted"
                await send_error(
                    send, 529, "overloaded_error", "The proxy has no free upstream connection."
                )
                return
        else:
            await slots.acquire()
        try:
            await self._send_upstream(session, upstream, send, record, state)
        finally:
            slots.release()

    async def _send_upstream(
        self,
        session: aiohttp.ClientSession,
        upstream: _Upstream,
        send: Send,
        record: RequestRecord,
        state: _Exchange,
    ) -> None:
        started = time.perf_counter()
        try:
            response = await session.post(
                upstream.url, headers=upstream.headers, data=upstream.body, allow_redirects=False
            )
        except asyncio.TimeoutError as exc:  # aiohttp.ServerTimeoutError is one
            record.error = f"upstream timeout ({type(exc).__name__})"
            await send_error(
                send, 504, "timeout_error", f"The upstream did not answer in time: {_why(exc)}."
            )
            return
        except aiohttp.ClientError as exc:
            record.error = f"upstream unreachable ({type(exc).__name__})"
            await send_error(
                send, 502, "api_error", f"Could not reach the upstream {self.url}: {_why(exc)}."
            )
            return
        record.upstream_seconds = time.perf_counter() - started
        record.upstream_status = response.status
        whole = False
        try:
            headers = _without_hop_by_hop(response.raw_headers, HOP_BY_HOP)
            content_type = response.headers.get("content-type", "")
            encoding = response.headers.get("content-encoding", "identity").strip().lower()
            record.stream = content_type.startswith("text/event-stream")
            await send(
                {"type": "http.response.start", "status": response.status, "headers": headers}
            )
            sse = record.stream and encoding == "identity"
            whole = await _pump(response, send, record, state, sse=sse)
        except OSError:  # uvicorn's send: the client is gone
            record.client_disconnected = True
            record.error = "client disconnected"
        finally:
            if whole:
                response.release()  # read to the end: the connection goes back to the pool
            else:
                response.close()  # cut short: the connection is closed, the upstream sees it


class _Upstream(NamedTuple):
    """The request as it goes upstream."""

    url: URL
    headers: list[tuple[str, str]]
    body: bytes


class _Exchange:
    """Shared by an exchange and its watcher: is the response over, did the client leave?"""

    __slots__ = ("client_gone", "finished")

    def __init__(self) -> None:
        self.finished = False
        self.client_gone = False


async def _cancel_on_disconnect(
    receive: Receive, task: asyncio.Task[Any] | None, state: _Exchange
) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    # The server also says "disconnect" once the response is complete: not a departure.
    if not state.finished and task is not None:
        state.client_gone = True
        task.cancel()


async def _pump(
    response: aiohttp.ClientResponse,
    send: Send,
    record: RequestRecord,
    state: _Exchange,
    *,
    sse: bool,
) -> bool:
    """Copy the body chunk by chunk; an SSE stream that breaks ends with an ``error`` event.

    For an uncompressed SSE stream the bytes after the last blank line (an event
    still arriving) wait for the rest of their event, so that an ``error`` event
    can always be appended on a clean event boundary. True when the upstream's
    body was read to its end.
    """
    tail = b""
    try:
        async for chunk in response.content.iter_any():
            if sse:
                data = tail + chunk if tail else chunk
                cut = _event_boundary(data)
                if cut < len(data) and len(data) - cut <= _SSE_TAIL_LIMIT:
                    tail = data[cut:]
                    data = data[:cut]
                else:
                    tail = b""
                chunk = data
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        if not sse:
            # Nothing well-formed can follow a half-sent JSON body: end without completing
            # the response, so that the server closes the connection and the client sees
            # a broken response, never a truncated one that looks whole.
            record.error = f"the upstream connection broke mid-response ({type(exc).__name__})"
            return False
        if isinstance(exc, asyncio.TimeoutError):
            kind, what = "timeout_error", "the upstream stalled mid-stream"
        else:
            kind, what = "api_error", "the upstream connection broke mid-stream"
        record.error = f"{what} ({type(exc).__name__})"
        frame = b"event: error\ndata: " + error_payload(f"{what}: {_why(exc)}.", kind) + b"\n\n"
        state.finished = True
        await send({"type": "http.response.body", "body": frame, "more_body": False})
        return False
    state.finished = True
    await send({"type": "http.response.body", "body": tail, "more_body": False})
    return True


def _event_boundary(data: bytes) -> int:
    """Index just past the last blank line (``\\n\\n`` or ``\\r\\n\\r\\n``) of ``data``, else 0."""
    lf = data.rfind(b"\n\n")
    crlf = data.rfind(b"\r\n\r\n")
    return max(lf + 2 if lf >= 0 else 0, crlf + 4 if crlf >= 0 else 0)


async def _read_all(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _why(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
