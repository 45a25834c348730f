"""Checking (and fixing) one JSON Lines file line by line: memory stays flat.

Fixed lines go to a temp file beside the original, renamed over it at the end (stdout
for stdin); a failure midway leaves the original as it was.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from typing import IO, Any, Protocol, TextIO

from fwcompat._diagnostics import Result
from fwcompat.cli.sources.fixtures import classify
from fwcompat.cli.sources.json_reader import load_json
from fwcompat.cli.sources.jsonl_reader import iter_jsonl
from fwcompat.cli.sources.units import Format, SourceError, Unit, unreadable, unwritable

from ._check_options import CheckOptions
from ._progress import Progress
from ._reporters import Summary

__all__ = ["JsonlFile", "UnitChecker"]


class UnitChecker(Protocol):
    """What a JSON Lines file needs of the checker that runs it (``_commands.Checker``):
    the run's options and summary, its progress bar, and checking and reporting one unit."""

    options: CheckOptions
    summary: Summary
    progress: Progress | None
    in_jsonl: bool
    blocked: bool
    stdin_request: bool
    diff_out: TextIO

    def note(self, message: str) -> None: ...
    def report_error(self, name: str, exc: SourceError) -> None: ...
    def report_problems(self, name: str, unit: Unit) -> bool: ...
    def check_unit(self, document: Any) -> tuple[bool, Result | None, str]: ...
    def report_unit(
        self,
        name: str,
        unit: Unit,
        envelope: bool,
        result: Result | None,
        error: str,
        *,
        can_fix: bool = True,
    ) -> None: ...
    def fix_text(
        self,
        name: str,
        text: str,
        fmt: Format,
        unit: Unit,
        envelope: bool,
        result: Result,
        splices: list[tuple[int, int, str]] | None = None,
    ) -> tuple[str, int, bool]: ...


class JsonlFile:
    """One JSON Lines file (``path`` None: stdin) checked through ``checker``."""

    def __init__(self, checker: UnitChecker, path: str | None, name: str) -> None:
        self.checker = checker
        self.path = path
        self.name = name
        self.out: IO[str] | None = None
        """Where the (fixed) lines go: a temp file beside ``path``, or stdout for stdin."""
        self.tmp: str | None = None
        self.applied = 0
        self.write_failed: OSError | None = None
        self.diff_started = False

    def check(self, handle: IO[bytes]) -> None:
        checker = self.checker
        fixing = self._open_output()
        checker.progress = self._progress(handle)
        checker.in_jsonl = True
        completed = False
        try:
            self._lines(handle, fixing)
            completed = True
        except OSError as exc:
            # Reading or writing failed midway: the original stays as it was.
            if self.tmp is not None and self.write_failed is exc:
                checker.report_error(self.name, unwritable(exc))
            else:
                checker.report_error(self.name, unreadable(exc))
        finally:
            checker.blocked = False
            checker.in_jsonl = False
            checker.progress.clear()
            checker.progress = None
            if self.tmp is not None and self.out is not None:
                self.out.close()
                self._replace(completed and self.applied > 0)
            elif completed and self.applied:
                self._count_fixed()

    def _open_output(self) -> bool:
        """Whether fixes are made: ``--fix`` writes them (``--diff`` only shows them)."""
        options = self.checker.options
        fixing = options.fix or options.diff
        if not fixing or options.diff:
            return fixing
        if self.path is None:
            self.out = sys.stdout
            return True
        try:
            self.out, self.tmp = _open_temp(self.path)
        except OSError as exc:
            self.checker.report_error(self.name, unwritable(exc))
            self.checker.blocked = True
            return False
        return True

    def _progress(self, handle: IO[bytes]) -> Progress:
        total = 0
        if self.path is not None:
            try:
                total = os.fstat(handle.fileno()).st_size
            except (OSError, io.UnsupportedOperation):
                total = 0
        options = self.checker.options
        enabled = options.progress
        if enabled is None:
            enabled = sys.stderr.isatty()
        return Progress(total, self.name, bool(enabled and total), delay=options.progress_delay)

    def _replace(self, replace: bool) -> None:
        """Rename the temp file over the original when lines were fixed; else delete it."""
        tmp = self.tmp or ""
        try:
            if not replace:
                return
            target = os.path.realpath(self.path or "")
            with contextlib.suppress(OSError):
                os.chmod(tmp, os.stat(target).st_mode & 0o7777)
            try:
                os.replace(tmp, target)
            except OSError as exc:
                self.checker.report_error(self.name, unwritable(exc))
                return
            self._count_fixed()
        finally:
            with contextlib.suppress(OSError):
                if os.path.exists(tmp):
                    os.unlink(tmp)

    def _count_fixed(self) -> None:
        self.checker.summary.fixed += self.applied
        self.checker.summary.files_fixed += 1

    def _lines(self, handle: IO[bytes], fixing: bool) -> None:
        checker = self.checker
        progress = checker.progress
        for number, raw, item in iter_jsonl(handle):
            if progress is not None and progress.enabled and number % 256 == 0:
                progress.update(handle.tell())
            if not isinstance(item, Unit):
                if isinstance(item, SourceError):
                    checker.report_error(self.name, item)
                self._write(raw)
            elif not checker.stdin_request and classify(item.document) is None:
                checker.summary.skipped += 1
                checker.note(f"skipped {self.name}:{number}: not a request")
                self._write(raw)
            else:
                self._line(number, raw, item, fixing)

    def _line(self, number: int, raw: str, unit: Unit, fixing: bool) -> None:
        """Check one request line; fix it (and check the fixed line) when asked."""
        checker, name = self.checker, self.name
        checker.summary.requests += 1
        checker.report_problems(name, unit)
        envelope, result, error = checker.check_unit(unit.document)
        new_raw, applied = raw, 0
        if fixing and result is not None and result.changed and not unit.problems:
            new_raw, applied = self._fixed_line(number, raw, unit, envelope, result)
        if applied and new_raw != raw:
            self.applied += applied
            if checker.options.diff:
                self._diff(number, raw, new_raw)
            unit = load_json(new_raw.rstrip("\r\n"), line=number)
            envelope, result, error = checker.check_unit(unit.document)
        elif fixing and result is not None and result.changed:
            checker.report_unit(name, unit, envelope, result, error, can_fix=False)
            self._write(raw)
            return
        self._write(new_raw)
        checker.report_unit(name, unit, envelope, result, error)

    def _diff(self, number: int, raw: str, new_raw: str) -> None:
        out = self.checker.diff_out
        if not self.diff_started:
            from ._fix_diff import diff_header

            out.write(diff_header(self.name))
            self.diff_started = True
        out.write(f"@@ -{number} +{number} @@\n-{_nl(raw)}+{_nl(new_raw)}")

    def _fixed_line(
        self, number: int, raw: str, unit: Unit, envelope: bool, result: Result
    ) -> tuple[str, int]:
        body = raw.rstrip("\r\n")
        where = f"{self.name}:{number}"
        new, applied, _ = self.checker.fix_text(where, body, "json", unit, envelope, result)
        return new + raw[len(body) :], applied

    def _write(self, text: str) -> None:
        """Write a line back (if lines are written), restoring undecodable bytes."""
        if self.out is None:
            return
        try:
            _write(self.out, text)
        except OSError as exc:
            self.write_failed = exc
            raise


def _open_temp(path: str) -> tuple[IO[str], str]:
    import tempfile

    from ._fix import check_writable

    check_writable(path)
    target = os.path.realpath(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{os.path.basename(target)}.",
        suffix=".fwcompat-tmp",
        dir=os.path.dirname(target),
    )
    out = open(fd, "w", encoding="utf-8", errors="surrogateescape", newline="")  # noqa: SIM115
    return out, tmp


def _nl(line: str) -> str:
    return line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"


def _write(out: IO[str], text: str) -> None:
    """Write a JSONL line back, restoring undecodable bytes (surrogateescape)."""
    stdout: TextIO = sys.stdout
    if out is stdout:
        stdout.flush()
        stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
        stdout.buffer.flush()
    else:
        out.write(text)
