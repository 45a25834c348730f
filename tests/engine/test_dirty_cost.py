"""What a request that needs fixes costs, counted (never timed): Python calls per check,
plain paths read once and remembered per value, the one pass worked out once per shape.

Each shortcut must give exactly what the general loop gives (tests/engine/test_onepass.py
checks that on generated bodies); here the counts show the shortcut is taken.
"""

from __future__ import annotations

import dataclasses
import random
import sys
from pathlib import Path
from typing import Any

import fwcompat
from fwcompat._check import _plan_for
from fwcompat._diagnostics import Diagnostic, Severity
from fwcompat.engine import _onepass
from fwcompat.engine._findings import document_order
from fwcompat.engine._interpreter import Plan, run_plan
from fwcompat.engine._steps import _diagnostic
from tests.cost import calls, calls_where, spied

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from requests import agent_turns, dirty


def _general(plan: Plan) -> Plan:
    """The same plan, with the one-pass run turned off and fresh memos."""
    body = dataclasses.replace(plan.scopes["body"], once=False, memo={}, plain_memo={})
    return dataclasses.replace(plan, scopes={**plan.scopes, "body": body}, memo={})


def _run(plan: Plan, body: Any) -> Any:
    return run_plan(plan, body=body, headers=None, base_url=None, path=None)


def _called_from(caller: str, work: Any) -> int:
    """How many Python functions ``caller`` (a function name) calls during ``work()``."""
    return calls_where(
        work,
        lambda frame, event, arg: (
            event == "call" and frame.f_back is not None and frame.f_back.f_code.co_name == caller
        ),
    )


def test_a_dirty_request_at_20_messages_makes_few_python_calls() -> None:
    """7 fixes at 20 messages: 753 calls before the plain paths, the one pass's plan, the
    removals and the touched message were made lean, 406 after; 204 once the note that
    names only its place is not previewed, the document order reads only the top-level
    members, the document's members are removed together and each rule's places are
    gathered directly. A freshly built body costs the same."""
    body = dirty(agent_turns(20))
    fwcompat.check(body)
    fresh = dirty(agent_turns(20))
    assert fwcompat.check(fresh) == fwcompat.check(body)
    assert calls(lambda: fwcompat.check(body)) <= 215
    assert (
        calls(lambda: fwcompat.check(dirty(agent_turns(20))))
        - calls(lambda: dirty(agent_turns(20)))
        <= 230
    )


def _full_position(original: Any, segments: tuple[Any, ...]) -> tuple[int, ...]:
    """Where a place sits in the original document, segment by segment (the reference)."""
    end = 1 << 62
    node, out = original, []
    for seg in segments:
        if isinstance(node, dict) and seg in node:
            out.append(list(node).index(seg))
            node = node[seg]
        elif isinstance(node, list) and isinstance(seg, int) and seg < len(node):
            out.append(seg)
            node = node[seg]
        else:
            out.append(end)
            node = None
    return tuple(out)


def test_document_order_is_the_order_of_the_full_places() -> None:
    """Findings under different top-level members are ordered by those members alone; the
    order is still that of the full places (stable), whatever the findings share."""
    rng = random.Random(17)
    names = ["a", "b", "c", "d", "gone"]
    for _ in range(400):
        keys = rng.sample(names[:4], 4)
        doc: dict[str, Any] = {k: {"x": [1, {"y": 2, "z": 3}], "w": 0} for k in keys}
        places: list[tuple[Any, ...]] = []
        for _ in range(rng.randint(0, 7)):
            first = rng.choice(names)
            tail = rng.choice([(), ("w",), ("x",), ("x", 1, "z"), ("x", 1, "y"), ("x", 0), ("q",)])
            places.append(() if rng.random() < 0.05 else (first, *tail))
        found = [
            (p, Diagnostic(str(i), "r", Severity.WARNING, "body", "", "noted", "", ""))
            for i, p in enumerate(places)
        ]
        expected = [d for _, d in sorted(found, key=lambda f: _full_position(doc, f[0]))]
        assert document_order(doc, found) == expected


def test_a_diagnostic_naming_only_its_place_is_the_same_for_every_value() -> None:
    """A rule whose words name only its place (FW409: {key}) is remembered by place alone:
    its diagnostic is the same whatever the value, and the value is not previewed."""
    plan = _plan_for(None)
    steps = plan.scopes["body"].steps
    blind = [s for s in steps if s.blind]
    assert any(s.compiled.rule.code == "FW409" for s in blind)
    assert not any("{value}" in s.compiled.rule.message for s in blind)
    values = ["x", 1, 1.5, -0.0, None, [1, 2], {"edits": []}, {"a": [{"b": "c" * 500}]}]
    for step in blind:
        for place in (("context_management",), ("messages", 0, "extra")):
            built = {_diagnostic(step, place, v, None) for v in values}
            assert len(built) == 1  # the same words, whatever the value
    body = dirty(agent_turns(20))
    _run(plan, body)
    other = {**body, "context_management": {"edits": [{"type": "x" * 100}]}}
    assert _named_calls("short", lambda: _run(plan, other)) == 0  # nothing previewed
    assert _named_calls("short", lambda: _run(plan, {**other, "context_management": [1]})) == 0
    assert _run(plan, other) == _run(_general(plan), other)


def _named_calls(name: str, work: Any) -> int:
    """How many times a Python function called ``name`` runs during ``work()``."""
    return calls_where(
        work, lambda frame, event, arg: event == "call" and frame.f_code.co_name == name
    )


def test_plain_path_rules_are_asked_once_per_value() -> None:
    """The rules on a plain path (model, service_tier, ...) are asked of a scalar value once;
    the next request with the same values asks none of them, and a new value is asked."""
    plan = _plan_for(None)
    scope = plan.scopes["body"]
    assert len(scope.plain_paths) < len(scope.plain)  # rules sharing a path: read once
    body = dirty(agent_turns(20))
    _run(plan, body)
    assert _called_from("_plain_firing", lambda: _run(plan, dirty(agent_turns(20)))) == 0
    other = {**body, "model": "accounts/fireworks/models/not-a-known-model-x"}
    asked = _called_from("_plain_firing", lambda: _run(plan, other))
    assert 0 < asked <= len(scope.plain)  # each plain rule asked at most once
    assert _run(plan, other) == _run(_general(plan), other)
    assert _called_from("_plain_firing", lambda: _run(plan, other)) == 0


def test_true_and_one_are_remembered_apart() -> None:
    """A remembered answer is keyed on the value's type too: 1 == True in Python. Values
    that are not scalars (an object, a float) are asked path by path, never remembered."""
    plan = _plan_for(None)
    body = dirty(agent_turns(2))
    values = (1, True, 1.0, "1", None, 0, False, 0.0, -0.0, {"a": 1}, [1], "")
    for value in values:
        for changed in (
            {**body, "speed": value, "service_tier": value},
            {**body, "model": value},
            {**body, "thinking": value},
            {**body, "thinking": {"type": value}},
        ):
            assert _run(plan, changed) == _run(_general(plan), changed)


def test_the_one_pass_is_worked_out_once_per_shape_of_matches() -> None:
    """The places each rule keeps, the edits and the places to ask again depend only on
    which rules matched where: a second body of the same shape reuses them."""
    plan = _plan_for(None)
    with spied(_onepass, "_first_matches") as seen:
        plan.scopes["body"].memo.clear()
        first = _run(plan, dirty(agent_turns(20)))
        again = _run(plan, dirty(agent_turns(20)))
        other = _run(plan, dirty(agent_turns(22)))  # the caller sits in the same message
        moved = dirty(agent_turns(20))
        del moved["speed"]
        fewer = _run(plan, moved)
    assert first == again and len(seen) == 2  # the same shape at 20 and 22 messages
    assert [d.path for d in other.diagnostics] == [d.path for d in first.diagnostics]
    assert len(fewer.diagnostics) == len(first.diagnostics) - 1
    assert fewer == _run(_general(plan), moved)


def test_a_large_shape_is_not_remembered() -> None:
    """Only a shape of at most 64 places is kept: memory stays bounded by the memo's size
    whatever the body."""
    plan = _plan_for(None)
    block = {"type": "text", "text": "x", "caller": {"type": "direct"}}
    messages = [{"role": "user", "content": [block]} for _ in range(100)]
    body = {"model": "accounts/fireworks/models/kimi-k2p5", "max_tokens": 5, "messages": messages}
    memo = plan.scopes["body"].memo
    memo.clear()
    result = _run(plan, body)
    assert len(result.diagnostics) == 100
    assert not any(isinstance(k, tuple) and k[:1] == ("planned",) for k in memo)
    assert result == _run(_general(plan), body)


def test_a_message_clean_after_the_edit_is_asked_once_natively() -> None:
    """The touched message passes the split gate after the `caller` removal: the rules
    on its touched block are not asked one by one in Python. With something left to
    report in that block, they are, and both give what the general loop gives."""
    plan = _plan_for(None)
    body = dirty(agent_turns(20))
    _run(plan, body)
    clean_after = _called_from("_asked_again", lambda: _run(plan, body))
    messages = list(body["messages"])
    blocks = [{**b, "unknown_member": 1} if "caller" in b else b for b in messages[1]["content"]]
    messages[1] = {**messages[1], "content": blocks}
    still = {**body, "messages": messages}
    _run(plan, still)
    asked = _called_from("_asked_again", lambda: _run(plan, still))
    assert clean_after < asked
    assert clean_after <= 3  # the document's own touched member only
    for each in (body, still):
        assert _run(plan, each) == _run(_general(plan), each)
