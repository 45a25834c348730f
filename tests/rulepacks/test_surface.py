"""The Anthropic request surface, run against every shipped pack."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import yaml

import fwcompat
from fwcompat._config import Config
from fwcompat.cli._surface import OUTCOMES, UNDOCUMENTED, SurfaceOutcome, surface, surface_entries
from fwcompat.rulepacks._packs import shipped_pack_names

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


# -- the surface-by-pack table ----------------------------------------------------------

EXPECTED_FILE = Path(__file__).with_name("surface_expected.yaml")
EXPECTED = yaml.safe_load(EXPECTED_FILE.read_text(encoding="utf-8"))
TABLE_PACKS: list[str] = EXPECTED["packs"]
CELLS = [
    (pack, entry.id, EXPECTED["expected"][entry.id][i])
    for entry in ENTRIES
    for i, pack in enumerate(TABLE_PACKS)
]


@cache
def outcomes(pack: str, unsafe_fixes: bool = False) -> dict[str, SurfaceOutcome]:
    return {r.entry: r for r in surface(Config(pack=pack, unsafe_fixes=unsafe_fixes))}


def test_the_table_covers_every_entry_and_every_shipped_pack() -> None:
    assert sorted(TABLE_PACKS) == sorted(PACKS)
    assert set(EXPECTED["expected"]) == {e.id for e in ENTRIES}
    assert len(CELLS) == len(ENTRIES) * len(PACKS)


@pytest.mark.parametrize(("pack", "entry", "cell"), CELLS, ids=[f"{p}-{e}" for p, e, _ in CELLS])
def test_each_entry_gives_exactly_its_outcome_under_each_pack(
    pack: str, entry: str, cell: str
) -> None:
    got = outcomes(pack)[entry]
    assert f"{got.outcome} {got.code}".strip() == cell, got.diagnostics
    assert "FW001" not in got.codes  # never the generic schema error
    if got.outcome in ("removed", "replaced", "rejected", "unsafe"):
        rule = {r.code: r for r in fwcompat.list_rules({"pack": pack})}[got.code]
        assert rule.basis != "inferred"  # a change or a refusal stands on a quoted sentence
    if got.outcome in ("undocumented", "warned"):
        d = next(d for d in got.diagnostics if d.code == got.code)
        assert d.severity == "warning" and d.action == "noted"  # passed on, never changed
        assert (UNDOCUMENTED in d.message) == (got.outcome == "undocumented")


def test_an_unsafe_fix_applies_once_the_caller_opts_in() -> None:
    refused = [(p, e) for p, e, cell in CELLS if cell.startswith("unsafe ")]
    assert refused  # allowed_callers and defer_loading under fireworks
    for pack, entry in refused:
        assert outcomes(pack, unsafe_fixes=True)[entry].outcome == "removed"


@pytest.mark.parametrize(
    ("pack", "entry"),
    [
        # The audit of issue 15: each of these passed silently (or failed generically).
        ("fireworks-r4", "nested.tool_reference"),  # Claude Code's tool search
        ("fireworks", "field.messages.system-role"),  # Claude Code sends it every turn
        ("fireworks-r4", "field.messages.system-role"),
        ("deepseek", "block.redacted_thinking"),
        ("deepseek", "block.mcp_tool_use"),
        ("deepseek", "block.container_upload"),
        ("deepseek", "block.web_search_tool_result"),
        ("deepseek", "tool.tool_search_tool_regex"),  # an undated tool type
        ("deepseek", "block.image.file"),  # Files API without the beta header
        ("minimax", "block.redacted_thinking"),
        ("minimax", "block.mcp_tool_result"),
        ("minimax", "tool.web_search_20260209"),  # Anthropic server tools on MiniMax
        ("minimax", "tool.mcp_toolset"),
    ],
)
def test_audited_entries_are_never_a_silent_pass_nor_a_generic_error(pack: str, entry: str) -> None:
    got = outcomes(pack)[entry]
    if entry == "nested.tool_reference":
        assert got.outcome == "kept" and not got.codes  # R4 expands it
    else:
        assert got.outcome != "kept"
    assert "FW001" not in got.codes


def test_an_unknown_deepseek_model_name_warns() -> None:
    body = {
        "model": "deepseek-v9",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    result = fwcompat.check(body, config={"pack": "deepseek"})
    assert [d.code for d in result.diagnostics] == ["DS306"]


def test_a_files_api_document_is_named_as_a_document() -> None:
    got = outcomes("fireworks")["block.document.file"]
    (d,) = [d for d in got.diagnostics if d.code == "FW705"]
    assert '"document" block' in d.message and "image" not in d.message
