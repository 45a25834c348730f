"""`fwcompat sources check PACK FILE`: rules whose quoted sentence left the provider's page,
and sentences of the new page no rule quotes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fwcompat.cli import main
from fwcompat.cli._doc_sources import compare, page_sentences
from fwcompat.rulepacks._packs import load_pack

REPO = Path(__file__).resolve().parents[2]
R4 = REPO / "rules" / "fireworks-r4" / "source.txt"
OLLAMA = REPO / "rules" / "ollama" / "source.txt"


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["sources", "check", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_fireworks_r2_against_r4_shows_the_known_changes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = _json(capsys, "fireworks", str(R4))
    assert code == 1
    stale = {s["code"]: " ".join(s["doc"].split()) for s in report["stale"]}
    docs = list(stale.values())
    # R2 said these; R4 does not: effort max ran as high, adaptive thinking was not
    # supported, service_tier was not supported.
    assert any("service_tier" in d for d in docs), stale
    assert any("max to high" in d or "effort" in d for d in docs), stale
    assert any("adaptive" in d for d in docs), stale
    # R4 newly requires max_tokens: a sentence no R2 rule quotes.
    assert "max_tokens is required and must be > 0" in report["new"]
    # Every sentence listed as new is one the R2 source text does not hold.
    r2 = (REPO / "rules" / "fireworks" / "source.txt").read_text(encoding="utf-8")
    assert all(" ".join(n.split()) not in " ".join(r2.split()) for n in report["new"])


def test_a_pack_against_its_own_source_text_shows_no_change(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = _json(capsys, "ollama", str(OLLAMA))
    assert code == 0
    assert report["stale"] == [] and report["new"] == []
    assert report["checked"] == sum(
        1 for r in load_pack("ollama").rules if r.rule.basis == "documented"
    )
    assert report["not_checked"] == {"inferred": 12}


def test_a_changed_page_names_the_rule_and_the_new_sentence(tmp_path: Path) -> None:
    text = OLLAMA.read_text(encoding="utf-8")
    newer = text.replace("| `metadata` | Request metadata (user_id) |\n", "").replace(
        "- Token counts are approximations",
        "- `service_tier` is accepted but ignored.\n- Token counts are approximations",
    )
    assert newer != text
    report = compare("ollama", newer, file="newer.mdx")
    assert [s.code for s in report.stale] == ["OL402"]
    assert report.new == ["- `service_tier` is accepted but ignored."]
    assert report.changed


def test_code_rules_are_not_checked_against_a_documentation_page() -> None:
    page = (REPO / "rules" / "vllm" / "source.txt").read_text(encoding="utf-8")
    docs_only = page.split("# note: ---- SERVER CODE")[0]
    report = compare("vllm", docs_only)
    assert report.stale == []
    assert report.not_checked == {
        "code": sum(1 for r in load_pack("vllm").rules if r.rule.basis == "code"),
        "inferred": 1,
    }


def test_text_output_groups_rules_by_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources", "check", "fireworks", str(R4)]) == 1
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "The adaptive thinking type" in x)
    assert "FW504" in line and "FW505" in line
    assert "  + max_tokens is required and must be > 0" in out


def test_sentences_skip_header_lines_code_fences_and_repeats() -> None:
    text = "# url: https://x.invalid\nOne. Two!\n```\n| --- |\nOne.\n  Three?  four\n"
    assert page_sentences(text) == ["One.", "Two!", "Three?", "four"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["nope", str(OLLAMA)], "'nope'"),
        (["ollama", "/no/such/file.md"], "/no/such/file.md"),
    ],
)
def test_bad_input_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    assert main(["sources", "check", *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_a_binary_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blob = tmp_path / "page.bin"
    blob.write_bytes(b"\xff\xfe\x00bad")
    assert main(["sources", "check", "ollama", str(blob)]) == 2
    assert str(blob) in capsys.readouterr().err


def test_a_pack_folder_is_read_like_the_shipped_pack(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = _json(capsys, str(REPO / "rules" / "ollama"), str(OLLAMA))
    assert code == 0
    assert report["pack"] == "ollama" and report["checked"] == 19
