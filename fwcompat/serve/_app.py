"""The proxy as one ASGI app: health, metrics, keys, logging around CompatMiddleware + Forwarder.

::

    ServeApp            /healthz, /metrics, local key, request id, log line, metrics
      CompatMiddleware  fwcompat.check() on POST /v1/messages: 400/413 or normalized body
        Forwarder       checked requests to the upstream; anything else 404 not_found_error
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import hmac
import os
import time
from typing import Any

from fwcompat._config import Config
from fwcompat._diagnostics import Result
from fwcompat._http import request_id
from fwcompat.asgi import SEND_TAPS_KEY, CompatMiddleware, SendTap
from fwcompat.usage import StreamIssue, Usage

from ._errors import Message, Receive, Scope, Send, send_error, send_json
from ._forward import Forwarder
from ._logging import RequestLog
from ._metrics import LabelPolicy, Metrics
from ._record import RECORD_KEY, RequestRecord
from ._settings import ServeSettings

REQUEST_ID_HEADER = b"x-fwcompat-request-id"

ASYNCIO_ONLY = (
    "the fwcompat proxy runs on asyncio only (uvicorn, or hypercorn with an asyncio or "
    "uvloop worker); this server runs another event loop (trio?), which is not supported"
)


def env_secret(name: str | None) -> str | None:
    """The value of environment variable ``name``; ``ValueError`` naming it when unset or empty."""
    if name is None:
        return None
    value = os.environ.get(name, "")
    if not value.strip():
        raise ValueError(f"environment variable {name} is not set (or empty)")
    return value.strip()


class ServeApp:
    """The whole proxy for one worker process; stateless between requests."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.local_key = env_secret(settings.require_key_env)
        self.forwarder = Forwarder(
            settings.upstream,
            path=settings.path,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            max_connections=settings.max_connections,
            upstream_key=env_secret(settings.upstream_key_env),
        )
        config = Config.from_dict(settings.config)
        if settings.unsafe_fixes and not config.unsafe_fixes:
            config = dataclasses.replace(config, unsafe_fixes=True)
        self.model_map = config.model_map
        self.middleware = CompatMiddleware(
            self.forwarder,
            config=config,
            max_body_size=settings.max_body_size,
            path=settings.path,
            upstream_base_url=settings.upstream,
            on_result=self._on_result,
            on_usage=_on_usage,
        )
        self.metrics = Metrics(
            LabelPolicy.for_config(config), max_series=settings.metrics_max_series
        )
        self.log = RequestLog(settings.log_format)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if not _on_asyncio():
            await _refuse(kind, receive, send)
            return
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return  # websockets: not served (uvicorn answers 403)
        path: str = scope["path"]
        method: str = scope["method"]
        if path == "/healthz" and method in ("GET", "HEAD"):
            await send_json(send, 200, {"status": "ok"}, b"application/json")
            return
        if path == "/metrics" and method == "GET":
            if not self._authorized(scope):
                await _unauthorized(send)
                return
            await send_json(send, 200, self.metrics.render(), self.metrics.content_type.encode())
            return
        await self._proxy(scope, receive, send)

    async def _proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        record = RequestRecord(
            request_id=request_id(scope),
            method=scope["method"],
            path=scope["path"],
            started=time.perf_counter(),
        )
        rid = record.request_id.encode("ascii")
        taps: list[SendTap] = []  # the middleware's work on each message, in this one wrapper

        async def send_tagged(message: Message) -> None:
            for tap in taps:
                message = tap.before(message)
            if message["type"] == "http.response.start":
                record.status = message["status"]
                message = dict(message)
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_HEADER, rid)]
            try:
                await send(message)
            finally:  # metered even when the client is gone: the upstream sent it all the same
                for tap in taps:
                    tap.after(message)

        async def receive_teed() -> Message:
            message = await receive()
            if message["type"] == "http.request" and record.result is None:
                chunk = message.get("body", b"")
                if chunk:
                    record.body_chunks.append(chunk)  # a reference, not a copy
            return message

        self.metrics.in_flight.inc()
        failed = False
        try:
            if not self._authorized(scope):
                await _unauthorized(send_tagged)
                return
            scope = dict(scope)
            scope[RECORD_KEY] = record
            scope[SEND_TAPS_KEY] = taps
            await self.middleware(scope, receive_teed, send_tagged)
        except BaseException as exc:
            failed = True
            record.error = record.error or f"internal error ({type(exc).__name__})"
            raise
        finally:
            # scope -> taps -> the middleware's tap -> its meter -> scope: a cycle that would
            # keep the request's decoded body for the collector; freed at once without it.
            taps.clear()
            self.metrics.in_flight.dec()
            record.duration_seconds = time.perf_counter() - record.started
            if record.status is None:  # no response was started
                record.status = 500 if failed else 499  # 499: the client went away first
                if not failed and record.error is None:
                    record.error = "client disconnected"
            self.metrics.observe(record)
            self.log.write(record)

    def _on_result(self, scope: Scope, result: Result) -> None:
        record: RequestRecord | None = scope.get(RECORD_KEY)
        if record is not None:
            record.result = result
            record.settle_client_model(self.model_map)

    def _authorized(self, scope: Scope) -> bool:
        if self.local_key is None:
            return True
        expected = self.local_key.encode("latin-1")
        for name, value in scope["headers"]:
            lower = name.lower()
            if lower == b"x-api-key":
                token = value.strip()
            elif lower == b"authorization" and value[:7].lower() == b"bearer ":
                token = value[7:].strip()
            else:
                continue
            if hmac.compare_digest(token, expected):
                return True
        return False

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.forwarder.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def _refuse(kind: str, receive: Receive, send: Send) -> None:
    """Not on asyncio: fail the server's start-up, or answer 500, saying so."""
    if kind == "lifespan":
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.failed", "message": ASYNCIO_ONLY})
    elif kind == "http":
        await send_error(send, 500, "api_error", ASYNCIO_ONLY[0].upper() + ASYNCIO_ONLY[1:] + ".")


def _on_usage(scope: Scope, usage: Usage | None, issues: tuple[StreamIssue, ...]) -> None:
    record: RequestRecord | None = scope.get(RECORD_KEY)
    if record is not None:
        record.usage = usage
        record.stream_issues = issues


async def _unauthorized(send: Send) -> None:
    await send_error(
        send,
        401,
        "authentication_error",
        "This proxy needs its local key: send it as x-api-key or Authorization: Bearer.",
    )


def quiet_diagnostic_logger() -> None:
    """Per-diagnostic lines of the ``fwcompat`` logger would repeat what the request line says.

    Its records go nowhere in a serve process; its level says so too, so that no record is
    even made (a warning diagnostic would otherwise build one per request, to drop it).
    """
    import logging

    fwcompat_logger = logging.getLogger("fwcompat")
    fwcompat_logger.addHandler(logging.NullHandler())
    fwcompat_logger.propagate = False
    fwcompat_logger.setLevel(logging.CRITICAL + 1)


GC_THRESHOLD = (10_000, 20, 20)
"""The collector's thresholds in a ``fwcompat serve`` worker (CPython's default: 700, 10, 10).

Each request allocates a few hundred containers (its decoded body), which live until it is
answered: with 64 requests in flight, the default first threshold ran a young collection
every two or three requests, and promoted live bodies to be scanned again by the older ones
(about 50 us of CPU per request at c=64, measured with ``gc.callbacks``; about 2 us with
these and the start-up objects frozen)."""


def tune_gc() -> None:
    """Set up the collector of a server process once everything is loaded.

    Freeze what start-up allocated (modules, the compiled pack and schema: they live as
    long as the process), so that full collections no longer scan it, and collect young
    objects in bigger batches (:data:`GC_THRESHOLD`). Reference counting still frees
    everything that is not in a cycle at once; only the timing of cycle collection changes.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def app_from_env() -> Any:
    """The factory uvicorn calls in each worker (``--workers N``): settings come from the env.

    The worker process is the proxy's alone: its collector is tuned (:func:`tune_gc`).
    """
    quiet_diagnostic_logger()
    app = ServeApp(ServeSettings.from_env())
    tune_gc()
    return app
