"""A gateway that receives Anthropic-format traffic and forwards it to Fireworks.

CompatMiddleware checks and normalizes every POST /v1/messages body (a 400 with
Anthropic's error envelope for an incompatible one, 413 over 32 MB) and meters the
token usage of each answer as it passes (Fireworks puts it in the one message_delta
of a stream); the app forwards the request with httpx and streams the answer back
unbuffered.

    pip install "fwcompat[gateway]"          # fwcompat, httpx and uvicorn
    export FIREWORKS_API_KEY=fw_...          # or let clients send their own key
    python examples/gateway_example.py       # or: uvicorn gateway_example:app --port 8080

Then point any Anthropic client at it, e.g.
``anthropic.Anthropic(base_url="http://127.0.0.1:8080", api_key="unused")``.
``FIREWORKS_BASE_URL`` overrides the upstream (default https://api.fireworks.ai/inference).
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import httpx

from fwcompat.asgi import CompatMiddleware
from fwcompat.usage import StreamIssue, Usage

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

UPSTREAM = os.environ.get("FIREWORKS_BASE_URL", "https://api.fireworks.ai/inference")
API_KEY = os.environ.get("FIREWORKS_API_KEY")
HOP_BY_HOP = {b"host", b"connection", b"keep-alive", b"transfer-encoding", b"te", b"upgrade"}
SERVER_SET = {b"date", b"server"}  # the ASGI server adds its own: copying them would duplicate them

log = logging.getLogger("gateway")


class Forwarder:
    """Forwards each request to UPSTREAM and streams the response back as it comes."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if self.client is None:
            self.client = httpx.AsyncClient(timeout=httpx.Timeout(600, connect=10))

        async def body() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return
                yield message.get("body", b"")
                if not message.get("more_body", False):
                    return

        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
        if API_KEY:  # the gateway's own key replaces whatever the client sent
            headers = [
                (k, v) for k, v in headers if k.lower() not in (b"authorization", b"x-api-key")
            ]
            headers.append((b"authorization", f"Bearer {API_KEY}".encode()))
        url = self.upstream + scope["path"]
        request = self.client.build_request(scope["method"], url, headers=headers, content=body())
        response = await self.client.send(request, stream=True)
        try:
            out = [
                (k, v)
                for k, v in response.headers.raw
                if k.lower() not in HOP_BY_HOP and k.lower() not in SERVER_SET
            ]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": out}
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.client is not None:
                    await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def record_usage(scope: Scope, usage: Usage | None, issues: tuple[StreamIssue, ...]) -> None:
    """Called once each answer to POST /v1/messages is over (bill, rate-limit, export...)."""
    log.info("usage: %s", usage.to_dict() if usage else None)
    for issue in issues:  # a stream that broke Fireworks' documented shape
        log.warning("stream issue: %s", issue)


app = CompatMiddleware(
    Forwarder(UPSTREAM),
    upstream_base_url=UPSTREAM,  # checked once at startup by the url rules (no /v1 suffix)
    config={"model_map": {"claude-sonnet-4-6": "accounts/fireworks/models/kimi-k2p5"}},
    on_usage=record_usage,
)

if __name__ == "__main__":
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8080")))
