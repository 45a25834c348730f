"""Every rule's own examples, run through check(): a new rule needs no new test code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

import fwcompat

RULES = fwcompat.list_rules()
CASES = [
    pytest.param(rule, example, id=f"{rule.code}-{i}-{example['name']}")
    for rule in RULES
    for i, example in enumerate(rule.examples)
]


def run_example(example: Mapping[str, Any]) -> fwcompat.Result:
    return fwcompat.check(
        example.get("body"),
        headers=example.get("headers"),
        base_url=example.get("base_url"),
        path=example.get("path"),
        config=example.get("config"),
    )


@pytest.mark.parametrize(("rule", "example"), CASES)
def test_example_gives_exactly_the_expected_diagnostics(
    rule: fwcompat.Rule, example: Mapping[str, Any]
) -> None:
    result = run_example(example)
    got = [{"code": d.code, "path": d.path} for d in result.diagnostics]
    want = [{"code": e["code"], "path": e["path"]} for e in example["expect"]]
    assert got == want
    for diag, expected in zip(result.diagnostics, example["expect"], strict=True):
        if "severity" in expected:
            assert diag.severity == expected["severity"]
        if "action" in expected:
            assert diag.action == expected["action"]
        assert diag.message and diag.doc
    if "normalized" in example:
        assert result.request == example["normalized"]


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_has_a_triggering_and_a_clean_example(rule: fwcompat.Rule) -> None:
    codes = [{e["code"] for e in ex["expect"]} for ex in rule.examples]
    assert any(rule.code in c for c in codes), f"{rule.code}: no example triggers it"
    assert any(rule.code not in c for c in codes), f"{rule.code}: no example leaves it silent"


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_changing_examples_show_the_normalized_request(rule: fwcompat.Rule) -> None:
    if rule.action in ("remove", "replace"):
        assert any(
            "normalized" in ex and any(e["code"] == rule.code for e in ex["expect"])
            for ex in rule.examples
        ), f"{rule.code} changes requests; one example must show the normalized result"


def test_codes_and_names_are_unique() -> None:
    assert len({r.code for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)
