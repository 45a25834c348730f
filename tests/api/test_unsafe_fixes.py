"""Safe means nothing the caller asked for changes: an unsafe fix applies only on opt-in."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import fwcompat
from fwcompat._config import Config
from fwcompat.cli import main

M = "accounts/fireworks/models/kimi-k2p5"
RULE = """
rules:
  - code: XX601
    name: no-format
    title: output_config.format is dropped by this gateway
    doc: "Our gateway drops structured output."
    path: /output_config/format
    severity: warning
    action: remove
    fix: unsafe
    message: "output_config.format removed ({value})."
    examples:
      - name: with a format, opted in
        config: {unsafe_fixes: true}
        body:
          {model: %(m)s, messages: [], output_config: {format: &f {type: json_schema, schema: {}}}}
        expect:
          - {code: FW413, path: /output_config/format}
          - {code: XX601, path: /output_config/format, action: removed}
        normalized: {model: %(m)s, messages: [], output_config: {}}
      - name: with a format, not opted in
        body: {model: %(m)s, messages: [], output_config: {format: *f}}
        expect:
          - {code: FW413, path: /output_config/format}
          - {code: XX601, path: /output_config/format, severity: error, action: rejected}
"""
BODY = {
    "model": M,
    "messages": [],
    "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
}


@pytest.fixture
def rule_file(tmp_path: Path) -> str:
    path = tmp_path / "unsafe.yaml"
    path.write_text(textwrap.dedent(RULE % {"m": M}))
    return str(path)


def test_without_opt_in_an_unsafe_fix_is_an_error_and_changes_nothing(rule_file: str) -> None:
    result = fwcompat.check(BODY, config={"rule_files": [rule_file]})
    (d,) = [d for d in result.diagnostics if d.code == "XX601"]
    assert d.severity == "error" and d.action == "rejected" and d.fix is None
    assert "unsafe" in d.message and "--unsafe-fixes" in d.message
    assert result.request is BODY and not result.ok and not result.changed


def test_with_opt_in_the_unsafe_fix_applies(rule_file: str) -> None:
    result = fwcompat.check(BODY, config=Config(rule_files=(rule_file,), unsafe_fixes=True))
    (d,) = [d for d in result.diagnostics if d.code == "XX601"]
    assert d.severity == "warning" and d.action == "removed"
    assert d.fix is not None and d.fix.applicability == "unsafe"
    assert result.request["output_config"] == {} and result.ok


def test_a_severity_the_config_sets_wins_over_the_refusal(rule_file: str) -> None:
    config = {"rule_files": [rule_file], "severity": {"XX601": "warning"}}
    (d,) = [d for d in fwcompat.check(BODY, config=config).diagnostics if d.code == "XX601"]
    assert d.severity == "warning" and d.action == "rejected"


def test_a_model_map_entry_is_the_callers_own_opt_in() -> None:
    body = {"model": "claude-sonnet-4-6", "messages": [{"role": "user", "content": "Hi"}]}
    result = fwcompat.check(body, config={"model_map": {"claude-sonnet-4-6": M}})
    assert result.request["model"] == M
    (d,) = result.diagnostics
    assert d.action == "replaced" and d.fix is not None and d.fix.applicability == "unsafe"


def test_unsafe_fixes_is_a_checked_config_key() -> None:
    assert Config.from_dict({"unsafe-fixes": True}).unsafe_fixes is True
    assert Config.from_dict({"unsafe_fixes": True}).to_dict()["unsafe_fixes"] is True
    assert "unsafe_fixes" not in Config().to_dict()
    with pytest.raises(fwcompat.ConfigError, match="unsafe_fixes"):
        Config(unsafe_fixes="yes")  # type: ignore[arg-type]


def test_cli_unsafe_fixes_applies_the_fix(
    rule_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    request = tmp_path / "req.json"
    request.write_text(json.dumps(BODY))
    assert main(["check", "--rule-file", rule_file, str(request)]) == 1
    assert "XX601" in capsys.readouterr().out
    code = main(["check", "--rule-file", rule_file, "--fix", "--unsafe-fixes", str(request)])
    capsys.readouterr()
    assert code == 0
    assert json.loads(request.read_text())["output_config"] == {}
