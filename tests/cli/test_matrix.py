"""`fwcompat matrix`: every surface entry against every shipped pack, and the committed
Markdown (docs/compatibility-matrix.md) kept in sync with the packs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import fwcompat
from fwcompat.cli import main
from fwcompat.cli._matrix import build_matrix, render
from fwcompat.cli._surface import OUTCOMES, surface_entries

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "docs" / "compatibility-matrix.md"


@pytest.fixture(scope="module")
def matrix_json() -> dict[str, object]:
    return json.loads(render(build_matrix(), "json"))


def test_the_committed_markdown_is_what_the_packs_give() -> None:
    generated = render(build_matrix(), "markdown")
    assert COMMITTED.read_text(encoding="utf-8") == generated, (
        "docs/compatibility-matrix.md is out of date: run "
        "`fwcompat matrix --format markdown > docs/compatibility-matrix.md`"
    )


def test_every_shipped_pack_is_a_column_and_every_entry_a_row(matrix_json: dict) -> None:  # type: ignore[type-arg]
    names = [p["name"] for p in matrix_json["packs"]]
    assert names == [info.name for info in fwcompat.packs()]
    assert len(names) >= 6
    assert [e["id"] for e in matrix_json["entries"]] == [e.id for e in surface_entries()]
    codes = {name: {r.code for r in fwcompat.list_rules({"pack": name})} for name in names}
    for entry in matrix_json["entries"]:
        assert set(entry["outcomes"]) == set(names)
        for name, cell in entry["outcomes"].items():
            assert cell["outcome"] in OUTCOMES
            if cell["outcome"] != "kept":
                assert cell["code"] in codes[name], (entry["id"], name, cell)


@pytest.mark.parametrize(
    ("pack", "entry", "outcome", "code"),
    [
        ("ollama", "field.tool_choice.tool", "removed", "OL401"),
        ("ollama", "field.metadata.user_id", "removed", "OL402"),
        ("ollama", "block.image.url", "rejected", "OL701"),
        ("ollama", "field.thinking.adaptive", "undocumented", "OL409"),
        ("ollama", "field.model.claude", "warned", "OL302"),
        ("ollama", "endpoint.count_tokens", "rejected", "OL102"),
        ("ollama", "endpoint.batches", "rejected", "OL103"),
        ("vllm", "block.document.base64", "rejected", "VL702"),
        ("vllm", "field.thinking.adaptive", "warned", "VL408"),
        ("vllm", "endpoint.count_tokens", "kept", ""),
        ("vllm", "tool.web_search_20250305", "rejected", "VL601"),
        ("sglang", "field.messages.system-role", "rejected", "SG701"),
        ("sglang", "field.thinking.adaptive", "rejected", "SG404"),
        ("sglang", "field.metadata.user_id", "removed", "SG401"),
    ],
)
def test_cells_say_what_the_provider_documents(
    matrix_json: dict,  # type: ignore[type-arg]
    pack: str,
    entry: str,
    outcome: str,
    code: str,
) -> None:
    row = next(e for e in matrix_json["entries"] if e["id"] == entry)
    assert row["outcomes"][pack] == {"outcome": outcome, "code": code}


def test_the_text_table_has_the_chosen_columns_and_one_line_per_entry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["matrix", "--packs", "vllm,ollama"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["entry", "vllm", "ollama"]
    assert len(lines) == 2 + len(surface_entries())
    row = next(line for line in lines if line.startswith("block.image.url "))
    assert row.split()[1:] == ["kept", "rejected", "OL701"]


def test_an_unknown_pack_is_an_error_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "--packs", "ollama,nope"]) == 2
    err = capsys.readouterr().err
    assert "'nope'" in err and "ollama" in err and "Traceback" not in err


def test_the_console_script_prints_markdown() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fwcompat", "matrix", "--format", "markdown", "--packs", "ollama"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# Compatibility matrix\n")
    assert "| `field.tool_choice.tool` | removed OL401 |" in done.stdout
