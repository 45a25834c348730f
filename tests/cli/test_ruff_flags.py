"""Issue 18, item 3: ruff's conventions in `fwcompat check`, one row per flag or setting.

Each row runs the real command line (``fwcompat.cli.main``) in one small project and
states the exit code and what must (and must not) be printed. The project:

- ``pyproject.toml``: ``per-file-ignores`` turns FW401 off under ``legacy/``;
- ``sub/fwcompat.toml``: the nearest config of ``sub/``, ignores FW401;
- ``.gitignore`` ignores ``ignored/`` (the folder is a git work tree: ``.git``);
- ``requests/nomodel.json`` has an error (FW301), every ``tier`` file a warning (FW401).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from fwcompat.cli import main
from fwcompat.cli.sources.suppression import inline_ignores

TIER = (
    "model: accounts/fireworks/models/kimi-k2p5\n"
    "max_tokens: 16\n"
    "messages: [{role: user, content: Hi}]\n"
    "service_tier: auto\n"
)
TIER_JSON = json.dumps(
    {
        "model": "accounts/fireworks/models/kimi-k2p5",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "Hi"}],
        "service_tier": "auto",
    }
)
NO_MODEL = json.dumps({"max_tokens": 16, "messages": [{"role": "user", "content": "Hi"}]})
FILES = {
    ".git/HEAD": "ref: refs/heads/main\n",
    ".gitignore": "ignored/\n",
    "pyproject.toml": '[tool.fwcompat]\nper-file-ignores = {"legacy/*.yaml" = ["FW401"]}\n',
    "requests/tier.yaml": TIER,
    "requests/nomodel.json": NO_MODEL,
    "requests/end-of-line.yaml": TIER.replace("auto\n", "auto  # fwcompat: ignore[FW401]\n"),
    "requests/line-before.yaml": TIER.replace(
        "service_tier", "# fwcompat: ignore[FW401]\nservice_tier"
    ),
    "requests/other-code.yaml": TIER.replace("auto\n", "auto  # fwcompat: ignore[FW402]\n"),
    "legacy/tier.yaml": TIER,
    "ignored/tier.json": TIER_JSON,
    "deep/a/b/tier.json": TIER_JSON,
    "sub/fwcompat.toml": 'ignore = ["FW401"]\n',
    "sub/tier.json": TIER_JSON,
    "empty-folder/.keep": "",
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, text in FILES.items():
        path = tmp_path / "project" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.chdir(tmp_path / "project")
    monkeypatch.delenv("FWCOMPAT_NO_CACHE", raising=False)
    return tmp_path / "project"


class Row(NamedTuple):
    args: tuple[str, ...]
    exit: int
    out: tuple[str, ...] = ()
    """Each must be in stdout."""
    absent: tuple[str, ...] = ()
    """None may be in stdout."""
    err: tuple[str, ...] = ()
    """Each must be in stderr."""


ROWS = {
    # as ruff: 0 clean, 1 findings, 2 errors; per-file-ignores, nearest config, .gitignore
    "default": Row(
        ("check", "."),
        1,
        out=("requests/nomodel.json:1:1: FW301", "requests/tier.yaml:4:1: FW401"),
        absent=("legacy/tier.yaml", "sub/tier.json", "ignored/", "end-of-line", "line-before"),
    ),
    "clean": Row(("check", "sub/tier.json"), 0, out=("All checks passed",)),
    "--exit-zero": Row(("check", ".", "--exit-zero"), 0, out=("FW301",)),
    "--statistics": Row(
        ("check", ".", "--statistics"),
        1,
        out=("1\tFW301\t[ ] model-missing", "\tFW401\t[*] service-tier-unsupported"),
        absent=("requests/tier.yaml",),
    ),
    "-q": Row(("check", ".", "-q"), 1, out=("FW301",), absent=("Found",)),
    "--quiet": Row(("check", "requests", "--quiet", "--exit-zero"), 0, absent=("Found",)),
    "--show-files": Row(
        ("check", ".", "--show-files"),
        0,
        out=("requests/tier.yaml\n", "legacy/tier.yaml\n", "sub/tier.json\n", "deep/a/b/"),
        absent=("ignored/", "FW301", ".git"),
    ),
    "--no-respect-gitignore": Row(
        ("check", ".", "--show-files", "--no-respect-gitignore"), 0, out=("ignored/tier.json",)
    ),
    "--show-settings": Row(
        ("check", "legacy/tier.yaml", "--show-settings"),
        0,
        out=(
            "Resolved settings for: legacy/tier.yaml",
            "project/pyproject.toml",
            'ignored_here = ["FW401"]',
            '"legacy/*.yaml": ["FW401"]',
        ),
    ),
    "nearest config wins": Row(
        ("check", "sub/tier.json", "--show-settings"),
        0,
        out=("project/sub/fwcompat.toml", 'ignore = ["FW401"]'),
    ),
    "--config overrides": Row(
        ("check", "requests/tier.yaml", "legacy/tier.yaml", "--config", "sub/fwcompat.toml"),
        0,
        absent=("FW401",),
    ),
    "--isolated": Row(
        ("check", "sub/tier.json", "legacy/tier.yaml", "--isolated"),
        0,
        out=("sub/tier.json:1:", "legacy/tier.yaml:4:1: FW401"),
    ),
    "--include with **": Row(
        ("check", ".", "--show-files", "--include", "deep/**/*.json"),
        0,
        out=("deep/a/b/tier.json",),
        absent=("requests/", "sub/"),
    ),
    "--extend-exclude with **": Row(
        ("check", ".", "--show-files", "--extend-exclude", "**/a/b/"),
        0,
        out=("requests/tier.yaml",),
        absent=("deep/",),
    ),
    "a named file is checked even if ignored": Row(
        ("check", "ignored/tier.json"), 0, out=("ignored/tier.json:1:",)
    ),
    "--force-exclude applies exclude": Row(
        ("check", "deep/a/b/tier.json", "--force-exclude", "--extend-exclude", "deep/"),
        0,
        absent=("FW401",),
        err=("no files to check",),
    ),
    "--force-exclude leaves .gitignore to folder searches (ruff)": Row(
        ("check", "ignored/tier.json", "--force-exclude"), 0, out=("ignored/tier.json:1:",)
    ),
    "empty selection warns": Row(
        ("check", "empty-folder"),
        0,
        out=("All checks passed: 0 requests",),
        err=("warning: no files to check under empty-folder",),
    ),
    "-q silences the warning": Row(("check", "empty-folder", "-q"), 0),
    "inline ignore, end of line": Row(("check", "requests/end-of-line.yaml"), 0, absent=("FW401",)),
    "inline ignore, line before": Row(("check", "requests/line-before.yaml"), 0, absent=("FW401",)),
    "inline ignore names other codes": Row(
        ("check", "requests/other-code.yaml"), 0, out=("FW401",)
    ),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_flag(name: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    row = ROWS[name]
    code = main(list(row.args))
    out, err = capsys.readouterr()
    assert code == row.exit, (out, err)
    for needle in row.out:
        assert needle in out, (needle, out)
    for needle in row.absent:
        assert needle not in out, (needle, out)
    for needle in row.err:
        assert needle in err, (needle, err)
    if name == "-q silences the warning":
        assert err == ""


def test_statistics_json_counts(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "requests", "--statistics", "--format", "json"]) == 1
    rows = json.loads(capsys.readouterr().out)
    # tier.yaml and other-code.yaml keep FW401; the two suppressed files do not.
    assert rows == [
        {"code": "FW401", "name": "service-tier-unsupported", "count": 2, "fixable": 2},
        {"code": "FW301", "name": "model-missing", "count": 1, "fixable": 0},
    ]


def test_statistics_refuses_sarif(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", ".", "--statistics", "--format", "sarif"]) == 2
    assert "--statistics prints text or json" in capsys.readouterr().err


def test_inline_ignore_keeps_the_fix_away(project: Path) -> None:
    """A suppressed finding is not fixed either (ruff: a noqa'd violation is not fixed)."""
    before = (project / "requests/end-of-line.yaml").read_text()
    assert main(["check", "--fix", "requests/end-of-line.yaml", "requests/tier.yaml"]) == 0
    assert (project / "requests/end-of-line.yaml").read_text() == before
    assert "service_tier" not in (project / "requests/tier.yaml").read_text()


def test_inline_ignore_lines() -> None:
    text = (
        "a: 1  # fwcompat: ignore[FW401, FW402]\n"
        "# fwcompat: ignore[FW403]\n"
        "\n"
        "# another comment\n"
        "b: 2\n"
        "c: 3 # fwcompat: ignore\n"
        "d: 'x # fwcompat: ignore[FW1]'\n"
        "e: x#fwcompat: ignore[FW9]\n"
    )
    found = inline_ignores(text)
    assert found[1] == {"FW401", "FW402"}
    assert found[5] == {"FW403"}  # the comment applies to the next line that is not one
    assert found[6] == {"*"}  # bare: every code on the line
    assert 8 not in found  # `#` not after white space is not a comment in YAML
    assert set(found) == {1, 5, 6}  # 7: a `#` inside a quoted string is not a comment


def test_no_cache_writes_no_cache(project: Path, tmp_path: Path) -> None:
    """--no-cache: the rule-file cache is neither read nor written (a fresh process)."""
    exe = Path(sys.executable).parent / "fwcompat"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FWCOMPAT")}
    for flag, written in (("--no-cache", False), (None, True)):
        cache = tmp_path / f"cache-{written}"
        env["FWCOMPAT_CACHE_DIR"] = str(cache)
        args = [str(exe), "check", "requests/tier.yaml", *([flag] if flag else [])]
        result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        entries = list(cache.iterdir()) if cache.exists() else []
        assert bool(entries) is written, (flag, entries)
