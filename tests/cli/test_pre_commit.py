"""The pre-commit hooks, run for real by pre-commit in a temporary git repository.

The hook's environment is built by pre-commit itself (a virtualenv with fwcompat
pip-installed from a snapshot of this working tree), exactly as a user's
`.pre-commit-config.yaml` would get it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.samples import TOP_K_RULE

from .conftest import FIXTURES, REPO

PRE_COMMIT = [sys.executable, "-m", "pre_commit"]


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "-b", "main", cwd=path)
    git("config", "user.email", "test@example.com", cwd=path)
    git("config", "user.name", "test", cwd=path)
    git("config", "commit.gpgsign", "false", cwd=path)
    return path


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A committed snapshot of this working tree (tracked and new files), and its sha."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    snapshot = init_repo(tmp_path_factory.mktemp("hook-repo") / "fwcompat")
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO)
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            target = snapshot / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git("add", "-A", cwd=snapshot)
    git("commit", "-q", "-m", "snapshot", cwd=snapshot)
    return snapshot, git("rev-parse", "HEAD", cwd=snapshot).strip()


@pytest.fixture(scope="module")
def pre_commit_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    env = dict(os.environ)
    env["PRE_COMMIT_HOME"] = str(tmp_path_factory.mktemp("pre-commit-home"))
    env.pop("PRE_COMMIT", None)
    return env


def pre_commit(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PRE_COMMIT, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_manifest_is_valid(hook_repo: tuple[Path, str]) -> None:
    manifest = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    ids = [h["id"] for h in manifest]
    assert ids[:2] == ["fwcompat-check", "fwcompat-fix"] and "fwcompat-test-rules" in ids
    result = subprocess.run(
        [*PRE_COMMIT, "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_try_repo_check_hook(
    hook_repo: tuple[Path, str], pre_commit_env: dict[str, str], tmp_path: Path
) -> None:
    snapshot, _ = hook_repo
    work = init_repo(tmp_path / "project")
    (work / "fixtures").mkdir()
    shutil.copy(FIXTURES / "bad" / "claude-model.json", work / "fixtures" / "bad.json")
    shutil.copy(FIXTURES / "good" / "minimal.json", work / "fixtures" / "good.json")
    git("add", "-A", cwd=work)
    bad = pre_commit(
        "try-repo",
        str(snapshot),
        "fwcompat-check",
        "--files",
        "fixtures/bad.json",
        cwd=work,
        env=pre_commit_env,
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "fixtures/bad.json:2:3: FW304 [error] /model" in bad.stdout
    good = pre_commit(
        "try-repo",
        str(snapshot),
        "fwcompat-check",
        "--files",
        "fixtures/good.json",
        cwd=work,
        env=pre_commit_env,
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout


def test_commit_fails_then_passes_after_fix(
    hook_repo: tuple[Path, str], pre_commit_env: dict[str, str], tmp_path: Path
) -> None:
    snapshot, sha = hook_repo
    work = init_repo(tmp_path / "project")
    (work / ".pre-commit-config.yaml").write_text(
        yaml.safe_dump(
            {
                "repos": [
                    {
                        "repo": str(snapshot),
                        "rev": sha,
                        "hooks": [
                            {"id": "fwcompat-fix", "files": "^requests/"},
                            {
                                "id": "fwcompat-check",
                                "files": "^requests/",
                                "args": ["--fail-on", "warning"],
                            },
                        ],
                    }
                ]
            }
        )
    )
    requests = work / "requests"
    requests.mkdir()
    shutil.copy(FIXTURES / "bad" / "fixable.json", requests / "req.json")
    shutil.copy(FIXTURES / "bad" / "fixable.yaml", requests / "req.yaml")
    (work / "package.json").write_text('{"name": "not a request"}\n')  # outside files:
    installed = pre_commit("install", cwd=work, env=pre_commit_env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    git("add", "-A", cwd=work)

    def commit() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "commit", "-m", "add requests"],
            cwd=work,
            env=pre_commit_env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    first = commit()
    assert first.returncode != 0, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout + first.stderr
    assert "service_tier" not in (requests / "req.json").read_text()
    assert "inference_geo" not in (requests / "req.yaml").read_text()
    assert git("rev-list", "--all", cwd=work).strip() == ""  # nothing committed

    git("add", "-A", cwd=work)  # stage the fixed files, as a user would
    second = commit()
    assert second.returncode == 0, second.stdout + second.stderr
    assert git("rev-list", "--count", "HEAD", cwd=work).strip() == "1"


USER_RULES = TOP_K_RULE


def test_try_repo_test_rules_hook(
    hook_repo: tuple[Path, str], pre_commit_env: dict[str, str], tmp_path: Path
) -> None:
    """A repository that keeps its own rules: the hook runs their examples."""
    snapshot, _ = hook_repo
    work = init_repo(tmp_path / "project")
    (work / "fwcompat-rules").mkdir()
    (work / "fwcompat-rules" / "gateway.yaml").write_text(USER_RULES)
    (work / "ci.yaml").write_text("on: push\n")  # not a rule file: not passed to the hook
    git("add", "-A", cwd=work)
    args = ("try-repo", str(snapshot), "fwcompat-test-rules", "--all-files")
    good = pre_commit(*args, cwd=work, env=pre_commit_env)
    assert good.returncode == 0, good.stdout + good.stderr
    broken = USER_RULES.replace("expect: []", "expect: [{code: XX101, path: /top_k}]")
    (work / "fwcompat-rules" / "gateway.yaml").write_text(broken)
    git("add", "-A", cwd=work)
    bad = pre_commit(*args, cwd=work, env=pre_commit_env)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "FAIL fwcompat-rules/gateway.yaml: XX101 'without'" in bad.stdout, bad.stdout


def test_fix_hook_on_all_files_never_touches_other_files(
    hook_repo: tuple[Path, str], pre_commit_env: dict[str, str], tmp_path: Path
) -> None:
    """Issue 8: `try-repo ... fwcompat-fix --all-files` rewrote package.json to `{}`."""
    snapshot, _ = hook_repo
    work = init_repo(tmp_path / "project")
    others = {
        "package.json": '{\n  "name": "x",\n  "version": "1.0.0"\n}\n',
        ".pre-commit-config.yaml": "repos: []\n",
        ".github/workflows/ci.yml": "name: CI\non: [push]\njobs: {}\n",
        "fixtures/package.json": '{"name": "inside the hook pattern"}\n',
    }
    for name, text in others.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    shutil.copy(FIXTURES / "bad" / "fixable.json", work / "fixtures" / "req.json")
    git("add", "-A", cwd=work)
    result = pre_commit(
        "try-repo", str(snapshot), "fwcompat-fix", "--all-files", cwd=work, env=pre_commit_env
    )
    assert result.returncode == 1, result.stdout + result.stderr  # it fixed req.json
    for name, text in others.items():
        assert (work / name).read_text() == text, name
    assert "service_tier" not in (work / "fixtures" / "req.json").read_text()
