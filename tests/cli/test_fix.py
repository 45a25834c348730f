"""`--fix`, `--unsafe-fixes` and `--diff`: format kept, atomic, idempotent, re-checks clean."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import yaml

import fwcompat

from .conftest import Run


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_fix_then_recheck_is_clean(run: Run, fixtures: Path) -> None:
    bad = fixtures / "bad"
    before = {name: (bad / name).read_text() for name in ("fixable.json", "fixable.yaml")}
    result = run("check", "--fix", bad / "fixable.json", bad / "fixable.yaml")
    assert result.returncode == 0, result.stdout
    assert "Fixed 4 issues in 2 files." in result.stdout
    assert "All checks passed" in result.stdout
    recheck = run("check", "--fail-on", "info", bad / "fixable.json", bad / "fixable.yaml")
    assert recheck.returncode == 0, recheck.stdout
    # the fixed files hold exactly the normalized requests
    for name, text in before.items():
        original = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
        fixed = (bad / name).read_text()
        new = json.loads(fixed) if name.endswith(".json") else yaml.safe_load(fixed)
        assert new == fwcompat.normalize(original)


def test_fix_keeps_json_format(run: Run, fixtures: Path) -> None:
    path = fixtures / "bad" / "fixable.json"
    before = path.read_text().splitlines()
    run("check", "--fix", path)
    after = path.read_text().splitlines()
    # only the two edited lines differ; indent, key order and inline objects stay
    removed = [line for line in before if line not in after]
    added = [line for line in after if line not in before]
    assert removed == [
        '    "service_tier": "auto",',
        '        {"name": "get", "input_schema": {"type": "object"}, '
        '"cache_control": {"type": "ephemeral"}}',
    ]
    assert added == ['        {"name": "get", "input_schema": {"type": "object"}}']
    assert path.read_text().endswith("}\n")


def test_fix_keeps_yaml_comments(run: Run, fixtures: Path) -> None:
    path = fixtures / "bad" / "envelope.yaml"
    result = run("check", "--fix", path)
    assert result.returncode == 1  # the /v1 base URL is an error no fix can make
    text = path.read_text()
    assert text.startswith("# A recorded call")
    assert "# keep this comment" in text
    assert "service_tier" not in text
    assert "cache_control" not in text
    assert 'anthropic-version: "2023-06-01"' in text  # quoting kept
    # the remaining findings are reported at their position in the fixed file
    lines = [line for line in result.stdout.splitlines() if ": FW" in line]
    assert [line.split(": ")[1].split()[0] for line in lines] == ["FW101", "FW201"]
    assert lines[0].startswith(f"{path.name}:2:1:") or ":2:1:" in lines[0]


def test_fix_jsonl_rewrites_only_changed_lines(run: Run, fixtures: Path) -> None:
    path = fixtures / "bad" / "recorded.jsonl"
    before = path.read_bytes().split(b"\n")
    result = run("check", "--fix", path)
    assert result.returncode == 1  # adaptive thinking stays an error
    after = path.read_bytes().split(b"\n")
    assert len(after) == len(before)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert changed == [0]
    assert b'"speed"' not in after[0]
    assert "FW504" in result.stdout
    assert "FW403" not in result.stdout


def test_diff_writes_nothing(run: Run, fixtures: Path) -> None:
    before = digest(fixtures)
    result = run("check", "--diff", fixtures / "bad")
    assert digest(fixtures) == before
    assert result.returncode == 1
    diff = result.stdout
    assert "--- a/" in diff
    assert "+++ b/" in diff
    assert '-    "service_tier": "auto",' in diff
    assert "-  service_tier: auto" in diff
    assert "Would fix 7 issues in 4 files." in result.stderr
    # --diff wins over --fix
    run("check", "--fix", "--diff", fixtures / "bad")
    assert digest(fixtures) == before


def test_unsafe_fixes_need_the_flag(run: Run, fixtures: Path) -> None:
    path = fixtures / "bad" / "claude-model.json"
    mapping = ("--model-map", "claude-sonnet-4-5=accounts/fireworks/models/kimi-k2p5")
    original = path.read_bytes()
    safe = run("check", "--fix", *mapping, path)
    assert path.read_bytes() == original  # a model swap is unsafe
    assert "1 fixable with --fix --unsafe-fixes" in safe.stdout
    assert "[*]" not in safe.stdout
    assert safe.returncode == 0  # the mapped model is a warning, not an error
    shown = run("check", "--unsafe-fixes", *mapping, path)
    assert "FW303 [*]" in shown.stdout
    unsafe = run("check", "--fix", "--unsafe-fixes", *mapping, path)
    assert unsafe.returncode == 0
    assert json.loads(path.read_text())["model"] == "accounts/fireworks/models/kimi-k2p5"
    assert path.read_text().count("\n") == original.decode().count("\n")
    assert run("check", "--fail-on", "info", path).returncode == 0


def test_fix_is_idempotent_and_atomic(run: Run, fixtures: Path) -> None:
    bad = fixtures / "bad"
    os.chmod(bad / "fixable.json", 0o640)
    run("check", "--fix", bad)
    first = digest(fixtures)
    second = run("check", "--fix", bad)
    assert digest(fixtures) == first
    assert "Fixed" not in second.stdout
    assert "fixable with --fix" not in second.stdout
    assert not [p for p in fixtures.rglob("*") if "fwcompat-tmp" in p.name]
    assert (bad / "fixable.json").stat().st_mode & 0o777 == 0o640


def test_fix_never_touches_malformed_files(run: Run, fixtures: Path) -> None:
    before = digest(fixtures / "malformed")
    result = run("check", "--fix", fixtures / "malformed")
    assert result.returncode == 2
    assert digest(fixtures / "malformed") == before
    assert not list((fixtures / "malformed").glob(".*"))


def test_exit_non_zero_on_fix(run: Run, fixtures: Path) -> None:
    path = fixtures / "bad" / "fixable.json"
    assert run("check", "--fix", "--exit-non-zero-on-fix", path).returncode == 1
    assert run("check", "--fix", "--exit-non-zero-on-fix", path).returncode == 0


def test_fix_follows_symlinks_and_keeps_them(run: Run, fixtures: Path) -> None:
    real = fixtures / "bad" / "fixable.json"
    link = fixtures / "link.json"
    link.symlink_to(real)
    run("check", "--fix", link)
    assert link.is_symlink()
    assert "service_tier" not in real.read_text()


def test_yaml_that_cannot_round_trip_is_left_alone(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    text = (
        "model: accounts/fireworks/models/kimi-k2p5\n"
        "service_tier: auto\n"
        "service_tier: auto\n"
        "messages:\n  - {role: user, content: hi}\n"
    )
    path.write_text(text)
    result = run("check", "--fix", path)
    assert path.read_text() == text
    assert "not fixed" in result.stderr
    assert "Traceback" not in result.stderr


def test_yaml_fix_keeps_anchors_indent_and_flow_style(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(
        "model: accounts/fireworks/models/kimi-k2p5\n"
        "# shared conversation\n"
        "messages: &conversation\n"
        "  - {role: user, content: hi}\n"
        "speed: fast\n"
    )
    run("check", "--fix", path)
    assert path.read_text() == (
        "model: accounts/fireworks/models/kimi-k2p5\n"
        "# shared conversation\n"
        "messages: &conversation\n"
        "  - {role: user, content: hi}\n"
    )
