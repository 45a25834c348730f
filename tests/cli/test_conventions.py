"""ruff's and check-jsonschema's conventions (issue 8): a CLI that behaves as users expect."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from fwcompat.cli import SUBCOMMANDS, Subcommand, _subparsers, build_parser

from .conftest import FIXTURES, Run


def test_diff_exits_1_when_changes_are_pending(run: Run, fixtures: Path) -> None:
    bad = fixtures / "bad" / "fixable.json"
    before = bad.read_text()
    elsewhere = fixtures.parent / "elsewhere"
    elsewhere.mkdir()
    result = run("check", "--diff", bad, cwd=elsewhere)
    assert result.returncode == 1
    assert result.stdout.startswith(f"--- {bad}\n+++ {bad}\n")  # absolute: no a// prefix
    assert bad.read_text() == before
    rel = run("check", "--diff", "bad/fixable.json", cwd=fixtures)
    assert rel.stdout.startswith("--- a/bad/fixable.json\n+++ b/bad/fixable.json\n")
    assert "Would fix 2 issues in 1 file." in rel.stderr
    assert "fixable with --fix" not in rel.stderr  # what the diff fixes is not "still fixable"
    clean = run("check", "--diff", fixtures / "good" / "minimal.json")
    assert clean.returncode == 0
    assert clean.stdout == ""


def test_fixed_findings_are_not_counted_as_fixable(run: Run, fixtures: Path) -> None:
    result = run("check", "--fix", fixtures / "bad" / "fixable.json")
    assert result.returncode == 0
    assert "Fixed 2 issues in 1 file." in result.stdout
    assert "fixable" not in result.stdout


def test_did_you_mean(run: Run, tmp_path: Path) -> None:
    result = run("chek", str(FIXTURES / "good"))
    assert result.returncode == 2
    assert "unknown command 'chek' (did you mean 'check'?)" in result.stderr
    result = run("check", "--fixx", str(FIXTURES / "good"))
    assert result.returncode == 2
    assert "usage: fwcompat check" in result.stderr
    assert "did you mean '--fix'?" in result.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.fwcompat]\nmodel_mapp = {a = "b"}\n')
    result = run("check", str(FIXTURES / "good"), cwd=tmp_path)
    assert result.returncode == 2
    assert "did you mean 'model-map'?" in result.stderr
    # a file named like a command is still a file
    (tmp_path / "pyproject.toml").unlink()
    (tmp_path / "chek").write_text((FIXTURES / "good" / "minimal.json").read_text())
    assert run("chek", cwd=tmp_path).returncode == 0


def test_did_you_mean_covers_subcommands_added_later(monkeypatch: object) -> None:
    from fwcompat.cli import _mistyped_command

    lint = Subcommand("lint-later", "lint", "lint", lambda parser: None, lambda args: 0)
    SUBCOMMANDS["lint-later"] = lint
    try:
        commands = list(_subparsers(build_parser()))
        assert "lint-later" in commands
        assert _mistyped_command(["lint-latr"], commands) == (
            "unknown command 'lint-latr' (did you mean 'lint-later'?)"
        )
    finally:
        del SUBCOMMANDS["lint-later"]


def test_every_subcommand_and_option_has_help() -> None:
    parser = build_parser()
    for name, subparser in _subparsers(parser).items():
        assert subparser.description, name
        for action in subparser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)


def test_config_errors_name_the_flag_as_written(run: Run) -> None:
    result = run("check", "--severity", "FW401=loud", str(FIXTURES / "good"))
    assert result.returncode == 2
    assert "--severity FW401=loud: 'loud' is not a severity" in result.stderr
    assert "command line" not in result.stderr
    result = run("check", "--select", "fw4", str(FIXTURES / "good"))
    assert result.returncode == 2
    assert "--select fw4:" in result.stderr


def test_config_file_errors_name_the_key_as_written(run: Run, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.fwcompat]\nmodel-map = { a = 1 }\n")
    result = run("check", str(FIXTURES / "good"), cwd=tmp_path)
    assert result.returncode == 2
    assert "[tool.fwcompat].model-map.a: value 1" in result.stderr


def test_paths_after_options(run: Run) -> None:
    result = run("check", str(FIXTURES / "good" / "minimal.json"), "--fail-on", "info", "-")
    assert result.returncode == 2  # both paths read: stdin is empty
    assert "<stdin>" in result.stdout


def test_normalize_writes_json_lines_and_nothing_for_rejected(run: Run, tmp_path: Path) -> None:
    good = FIXTURES / "good" / "minimal.json"
    fixable = FIXTURES / "bad" / "fixable.json"
    result = run("normalize", good, fixable)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert all(isinstance(json.loads(line), dict) for line in lines)
    single = run("normalize", good)
    assert single.stdout.startswith("{\n  ")  # one file: indented
    rejected = run("normalize", FIXTURES / "bad" / "claude-model.json")
    assert rejected.returncode == 1
    assert rejected.stdout == ""
    assert "FW304" in rejected.stderr


def test_include_exclude_as_ruff(run: Run, tmp_path: Path) -> None:
    for folder in ("a", "b", "b/skip"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / "bad" / "claude-model.json", tmp_path / folder / "req.json")
    shutil.copy(FIXTURES / "bad" / "claude-model.json", tmp_path / "a" / "req.txt")

    def files(*args: str) -> set[str]:
        result = run("check", "--format", "json", *args, cwd=tmp_path)
        return {f["file"] for f in json.loads(result.stdout)}

    assert files(".") == {"a/req.json", "b/req.json", "b/skip/req.json"}
    assert files(".", "--extend-exclude", "skip") == {"a/req.json", "b/req.json"}
    assert files(".", "--exclude", "b") == {"a/req.json"}
    assert files(".", "--include", "*.txt") == {"a/req.txt"}
    # named on the command line: checked unless --force-exclude (pre-commit)
    assert files("b/skip/req.json", "--extend-exclude", "skip") == {"b/skip/req.json"}
    assert files("b/skip/req.json", "--extend-exclude", "skip", "--force-exclude") == set()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.fwcompat]\nextend-exclude = ["b/skip"]\ninclude = ["*.json"]\n'
    )
    assert files(".") == {"a/req.json", "b/req.json"}
    (tmp_path / "pyproject.toml").write_text('[tool.fwcompat]\nexclude = "b"\n')
    result = run("check", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "exclude: expected a list of glob patterns" in result.stderr


def test_pre_commit_default_files_pattern() -> None:
    import re

    import yaml

    from .conftest import REPO

    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    request_hooks = [h for h in hooks if h["entry"].startswith("fwcompat check")]
    assert {h["id"] for h in request_hooks} == {"fwcompat-check", "fwcompat-fix"}
    for hook in request_hooks:
        pattern = re.compile(hook["files"])
        assert "--force-exclude" in hook["entry"]
        for name in (
            "requests/a.json",
            "tests/fixtures/bad/x.yaml",
            "recordings/day.jsonl",
            "api/chat.request.json",
        ):
            assert pattern.search(name), (hook["id"], name)
        for name in ("package.json", ".pre-commit-config.yaml", ".github/workflows/ci.yml"):
            assert not pattern.search(name), (hook["id"], name)
