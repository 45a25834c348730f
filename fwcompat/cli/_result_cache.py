"""``fwcompat check``'s result cache, the way ruff keeps one.

A run over files that did not change since the last run replays what that run
reported for them, without parsing them and without loading the engine (nor
jsonschema-rs): with every file a hit, a run is reading, hashing and printing.

What is stored, per file, is what checking it *reported*: its findings (each one's
place and diagnostic), the warnings and notes it wrote, and how many requests and
skipped documents it counted; replaying them through the same ``emit``, ``warn`` and
``note`` gives byte-identical output in every format.

A file's entry is used only when all of these are what they were:

- the SHA-256 of the file's bytes, and its path as reported;
- the fingerprint of the file's config (every field), the current folder and
  fwcompat's code (version, and each module's size and modification time), and the
  bytes of every file its pack is built from (rule files, ``pack.yaml``, schemas);
- the same for the run's own config (rule titles in SARIF come from it), and the
  flags that change what is reported (``--unsafe-fixes``).

Storage is the rule-file cache's (:mod:`fwcompat.rulepacks`): one JSON entry per
such context, checksummed and verified on read, written atomically; a corrupt,
truncated, foreign or unreadable entry is a miss, then rewritten. At most
:data:`MAX_FILES` files are kept per context, the least recently checked dropped
first. ``--no-cache`` (or ``FWCOMPAT_NO_CACHE=1``) neither reads nor writes it;
``--fix``, ``--diff``, stdin, JSON Lines files and ``normalize`` do not use it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fwcompat.rulepacks import cache_get, cache_put, config_fingerprint, digest

from ._codes import NOT_OF_THE_BYTES

if TYPE_CHECKING:
    from fwcompat._config import Config

    from ._reporters import Finding

__all__ = ["MAX_FILES", "ResultCache", "check_cached", "finding_data", "finding_from"]

MAX_FILES = 10_000
"""Files kept per context (config and flags); the least recently checked go first."""
_KIND = "results"

Entry = list[Any]
"""[sha256, config fingerprint, requests counted, documents skipped, events]."""


def finding_data(finding: Finding) -> list[Any]:
    """A finding as JSON data (its file name is the cache's key, not stored)."""
    d = finding.diagnostic
    fix = None if d.fix is None else [d.fix.applicability, d.fix.replacement]
    diagnostic = [d.code, d.rule, d.severity.value, d.scope, d.path, d.action, d.message, d.doc]
    return [
        finding.line,
        finding.column,
        finding.request_line,
        finding.document,
        finding.fixable,
        [*diagnostic, fix, d.pack, d.revision],
    ]


def finding_from(name: str, data: list[Any]) -> Finding:
    """The finding back from :func:`finding_data`; raises on data of another shape."""
    from fwcompat._diagnostics import Diagnostic, Fix, Severity

    from ._reporters import Finding

    line, column, request_line, document, fixable, fields = data
    code, rule, severity, scope, path, action, message, doc, fix, pack, revision = fields
    texts = (code, rule, scope, path, action, message, doc, pack, revision)
    numbers = (line, column, request_line)
    if not all(isinstance(t, str) for t in texts) or not all(type(n) is int for n in numbers):
        raise ValueError("not a cached finding")
    if (document is not None and type(document) is not int) or type(fixable) is not bool:
        raise ValueError("not a cached finding")
    made_fix = None if fix is None else Fix(*fix)
    diagnostic = Diagnostic(
        code, rule, Severity(severity), scope, path, action, message, doc, made_fix, pack, revision
    )
    return Finding(name, line, column, diagnostic, fixable, request_line, document)


def _exact(value: Any) -> bool:
    """JSON gives ``value`` back exactly (no tuple, NaN or non-string key in a fix)."""
    try:
        return bool(json.loads(json.dumps(value, allow_nan=False)) == value)
    except (TypeError, ValueError, RecursionError):
        return False


def _events(name: str, events: Any) -> list[tuple[str, Any]]:
    """Cached events, checked and converted: ("f", Finding), ("w", text), ("n", text)."""
    out: list[tuple[str, Any]] = []
    for kind, value in events:
        if kind == "f":
            out.append((kind, finding_from(name, value)))
        elif kind in ("w", "n") and isinstance(value, str):
            out.append((kind, value))
        else:
            raise ValueError("not a cached event")
    return out


class ResultCache:
    """The cached results of one context: lookup before checking a file, store after."""

    def __init__(self, context: str) -> None:
        self.key = digest(b"results", context.encode())
        stored = cache_get(_KIND, self.key)
        valid = isinstance(stored, dict) and isinstance(stored.get("files"), dict)
        self.files: dict[str, Entry] = stored["files"] if valid else {}
        rules = stored.get("rules") if valid else None
        self.rules: dict[str, dict[str, Any]] = rules if isinstance(rules, dict) else {}
        self.stored: dict[str, Entry] = {}
        """Entries written by this run (checked, not replayed)."""
        self.used: list[str] = []
        self.hits = 0
        self.misses = 0
        self.shas: dict[str, str] = {}
        """Each file checked through the cache: its name -> SHA-256 of the bytes checked."""
        self.configs: dict[int, Config] = {}
        """The configs those files were checked with (by id)."""
        self.unstored = 0
        """Files checked whose result could not be kept (an I/O error, a bug, no JSON)."""
        self.describe: Callable[[str], Any] | None = None
        """The run's rule info (it adds each code it describes to :attr:`rules`): called
        for each code stored, so a later run in SARIF needs no rule loaded."""

    @staticmethod
    def fingerprint(config: Config) -> str | None:
        """A config's fingerprint (see the module's docstring); None when its pack's files
        cannot be recorded (then nothing is cached for it)."""
        found = config_fingerprint(config)
        if found is not None:
            return found
        from fwcompat.rulepacks import remember_config  # loads the pack: only on a miss

        return remember_config(config)

    def lookup(self, name: str, sha: str, config: Config) -> tuple[int, int, list[Any]] | None:
        """(requests, skipped, events) of a file checked before in this very state."""
        entry = self.files.get(name)
        if not isinstance(entry, list) or len(entry) != 5 or entry[0] != sha:
            return None
        if entry[1] != config_fingerprint(config):
            return None
        requests, skipped, events = entry[2:]
        try:
            if type(requests) is not int or type(skipped) is not int:
                raise ValueError("not cached counts")
            replay = _events(name, events)
        except (TypeError, ValueError):  # a foreign entry: checked again, then rewritten
            return None
        self.used.append(name)
        self.hits += 1
        return requests, skipped, replay

    def store(
        self, name: str, sha: str, config: Config, counts: tuple[int, int], events: list[Any]
    ) -> None:
        """Keep what checking a file reported (unless it hit an I/O error or a bug)."""
        self.misses += 1
        if any(kind == "f" and value[5][0] in NOT_OF_THE_BYTES for kind, value in events):
            self.unstored += 1
            return
        fingerprint = self.fingerprint(config)
        if fingerprint is None or not _exact(events):
            self.unstored += 1
            return
        self.stored[name] = [sha, fingerprint, counts[0], counts[1], events]
        for kind, value in events:
            if kind == "f" and value[5][0] not in self.rules and self.describe is not None:
                self.describe(value[5][0])

    def complete(self, files: int) -> bool:
        """Every one of ``files`` went through the cache, and its result was kept."""
        return self.hits + self.misses == files == len(self.shas) and not self.unstored

    def save(self) -> None:
        """Write the entry back when this run checked anything: merged over what another
        run (a parallel pre-commit batch) stored meanwhile, the least recent dropped."""
        if not self.stored:
            return
        latest = cache_get(_KIND, self.key)
        files = latest["files"] if isinstance(latest, dict) else self.files
        rules = latest.get("rules") if isinstance(latest, dict) else None
        merged = {n: e for n, e in files.items() if n not in self.stored and n not in self.used}
        merged.update((n, self.files[n]) for n in self.used if n in self.files)
        merged.update(self.stored)
        kept = dict(list(merged.items())[-MAX_FILES:])
        all_rules = {**(rules if isinstance(rules, dict) else {}), **self.rules}
        cache_put(_KIND, self.key, {"files": kept, "rules": all_rules})


def check_cached(checker: Any, cache: ResultCache, file: tuple[str, str, bytes, Any]) -> None:
    """Check one file's bytes (``(path, name, data, format)``) through the cache: replay
    what it reported last time when nothing it depends on changed; else check it,
    recording what it reports for the next run. ``checker`` is the run's
    :class:`~._commands.Checker` (which imports this module)."""
    import hashlib

    path, name, data, fmt = file
    sha = cache.shas[name] = hashlib.sha256(data).hexdigest()
    cache.configs[id(checker.config)] = checker.config
    summary = checker.summary
    hit = cache.lookup(name, sha, checker.config)
    if hit is not None:
        requests, skipped, events = hit
        summary.requests += requests
        summary.skipped += skipped
        for kind, value in events:
            if kind == "f":
                checker.emit(value)
            elif kind == "w":
                checker.warn(value)
            else:
                checker.note(value)
        return
    before = summary.requests, summary.skipped
    checker.recording = []
    try:
        checker.check_bytes(path, name, data, fmt)
        events = checker.recording
    finally:
        checker.recording = None
    counts = summary.requests - before[0], summary.skipped - before[1]
    cache.store(name, sha, checker.config, counts, events)
