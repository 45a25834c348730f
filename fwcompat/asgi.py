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
- invalid JSON or a body that is not a JSON object gets a 400, a body over
  ``max_body_size`` a 413 (checked on ``content-length`` first, then counted
  while reading, so a lying or absent ``content-length`` cannot get past it),
  a compressed body (``content-encoding: gzip``...) a 415.

Other paths, methods and scope types pass through untouched, and responses are
never buffered: streamed (SSE) responses flow through chunk by chunk.

Diagnostics go to the ``fwcompat`` logger (warnings and errors at ``WARNING``,
info at ``DEBUG``), and to ``on_result`` when given. With ``on_usage``, the token
usage of each response is read as it passes (see :mod:`fwcompat.usage`). No dependency beyond the
standard library: this module does not import Starlette.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from . import check
from ._config import Config, coerce_config
from ._diagnostics import Result, Severity
from ._exceptions import ConfigError
from .usage import StreamIssue, Usage, UsageMeter, usage_from_response

__all__ = ["DEFAULT_MAX_BODY_SIZE", "CompatMiddleware"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
UsageCallback = Callable[[Scope, Usage | None, tuple[StreamIssue, ...]], None]

DEFAULT_MAX_BODY_SIZE = 32 * 1024 * 1024
"""32 MB: the request size limit Anthropic documents for the Messages endpoint."""

APPLIED_HEADER = b"x-fwcompat-applied"
REJECTED_HEADER = b"x-fwcompat-rejected"

logger = logging.getLogger("fwcompat")

_LEVEL = {
    Severity.ERROR: logging.WARNING,
    Severity.WARNING: logging.WARNING,
    Severity.INFO: logging.DEBUG,
}


class _Reject(Exception):
    """Answer the request with an error envelope instead of forwarding it."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


class CompatMiddleware:
    """Check and normalize ``POST /v1/messages`` bodies before ``app`` sees them.

    - ``config``: a :class:`fwcompat.Config` or a plain dict (validated now:
      a bad config raises :class:`fwcompat.ConfigError` at construction).
    - ``max_body_size``: largest accepted body in bytes (413 above it).
    - ``path``: the request path to check; every other path passes through. Under
      a mount (``root_path``), ``root_path + path`` matches too.
    - ``upstream_base_url``: where the app forwards to, e.g.
      ``"https://api.fireworks.ai/inference"``. When given it is checked once,
      here, by the url rules, and a wrong one raises :class:`fwcompat.ConfigError`.
    - ``on_result``: called as ``on_result(scope, result)`` after each check,
      rejected requests included (e.g. to count diagnostics).
    - ``on_usage``: called as ``on_usage(scope, usage, issues)`` once each 2xx
      response to a forwarded request is over, with the :class:`~fwcompat.usage.Usage`
      Fireworks reported (``None`` if none could be read) and, for a stream, the
      :class:`~fwcompat.usage.StreamIssue` found by a :class:`~fwcompat.usage.UsageMeter`.
      The response is metered as it passes (SSE chunk by chunk; a JSON body is
      copied up to 4 MiB), never held back; gzip and deflate are decoded.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        config: Config | Mapping[str, Any] | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        path: str = "/v1/messages",
        upstream_base_url: str | None = None,
        on_result: Callable[[Scope, Result], None] | None = None,
        on_usage: UsageCallback | None = None,
    ) -> None:
        if isinstance(max_body_size, bool) or not isinstance(max_body_size, int):
            raise ConfigError("max_body_size: expected an integer number of bytes")
        if max_body_size <= 0:
            raise ConfigError(f"max_body_size: expected a positive size, got {max_body_size}")
        self.app = app
        self.config = coerce_config(config)
        self.max_body_size = max_body_size
        self.path = path
        self.on_result = on_result
        self.on_usage = on_usage
        if upstream_base_url is not None:
            probe = check({}, base_url=upstream_base_url, path=path, config=self.config)
            wrong = [d for d in probe.errors if d.scope == "url"]
            if wrong:
                raise ConfigError(
                    f"upstream_base_url {upstream_base_url!r}: " + "; ".join(str(d) for d in wrong)
                )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not self._matches(scope):
            await self.app(scope, receive, send)
            return
        try:
            body = await self._read_body(scope, receive)
            if body is None:  # the client went away while sending
                return
            await self._handle(scope, receive, send, body)
        except _Reject as reject:
            await _send_error(send, reject.status, reject.kind, reject.message)

    def _matches(self, scope: Scope) -> bool:
        path: str = scope["path"]
        if path == self.path:
            return True
        root: str = scope.get("root_path", "")  # mounted under a prefix (path includes it)
        return bool(root) and path == root + self.path

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        limit = self.max_body_size
        declared = None
        for name, value in scope["headers"]:
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

    async def _handle(self, scope: Scope, receive: Receive, send: Send, raw: bytes) -> None:
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Reject(
                400, "invalid_request_error", f"Request body is not valid JSON: {exc}"
            ) from None
        if not isinstance(body, dict):
            raise _Reject(
                400,
                "invalid_request_error",
                f"Request body must be a JSON object, got {_json_type(body)}.",
            )
        headers = _header_dict(scope["headers"])
        result = check(body, headers=headers, config=self.config)
        if self.on_result is not None:
            self.on_result(scope, result)
        _log(result)
        if not result.ok:
            message = "Request is not compatible with the provider: " + "; ".join(
                str(d) for d in result.errors
            )
            codes = _codes(d.code for d in result.errors)
            await _send_error(
                send, 400, "invalid_request_error", message, [(REJECTED_HEADER, codes)]
            )
            return
        if result.changed:
            raw = json.dumps(result.request, separators=(",", ":"), check_circular=False).encode()
        new_headers = _rebuild_headers(scope["headers"], headers, result.headers, len(raw))
        scope = dict(scope)
        scope["headers"] = new_headers
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": raw, "more_body": False}

        applied = _codes(d.code for d in result.diagnostics if d.action in ("removed", "replaced"))
        on_usage = self.on_usage
        if not applied and on_usage is None:
            await self.app(scope, replay, send)
            return
        meter = _ResponseMeter() if on_usage is not None else None

        async def wrapped_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                if applied:
                    message = dict(message)
                    message["headers"] = [*message.get("headers", ()), (APPLIED_HEADER, applied)]
                if meter is not None:
                    meter.start(message)
            elif meter is not None and message["type"] == "http.response.body":
                meter.feed(message.get("body", b""))
                if not message.get("more_body", False):
                    await send(message)
                    meter.report(scope, on_usage)
                    return
            await send(message)

        try:
            await self.app(scope, replay, wrapped_send)
        finally:
            if meter is not None:
                meter.report(scope, on_usage)  # a response cut short is reported too


class _ResponseMeter:
    """Reads usage out of a response as it passes through, without holding it back."""

    __slots__ = ("_body", "_decoder", "_meter", "_streaming", "active", "done")

    _LIMIT = 4 * 1024 * 1024

    def __init__(self) -> None:
        self.active = False
        self.done = False
        self._streaming = False
        self._meter = UsageMeter()
        self._body = bytearray()
        self._decoder: Any = None

    def start(self, message: Message) -> None:
        if not 200 <= message.get("status", 0) < 300:
            return
        content_type = encoding = b""
        for name, value in message.get("headers", ()):
            lower = name.lower()
            if lower == b"content-type":
                content_type = value.lower()
            elif lower == b"content-encoding":
                encoding = value.strip().lower()
        if encoding in (b"gzip", b"x-gzip", b"deflate"):
            self._decoder = zlib.decompressobj(wbits=47)  # gzip or zlib, detected
        elif encoding not in (b"", b"identity"):
            return  # br, zstd...: not metered
        self._streaming = content_type.startswith(b"text/event-stream")
        self.active = True

    def feed(self, chunk: bytes) -> None:
        if not self.active or not chunk:
            return
        try:
            if self._decoder is not None:
                chunk = self._decoder.decompress(chunk)
        except zlib.error:
            self.active = False
            return
        if self._streaming:
            self._meter.feed_bytes(chunk)
        elif len(self._body) + len(chunk) <= self._LIMIT:
            self._body += chunk
        else:
            self.active = False

    def report(self, scope: Scope, callback: UsageCallback | None) -> None:
        if self.done or callback is None:
            return
        self.done = True
        if not self.active:
            return
        if self._streaming:
            usage = self._meter.finish()
            issues = self._meter.issues
        else:
            usage = usage_from_response(bytes(self._body))
            issues = ()
        callback(scope, usage, issues)


def _too_large(limit: int) -> _Reject:
    return _Reject(
        413, "request_too_large", f"Request body exceeds the maximum size of {limit} bytes."
    )


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array"


def _codes(codes: Any) -> bytes:
    return ",".join(dict.fromkeys(codes)).encode("ascii")


def _header_dict(raw: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def _rebuild_headers(
    raw: Any, before: Mapping[str, str], after: Mapping[str, str], length: int
) -> list[tuple[bytes, bytes]]:
    """The request headers with ``content-length`` fixed and the header rules' edits applied."""
    edited = after is not before and dict(after) != dict(before)
    after_lower = {k.lower(): v for k, v in after.items()} if edited else {}
    out: list[tuple[bytes, bytes]] = []
    for name, value in raw:
        lower = name.lower()
        if lower in (b"content-length", b"transfer-encoding"):
            continue
        if edited:
            key = lower.decode("latin-1")
            if key not in after_lower:
                continue  # removed by a header rule
            if after_lower[key] != before.get(key):
                continue  # replaced: appended below
        out.append((name, value))
    if edited:
        for key, text in after_lower.items():
            if key not in before or before[key] != text:
                out.append((key.encode("latin-1"), text.encode("latin-1")))
    out.append((b"content-length", str(length).encode("ascii")))
    return out


def _log(result: Result) -> None:
    for d in result.diagnostics:
        level = _LEVEL[d.severity]
        if logger.isEnabledFor(level):
            logger.log(level, "%s", d)


async def _send_error(
    send: Send,
    status: int,
    kind: str,
    message: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    payload = json.dumps(
        {"type": "error", "error": {"type": kind, "message": message}}, ensure_ascii=False
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode("ascii")),
        *(extra or ()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})
