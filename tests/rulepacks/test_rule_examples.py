"""Every rule's own examples, in every shipped pack, run through check(): a new rule
or a new pack needs no new test code."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import pytest

import fwcompat
from fwcompat.engine._conditions import resolve
from fwcompat.engine._model import Rule
from fwcompat.engine._paths import parse_pointer
from fwcompat.rulepacks._examples import own_rules, run_example
from fwcompat.rulepacks._packs import load_pack

PACKS = [info.name for info in fwcompat.packs()]
RULES = [(name, rule) for name in PACKS for rule in own_rules(load_pack(name))]
CASES = [
    pytest.param(pack, rule, example, id=f"{pack}-{rule.code}-{i}-{example['name']}")
    for pack, rule in RULES
    for i, example in enumerate(rule.examples)
]
IDS = [f"{pack}-{rule.code}" for pack, rule in RULES]


def test_every_shipped_pack_is_here() -> None:
    assert {"fireworks", "fireworks-r4", "deepseek", "minimax"} <= set(PACKS)


@pytest.mark.parametrize(("pack", "rule", "example"), CASES)
def test_example_gives_exactly_the_expected_diagnostics(
    pack: str, rule: Rule, example: Mapping[str, Any]
) -> None:
    outcome = run_example(pack, rule, example)
    assert outcome.problems == [], "\n".join(outcome.problems)
    for diag in outcome.result.diagnostics:
        assert diag.message and diag.doc
        assert diag.pack == pack
    assert outcome.result.pack == pack


@pytest.mark.parametrize(("pack", "rule"), RULES, ids=IDS)
def test_rule_has_a_triggering_and_a_clean_example(pack: str, rule: Rule) -> None:
    codes = [{e["code"] for e in ex["expect"]} for ex in rule.examples]
    assert any(rule.code in c for c in codes), f"{rule.code}: no example triggers it"
    assert any(rule.code not in c for c in codes), f"{rule.code}: no example leaves it silent"


@pytest.mark.parametrize(("pack", "rule"), RULES, ids=IDS)
def test_changing_examples_show_the_normalized_request(pack: str, rule: Rule) -> None:
    if rule.action in ("remove", "replace"):
        assert any(
            "normalized" in ex and any(e["code"] == rule.code for e in ex["expect"])
            for ex in rule.examples
        ), f"{rule.code} changes requests; one example must show the normalized result"


@pytest.mark.parametrize("pack", PACKS)
def test_codes_and_names_are_unique_and_never_retired(pack: str) -> None:
    loaded = load_pack(pack)
    rules = [r.rule for r in loaded.rules]
    assert len({r.code for r in rules}) == len(rules)
    assert len({r.name for r in rules}) == len(rules)
    assert not {r.code for r in rules} & set(loaded.retired)


REMOVING = [
    pytest.param(pack, rule, example, id=f"{pack}-{rule.code}-{i}")
    for pack, rule in RULES
    if rule.action == "remove"
    for i, example in enumerate(rule.examples)
    if any(e["code"] == rule.code for e in example["expect"])
]


@pytest.mark.parametrize(("pack", "rule", "example"), REMOVING)
def test_ignoring_a_removing_rule_passes_its_field_through(
    pack: str, rule: Rule, example: Mapping[str, Any]
) -> None:
    """ "Ignored means passed through", for every removing rule of every pack: with
    ignore=[code], each member the rule removed stays, with no diagnostic there."""
    config = {**(example.get("config") or {}), "pack": pack}
    scope = rule.scope
    document = example.get(scope)
    removed = [e["path"] for e in example["expect"] if e["code"] == rule.code]
    config["ignore"] = [*config.get("ignore", []), rule.code]
    before = copy.deepcopy(document)
    result = fwcompat.check(
        document,
        headers=example.get("headers"),
        base_url=example.get("base_url"),
        path=example.get("path"),
        config=config,
    )
    after = result.request if scope == "body" else result.headers
    assert document == before
    for pointer in removed:
        tokens = tuple(parse_pointer(pointer))
        assert resolve(after, tokens) == resolve(before, tokens), f"{pointer} not passed through"
        spoken = [d for d in result.diagnostics if d.path in (pointer, *[])]
        spoken += [d for d in result.diagnostics if d.path.startswith(pointer + "/")]
        assert spoken == [], [str(d) for d in spoken]


def test_examples_that_share_a_config_share_one_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pack's examples are run on prepared plans, made once per distinct config."""
    from fwcompat.rulepacks import _examples, _packs

    made: list[object] = []
    original = _packs.make_plan

    def counting(pack: object, config: object) -> object:
        made.append(config)
        return original(pack, config)  # type: ignore[arg-type]

    _packs.plan_for_config.cache_clear()
    monkeypatch.setattr(_packs, "make_plan", counting)
    rules = _examples.own_rules(_packs.load_pack("fireworks"))
    outcomes = list(_examples.iter_outcomes("fireworks", rules))
    assert outcomes and not [o.problems for o in outcomes if o.problems]
    assert len(made) == len(set(made)) < len(outcomes) / 4
