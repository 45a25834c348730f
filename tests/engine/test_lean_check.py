"""The lean paths of check(): a clean body alone, and URL/header findings remembered.

Each path must give exactly what the full run gives; the counts show that it is taken.
Counted with ``sys.setprofile`` (tests/cost.py), never with a clock.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import fwcompat
from fwcompat._diagnostics import Result, make_result
from fwcompat.engine._interpreter import run_plan
from tests.cost import calls

MODEL = "accounts/fireworks/models/kimi-k2p5"
BODY: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 64,
    "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
}
HEADERS = {
    "content-type": "application/json",
    "x-api-key": "sk-test",
    "anthropic-version": "2023-06-01",
}
URL = {"base_url": "https://api.fireworks.ai/inference", "path": "/v1/messages"}


def test_make_result_is_the_same_result() -> None:
    fast = make_result({"a": 1}, {"h": "v"}, (), "pack", "rev")
    slow = Result(request={"a": 1}, headers={"h": "v"}, diagnostics=(), pack="pack", revision="rev")
    assert fast == slow and repr(fast) == repr(slow) and type(fast) is Result
    assert dataclasses.replace(fast, pack="other").pack == "other"
    try:
        fast.pack = "x"  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("a Result must stay frozen")


def test_a_clean_body_alone_is_one_native_call() -> None:
    fwcompat.check(BODY)
    result = fwcompat.check(BODY)
    assert result.request is BODY and result.diagnostics == () and result.ok
    assert result.headers == {} and result.pack and result.revision
    assert calls(lambda: fwcompat.check(BODY)) <= 12


def test_url_and_header_findings_are_remembered_and_equal() -> None:
    first = fwcompat.check(BODY, headers=HEADERS, **URL)
    assert [d.code for d in first.diagnostics] == ["FW201"]
    again = fwcompat.check(BODY, headers=HEADERS, **URL)
    assert again == first
    again.headers["x-extra"] = "mutated"  # type: ignore[index]
    assert "x-extra" not in fwcompat.check(BODY, headers=HEADERS, **URL).headers
    cold = calls(lambda: fwcompat.check(BODY, headers={**HEADERS, "x-new": "1"}, **URL))
    warm = calls(lambda: fwcompat.check(BODY, headers=HEADERS, **URL))
    assert warm * 2 < cold


def test_remembered_findings_follow_the_document_not_the_first_answer() -> None:
    plain = fwcompat.check(BODY, headers={"anthropic-version": "2023-06-01"})
    other = fwcompat.check(BODY, headers={"anthropic-version": "2024-01-01"})
    assert '"2023-06-01"' in plain.diagnostics[0].message
    assert '"2024-01-01"' in other.diagnostics[0].message
    bad_url = fwcompat.check(BODY, base_url="https://api.fireworks.ai/inference/v1")
    good_url = fwcompat.check(BODY, **URL)
    assert bad_url.diagnostics and not good_url.diagnostics


def test_headers_that_are_not_strings_are_checked_every_time() -> None:
    from fwcompat._check import _plan_for

    plan = _plan_for(None)
    odd: Any = {"anthropic-version": 2023}
    once = run_plan(plan, body=BODY, headers=odd, base_url=None, path=None)
    twice = run_plan(plan, body=BODY, headers=odd, base_url=None, path=None)
    assert once == twice
    assert not any("2023" in repr(key) and key[0] == "headers" for key in plan.memo)


def test_credentials_in_headers_are_not_kept() -> None:
    from fwcompat._check import _plan_for

    plan = _plan_for(None)
    secret = "sk-do-not-keep-0123456789"
    fwcompat.check(BODY, headers={**HEADERS, "x-api-key": secret})
    assert plan.memo  # remembered...
    assert secret not in repr(plan.memo)  # ...by a digest, without the headers themselves
