"""Pure ASGI middleware that checks Anthropic Messages requests on their way through a gateway.

Put :class:`CompatMiddleware` in front of any ASGI app that forwards
Anthropic-format traffic to Fireworks (Starlette, FastAPI, a bare ASGI
callable; served by uvicorn, hypercorn, granian...)::

    from fwcompat.asgi import CompatMiddleware

    app = CompatMiddleware(forwarding_app, config={"model_map": {...}})

Every ``POST /v1/messages`` body goes through :func:`fwcompat.check`:

- a compatible request is forwarded with the normalized body (``content-length``
  fixed); the response carries ``x-fwcompat-applied: FW401,FW603`` listing the
  codes of the removals and replacements applied, when there were any;
- an incompatible request is answered by the middleware itself with HTTP 400 and
  Anthropic's error envelope naming every error diagnostic (the header
  ``x-fwcompat-rejected`` lists their codes); the app never sees it;
- a body that is not one strict JSON object gets a 400: invalid JSON, not
  UTF-8, duplicate keys, ``NaN`` (what is checked must be what is forwarded,
  whichever parser the upstream uses); a body over ``max_body_size`` a 413
  (checked on ``content-length`` first, then counted while reading, so a lying
  or absent ``content-length`` cannot get past it); a compressed body
  (``content-encoding: gzip``...) a 415.

The endpoint is matched the way an upstream router would match it
(``//v1/messages``, ``/V1/messages/``, a lowercase ``post``); paths under it
(``count_tokens``) get the url rules. Other paths, methods and scope types pass
through untouched, and responses are never buffered: streamed (SSE) responses
flow through chunk by chunk. Big bodies are checked in a worker thread.

Diagnostics go to the ``fwcompat`` logger (warnings and errors at ``WARNING``,
info at ``DEBUG``; records carry method, path, request id, client and codes),
and to ``on_result`` when given. With ``on_usage``, the token usage of each
response is read as it passes (see :mod:`fwcompat.usage`). No dependency beyond
the standard library: this module does not import Starlette.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._check import check
from ._config import Config, coerce_config
from ._diagnostics import Result
from ._exceptions import ConfigError
from ._http import (
    MESSAGES_PATH,
    ASGIApp,
    BodyError,
    Message,
    Receive,
    Scope,
    Send,
    check_body,
    check_url,
    codes_of,
    encode_body,
    header_dict,
    log_diagnostics,
    normalize_path,
    rebuild_headers,
    rejection_message,
    request_id,
    send_error,
)
from .usage import (
    StreamIssue,
    Usage,
    UsageMeter,
    UsageShape,
    usage_from_response,
    usage_shape,
)

__all__ = ["DEFAULT_MAX_BODY_SIZE", "DEFAULT_THREAD_THRESHOLD", "CompatMiddleware", "request_id"]

UsageCallback = Callable[[Scope, Usage | None, tuple[StreamIssue, ...]], None]
ResultCallback = Callable[[Scope, Result], None]

DEFAULT_MAX_BODY_SIZE = 32 * 1024 * 1024
"""32 MB: the request size limit Anthropic documents for the Messages endpoint."""

DEFAULT_THREAD_THRESHOLD = 256 * 1024
"""Bodies above 256 KiB are parsed and checked in a worker thread, off the event loop."""

APPLIED_HEADER = b"x-fwcompat-applied"
REJECTED_HEADER = b"x-fwcompat-rejected"

logger = logging.getLogger("fwcompat")


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    if client and len(client) == 2:
        return f"{client[0]}:{client[1]}"
    return None


def _rejected(result: Result) -> _Reject:
    """The 400 for a request its check rejected, naming the rules in a header."""
    return _Reject(
        400,
        "invalid_request_error",
        rejection_message(result.errors),
        ((REJECTED_HEADER, codes_of(result.errors).encode("ascii")),),
    )


class _Reject(Exception):
    """Answer the request with an error envelope instead of forwarding it."""

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.headers = headers


@dataclass(frozen=True, slots=True)
class _Forward:
    """A checked request to hand to the app: its body, headers and applied codes."""

    body: bytes
    headers: list[tuple[bytes, bytes]]
    applied: bytes


class CompatMiddleware:
    """Check and normalize ``POST /v1/messages`` bodies before ``app`` sees them.

    - ``config``: a :class:`fwcompat.Config` or a plain dict (validated now:
      a bad config raises :class:`fwcompat.ConfigError` at construction).
    - ``max_body_size``: largest accepted body in bytes (413 above it).
    - ``path``: the messages endpoint (an absolute path). Every spelling an
      upstream router would send there is checked: ``//v1/messages``,
      ``/V1/messages``, ``/v1/messages/``, a lowercase ``post``. Paths under it
      (``/v1/messages/count_tokens``...) get the url rules, as in the SDK
      client; other paths pass through. Under a mount (``root_path``),
      ``root_path + path`` matches too.
    - ``upstream_base_url``: where the app forwards to, e.g.
      ``"https://api.fireworks.ai/inference"``. When given it is checked once,
      here, by the url rules, and a wrong one raises :class:`fwcompat.ConfigError`.
    - ``on_result``: called as ``on_result(scope, result)`` after each check,
      rejected requests included (e.g. to count diagnostics). For a body above
      ``thread_threshold`` it runs in the worker thread that made the check.
    - ``on_usage``: called as ``on_usage(scope, usage, issues)`` once each 2xx
      response to a forwarded request is over, with the :class:`~fwcompat.usage.Usage`
      the provider reported, read as the pack's ``usage:`` block says
      (``None`` if none could be read) and, for a stream, the
      :class:`~fwcompat.usage.StreamIssue` found by a :class:`~fwcompat.usage.UsageMeter`.
      The response is metered as it passes (SSE chunk by chunk; a JSON body is
      copied up to 4 MiB), never held back or changed; gzip and deflate are
      inflated step by step within that cap.
    - ``thread_threshold``: bodies larger than this many bytes are parsed and
      checked in a worker thread, so a huge request does not stall the others
      (``0``: always; a size above ``max_body_size``: never).

    A callback that raises is logged on the ``fwcompat`` logger with its
    traceback; it never changes what the client or the app receives.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        config: Config | Mapping[str, Any] | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        path: str = MESSAGES_PATH,
        upstream_base_url: str | None = None,
        on_result: ResultCallback | None = None,
        on_usage: UsageCallback | None = None,
        thread_threshold: int = DEFAULT_THREAD_THRESHOLD,
    ) -> None:
        _check_size("max_body_size", max_body_size, positive=True)
        _check_size("thread_threshold", thread_threshold, positive=False)
        if not isinstance(path, str) or not path.startswith("/"):
            raise ConfigError(
                f"path: expected an absolute request path such as '/v1/messages', got {path!r}"
            )
        self.app = app
        self.config = coerce_config(config)
        self.max_body_size = max_body_size
        self.thread_threshold = thread_threshold
        self.path = path
        self.on_result = on_result
        self.on_usage = on_usage
        # Usage is read the way the pack's provider reports it (its pack.yaml `usage:`).
        self.usage_shape = usage_shape(self.config) if on_usage is not None else None
        self._endpoint = normalize_path(path)
        self._url_results: dict[str, Result] = {}
        self._api_paths: dict[tuple[str, str], str | None] = {}
        if upstream_base_url is not None:
            probe = check({}, base_url=upstream_base_url, path=MESSAGES_PATH, config=self.config)
            wrong = [d for d in probe.errors if d.scope == "url"]
            if wrong:
                raise ConfigError(
                    f"upstream_base_url {upstream_base_url!r}: " + "; ".join(str(d) for d in wrong)
                )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = self._api_path(scope)
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        try:
            if endpoint != MESSAGES_PATH:
                self._check_url(scope, endpoint)
                await self.app(scope, receive, send)
                return
            if scope["method"].upper() != "POST":
                await self.app(scope, receive, send)
                return
            raw = await self._read_body(scope, receive)
            if raw is None:  # the client went away while sending
                return
            if len(raw) > self.thread_threshold:
                decision = await _in_thread(self._decide, scope, raw)
            else:
                decision = self._decide(scope, raw)
        except _Reject as reject:
            await _send_error(send, scope, reject)
            return
        await self._forward(scope, receive, send, decision)

    def _api_path(self, scope: Scope) -> str | None:
        """``/v1/messages`` or a path under it, as the url rules see it; ``None`` elsewhere."""
        key = (scope["path"], scope.get("root_path", ""))
        memo = self._api_paths
        if key in memo:
            return memo[key]
        found = self._match_path(*key)
        if len(key[0]) + len(key[1]) <= 1024:  # the paths clients send: a bounded memo
            if len(memo) >= 256:
                memo.clear()  # junk paths cannot keep the real ones out for good
            memo[key] = found
        return found

    def _match_path(self, path: str, root: str) -> str | None:
        endpoint = self._endpoint
        candidates = [path]
        if root and path.startswith(root):  # mounted under a prefix (path includes it)
            candidates.append(path[len(root) :])
        for path in candidates:
            norm = normalize_path(path)
            if norm == endpoint:
                return MESSAGES_PATH
            if norm.startswith(endpoint + "/") or endpoint == "/":
                return MESSAGES_PATH + norm[len(endpoint.rstrip("/")) :]
        return None

    def _check_url(self, scope: Scope, api_path: str) -> None:
        """The url rules for a path under the endpoint (``count_tokens``...): reject or pass."""
        result = self._url_results.get(api_path)
        if result is None:
            result = check_url(api_path, None, self.config)
            if len(self._url_results) < 64:
                self._url_results[api_path] = result
        self._report(scope, result)
        if not result.ok:
            raise _rejected(result)

    def _report(self, scope: Scope, result: Result) -> None:
        if self.on_result is not None:
            try:
                self.on_result(scope, result)
            except Exception:
                logger.exception("on_result raised (request %s)", request_id(scope))
        rid = request_id(scope)  # set on the scope now, as the callbacks will see it
        if result.diagnostics and logger.isEnabledFor(logging.WARNING):  # else none logs
            log_diagnostics(
                result.diagnostics,
                method=scope["method"],
                path=scope["path"],
                request_id=rid,
                client=_client(scope),
            )

    def _decide(self, scope: Scope, raw: bytes) -> _Forward:
        """Parse and check a body: what to forward, or :class:`_Reject` (maybe in a thread)."""
        headers = header_dict(scope["headers"])
        try:
            result = check_body(raw, headers=headers, path=MESSAGES_PATH, config=self.config)
        except BodyError as exc:
            raise _Reject(400, "invalid_request_error", exc.message) from None
        self._report(scope, result)
        if not result.ok:
            raise _rejected(result)
        try:
            raw = encode_body(result, raw)
        except BodyError as exc:
            raise _Reject(400, "invalid_request_error", exc.message) from None
        applied = codes_of(d for d in result.diagnostics if d.action in ("removed", "replaced"))
        new_headers = rebuild_headers(scope["headers"], headers, result.headers, len(raw))
        return _Forward(raw, new_headers, applied.encode("ascii"))

    async def _forward(
        self, scope: Scope, receive: Receive, send: Send, decision: _Forward
    ) -> None:
        scope = dict(scope)
        scope["headers"] = decision.headers
        raw = decision.body
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": raw, "more_body": False}

        applied = decision.applied
        on_usage = self.on_usage
        if not applied and on_usage is None:
            await self.app(scope, replay, send)
            return
        shape = self.usage_shape
        meter = (
            None if on_usage is None or shape is None else _ResponseMeter(scope, on_usage, shape)
        )
        tap = SendTap(applied, meter)
        taps = scope.get(SEND_TAPS_KEY)
        if isinstance(taps, list):  # a front end that wraps send already runs the tap
            taps.append(tap)
            wrapped_send = send
        else:

            async def wrapped_send(message: Message) -> None:
                message = tap.before(message)
                try:
                    await send(message)
                finally:  # metered even when the client is gone: the upstream sent it anyway
                    tap.after(message)

        try:
            await self.app(scope, replay, wrapped_send)
        finally:
            if meter is not None:
                meter.report()  # a response cut short is reported too

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        limit = self.max_body_size
        declared = None
        for name, value in scope["headers"]:
            if len(name) not in (14, 16):  # neither field: no lower-case copy made
                continue
            lower = name.lower()
            if lower == b"content-length" and declared is None:
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0:
                    raise _Reject(400, "invalid_request_error", "Invalid content-length header.")
            elif lower == b"content-encoding" and value.strip().lower() not in (b"", b"identity"):
                raise _Reject(
                    415,
                    "invalid_request_error",
                    f"Compressed request bodies (content-encoding: {value.decode('latin-1')}) "
                    "are not supported.",
                )
        if declared is not None and declared > limit:
            raise _too_large(limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "http.disconnect":
                return None
            if kind != "http.request":
                continue
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _check_size(name: str, value: Any, *, positive: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name}: expected an integer number of bytes, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise ConfigError(f"{name}: expected a positive size, got {value}")


async def _in_thread(fn: Callable[..., _Forward], *args: Any) -> _Forward:
    """``fn(*args)`` in a worker thread: the loop's default executor, or anyio's under trio."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # not asyncio (trio): anyio, which every trio ASGI server brings
        import anyio.to_thread

        return await anyio.to_thread.run_sync(fn, *args)
    return await asyncio.to_thread(fn, *args)


SEND_TAPS_KEY = "fwcompat.send_taps"
"""A front end that wraps ``send`` itself puts a list under this scope key; the middleware
then adds its :class:`SendTap` there instead of wrapping ``send`` a second time."""


class SendTap:
    """What the middleware does to each response message: one tap, run by one wrapper."""

    __slots__ = ("applied", "meter")

    def __init__(self, applied: bytes, meter: _ResponseMeter | None) -> None:
        self.applied = applied
        self.meter = meter

    def before(self, message: Message) -> Message:
        """The message to send: ``x-fwcompat-applied`` added to the response's start."""
        if message["type"] == "http.response.start":
            if self.applied:
                message = dict(message)
                message["headers"] = [*message.get("headers", ()), (APPLIED_HEADER, self.applied)]
            if self.meter is not None:
                self.meter.start(message)
        return message

    def after(self, message: Message) -> None:
        """Once ``message`` is sent, or failed to be (the client is not kept waiting for the
        meter): its body fed to the meter; the last body message reports the usage."""
        meter = self.meter
        if meter is not None and message["type"] == "http.response.body":
            meter.feed(message.get("body", b""))
            if not message.get("more_body", False):
                meter.report()


class _ResponseMeter:
    """Reads usage out of a response as it passes through, without holding it back.

    Everything here is best effort: a response it cannot read is reported with
    usage ``None``, and no failure of its own reaches the response.
    """

    __slots__ = (
        "_body",
        "_callback",
        "_decoder",
        "_failed",
        "_meter",
        "_scope",
        "_shape",
        "_streaming",
        "active",
        "done",
    )

    _LIMIT = 4 * 1024 * 1024  # the JSON body kept, inflated
    _STEP = 64 * 1024  # the most one inflate step may produce

    def __init__(self, scope: Scope, callback: UsageCallback, shape: UsageShape) -> None:
        self.active = False
        self._shape = shape
        self.done = False
        self._scope = scope
        self._callback = callback
        self._streaming = False
        self._failed = False
        self._meter: UsageMeter | None = None  # a stream's, made once one starts
        self._body = bytearray()
        self._decoder: Any = None

    def start(self, message: Message) -> None:
        if not 200 <= message.get("status", 0) < 300:
            return
        self.active = True
        content_type = encoding = b""
        for name, value in message.get("headers", ()):
            if len(name) not in (12, 16):  # neither field: no lower-case copy made
                continue
            lower = name.lower()
            if lower == b"content-type":
                content_type = value.lower()
            elif lower == b"content-encoding":
                encoding = value.strip().lower()
        if encoding in (b"gzip", b"x-gzip", b"deflate"):
            self._decoder = zlib.decompressobj(wbits=47)  # gzip or zlib, detected
        elif encoding not in (b"", b"identity"):
            self._failed = True  # br, zstd...: not metered
        self._streaming = content_type.startswith(b"text/event-stream")
        if self._streaming:
            self._meter = UsageMeter(self._shape)

    def feed(self, chunk: bytes) -> None:
        if not self.active or self._failed or not chunk:
            return
        try:
            if self._decoder is None and self._meter is not None:  # a plain stream: straight in
                self._meter.feed_bytes(chunk)
            else:
                self._feed(chunk)
        except Exception:
            self._failed = True
            logger.warning(
                "usage metering gave up on the response to %s",
                request_id(self._scope),
                exc_info=True,
            )

    def _feed(self, chunk: bytes) -> None:
        if self._decoder is None:
            self._take(chunk)
            return
        data = chunk
        while data and not self._failed:  # inflate in bounded steps, never all at once
            piece = self._decoder.decompress(data, self._STEP)
            data = self._decoder.unconsumed_tail
            self._take(piece)

    def _take(self, data: bytes) -> None:
        if self._meter is not None:
            self._meter.feed_bytes(data)
        elif len(self._body) + len(data) <= self._LIMIT:
            self._body += data
        else:
            self._failed = True  # too big to be a message: not read, not kept
            self._body = bytearray()

    def report(self) -> None:
        if self.done:
            return
        self.done = True
        if not self.active:
            return
        usage: Usage | None = None
        issues: tuple[StreamIssue, ...] = ()
        try:
            if not self._failed:
                if self._meter is not None:
                    usage = self._meter.finish()
                    issues = self._meter.issues
                else:
                    usage = usage_from_response(self._body, self._shape)  # no copy
        except Exception:
            logger.warning(
                "usage metering gave up on the response to %s",
                request_id(self._scope),
                exc_info=True,
            )
            usage, issues = None, ()
        try:
            self._callback(self._scope, usage, issues)
        except Exception:
            logger.exception("on_usage raised (request %s)", request_id(self._scope))


def _too_large(limit: int) -> _Reject:
    return _Reject(
        413, "request_too_large", f"Request body exceeds the maximum size of {limit} bytes."
    )


async def _send_error(send: Send, scope: Scope, reject: _Reject) -> None:
    """The middleware's own answer: Anthropic's error envelope, logged with the request id."""
    rid = request_id(scope)
    logger.info(
        "%s %s [%s]: %d %s",
        scope["method"],
        scope["path"],
        " ".join(p for p in (rid, _client(scope)) if p),
        reject.status,
        reject.message,
        extra={
            "method": scope["method"],
            "path": scope["path"],
            "request_id": rid,
            "client": _client(scope),
            "status": reject.status,
        },
    )
    headers = ((b"request-id", rid.encode("ascii")), *reject.headers)
    await send_error(send, reject.status, reject.kind, reject.message, headers)
