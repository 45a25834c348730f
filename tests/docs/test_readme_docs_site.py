"""The docs site's generated pages (fwcompat/cli/_docs.py) say what the packs say."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

import fwcompat
from fwcompat.cli._docs import _pack_page, _rule_page, matrix_markdown, reference_pages
from fwcompat.rulepacks._packs import load_pack

ROOT = Path(__file__).resolve().parents[2]
PAGES = reference_pages()
PACKS = sorted(p.name for p in fwcompat.packs())


def test_one_page_per_pack_and_per_rule() -> None:
    expected = {"reference/index.md", "matrix.md", "reference/serve-settings.md"}
    for name in PACKS:
        expected.add(f"reference/{name}/index.md")
        expected |= {f"reference/{name}/{c.rule.code}.md" for c in load_pack(name).rules}
    assert set(PAGES) == expected


@pytest.mark.parametrize("pack", PACKS)
def test_rule_pages_carry_sentence_fix_revision_and_examples(pack: str) -> None:
    loaded = load_pack(pack)
    for compiled in loaded.rules:
        rule = compiled.rule
        page = PAGES[f"reference/{pack}/{rule.code}.md"]
        assert page.startswith(f"# {rule.code} {rule.name}\n")
        for line in rule.doc.splitlines():
            assert f"> {line}" in page if line else ">" in page
        fix = re.search(r"^\| fix \| (\S+)", page, re.M)
        assert fix and fix.group(1) == (rule.fix or "none"), rule.code
        assert (
            f"| revision | {(rule.revision or loaded.revision).replace('|', chr(92) + '|')}" in page
        )
        assert page.count("\n### ") == len(rule.examples), rule.code
        # the pack page links every rule page
        assert f"[{rule.code}]({rule.code}.md)" in PAGES[f"reference/{pack}/index.md"]


def test_a_shipped_rule_page_in_full() -> None:
    page = PAGES["reference/fireworks/FW401.md"]
    assert "| severity | warning |" in page
    assert "| fix | safe (`--fix` applies it) |" in page
    assert "| applies to | body `/service_tier` |" in page
    assert "> service_tier: Not supported." in page
    assert "| defined in | `rules/fireworks/40-fields.yaml` |" in page
    assert "- FW401 at `/service_tier` (severity warning, action removed)" in page


def test_rule_file_paths_are_the_repository_ones() -> None:
    for path, page in PAGES.items():
        for source in re.findall(r"\| defined in \| `([^`]+)` \|", page):
            assert (ROOT / source).is_file(), (path, source)


def _with(obj: Any, **extra: Any) -> SimpleNamespace:
    values = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    return SimpleNamespace(**{**values, **extra})


def test_optional_pack_fields_are_shown_when_present() -> None:
    """source_text, source_date and a rule's basis (being added to the packs) appear."""
    real = load_pack("fireworks")
    rule = _with(real.rules[0].rule, basis="documented", source_date="2026-11-20")
    compiled = SimpleNamespace(rule=rule)
    pack = _with(
        real,
        source_text="/x/rules/fireworks/source.txt",
        source_date="2026-11-20",
        rules=(compiled,),
    )
    page = _rule_page(pack, rule)
    assert "| basis | documented |" in page
    assert "| source date | 2026-11-20 |" in page
    assert "as of 2026-11-20" in page and "`source.txt`" in page
    pack_page = _pack_page(pack)
    assert "| code | rule | severity | action | fix | title | basis |" in pack_page
    (row,) = [line for line in pack_page.splitlines() if line.startswith(f"| [{rule.code}]")]
    assert row.endswith(" documented |")


def test_optional_fields_absent_show_nothing() -> None:
    page = PAGES["reference/fireworks/FW401.md"]
    if not hasattr(load_pack("fireworks").rules[0].rule, "basis"):
        assert "| basis |" not in page
        assert "| source date |" not in page


def test_matrix_has_a_column_per_pack_and_every_rule() -> None:
    matrix = PAGES["matrix.md"]
    header = next(line for line in matrix.splitlines() if line.startswith("| scope | path |"))
    assert header.count("`") // 2 == len(PACKS)
    for name in PACKS:
        for compiled in load_pack(name).rules:
            assert f"[{compiled.rule.code}](reference/{name}/{compiled.rule.code}.md)" in matrix
    row = next(
        line for line in matrix.splitlines() if line.startswith("| body | `/service_tier` |")
    )
    assert "FW401" in row and "removed" in row
    assert matrix_markdown() == matrix


def test_serve_settings_page_lists_every_flag() -> None:
    page = PAGES["reference/serve-settings.md"]
    for flag in ("--port", "--host", "--upstream", "--max-body-size", "--translate-xhigh"):
        assert f"| `{flag}` | `FWCOMPAT_SERVE_{flag[2:].upper().replace('-', '_')}` |" in page


def test_mkdocs_nav_names_existing_pages() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert config["theme"]["name"] == "material"

    def walk(node: Any) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, list):
            return [p for item in node for p in walk(item)]
        if isinstance(node, dict):
            return [p for value in node.values() for p in walk(value)]
        return []

    for page in walk(config["nav"]):
        assert (ROOT / "docs" / page).is_file() or page in PAGES, page
