"""The ollama, vllm and sglang packs: each rule stands on what its basis says, and the
requests real clients send get the outcomes the providers' own words give."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import fwcompat
from fwcompat.rulepacks._packs import load_pack, source_sentences

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "serve"))

from claude_client_standin import _body as claude_code_body

NEW_PACKS = ["ollama", "vllm", "sglang"]
CODE_MARK = "# note: ---- SERVER CODE"
UNDOCUMENTED = "not in the provider's documentation; it may be rejected or ignored"


def _parts(pack: str, tmp_path: Path) -> tuple[str, str]:
    """(the documentation part, the server-code part) of a pack's source text, each read
    as the verbatim check reads it."""
    text = Path(load_pack(pack).source_text).read_text(encoding="utf-8")
    docs, _, code = text.partition(CODE_MARK)
    (tmp_path / "docs.txt").write_text(docs, encoding="utf-8")
    (tmp_path / "code.txt").write_text(code, encoding="utf-8")
    return source_sentences(str(tmp_path / "docs.txt")), source_sentences(
        str(tmp_path / "code.txt")
    )


@pytest.mark.parametrize("pack", NEW_PACKS)
def test_documented_rules_quote_the_docs_and_code_rules_quote_the_code(
    pack: str, tmp_path: Path
) -> None:
    docs, code = _parts(pack, tmp_path)
    for compiled in load_pack(pack).rules:
        rule = compiled.rule
        doc = " ".join(rule.doc.split())
        if rule.basis == "documented":
            assert doc in docs, f"{rule.code}: not in the documentation part: {rule.doc!r}"
        elif rule.basis == "code":
            assert doc in code, f"{rule.code}: not in the server-code part: {rule.doc!r}"
            assert doc not in docs, f"{rule.code} quotes documentation: mark it documented"
        else:
            assert UNDOCUMENTED in rule.message, rule.code
            assert rule.action == "note" and rule.severity != "error", rule.code


@pytest.mark.parametrize("pack", ["vllm", "sglang"])
def test_a_source_with_code_names_the_repository_files_and_commits(pack: str) -> None:
    text = Path(load_pack(pack).source_text).read_text(encoding="utf-8")
    header = "\n".join(line for line in text.splitlines() if line.startswith("# "))
    assert CODE_MARK in text
    assert re.search(r"entrypoints/anthropic/protocol\.py @ [0-9a-f]{40}", header)
    assert "SERVER CODE, not documentation" in header


def test_the_new_packs_are_listed_with_their_source_and_basis() -> None:
    infos = {info.name: info for info in fwcompat.packs()}
    assert len(infos) >= 6
    assert infos["ollama"].basis == {"documented": 19, "code": 0, "inferred": 12}
    assert infos["vllm"].basis["code"] > infos["vllm"].basis["documented"]
    for name in NEW_PACKS:
        assert infos[name].source_date == "2026-12-04"
        assert Path(load_pack(name).source_text).is_file()


def _claude_code_request(model: str) -> dict[str, object]:
    return claude_code_body(model, "Which files are here?", main=True)


def test_ollama_passes_claude_code_with_warnings_and_removes_what_it_ignores() -> None:
    result = fwcompat.check(_claude_code_request("qwen3-coder"), config={"pack": "ollama"})
    assert not result.errors
    codes = {d.code for d in result.diagnostics}
    assert {"OL402", "OL404", "OL405", "OL409", "OL410", "OL707"} <= codes
    assert "metadata" not in result.request
    assert result.request["thinking"] == {"type": "adaptive"}


def test_ollama_warns_on_a_claude_name_and_maps_it_when_asked() -> None:
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    warned = fwcompat.check(body, config={"pack": "ollama"})
    assert [(d.code, str(d.severity)) for d in warned.diagnostics] == [("OL302", "warning")]
    mapped = fwcompat.check(
        body, config={"pack": "ollama", "model_map": {"claude-sonnet-4-6": "qwen3-coder"}}
    )
    assert mapped.request["model"] == "qwen3-coder"
    assert [d.code for d in mapped.diagnostics] == ["OL301"]


def test_vllm_passes_claude_code_and_says_what_it_ignores() -> None:
    result = fwcompat.check(_claude_code_request("my-model"), config={"pack": "vllm"})
    assert not result.errors
    ignored = {d.path for d in result.diagnostics if d.code == "VL408"}
    assert ignored == {"/thinking", "/context_management"}
    assert result.request == _claude_code_request("my-model")  # notes change nothing


def test_sglang_refuses_claude_code_on_the_role_and_the_thinking_type() -> None:
    result = fwcompat.check(_claude_code_request("default"), config={"pack": "sglang"})
    assert {(d.code, d.path) for d in result.errors} == {
        ("SG701", "/messages/0/role"),
        ("SG404", "/thinking/type"),
    }
