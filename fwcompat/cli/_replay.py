"""Whole-run replay: the same ``fwcompat check FILE...`` on unchanged files prints what
it printed last time, before the command line is even parsed.

This is the per-file result cache (:mod:`._result_cache`) taken one step further,
for the common case of pre-commit and editors: the same command line run again on
files that did not change. A run is recorded only when every file went through the
result cache; what is recorded is the run's output, in order (stdout and stderr
chunks) and its exit code, under a key of everything it read or depended on:

- the command line, the current folder, the environment variables fwcompat reads
  (``FWCOMPAT_*``, ``NO_COLOR``, ``FORCE_COLOR``), which of stdin, stdout and stderr
  are terminals and their encodings, fwcompat's code (:func:`code_stamp`) and Python;
- verified on every replay: the SHA-256 of each file named, of every config file
  (``.fwcompat.toml``, ``fwcompat.toml``, ``pyproject.toml``, ``.gitignore``) at or
  above each file's folder and the current folder, or that it is still missing; and
  the files of each config's pack (rule files, ``pack.yaml``, schemas).

``fwcompat rules`` and ``fwcompat explain CODE`` are replayed the same way (their
output depends on the config and its pack only). Anything else (a folder to search,
stdin, ``--fix``, ``--diff``, ``-o``, JSON Lines, ``normalize``...) runs normally;
``FWCOMPAT_NO_REPLAY=1`` turns replays off (the per-file result cache stays on). This
module imports no more than the cache itself: a replayed run loads neither argparse's
parser nor fwcompat's settings.
"""

from __future__ import annotations

import os
import sys

from fwcompat.rulepacks import cache_dir, cache_get, cache_put, code_stamp, digest, file_sha

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

__all__ = ["Recorder", "enabled", "qualify", "replay", "replayable"]

_KIND = "runs"
_SETTINGS_NAMES = (".fwcompat.toml", "fwcompat.toml", "pyproject.toml", ".gitignore")
MAX_OUTPUT = 1 << 20
"""Characters of output kept for a replay; a longer run is not recorded."""


def enabled() -> bool:
    """Replays are on with the cache, unless ``FWCOMPAT_NO_REPLAY=1`` (which keeps the
    per-file result cache: for benchmarks and debugging)."""
    return cache_dir() is not None and not os.environ.get("FWCOMPAT_NO_REPLAY")


def _stream_key(stream: Any) -> str:
    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        tty = False
    return f"{tty}:{getattr(stream, 'encoding', '')}:{getattr(stream, 'errors', '')}"


def run_key(argv: list[str]) -> str:
    """The key of this command line in this folder, environment, terminal and code."""
    env = sorted(
        (k, v)
        for k, v in os.environ.items()
        if k.startswith("FWCOMPAT_") or k in ("NO_COLOR", "FORCE_COLOR")
    )
    streams = [_stream_key(s) for s in (sys.stdin, sys.stdout, sys.stderr)]
    parts = [repr(argv), os.getcwd(), repr(env), repr(streams)]
    return digest(b"run", *(p.encode("utf-8", "surrogateescape") for p in parts), code_stamp())


def settings_files(files: list[str]) -> list[str]:
    """Every config file (or ``.gitignore``) the settings of ``files`` could come from:
    each name in each folder at or above theirs, and the current folder's."""
    folders: dict[str, None] = {}
    for start in [os.getcwd(), *(os.path.dirname(os.path.abspath(f)) for f in files)]:
        folder = start
        while folder not in folders:
            folders[folder] = None
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    return [os.path.join(folder, name) for folder in folders for name in _SETTINGS_NAMES]


def replay(argv: list[str]) -> int | None:
    """Print a recorded run of ``argv`` and return its exit code, if everything it
    depended on is unchanged; else None (the run goes ahead normally)."""
    if not enabled() or "--no-cache" in argv:
        return None
    stored = cache_get(_KIND, run_key(argv))
    try:
        if not isinstance(stored, dict) or not _unchanged(stored):
            return None
        chunks, code = stored["output"], stored["code"]
        if type(code) is not int or not all(
            isinstance(c, list) and c[0] in (1, 2) and isinstance(c[1], str) for c in chunks
        ):
            return None
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    for stream, text in chunks:
        (sys.stdout if stream == 1 else sys.stderr).write(text)
    return code


def _unchanged(stored: dict[str, Any]) -> bool:
    from fwcompat.rulepacks import verified_inputs

    for path, sha in (*stored["files"], *stored["settings"]):
        if file_sha(path) != sha:
            return False
    return all(verified_inputs(key) is not None for key in stored["configs"])


def replayable(args: Any) -> bool:
    """Whether a parsed command line may be recorded: ``rules``, ``explain``, or ``check``
    on files named one by one (no folder, stdin or JSON Lines), nothing written, no diff."""
    if not enabled() or getattr(args, "no_cache", False):
        return False
    if args.command in ("rules", "explain"):
        return True  # they qualify themselves once their config is loaded
    if args.command != "check" or not args.paths:
        return False
    flags = ("fix", "diff", "output_file", "show_files", "show_settings", "no_cache")
    if any(getattr(args, flag, False) for flag in flags):
        return False
    return all(
        os.path.isfile(path) and not path.endswith((".jsonl", ".ndjson")) for path in args.paths
    )


class _Tee:
    """A stream that also keeps what is written to it (in the recorder's one list)."""

    def __init__(self, stream: TextIO, number: int, recorder: Recorder) -> None:
        self._stream, self._number, self._recorder = stream, number, recorder

    def write(self, text: str) -> int:
        self._recorder.keep(self._number, text)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class Recorder:
    """Records one run's output while it runs, and stores it if the run qualifies."""

    def __init__(self, argv: list[str], paths: list[str], config_file: str | None) -> None:
        self.argv = argv
        found = settings_files(paths)
        if config_file:
            found.append(os.path.abspath(config_file))
        self.settings = [[path, file_sha(path)] for path in found]
        self.folders = {os.path.dirname(path) for path in found}
        """The config files as they were when the run started (before it read them)."""
        self.chunks: list[list[Any]] = []
        self.size = 0
        self.saved = (sys.stdout, sys.stderr)
        self.qualified: dict[str, Any] | None = None
        """Set by the check command when every file went through the result cache."""

    def keep(self, number: int, text: str) -> None:
        if self.size > MAX_OUTPUT:
            return
        self.size += len(text)
        if self.size > MAX_OUTPUT:
            self.chunks.clear()  # too long to keep: this run is not recorded
        elif self.chunks and self.chunks[-1][0] == number:
            self.chunks[-1][1].append(text)
        else:
            self.chunks.append([number, [text]])

    def __enter__(self) -> Recorder:
        sys.stdout = _Tee(sys.stdout, 1, self)
        sys.stderr = _Tee(sys.stderr, 2, self)
        _current[:] = [self]
        return self

    def __exit__(self, *exc: object) -> None:
        sys.stdout, sys.stderr = self.saved
        _current.clear()

    def save(self, code: int) -> None:
        """Store the run, when the check command qualified it and its output was kept."""
        if self.qualified is None or self.size > MAX_OUTPUT or not enabled():
            return
        output = [[number, "".join(parts)] for number, parts in self.chunks]
        cache_put(_KIND, run_key(self.argv), {**self.qualified, "output": output, "code": code})


_current: list[Recorder] = []


def qualify(files: dict[str, str], config_keys: list[str]) -> None:
    """Called by a command at the end of a run that may be replayed: the files it
    checked (name -> SHA-256 of the bytes checked) and the cache keys of the configs it
    used (their pack files were hashed when they were validated)."""
    if not _current:
        return
    recorder = _current[0]
    if any(os.path.dirname(os.path.abspath(name)) not in recorder.folders for name in files):
        return  # a file outside the folders whose config files were hashed
    recorder.qualified = {
        "files": [[name, sha] for name, sha in files.items()],
        "settings": recorder.settings,
        "configs": sorted(set(config_keys)),
    }
