"""The options of one ``fwcompat check`` run, shared by the checker and the file kinds it reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from fwcompat._config import Config
from fwcompat._diagnostics import Severity
from fwcompat.settings.file_selection import DEFAULT_EXCLUDE, DEFAULT_INCLUDE, FileSettings

__all__ = ["CheckOptions"]


class CheckOptions(NamedTuple):
    config: Config
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False
    fail_on: Severity = Severity.ERROR
    exit_non_zero_on_fix: bool = False
    stdin_filename: str | None = None
    progress: bool | None = None
    """None: show a progress bar only when stderr is a terminal."""
    progress_delay: float = 1.0
    """Seconds of work before the bar appears (tests set 0: no race with the clock)."""
    verbose: bool = False
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    force_exclude: bool = False
    skip: frozenset[str] = frozenset()
    """Real paths never read (the report file of ``-o``)."""
    config_for: Callable[[str], Config] | None = None
    """The Config of one file (nearest config file, per-file-ignores); else ``config``."""
    selection: Callable[[str], FileSettings] | None = None
    """A folder's file selection (nearest config file); else ``include`` / ``exclude``."""
    exit_zero: bool = False
    quiet: bool = False
