"""Usage is read the way each pack's provider reports it (the pack's ``usage:`` block)."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

import fwcompat
from fwcompat.asgi import CompatMiddleware
from fwcompat.rulepacks._packs import load_pack
from fwcompat.usage import (
    ANTHROPIC_SHAPE,
    FIREWORKS_SHAPE,
    StreamIssue,
    Usage,
    UsageMeter,
    UsageShape,
    usage_from_response,
    usage_shape,
)


def message(usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": usage,
    }


def anthropic_stream() -> list[dict[str, Any]]:
    """Anthropic's documented shape: input counts in message_start, output in the delta."""
    start = {"input_tokens": 25, "output_tokens": 1, "cache_read_input_tokens": 5}
    return [
        {"type": "message_start", "message": message(start)},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 7},
        },
        {"type": "message_stop"},
    ]


def fireworks_stream() -> list[dict[str, Any]]:
    zeros = {"input_tokens": 0, "output_tokens": 0}
    counts = {"input_tokens": 25, "output_tokens": 7}
    return [
        {"type": "message_start", "message": message(zeros)},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": counts},
        {"type": "message_stop"},
    ]


def metered(events: list[dict[str, Any]], pack: Any) -> tuple[Usage | None, list[str]]:
    meter = UsageMeter(pack)
    for event in events:
        meter.feed(event)
    usage = meter.finish()
    return usage, [i.code for i in meter.issues]


@pytest.mark.parametrize("pack", ["deepseek", "minimax"])
def test_anthropic_shaped_stream_is_metered_right_for_its_pack(pack: str) -> None:
    usage, issues = metered(anthropic_stream(), pack)
    assert usage == Usage(input_tokens=25, output_tokens=7, cache_read_input_tokens=5)
    assert issues == []


def test_the_fireworks_reading_of_that_stream_is_what_was_wrong() -> None:
    # Read the Fireworks way, the same stream loses its input tokens and gets a false FWU004.
    usage, issues = metered(anthropic_stream(), "fireworks")
    assert usage is not None and usage.input_tokens == 0
    assert issues == ["FWU004"]


@pytest.mark.parametrize("pack", [None, "fireworks", "fireworks-r4"])
def test_fireworks_packs_ignore_message_start_and_need_both_counts(pack: str | None) -> None:
    assert metered(fireworks_stream(), pack) == (Usage(25, 7), [])
    events = fireworks_stream()
    events[1]["usage"] = {"output_tokens": 7}  # the one message_delta must carry both
    usage, issues = metered(events, pack)
    assert issues == ["FWU004"]
    assert usage is not None and usage.input_tokens == 0  # message_start's 0 is never used


def test_a_delta_that_repeats_a_count_overrides_message_start() -> None:
    events = anthropic_stream()
    events[4]["usage"] = {"output_tokens": 9, "input_tokens": 30}  # cumulative totals
    assert metered(events, "deepseek") == (
        Usage(input_tokens=30, output_tokens=9, cache_read_input_tokens=5),
        [],
    )


def test_the_provider_is_named_in_the_meters_messages() -> None:
    events = anthropic_stream()
    events.insert(5, dict(events[4]))
    meter = UsageMeter("minimax")
    for event in events:
        meter.feed(event)
    meter.finish()
    [issue] = meter.issues
    assert isinstance(issue, StreamIssue) and issue.code == "FWU002"
    assert "MiniMax sends exactly one" in issue.message


@pytest.mark.parametrize("pack", fwcompat.packs(), ids=lambda p: p.name)
def test_every_shipped_pack_declares_its_usage(pack: Any) -> None:
    loaded = load_pack(pack.name)
    assert loaded.usage["basis"] in ("documented", "inferred")
    assert loaded.usage["doc"]
    shape = usage_shape(pack.name)
    assert shape.message_delta, "a message_delta must carry at least one count"
    assert "output_tokens" in shape.message_delta
    assert set(shape.message_start) | set(shape.message_delta) >= {"input_tokens"}
    if loaded.usage["basis"] == "documented":
        # A documented shape quotes its provider's page: the source text shipped in the
        # pack folder (or the one it extends), verbatim, spacing aside.
        folders = [Path(loaded.folder)]
        if loaded.extends:
            folders.append(Path(load_pack(loaded.extends).folder))
        sources = [p for f in folders for p in f.iterdir() if p.suffix in (".txt", ".md")]
        pages = " ".join(re.sub(r"\s+", " ", p.read_text(encoding="utf-8")) for p in sources)
        if sources:  # the packs ship their source texts (issue 15, item 1)
            assert re.sub(r"\s+", " ", loaded.usage["doc"]) in pages


def test_shapes_of_the_shipped_packs() -> None:
    assert usage_shape("fireworks") == FIREWORKS_SHAPE
    assert usage_shape("fireworks-r4") == FIREWORKS_SHAPE  # inherited
    assert usage_shape("deepseek") == UsageShape(
        ANTHROPIC_SHAPE.message_start, ("output_tokens",), provider="DeepSeek"
    )
    assert usage_shape({"pack": "minimax"}).provider == "MiniMax"
    assert usage_shape(None) == FIREWORKS_SHAPE


def test_a_pack_without_a_usage_block_gets_anthropics_shape(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "pack.yaml").write_text(
        "pack:\n  name: mine\n  title: Mine\n  provider: Mine Inc\n  files: [10-x.yaml]\n",
        encoding="utf-8",
    )
    (folder / "10-x.yaml").write_text("rules: []\n", encoding="utf-8")
    shape = usage_shape({"pack_dir": str(folder)})
    assert shape.message_start == ANTHROPIC_SHAPE.message_start
    assert shape.provider == "Mine Inc"


def test_a_bad_usage_block_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "pack.yaml").write_text(
        "pack:\n  name: mine\n  title: Mine\n  files: [10-x.yaml]\n"
        "  usage:\n    stream: {message_start: [], message_delta: [tokens]}\n",
        encoding="utf-8",
    )
    (folder / "10-x.yaml").write_text("rules: []\n", encoding="utf-8")
    with pytest.raises(fwcompat.RuleFileError) as caught:
        usage_shape({"pack_dir": str(folder)})
    assert "pack.yaml" in str(caught.value) and "usage" in str(caught.value)


@pytest.mark.parametrize("pack", ["deepseek", "minimax", "fireworks"])
def test_usage_from_response_for_every_pack(pack: str) -> None:
    body = message({"input_tokens": 25, "output_tokens": 7})
    assert usage_from_response(body, pack) == Usage(25, 7)
    assert usage_from_response(message({"output_tokens": 7}), pack) is None


def _run_middleware(pack: str, events: list[dict[str, Any]]) -> list[Any]:
    """One streamed request through CompatMiddleware (the proxy's metering), in process."""
    frames = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)
    seen: list[Any] = []

    async def upstream(scope: Any, receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": frames, "more_body": False})

    model = {"deepseek": "deepseek-v4-pro", "minimax": "MiniMax-M3"}.get(
        pack, "accounts/fireworks/models/kimi-k2p5"
    )
    app = CompatMiddleware(
        upstream,
        config={"pack": pack},
        on_usage=lambda scope, usage, issues: seen.append((usage, [i.code for i in issues])),
    )
    body = json.dumps(
        {"model": model, "max_tokens": 8, "stream": True,
         "messages": [{"role": "user", "content": "Hi"}]}
    ).encode()  # fmt: skip
    scope = {
        "type": "http", "method": "POST", "path": "/v1/messages", "raw_path": b"/v1/messages",
        "query_string": b"", "headers": [(b"content-type", b"application/json")],
        "root_path": "",
    }  # fmt: skip
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[Any] = []

    async def receive() -> Any:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200, sent
    return seen


@pytest.mark.parametrize("pack", ["deepseek", "minimax"])
def test_the_middleware_meters_by_the_pack(pack: str) -> None:
    [(usage, issues)] = _run_middleware(pack, anthropic_stream())
    assert usage == Usage(input_tokens=25, output_tokens=7, cache_read_input_tokens=5)
    assert issues == []


def test_the_middleware_keeps_the_fireworks_reading_for_fireworks() -> None:
    [(usage, issues)] = _run_middleware("fireworks", fireworks_stream())
    assert (usage, issues) == (Usage(25, 7), [])
    [(usage, issues)] = _run_middleware("fireworks", anthropic_stream())
    assert issues == ["FWU004"]  # a Fireworks stream without input_tokens is a real issue
