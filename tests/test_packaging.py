"""The wheel carries the rule packs and schemas: install it in a fresh venv and use it elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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
    assert "fwcompat/_data/schemas/anthropic-surface.yaml" in names  # fwcompat._surface
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
