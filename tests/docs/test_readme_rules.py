"""The rule tables of docs/rules.md, example rule file and example pack are the real thing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import fwcompat
from fwcompat._config import Config
from fwcompat.cli._packs import rules_markdown
from fwcompat.rulepacks._examples import iter_outcomes
from fwcompat.rulepacks._packs import load_pack

README = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")
TABLES = dict(re.findall(r"<!-- rules-table: (\S+) -->\n(.*?)<!-- /rules-table -->", README, re.S))


def yaml_block(first_line: str) -> str:
    match = re.search(r"```yaml\n(" + re.escape(first_line) + r".*?)```", README, re.S)
    assert match, f"no yaml block starting {first_line!r}"
    return match.group(1)


def test_every_shipped_pack_has_a_table() -> None:
    assert set(TABLES) == {p.name for p in fwcompat.packs()}


@pytest.mark.parametrize("pack", sorted(TABLES))
def test_readme_rule_table_is_generated_from_the_pack(pack: str) -> None:
    expected = rules_markdown(Config(pack=pack))
    assert TABLES[pack] == expected, (
        f"README table for {pack} is stale: run `fwcompat rules --pack {pack} --format markdown`"
    )


def test_readme_example_rule_file_loads_and_its_examples_pass(tmp_path: Path) -> None:
    path = tmp_path / "my-rules.yaml"
    path.write_text(yaml_block("# my-rules.yaml"))
    config = {"rule_files": [str(path)]}
    rules = [r for r in fwcompat.list_rules(config) if r.source == str(path)]
    assert [r.code for r in rules] == ["XX101"]
    outcomes = list(iter_outcomes("fireworks", rules, (str(path),)))
    assert len(outcomes) == 2 and all(not o.problems for o in outcomes)
    body = {"model": "accounts/fireworks/models/kimi-k2p5", "messages": [], "top_k": 1}
    assert [d.code for d in fwcompat.check(body, config=config).diagnostics] == ["XX101"]


def test_readme_example_pack_loads(tmp_path: Path) -> None:
    folder = tmp_path / "our-gateway"
    folder.mkdir()
    (folder / "pack.yaml").write_text(yaml_block("# pack.yaml of a folder named `our-gateway`"))
    (folder / "45-gateway.yaml").write_text("rules: []\n")
    pack = load_pack("fireworks", (), str(folder))
    assert pack.extends == "fireworks-r4" and "FW403" in pack.retired
    assert "FW403" not in {r.rule.code for r in pack.rules}
    assert "FW410" in {r.rule.code for r in pack.rules}  # inherited from fireworks-r4
