"""Every rule stands on a sentence of its own provider revision.

Each shipped pack ships ``source.txt`` (the provider text it encodes, verbatim, under a
``# url/# revision/# note`` header). A rule's ``doc:`` occurs verbatim in the source text
of the pack that defines it (runs of whitespace collapsed, nothing else normalized),
unless the rule is ``basis: inferred``: then it may only note, at warning or info.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

import fwcompat
from fwcompat.engine._model import CompiledRule
from fwcompat.rulepacks._packs import load_pack, shipped_pack_names, source_sentences

PACKS = shipped_pack_names()


def _defining_source(compiled: CompiledRule) -> str:
    """The source text of the pack folder the rule's file lives in."""
    import yaml

    folder = os.path.dirname(os.path.abspath(compiled.rule.source))
    with open(os.path.join(folder, "pack.yaml"), encoding="utf-8") as handle:
        info = yaml.safe_load(handle)["pack"]
    assert "source_text" in info, f"{folder}/pack.yaml declares no source_text"
    return source_sentences(os.path.join(folder, info["source_text"]))


@pytest.mark.parametrize("pack", PACKS)
def test_every_pack_ships_its_source_text_with_url_and_date(pack: str) -> None:
    loaded = load_pack(pack)
    assert loaded.source_text.endswith("source.txt")
    assert loaded.source_date
    with open(loaded.source_text, encoding="utf-8") as handle:
        text = handle.read()
    header = [line for line in text.splitlines() if line.startswith("# ")]
    assert any(line.startswith("# url: https://") for line in header)
    assert any(line.startswith(("# retrieved: ", "# revision: ")) for line in header)
    assert source_sentences(loaded.source_text), "the source text holds no provider text"


@pytest.mark.parametrize("pack", PACKS)
def test_every_documented_doc_is_verbatim_in_its_own_revision(pack: str) -> None:
    missing = []
    for compiled in load_pack(pack).rules:
        rule = compiled.rule
        if rule.basis == "inferred":
            continue
        doc = " ".join(rule.doc.split())
        if doc not in _defining_source(compiled):
            missing.append(f"{rule.code} ({rule.source}): {rule.doc!r}")
    assert not missing, "doc: not verbatim in the pack's source.txt:\n" + "\n".join(missing)


@pytest.mark.parametrize("pack", PACKS)
def test_an_inferred_rule_only_warns(pack: str) -> None:
    for compiled in load_pack(pack).rules:
        rule = compiled.rule
        if rule.basis == "inferred":
            assert rule.severity in ("warning", "info"), rule.code
            if rule.action != "note":  # only the caller's own table entry (model_map)
                assert rule.action == "replace" and rule.replace is not None, rule.code
                assert set(rule.replace) == {"table"}, rule.code
                assert rule.when.get("in_table") == rule.replace["table"], rule.code
                assert not load_pack(pack).table_defaults.get(rule.replace["table"]), rule.code


def test_the_fireworks_source_is_the_reference_page_verbatim() -> None:
    reference = Path("/work/shared/reference/fireworks-anthropic-compatibility.txt")
    if not reference.is_file():
        pytest.skip("the shared reference copy is not on this machine")
    ours = load_pack("fireworks").source_text
    assert source_sentences(ours) == " ".join(reference.read_text(encoding="utf-8").split())


def test_the_verbatim_check_collapses_whitespace_only(tmp_path: Path) -> None:
    text = tmp_path / "source.txt"
    text.write_text("# url: https://x.invalid\n# note: ignored\nThe  field\nis ignored.\n#x kept\n")
    assert source_sentences(str(text)) == "The field is ignored. #x kept"
    assert "field is ignored." in source_sentences(str(text))
    assert "Field is ignored." not in source_sentences(str(text))
    assert "note: ignored" not in source_sentences(str(text))


INFERRED = """
rules:
  - code: XX101
    name: no-top-k
    title: top_k may be dropped
    doc: "We read the page as dropping top_k."
    basis: inferred
    path: /top_k
    severity: {severity}
    action: {action}
    message: "top_k: not in the provider's documentation; it may be rejected or ignored."
    examples:
      - name: with top_k
        body: {{model: accounts/fireworks/models/kimi-k2p5, messages: [], top_k: 5}}
        expect: [{{code: XX101, path: /top_k}}]
      - name: without
        body: {{model: accounts/fireworks/models/kimi-k2p5, messages: []}}
        expect: []
"""


@pytest.mark.parametrize(
    ("severity", "action"),
    [("warning", "reject"), ("warning", "remove"), ("error", "note"), ("info", "replace")],
)
def test_the_loader_refuses_an_inferred_rule_that_does_more_than_warn(
    tmp_path: Path, severity: str, action: str
) -> None:
    path = tmp_path / "inferred.yaml"
    path.write_text(textwrap.dedent(INFERRED.format(severity=severity, action=action)))
    with pytest.raises(fwcompat.RuleFileError) as info:
        fwcompat.check({"model": "m", "messages": []}, config={"rule_files": [str(path)]})
    message = str(info.value)
    assert str(path) in message and "XX101" in message and "basis" in message


def test_an_inferred_note_loads_and_reports_its_basis(tmp_path: Path) -> None:
    path = tmp_path / "inferred.yaml"
    path.write_text(textwrap.dedent(INFERRED.format(severity="warning", action="note")))
    config = {"rule_files": [str(path)]}
    rules = {r.code: r for r in fwcompat.list_rules(config)}
    assert rules["XX101"].basis == "inferred"
    result = fwcompat.check(
        {"model": "accounts/fireworks/models/kimi-k2p5", "messages": [], "top_k": 5}, config=config
    )
    assert [d.code for d in result.diagnostics if d.code == "XX101"] == ["XX101"]


def test_packs_report_their_basis_counts_and_source_date() -> None:
    for info in fwcompat.packs():
        assert sum(info.basis.values()) == info.rules
        assert info.source_date


def test_cli_explain_rules_and_packs_show_basis_and_revision(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from fwcompat.cli import main

    assert main(["explain", "FW704", "--isolated"]) == 0
    out = capsys.readouterr().out
    assert "Inferred: no sentence of the provider's documentation" in out
    assert "basis: inferred" in out and "revision R2" in out
    assert main(["explain", "FW605", "--isolated"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the text is wrapped
    assert "Documented by the provider (verbatim" in out
    assert "Safe and unsafe fixes:" in out and "Config(unsafe_fixes=True)" in out
    assert "the finding is an error and the request is left unchanged" in out
    assert main(["rules", "--isolated"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:5] == ["CODE", "SEVERITY", "ACTION", "FIX", "BASIS"]
    assert "revision R2" in out
    assert main(["packs"]) == 0
    out = capsys.readouterr().out
    assert "(source text: R2)" in out and "documented," in out and "inferred)" in out
