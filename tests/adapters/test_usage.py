"""Unit tests of fwcompat.usage: the usage meter, the SSE decoder and response usage."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fwcompat.usage import (
    ANTHROPIC_SHAPE,
    SSEDecoder,
    SSEEvent,
    StreamIssue,
    Usage,
    UsageMeter,
    aiter_sse,
    iter_sse,
    iter_sse_lines,
    usage_from_response,
)
from tests.cost import ScannedBytes, allocated, calls


def fireworks_events(input_tokens: int = 12, output_tokens: int = 7) -> list[dict[str, Any]]:
    """A stream in Fireworks' documented shape: zero usage at start, counts in message_delta."""
    return [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "content": [],
                "model": "accounts/fireworks/models/kimi-k2p5",
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        },
        {"type": "message_stop"},
    ]


def to_sse(events: list[dict[str, Any]], newline: str = "\n") -> bytes:
    out = []
    for event in events:
        out.append(f"event: {event['type']}{newline}data: {json.dumps(event)}{newline}{newline}")
    return "".join(out).encode()


def codes(meter: UsageMeter) -> list[str]:
    return [issue.code for issue in meter.issues]


# ----------------------------------------------------------------- the meter


def test_meter_takes_counts_from_message_delta_and_ignores_message_start() -> None:
    meter = UsageMeter()
    events = fireworks_events(12, 7)
    events[0]["message"]["usage"] = {"input_tokens": 999, "output_tokens": 999}
    for event in events:
        meter.feed(event)
    assert meter.finish() == Usage(input_tokens=12, output_tokens=7)
    assert meter.issues == ()
    assert meter.ok
    assert meter.stopped
    assert meter.events == len(events)


def test_usage_is_none_before_message_delta() -> None:
    meter = UsageMeter()
    for event in fireworks_events()[:3]:
        meter.feed(event)
    assert meter.usage is None


def test_missing_message_delta_is_reported_at_finish() -> None:
    meter = UsageMeter()
    for event in fireworks_events():
        if event["type"] != "message_delta":
            meter.feed(event)
    assert not meter.issues  # only known at the end
    assert meter.finish() is None
    assert codes(meter) == ["FWU001"]
    assert meter.issues[0].event is None
    assert meter.finish() is None
    assert codes(meter) == ["FWU001"]  # finish is idempotent


def test_two_message_deltas_keep_the_last_counts() -> None:
    meter = UsageMeter()
    events = fireworks_events(5, 1)
    second = {
        "type": "message_delta",
        "delta": {},
        "usage": {"input_tokens": 5, "output_tokens": 9},
    }
    events.insert(-1, second)
    for event in events:
        meter.feed(event)
    assert meter.finish() == Usage(5, 9)
    assert codes(meter) == ["FWU002"]
    assert meter.issues[0].event == 6
    assert "more than one message_delta" in str(meter.issues[0])


def test_message_delta_after_message_stop() -> None:
    meter = UsageMeter()
    events = fireworks_events()
    events.append(events[-2])
    for event in events:
        meter.feed(event)
    meter.finish()
    assert codes(meter) == ["FWU003", "FWU002"]


def test_cut_off_stream_has_no_message_stop() -> None:
    meter = UsageMeter()
    for event in fireworks_events()[:-1]:
        meter.feed(event)
    assert meter.finish() == Usage(12, 7)
    assert codes(meter) == ["FWU005"]


@pytest.mark.parametrize(
    "usage",
    [None, {"output_tokens": 3}, {"input_tokens": "3", "output_tokens": 3}, {"input_tokens": -1}],
)
def test_bad_usage_in_message_delta(usage: Any) -> None:
    meter = UsageMeter()
    events = fireworks_events()
    if usage is None:
        del events[-2]["usage"]
    else:
        events[-2]["usage"] = usage
    for event in events:
        meter.feed(event)
    meter.finish()
    assert codes(meter) == ["FWU004"]


def test_boolean_counts_are_not_counts() -> None:
    meter = UsageMeter()
    meter.feed({"type": "message_delta", "usage": {"input_tokens": True, "output_tokens": 2}})
    assert codes(meter) == ["FWU004"]
    assert meter.usage == Usage(0, 2)


def test_cache_counts_are_kept() -> None:
    meter = UsageMeter()
    meter.feed(
        {
            "type": "message_delta",
            "usage": {
                "input_tokens": 3,
                "output_tokens": 4,
                "cache_read_input_tokens": 10,
                "cache_creation_input_tokens": None,
            },
        }
    )
    assert meter.usage == Usage(3, 4, None, 10)
    assert meter.usage is not None
    assert meter.usage.total_tokens == 17
    assert meter.usage.to_dict() == {
        "input_tokens": 3,
        "output_tokens": 4,
        "cache_read_input_tokens": 10,
    }


def test_error_event_is_reported() -> None:
    meter = UsageMeter()
    meter.feed({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    assert codes(meter) == ["FWU006"]
    assert "Overloaded" in meter.issues[0].message


class _Obj:
    """Stands in for an SDK model: attributes, not keys."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)


def test_meter_accepts_attribute_objects() -> None:
    meter = UsageMeter()
    meter.feed(_Obj(type="message_start", message=_Obj(usage=_Obj(input_tokens=0))))
    meter.feed(_Obj(type="text", text="hi"))  # messages.stream() helper events are ignored
    meter.feed(_Obj(type="message_delta", usage=_Obj(input_tokens=2, output_tokens=3)))
    meter.feed(_Obj(type="message_stop"))
    assert meter.finish() == Usage(2, 3)
    assert meter.ok


def test_stream_issue_formats() -> None:
    issue = StreamIssue("FWU002", "multiple-message-delta", "two deltas", 4)
    assert str(issue) == "FWU002 multiple-message-delta (event 4): two deltas"
    assert issue.to_dict()["event"] == 4
    assert str(StreamIssue("FWU001", "no-message-delta", "none")) == "FWU001 no-message-delta: none"


# ----------------------------------------------------------------- bytes and SSE


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_feed_bytes_meters_a_raw_stream(newline: str) -> None:
    meter = UsageMeter()
    body = to_sse(fireworks_events(40, 2), newline)
    for i in range(0, len(body), 7):
        meter.feed_bytes(body[i : i + 7])
    assert meter.finish() == Usage(40, 2)
    assert meter.ok


def test_feed_bytes_reports_non_json_data() -> None:
    meter = UsageMeter()
    meter.feed_bytes(b"event: message_delta\ndata: {not json\n\n")
    meter.feed_bytes(b": keep-alive comment\n\n")
    assert codes(meter) == ["FWU007"]


def test_event_name_fills_in_a_missing_type() -> None:
    meter = UsageMeter()
    meter.feed_sse(SSEEvent("message_delta", '{"usage": {"input_tokens": 1, "output_tokens": 1}}'))
    assert meter.usage == Usage(1, 1)


def test_decoder_fields() -> None:
    decoder = SSEDecoder()
    events = decoder.feed(
        b"\xef\xbb\xbfid: 7\nretry: 150\nevent: x\ndata: a\ndata:b\n: comment\nunknown: 1\n\n"
    )
    assert events == [SSEEvent("x", "a\nb", "7", 150)]
    assert decoder.feed(b"data: tail") == []
    assert decoder.flush() == [SSEEvent(None, "tail", "7", None)]


def test_decoder_ignores_empty_frames_and_keeps_split_utf8() -> None:
    text = 'data: {"text": "h\u00e9llo \u2603"}\n\n\n\n'.encode()
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    for b in text:
        events.extend(decoder.feed(bytes([b])))
    events.extend(decoder.flush())
    assert [e.json() for e in events] == [{"text": "h\u00e9llo \u2603"}]


def test_iter_sse_and_iter_sse_lines() -> None:
    body = to_sse(fireworks_events())
    assert [e.event for e in iter_sse([body])] == [e["type"] for e in fireworks_events()]
    lines = body.decode().splitlines()
    assert list(iter_sse_lines(lines)) == list(iter_sse([body]))
    assert list(iter_sse([body.decode()])) == list(iter_sse([body]))


def test_aiter_sse() -> None:
    body = to_sse(fireworks_events())

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 5):
            yield body[i : i + 5]

    async def collect() -> list[SSEEvent]:
        return [event async for event in aiter_sse(chunks())]

    assert asyncio.run(collect()) == list(iter_sse([body]))


@given(
    data=st.lists(
        # Any text a UTF-8 stream can carry: no lone surrogates, no line breaks inside a field.
        st.text(alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",))),
        max_size=4,
    ),
    name=st.one_of(st.none(), st.text(alphabet="abcdefgh_", min_size=1, max_size=10)),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_decoder_is_independent_of_chunking(
    data: list[str], name: str | None, newline: str, cuts: list[int]
) -> None:
    frame = "".join(f"data: {d}{newline}" for d in data)
    if name is not None:
        frame = f"event: {name}{newline}" + frame
    body = (frame + newline) * 2
    raw = body.encode()
    whole = SSEDecoder().feed(raw)
    decoder = SSEDecoder()
    pieces: list[SSEEvent] = []
    previous = 0
    for cut in [*sorted(min(c, len(raw)) for c in cuts), len(raw)]:
        pieces.extend(decoder.feed(raw[previous:cut]))
        previous = cut
    pieces.extend(decoder.flush())
    assert pieces == whole
    expected = [] if not data and name is None else [SSEEvent(name, "\n".join(data))] * 2
    assert whole == expected


@given(
    st.lists(
        st.sampled_from(["message_start", "message_delta", "message_stop", "ping", "text"]),
        max_size=12,
    )
)
def test_meter_issue_invariants(kinds: list[str]) -> None:
    meter = UsageMeter()
    for kind in kinds:
        event: dict[str, Any] = {"type": kind}
        if kind == "message_delta":
            event["usage"] = {"input_tokens": 1, "output_tokens": 2}
        meter.feed(event)
    usage = meter.finish()
    found = set(codes(meter))
    deltas = kinds.count("message_delta")
    assert ("FWU001" in found) == (deltas == 0)
    assert ("FWU002" in found) == (deltas > 1)
    assert ("FWU005" in found) == ("message_stop" not in kinds)
    stop = kinds.index("message_stop") if "message_stop" in kinds else len(kinds)
    assert ("FWU003" in found) == ("message_delta" in kinds[stop:])
    assert (usage is None) == (deltas == 0)


# ----------------------------------------------------------------- non-streaming


def test_usage_from_response() -> None:
    body = {
        "type": "message",
        "content": [{"type": "text", "text": "hi"}],
        "usage": {"input_tokens": 11, "output_tokens": 5},
    }
    assert usage_from_response(body) == Usage(11, 5)
    assert usage_from_response(json.dumps(body)) == Usage(11, 5)
    assert usage_from_response(json.dumps(body).encode()) == Usage(11, 5)
    assert usage_from_response(_Obj(usage=_Obj(input_tokens=1, output_tokens=2))) == Usage(1, 2)


@pytest.mark.parametrize(
    "response",
    [None, [], "not json", b"[1]", {"usage": None}, {"usage": {"input_tokens": 1}}, {"type": "x"}],
)
def test_usage_from_response_without_usage(response: Any) -> None:
    assert usage_from_response(response) is None


# ----------------------------------------------------------------- hardening (issue 11, item 10)


def test_deeply_nested_data_is_a_bad_event_not_a_crash() -> None:
    meter = UsageMeter()
    meter.feed_bytes(b"event: message_delta\ndata: " + b"[" * 50_000 + b"\n\n")
    meter.feed_bytes(to_sse(fireworks_events(3, 4)))
    assert meter.finish() == Usage(3, 4)
    assert codes(meter) == ["FWU007"]
    assert usage_from_response(b"[" * 50_000) is None


def _bytes_held_feeding_one_long_line(size: int) -> int:
    """Bytes each ``feed`` of one ``size``-byte ``data:`` line (1 KiB chunks) allocates, summed.

    The old decoder re-copied its buffer on every chunk: each feed then allocated as
    much as everything fed so far (quadratic in the line). Appending a piece allocates
    a constant amount per chunk, and the one join at the end is linear.
    """
    chunk = b"x" * 1024
    decoder = SSEDecoder()
    events: list[SSEEvent] = []
    steps = [lambda: decoder.feed(b"data: ")]
    steps += [lambda: decoder.feed(chunk)] * (size // 1024)
    steps.append(lambda: events.extend(decoder.feed(b"\n\n")))
    total = allocated(steps)
    [event] = events
    assert len(event.data) == size
    return total


def test_decoder_is_linear_on_a_long_line() -> None:
    # 8x the bytes must allocate about 8x; the old decoder (quadratic) took 18.7 s for 16 MB.
    small = _bytes_held_feeding_one_long_line(256 * 1024)
    large = _bytes_held_feeding_one_long_line(2 * 1024 * 1024)
    assert large / small < 12, (small, large)


def test_decoder_is_linear_on_many_short_lines() -> None:
    # One big chunk of short \n-terminated lines: the old decoder searched the rest of the
    # chunk for a \r at every line (quadratic in the chunk size). Counted: the bytes the
    # chunk's searches read, and the calls the decoder makes.
    def decode(lines: int) -> tuple[int, int]:
        body = ScannedBytes(b"data: {}\n\n" * lines)
        ScannedBytes.scanned = 0
        events: list[SSEEvent] = []
        made = calls(lambda: events.extend(SSEDecoder().feed(body)))
        assert len(events) == lines
        return ScannedBytes.scanned, made

    small_scanned, small_calls = decode(20_000)
    large_scanned, large_calls = decode(160_000)
    assert large_scanned / small_scanned < 12, (small_scanned, large_scanned)
    assert large_calls / small_calls < 12, (small_calls, large_calls)


def test_decoder_handles_crlf_split_after_a_long_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: ab") == []
    assert decoder.feed(b"cd\r") == []
    assert decoder.feed(b"\ndata: e\r") == []
    assert decoder.feed(b"\n\r\n") == [SSEEvent(None, "abcd\ne")]


def test_an_empty_chunk_between_cr_and_lf_is_not_a_blank_line() -> None:
    raw = b"event: a\r\ndata: 1\r\ndata: 2\r\n\r\n"
    cut = raw.index(b"\r\n", 12) + 1  # between the \r and the \n after "data: 1"
    decoder = SSEDecoder()
    events = [*decoder.feed(raw[:cut]), *decoder.feed(b""), *decoder.feed(raw[cut:])]
    assert [*events, *decoder.flush()] == SSEDecoder().feed(raw)
    assert events == [SSEEvent("a", "1\n2")]


# ----------------------------------------------------------------- the byte path's reader


def _reference(raw: bytes, shape: Any) -> tuple[Usage | None, tuple[StreamIssue, ...], int]:
    """What the general path reads: every event decoded, its data parsed by ``json.loads``."""
    meter = UsageMeter(shape)
    for event in iter_sse([raw]):
        meter.feed_sse(event)
    return meter.finish(), meter.issues, meter.events


_COUNT_TEXT = st.sampled_from(
    ["7", "0", "-1", "1.0", "2e3", "NaN", "Infinity", "true", '"3"', "null", "9" * 19,
     "18446744073709551616", "123456789012345678901234", "9" * 400, "1E400", "-0", '"é"',
     '"\\ud800"']
)  # fmt: skip


@given(
    start=_COUNT_TEXT,
    output=_COUNT_TEXT,
    cache=_COUNT_TEXT,
    duplicate=st.booleans(),
    name=st.sampled_from(["message_delta", "", "ping"]),
)
def test_the_byte_path_reads_usage_as_json_loads_does(
    start: str, output: str, cache: str, duplicate: bool, name: str
) -> None:
    """The metered events of a raw stream are parsed from their bytes when those are ASCII,
    else the general way: the usage, the issues and the event count are the general path's,
    whatever the counts' JSON says."""
    usage = f'{{"input_tokens": {start}, "output_tokens": {output}'
    usage += f', "cache_read_input_tokens": {cache}}}'
    delta = f'{{"type": "message_delta", "usage": {usage}}}'
    if duplicate:  # the last of duplicate keys wins, in both readers
        delta = f'{{"usage": {{"output_tokens": 1}}, "type": "message_delta", "usage": {usage}}}'
    message = f'{{"type": "message", "usage": {usage}}}'
    frames = [
        f'event: message_start\ndata: {{"type": "message_start", "message": {message}}}\n\n',
        'event: ping\ndata: {"type": "ping"}\n\n',
        (f"event: {name}\n" if name else "") + f"data: {delta}\n\n",
        'event: message_stop\ndata: {"type": "message_stop"}\n\n',
    ]
    raw = "".join(frames).encode()
    for shape in (None, ANTHROPIC_SHAPE):  # message_start's counts ignored, then read
        meter = UsageMeter(shape)
        meter.feed_bytes(raw)
        assert (meter.finish(), meter.issues, meter.events) == _reference(raw, shape)


@pytest.mark.parametrize("text", [b"caf\xc3\xa9", b"\xed\xa0\x80 lone surrogate", b"\xff\xfe"])
def test_an_event_that_is_not_ascii_reads_as_the_general_path_reads_it(text: bytes) -> None:
    """Invalid UTF-8 is replaced as the line decoder replaces it, never read another way."""
    raw = b'event: error\ndata: {"type": "error", "error": {"message": "' + text + b'"}}\n\n'
    meter = UsageMeter()
    meter.feed_bytes(raw)
    assert (meter.finish(), meter.issues, meter.events) == _reference(raw, None)
    assert meter.issues[0].code == "FWU006"


def test_a_plain_stream_is_read_without_event_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    """The byte path parses each metered event once: no line decoder, no :class:`SSEEvent`,
    and one usage object for the one message_delta."""
    import fwcompat.usage as usage_module

    made: list[str] = []
    real_loads, real_usage = json.loads, usage_module.Usage

    def counting_loads(data: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(f"json.loads({type(data).__name__})")
        return real_loads(data, *args, **kwargs)

    def counting_usage(*args: Any, **kwargs: Any) -> Any:
        made.append("Usage")
        return real_usage(*args, **kwargs)

    class CountingEvent(SSEEvent):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append("SSEEvent")
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(usage_module.json, "loads", counting_loads)
    monkeypatch.setattr(usage_module, "Usage", counting_usage)
    monkeypatch.setattr(usage_module, "SSEEvent", CountingEvent)
    meter = UsageMeter("fireworks")
    meter.feed_bytes(to_sse(fireworks_events(3, 4)))
    assert meter.finish() == real_usage(3, 4)
    assert meter.issues == ()
    assert made == ["json.loads(str)"] * 2 + ["Usage", "json.loads(str)"]


class _Tokens(int):
    """An ``int`` subclass (such as an ``IntEnum``): a count, read by the general path."""


@given(
    st.dictionaries(
        st.sampled_from(["input_tokens", "output_tokens", "cache_read_input_tokens", "other"]),
        st.one_of(
            st.integers(min_value=-3, max_value=2**70), st.booleans(), st.floats(), st.none(),
            st.text(max_size=3), st.integers(min_value=0, max_value=9).map(_Tokens),
        ),
    )
)  # fmt: skip
def test_counts_of_a_parsed_dict_are_the_general_paths(usage: dict[str, Any]) -> None:
    """The counts of a plain dict (parsed JSON, read without the generic getters) are the
    ones the general path reads from any mapping: non-negative integers, no booleans."""
    from types import MappingProxyType

    from fwcompat.usage import _counts

    assert _counts(usage) == _counts(MappingProxyType(usage))
    assert all(type(v) is not bool and v >= 0 for v in _counts(usage).values())
