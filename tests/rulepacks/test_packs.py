"""Packs as data: inheritance, overrides, retired codes, pack vs pack_dir, generic
config tables, opt-in rules, and the CLI that lists and tests packs."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

import fwcompat
from fwcompat._config import Config
from fwcompat.cli import main

M = "accounts/fireworks/models/kimi-k2p5"
OK = {"model": M, "max_tokens": 256, "messages": [{"role": "user", "content": "Hi"}]}

RULE = """
rules:
  - code: {code}
    name: {name}
    title: top_k is dropped by this gateway
    doc: "Our gateway drops top_k."
    path: /top_k
    severity: {severity}
    action: remove
    message: "top_k is dropped here; removed ({{value}})."
    {extra}
    examples:
      - name: with top_k
        body: {{model: {model}, messages: [], top_k: 5}}
        expect: [{{code: {code}, path: /top_k}}]
        normalized: {{model: {model}, messages: []}}
      - name: without
        body: {{model: {model}, messages: []}}
        expect: []
"""


def rule(
    code: str = "XX101", name: str = "no-top-k", severity: str = "warning", extra: str = ""
) -> str:
    return RULE.format(code=code, name=name, severity=severity, extra=extra, model=M)


def make_pack(root: Path, name: str, meta: str, files: dict[str, str]) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "pack.yaml").write_text(textwrap.dedent(meta))
    for file_name, text in files.items():
        (folder / file_name).write_text(textwrap.dedent(text))
    return folder


def codes(result: fwcompat.Result) -> list[str]:
    return [d.code for d in result.diagnostics]


# -- inheritance ------------------------------------------------------------------------


def test_a_pack_extends_another_adds_overrides_and_retires(tmp_path: Path) -> None:
    override = rule("FW401", "service-tier-unsupported", "error", "override: true").replace(
        "/top_k", "/service_tier"
    )
    folder = make_pack(
        tmp_path,
        "gateway",
        """
        pack:
          name: gateway
          extends: fireworks
          title: Our gateway in front of Fireworks
          revision: "2026-11"
          retired: {FW403: "our gateway accepts speed"}
          files: [45-gateway.yaml, 05-first.yaml]
        """,
        {
            "45-gateway.yaml": override + rule().split("rules:", 1)[1],
            "05-first.yaml": "rules: []\n",
        },
    )
    pack = fwcompat.rulepacks._packs.load_pack("fireworks", (), str(folder))
    order = [r.rule.code for r in pack.rules]
    # Merged by file name: 45-gateway.yaml runs after 40-fields.yaml, before 50-reasoning.yaml.
    assert order.index("FW409") < order.index("XX101") < order.index("FW501")
    assert order.index("FW401") < order.index("FW409")  # an override keeps its place
    assert "FW403" not in order and pack.retired["FW403"] == "our gateway accepts speed"
    assert pack.extends == "fireworks" and pack.tables.keys() >= {"model_map", "effort_map"}
    body = {**OK, "service_tier": "auto", "speed": "fast", "top_k": 3}
    result = fwcompat.check(body, config={"pack_dir": str(folder)})
    got = {d.code: d.severity for d in result.diagnostics}
    assert got["FW401"] == "error" and got["XX101"] == "warning"
    # speed: FW403 is retired (the gateway accepts it), and FW409 notes only fields the
    # provider's documentation does not name, so speed passes on unchanged.
    assert [d.code for d in result.diagnostics if d.path == "/speed"] == []
    assert result.request["speed"] == "fast"
    assert result.pack == "gateway" and result.revision == "2026-11"
    assert {d.pack for d in result.diagnostics} == {"gateway"}


@pytest.mark.parametrize(
    ("files", "needle"),
    [
        ({"a.yaml": rule("FW401", "x-y")}, "duplicate rule code"),
        ({"a.yaml": rule("XX101", extra="override: true")}, "no inherited rule has code XX101"),
        ({"a.yaml": rule("FW502")}, "code FW502 is retired"),
    ],
)
def test_inheritance_mistakes_are_clear_errors(
    tmp_path: Path, files: dict[str, str], needle: str
) -> None:
    folder = make_pack(
        tmp_path,
        "child",
        f"""
        pack:
          name: child
          extends: fireworks
          title: A child
          retired: {{FW502: "gone"}}
          files: {sorted(files)}
        """,
        files,
    )
    with pytest.raises(fwcompat.RuleFileError, match=needle):
        fwcompat.check(OK, config={"pack_dir": str(folder)})


def test_a_retired_code_cannot_come_back_in_a_user_rule_file(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text(textwrap.dedent(rule("FW502")))
    with pytest.raises(fwcompat.RuleFileError, match="FW502 is retired in the 'fireworks-r4' pack"):
        fwcompat.check(OK, config={"pack": "fireworks-r4", "rule_files": [str(extra)]})


def test_extends_cycles_and_unknown_parents_are_errors(tmp_path: Path) -> None:
    make_pack(tmp_path, "a", "pack: {name: a, title: A, extends_dir: ../b}\n", {})
    make_pack(tmp_path, "b", "pack: {name: b, title: B, extends_dir: ../a}\n", {})
    with pytest.raises(fwcompat.RuleFileError, match="cycle"):
        fwcompat.check(OK, config={"pack_dir": str(tmp_path / "a")})
    make_pack(tmp_path, "c", "pack: {name: c, title: C, extends: nope}\n", {})
    with pytest.raises(fwcompat.RuleFileError, match="unknown rule pack 'nope'"):
        fwcompat.check(OK, config={"pack_dir": str(tmp_path / "c")})


def test_the_pack_name_must_match_its_folder(tmp_path: Path) -> None:
    folder = make_pack(
        tmp_path, "mine", "pack: {name: yours, title: T, files: [r.yaml]}\n", {"r.yaml": rule()}
    )
    with pytest.raises(fwcompat.RuleFileError, match="named 'yours' but its folder is 'mine'"):
        fwcompat.check(OK, config={"pack_dir": str(folder)})


# -- pack is a name, pack_dir a path ----------------------------------------------------


def test_a_local_folder_never_shadows_a_shipped_pack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_pack(
        tmp_path,
        "deepseek",
        "pack: {name: deepseek, title: Fake, files: [r.yaml]}\n",
        {"r.yaml": rule()},
    )
    monkeypatch.chdir(tmp_path)
    result = fwcompat.check({"model": "deepseek-v4-pro", "messages": [], "top_k": 1},
                            config={"pack": "deepseek"})  # fmt: skip
    assert codes(result) == ["DS401"]  # the shipped pack, not ./deepseek
    local = fwcompat.check({"model": M, "messages": [], "top_k": 1},
                           config={"pack_dir": "deepseek"})  # fmt: skip
    assert codes(local) == ["XX101"]


def test_unknown_pack_names_list_the_shipped_ones() -> None:
    with pytest.raises(fwcompat.ConfigError) as info:  # a config mistake (issue 18)
        fwcompat.check(OK, config={"pack": "fireworkz"})
    assert "fireworks-r4" in str(info.value) and "pack_dir" in str(info.value)
    assert "(did you mean 'fireworks'?)" in str(info.value)
    with pytest.raises(fwcompat.ConfigError, match="not a pack name"):
        fwcompat.check(OK, config={"pack": "Fire Works"})


def test_packs_lists_the_shipped_packs() -> None:
    by_name = {p.name: p for p in fwcompat.packs()}
    assert set(by_name) >= {"fireworks", "fireworks-r4", "deepseek", "minimax"}
    r4 = by_name["fireworks-r4"]
    assert r4.extends == "fireworks" and r4.provider == "Fireworks AI"
    assert r4.revision.startswith("R4") and r4.source.startswith("https://docs.fireworks.ai")
    assert by_name["deepseek"].endpoint == "https://api.deepseek.com/anthropic"


def test_switching_pack_is_one_word() -> None:
    body = {"model": M, "messages": [{"role": "user", "content": "Hi"}]}
    assert codes(fwcompat.check(body)) == []
    r4 = fwcompat.check(body, config={"pack": "fireworks-r4"})
    assert codes(r4) == ["FW410"] and r4.pack == "fireworks-r4"
    assert fwcompat.check(body).pack == "fireworks"


# -- the four R4 thinking constraints, across fields -------------------------------------


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        # R4's constraints are restated, not quoted: they warn (FW510, FW511); the
        # Anthropic request schema itself rejects the budget (FW001).
        ({"thinking": {"type": "enabled"}}, ["FW510", "FW001"]),
        ({"thinking": {"type": "enabled", "budget_tokens": 100},
          "output_config": {"effort": "low"}}, ["FW511", "FW001"]),
        ({"max_tokens": 1500, "thinking": {"type": "enabled", "budget_tokens": 2000},
          "output_config": {"effort": "low"}}, ["FW512"]),
        ({"thinking": {"type": "disabled"}, "max_tokens": 10}, []),
    ],
)  # fmt: skip
def test_r4_thinking_constraints(extra: dict[str, Any], expected: list[str]) -> None:
    result = fwcompat.check({**OK, "max_tokens": 4096, **extra}, config={"pack": "fireworks-r4"})
    assert codes(result) == expected


# -- opt-in rules -------------------------------------------------------------------------

# max_tokens above every budget: FW505 keeps the budget below max_tokens (issue 15).
ADAPTIVE = {
    **OK,
    "max_tokens": 16000,
    "thinking": {"type": "adaptive"},
    "output_config": {"effort": "low"},
}


def test_an_opt_in_rule_runs_only_when_named_by_its_full_code() -> None:
    assert codes(fwcompat.check(ADAPTIVE)) == ["FW504"]
    assert codes(fwcompat.check(ADAPTIVE, config={"select": ["FW5"]})) == ["FW504"]
    on = fwcompat.check(ADAPTIVE, config={"extend_select": ["FW505"]})
    assert codes(on) == ["FW505"]
    assert on.request["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert on.diagnostics[0].fix == fwcompat.Fix("unsafe", on.request["thinking"])
    only = fwcompat.check({**ADAPTIVE, "service_tier": "x"}, config={"select": ["FW505"]})
    assert codes(only) == ["FW505"]
    ignored = fwcompat.check(ADAPTIVE, config={"extend_select": ["FW505"], "ignore": ["FW505"]})
    assert codes(ignored) == ["FW504"]
    assert "FW505" not in {r.code for r in fwcompat.list_rules()}
    assert "FW505" in {r.code for r in fwcompat.list_rules({"extend_select": ["FW505"]})}


def test_xhigh_translates_to_the_revisions_highest_effort() -> None:
    body = {**OK, "output_config": {"effort": "xhigh"}}
    fw = fwcompat.check(body, config={"extend_select": ["FW506"]})
    assert fw.request["output_config"] == {"effort": "high"}
    # R4 runs xhigh as max itself: FW506 is retired there, xhigh passes with a note.
    r4 = fwcompat.check(body, config={"pack": "fireworks-r4", "extend_select": ["FW506"]})
    assert r4.request is body and codes(r4) == ["FW515"] and r4.ok
    mapped = fwcompat.check(
        {**OK, "output_config": {"effort": "turbo"}},
        config={"pack": "fireworks-r4", "effort_map": {"turbo": "max"}},
    )  # R4's effort_map may map to max
    assert mapped.request["output_config"] == {"effort": "max"}


# -- config tables ------------------------------------------------------------------------


def test_config_tables_are_generic_and_checked_against_the_pack() -> None:
    config = {"extend_select": ["FW505"], "tables": {"thinking_budget": {"low": 4000}}}
    result = fwcompat.check(ADAPTIVE, config=config)
    assert result.request["thinking"]["budget_tokens"] == 4000
    with pytest.raises(fwcompat.ConfigError, match="has no colour_map table"):
        fwcompat.check(OK, config={"tables": {"colour_map": {"a": "b"}}})
    with pytest.raises(fwcompat.ConfigError, match="value 12 is not accepted"):
        fwcompat.check(OK, config={"tables": {"thinking_budget": {"low": 12}}})
    mapped = {"tables": {"model_map": {"claude-x": M}}}
    assert fwcompat.check({**OK, "model": "claude-x"}, config=mapped).request["model"] == M
    with pytest.raises(fwcompat.ConfigError, match="given twice"):
        Config.from_dict({"model_map": {"a": M}, "tables": {"model_map": {"b": M}}})


def test_model_map_spelled_two_ways_is_an_error() -> None:
    with pytest.raises(fwcompat.ConfigError, match="'model-map' and 'model_map' are the same key"):
        Config.from_dict({"model-map": {"a": M}, "model_map": {"b": M}})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pack": None},
        {"pack": 3},
        {"select": [1]},
        {"select": "fw4"},
        {"ignore": {"FW4": 1}},
        {"rule_files": "a.yaml"},
        {"rule_files": [None]},
        {"model_map_items": [("a", 1)]},
        {"model_map_items": [["a"]]},
        {"model_map_items": [([1], "b")]},
        {"severity_items": [("FW401", "loud")]},
        {"severity_items": [(["FW401"], "error")]},
        {"table_items": [("Bad Name", ())]},
        {"table_items": {"t": {"k": [1]}}},
        {"table_items": {"t": {"k": float("nan")}}},
        {"pack_dir": b"/tmp"},
    ],
)
def test_a_config_built_directly_is_validated(kwargs: dict[str, Any]) -> None:
    with pytest.raises(fwcompat.ConfigError):
        Config(**kwargs)


def test_a_config_built_directly_from_lists_is_hashable_and_equal_to_from_dict() -> None:
    direct = Config(select=["FW3"], rule_files=[], model_map_items=[("claude-x", M)])
    assert hash(direct) == hash(Config.from_dict({"select": ["FW3"], "model_map": {"claude-x": M}}))
    assert Config(select="FW4") == Config(select=("FW4",))
    assert fwcompat.check({**OK, "model": "claude-x"}, config=direct).request["model"] == M


# -- the command line ---------------------------------------------------------------------


def test_cli_packs_lists_name_provider_and_revision(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["packs", "--format", "json"]) == 0
    data = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert data["minimax"]["provider"] == "MiniMax" and "model_map" in data["minimax"]["tables"]


def test_cli_table_pack_dir_and_extend_select(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = tmp_path / "req.json"
    request.write_text(json.dumps(ADAPTIVE))
    args = ["normalize", str(request), "--isolated", "--extend-select", "FW505",
            "--table", "thinking_budget:low=3000"]  # fmt: skip
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["thinking"]["budget_tokens"] == 3000
    assert main(["check", str(request), "--isolated", "--table", "nope"]) == 2
    assert "NAME:KEY=VALUE" in capsys.readouterr().err


@pytest.mark.parametrize("setting", ['pack-dir = "mine"', 'pack = "./mine"'])
def test_pyproject_pack_dir_is_relative_to_the_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setting: str,
) -> None:
    make_pack(tmp_path / "cfg", "mine", "pack: {name: mine, title: Mine, files: [r.yaml]}\n",
              {"r.yaml": rule()})  # fmt: skip
    (tmp_path / "cfg" / "pyproject.toml").write_text(f"[tool.fwcompat]\n{setting}\n")
    request = tmp_path / "req.json"
    request.write_text(json.dumps({"model": M, "messages": [], "top_k": 2}))
    monkeypatch.chdir(tmp_path)
    assert main(["check", str(request), "--config", "cfg/pyproject.toml", "--no-progress"]) == 0
    assert "XX101" in capsys.readouterr().out


def test_cli_test_rules_passes_and_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(textwrap.dedent(rule()))
    assert main(["test-rules", str(good), "--isolated"]) == 0
    out = capsys.readouterr().out
    assert "ok   " in out and "Ran 2 examples from 1 source: all passed." in out
    bad = tmp_path / "bad.yaml"
    wrong = "expect: [{code: XX101, path: /top_p}]"
    bad.write_text(textwrap.dedent(rule()).replace("expect: [{code: XX101, path: /top_k}]", wrong))
    assert main(["test-rules", str(bad), "--isolated", "-q"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "XX101 'with top_k'" in out
    assert "expected XX101 at /top_p, got XX101 at /top_k" in out and "1 failed" in out
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [1, 2")
    assert main(["test-rules", str(broken), "--isolated"]) == 2
    assert "invalid YAML" in capsys.readouterr().err


def test_cli_test_rules_runs_a_whole_pack_folder(capsys: pytest.CaptureFixture[str]) -> None:
    shipped = os.path.join(os.path.dirname(fwcompat.list_rules()[0].source), "..", "minimax")
    assert main(["test-rules", shipped, "--isolated", "-q"]) == 0
    assert "all passed" in capsys.readouterr().out


def test_user_rule_file_examples_run_when_loaded(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        textwrap.dedent(rule()).replace("expect: []", "expect: [{code: XX101, path: /top_k}]")
    )
    with pytest.raises(fwcompat.RuleFileError) as info:
        fwcompat.check(OK, config={"rule_files": [str(bad)]})
    assert "example 'without' fails" in str(info.value) and str(bad) in str(info.value)


def test_a_rule_reading_another_field_sees_edits_made_before_it() -> None:
    """MM502 reads /model; MM302 replaces /model first. The prefilter ran on the original
    request, where MM502 did not match: it must still run after the edit."""
    body = {"model": "house", "max_tokens": 9, "messages": [], "thinking": {"type": "disabled"}}
    result = fwcompat.check(
        body, config={"pack": "minimax", "model_map": {"house": "MiniMax-M2.7"}}
    )
    assert codes(result) == ["MM302", "MM502"]


# -- every pack, on generated requests -----------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.strategies import requests  # noqa: E402

PACK_NAMES = sorted(p.name for p in fwcompat.packs())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=requests(), pack=st.sampled_from(PACK_NAMES))
def test_every_pack_is_total_pure_and_idempotent(body: Any, pack: str) -> None:
    """Never raises on a request, never mutates it, and a second pass has nothing to fix."""
    before = json.dumps(body, sort_keys=True)
    # FW505 is retired in fireworks-r4: selecting it there is a no-op, not an error.
    config = {"pack": pack, "extend_select": ["FW505", "FW506"] if "fireworks" in pack else []}
    once = fwcompat.check(body, config=config)
    assert json.dumps(body, sort_keys=True) == before
    assert once.pack == pack
    twice = fwcompat.check(once.request, config=config)
    assert not [d for d in twice.diagnostics if d.action in ("removed", "replaced")]
