"""A best-effort disk cache for start-up work: validated rule files and generated code.

The CLI starts once per batch of files, so what it does before the first check
counts. Entries are marshal files named by a short hash of their key; the full
key is stored inside and compared on load, and it includes fwcompat's and
Python's versions. Any problem (no cache folder, a corrupt or foreign entry, a
read-only disk) falls back to doing the work: the cache never changes a result.
Like ``__pycache__``, the folder must only be writable by its user.

Location: ``$FWCOMPAT_CACHE_DIR``, else ``$XDG_CACHE_HOME/fwcompat``, else
``~/.cache/fwcompat``; ``FWCOMPAT_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib
from types import CodeType
from typing import Any

from ._version import __version__

__all__ = ["MISSING", "compile_cached", "file_key", "get", "put"]

_PREFIX = f"fwcompat {__version__}; python {sys.version}\0"
MISSING = object()
"""What :func:`get` returns on a miss (compare with ``is``)."""


def cache_dir() -> str | None:
    if os.environ.get("FWCOMPAT_NO_CACHE"):
        return None
    explicit = os.environ.get("FWCOMPAT_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "fwcompat")


def file_key(path: str) -> str | None:
    """A key that changes whenever the file does (path, size, modification time)."""
    try:
        st = os.stat(path)
        return f"{os.path.realpath(path)}\0{st.st_size}\0{st.st_mtime_ns}"
    except OSError:
        return None


def _entry(kind: str, key: str) -> str | None:
    folder = cache_dir()
    if folder is None:
        return None
    return os.path.join(folder, f"{kind}-{zlib.crc32((_PREFIX + key).encode()):08x}.marshal")


def get(kind: str, key: str) -> Any:
    """The cached value for ``key``, or :data:`MISSING`."""
    entry = _entry(kind, key)
    if entry is None:
        return MISSING
    try:
        with open(entry, "rb") as handle:
            stored_key, value = marshal.loads(handle.read())
    except (OSError, ValueError, EOFError, TypeError):
        return MISSING
    return value if stored_key == _PREFIX + key else MISSING


def put(kind: str, key: str, value: Any) -> None:
    """Store ``value`` (marshal-able data or code); silently skipped when impossible."""
    entry = _entry(kind, key)
    if entry is None:
        return
    try:
        payload = marshal.dumps((_PREFIX + key, value))
        os.makedirs(os.path.dirname(entry), exist_ok=True)
        tmp = f"{entry}.{os.getpid()}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, entry)  # atomic: parallel pre-commit batches may race here
    except (OSError, ValueError, TypeError):
        pass


def compile_cached(source: str, filename: str) -> CodeType:
    """``compile(source, filename, "exec")``, reusing the code object of an earlier run."""
    code = get("code", source)
    if isinstance(code, CodeType):
        return code
    code = compile(source, filename, "exec")
    put("code", source, code)
    return code
