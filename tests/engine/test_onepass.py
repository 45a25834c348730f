"""The one-pass run of a dirty body gives exactly what the general loop gives.

The general loop asks every later rule again after each edit; the one-pass run applies
every first match at once and asks again only at the places an edit touched, leaving
the rest to the general loop (see :mod:`fwcompat.engine._onepass`). Counted, never timed.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import fwcompat
from fwcompat._check import _plan_for
from fwcompat.engine import _interpreter
from fwcompat.engine._interpreter import Plan, make_plan, run_plan
from tests.cost import calls_where, spied
from tests.strategies import ANY_BODY

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from requests import agent_turns, dirty

MODEL = "accounts/fireworks/models/kimi-k2p5"
CONFIGS = [None, {"unsafe_fixes": True}, {"severity": {"FW401": "error"}}, {"pack": "fireworks-r4"}]


def _general(plan: Plan) -> Plan:
    """The same plan, with the one-pass run turned off."""
    body = dataclasses.replace(plan.scopes["body"], once=False)
    return dataclasses.replace(plan, scopes={**plan.scopes, "body": body}, memo={})


def _both(plan: Plan, body: Any) -> tuple[Any, Any]:
    fast = run_plan(plan, body=body, headers=None, base_url=None, path=None)
    slow = run_plan(_general(plan), body=body, headers=None, base_url=None, path=None)
    return fast, slow


@pytest.mark.parametrize("config", CONFIGS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=ANY_BODY)
def test_the_one_pass_run_agrees_with_the_general_loop(config: Any, body: Any) -> None:
    plan = _plan_for(fwcompat.Config.from_dict(config) if config else None)
    assert plan.scopes["body"].once
    fast, slow = _both(plan, body)
    assert fast == slow


def test_the_one_pass_run_agrees_on_the_benchmark_and_the_rule_examples() -> None:
    plan = _plan_for(None)
    bodies = [dirty(agent_turns(n)) for n in (2, 20, 21)]
    for compiled in plan.pack.rules:
        bodies += [example["body"] for example in compiled.rule.examples if "body" in example]
    for body in bodies:
        fast, slow = _both(plan, body)
        assert fast == slow


def _native_calls(work: Any) -> tuple[int, int]:
    """(jsonschema-rs calls, rules asked again by the general loop) made by ``work()``."""
    with spied(_interpreter, "_matched_again") as asked:
        native = calls_where(
            work,
            lambda frame, event, arg: (
                event == "c_call" and getattr(arg, "__name__", "") in ("is_valid", "iter_errors")
            ),
        )
    return native, len(asked)


@pytest.mark.parametrize("n", [2, 20, 60])
def test_a_dirty_request_asks_jsonschema_rs_once_per_message_plus_a_few(n: int) -> None:
    body = dirty(agent_turns(n))
    result = fwcompat.check(body)
    assert len(result.diagnostics) == 7
    native, asked_again = _native_calls(lambda: fwcompat.check(body))
    messages = len(body["messages"])
    # the gate, the request without messages (rules, then schema), one per message, and
    # the touched message again: however many rules the pack has (39 here)
    assert native <= messages + 6
    assert asked_again == 0  # no rule was matched again in Python


RULES = """
rules:
  - code: XX901
    name: top-k-one
    title: top_k 1 becomes 2
    doc: "Our gateway runs top_k 1 as 2."
    path: /top_k
    when: {equals: 1}
    severity: warning
    action: replace
    replace: {value: 2}
    message: "top_k 1 runs as 2."
    examples:
      - name: top_k 1
        body: {model: accounts/fireworks/models/kimi-k2p5, messages: [], top_k: 1}
        expect: [{code: XX901, path: /top_k}, {code: XX902, path: /top_k}]
      - name: top_k 5
        body: {model: accounts/fireworks/models/kimi-k2p5, messages: [], top_k: 5}
        expect: []
  - code: XX902
    name: top-k-two
    title: top_k 2 is ACTION
    doc: "Our gateway says so of top_k 2."
    basis: BASIS
    path: /top_k
    when: {equals: 2}
    severity: info
    action: ACTION
    message: "top_k 2 ACTIONd."
    examples:
      - name: top_k 2
        body: {model: accounts/fireworks/models/kimi-k2p5, messages: [], top_k: 2}
        expect: [{code: XX902, path: /top_k}]
      - name: top_k 5
        body: {model: accounts/fireworks/models/kimi-k2p5, messages: [], top_k: 5}
        expect: []
"""


def _without_schema_rules(rule_file: Path) -> Plan:
    """The pack plus ``rule_file``, without its schema rule: the extra rules then run
    in the one-pass scope (a schema rule before an edit sends a body to the loop)."""
    config = fwcompat.Config.from_dict({"rule_files": [str(rule_file)]})
    plan = _plan_for(config)
    pack = dataclasses.replace(
        plan.pack, rules=tuple(r for r in plan.pack.rules if r.schema is None)
    )
    return make_plan(pack, config)


@pytest.mark.parametrize(
    ("action", "basis", "loop"), [("note", "inferred", 0), ("remove", "documented", 1)]
)
def test_an_edit_that_makes_a_later_rule_fire(
    tmp_path: Path, action: str, basis: str, loop: int
) -> None:
    """XX901 turns top_k 1 into 2, on which XX902 fires. A note is asked again at the
    touched place in the one pass; an edit sends the body to the general loop, which
    asks the rule again after XX901's edit."""
    rule_file = tmp_path / "pair.yaml"
    rule_file.write_text(RULES.replace("ACTION", action).replace("BASIS", basis))
    plan = _without_schema_rules(rule_file)
    assert plan.scopes["body"].once
    body = {"model": MODEL, "max_tokens": 5, "top_k": 1, "messages": []}
    fast, slow = _both(plan, body)
    assert fast == slow
    assert [(d.code, d.path) for d in fast.diagnostics] == [
        ("XX901", "/top_k"),
        ("XX902", "/top_k"),
    ]
    assert ("top_k" in fast.request) == (action == "note")
    _, asked_again = _native_calls(
        lambda: run_plan(plan, body=body, headers=None, base_url=None, path=None)
    )
    assert asked_again == loop


def test_many_edits_cost_linear_work() -> None:
    """Each edit's overlap with the others is looked up by place, not compared pairwise."""
    from tests.cost import growth

    def work(n: int) -> Any:
        messages = [
            {
                "role": "user",
                "content": [{"type": "text", "text": "x", "caller": {"type": "direct"}}],
            }
            for _ in range(n)
        ]
        body = {"model": MODEL, "max_tokens": 5, "messages": messages}
        return lambda: fwcompat.check(body)

    assert growth(work, 300, 3000) < 13  # linear: about 10


def test_rules_reading_other_fields_keep_the_one_pass_when_no_edit_changes_them() -> None:
    """fireworks-r4 has notes that read other fields (thinking, output_config.effort): the
    7 removals touch none of those, so the body still runs in one pass; an edit of a field
    such a rule reads, before it runs, sends the body to the general loop."""
    plan = _plan_for(fwcompat.Config.from_dict({"pack": "fireworks-r4"}))
    body = dirty(agent_turns(20))
    fast, slow = _both(plan, body)
    assert fast == slow and len(fast.diagnostics) == 6  # service_tier is taken in R4
    _, asked_again = _native_calls(
        lambda: run_plan(plan, body=body, headers=None, base_url=None, path=None)
    )
    assert asked_again == 0
    config = {"pack": "fireworks-r4", "effort_map": {"ultra": "high"}}
    plan = _plan_for(fwcompat.Config.from_dict(config))
    effort = {**body, "output_config": {"effort": "ultra"}}  # FW501 replaces; FW508 reads it
    fast, slow = _both(plan, effort)
    assert fast == slow and "FW501" in [d.code for d in fast.diagnostics]
    _, asked_again = _native_calls(
        lambda: run_plan(plan, body=effort, headers=None, base_url=None, path=None)
    )
    assert asked_again > 0  # the general loop asked the rules again after the edits


def test_remembered_diagnostics_follow_the_value_and_its_type() -> None:
    """A diagnostic is reused only for the same place, value and type: 1 and true, 0.0
    and -0.0 (floats are never reused) each get their own words."""
    messages = {}
    for value in [1, True, 1, 0.0, -0.0, "1", None, True]:
        body = {"model": MODEL, "max_tokens": 5, "messages": [], "service_tier": value}
        (d,) = fwcompat.check(body).diagnostics
        messages.setdefault(repr(value), set()).add(d.message)
    shown = {k: next(iter(v)) for k, v in messages.items()}
    assert all(len(v) == 1 for v in messages.values())
    assert "(1)" in shown["1"] and "(true)" in shown["True"] and '("1")' in shown["'1'"]
    assert "(0.0)" in shown["0.0"] and "(-0.0)" in shown["-0.0"] and "(null)" in shown["None"]


def test_remembered_diagnostics_of_objects_follow_their_preview() -> None:
    for value, preview in [({"edits": []}, '{"edits": []}'), ({"edits": [1]}, '{"edits": [1]}')]:
        body = {"model": MODEL, "max_tokens": 5, "messages": [], "service_tier": value}
        for _ in range(2):
            (d,) = fwcompat.check(body).diagnostics
            assert preview in d.message
