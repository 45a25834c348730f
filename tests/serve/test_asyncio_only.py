"""The proxy runs on asyncio only: under trio it refuses clearly, at start-up and per request.

uvicorn (what ``fwcompat serve`` runs) has asyncio and uvloop loops only; ``create_app``
can go under another ASGI server, and one running trio (hypercorn ``-k trio``) is
refused with a message that says why, never a traceback.
"""

from __future__ import annotations

from typing import Any

import pytest

from fwcompat.serve import ServeSettings, create_app
from fwcompat.serve._app import ASYNCIO_ONLY

trio = pytest.importorskip("trio")


def run_under_trio(scope: dict[str, Any], incoming: list[dict[str, Any]]) -> list[Any]:
    app = create_app(ServeSettings(upstream="http://127.0.0.1:9"))
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    trio.run(app, scope, receive, send)
    return sent


def test_lifespan_under_trio_fails_startup_with_the_reason() -> None:
    sent = run_under_trio({"type": "lifespan"}, [{"type": "lifespan.startup"}])
    assert sent == [{"type": "lifespan.startup.failed", "message": ASYNCIO_ONLY}]
    assert "asyncio only" in ASYNCIO_ONLY and "trio" in ASYNCIO_ONLY


def test_a_request_under_trio_is_a_500_naming_asyncio() -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/messages",
        "headers": [],
        "query_string": b"",
    }
    sent = run_under_trio(scope, [{"type": "http.request", "body": b"{}"}])
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 500
    body = b"".join(m.get("body", b"") for m in sent[1:])
    assert b"asyncio only" in body
    assert b'"type":"api_error"' in body.replace(b" ", b"")
