"""The request reading the SDK client and the middleware share (fwcompat._http)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fwcompat._http import BodyError, api_path, decode_body, normalize_path
from fwcompat.asgi import CompatMiddleware

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=30,
)


@st.composite
def spellings(draw: st.DrawFn, segments: tuple[str, ...]) -> str:
    """One way to write ``/segments...`` that a lenient router reads as the same path."""
    out = []
    for segment in segments:
        out.append("/" * draw(st.integers(1, 3)))
        if draw(st.booleans()):
            out.append("./")
        if draw(st.booleans()):
            out.append("junk/../")
        out.append("".join(c.upper() if draw(st.booleans()) else c for c in segment))
    out.append(draw(st.sampled_from(["", "/", "//", "/."])))
    return "".join(out)


@given(spellings(("v1", "messages")))
def test_every_spelling_of_the_endpoint_normalizes_to_it(path: str) -> None:
    assert normalize_path(path) == "/v1/messages"
    assert api_path(path) == ("", "/v1/messages")
    assert api_path("/Inference" + path) == ("/Inference", "/v1/messages")


@given(st.text(alphabet="/.aAvV1ms_", max_size=30))
def test_the_sdk_client_and_the_middleware_see_the_same_endpoint(path: str) -> None:
    # The SDK client checks a body when api_path() names /v1/messages; the middleware when
    # its own matching says so. They must agree on every path.
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not called")

    middleware = CompatMiddleware(app)
    scope = {"type": "http", "method": "POST", "path": "/" + path, "headers": []}
    sdk = api_path("/" + path)
    sdk_checks_body = sdk is not None and sdk == ("", "/v1/messages")
    mine = middleware._api_path(scope)
    assert (mine == "/v1/messages") == sdk_checks_body
    if mine is not None and sdk is not None and sdk[0] == "":
        assert mine == sdk[1]


@given(st.dictionaries(st.text(), JSON))
def test_strict_decoding_agrees_with_json_loads_on_plain_objects(body: dict[str, Any]) -> None:
    raw = json.dumps(body, ensure_ascii=False).encode()
    assert decode_body(raw) == json.loads(raw)


@given(st.dictionaries(st.text(), JSON, min_size=1), st.data())
def test_a_duplicate_key_anywhere_is_refused(body: dict[str, Any], data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(body)))
    text = json.dumps(body)
    duplicate = json.dumps({key: None})[1:-1]
    raw = ("{" + duplicate + ", " + text[1:]).encode()
    assert json.loads(raw) == body  # json.loads keeps the last one silently
    with pytest.raises(BodyError, match="duplicate key"):
        decode_body(raw)


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (json.dumps({"a": "é"}).encode("utf-16"), "UTF-16 or UTF-32"),
        (json.dumps({"a": 1}).encode("utf-32-be"), "UTF-16 or UTF-32"),
        (b'{"a": "\xe9"}', "not valid UTF-8 (byte 7)"),
        (b"\xef\xbb\xbf{}", "BOM"),
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"a": ' + b"1" * 5000 + b"}", "not valid JSON"),
        (b"[]", "got an array"),
        (b"", "not valid JSON"),
    ],
)
def test_strict_decoding_refuses_with_a_reason(raw: bytes, needle: str) -> None:
    with pytest.raises(BodyError) as info:
        decode_body(raw)
    assert needle in info.value.message


def test_finite_numbers_and_escapes_are_kept() -> None:
    body = decode_body(b'{"a": 1e308, "b": -0.0, "c": "\\ud83d\\ude00", "d": "\\u0000"}')
    assert body == {"a": 1e308, "b": -0.0, "c": "\U0001f600", "d": "\x00"}
    assert not math.isinf(body["a"])
