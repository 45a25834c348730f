"""200 concurrent streams through one `fwcompat serve`: none lost, none mixed up.

Resident memory across bursts is a figure of ``benchmarks/bench_serve.py``, printed and
never asserted here: it depends on the allocator and on how the bursts interleave.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from fireworks_stub import REPLY, Upstream

from tests.serve.conftest import MODEL, ServeFactory

CONCURRENCY = 200


async def one_stream(client: httpx.AsyncClient, url: str, marker: str) -> tuple[str, str, Any]:
    """(marker, streamed text, usage of the message_delta) of one streamed request."""
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "stream": True,
        "messages": [{"role": "user", "content": marker}],
        "tools": [
            {"name": "t", "input_schema": {"type": "object"}, "cache_control": {"type": "x"}}
        ],
    }
    text: list[str] = []
    usage = None
    headers = {"x-stub-echo": "1", "x-request-id": marker}
    async with client.stream("POST", url, json=body, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["x-fwcompat-request-id"] == marker
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            if event["type"] == "content_block_delta":
                text.append(event["delta"]["text"])
            elif event["type"] == "message_delta":
                usage = event["usage"]
    return marker, "".join(text), usage


async def burst(url: str, round_number: int) -> list[tuple[str, str, Any]]:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        markers = [f"r{round_number}-m{i:03d}" for i in range(CONCURRENCY)]
        return await asyncio.gather(*(one_stream(client, url, m) for m in markers))


def test_200_concurrent_streams(serve: ServeFactory, upstream: Upstream) -> None:
    proxy = serve("--model-map", f"claude-sonnet-4-6={MODEL}")
    url = proxy.url + "/v1/messages"
    for round_number in range(4):
        results = asyncio.run(burst(url, round_number))
        for marker, text, usage in results:
            # Each response belongs to its own request: the stub echoed its message.
            assert text == "".join(REPLY) + " " + marker
            assert usage is not None and usage["output_tokens"] == len(REPLY) + 2
    received = upstream.received
    assert len(received) == 4 * CONCURRENCY  # none lost, none sent twice
    sent = sorted(r.body["messages"][0]["content"] for r in received)
    assert sent == sorted(f"r{n}-m{i:03d}" for n in range(4) for i in range(CONCURRENCY))
    for r in received:
        assert r.body["model"] == MODEL
        assert "cache_control" not in r.body["tools"][0]
    lines = proxy.wait_records(4 * CONCURRENCY)
    by_id = {line["request_id"]: line for line in lines}
    assert len(by_id) == 4 * CONCURRENCY
    for r in received:
        marker = r.body["messages"][0]["content"]
        assert by_id[marker]["usage"] == r.usage  # each log line metered its own stream
        assert by_id[marker]["codes"] == ["FW303", "FW603"]
    assert "fwcompat_serve_in_flight_requests 0.0" in proxy.metrics()
