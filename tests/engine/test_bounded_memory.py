"""Memory bounded by the input: bad bodies are reported without a blow-up.

A union of content blocks written as ``oneOf`` made jsonschema-rs hold one error per
branch for every bad block (159 MB for a 0.18 MB body). The reporter now checks each
value against the one branch its ``type`` names (:mod:`fwcompat.engine._unions`), and
caps how many problems it explains. Counted with tracemalloc, never with a clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fwcompat
from fwcompat.engine._schema import MAX_ERRORS, CompiledSchema
from fwcompat.engine._unions import keyed_unions
from tests.api.test_totality import SCHEMA
from tests.cost import allocated

MODEL = "accounts/fireworks/models/kimi-k2p5"
MB = 1_000_000


def _blocks(block: Callable[[int], Any], n: int) -> dict[str, Any]:
    return {
        "model": MODEL,
        "max_tokens": 10,
        "messages": [{"role": "user", "content": [block(i) for i in range(n)]}],
    }


BAD_BODIES: dict[str, Callable[[int], Any]] = {
    "a type that is not a string": lambda i: {"type": 123, "text": "x" * 60},
    "no type": lambda i: {"text": "x" * 60},
    "a known type, a bad member": lambda i: {"type": "text", "text": i},
    "a known type, a missing member": lambda i: {"type": "image", "text": "x" * 60},
    "not an object": lambda i: ["x" * 60],
    "an unknown type": lambda i: {"type": "hologram", "text": "x" * 60},
}


def _peak(body: Any) -> int:
    fwcompat.check({"model": MODEL, "max_tokens": 1, "messages": []})  # the plan is loaded
    return allocated([lambda: fwcompat.check(body)])


@pytest.mark.parametrize("kind", list(BAD_BODIES))
def test_a_bad_typed_body_of_2000_blocks_stays_under_10_mb(kind: str) -> None:
    body = _blocks(BAD_BODIES[kind], 2000)
    assert len(json.dumps(body)) < 250_000
    result = fwcompat.check(body)
    assert len(result.diagnostics) == 2000  # one finding per block, none dropped
    assert _peak(body) < 10 * MB


@pytest.mark.parametrize("kind", ["no type", "a type that is not a string", "not an object"])
def test_peak_memory_stays_within_20x_the_body_plus_50_mb(kind: str) -> None:
    body = _blocks(BAD_BODIES[kind], 20_000)
    assert _peak(body) < 20 * len(json.dumps(body)) + 50 * MB


def test_problems_past_the_cap_are_counted_in_one_last_diagnostic() -> None:
    body = _blocks(lambda i: {}, MAX_ERRORS + 50)
    result = fwcompat.check(body)
    assert len(result.diagnostics) == MAX_ERRORS + 1
    last = result.diagnostics[0]  # at the root, so first in document order
    assert (last.path, last.code) == ("", "FW001")
    assert f"more than {MAX_ERRORS:,} problems" in last.message
    assert not result.ok


def test_unknown_and_missing_types_of_a_closed_union_are_named() -> None:
    compiled = CompiledSchema(SCHEMA)
    source = {"type": "image", "source": {"type": "zip"}}
    bad = {"model": "m", "messages": [{"role": "user", "content": [source, {"type": "image"}]}]}
    got = [(e.path, e.message) for e in compiled.iter_errors(bad)]
    assert got == [
        (
            ("messages", 0, "content", 0, "source", "type"),
            '"zip" is not a known image source type (expected one of base64, url, file)',
        ),
        (("messages", 0, "content", 1, "source"), "missing required field 'source'"),
    ]


_BLOCK = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            ["text", "image", "document", "thinking", "tool_use", "tool_result", "zz", 5]
        ),
        "text": st.sampled_from(["t", 1]),
        "source": st.sampled_from([{"type": "url", "url": "u"}, {"type": "zip"}, {}, 1]),
        "thinking": st.just("t"),
        "signature": st.just("s"),
        "id": st.just("i"),
        "name": st.just("n"),
        "input": st.just({}),
        "tool_use_id": st.just("t"),
        "content": st.sampled_from(["c", [{"type": "text", "text": "t"}], [{"type": 1}], 3]),
    },
)


@settings(max_examples=300, deadline=None)
@given(
    content=st.one_of(st.lists(st.one_of(_BLOCK, st.integers())), st.text(), st.integers()),
    system=st.one_of(st.none(), st.text(), st.integers(), st.lists(_BLOCK, max_size=2)),
)
def test_keyed_unions_accept_exactly_what_the_schema_accepts(content: Any, system: Any) -> None:
    """The rewritten schema reporters use holds on exactly the same documents."""
    body: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": content}]}
    if system is not None:
        body["system"] = system
    expected = jsonschema.Draft202012Validator(SCHEMA).is_valid(body)
    assert jsonschema.Draft202012Validator(keyed_unions(SCHEMA)).is_valid(body) == expected
    assert (not list(CompiledSchema(SCHEMA).iter_errors(body))) == expected


def test_200000_empty_blocks_stay_within_20x_the_body_plus_50_mb() -> None:
    """jsonschema-rs builds every error before handing out the first (425 MB here): a
    large body is asked piece by piece, and reading stops at the cap."""
    body = _blocks(lambda i: {}, 200_000)
    size = len(json.dumps(body))
    assert _peak(body) < 20 * size + 50 * MB
    result = fwcompat.check(body)
    assert len(result.diagnostics) == MAX_ERRORS + 1
    assert [d.path for d in result.diagnostics[1:4]] == [
        f"/messages/0/content/{i}/type" for i in range(3)
    ]


def _explained(compiled: CompiledSchema, body: Any) -> list[tuple[Any, str, str]]:
    return sorted((e.path, e.message, e.keyword) for e in compiled.iter_errors(body))


def test_a_large_body_is_explained_in_pieces_as_it_is_whole() -> None:
    """Every kind of bad block, in a body past the size asked whole: the same problems."""
    from fwcompat.engine._pieces import LARGE

    kinds = list(BAD_BODIES.values())
    content = [kinds[i % len(kinds)](i) for i in range(3000)]
    body: dict[str, Any] = {
        "model": 5,
        "extra": True,
        "system": [{"type": "text"}, {"type": 1}],
        "messages": [
            {"role": "user", "content": content},
            {"role": "robot", "content": [{"type": "text", "text": "x" * 10}] * 9000},
            {"role": "user", "content": [{"type": "text", "text": "ok"}], "more": 1},
            "not a message",
        ],
        "tools": [{"name": "t", "input_schema": {"type": "object"}}, {"name": 3}] * 40,
    }
    pieces = CompiledSchema(SCHEMA)
    whole = CompiledSchema(SCHEMA)
    whole._pieces.usable = False
    assert pieces._pieces.usable
    assert len(json.dumps(body)) > LARGE
    assert _explained(pieces, body) == _explained(whole, body)
    assert len(_explained(whole, body)) > 2000
    assert len(pieces._pieces._validators) > 3  # it was asked in pieces


def _retained_after(requests: int, build: Callable[[int], dict[str, Any]]) -> int:
    """Bytes still allocated once ``requests`` distinct requests have been checked and
    dropped: what the engine's memos keep alive (tracemalloc, after a warm-up)."""
    import gc
    import tracemalloc

    for i in range(3):
        fwcompat.check(**build(-1 - i))
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(requests):
            fwcompat.check(**build(i))
        gc.collect()
        return int(tracemalloc.get_traced_memory()[0] - before)
    finally:
        tracemalloc.stop()


def _large_values(i: int) -> dict[str, Any]:
    """A request whose values are large and new each time, at places the memos key on: a
    removed member (container), an unknown member's name, a model, a header, a URL."""
    big = f"{i:08d}" + "x" * 64_000
    return {
        "body": {
            "model": MODEL + big,
            "max_tokens": 10,
            "container": big,
            "service_tier": big,
            big: 1,
            "messages": [{"role": "user", "content": "hi"}],
        },
        "headers": {"x-api-key": big, "anthropic-version": "2023-06-01"},
        "base_url": "https://api.fireworks.ai/inference",
        "path": "/v1/messages?" + big,
    }


def test_memos_keep_no_large_value_alive() -> None:
    """300 requests of 5 x 64 kB new values each (96 MB in all): the memos keep none of them
    (each keeps only short values), so what stays allocated is far below one request's."""
    retained = _retained_after(300, _large_values)
    assert retained < 1 * MB, retained
