"""The wheel carries the rule packs and schemas: install it in a fresh venv and use it elsewhere."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
    )
    (built,) = out.glob("fwcompat-*.whl")
    return built


def test_wheel_contains_rules_and_schemas(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "fwcompat/_data/rules/fireworks/pack.yaml" in names
    assert "fwcompat/_data/schemas/fireworks-messages-request.schema.json" in names
    assert "fwcompat/_data/schemas/rule-file.schema.json" in names
    assert "fwcompat/_data/schemas/anthropic-surface.yaml" in names  # fwcompat.cli._surface
    for pack in ("fireworks", "fireworks-r4", "deepseek", "minimax"):
        assert f"fwcompat/_data/rules/{pack}/source.txt" in names  # the text each pack encodes
    assert "fwcompat/py.typed" in names


def test_installed_wheel_works_from_another_folder(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = (
        "import fwcompat, json\n"
        "r = fwcompat.check({'model': 'claude-x', 'messages': [], 'service_tier': 'auto'})\n"
        "print(json.dumps({'codes': [d.code for d in r.diagnostics], 'file': fwcompat.__file__,"
        " 'rules': len(fwcompat.list_rules()), 'source': fwcompat.list_rules()[0].source}))\n"
    )
    done = subprocess.run(
        [str(python), "-c", script],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    out = json.loads(done.stdout)
    assert out["codes"] == ["FW304", "FW401"]
    assert str(env_dir) in out["file"] and str(env_dir) in out["source"]
    assert out["rules"] > 20


# ------------------------------------------------------------------ release metadata


def test_wheel_metadata_names_the_license(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    text = archive.read(metadata).decode()
    assert "License-Expression: MIT" in text
    assert "License-File: LICENSE" in text
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in archive.namelist())
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_changelog_starts_at_the_current_version() -> None:
    from fwcompat._version import __version__

    text = (ROOT / "CHANGELOG.md").read_text()
    versions = re.findall(r"^## \[([^\]]+)\]", text, re.M)
    assert versions[0] == "Unreleased"
    assert versions[1] == __version__, "the newest release in CHANGELOG.md is not _version.py's"
    assert "Keep a Changelog" in text


def test_no_placeholders_and_no_index_promised() -> None:
    """The project is on no package index: nothing tells a reader to `pip install fwcompat`."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for name, url in data["project"].get("urls", {}).items():
        assert url.startswith("https://") and "<" not in url, (name, url)
    pages = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("**/*.md"))]
    for page in pages:
        text = page.read_text()
        assert "<org>" not in text, page
        assert not re.search(r"pip install ['\"]?fwcompat\b", text), page


def _env_assignments(text: str) -> dict[str, str]:
    """FWCOMPAT_SERVE_* settings of a Dockerfile's ENV or a systemd unit's Environment=."""
    return dict(re.findall(r"\b(FWCOMPAT_SERVE_[A-Z_]+)=(\S+?)(?:\s|\\|$)", text))


@pytest.mark.parametrize("recipe", ["Dockerfile", "docs/deploy/fwcompat-serve.service"])
def test_recipe_settings_are_serve_settings(
    recipe: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every FWCOMPAT_SERVE_* the container or the unit sets is a setting serve accepts."""
    from fwcompat.cli import build_parser
    from fwcompat.serve._settings import resolve

    settings = _env_assignments((ROOT / recipe).read_text())
    assert {"FWCOMPAT_SERVE_HOST", "FWCOMPAT_SERVE_REQUIRE_KEY_ENV"} <= set(settings)
    for name in list(os.environ):
        if name.startswith("FWCOMPAT_SERVE_"):
            monkeypatch.delenv(name)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["serve"])  # no file: tmp_path has none
    resolved = resolve(args)
    assert {s.source for s in resolved.values()} >= {f"env {n}" for n in settings}
    assert args.host == "0.0.0.0" and args.upstream_key_env == "FIREWORKS_API_KEY"


def test_dockerfile_shape() -> None:
    text = (ROOT / "Dockerfile").read_text()
    bases = re.findall(r"^FROM (\S+)", text, re.M)
    assert bases and all(re.fullmatch(r"python:3\.\d+-slim", b) for b in bases)
    (user,) = re.findall(r"^USER (\S+)", text, re.M)
    assert user.isdigit() and int(user) != 0
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.M)
    assert '"fwcompat", "serve"' in text


def test_ci_runs_the_release_checks() -> None:
    run = (ROOT / ".ci" / "run").read_text()
    assert ".ci/build-check" in run
    check = (ROOT / ".ci" / "build-check").read_text()
    for step in ("mkdocs build --strict", "hadolint Dockerfile", "python -m build", "twine check"):
        assert step in check, step
    assert os.access(ROOT / ".ci" / "build-check", os.X_OK)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_unit_verifies(tmp_path: Path) -> None:
    """systemd's own checker finds no unknown key or bad value in the unit (its ExecStart
    pointed at this environment's fwcompat, since /opt/fwcompat does not exist here)."""
    fwcompat = shutil.which("fwcompat", path=str(Path(sys.executable).parent))
    assert fwcompat
    unit = (ROOT / "docs" / "deploy" / "fwcompat-serve.service").read_text()
    assert "ExecStart=/opt/fwcompat/bin/fwcompat serve" in unit
    copy = tmp_path / "fwcompat-serve.service"
    copy.write_text(unit.replace("/opt/fwcompat/bin/fwcompat", fwcompat))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(copy)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr
