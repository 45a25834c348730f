"""The Anthropic request surface, run against every shipped pack."""

from __future__ import annotations

import pytest

import fwcompat
from fwcompat._packs import shipped_pack_names
from fwcompat._surface import OUTCOMES, surface, surface_entries

PACKS = shipped_pack_names()
ENTRIES = surface_entries()


def test_the_surface_file_covers_every_kind_with_unique_ids() -> None:
    ids = [e.id for e in ENTRIES]
    assert len(ids) == len(set(ids))
    kinds = {e.kind for e in ENTRIES}
    assert kinds == {"field", "block", "tool", "header", "endpoint"}
    assert any(e.id.startswith("nested.") for e in ENTRIES)  # blocks inside tool_result


@pytest.mark.parametrize("pack", PACKS)
def test_one_outcome_per_entry_from_the_listed_outcomes(pack: str) -> None:
    results = surface({"pack": pack})
    assert [r.entry for r in results] == [e.id for e in ENTRIES]
    for r in results:
        assert r.outcome in OUTCOMES
        assert (r.outcome == "kept") or r.code in r.codes


def test_an_outcome_names_the_rule_that_decided_it() -> None:
    by_id = {r.entry: r for r in surface({"pack": "fireworks"})}
    assert by_id["field.service_tier"].outcome == "removed"
    assert by_id["field.service_tier"].code == "FW401"
    assert by_id["block.text"].outcome == "kept"
    assert by_id["block.text"].code == ""
    assert by_id["tool.web_search_20260209"].outcome == "rejected"
    assert by_id["tool.web_search_20260209"].code == "FW601"


def test_the_model_can_be_given_and_what_the_base_request_gets_is_not_counted() -> None:
    claude = [e for e in ENTRIES if e.id == "field.model.claude"]
    assert surface({"pack": "fireworks"}, claude)[0].outcome == "rejected"
    # With a Claude model for every request, the base request already gets the
    # rejection: the entry itself adds nothing.
    assert surface({"pack": "fireworks"}, claude, model="claude-sonnet-4-6")[0].outcome == "kept"
    with pytest.raises(fwcompat.ConfigError):
        surface({"pack": "no such pack!"})
