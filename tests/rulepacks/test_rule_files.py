"""Rule files are data, validated on load: a bad one names its file, rule and field."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

import fwcompat
from tests.samples import TOP_K_RULE

GOOD_RULE = "\n" + TOP_K_RULE


def write(tmp_path: Path, text: str, name: str = "extra.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_extra_rule_file_is_a_yaml_edit_only(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_RULE)
    config = {"rule_files": [str(path)]}
    result = fwcompat.check(
        {"model": "accounts/fireworks/models/kimi-k2p5", "messages": [], "top_k": 3}, config=config
    )
    assert [(d.code, d.action) for d in result.diagnostics] == [("XX101", "removed")]
    assert "top_k" not in result.request
    rule = fwcompat.list_rules(config)[-1]
    assert rule.code == "XX101" and rule.source == str(path)


def mutate(field: str, value: Any) -> str:
    lines = GOOD_RULE.splitlines()
    out = []
    for line in lines:
        if (
            line.strip().startswith(f"{field}:")
            and line.startswith("    ")
            and not line.startswith("      ")
        ):
            out.append(f"    {field}: {value}")
        else:
            out.append(line)
    return "\n".join(out)


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        (mutate("severity", "fatal"), ["XX101 (rules[0])", "severity", '"fatal" is not one of']),
        (mutate("action", "explode"), ["XX101", "action"]),
        (
            GOOD_RULE.replace("  - code: XX101", "  - code: lowercase"),
            ["code", "does not match the pattern"],
        ),
        (mutate("path", "tools/*"), ["path", "does not match"]),
        (mutate("message", '"{nope}"'), ["XX101", "message", "unknown placeholder {nope}"]),
        (
            GOOD_RULE.replace("    path: /top_k", "    path: /top_k\n    when: {matches: '('}"),
            ["XX101", "when.matches", "bad regular expression"],
        ),
        (
            GOOD_RULE.replace("    path: /top_k", "    path: /top_k\n    when: {smells: bad}"),
            ["XX101", "when", "smells"],
        ),
        (
            GOOD_RULE.replace("    path: /top_k", "    path: /top_k\n    colour: red"),
            ["XX101", "colour", "not allowed here"],
        ),
        (
            GOOD_RULE.replace("    action: remove", "    action: replace"),
            ["XX101", "replace", "needs replace"],
        ),
        (
            GOOD_RULE.replace("    action: remove", "    action: reject\n    fix: safe"),
            ["XX101", "fix"],
        ),
        (
            GOOD_RULE.replace("      - name: without\n", "").replace(
                "        body: {model: accounts/fireworks/models/kimi-k2p5, messages: []}\n"
                "        expect: []\n",
                "",
            ),
            ["examples", "at least 2 items"],
        ),
        ("rules: [1, 2", ["invalid YAML at line"]),
        ("just a string", ["must be an object"]),
        ("{}", ["needs at least 1 field"]),
        (
            "rules:\n  - !!python/object/apply:os.system ['echo pwned']",
            ["invalid YAML", "could not determine a constructor"],
        ),
    ],
)
def test_malformed_rule_files_are_rejected_with_their_location(
    tmp_path: Path, text: str, needles: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(fwcompat.RuleFileError) as info:
        fwcompat.check({}, config={"rule_files": [str(path)]})
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message, message
    assert isinstance(info.value, ValueError)


def test_duplicate_codes_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_RULE.replace("XX101", "FW401"))
    with pytest.raises(fwcompat.RuleFileError, match="duplicate rule code"):
        fwcompat.list_rules({"rule_files": [str(path)]})


def test_missing_rule_file(tmp_path: Path) -> None:
    with pytest.raises(fwcompat.RuleFileError, match="cannot read"):
        fwcompat.list_rules({"rule_files": [str(tmp_path / "nope.yaml")]})


def test_a_pack_can_be_selected_by_folder(tmp_path: Path) -> None:
    pack = tmp_path / "mypack"
    pack.mkdir()
    (pack / "pack.yaml").write_text(
        "pack:\n  name: mypack\n  title: My gateway\n  files: [rules.yaml]\n"
    )
    (pack / "rules.yaml").write_text(textwrap.dedent(GOOD_RULE))
    result = fwcompat.check({"top_k": 1}, config={"pack": str(pack)})
    assert [d.code for d in result.diagnostics] == ["XX101"]


def test_a_broken_copy_of_the_shipped_pack_names_the_file(tmp_path: Path) -> None:
    shipped = Path(fwcompat.list_rules()[0].source).parent
    copy = tmp_path / "fireworks"
    shutil.copytree(shipped, copy)
    target = copy / "40-fields.yaml"
    target.write_text(target.read_text().replace("severity: warning", "severity: loud", 1))
    with pytest.raises(fwcompat.RuleFileError) as info:
        fwcompat.list_rules({"pack": str(copy)})
    assert (
        "40-fields.yaml" in str(info.value)
        and "FW401" in str(info.value)
        and "severity" in str(info.value)
    )


def test_the_rule_cache_follows_edits_and_survives_corruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fwcompat.rulepacks import _rules

    cache = tmp_path / "cache"
    monkeypatch.delenv("FWCOMPAT_NO_CACHE", raising=False)
    monkeypatch.setenv("FWCOMPAT_CACHE_DIR", str(cache))
    path = write(tmp_path, GOOD_RULE)
    first = _rules.load_rule_file(path)
    assert first[0].rule.severity == "warning"
    assert len(list(cache.glob("rules-*"))) == 1
    path.write_text(textwrap.dedent(GOOD_RULE).replace("severity: warning", "severity: error  "))
    assert _rules.load_rule_file(path)[0].rule.severity == "error"  # edited file: cache missed
    for stale in cache.glob("rules-*"):
        stale.write_text("{not json")
    assert _rules.load_rule_file(path)[0].rule.severity == "error"  # corrupt cache: file wins
    path.write_text(textwrap.dedent(GOOD_RULE).replace("severity: warning", "severity: loud   "))
    with pytest.raises(fwcompat.RuleFileError, match="severity"):
        _rules.load_rule_file(path)


INDEX_RULE = """
rules:
  - code: XX201
    name: first-stop-sequence
    title: The first stop sequence is noted
    doc: "A test rule whose path has an index token."
    path: /stop_sequences/0
    severity: info
    action: note
    message: "first stop sequence {value}."
    examples:
      - name: a list
        body: {model: accounts/fireworks/models/kimi-k2p5, messages: [], stop_sequences: [END]}
        expect: [{code: XX201, path: /stop_sequences/0}]
      - name: none
        body: {model: accounts/fireworks/models/kimi-k2p5, messages: []}
        expect: []
"""


def test_index_tokens_select_array_elements_and_object_members(tmp_path: Path) -> None:
    """`/x/0` reads element 0 of an array and member "0" of an object, on every path."""
    config = {"rule_files": [str(write(tmp_path, INDEX_RULE))]}
    model = "accounts/fireworks/models/kimi-k2p5"
    as_list = fwcompat.check(
        {"model": model, "messages": [], "stop_sequences": ["END"]}, config=config
    )
    assert [(d.code, d.path) for d in as_list.diagnostics] == [("XX201", "/stop_sequences/0")]
    as_object = fwcompat.check(
        {"model": model, "messages": [], "stop_sequences": {"0": "END"}}, config=config
    )
    assert ("XX201", "/stop_sequences/0") in [(d.code, d.path) for d in as_object.diagnostics]


@pytest.mark.parametrize(
    ("insert", "needles"),
    [
        ("    when: {gt: many}", ["when.gt", "must be number or object"]),
        ("    when: {le: {field: thinking}}", ["when.le.field", "does not match the pattern"]),
        ("    when: {fields: {thinking/type: {equals: x}}}", ["when.fields", "JSON Pointer"]),
        ("    when: {fields: {/tools/*/name: {equals: x}}}", ["no * wildcard"]),
        ("    catch_all: true", ["catch_all", "path ending in /*"]),
    ],
)
def test_new_condition_mistakes_name_their_field(
    tmp_path: Path, insert: str, needles: list[str]
) -> None:
    path = write(tmp_path, GOOD_RULE.replace("    path: /top_k", "    path: /top_k\n" + insert))
    with pytest.raises(fwcompat.RuleFileError) as info:
        fwcompat.check({}, config={"rule_files": [str(path)]})
    for needle in needles:
        assert needle in str(info.value), str(info.value)


def test_a_table_lookup_by_another_field_needs_a_default(tmp_path: Path) -> None:
    text = GOOD_RULE.replace("    action: remove", "    action: replace\n"
                             "    replace: {table: model_map, key: /model}")  # fmt: skip
    path = write(tmp_path, text)
    with pytest.raises(fwcompat.RuleFileError, match="needs a default"):
        fwcompat.check({}, config={"rule_files": [str(path)]})


@pytest.mark.parametrize(
    "replace",
    [
        "{from: /thinking/display}",  # from: only inside members
        "{value: {type: enabled}, members: {display: {from: /thinking/display, value: x}}}",
        "{value: {type: enabled}, members: {display: {from: thinking}}}",  # not a pointer
        "{value: 3, below: max_tokens}",
    ],
)
def test_replacement_from_and_below_mistakes_are_clear_errors(tmp_path: Path, replace: str) -> None:
    text = GOOD_RULE.replace("    action: remove", f"    action: replace\n    replace: {replace}")
    path = write(tmp_path, text)
    with pytest.raises(fwcompat.RuleFileError, match="replace"):
        fwcompat.check({}, config={"rule_files": [str(path)]})
