"""A best-effort disk cache of validated rule files: data only, keyed on content, verified.

The CLI starts once per batch of files, and parsing the pack's YAML is most of
its start-up. So the validated data of each rule file is kept as JSON, under a
key that hashes everything that shapes it: the file's bytes, the bytes of the
shipped schemas (the rule-file schema validates it), and the versions of
fwcompat and Python. An edit that keeps size and modification time still
changes the key.

What the cache can never do:

- run code: entries are JSON, read with ``json.loads``; no marshal, no pickle;
- return a wrong answer: each entry carries its full key and a SHA-256 of its
  payload, checked on every read; any mismatch, truncation or bit flip is a
  miss (the entry is rebuilt);
- be planted by someone else: the folder is created ``0700``; entries (and the
  folder) that the current user does not own, or that others may write, are
  ignored;
- grow without bound: past :data:`MAX_ENTRIES` entries of a kind (:data:`LIMITS` for
  results and recorded runs) the oldest of that kind are removed.

Besides rule files it remembers, per config, the files its pack was built from
(:func:`remember_inputs`, :func:`verified_inputs`): a later run whose inputs still
hash the same may skip validating that config, and the command line keys its
per-file results (``fwcompat check``'s result cache) on that fingerprint.

Location: ``$FWCOMPAT_CACHE_DIR``, else ``$XDG_CACHE_HOME/fwcompat``, else
``~/.cache/fwcompat``; ``FWCOMPAT_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys

from fwcompat._version import __version__

TYPE_CHECKING = False  # typing itself is not imported (start-up time)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "LIMITS",
    "MAX_ENTRIES",
    "MISSING",
    "cache_dir",
    "code_stamp",
    "config_fingerprint",
    "config_key",
    "digest",
    "file_sha",
    "forget",
    "get",
    "put",
    "remember_inputs",
    "verified_inputs",
]

MAX_ENTRIES = 256
LIMITS = {"results": 32, "runs": 64}
"""Entries kept of kinds larger than a rule file: per config's results, recorded runs."""
_MAX_BYTES = 64 << 20
"""An entry larger than this is not read (a miss)."""
MISSING = object()
"""What :func:`get` returns on a miss (compare with ``is``)."""
_FORMAT = b"fwcompat-cache 2"


def cache_dir() -> str | None:
    if os.environ.get("FWCOMPAT_NO_CACHE"):
        return None
    explicit = os.environ.get("FWCOMPAT_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "fwcompat")


def digest(*parts: bytes) -> str:
    """A hex SHA-256 over fwcompat's and Python's versions and the given parts."""
    h = hashlib.sha256(_FORMAT)
    for part in (__version__.encode(), sys.version.encode(), *parts):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def _trusted(st: os.stat_result) -> bool:
    """Owned by us, and nobody else may write it."""
    uid = os.getuid() if hasattr(os, "getuid") else st.st_uid
    return st.st_uid == uid and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _folder(create: bool) -> str | None:
    folder = cache_dir()
    if folder is None:
        return None
    try:
        if create:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        st = os.stat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or not _trusted(st):
        return None
    return folder


def _entry(folder: str, kind: str, key: str) -> str:
    safe = "".join(c for c in kind if c.isalnum() or c in "-_") or "entry"
    return os.path.join(folder, f"{safe}-{key[:40]}.json")


def get(kind: str, key: str) -> Any:
    """The cached value for ``key`` (a :func:`digest`), or :data:`MISSING`."""
    folder = _folder(create=False)
    if folder is None:
        return MISSING
    path = _entry(folder, kind, key)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return MISSING
    try:
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(handle.fileno())
            if not _trusted(st) or st.st_size > _MAX_BYTES:
                return MISSING
            raw = handle.read()  # sized from fstat: read(64 MB) would allocate 64 MB
    except OSError:
        return MISSING
    checksum, _, payload = raw.partition(b"\n")
    if hashlib.sha256(payload).hexdigest().encode() != checksum:
        return MISSING
    try:
        stored = json.loads(payload)
    except ValueError:
        return MISSING
    if not isinstance(stored, dict) or stored.get("key") != key or "value" not in stored:
        return MISSING
    return stored["value"]


def _exact_json(value: Any) -> bytes | None:
    """``value`` as JSON, if JSON gives it back exactly (else it is not cached)."""
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False, sort_keys=False)
    except (TypeError, ValueError, RecursionError):
        return None
    try:
        same = json.loads(text) == value
    except (ValueError, RecursionError):  # pragma: no cover - our own output
        return None
    return text.encode() if same else None


def put(kind: str, key: str, value: Any) -> None:
    """Store ``value`` (plain JSON data); silently skipped when impossible."""
    data = _exact_json(value)
    if data is None:
        return
    folder = _folder(create=True)
    if folder is None:
        return
    payload = json.dumps({"key": key, "value": json.loads(data)}, ensure_ascii=False).encode()
    path = _entry(folder, kind, key)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600
        )
        with os.fdopen(fd, "wb") as handle:
            handle.write(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
        os.replace(tmp, path)  # atomic: parallel pre-commit batches may race here
    except OSError:
        try:  # noqa: SIM105 (contextlib is not imported at start-up)
            os.unlink(tmp)
        except OSError:
            pass
        return
    _evict(folder, kind)


def _evict(folder: str, kind: str) -> None:
    """Keep at most MAX_ENTRIES entries of a kind (:data:`LIMITS` for some): remove the
    least recently written. Kinds are bounded apart, so that many recorded runs never
    push out the rule files every run reads."""
    prefix = os.path.basename(_entry(folder, kind, "")).removesuffix(".json")
    limit = LIMITS.get(prefix.rstrip("-"), MAX_ENTRIES)
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(".json")]
        if len(names) <= limit:
            return
        aged = sorted(names, key=lambda n: os.stat(os.path.join(folder, n)).st_mtime_ns)
        for name in aged[: len(names) - limit]:
            os.unlink(os.path.join(folder, name))
    except OSError:
        pass


def file_sha(path: str) -> str | None:
    """The hex SHA-256 of a file's bytes, or None when it is not a readable file."""
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # fwcompat/
_stamp: list[bytes] = []


_DEPENDENCIES = ("jsonschema_rs", "yaml", "orjson")
"""Libraries whose behaviour reaches a result (schema messages, YAML and JSON reading)."""


def _dependency(name: str) -> str:
    """Where a library is installed and its file's size and time (found without importing
    it): an upgrade changes this."""
    from importlib.machinery import PathFinder  # frozen, loaded with the interpreter

    try:
        spec = PathFinder.find_spec(name)
        origin = spec.origin if spec is not None else None
        st = os.stat(origin) if origin else None
    except (OSError, ImportError, ValueError):
        return f"{name}:?"
    return f"{name}:{origin}:{st.st_size}:{st.st_mtime_ns}" if st else f"{name}:-"


def code_stamp() -> bytes:
    """What fwcompat's own code looks like: every module's name, size and modification
    time, and where its libraries are installed and their size and time. The version
    alone misses an edit in a source checkout or an upgraded library; results computed
    by other code must never be served (well under a millisecond: ``stat`` only)."""
    if not _stamp:
        rows = []
        for folder, subfolders, names in os.walk(_PACKAGE):
            subfolders[:] = sorted(n for n in subfolders if n != "__pycache__")
            for name in sorted(names):
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    try:
                        st = os.stat(path)
                    except OSError:
                        continue
                    rows.append(f"{os.path.relpath(path, _PACKAGE)}:{st.st_size}:{st.st_mtime_ns}")
        rows.extend(_dependency(name) for name in _DEPENDENCIES)
        _stamp.append("\n".join(rows).encode())
    return _stamp[0]


def _fingerprint(key: str, inputs: list[list[Any]]) -> str:
    return digest(b"inputs", key.encode(), json.dumps(inputs).encode())


def remember_inputs(key: str, paths: Any) -> str:
    """Hash each of ``paths`` now (a missing file counts as missing), store the list
    under ``key`` and return the fingerprint that :func:`verified_inputs` gives back
    while every file still hashes the same."""
    inputs = [[path, file_sha(path)] for path in dict.fromkeys(paths)]
    put("inputs", key, inputs)
    _fingerprints[key] = found = _fingerprint(key, inputs)
    return found


def verified_inputs(key: str) -> str | None:
    """The fingerprint of the inputs stored under ``key``, if every file still has the
    bytes it had (or is still missing); None on a miss or any change."""
    stored = get("inputs", key)
    if not isinstance(stored, list):
        return None
    for entry in stored:
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            return None
        if file_sha(entry[0]) != entry[1]:
            return None
    return _fingerprint(key, stored)


def config_key(config: Any) -> str:
    """The cache key of a :class:`~fwcompat.Config` (all its fields, by ``repr``), in
    this folder (relative rule-file paths resolve against it), for this code."""
    return digest(b"config", repr(config).encode(), os.getcwd().encode(), code_stamp())


_fingerprints: dict[str, str | None] = {}
_by_config: dict[int, tuple[Any, str | None]] = {}


def config_fingerprint(config: Any) -> str | None:
    """A digest of a config and of every file its pack was built from, when an earlier
    run recorded them (:func:`fwcompat.rulepacks.remember_config`) and none changed
    since; else None. Checked once per process and config (see :func:`forget`)."""
    known = _by_config.get(id(config))
    if known is not None and known[0] is config:
        return known[1]
    key = config_key(config)
    if key not in _fingerprints:
        _fingerprints[key] = verified_inputs(key)
    found = _fingerprints[key]
    if found is not None:
        _by_config[id(config)] = (config, found)  # the reference keeps the id unique
    return found


def forget() -> None:
    """Check every config's files afresh (a new command line run in this process)."""
    _fingerprints.clear()
    _by_config.clear()
