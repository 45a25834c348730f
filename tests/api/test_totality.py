"""check() is total and its cost is linear, whatever the request holds.

- Deep values (10,000 levels) at every place a rule or the request schema looks at.
- Values that are not JSON (sets, bytes, NaN, custom objects, non-string keys,
  cycles, huge shared structures) anywhere: an error diagnostic, never an exception.
- Rule templates that could read process memory fail at load, never at check time.
- Growth: cost in proportion to size and findings, measured as ratios.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fwcompat
from fwcompat.engine._paths import parse_pointer
from tests.cost import calls
from tests.cost import growth as counted_growth
from tests.samples import TOP_K_MESSAGE, TOP_K_RULE
from tests.strategies import JSON, requests

SCHEMA = json.loads(
    (
        Path(__file__).resolve().parents[2] / "schemas" / "fireworks-messages-request.schema.json"
    ).read_text()
)
BASE: dict[str, Any] = {
    "model": "accounts/fireworks/models/kimi-k2p5",
    "max_tokens": 64,
    "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
    "metadata": {"user_id": "u"},
    "thinking": {"type": "enabled", "budget_tokens": 1024},
    "tool_choice": {"type": "auto"},
    "output_config": {"effort": "low"},
    "stop_sequences": ["END"],
    "tools": [{"name": "t", "input_schema": {"type": "object"}, "cache_control": None}],
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "x"},
                {"type": "image", "source": {"type": "url", "url": "https://x.test/a.png"}},
                {
                    "type": "tool_result",
                    "tool_use_id": "t1",
                    "content": [{"type": "text", "text": "r"}],
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "t", "signature": "s"},
                {"type": "tool_use", "id": "t1", "name": "t", "input": {"q": 1}, "caller": None},
            ],
        },
    ],
}


def _schema_paths(node: Any, prefix: tuple[str, ...], depth: int) -> Iterator[tuple[str, ...]]:
    """Member paths the request schema describes, with ``*`` for array items."""
    if depth > 6 or not isinstance(node, dict):
        return
    if "$ref" in node:
        target: Any = SCHEMA
        for token in node["$ref"][2:].split("/"):
            target = target[token]
        yield from _schema_paths(target, prefix, depth + 1)
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in node.get(key, ()):
            yield from _schema_paths(branch, prefix, depth + 1)
    for name, sub in (node.get("properties") or {}).items():
        yield (*prefix, name)
        yield from _schema_paths(sub, (*prefix, name), depth + 1)
    if isinstance(node.get("items"), dict):
        yield (*prefix, "*")
        yield from _schema_paths(node["items"], (*prefix, "*"), depth + 1)


def places() -> list[tuple[str, ...]]:
    found = set(_schema_paths(SCHEMA, (), 0))
    for rule in fwcompat.list_rules():
        if rule.scope == "body" and rule.path:
            found.add(tuple(parse_pointer(rule.path)))
    return sorted(found)


PLACES = places()


def deep(levels: int, kind: str) -> Any:
    root: Any = [] if kind == "list" else {}
    node = root
    for _ in range(levels):
        child: Any = [] if kind == "list" else {}
        if kind == "list":
            node.append(child)
        else:
            node["k"] = child
        node = child
    return root


def put(body: Any, path: tuple[str, ...], value: Any) -> bool:
    """Set ``value`` at ``path`` (``*`` = the first element), building missing members."""
    node = body
    for i, token in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, list):
            if not node:
                return False
            if last:
                node[0] = value
                return True
            node = node[0]
        elif isinstance(node, dict):
            if token == "*":
                return False
            if last:
                node[token] = value
                return True
            if not isinstance(node.get(token), (dict, list)):
                node[token] = [{}] if path[i + 1] == "*" else {}
            node = node[token]
        else:
            return False
    return False


def assert_total(result: fwcompat.Result) -> None:
    for d in result.diagnostics:
        parse_pointer(d.path)
        assert d.message and len(d.message) < 4000
    assert result.ok == (not result.errors)


def test_places_cover_rules_and_schema() -> None:
    assert len(PLACES) > 50
    assert ("container",) in PLACES and ("tools", "*", "cache_control") in PLACES


@pytest.mark.parametrize("kind", ["list", "dict"])
def test_a_deep_value_at_every_place_gives_a_result(kind: str) -> None:
    value = deep(10_000, kind)
    tried = 0
    for path in PLACES:
        body = copy.deepcopy(BASE)
        if put(body, path, value):
            tried += 1
            assert_total(fwcompat.check(body))
    assert tried > 40


KINDS = ["list", "dict"]
NON_JSON = st.sampled_from(
    [
        {1, 2},
        b"bytes",
        float("nan"),
        float("inf"),
        object(),
        {1: "int key"},
        {None: "null key"},
        (1, 2),
        10**5000,
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(PLACES),
    value=NON_JSON
    | JSON
    | st.builds(deep, st.integers(500, 3000), st.sampled_from(["list", "dict"])),
    base=requests() | st.just(BASE),
)
def test_any_value_at_any_place_gives_a_result(
    path: tuple[str, ...], value: Any, base: Any
) -> None:
    body = copy.deepcopy(base)
    if not isinstance(body, dict):
        body = copy.deepcopy(BASE)
    put(body, path, value)
    assert_total(fwcompat.check(body))


def test_non_json_values_are_error_diagnostics_where_they_are() -> None:
    body = copy.deepcopy(BASE)
    body["messages"][1]["content"][1]["input"] = {"s": {1}, "n": float("nan"), 3: "x"}
    body["temperature"] = float("inf")
    result = fwcompat.check(body)
    paths = {d.path for d in result.errors}
    assert {
        "/messages/1/content/1/input/s",
        "/messages/1/content/1/input/n",
        "/messages/1/content/1/input/3",
        "/temperature",
    } <= paths
    with pytest.raises(fwcompat.IncompatibleRequestError, match="not a JSON number"):
        fwcompat.normalize(body)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {1, 2}, b"x", {1: "k"}])
def test_a_non_json_value_alone_is_an_error_or_removed_at_every_place(value: Any) -> None:
    """Alone in a clean request (nothing else sends it down the slow path), so the
    native gate itself must say no: a NaN in free-form tool input once passed it."""
    tried = 0
    for path in PLACES:
        body = copy.deepcopy(BASE)
        if not put(body, path, value):
            continue
        tried += 1
        result = fwcompat.check(body)
        if result.ok:  # a rule removed the member holding it: what is sent is JSON
            json.dumps(result.request, allow_nan=False)
    assert tried > 40


def test_non_json_numbers_in_free_form_tool_input_are_errors() -> None:
    for place in ("input", "input_schema"):
        body = copy.deepcopy(BASE)
        if place == "input":
            body["messages"][1]["content"][1]["input"] = {"q": [1, {"n": float("nan")}]}
            where = "/messages/1/content/1/input/q/1/n"
        else:
            body["tools"][0]["input_schema"] = {"type": "object", "default": float("-inf")}
            where = "/tools/0/input_schema/default"
        assert [d.path for d in fwcompat.check(body).errors] == [where]


def test_a_cycle_is_reported_not_followed() -> None:
    loop: list[Any] = []
    loop.append(loop)
    body = {**copy.deepcopy(BASE), "stop_sequences": loop}
    result = fwcompat.check(body)
    assert any("cycle" in d.message for d in result.errors)


def test_a_shared_structure_is_previewed_in_bounded_time() -> None:
    """An alias bomb as Python objects: 9 references per level, 9 levels (387M paths)."""
    node: Any = "x"
    for _ in range(9):
        node = [node] * 9
    body = {**copy.deepcopy(BASE), "service_tier": node, "stop_sequences": node}
    result: Any = None

    def run() -> None:
        nonlocal result
        result = fwcompat.check(body)

    # A bound on work, counted: expanding the 387M paths would take billions of calls.
    assert calls(run) < 2_000_000
    assert any(d.code == "FW401" and len(d.message) < 300 for d in result.diagnostics)


# -- rule templates ---------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "{value.__init__.__globals__}",
        "{value.kind}",
        "{value[type]}",
        "{value!r}",
        "{value:>10}",
        "{0}",
        "{}",
        "{nope}",
        "{value",
    ],
)
def test_a_template_that_could_fail_or_leak_is_rejected_at_load(
    tmp_path: Path, message: str
) -> None:
    rule_file = tmp_path / "extra.yaml"
    rule_file.write_text(TOP_K_RULE.replace(TOP_K_MESSAGE, json.dumps(message)))
    with pytest.raises(fwcompat.RuleFileError) as info:
        fwcompat.check({}, config={"rule_files": [str(rule_file)]})
    text = str(info.value)
    assert "extra.yaml" in text and "XX101" in text and "message" in text


def test_every_named_placeholder_renders(tmp_path: Path) -> None:
    rule_file = tmp_path / "extra.yaml"
    names = "{value} {type} {key} {pointer} {where} {replacement} {error}"
    rule_file.write_text(TOP_K_RULE.replace(TOP_K_MESSAGE, json.dumps(names)))
    body = {"model": "accounts/fireworks/models/kimi-k2p5", "messages": [], "top_k": 5}
    result = fwcompat.check(body, config={"rule_files": [str(rule_file)]})
    (d,) = [d for d in result.diagnostics if d.code == "XX101"]
    assert d.message.split(" ")[:5] == ["5", "(absent)", "top_k", "/top_k", "top_k"]


# -- growth ------------------------------------------------------------------------


def growth(make: Callable[[int], Any], small: int, large: int) -> float:
    """Counted calls of ``check()`` on the large input over those on the small one."""
    a, b = make(small), make(large)
    return counted_growth(lambda n: lambda: fwcompat.check(a if n == small else b), small, large)


def server_tools(n: int) -> dict[str, Any]:
    tools = [{"type": "web_search_20250305", "name": f"web_search_{i}"} for i in range(n)]
    return {**copy.deepcopy(BASE), "tools": tools}


EPHEMERAL = {"type": "ephemeral"}


def cached_tools(n: int) -> dict[str, Any]:
    tools = [
        {
            "name": f"t{i}",
            "input_schema": {"type": "object"},
            "cache_control": {"type": "ephemeral"},
        }
        for i in range(n)
    ]
    return {**copy.deepcopy(BASE), "tools": tools}


def one_nested_edit(n: int) -> dict[str, Any]:
    messages = [{"role": "user", "content": [{"type": "text", "text": "hi"}]} for _ in range(n)]
    messages[n // 2] = {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "t", "name": "t", "input": {}, "caller": None}],
    }
    return {"model": "accounts/fireworks/models/kimi-k2p5", "messages": messages}


@pytest.mark.parametrize(
    ("make", "small", "large"),
    [(server_tools, 500, 4000), (cached_tools, 500, 4000), (one_nested_edit, 1000, 8000)],
    ids=["rejections x schema errors", "diagnostics", "one nested edit"],
)
def test_cost_grows_linearly(make: Callable[[int], Any], small: int, large: int) -> None:
    """8x the input costs about 8x (linear); quadratic would be 64x. Counted calls, not times."""
    assert growth(make, small, large) < 2 * (large / small)


@pytest.mark.parametrize(
    ("replace", "needle"),
    [
        ("replace: {table: model_map}", "needs `in_table: model_map`"),
        ("replace: {table: no_such}\n    when: {in_table: no_such}", "does not declare"),
    ],
)
def test_a_table_replacement_that_could_fail_is_rejected_at_load(
    tmp_path: Path, replace: str, needle: str
) -> None:
    """Before: a value missing from the table raised KeyError inside check()."""
    text = TOP_K_RULE.replace("action: remove", f"action: replace\n    {replace}")
    rule_file = tmp_path / "extra.yaml"
    rule_file.write_text(text)
    body = {"model": "accounts/fireworks/models/kimi-k2p5", "messages": [], "top_k": 5}
    with pytest.raises(fwcompat.RuleFileError, match=needle) as info:
        fwcompat.check(body, config={"rule_files": [str(rule_file)]})
    assert "XX101" in str(info.value)


@pytest.mark.parametrize("extra", [{}, {"service_tier": "auto"}], ids=["clean", "with a fix"])
def test_whether_deep_nesting_is_an_error_depends_on_its_depth_only(extra: dict[str, Any]) -> None:
    """300 levels inside free-form tool input pass (the native gate stops following
    at 256 and sends the request down the slow path, which agrees); 600 do not."""
    shallow = {**copy.deepcopy(BASE), **extra}
    expected = [(d.code, d.path) for d in fwcompat.check(shallow).diagnostics]
    for levels, error in ((300, False), (600, True)):
        body = copy.deepcopy(shallow)
        body["messages"][1]["content"][1]["input"] = {"q": deep(levels, "dict")}
        result = fwcompat.check(body)
        depth_errors = [d for d in result.errors if "levels deep" in d.message]
        assert bool(depth_errors) == error, levels
        others = [(d.code, d.path) for d in result.diagnostics if d not in depth_errors]
        assert others == expected


TWO_REMOVALS = """
rules:
  - code: XX101
    name: drop-documents
    title: drop document blocks
    doc: "x"
    path: /messages/*/content/*
    when: {members: {type: {equals: document}}}
    severity: warning
    action: remove
    message: "removed"
    examples:
      - {name: a, body: {model: MODEL, messages: []}, expect: []}
      - {name: b, body: {model: MODEL, messages: [], system: s}, expect: []}
  - code: XX102
    name: drop-citations
    title: drop citations
    doc: "x"
    path: /messages/*/content/*/citations
    severity: warning
    action: remove
    message: "removed"
    examples:
      - {name: a, body: {model: MODEL, messages: []}, expect: []}
      - {name: b, body: {model: MODEL, messages: [], system: s}, expect: []}
  - code: XX103
    name: drop-top-k
    title: drop top_k
    doc: "x"
    path: /top_k
    severity: warning
    action: remove
    message: "removed"
    examples:
      - {name: a, body: {model: MODEL, messages: []}, expect: []}
      - {name: b, body: {model: MODEL, messages: [], system: s}, expect: []}
  - code: XX104
    name: replace-top-k
    title: replace top_k
    doc: "x"
    path: /top_k
    severity: warning
    action: replace
    replace: {value: 1}
    message: "replaced"
    examples:
      - {name: a, body: {model: MODEL, messages: []}, expect: []}
      - {name: b, body: {model: MODEL, messages: [], system: s}, expect: []}
"""


def test_a_later_rule_never_edits_what_an_earlier_rule_removed(tmp_path: Path) -> None:
    """Before: a block removed by one rule, then a member of it removed by the next,
    raised KeyError inside check() (found by the ollama pack's rule order)."""
    rule_file = tmp_path / "removals.yaml"
    rule_file.write_text(TWO_REMOVALS.replace("MODEL", "accounts/fireworks/models/kimi-k2p5"))
    document = {"type": "document", "source": {"type": "text", "data": "x"}, "citations": {}}
    text = {"type": "text", "text": "a"}
    body = {
        "model": "accounts/fireworks/models/kimi-k2p5",
        "messages": [{"role": "user", "content": [document, text, dict(document)]}],
        "top_k": 5,
    }
    config = {"rule_files": [str(rule_file)], "select": ["XX"]}
    result = fwcompat.check(body, config=config)
    assert [(d.code, d.path) for d in result.diagnostics] == [
        ("XX101", "/messages/0/content/0"),
        ("XX101", "/messages/0/content/2"),
        ("XX103", "/top_k"),
    ]
    assert result.request["messages"][0]["content"] == [text]
    assert "top_k" not in result.request
