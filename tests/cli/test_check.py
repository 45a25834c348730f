"""`fwcompat check` over tests/fixtures: exit codes, positions, summaries, config."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

import fwcompat

from .conftest import FIXTURES, REPO, Run

LINE = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]+\d+)(?P<fix> \[\*\])? "
    r"\[(?P<severity>error|warning|info)\] (?P<rest>.*)$"
)


def position(text: str, needle: str, start_line: int = 1) -> tuple[int, int]:
    """1-based (line, col) of the first ``needle`` on or after ``start_line``."""
    lines = text.splitlines()
    for number in range(start_line, len(lines) + 1):
        col = lines[number - 1].find(needle)
        if col >= 0:
            return number, col + 1
    raise AssertionError(f"{needle!r} not in text")


def findings(stdout: str) -> list[dict[str, str]]:
    return [m.groupdict() for m in map(LINE.match, stdout.splitlines()) if m]


def test_good_fixtures_pass(run: Run) -> None:
    result = run("check", FIXTURES / "good")
    assert result.returncode == 0, result.stdout + result.stderr
    assert findings(result.stdout) == []
    assert "All checks passed: 5 requests (4 files)." in result.stdout


def test_bad_fixtures_fail_with_positions(run: Run) -> None:
    result = run("check", ".", cwd=FIXTURES / "bad")
    assert result.returncode == 1, result.stderr
    got = {(f["file"], int(f["line"]), int(f["col"]), f["code"]) for f in findings(result.stdout)}

    def at(name: str, needle: str, code: str, start: int = 1) -> tuple[str, int, int, str]:
        text = (FIXTURES / "bad" / name).read_text()
        return (name, *position(text, needle, start), code)

    expected = {
        # JSON: the key of the member, the array element's own position
        at("fixable.json", '"service_tier"', "FW401"),
        at("fixable.json", '"cache_control"', "FW603"),
        at("claude-model.json", '"model"', "FW304"),
        # YAML envelope: url and header findings point into the envelope
        at("envelope.yaml", "base_url", "FW101"),
        at("envelope.yaml", "anthropic-version", "FW201"),
        at("envelope.yaml", "service_tier", "FW401"),
        at("envelope.yaml", "cache_control", "FW603"),
        at("fixable.yaml", "inference_geo", "FW402"),
        at("fixable.yaml", "effort", "FW502"),
        # JSONL: the line of the request, the column within that line
        at("recorded.jsonl", '"speed"', "FW403"),
        at("recorded.jsonl", '"type": "adaptive"', "FW504", start=3),
    }
    assert got == expected
    assert "[*]" in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    assert summary.startswith("Found 3 errors, 7 warnings, 1 info in 7 requests (5 files)")
    assert "7 fixable with --fix" in summary


def test_jsonl_line_numbers_count_blank_lines(run: Run) -> None:
    result = run("check", FIXTURES / "bad" / "recorded.jsonl", "--format", "json")
    data = json.loads(result.stdout)
    assert [(d["line"], d["code"]) for d in data] == [(1, "FW403"), (3, "FW504")]
    assert all(d["request_line"] == d["line"] for d in data)


def test_default_command_and_python_m(run: Run) -> None:
    target = FIXTURES / "bad" / "fixable.json"
    explicit = run("check", target)
    implicit = run(target)
    module = run("-m", "fwcompat", target, exe=[sys.executable])
    module_check = run("-m", "fwcompat", "check", target, exe=[sys.executable])
    assert explicit.returncode == implicit.returncode == module.returncode == 0
    assert explicit.stdout == implicit.stdout == module.stdout == module_check.stdout
    assert "FW401" in explicit.stdout


def test_fail_on(run: Run) -> None:
    target = FIXTURES / "bad" / "fixable.json"
    assert run("check", target).returncode == 0  # warnings only
    assert run("check", target, "--fail-on", "warning").returncode == 1
    assert run("check", target, "--fail-on", "error").returncode == 0
    envelope = FIXTURES / "bad" / "envelope.yaml"
    assert run("check", envelope, "--ignore", "FW101").returncode == 0
    assert run("check", envelope, "--ignore", "FW101", "--fail-on", "info").returncode == 1


def test_output_matches_library(run: Run) -> None:
    """The CLI reports exactly the diagnostics fwcompat.check() returns."""
    target = FIXTURES / "bad" / "fixable.json"
    result = fwcompat.check(json.loads(target.read_text()))
    data = json.loads(run("check", target, "--format", "json").stdout)
    assert sorted((d["code"], d["pointer"]) for d in data) == sorted(
        (d.code, d.path) for d in result.diagnostics
    )


def test_select_and_severity_flags(run: Run) -> None:
    target = FIXTURES / "bad" / "envelope.yaml"
    data = json.loads(run("check", target, "--select", "FW6", "--format", "json").stdout)
    assert [d["code"] for d in data] == ["FW603"]
    result = run("check", target, "--select", "FW6", "--severity", "FW603=error")
    assert result.returncode == 1
    assert "FW603 [*] [error]" in result.stdout


def test_bad_flags_are_usage_errors(run: Run) -> None:
    target = FIXTURES / "good" / "minimal.json"
    for args in (
        ["--format", "xml"],
        ["--severity", "FW603"],
        ["--severity", "FW603=fatal"],
        ["--fail-on", "never"],
        ["--select", "not a code"],
        ["--ignore", "FW999"],
    ):
        result = run("check", target, *args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
        assert result.stderr.strip(), args


def test_stdin(run: Run) -> None:
    text = (FIXTURES / "bad" / "fixable.json").read_text()
    result = run("check", "-", "--stdin-filename", "req.json", input=text)
    assert result.returncode == 0
    assert {f["file"] for f in findings(result.stdout)} == {"req.json"}
    fixed = run("check", "--fix", "-", input=text)
    assert json.loads(fixed.stdout) == fwcompat.check(json.loads(text)).request
    assert "FW401" not in fixed.stderr  # fixed, so not reported as remaining
    yaml_text = (FIXTURES / "bad" / "fixable.yaml").read_text()
    result = run("check", "-", "--stdin-filename", "x.yaml", input=yaml_text)
    assert {f["code"] for f in findings(result.stdout)} == {"FW402", "FW502"}
    jsonl = (FIXTURES / "bad" / "recorded.jsonl").read_text()
    result = run("check", "-", input=jsonl)
    assert [(f["line"], f["code"]) for f in findings(result.stdout)] == [
        ("1", "FW403"),
        ("3", "FW504"),
    ]


def test_unreadable_and_malformed(run: Run, tmp_path: Path) -> None:
    malformed = FIXTURES / "malformed"
    result = run("check", malformed)
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    got = {(Path(f["file"]).name, f["line"], f["col"], f["code"]) for f in findings(result.stdout)}
    assert got == {
        ("broken.json", "4", "1", "E901"),
        ("broken.yaml", "4", "4", "E901"),
        ("latin1.json", "1", "12", "E901"),
    }
    (tmp_path / "dangling.json").symlink_to(tmp_path / "nowhere.json")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    multi = tmp_path / "multi.yaml"  # several documents: each is checked (issue 18), none
    multi.write_text("model: a\n---\nmodel: b\n")  # is a request here, so no finding
    result = run(
        "check",
        tmp_path / "missing.json",
        tmp_path / "dangling.json",
        binary,
        deep,
        multi,
        FIXTURES / "good" / "minimal.json",
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    codes = {Path(f["file"]).name: f["code"] for f in findings(result.stdout)}
    assert codes == {
        "missing.json": "E902",
        "dangling.json": "E902",
        "binary.yaml": "E901",
        "deep.json": "E901",
    }
    assert "6 files" in result.stdout.splitlines()[-1]


def test_malformed_jsonl_lines_do_not_stop_the_file(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    good = (FIXTURES / "good" / "recorded.jsonl").read_text().splitlines()[0]
    path.write_bytes(good.encode() + b"\n{not json\n" + b'{"model": "\xff"}\n' + b"[1, 2]\n")
    result = run("check", path, "--format", "json")
    assert result.returncode == 2
    data = json.loads(result.stdout)
    by_line = {d["line"]: d["code"] for d in data}
    assert by_line[2] == "E901"
    assert by_line[3] == "E901"
    assert 4 not in by_line  # a list is not a request: skipped, never reported on
    assert 1 not in by_line


def test_config_from_pyproject(run: Run, tmp_path: Path) -> None:
    project = tmp_path / "project"
    sub = project / "requests" / "deep"
    sub.mkdir(parents=True)
    (sub / "req.json").write_text((FIXTURES / "bad" / "claude-model.json").read_text())
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.fwcompat]\nignore = ["FW4"]\n'
        'model-map = { "claude-sonnet-4-5" = "accounts/fireworks/models/kimi-k2p5" }\n'
    )
    result = run("check", "req.json", "--format", "json", cwd=sub)
    data = json.loads(result.stdout)
    assert [(d["code"], d["action"]) for d in data] == [("FW303", "replaced")]
    assert data[0]["fix"] == {
        "applicability": "unsafe",
        "replacement": "accounts/fireworks/models/kimi-k2p5",
    }
    # --isolated ignores the file: the Anthropic name is an error again
    isolated = run("check", "req.json", "--isolated", "--format", "json", cwd=sub)
    assert [d["code"] for d in json.loads(isolated.stdout)] == ["FW304"]
    assert isolated.returncode == 1
    # a flag overrides the file
    flagged = run(
        "check",
        "req.json",
        "--model-map",
        "claude-sonnet-4-5=accounts/acme/models/m",
        "--format",
        "json",
        cwd=sub,
    )
    assert json.loads(flagged.stdout)[0]["fix"]["replacement"] == "accounts/acme/models/m"


def test_config_errors_name_the_key(run: Run, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.fwcompat]\nignroe = ["FW401"]\n')
    target = FIXTURES / "good" / "minimal.json"
    result = run("check", target, cwd=tmp_path)
    assert result.returncode == 2
    assert "ignroe" in result.stderr
    assert "Traceback" not in result.stderr
    (tmp_path / "pyproject.toml").write_text("[tool.fwcompat\n")
    result = run("check", target, cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid TOML" in result.stderr
    settings = tmp_path / "fwcompat.toml"
    settings.write_text('select = ["FW4"]\n')
    result = run(
        "check",
        FIXTURES / "bad" / "envelope.yaml",
        "--config",
        settings,
        "--format",
        "json",
        cwd=REPO,
    )
    assert {d["code"] for d in json.loads(result.stdout)} == {"FW401"}
    result = run("check", target, "--config", tmp_path / "nope.toml")
    assert result.returncode == 2
    assert "nope.toml" in result.stderr


def test_rules_and_explain(run: Run) -> None:
    result = run("rules")
    assert result.returncode == 0
    listed = {line.split()[0] for line in result.stdout.splitlines()[1:] if line.startswith("FW")}
    assert listed == {r.code for r in fwcompat.list_rules()}
    data = json.loads(run("rules", "--format", "json").stdout)
    assert [r["code"] for r in data] == [r.code for r in fwcompat.list_rules()]
    rule = next(r for r in fwcompat.list_rules() if r.code == "FW603")
    explained = run("explain", "FW603")
    assert explained.returncode == 0
    text = " ".join(explained.stdout.split())
    assert rule.title in text
    assert " ".join(rule.doc.split()) in text
    assert "Examples:" in text
    assert json.loads(run("explain", "fw603", "--format", "json").stdout)["code"] == "FW603"
    missing = run("explain", "FW999")
    assert missing.returncode == 2
    assert "FW999" in missing.stderr


def test_normalize_prints_the_normalized_request(run: Run) -> None:
    target = FIXTURES / "bad" / "fixable.json"
    result = run("normalize", target)
    assert result.returncode == 0
    assert json.loads(result.stdout) == fwcompat.normalize(json.loads(target.read_text()))
    assert "FW401" in result.stderr
    jsonl = run("normalize", FIXTURES / "good" / "recorded.jsonl")
    assert len(jsonl.stdout.splitlines()) == 2
    assert all("messages" in json.loads(line) for line in jsonl.stdout.splitlines())


def test_light_commands_do_not_import_the_fixer(run: Run) -> None:
    for args in (["--help"], ["rules"], ["explain", "FW603"], ["check", str(FIXTURES / "good")]):
        result = run("-X", "importtime", "-m", "fwcompat", *args, exe=[sys.executable])
        assert result.returncode == 0, args
        imported = result.stderr
        assert "fwcompat.cli._fix" not in imported, args
        assert "difflib" not in imported, args


@pytest.mark.parametrize("name", ["fixable.json", "envelope.yaml", "recorded.jsonl"])
def test_parallel_batches_are_independent(run: Run, fixtures: Path, name: str) -> None:
    """pre-commit runs several batches at once; a file's findings never depend on the batch."""
    alone = findings(run("check", fixtures / "bad" / name).stdout)
    together = [
        f
        for f in findings(run("check", fixtures / "bad", fixtures / "good").stdout)
        if f["file"].endswith(name)
    ]
    assert alone == together
