"""A pinned Claude Code from npm, installed once into a cache folder.

The folder is ``$FWCOMPAT_TEST_CACHE`` (default ``~/.cache/fwcompat-tests``), then
``claude-code-<version>``. npm must be on ``PATH``: without it the tests fail with a
message that says so (they never skip silently).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

PACKAGE = "@anthropic-ai/claude-code"
VERSION = "2.1.197"
"""The Claude Code release the tests and the README's recipe were checked with."""


class InstallError(RuntimeError):
    """npm is missing, or the install did not give a working ``claude``."""


def cache_dir() -> Path:
    root = os.environ.get("FWCOMPAT_TEST_CACHE") or str(Path.home() / ".cache" / "fwcompat-tests")
    return Path(root) / f"claude-code-{VERSION}"


def installed_version(binary: Path) -> str | None:
    if not binary.is_file():
        return None
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError:
        return None
    words = done.stdout.split()
    return words[0] if done.returncode == 0 and words else None


def claude_binary() -> Path:
    """The ``claude`` executable of the pinned version, installed if need be."""
    folder = cache_dir()
    binary = folder / "node_modules" / ".bin" / "claude"
    if installed_version(binary) == VERSION:
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise InstallError(
            f"npm is not on PATH: the Claude Code tests install {PACKAGE}@{VERSION} with npm "
            "(install Node.js and npm, e.g. `apt-get install npm`)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time, across processes
        if installed_version(binary) != VERSION:
            done = subprocess.run(
                [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund",
                 "--no-save", "--loglevel", "error", f"{PACKAGE}@{VERSION}"],
                capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise InstallError(
                    f"npm install {PACKAGE}@{VERSION} into {folder} failed "
                    f"(exit {done.returncode}):\n{done.stderr[-4000:]}"
                )
    found = installed_version(binary)
    if found != VERSION:
        raise InstallError(f"{binary} reports version {found!r} after install, not {VERSION}")
    return binary
