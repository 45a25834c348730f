"""Issue 18, item 4: one error model. Every user mistake is a ConfigError or a
RuleFileError that names the flag, or the file, key and line; exit code 2 (ruff's);
and a "did you mean" from the known names."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

import fwcompat
from fwcompat.cli import main
from fwcompat.cli._packs import is_rule_file
from tests.samples import TOP_K_RULE

OK = json.dumps(
    {
        "model": "accounts/fireworks/models/kimi-k2p5",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "Hi"}],
    }
)


class Mistake(NamedTuple):
    args: tuple[str, ...]
    needles: tuple[str, ...]
    """Each must be in stderr (the last one is the "did you mean", where names are known)."""
    files: tuple[tuple[str, str], ...] = ()


MISTAKES = {
    "config key": Mistake(
        ("check", "ok.json"),
        (
            "pyproject.toml:3 [tool.fwcompat]: unknown key 'model_mapp'",
            "(did you mean 'model-map'?)",
        ),
        (("pyproject.toml", '[tool.fwcompat]\npack = "fireworks"\nmodel_mapp = {a = "b"}\n'),),
    ),
    "config key in fwcompat.toml": Mistake(
        ("check", "ok.json"),
        ("fwcompat.toml:1: unknown key 'selct'", "(did you mean 'select'?)"),
        (("fwcompat.toml", 'selct = ["FW4"]\n'),),
    ),
    "pack name (flag)": Mistake(
        ("check", "ok.json", "--pack", "firewroks"),
        ("--pack: unknown rule pack 'firewroks'", "(did you mean 'fireworks'?)"),
    ),
    "pack name (config)": Mistake(
        ("check", "ok.json"),
        ("pyproject.toml:2 [tool.fwcompat].pack: unknown rule pack", "(did you mean 'fireworks'?)"),
        (("pyproject.toml", '[tool.fwcompat]\npack = "firewroks"\n'),),
    ),
    "rule code (flag)": Mistake(
        ("check", "ok.json", "--select", "FW4099"),
        ("--select: 'FW4099' matches no rule of the 'fireworks' pack", "(did you mean 'FW409'?)"),
    ),
    "rule code (config)": Mistake(
        ("check", "ok.json"),
        ("pyproject.toml:3 [tool.fwcompat].ignore: 'FW4099' matches no rule", "(did you mean"),
        (("pyproject.toml", '[tool.fwcompat]\n# a comment\nignore = ["FW4099"]\n'),),
    ),
    "rule code spelling": Mistake(
        ("check", "ok.json", "--ignore", "fw401"),
        ("--ignore fw401: 'fw401' is not a rule code", "(did you mean 'FW401'?)"),
    ),
    "per-file-ignores code": Mistake(
        ("check", "ok.json"),
        ("pyproject.toml:2 [tool.fwcompat].per-file-ignores", "(did you mean 'FW401'?)"),
        (("pyproject.toml", '[tool.fwcompat]\nper-file-ignores = {"*.json" = ["fw401"]}\n'),),
    ),
    "table value (flag)": Mistake(
        ("check", "ok.json", "--model-map", "claude-x=nope"),
        ("--model-map claude-x=nope: model_map.claude-x: value 'nope' is not accepted",),
    ),
    "table value (config)": Mistake(
        ("check", "ok.json"),
        ("pyproject.toml:2 [tool.fwcompat].model-map.claude-x: value 'nope' is not accepted",),
        (("pyproject.toml", '[tool.fwcompat]\nmodel-map = {claude-x = "nope"}\n'),),
    ),
    "per-file-ignores unknown code": Mistake(
        ("check", "ok.json"),
        (
            "pyproject.toml:3 [tool.fwcompat].per-file-ignores: 'FW4099' matches no rule",
            "(did you mean 'FW409'?)",
        ),
        (("pyproject.toml", '[tool.fwcompat]\n\nper-file-ignores = {"x/*.json" = ["FW4099"]}\n'),),
    ),
    "severity": Mistake(
        ("check", "ok.json", "--severity", "FW401=warn"),
        ("--severity FW401=warn: 'warn' is not a severity", "(did you mean 'warning'?)"),
    ),
    "output format": Mistake(
        ("check", "ok.json", "--format", "jsn"),
        ("argument --format/--output-format: invalid choice: 'jsn'", "(did you mean 'json'?)"),
    ),
    "flag": Mistake(
        ("check", "ok.json", "--exit-zeroo"),
        ("unrecognized option '--exit-zeroo'", "(did you mean '--exit-zero'?)"),
    ),
    "command": Mistake(("chek", "ok.json"), ("unknown command 'chek'", "(did you mean 'check'?)")),
    "rule file key": Mistake(
        ("check", "ok.json", "--rule-file", "mine.yaml"),
        (
            "mine.yaml:8: rule XX101 (rules[0]): field 'acton' is not allowed here",
            "(did you mean 'action'?)",
        ),
        (("mine.yaml", TOP_K_RULE.replace("    action:", "    acton:")),),
    ),
    "pack file key": Mistake(
        ("check", "ok.json", "--pack-dir", "mypack"),
        ("pack.yaml:1: pack: field 'titel' is not allowed here", "(did you mean 'title'?)"),
        (("mypack/pack.yaml", "pack: {name: mypack, titel: Mine, files: []}\n"),),
    ),
}


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "ok.json").write_text(OK)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("name", list(MISTAKES))
def test_mistake(name: str, folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mistake = MISTAKES[name]
    for path, text in mistake.files:
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text)
    assert main(list(mistake.args)) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for needle in mistake.needles:
        assert needle in err, (needle, err)


def test_library_errors_are_config_errors_with_a_suggestion() -> None:
    """The same mistakes through the library: ConfigError (not RuleFileError)."""
    with pytest.raises(fwcompat.ConfigError, match=r"did you mean 'fireworks'\?"):
        fwcompat.check(json.loads(OK), config={"pack": "firewroks"})
    with pytest.raises(fwcompat.ConfigError, match=r"config\.select: .*did you mean 'FW401'\?"):
        fwcompat.check(json.loads(OK), config={"select": ["FW4011"]})
    with pytest.raises(fwcompat.ConfigError, match=r"did you mean 'effort_map'\?"):
        fwcompat.check(json.loads(OK), config={"efort_map": {}})
    error = fwcompat.ConfigError("bad", file="pyproject.toml", key="select", line=3)
    assert (str(error), error.file, error.key, error.line) == (
        "pyproject.toml:3: bad",
        "pyproject.toml",
        "select",
        3,
    )


def test_exit_codes(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """ruff's: 0 clean, 1 findings, 2 usage or configuration error."""
    (folder / "bad.json").write_text(json.dumps({"messages": []}))
    assert main(["check", "ok.json"]) == 0
    assert main(["check", "bad.json"]) == 1
    assert main(["check", "bad.json", "--exit-zero"]) == 0
    assert main(["check", "ok.json", "--pack", "nope"]) == 2


def test_empty_file_is_an_error_finding(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "empty.json").write_text("")
    (folder / "blank.yaml").write_text("\n  \n")
    assert main(["check", "empty.json", "blank.yaml", "ok.json"]) == 2
    out = capsys.readouterr().out
    assert "empty.json:1:1: E901 [error] empty file: expected one request" in out
    assert "blank.yaml:1:1: E901" in out
    assert "skipped" not in out


MULTI = """\
# a request, a document that is not one, and a request
model: accounts/fireworks/models/kimi-k2p5
max_tokens: 16
messages: [{role: user, content: Hi}]
service_tier: auto
---
name: not a request
---
model: accounts/fireworks/models/kimi-k2p5
max_tokens: 16
messages:
  - role: user
    content: Hi
inference_geo: us
"""


def test_multi_document_yaml(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each document is checked on its own; positions are the file's lines, and the
    report says which document (issue 18: it used to be E901)."""
    (folder / "multi.yaml").write_text(MULTI)
    assert main(["check", "multi.yaml", "--format", "json"]) == 0
    findings = json.loads(capsys.readouterr().out)
    got = [(f["line"], f["code"], f["document"], f["request_line"]) for f in findings]
    assert got == [(5, "FW401", 1, 2), (14, "FW402", 3, 9)]
    assert main(["check", "multi.yaml"]) == 0
    out = capsys.readouterr().out
    assert "multi.yaml:14:1: FW402 [*] [warning] document 3 /inference_geo:" in out
    assert "2 requests (1 file; 1 skipped: not a request)" in out
    assert main(["check", "--fix", "multi.yaml"]) == 0
    fixed = (folder / "multi.yaml").read_text()
    assert fixed == MULTI.replace("service_tier: auto\n", "").replace("inference_geo: us\n", "")
    assert "Fixed 2 issues in 1 file." in capsys.readouterr().out


def test_test_rules_hook_skips_other_tools_rules(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hook's --rule-files-only: semgrep's rules/ folder is not an fwcompat one."""
    semgrep = folder / "rules" / "python.yaml"
    semgrep.parent.mkdir()
    semgrep.write_text("rules:\n  - id: no-eval\n    pattern: eval(...)\n    message: no\n")
    marked = folder / "gateway" / "top-k.yaml"
    marked.parent.mkdir()
    schema = "# yaml-language-server: $schema=https://example.org/rule-file.schema.json\n"
    marked.write_text(schema + TOP_K_RULE)
    own = folder / "fwcompat-rules" / "top-k.yaml"
    own.parent.mkdir()
    own.write_text(TOP_K_RULE)
    assert [is_rule_file(str(p)) for p in (semgrep, marked, own)] == [False, True, True]
    assert main(["test-rules", "--rule-files-only", str(semgrep)]) == 0
    assert "No fwcompat rule files" in capsys.readouterr().out
    assert main(["test-rules", "-q", "--rule-files-only", str(semgrep), str(marked)]) == 0
    assert "Ran 2 examples from 1 source: all passed." in capsys.readouterr().out
    assert main(["test-rules", str(semgrep)]) == 2  # named without the flag: an error


def test_hook_definition_uses_the_filter() -> None:
    import yaml

    hooks = yaml.safe_load((Path(__file__).parents[2] / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "fwcompat-test-rules")
    assert "--rule-files-only" in hook["entry"]
    assert "rules/" not in str(hook.get("files", ""))


def test_serve_port_in_use_exits_2(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")
    exe = Path(sys.executable).parent / "fwcompat"
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        result = subprocess.run(
            [str(exe), "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=tmp_path,
        )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"fwcompat serve: error: cannot listen on 127.0.0.1:{port}: the port is already in use "
        "(choose another --port)"
    ]
