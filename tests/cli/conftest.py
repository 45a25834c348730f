"""Acceptance tests drive the real ``fwcompat`` console script in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REPO = FIXTURES.parent.parent

Run = Callable[..., subprocess.CompletedProcess[str]]


def fresh_python(program: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``program`` in a fresh interpreter (so that what it imports is its own)."""
    return subprocess.run(
        [sys.executable, "-c", program, *args], capture_output=True, text=True, check=False
    )


def console_script() -> str:
    """The installed ``fwcompat`` script, next to this interpreter (a venv's bin/)."""
    folder = Path(sys.executable).parent
    for name in ("fwcompat", "fwcompat.exe"):
        candidate = folder / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which("fwcompat")
    if found is None:
        pytest.fail("the fwcompat console script is not installed: pip install -e .")
    return found


@pytest.fixture(scope="session")
def fwcompat_exe() -> str:
    return console_script()


@pytest.fixture
def fixtures(tmp_path: Path) -> Path:
    """A private copy of tests/fixtures, so --fix never touches the repository."""
    target = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, target)
    return target


@pytest.fixture
def run(fwcompat_exe: str, tmp_path: Path) -> Run:
    def _run(
        *args: str | os.PathLike[str],
        cwd: Path | None = None,
        input: str | bytes | None = None,
        exe: Sequence[str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        drop = ("FWCOMPAT", "FORCE_COLOR", "NO_COLOR")  # plain, uncoloured output
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        command = [*(exe or [fwcompat_exe]), *map(str, args)]
        if isinstance(input, bytes):
            raw = subprocess.run(
                command,
                cwd=cwd or tmp_path,
                input=input,
                capture_output=True,
                env=env,
                timeout=120,
                check=False,
            )
            return subprocess.CompletedProcess(
                raw.args, raw.returncode, raw.stdout.decode(), raw.stderr.decode()
            )
        return subprocess.run(
            command,
            cwd=cwd or tmp_path,
            input=input,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    return _run
