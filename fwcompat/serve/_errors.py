"""Anthropic's error envelope and JSON answers, written straight to an ASGI ``send``."""

from __future__ import annotations

import json
from typing import Any

from fwcompat._http import ASGIApp, Message, Receive, Scope, Send, error_payload, send_error

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send", "error_payload", "send_error"]


async def send_json(send: Send, status: int, data: Any, content_type: bytes) -> None:
    payload = data if isinstance(data, bytes) else json.dumps(data).encode()
    headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})
