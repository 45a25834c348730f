"""The JSONL progress bar: on stderr, only on a terminal, only after a second of work."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path

import pytest

from .conftest import FIXTURES

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")


def big_jsonl(path: Path, lines: int) -> Path:
    body = json.loads((FIXTURES / "good" / "minimal.json").read_text())
    body["messages"] = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": "x" * 200} for i in range(20)
    ]
    line = json.dumps(body) + "\n"
    path.write_text(line * lines)
    return path


def run_on_tty(command: list[str]) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal; stdout on a pipe."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed: the process exited
            break
        if not data:
            break
        chunks.append(data)
    assert proc.stdout is not None
    with proc.stdout:
        stdout = proc.stdout.read().decode()
    code = proc.wait()
    os.close(master)
    return code, stdout, b"".join(chunks).decode(errors="replace")


def test_progress_bar_on_a_terminal(fwcompat_exe: str, tmp_path: Path) -> None:
    path = big_jsonl(tmp_path / "big.jsonl", 40_000)
    code, stdout, stderr = run_on_tty([fwcompat_exe, "check", str(path)])
    assert code == 0
    assert "All checks passed: 40000 requests (1 file)." in stdout
    assert "big.jsonl [" in stderr
    assert "%" in stderr
    assert "MB/s" in stderr
    quiet_code, _, quiet = run_on_tty([fwcompat_exe, "check", "--no-progress", str(path)])
    assert quiet_code == 0
    assert "%" not in quiet


def test_no_progress_bar_when_not_a_terminal(fwcompat_exe: str, tmp_path: Path) -> None:
    path = big_jsonl(tmp_path / "big.jsonl", 40_000)
    result = subprocess.run(
        [fwcompat_exe, "check", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stderr == ""


def test_no_progress_bar_for_quick_work(fwcompat_exe: str) -> None:
    code, _, stderr = run_on_tty([fwcompat_exe, "check", str(FIXTURES / "good")])
    assert code == 0
    assert stderr == ""
