"""Regression tests: the CLI never loses or corrupts a file, never crashes (issues 8 and 11).

Each test reproduces a reported defect through the real console script.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fwcompat.cli.sources.fixtures import REQUEST_KEYS, classify
from fwcompat.cli.sources.json_positions import json_offset
from fwcompat.cli.sources.json_reader import load_json

from .conftest import FIXTURES, Run

FIXTURES_GOOD = str(FIXTURES / "good")

MODEL = "accounts/fireworks/models/kimi-k2p5"
CACHED_TOOL = {"name": "t", "input_schema": {"type": "object"}, "cache_control": {"type": "x"}}


def request(**extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "model": MODEL,
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "hi"}],
    }
    body.update(extra)
    return body


def fixable_line() -> str:
    return json.dumps(request(tools=[CACHED_TOOL]))


# --------------------------------------------------------------------------- not requests


def test_files_that_are_not_requests_are_never_written(run: Run, tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{\n  "name": "x",\n  "version": "1.0.0"\n}\n')
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: []\n")
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    ci = "name: CI\non: [push]\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
    (workflows / "ci.yml").write_text(ci)
    (tmp_path / "req.json").write_text(fixable_line() + "\n")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = run("check", "--fix", "-v", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for path, data in before.items():
        if path.name != "req.json":
            assert path.read_bytes() == data, path
    assert "cache_control" not in (tmp_path / "req.json").read_text()
    assert "3 skipped: not a request" in result.stdout
    assert "skipped package.json: not a request" in result.stderr
    assert "True" not in result.stdout  # `on:` is never reported as /True
    plain = run("check", ".", cwd=tmp_path)
    assert plain.returncode == 0, plain.stdout
    assert "package.json" not in plain.stdout


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["name", "version", "on", "jobs", "scripts", "model", "body", "x"]),
        st.none() | st.integers() | st.text(max_size=3),
        max_size=5,
    ),
    st.sampled_from(sorted(REQUEST_KEYS)),
)
def test_request_heuristic(document: dict[str, object], request_key: str) -> None:
    """A document is a request iff it has `messages`, or `model` plus a request member;
    an envelope iff only envelope members and a request `body`."""
    kind = classify(document)
    if "messages" in document:
        assert kind == "request"
    elif "model" in document:
        assert kind is None
        assert classify({**document, request_key: 1}) == "request"
    else:
        assert kind is None
    envelope = {"body": {**document, "messages": []}, "headers": {}}
    assert classify(envelope) == "envelope"
    assert classify({**envelope, "name": "x"}) is None
    assert classify([document]) is None
    # an LLM settings file is not a request: --fix would strip its other keys
    assert classify({"model": "gpt-4", "max_tokens": 100, "temperature": 0, "api": "x"}) is None


# --------------------------------------------------------------------------- issue 11 item 1


def test_jsonl_fix_keeps_every_line_when_one_cannot_be_parsed(run: Run, tmp_path: Path) -> None:
    big = '{"model": "m", "messages": [], "max_tokens": ' + "9" * 5000 + "}"
    deep = json.dumps(request(metadata={"user_id": "u"}))[:-1] + ', "x": ' + "[" * 985
    deep += "]" * 985 + "}"
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join([fixable_line(), big, deep, fixable_line()]) + "\n")
    result = run("check", "--fix", path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = path.read_text().splitlines()
    assert len(lines) == 4
    assert lines[1] == big
    # Deeper than the parser goes from here: kept byte for byte (E901); else fixed.
    assert lines[2] in (deep, deep.replace(', "x": ' + "[" * 985 + "]" * 985, ""))
    assert "cache_control" not in lines[0] and "cache_control" not in lines[3]
    assert "a.jsonl:2:46: E901" in result.stdout


@pytest.mark.parametrize("suffix", ["json", "yaml"])
def test_big_integers_are_a_parse_error(run: Run, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"big.{suffix}"
    digits = "9" * 5000
    if suffix == "json":
        path.write_text('{"model": "m", "messages": [], "max_tokens": ' + digits + "}")
    else:
        path.write_text(f"model: m\nmessages: []\nmax_tokens: {digits}\n")
    before = path.read_bytes()
    result = run("check", "--fix", path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "a number of 5000 digits" in result.stdout
    assert path.read_bytes() == before


# --------------------------------------------------------------------------- item 2


def test_report_file_that_is_an_input_is_refused(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "req.json"
    path.write_text(fixable_line())
    result = run("check", "-o", path, path)
    assert result.returncode == 2
    assert "also an input" in result.stderr
    assert path.read_text() == fixable_line()


def test_report_file_inside_a_searched_folder_is_not_read(run: Run, tmp_path: Path) -> None:
    (tmp_path / "req.json").write_text(fixable_line())
    (tmp_path / "report.json").write_text("old report")
    result = run("check", "--format", "json", "-o", "report.json", ".", cwd=tmp_path)
    assert result.returncode == 0
    findings = json.loads((tmp_path / "report.json").read_text())
    assert {f["file"] for f in findings} == {"req.json"}


# --------------------------------------------------------------------------- items 3 and 4


def test_yaml_fix_never_edits_through_an_alias(run: Run, tmp_path: Path) -> None:
    text = (
        f"model: {MODEL}\nmax_tokens: 10\ntools:\n  - &tool\n    name: t\n"
        "    input_schema: {type: object}\n    cache_control: {type: ephemeral}\n"
        "messages:\n  - role: user\n    content: hi\n  - role: assistant\n    content:\n"
        "      - type: tool_use\n        id: x\n        name: t\n        input: *tool\n"
    )
    path = tmp_path / "alias.yaml"
    path.write_text(text)
    result = run("check", "--fix", path)
    assert path.read_text() == text
    assert "shared through a YAML alias" in result.stderr
    assert "[*]" not in result.stdout


def test_yaml_fix_keeps_every_comment(run: Run, tmp_path: Path) -> None:
    text = (
        "# header comment\n---\n"
        f"model: {MODEL}  # the model\nmax_tokens: 10\ntools:\n"
        "  - name: t\n    input_schema: {type: object}\n"
        "    cache_control: {type: ephemeral}  # goes\n"
        "    # a comment block after the removed key\n    # stays\n"
        "  - name: u\n    input_schema: {type: object}\n"
        "messages:\n  - role: user\n    content: hi\n"
    )
    path = tmp_path / "c.yaml"
    path.write_text(text)
    result = run("check", "--fix", path)
    assert result.returncode == 0, result.stdout + result.stderr
    expected = text.replace("    cache_control: {type: ephemeral}  # goes\n", "")
    assert path.read_text() == expected


# --------------------------------------------------------------------------- item 5


def test_read_only_file_is_never_replaced(run: Run, tmp_path: Path) -> None:
    for suffix in ("json", "jsonl", "yaml"):
        path = tmp_path / f"ro.{suffix}"
        path.write_text(fixable_line() + "\n")
        path.chmod(0o444)
    result = run("check", "--fix", tmp_path)
    assert result.returncode == 2
    for suffix in ("json", "jsonl", "yaml"):
        assert (tmp_path / f"ro.{suffix}").read_text() == fixable_line() + "\n"
    assert result.stdout.count("E902") == 3
    assert "read-only" in result.stdout
    assert "Fixed" not in result.stdout
    assert result.stdout.count("FW603 [warning]") == 3  # reported, not marked fixable


def _runnable_copy(dest: Path) -> None:
    """fwcompat and the packages it needs, copied where an unprivileged user can read them.

    The clone (an editable install) or the venv may live in a private folder (mode 0700,
    as many home folders are): the user the test drops to could not import from there.
    """
    import importlib.metadata as metadata
    import importlib.util

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from fwcompat.rulepacks._resources import rules_dir, schemas_dir

    package = Path(importlib.util.find_spec("fwcompat").origin or "").parent  # type: ignore[union-attr]
    shutil.copytree(package, dest / "fwcompat", ignore=shutil.ignore_patterns("__pycache__"))
    data = dest / "fwcompat" / "_data"
    if not data.exists():  # a source checkout: the wheel's layout, as _resources reads it
        shutil.copytree(rules_dir(), data / "rules")
        shutil.copytree(schemas_dir(), data / "schemas")
    wanted = set()
    for line in metadata.requires("fwcompat") or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            wanted.add(canonicalize_name(requirement.name))
    for module, dists in metadata.packages_distributions().items():
        if not any(canonicalize_name(d) in wanted for d in dists):
            continue
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        if spec.submodule_search_locations:
            shutil.copytree(origin.parent, dest / module, dirs_exist_ok=True)
        else:
            shutil.copy2(origin, dest / origin.name)
    for root, dirs, files in os.walk(dest):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)


@pytest.fixture
def as_nobody() -> Iterator[tuple[Path, list[str]]]:
    """A world-writable folder and a command prefix that drops root (permissions apply).

    The prefix runs a copy of fwcompat made in a world-readable folder, so the test does
    not depend on where the clone lives.
    """
    folder = Path(tempfile.mkdtemp(prefix="fwcompat-nobody-"))
    folder.chmod(0o777)
    runnable = Path(tempfile.mkdtemp(prefix="fwcompat-runnable-"))
    runnable.chmod(0o755)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: permissions do not apply")
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    _runnable_copy(runnable)
    try:
        yield folder, [*prefix, f"--runnable={runnable}"]
    finally:
        for root, dirs, _ in os.walk(folder):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(runnable, ignore_errors=True)


def _run_as(prefix: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the copied fwcompat (the prefix's last item names it) as the dropped user."""
    *drop, runnable = prefix
    runnable = runnable.removeprefix("--runnable=")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FWCOMPAT")}
    env["FWCOMPAT_NO_CACHE"] = "1"
    env["PYTHONPATH"] = runnable
    return subprocess.run(
        [*drop, sys.executable, "-m", "fwcompat", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=runnable,
        timeout=120,
        check=False,
    )


def _writable_by_all(path: Path) -> None:
    path.chmod(0o666 if path.is_file() else 0o777)


def test_read_only_folder_is_reported_as_a_write_failure(
    as_nobody: tuple[Path, list[str]],
) -> None:
    folder, prefix = as_nobody
    sub = folder / "ro"
    sub.mkdir()
    for suffix in ("json", "jsonl"):
        (sub / f"r.{suffix}").write_text(fixable_line() + "\n")
        _writable_by_all(sub / f"r.{suffix}")
    sub.chmod(0o555)
    result = _run_as(prefix, "check", "--fix", "--no-progress", str(sub))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout.count("cannot write the fixed file") == 2
    assert "cannot read" not in result.stdout
    assert "Fixed" not in result.stdout
    assert result.stdout.count("FW603 [warning]") == 2
    for suffix in ("json", "jsonl"):
        assert (sub / f"r.{suffix}").read_text() == fixable_line() + "\n"


# --------------------------------------------------------------------------- items 6 and 9


def test_duplicate_json_keys_are_an_error_at_the_second_key(run: Run, tmp_path: Path) -> None:
    text = '{"model": "claude-opus-4",\n "messages": [{"role": "user", "content": "hi"}],\n'
    text += f' "max_tokens": 1,\n "model": "{MODEL}"}}\n'
    path = tmp_path / "dup.json"
    path.write_text(text)
    result = run("check", "--fix", path)
    assert result.returncode == 1
    assert "dup.json:4:2: E904" in result.stdout
    assert path.read_text() == text
    yaml_path = tmp_path / "dup.yaml"
    yaml_path.write_text(f"model: x\nmessages: []\nmodel: {MODEL}\n")
    result = run("check", yaml_path)
    assert "dup.yaml:3:1: E904" in result.stdout


def test_yaml_alias_bomb_is_refused_quickly(run: Run, tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    text = f"model: {MODEL}\nmax_tokens: 1\nmessages: []\n" + "\n".join(lines)
    text += "\nservice_tier: *a8\n"
    path = tmp_path / "bomb.yaml"
    path.write_text(text)
    result = run("check", path)
    assert result.returncode == 2
    assert "aliases expand the document" in result.stdout


# --------------------------------------------------------------------------- items 11, 13, 14


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe[tool.fwcompat]\n", ("x = " + "[" * 5000 + "]" * 5000 + "\n").encode()],
    ids=["not-utf8", "deep"],
)
def test_bad_config_files_are_errors_not_tracebacks(
    run: Run, tmp_path: Path, content: bytes
) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b"[tool.fwcompat]\n" + content)
    (tmp_path / "req.json").write_text(fixable_line())
    for args in (["check", "req.json"], ["check", "--config", "pyproject.toml", "req.json"]):
        result = run(*args, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
        assert "pyproject.toml" in result.stderr
    result = run("check", "--config", "/bin/ls", "req.json", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_deep_json_member_is_located_without_a_traceback() -> None:
    text = '{"model": "m", "messages": [], "x": ' + "[" * 900 + "1" + "]" * 900 + "}"
    assert json_offset(text, ["x", *["0"] * 899]) > 0
    deeper = '{"x": ' + "[" * 3000 + "]" * 3000 + "}"
    assert json_offset(deeper, ["x", *["0"] * 2999]) >= 0  # falls back, never raises


def test_unreadable_subfolder_is_an_error(as_nobody: tuple[Path, list[str]]) -> None:
    folder, prefix = as_nobody
    sub = folder / "d" / "sub"
    sub.mkdir(parents=True)
    _writable_by_all(folder / "d")
    (sub / "r.json").write_text(fixable_line())
    sub.chmod(0o000)
    result = _run_as(prefix, "check", str(folder / "d"))
    assert result.returncode == 2, result.stdout
    assert "E902" in result.stdout and "cannot read folder" in result.stdout
    assert "All checks passed" not in result.stdout


def test_empty_path_and_empty_stdin(run: Run) -> None:
    result = run("check", "")
    assert result.returncode == 2
    assert "empty path" in result.stderr
    result = run("check", "-", input="")
    assert result.returncode == 2
    assert "E901" in result.stdout and "FW001" not in result.stdout


def test_non_string_yaml_keys_are_reported_where_they_are(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "keys.yaml"
    path.write_text(f"model: {MODEL}\nmax_tokens: 1\nmessages: []\nnull: 1\non: 2\n")
    result = run("check", path)
    assert result.returncode == 1
    assert "keys.yaml:4:1: E905" in result.stdout
    assert "keys.yaml:5:1: E905" in result.stdout
    assert "/True" not in result.stdout and "/None" not in result.stdout


def test_normalize_never_prints_nan(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "nan.yaml"
    path.write_text(f"model: {MODEL}\nmax_tokens: 1\ntemperature: .nan\nmessages: []\n")
    result = run("normalize", path)
    assert "NaN" not in result.stdout
    assert result.returncode == 1
    assert "E906" in result.stderr or "FW" in result.stderr
    json_nan = tmp_path / "nan.json"
    json_nan.write_text('{"model": "m", "max_tokens": 1, "messages": [], "temperature": NaN}')
    result = run("normalize", json_nan)
    assert "NaN" not in result.stdout
    assert result.returncode != 0


def test_load_json_reports_duplicates_in_jsonl_lines() -> None:
    unit = load_json('{"a": 1, "a": 2}', line=7)
    assert [(p.code, p.line, p.column) for p in unit.problems] == [("E904", 7, 10)]


def test_report_to_dev_null_never_replaces_it(run: Run) -> None:
    import stat

    before = os.stat(os.devnull)
    result = run("check", "-o", os.devnull, FIXTURES_GOOD)
    assert result.returncode == 0
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_yaml_replacement_keeps_the_scalar_style(run: Run, tmp_path: Path) -> None:
    from fwcompat.cli._fix_yaml import _yaml_scalar

    path = tmp_path / "effort.yaml"
    text = f"model: {MODEL}\nmax_tokens: 1\nmessages: []\noutput_config:\n  effort: max  # x\n"
    path.write_text(text)
    result = run("check", "--fix", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert path.read_text() == text.replace("effort: max", "effort: high")
    assert _yaml_scalar("on", "") == '"on"'  # plain `on` would read back as true
    assert _yaml_scalar("1.0", "") == '"1.0"'
    assert _yaml_scalar("it's", "'") == "'it''s'"
