"""The fast paths of the request path read exactly what the general ones read.

- the body decoder: orjson behind a guard, against the strict standard-library reader, on
  any JSON text (duplicate keys, escaped colons, numbers of every size, odd spacing);
- the body encoder: orjson's JSON, when it writes one, reads back as the standard library's
  (the same value, with the same types), on any document, ``NaN`` and infinities included;
- the stream meter: a plain ``event:``/``data:`` pair read without the line decoder, against
  the general decoder, on any event it may carry usage in.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import fwcompat._http as http
from fwcompat.usage import SSEDecoder, UsageMeter
from tests.adapters.test_usage import fireworks_events, to_sse

NUMBERS = (
    st.integers()
    | st.integers(min_value=2**63 - 3, max_value=2**64 + 3)
    | st.integers(min_value=-(2**64) - 3, max_value=-(2**63) + 3)
    | st.floats(allow_nan=False, allow_infinity=False)
)
SCALARS = st.none() | st.booleans() | NUMBERS | st.text() | st.sampled_from(["a:b", "\\u003a"])
KEYS = st.text(max_size=3) | st.sampled_from(["a", "b", "a:", ":"])
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=20,
)


def _outcome(decode: Any, raw: bytes) -> Any:
    try:
        return ("ok", decode(raw))
    except http.BodyError as exc:
        return ("error", exc.message)


def _same(a: Any, b: Any) -> bool:
    """Equal documents, with the same types (an integer is not a float)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@given(
    st.dictionaries(
        KEYS, JSON | st.floats() | st.lists(st.floats(), max_size=3) | st.text(), max_size=5
    )
)
def test_the_fast_encoder_writes_what_the_standard_library_writes(document: dict[str, Any]) -> None:
    standard = json.dumps(document, separators=(",", ":"), check_circular=False)
    fast = http._fast_encode(document)
    if fast is None:  # the standard library writes it: nothing to compare
        return
    assert _same(json.loads(fast), json.loads(standard))  # NaN never reaches here: NaN != NaN
    assert _same(json.loads(fast), document)


def test_the_fast_encoder_hands_over_what_orjson_would_write_differently() -> None:
    for document in (
        {"a": float("nan")},
        {"a": [1, float("inf")]},
        {"a": -float("inf")},
        {"n": 2**64},
        {"n": -(2**63) - 1},
        {"s": "\ud800"},
        {1: "key"},
        {"a": None},  # the spelling of NaN too: the guard cannot tell them apart
    ):
        assert http._fast_encode(document) is None, document
    assert http._fast_encode({"a": "é", "b": [0.1, 2**64 - 1, True]}) == (
        '{"a":"é","b":[0.1,18446744073709551615,true]}'.encode()
    )


@st.composite
def texts(draw: st.DrawFn) -> bytes:
    """JSON object texts, some with a member repeated, some spelled with escapes or spaces."""
    body = draw(st.dictionaries(KEYS, JSON, max_size=5))
    text = json.dumps(
        body, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 1]))
    )
    if body and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(body)))
        text = "{" + json.dumps({key: draw(JSON)})[1:-1] + ", " + text[1:]
    return text.encode()


@given(texts())
def test_the_fast_decoder_reads_every_text_as_the_strict_one(raw: bytes) -> None:
    fast = _outcome(http.decode_body, raw)
    strict = _outcome(http._strict_decode, raw)
    if strict[0] == "ok" and not isinstance(strict[1], dict):
        strict = ("error", "not an object")
        fast = ("error", "not an object") if fast[0] == "error" else fast
    assert fast[0] == strict[0]
    if fast[0] == "ok":
        assert _same(fast[1], strict[1])
    else:
        assert fast[1] == strict[1]


@given(st.text(max_size=40), st.sampled_from(["event: x\n", "", "event:message_delta\n"]))
def test_a_plain_event_reads_as_the_line_decoder_reads_it(text: str, head: str) -> None:
    data = json.dumps({"type": "message_delta", "note": text, "usage": {"output_tokens": 3}})
    raw = f"{head}data: {data}\n\n".encode()
    direct = UsageMeter()
    direct.feed_bytes(raw)
    general = UsageMeter()
    for event in SSEDecoder().feed(raw):
        general.feed_sse(event)
    assert (direct.events, direct.usage, direct.issues) == (
        general.events,
        general.usage,
        general.issues,
    )


def test_the_metered_events_of_a_plain_stream_skip_the_line_decoder(monkeypatch: Any) -> None:
    fed: list[bytes] = []
    real = SSEDecoder.feed
    monkeypatch.setattr(
        SSEDecoder, "feed", lambda self, chunk: fed.append(chunk) or real(self, chunk)
    )
    meter = UsageMeter()
    for event in (body := to_sse(fireworks_events(40, 200))).split(b"\n\n")[:-1]:
        meter.feed_bytes(event + b"\n\n")
    assert meter.finish() is not None
    assert meter.ok
    assert fed == []  # message_start, message_delta, message_stop: read directly
    assert meter.events == body.count(b"\n\n")


COUNT = st.integers(min_value=-5, max_value=2**70) | st.floats(allow_nan=False) | st.none()


@given(
    st.dictionaries(
        st.sampled_from(["input_tokens", "output_tokens", "cache_read_input_tokens", "x"]), COUNT
    ),
    st.sampled_from([b"", b"\xef\xbb\xbf"]),
)
def test_a_response_usage_reads_as_json_loads_reads_it(usage: dict[str, Any], bom: bytes) -> None:
    from fwcompat.usage import usage_from_response

    raw = bom + json.dumps({"type": "message", "usage": usage}).encode()
    assert usage_from_response(raw) == usage_from_response(json.loads(raw))


def test_usage_is_read_from_parsed_json_without_an_abstract_class_check() -> None:
    """A parsed response or event is a plain dict: read without ``Mapping``'s ABC machinery
    (which the SDK's objects and other mappings still get)."""
    import sys
    from types import FrameType
    from types import MappingProxyType as Proxy

    from fwcompat.usage import Usage, usage_from_response, usage_shape

    shape = usage_shape(None)
    raw = json.dumps({"type": "message", "usage": {"input_tokens": 5, "output_tokens": 6}})
    checks: list[str] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_name == "__instancecheck__":
            checks.append(frame.f_code.co_filename)

    usage_from_response(raw.encode(), shape)
    sys.setprofile(profile)
    try:
        assert usage_from_response(raw.encode(), shape) == Usage(5, 6)
    finally:
        sys.setprofile(None)
    assert checks == []
    other = Proxy({"usage": Proxy({"input_tokens": 1, "output_tokens": 2})})
    assert usage_from_response(other, shape) == Usage(1, 2)  # any mapping still reads
