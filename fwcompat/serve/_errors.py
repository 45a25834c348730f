"""Anthropic's error envelope, written straight to an ASGI ``send``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def error_payload(kind: str, message: str) -> bytes:
    """``{"type":"error","error":{"type":kind,"message":message}}`` as bytes."""
    return json.dumps(
        {"type": "error", "error": {"type": kind, "message": message}}, ensure_ascii=False
    ).encode()


async def send_error(
    send: Send,
    status: int,
    kind: str,
    message: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer with an Anthropic error envelope (``kind`` is its ``error.type``)."""
    payload = error_payload(kind, message)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode("ascii")),
        *(extra or ()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


async def send_json(send: Send, status: int, data: Any, content_type: bytes) -> None:
    payload = data if isinstance(data, bytes) else json.dumps(data).encode()
    headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})
