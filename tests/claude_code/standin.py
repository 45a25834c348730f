"""A local stand-in for an Anthropic-compatible upstream that drives one Claude Code tool loop.

It records every request it receives (method, path, query, headers, parsed body) and answers:

- a request whose last user turn carries a ``tool_result`` -> text quoting that result;
- a request that offers a ``Bash`` tool and has no tool result yet -> a ``tool_use`` of Bash
  running :data:`COMMAND`;
- anything else (Claude Code's side requests: titles, summaries...) -> a short text (JSON
  when the request asks for structured output).

Streaming requests get a well-formed SSE stream; the others a JSON message. Pure ASGI.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MARKER = "fwcompat-tool-loop-ok"
COMMAND = f"echo {MARKER}"
TOOL_USE_ID = "toolu_standin_01"
FINAL_PREFIX = "The command printed: "


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    answer: str = ""  # "tool_use", "final" or "side"


@dataclass
class StandIn:
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def records(self) -> list[Seen]:
        with self.lock:
            return list(self.seen)

    def clear(self) -> None:
        with self.lock:
            self.seen.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body", False):
                break
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        record = Seen(scope["method"], scope["path"], scope["query_string"].decode(), headers, body)
        with self.lock:
            self.seen.append(record)
        if scope["method"] != "POST" or scope["path"] != "/v1/messages":
            error = {"type": "not_found_error", "message": f"{scope['path']} is not served"}
            await _json(send, 404, {"type": "error", "error": error})
            return
        if not isinstance(body, dict):
            error = {"type": "invalid_request_error", "message": "the body is not a JSON object"}
            await _json(send, 400, {"type": "error", "error": error})
            return
        content, stop, record.answer = _answer(body)
        model = str(body.get("model", ""))
        usage = {"input_tokens": max(1, len(raw) // 4), "output_tokens": 7}
        if body.get("stream"):
            await _stream(send, model, content, stop, usage)
        else:
            message_out = {
                "id": "msg_standin",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": usage,
            }
            await _json(send, 200, message_out)


def _answer(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str, str]:
    result = _tool_result(body)
    if result is not None:
        return [{"type": "text", "text": FINAL_PREFIX + result}], "end_turn", "final"
    tools = body.get("tools")
    names = {t.get("name") for t in tools if isinstance(t, dict)} if isinstance(tools, list) else ()
    if "Bash" in names:
        use = {
            "type": "tool_use",
            "id": TOOL_USE_ID,
            "name": "Bash",
            "input": {"command": COMMAND, "description": "Print a marker"},
        }
        return [use], "tool_use", "tool_use"
    text = '{"title": "Stand-in title"}' if _wants_json(body) else "Stand-in title"
    return [{"type": "text", "text": text}], "end_turn", "side"


def _wants_json(body: dict[str, Any]) -> bool:
    """Whether the request asks for structured output (Claude Code's title request does)."""
    output = body.get("output_config")
    return isinstance(output, dict) and isinstance(output.get("format"), dict)


def _tool_result(body: dict[str, Any]) -> str | None:
    """The text of the tool_result answering :data:`TOOL_USE_ID` in the last user turn."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if not isinstance(content, list):
            return None
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                if block.get("tool_use_id") != TOOL_USE_ID:
                    continue
                inner = block.get("content")
                if isinstance(inner, str):
                    return inner.strip()
                if isinstance(inner, list):
                    texts = [b.get("text", "") for b in inner if isinstance(b, dict)]
                    return "".join(t for t in texts if isinstance(t, str)).strip()
                return ""
        return None
    return None


async def _json(send: Send, status: int, data: Any) -> None:
    payload = json.dumps(data).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _stream(
    send: Send, model: str, content: list[dict[str, Any]], stop: str, usage: dict[str, int]
) -> None:
    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    frames: list[tuple[str, dict[str, Any]]] = []
    start = {
        "id": "msg_standin",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 0, "output_tokens": 0},
    }
    frames.append(("message_start", {"type": "message_start", "message": start}))
    for index, block in enumerate(content):
        if block["type"] == "text":
            first: dict[str, Any] = {"type": "text", "text": ""}
            delta: dict[str, Any] = {"type": "text_delta", "text": block["text"]}
        else:
            first = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        frames.append(
            ("content_block_start", {"type": "content_block_start", "index": index,
                                     "content_block": first})
        )  # fmt: skip
        frames.append(
            ("content_block_delta", {"type": "content_block_delta", "index": index,
                                     "delta": delta})
        )  # fmt: skip
        frames.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    frames.append(
        ("message_delta", {"type": "message_delta",
                           "delta": {"stop_reason": stop, "stop_sequence": None},
                           "usage": usage})
    )  # fmt: skip
    frames.append(("message_stop", {"type": "message_stop"}))
    for name, data in frames:
        frame = f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
        await send({"type": "http.response.body", "body": frame, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
