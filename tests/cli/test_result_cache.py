"""``fwcompat check``'s result cache: byte-identical output, exact misses, nothing trusted blindly.

Every run is a separate process, as the CLI's are. A probe runs ``main()`` and writes,
to a file of its own (stdout and stderr stay the report's), which heavy modules were
imported and how many files the result cache answered (hits) or had checked (misses):
counting, never the clock.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pathspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fwcompat.settings.file_selection import _names_only
from tests.samples import TOP_K_RULE

PROBE = r"""
import json, sys
from fwcompat.cli import _result_cache
counts = {"hits": 0, "misses": 0}
lookup, store = _result_cache.ResultCache.lookup, _result_cache.ResultCache.store
def counted_lookup(self, *args):
    found = lookup(self, *args)
    counts["hits"] += found is not None
    return found
def counted_store(self, *args):
    counts["misses"] += 1
    return store(self, *args)
_result_cache.ResultCache.lookup = counted_lookup
_result_cache.ResultCache.store = counted_store
from fwcompat.cli import main
code = main(sys.argv[2:])
heavy = ("jsonschema_rs", "fwcompat._check", "fwcompat.engine", "yaml", "fwcompat.settings")
heavy = [m for m in heavy if m in sys.modules]
with open(sys.argv[1], "w") as out:
    json.dump({"heavy": heavy, **counts}, out)
sys.exit(code)
"""

CLEAN = {
    "model": "accounts/fireworks/models/kimi-k2p5",
    "max_tokens": 64,
    "messages": [{"role": "user", "content": "Hi"}],
}
FINDINGS = {
    **CLEAN,
    "service_tier": "auto",
    "top_k": 5,
    "tools": [{"name": "f", "input_schema": {"type": "object"}, "cache_control": {"type": "x"}}],
}
YAML_DOCS = """\
model: accounts/fireworks/models/kimi-k2p5
max_tokens: 64
messages: [{role: user, content: Hi}]
service_tier: auto  # fwcompat: ignore[FW401]
---
name: not a request
---
model: claude-sonnet-4-5
max_tokens: 64
messages: [{role: user, content: Hi}]
"""


FILES = 6
"""The project's files: five under requests/, and package.json (skipped: not a request)."""


class Run:
    def __init__(self, code: int, stdout: str, stderr: str, probe: dict[str, object]) -> None:
        self.code, self.stdout, self.stderr, self.probe = code, stdout, stderr, probe

    @property
    def output(self) -> tuple[int, str, str]:
        return self.code, self.stdout, self.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "requests").mkdir(parents=True)
    (root / "requests" / "clean.json").write_text(json.dumps(CLEAN, indent=2) + "\n")
    (root / "requests" / "findings.json").write_text(json.dumps(FINDINGS, indent=2) + "\n")
    (root / "requests" / "docs.yaml").write_text(YAML_DOCS)
    (root / "requests" / "broken.json").write_text('{"model": "x", "max_tokens": 1,\n')
    (root / "requests" / "dupe.json").write_text('{"model": "a", "model": "b"}\n')
    (root / "package.json").write_text('{"name": "not-a-request"}\n')
    (root / "pyproject.toml").write_text("[tool.fwcompat]\nignore = []\n")
    return root


def run(project: Path, cache: Path | None, *args: str, replay: bool = False) -> Run:
    """``fwcompat check`` in a fresh process; ``replay``: whole-run replays allowed (off
    by default, so that the per-file cache is what these tests count)."""
    return cli(project, cache, "check", "--no-progress", *args, replay=replay)


def cli(project: Path, cache: Path | None, *args: str, replay: bool = False) -> Run:
    """Any command line, in a fresh process (see :func:`run`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FWCOMPAT_", "PYTHON"))}
    env["NO_COLOR"] = "1"
    if not replay:
        env["FWCOMPAT_NO_REPLAY"] = "1"
    if cache is None:
        env["FWCOMPAT_NO_CACHE"] = "1"
    else:
        env["FWCOMPAT_CACHE_DIR"] = str(cache)
    probe = project.parent / "probe.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(probe), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Run(done.returncode, done.stdout, done.stderr, json.loads(probe.read_text()))


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("results-*.json"))


@pytest.mark.parametrize(
    "flags",
    [
        ["--format", "text"],
        ["--format", "json"],
        ["--format", "github"],
        ["--format", "sarif"],
        ["--statistics"],
        ["--format", "json", "--statistics"],
        ["--format", "text", "--unsafe-fixes", "-v"],
        ["--format", "sarif", "--select", "FW4", "--severity", "FW401=info"],
    ],
)
def test_every_format_is_byte_identical_cold_warm_and_uncached(
    project: Path, tmp_path: Path, flags: list[str]
) -> None:
    cache = tmp_path / "cache"
    reference = run(project, None, *flags, ".")
    assert reference.code == 2  # findings and a parse error: the run is not trivial
    cold = run(project, cache, *flags, ".")
    warm = run(project, cache, *flags, ".")
    assert cold.output == reference.output
    assert warm.output == reference.output
    assert cold.probe["misses"] == FILES and cold.probe["hits"] == 0
    assert warm.probe["hits"] == FILES and warm.probe["misses"] == 0
    # every file answered: no engine, no jsonschema-rs, no YAML (the settings, yes)
    assert warm.probe["heavy"] == ["fwcompat.settings"]


def test_quiet_and_warnings_replay_through_the_same_filters(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    for flags in (["-q"], ["-v"], []):
        reference = run(project, None, *flags, "requests")
        assert run(project, cache, *flags, "requests").output == reference.output
        assert run(project, cache, *flags, "requests").output == reference.output


def test_a_changed_file_alone_is_checked_again(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run(project, cache, ".")
    (project / "requests" / "clean.json").write_text(json.dumps(FINDINGS) + "\n")
    warm = run(project, cache, ".")
    assert (warm.probe["misses"], warm.probe["hits"]) == (1, FILES - 1)
    assert warm.output == run(project, None, ".").output
    again = run(project, cache, ".")
    assert (again.probe["misses"], again.probe["hits"]) == (0, FILES)
    assert again.output == warm.output


def test_a_file_reported_under_another_path_is_checked_again(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run(project, cache, "requests/clean.json")
    other = run(project, cache, "./requests/../requests/clean.json")
    assert other.probe["hits"] == 1  # the same reported path (normalized): a hit
    moved = project / "requests" / "copy.json"
    moved.write_bytes((project / "requests" / "clean.json").read_bytes())
    copy = run(project, cache, "requests/copy.json")
    assert (copy.probe["misses"], copy.probe["hits"]) == (1, 0)
    assert copy.output == run(project, None, "requests/copy.json").output


def test_a_changed_config_misses_every_file(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run(project, cache, ".")
    (project / "pyproject.toml").write_text('[tool.fwcompat]\nignore = ["FW401"]\n')
    changed = run(project, cache, ".")
    assert (changed.probe["misses"], changed.probe["hits"]) == (FILES, 0)
    assert changed.output == run(project, None, ".").output
    flagged = run(project, cache, "--select", "FW6", ".")
    assert flagged.probe["hits"] == 0
    assert flagged.output == run(project, None, "--select", "FW6", ".").output


def test_a_changed_user_rule_file_misses_every_file(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    rules = project / "rules"
    rules.mkdir()
    (rules / "gateway.yaml").write_text(TOP_K_RULE)
    config = '[tool.fwcompat]\nrule-files = ["rules/gateway.yaml"]\n'
    (project / "pyproject.toml").write_text(config)
    first = run(project, cache, ".")
    assert "XX101" in first.stdout
    assert run(project, cache, ".").probe["hits"] == FILES + 1  # the rule file: not a request
    (rules / "gateway.yaml").write_text(TOP_K_RULE.replace("severity: warning", "severity: error"))
    changed = run(project, cache, ".")
    assert (changed.probe["misses"], changed.probe["hits"]) == (FILES + 1, 0)
    assert changed.output == run(project, None, ".").output
    assert changed.output != first.output


@pytest.mark.parametrize("damage", ["flip", "truncate", "foreign", "garbage", "folder"])
def test_a_damaged_entry_is_ignored_then_rewritten(
    project: Path, tmp_path: Path, damage: str
) -> None:
    cache = tmp_path / "cache"
    reference = run(project, None, "--format", "json", ".")
    run(project, cache, "--format", "json", ".")
    [entry] = entries(cache)
    raw = entry.read_bytes()
    if damage == "flip":
        middle = len(raw) // 2
        entry.write_bytes(raw[:middle] + bytes([raw[middle] ^ 1]) + raw[middle + 1 :])
    elif damage == "truncate":
        entry.write_bytes(raw[: len(raw) // 3])
    elif damage == "foreign":  # a valid checksum over data of another shape
        import hashlib

        stored = json.loads(raw.partition(b"\n")[2])
        for value in stored["value"]["files"].values():
            value[4] = [["f", ["not", "a", "finding"]]]
        payload = json.dumps(stored).encode()
        entry.write_bytes(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
    elif damage == "garbage":
        entry.write_bytes(os.urandom(len(raw)))
    else:
        entry.unlink()
        entry.mkdir()
    damaged = run(project, cache, "--format", "json", ".")
    assert damaged.output == reference.output
    assert damaged.probe["hits"] == 0
    if damage != "folder":  # a folder in its place cannot be replaced: it stays a miss
        repaired = run(project, cache, "--format", "json", ".")
        assert repaired.output == reference.output
        assert repaired.probe["hits"] == FILES


def test_no_cache_neither_reads_nor_writes_results(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env_less = run(project, cache, "--no-cache", ".")
    assert not cache.exists() or entries(cache) == []
    assert env_less.probe["hits"] == 0
    run(project, cache, ".")
    assert run(project, cache, "--no-cache", ".").probe["hits"] == 0


def test_fix_and_diff_do_not_use_the_result_cache(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run(project, cache, ".")
    diff = run(project, cache, "--diff", ".")
    assert diff.probe["hits"] == diff.probe["misses"] == 0
    assert diff.output == run(project, None, "--diff", ".").output
    fixed = run(project, cache, "--fix", "requests/findings.json")
    assert fixed.probe["hits"] == 0
    after = run(project, cache, "requests/findings.json")  # the fixed bytes: a miss
    assert (after.probe["misses"], after.probe["hits"]) == (1, 0)
    assert after.output == run(project, None, "requests/findings.json").output


def test_the_results_kept_are_bounded(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fwcompat.cli import _result_cache, main

    monkeypatch.setenv("FWCOMPAT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FWCOMPAT_NO_CACHE", raising=False)
    monkeypatch.setattr(_result_cache, "MAX_FILES", 3)
    monkeypatch.chdir(project)
    assert main(["check", "-q", "--no-progress", "requests"]) == 2
    [entry] = entries(tmp_path / "cache")
    stored = json.loads(entry.read_bytes().partition(b"\n")[2])
    assert len(stored["value"]["files"]) == 3


NAME = st.sampled_from(["a", "b.json", "node_modules", "build", "x1y.json", ".git", "c.yaml"])
GLOB = st.sampled_from(["*.json", "*.yaml", "node_modules", ".git", "build/", "x?y.json", "*"])


@given(
    patterns=st.lists(GLOB, min_size=1, max_size=4),
    names=st.lists(NAME, min_size=1, max_size=4),
    folder=st.booleans(),
)
def test_name_globs_match_as_pathspec_does(
    patterns: list[str], names: list[str], folder: bool
) -> None:
    """The fast path for simple name globs agrees with pathspec's gitignore rules."""
    path = "/".join(names) + ("/" if folder else "")
    spec = _names_only(tuple(patterns))
    assert spec is not None
    assert spec.match_file(path) == pathspec.GitIgnoreSpec.from_lines(patterns).match_file(path)


def test_other_patterns_go_to_pathspec() -> None:
    for pattern in ("a/b", "!x", "**/y", "[ab].json", "#c", "", ".", "a b"):
        assert _names_only((pattern,)) is None


NAMED = ["requests/clean.json", "requests/findings.json", "requests/docs.yaml", "package.json"]
"""Files named on the command line (as pre-commit runs): a run that may be replayed."""


def replayed(result: Run) -> bool:
    """The run printed a recorded output: it never even loaded the settings."""
    return "fwcompat.settings" not in result.probe["heavy"]


@pytest.mark.parametrize(
    "flags",
    [
        ["--format", "text"],
        ["--format", "json"],
        ["--format", "github"],
        ["--format", "sarif"],
        ["--statistics", "-v"],
        ["--format", "text", "requests/broken.json", "requests/dupe.json"],
    ],
)
def test_a_replayed_run_is_byte_identical(project: Path, tmp_path: Path, flags: list[str]) -> None:
    cache = tmp_path / "cache"
    reference = run(project, None, *flags, *NAMED)
    first = run(project, cache, *flags, *NAMED, replay=True)
    second = run(project, cache, *flags, *NAMED, replay=True)
    assert not replayed(first) and replayed(second)
    assert second.probe["heavy"] == []
    assert first.output == second.output == reference.output


def test_a_replay_needs_the_same_command_line_and_files(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run(project, cache, *NAMED, replay=True)
    assert replayed(run(project, cache, *NAMED, replay=True))
    assert not replayed(run(project, cache, "--format", "json", *NAMED, replay=True))
    assert not replayed(run(project, cache, "requests", replay=True))  # a folder: never
    assert not replayed(run(project, cache, "requests", replay=True))
    (project / "requests" / "clean.json").write_text(json.dumps(FINDINGS) + "\n")
    changed = run(project, cache, *NAMED, replay=True)
    assert not replayed(changed)
    assert changed.output == run(project, None, *NAMED).output
    assert replayed(run(project, cache, *NAMED, replay=True))


@pytest.mark.parametrize("where", ["project", "parent", "requests", "rule file"])
def test_a_replay_misses_on_any_settings_change(project: Path, tmp_path: Path, where: str) -> None:
    cache = tmp_path / "cache"
    rules = project / "rules.yaml"
    rules.write_text(TOP_K_RULE)
    (project / "pyproject.toml").write_text('[tool.fwcompat]\nrule-files = ["rules.yaml"]\n')
    run(project, cache, *NAMED, replay=True)
    assert replayed(run(project, cache, *NAMED, replay=True))
    if where == "project":
        (project / "pyproject.toml").write_text(
            '[tool.fwcompat]\nrule-files = ["rules.yaml"]\nignore = ["FW401"]\n'
        )
    elif where == "parent":  # not read (the project's file is nearer), but it might be
        (project.parent / "fwcompat.toml").write_text("ignore = []\n")
    elif where == "requests":  # a nearer config file appears
        (project / "requests" / ".fwcompat.toml").write_text('ignore = ["FW4"]\n')
    else:
        rules.write_text(TOP_K_RULE.replace("severity: warning", "severity: error"))
    changed = run(project, cache, *NAMED, replay=True)
    assert not replayed(changed)
    assert changed.output == run(project, None, *NAMED).output


def test_a_damaged_run_record_is_ignored(project: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    reference = run(project, None, *NAMED)
    run(project, cache, *NAMED, replay=True)
    [record] = sorted(cache.glob("runs-*.json"))
    raw = record.read_bytes()
    record.write_bytes(raw[:-5] + b"xxxxx")
    damaged = run(project, cache, *NAMED, replay=True)
    assert not replayed(damaged) and damaged.output == reference.output
    again = run(project, cache, *NAMED, replay=True)
    assert replayed(again) and again.output == reference.output


@pytest.mark.parametrize("args", [["--version"], ["check", "--help"], ["rules", "--help"]])
def test_version_and_help_load_no_engine(project: Path, tmp_path: Path, args: list[str]) -> None:
    done = cli(project, tmp_path / "cache", *args)
    assert done.code == 0 and done.stdout
    assert not {"jsonschema_rs", "fwcompat._check", "fwcompat.engine"} & set(done.probe["heavy"])


@pytest.mark.parametrize("args", [["rules"], ["rules", "--format", "json"], ["explain", "XX101"]])
def test_rules_and_explain_are_replayed_until_a_rule_file_changes(
    project: Path, tmp_path: Path, args: list[str]
) -> None:
    cache = tmp_path / "cache"
    rules = project / "rules.yaml"
    rules.write_text(TOP_K_RULE)
    (project / "pyproject.toml").write_text('[tool.fwcompat]\nrule-files = ["rules.yaml"]\n')
    reference = cli(project, None, *args)
    assert "XX101" in reference.stdout
    first = cli(project, cache, *args, replay=True)
    second = cli(project, cache, *args, replay=True)
    assert not replayed(first) and replayed(second) and second.probe["heavy"] == []
    assert first.output == second.output == reference.output
    rules.write_text(TOP_K_RULE.replace("top_k is dropped", "top_k is removed"))
    changed = cli(project, cache, *args, replay=True)
    assert not replayed(changed)
    assert changed.output == cli(project, None, *args).output != reference.output
