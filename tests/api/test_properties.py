"""Properties every check() must have, over generated requests (Hypothesis)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fwcompat
from fwcompat.engine._paths import Selector, format_pointer, parse_pointer
from tests.strategies import ANY_BODY, JSON, TOOL_EXTRAS, requests

CONFIG = {
    "model_map": {"claude-sonnet-4-6": "accounts/fireworks/models/kimi-k2p5"},
    "effort_map": {"xhigh": "high"},
}
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RULES = fwcompat.list_rules()
ACCEPTED = {
    "model",
    "messages",
    "max_tokens",
    "metadata",
    "output_config",
    "stop_sequences",
    "stream",
    "system",
    "temperature",
    "thinking",
    "tool_choice",
    "tools",
    "top_k",
    "top_p",
    "raw_output",
}


def dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


@SETTINGS
@given(body=ANY_BODY, headers=st.none() | st.dictionaries(st.text(max_size=20), JSON, max_size=3))
def test_check_is_pure(body: Any, headers: Any) -> None:
    before_body, before_headers = dump(body), dump(headers)
    check_result = fwcompat.check(body, headers=headers, config=CONFIG)
    assert dump(body) == before_body
    assert dump(headers) == before_headers
    assert isinstance(check_result, fwcompat.Result)


@SETTINGS
@given(body=ANY_BODY)
def test_check_is_deterministic(body: Any) -> None:
    first = fwcompat.check(body, config=CONFIG)
    second = fwcompat.check(copy.deepcopy(body), config=CONFIG)
    assert first.diagnostics == second.diagnostics
    assert dump(first.request) == dump(second.request)


@SETTINGS
@given(body=requests())
def test_normalizing_twice_changes_nothing(body: Any) -> None:
    once = fwcompat.check(body, config=CONFIG)
    twice = fwcompat.check(once.request, config=CONFIG)
    assert dump(twice.request) == dump(once.request)
    assert not [d for d in twice.diagnostics if d.action in ("removed", "replaced")]
    # What remains is exactly what was not fixable the first time.
    assert [(d.code, d.path) for d in twice.diagnostics] == [
        (d.code, d.path) for d in once.diagnostics if d.action not in ("removed", "replaced")
    ]


def _refused() -> frozenset[str]:
    from fwcompat._check import _prepared

    plan = _prepared(fwcompat.Config.from_dict(CONFIG))
    return frozenset(s.compiled.rule.code for s in plan.scopes["body"].steps if s.refuse)


REFUSED = _refused()


@SETTINGS
@given(body=requests())
def test_no_unsupported_field_survives(body: Any) -> None:
    """Soundness: no remove/replace rule finds anything left to do in the result."""
    result = fwcompat.check(body, config=CONFIG)
    for rule in RULES:
        if rule.action not in ("remove", "replace") or rule.scope != "body":
            continue
        if rule.code in REFUSED:  # an unsafe fix not opted in to leaves the request alone
            continue
        selector = Selector(rule.path)
        for segments, value in selector.select(result.request, absent=False):
            from fwcompat.engine._conditions import Context, compile_condition

            predicate, _ = compile_condition(rule.when)
            tables = {"model_map": CONFIG["model_map"], "effort_map": CONFIG["effort_map"]}
            ctx = Context(tables, result.request)
            assert not predicate(value, segments[-1], ctx), (rule.code, format_pointer(segments))
    if isinstance(result.request, dict):
        # A field the documentation does not name is passed on, but never silently:
        # it carries a warning (FW409); an unsafe removal not opted in to is an error.
        reported = {d.path for d in result.diagnostics}
        for name in set(result.request) - ACCEPTED:
            assert format_pointer((name,)) in reported, name
        for i, tool in enumerate(result.request.get("tools") or []):
            if isinstance(tool, dict):
                for extra in set(TOOL_EXTRAS) & set(tool):
                    assert format_pointer(("tools", i, extra)) in reported, extra


def differences(a: Any, b: Any, pointer: str = "") -> list[str]:
    """Pointers where two JSON documents differ (the smallest enclosing place)."""
    if type(a) is not type(b):
        return [pointer]
    if isinstance(a, dict):
        out = []
        for key in a.keys() | b.keys():
            p = pointer + format_pointer([key])
            if key not in a or key not in b:
                out.append(p)
            else:
                out.extend(differences(a[key], b[key], p))
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [pointer]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{pointer}/{i}")
        ]
    return [] if a == b or (a != a and b != b) else [pointer]


@SETTINGS
@given(body=requests())
def test_every_change_is_explained(body: Any) -> None:
    """Accountability: each difference lies at or under a removed/replaced diagnostic."""
    result = fwcompat.check(body, config=CONFIG)
    changed = [
        parse_pointer(d.path) for d in result.diagnostics if d.action in ("removed", "replaced")
    ]
    for diff in differences(body, result.request):
        tokens = parse_pointer(diff)
        assert any(tokens[: len(c)] == c for c in changed), f"unexplained change at {diff!r}"


@SETTINGS
@given(body=ANY_BODY, headers=JSON, base_url=JSON, path=JSON)
def test_any_json_gives_a_result(body: Any, headers: Any, base_url: Any, path: Any) -> None:
    """Totality: whatever the arguments' shapes, a Result with valid pointers, no exception."""
    result = fwcompat.check(body, headers=headers, base_url=base_url, path=path)
    for d in result.diagnostics:
        parse_pointer(d.path)
        assert d.severity in ("error", "warning", "info")
        assert d.message
    assert result.ok == (not any(d.severity == "error" for d in result.diagnostics))


@SETTINGS
@given(body=requests())
def test_normalize_agrees_with_check(body: Any) -> None:
    result = fwcompat.check(body, config=CONFIG)
    if result.ok:
        assert dump(fwcompat.normalize(body, config=CONFIG)) == dump(result.request)
    else:
        with pytest.raises(fwcompat.IncompatibleRequestError) as info:
            fwcompat.normalize(body, config=CONFIG)
        assert info.value.diagnostics == result.diagnostics
        assert all(d.severity == "error" for d in info.value.errors)


def run_every_rule(body: Any, config: Any) -> tuple[Any, list[tuple[str, str, str]]]:
    """An oracle: every body rule in order, each selected afresh from the current
    document with Selector, edits on a deep copy, schema rules validating it. No
    prefilter, no shared walk, no skipped rule."""
    from fwcompat._check import _prepared
    from fwcompat.engine._conditions import Context
    from fwcompat.engine._model import passed_through
    from fwcompat.engine._replacements import computed_replacement

    plan = _prepared(fwcompat.Config.from_dict(config))
    doc = copy.deepcopy(body)
    found: list[tuple[tuple[Any, ...], tuple[str, str, str]]] = []
    rejected: list[tuple[Any, ...]] = []
    for step in plan.scopes["body"].steps:
        compiled, rule = step.compiled, step.compiled.rule
        if compiled.schema is not None:
            ctx = Context(plan.tables, doc)
            for err in compiled.schema.iter_errors(doc):
                if compiled.passthrough and passed_through(
                    err.path, doc, compiled.passthrough, ctx
                ):
                    continue
                if not any(err.path[: len(r)] == r for r in rejected):
                    found.append((err.path, (rule.code, format_pointer(err.path), "rejected")))
            continue
        if not isinstance(doc, dict):
            continue
        ctx = Context(plan.tables, doc)
        selected = Selector(rule.path).select(doc, absent=compiled.matches_absent)
        hits = [(s, v) for s, v in selected if compiled.predicate(v, s[-1] if s else "", ctx)]
        for segments, value in reversed(hits):
            parent = doc
            for seg in segments[:-1]:
                parent = parent[seg]
            if step.refuse:  # an unsafe fix not opted in to: an error, no edit
                rejected.append(segments)
                found.append((segments, (rule.code, format_pointer(segments), "rejected")))
                continue
            if rule.action == "remove":
                del parent[segments[-1]]
            elif rule.action == "replace":
                assert rule.replace is not None
                new = computed_replacement(rule.replace, value, Context(plan.tables, doc))
                parent[segments[-1]] = copy.deepcopy(new)
            elif rule.action == "reject":
                rejected.append(segments)
            found.append((segments, (rule.code, format_pointer(segments), rule.past_action)))
    return doc, [d for _, d in found]


PACK_CONFIGS = [
    CONFIG,
    {**CONFIG, "extend_select": ["FW505", "FW506"]},  # the opt-in translations
    {"pack": "fireworks-r4", "model_map": CONFIG["model_map"]},
    {"pack": "deepseek"},
    {"pack": "minimax"},
]


@pytest.mark.parametrize("config", PACK_CONFIGS, ids=lambda c: c.get("pack", "fireworks"))
@SETTINGS
@given(body=ANY_BODY)
def test_the_prefilter_and_the_shared_walk_agree_with_running_every_rule(
    config: dict[str, Any], body: Any
) -> None:
    """check() skips what its one-pass prefilter calls clean, asks jsonschema-rs where
    rules fire, and matches again only where edits changed something; running every
    rule one by one, from scratch, must give the same request and findings. Every pack."""
    expected_body, expected = run_every_rule(body, config)
    result = fwcompat.check(body, config=config)
    assert dump(result.request) == dump(expected_body)
    got = [(d.code, d.path, d.action) for d in result.diagnostics]
    assert sorted(got) == sorted(expected)
