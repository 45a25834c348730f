"""The meter's fast path on raw bytes: the same verdict as the general decoder, at less cost.

``UsageMeter.feed_bytes`` counts runs of events that cannot carry usage without decoding
them; every stream, split anywhere, must read exactly as the general :class:`SSEDecoder`
reads it (usage, issues and event positions), and the events it skips must not be parsed.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fwcompat.usage import SSEDecoder, UsageMeter
from tests.adapters.test_usage import fireworks_events, to_sse
from tests.cost import calls

_FRAMES = [
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0}\n\n',
    b'data: {"type":"content_block_delta"}\n\n',
    b'event: ping\ndata: {"type": "ping"}\n\n',
    b"event: ping\n\n",
    b": keep-alive\n\n",
    b"data:\n\n",
    b"event: content_block_delta\ndata: " + b"[" * 300 + b"\n\n",
    b"event: content_block_delta\ndata: {not json\n\n",
    b"event: content_block_delta\ndata: 12\n\n",
    b'id: 7\nevent: content_block_stop\ndata: {"type":"content_block_stop"}\n\n',
    b'event: message_start\ndata: {"type":"message_start","message":{"usage":'
    b'{"input_tokens":0,"output_tokens":0}}}\n\n',
    b'event: message_delta\ndata: {"type":"message_delta","usage":'
    b'{"input_tokens":5,"output_tokens":3}}\n\n',
    b'data: {"type":"message_delta","usage":{"output_tokens":"x"}}\n\n',
    b'event: message_delta\ndata: {"usage":{"input_tokens":1,"output_tokens":1}}\n\n',
    b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"o"}}\n\n',
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    b'event: message_stop\r\ndata: {"type":"message_stop"}\r\n\r\n',
    b'data: {"type":"message_stop"}\r\r',
    b"\xef\xbb\xbfdata: {}\n\n",
    b'event: content_block_delta\ndata: {"a":1}\n',  # unterminated when last
]


def reference(body: bytes) -> UsageMeter:
    """The meter fed the general decoder's events: the verdict the fast path must match."""
    meter = UsageMeter()
    decoder = SSEDecoder()
    for event in [*decoder.feed(body), *decoder.flush()]:
        meter.feed_sse(event)
    meter.finish()
    return meter


def verdict(meter: UsageMeter) -> tuple[Any, ...]:
    return meter.usage, meter.issues, meter.events, meter.stopped


@given(
    st.lists(st.sampled_from(_FRAMES), max_size=12),
    st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=8),
)
def test_fast_path_reads_every_stream_as_the_general_decoder(
    frames: list[bytes], sizes: list[int]
) -> None:
    body = b"".join(frames)
    meter = UsageMeter()
    at = 0
    step = 0
    while at < len(body):
        size = sizes[step % len(sizes)]
        meter.feed_bytes(body[at : at + size])
        at += size
        step += 1
    meter.finish()
    assert verdict(meter) == verdict(reference(body))


def test_a_stream_in_one_piece_reads_as_the_general_decoder() -> None:
    body = b"".join(_FRAMES[:16])
    meter = UsageMeter()
    meter.feed_bytes(body)
    meter.finish()
    assert verdict(meter) == verdict(reference(body))
    # "{not json" in a content event is not parsed: only "[..." and "12" are bad events.
    assert [i.code for i in meter.issues] == ["FWU007", "FWU007", "FWU002", "FWU004", "FWU006"]


def test_events_that_carry_no_usage_are_not_parsed(monkeypatch: Any) -> None:
    parsed: list[str] = []
    loads = json.loads

    def counting(text: Any, *args: Any, **kwargs: Any) -> Any:
        parsed.append(text if isinstance(text, str) else text.decode())
        return loads(text, *args, **kwargs)

    deltas = [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "w"}}
    ] * 200
    events = fireworks_events(40, 200)
    body = to_sse([*events[:3], *deltas, *events[3:]])
    monkeypatch.setattr("fwcompat.usage.json.loads", counting)
    meter = UsageMeter()
    for i in range(0, len(body), 1400):
        meter.feed_bytes(body[i : i + 1400])
    meter.finish()
    assert meter.usage is not None
    assert (meter.usage.input_tokens, meter.usage.output_tokens) == (40, 200)
    assert meter.ok
    assert meter.events == len(events) + 200
    # Only message_start, message_delta and message_stop were parsed.
    assert sorted(loads(text)["type"] for text in list(parsed)) == [
        "message_delta",
        "message_start",
        "message_stop",
    ]


def test_metering_costs_fewer_calls_than_decoding_every_event() -> None:
    deltas = [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "w"}}
    ] * 300
    events = fireworks_events(40, 300)
    body = to_sse([*events[:3], *deltas, *events[3:]])
    chunks = [body[i : i + 1400] for i in range(0, len(body), 1400)]

    def meter() -> None:
        m = UsageMeter()
        for chunk in chunks:
            m.feed_bytes(chunk)
        m.finish()

    def decode() -> None:
        decoder = SSEDecoder()
        for chunk in chunks:
            decoder.feed(chunk)

    meter()  # warm: the default pack's shape is read once
    # 300 skipped events cost a few calls per 1400-byte chunk, not one pass per line.
    assert calls(meter) * 5 < calls(decode)
