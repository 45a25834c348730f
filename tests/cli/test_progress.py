"""The JSONL progress bar and colour, through a real pseudo-terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path
from typing import Any

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


def run_on_tty(
    command: list[str], *, env: dict[str, str] | None = None, stdout_tty: bool = False
) -> tuple[int, str, str]:
    """Run with stderr (and, if asked, stdout) on a pseudo-terminal; else stdout on a pipe."""
    master, slave = pty.openpty()
    environ = clean_env()
    environ.update(env or {})
    out: Any = slave if stdout_tty else subprocess.PIPE
    proc = subprocess.Popen(command, stdout=out, stderr=slave, env=environ)
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
    stdout = ""
    if proc.stdout is not None:
        with proc.stdout:
            stdout = proc.stdout.read().decode()
    code = proc.wait()
    os.close(master)
    return code, stdout, b"".join(chunks).decode(errors="replace")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without fwcompat's or colour variables, plus ``extra``."""
    drop = ("FWCOMPAT", "NO_COLOR", "FORCE_COLOR")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(drop)}, **extra}


# No race with the clock: the delay before the bar shows is injected (0 s or a day).
SHOW_NOW = {"FWCOMPAT_PROGRESS_DELAY": "0"}
NEVER = {"FWCOMPAT_PROGRESS_DELAY": "86400"}


def test_progress_bar_on_a_terminal(fwcompat_exe: str, tmp_path: Path) -> None:
    path = big_jsonl(tmp_path / "big.jsonl", 2_000)
    code, stdout, stderr = run_on_tty([fwcompat_exe, "check", str(path)], env=SHOW_NOW)
    assert code == 0
    assert "All checks passed: 2000 requests (1 file)." in stdout
    assert "big.jsonl [" in stderr
    assert "%" in stderr
    assert "MB/s" in stderr
    assert stderr.endswith("\r\x1b[K")  # cleared at the end
    quiet_code, _, quiet = run_on_tty(
        [fwcompat_exe, "check", "--no-progress", str(path)], env=SHOW_NOW
    )
    assert quiet_code == 0
    assert "%" not in quiet


def test_bar_clears_before_a_finding(fwcompat_exe: str, tmp_path: Path) -> None:
    """Findings and the bar share the terminal: each finding starts on a clean line."""
    path = big_jsonl(tmp_path / "big.jsonl", 2_000)
    lines = path.read_text().splitlines(keepends=True)
    bad = json.loads(lines[0])
    bad["tools"] = [{"name": "t", "input_schema": {"type": "object"}, "cache_control": {}}]
    for i in range(300, 2_000, 300):
        lines[i] = json.dumps(bad) + "\n"
    path.write_text("".join(lines))
    code, _, screen = run_on_tty(
        [fwcompat_exe, "check", "--color", "never", str(path)], env=SHOW_NOW, stdout_tty=True
    )
    assert code == 0
    findings = [line for line in screen.split("\n") if "FW603" in line]
    assert len(findings) == 6
    for line in findings:
        # the bar, if drawn on this line, was erased (CR + erase line) before the finding
        tail = line.rsplit("\r\x1b[K", 1)[-1]
        assert tail.startswith(str(path)), repr(line)
        assert "MB/s" not in tail


def test_no_progress_bar_when_not_a_terminal(fwcompat_exe: str, tmp_path: Path) -> None:
    path = big_jsonl(tmp_path / "big.jsonl", 2_000)
    result = subprocess.run(
        [fwcompat_exe, "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(**SHOW_NOW),
    )
    assert result.returncode == 0
    assert result.stderr == ""


def test_no_progress_bar_before_the_delay(fwcompat_exe: str, tmp_path: Path) -> None:
    path = big_jsonl(tmp_path / "big.jsonl", 2_000)
    code, _, stderr = run_on_tty([fwcompat_exe, "check", str(path)], env=NEVER)
    assert code == 0
    assert stderr == ""


def test_colour_follows_ruff(fwcompat_exe: str) -> None:
    bad = str(FIXTURES / "bad" / "fixable.json")
    _, _, on_tty = run_on_tty([fwcompat_exe, "check", bad], stdout_tty=True)
    assert "\x1b[" in on_tty
    _, _, no_color = run_on_tty(
        [fwcompat_exe, "check", bad], env={"NO_COLOR": "1"}, stdout_tty=True
    )
    assert "\x1b[" not in no_color
    _, _, never = run_on_tty([fwcompat_exe, "check", "--color", "never", bad], stdout_tty=True)
    assert "\x1b[" not in never
    piped = subprocess.run(
        [fwcompat_exe, "check", bad], capture_output=True, text=True, check=False, env=clean_env()
    ).stdout
    assert "\x1b[" not in piped
    forced = subprocess.run(
        [fwcompat_exe, "check", bad],
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(FORCE_COLOR="1"),
    ).stdout
    assert "\x1b[" in forced
    always = subprocess.run(
        [fwcompat_exe, "check", "--color", "always", bad],
        capture_output=True,
        text=True,
        check=False,
        env=clean_env(NO_COLOR="1"),
    ).stdout
    assert "\x1b[" in always
