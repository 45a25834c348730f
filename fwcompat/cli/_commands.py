"""The ``check`` and ``normalize`` commands: files in, findings and fixes out.

Trust rules every path below keeps:

- a document that is not a request (:func:`~._sources.classify`) is skipped,
  never reported on and never written;
- a file is written only when its fixes splice in exactly (verified by reading
  the result back), through a temp file and ``os.replace``; any failure leaves
  the original byte-identical and is reported;
- "fixed" is counted only after the write succeeded.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import IO, Any, NamedTuple, TextIO

from fwcompat._check import check
from fwcompat._config import Config
from fwcompat._diagnostics import Diagnostic, Result, Severity
from fwcompat._exceptions import ConfigError, RuleFileError
from fwcompat.cli.sources.discover import WalkError, detect_format
from fwcompat.cli.sources.fixtures import classify, file_tokens, fixable, split_envelope
from fwcompat.cli.sources.json_reader import load_json
from fwcompat.cli.sources.jsonl_reader import iter_jsonl
from fwcompat.cli.sources.suppression import inline_ignores, is_ignored
from fwcompat.cli.sources.units import Format, SourceError, Unit
from fwcompat.cli.sources.yaml_reader import SeveralDocuments, load_yaml, load_yaml_documents
from fwcompat.engine._paths import parse_pointer
from fwcompat.settings.file_selection import DEFAULT_EXCLUDE, DEFAULT_INCLUDE, FileSettings

from ._reporters import Finding, Reporter, Summary

__all__ = ["CLI_RULES", "CheckOptions", "Checker", "run_normalize"]

PARSE_ERROR = "E901"
IO_ERROR = "E902"
INTERNAL_ERROR = "E903"
DUPLICATE_KEY = "E904"
NON_STRING_KEY = "E905"
NOT_JSON = "E906"
CLI_RULES: dict[str, dict[str, str]] = {
    PARSE_ERROR: {
        "name": "parse-error",
        "title": "The file is not valid JSON, YAML or JSON Lines",
        "severity": "error",
    },
    IO_ERROR: {
        "name": "io-error",
        "title": "The file or folder cannot be read, or a fixed file cannot be written",
        "severity": "error",
    },
    INTERNAL_ERROR: {
        "name": "internal-error",
        "title": "fwcompat failed on this request (a bug: please report it)",
        "severity": "error",
    },
    DUPLICATE_KEY: {
        "name": "duplicate-key",
        "title": "An object has the same key twice (readers disagree on which one wins)",
        "severity": "error",
    },
    NON_STRING_KEY: {
        "name": "non-string-key",
        "title": "A YAML key is not a string (`on`, `null`, `1`): JSON keys are strings",
        "severity": "error",
    },
    NOT_JSON: {
        "name": "not-json",
        "title": "The normalized request holds a value JSON cannot carry (NaN, Infinity)",
        "severity": "error",
    },
}
_FAILURES = (PARSE_ERROR, IO_ERROR, INTERNAL_ERROR)


def cli_diagnostic(code: str, message: str, path: str = "") -> Diagnostic:
    info = CLI_RULES[code]
    return Diagnostic(
        code=code,
        rule=info["name"],
        severity=Severity.ERROR,
        scope="body",
        path=path,
        action="rejected",
        message=message,
        doc="",
    )


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


def display_name(path: str) -> str:
    """The path as reports show it: relative to the current folder when below it."""
    if os.path.isabs(path):
        try:
            rel = os.path.relpath(path)
        except ValueError:
            return path
        return path if rel.startswith("..") else rel
    return os.path.normpath(path)


def _unreadable(exc: OSError) -> SourceError:
    return SourceError(f"cannot read file: {exc.strerror or exc}", io=True)


def _unwritable(exc: OSError, what: str = "cannot write the fixed file") -> SourceError:
    return SourceError(f"{what}: {exc.strerror or exc}; the file is unchanged", io=True)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        head = data[: exc.start].decode("utf-8", "replace")
        line = head.count("\n") + 1
        column = len(head) - (head.rfind("\n") + 1) + 1
        raise SourceError(
            f"not UTF-8 text: {exc.reason} at byte {exc.start}", line, column
        ) from None


def _parse_units(text: str, fmt: Format) -> list[Unit]:
    """The documents of a whole file: one for JSON, one per ``---`` document for YAML."""
    if not text.strip("\ufeff \t\r\n"):
        raise SourceError("empty file: expected one request")
    if fmt != "yaml":
        return [load_json(text)]
    try:
        return [load_yaml(text)]
    except SeveralDocuments:
        return load_yaml_documents(text)


class Progress:
    """A stdlib progress bar on stderr, shown only after ``delay`` seconds of work.

    ``clear()`` erases it before anything else is written to the terminal; the
    next ``update()`` draws it again.
    """

    def __init__(
        self,
        total: int,
        label: str,
        enabled: bool,
        *,
        delay: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        stream: TextIO | None = None,
    ) -> None:
        self.total = max(total, 1)
        self.label = label
        self.enabled = enabled
        self.delay = delay
        self.interval = min(0.1, delay)
        self.clock = clock
        self.stream = stream or sys.stderr
        self.started = clock()
        self.last = -1e9
        self.shown = False

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if now - self.started < self.delay or now - self.last < self.interval:
            return
        self.last = now
        self.shown = True
        fraction = min(done / self.total, 1.0)
        width = 30
        filled = int(fraction * width)
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed / 1e6
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
            f"{fraction:6.1%} {done / 1e6:,.0f}/{self.total / 1e6:,.0f} MB {rate:,.1f} MB/s"
        )
        self.stream.flush()

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


class Checker:
    """Runs ``check()`` over sources and feeds a reporter. One per invocation."""

    def __init__(self, options: CheckOptions, reporter: Reporter, *, diff_out: TextIO) -> None:
        self.options = options
        self.reporter = reporter
        self.summary = Summary(fix_mode=options.fix or options.diff, diff_mode=options.diff)
        self.diff_out = diff_out
        self.failed_io = False
        self.progress: Progress | None = None
        self.stdin_request = False
        self.blocked = False
        """The current file cannot be written: nothing in it counts as fixable."""
        self.config = options.config
        """The Config of the file being checked (see ``CheckOptions.config_for``)."""

    # ------------------------------------------------------------------ messages

    def warn(self, message: str) -> None:
        if self.options.quiet:
            return
        self._clear_progress()
        sys.stderr.write(f"fwcompat: warning: {message}\n")

    def note(self, message: str) -> None:
        if self.options.verbose:
            self._clear_progress()
            sys.stderr.write(f"fwcompat: {message}\n")

    def _clear_progress(self) -> None:
        if self.progress is not None:
            self.progress.clear()

    # ------------------------------------------------------------------ units

    def _check_unit(self, document: Any) -> tuple[bool, Result | None, str]:
        envelope, kwargs = split_envelope(document)
        try:
            return envelope, check(**kwargs, config=self.config), ""
        except (ConfigError, RuleFileError):
            raise
        except Exception as exc:
            # check() never raises for a request: anything else is a bug, reported, not raised.
            return envelope, None, f"internal error: {type(exc).__name__}: {exc}"

    def _emit(self, finding: Finding) -> None:
        d = finding.diagnostic
        unsafe_only = fixable(d, unsafe=True) and not fixable(d, unsafe=False)
        self.summary.count(finding, unsafe_fixable=unsafe_only and not self.blocked)
        if d.code in _FAILURES:
            self.failed_io = True
        self._clear_progress()
        self.reporter.finding(finding)

    def _report_unit(
        self,
        name: str,
        unit: Unit,
        envelope: bool,
        result: Result | None,
        error: str,
        *,
        can_fix: bool = True,
    ) -> None:
        if result is None:
            d = cli_diagnostic(INTERNAL_ERROR, error)
            self._emit(Finding(name, unit.line, 1, d, False, unit.line, unit.number))
            return
        diagnostics = result.diagnostics
        if not diagnostics:
            return
        allowed = self.options.unsafe_fixes
        places = [place or (unit.line, 1) for place in located(diagnostics, unit, envelope)]
        findings = [
            Finding(
                name,
                line,
                column,
                d,
                can_fix and not self.blocked and fixable(d, allowed),
                unit.line,
                unit.number,
            )
            for (line, column), d in zip(places, diagnostics, strict=True)
        ]
        findings.sort(key=lambda f: (f.line, f.column))
        for finding in findings:
            self._emit(finding)

    def _report_error(self, name: str, exc: SourceError) -> None:
        code = IO_ERROR if exc.io else PARSE_ERROR
        self._emit(
            Finding(name, exc.line, exc.column, cli_diagnostic(code, exc.message), False, exc.line)
        )

    def _report_problems(self, name: str, unit: Unit) -> bool:
        """Report duplicate and non-string keys; True when the document cannot be checked."""
        for problem in unit.problems:
            d = cli_diagnostic(problem.code, problem.message)
            self._emit(
                Finding(name, problem.line, problem.column, d, False, unit.line, unit.number)
            )
        return any(p.code == NON_STRING_KEY for p in unit.problems)

    def _skip(self, name: str, why: str = "not a request") -> None:
        self.summary.skipped += 1
        self.note(f"skipped {name}: {why}")

    # ------------------------------------------------------------------ files

    def run(self, paths: Sequence[str]) -> int:
        from fwcompat.cli.sources.discover import discover

        self.reporter.start()
        o = self.options
        found = 0
        for path in discover(
            paths,
            include=o.include,
            exclude=o.exclude,
            force_exclude=o.force_exclude,
            skip=o.skip,
            selection=o.selection,
        ):
            found += 1
            if isinstance(path, WalkError):
                self.summary.files += 1
                self._report_error(display_name(path.path), SourceError(path.message, io=True))
                continue
            self.check_path(path)
        if not found:
            shown = ", ".join(paths)
            self.warn(
                f"no files to check under {shown} (include, exclude and .gitignore decide; "
                "--show-settings shows them)"
            )
        return self.finish()

    def exit_code(self) -> int:
        s = self.summary
        if self.failed_io:
            return 2
        if self.options.exit_zero:
            return 0
        if s.at_or_above(self.options.fail_on):
            return 1
        if self.options.diff and s.fixed:
            return 1  # changes pending: CI can gate on --diff
        if self.options.exit_non_zero_on_fix and s.fixed:
            return 1
        return 0

    def finish(self) -> int:
        code = self.exit_code()
        self.reporter.finish(self.summary, exit_code=code)
        return code

    def _config_of(self, path: str | None) -> Config:
        config_for = self.options.config_for
        if config_for is None:
            return self.options.config
        return config_for(path or os.path.join(os.getcwd(), "-"))

    def check_path(self, path: str) -> None:
        self.summary.files += 1
        if path == "-":
            self.config = self._config_of(self.options.stdin_filename)
            self._check_stdin()
            return
        self.config = self._config_of(path)
        name = display_name(path)
        try:
            if os.path.isdir(path):
                raise SourceError("is a folder", io=True)
            handle = open(path, "rb")  # noqa: SIM115 - closed below, streamed for JSONL
        except SourceError as exc:
            self._report_error(name, exc)
            return
        except OSError as exc:
            self._report_error(name, _unreadable(exc))
            return
        with handle:
            try:
                head = handle.peek(64)[:64].decode("utf-8", "replace")
                fmt = detect_format(path, head)
                if fmt == "jsonl":
                    self._check_jsonl(path, name, handle)
                    return
                text = _decode(handle.read())
            except SourceError as exc:
                self._report_error(name, exc)
                return
            except OSError as exc:
                self._report_error(name, _unreadable(exc))
                return
        self._check_text(path, name, text, fmt)

    def _check_stdin(self) -> None:
        self.stdin_request = True
        try:
            self._read_stdin()
        finally:
            self.stdin_request = False

    def _read_stdin(self) -> None:
        name = self.options.stdin_filename or "<stdin>"
        try:
            text = _decode(sys.stdin.buffer.read())
        except SourceError as exc:
            self._report_error(name, exc)
            return
        except OSError as exc:
            self._report_error(name, SourceError(f"cannot read stdin: {exc}", io=True))
            return
        fmt = detect_format(self.options.stdin_filename or "", text[:64])
        if fmt == "json" and not self.options.stdin_filename and "\n" in text.strip():
            try:
                load_json(text)
            except SourceError as exc:
                if "Extra data" in exc.message:
                    fmt = "jsonl"
        if fmt == "jsonl":
            self._check_jsonl(None, name, io.BytesIO(text.encode("utf-8")))
            return
        self._check_text(None, name, text, fmt)

    def _echo_stdin(self, path: str | None, text: str) -> None:
        """``--fix`` on stdin prints the file: unchanged unless a fix applied."""
        if path is None and self.options.fix and not self.options.diff:
            sys.stdout.write(text)

    def _fix_text(
        self,
        name: str,
        text: str,
        fmt: Format,
        unit: Unit,
        envelope: bool,
        result: Result,
        splices: list[tuple[int, int, str]] | None = None,
    ) -> tuple[str, int, bool]:
        """(new text, fixes applied, refused): a refused fix leaves ``text`` as it was."""
        from ._fix import FixRefused, edits_for, fix_json_text
        from ._fix_yaml import fix_yaml_text

        edits = edits_for(result.diagnostics, envelope, self.options.unsafe_fixes)
        if not edits:
            return text, 0, False
        try:
            if fmt != "yaml":
                new, applied = fix_json_text(text, edits, unit, splices_out=splices)
            elif unit.number is None:
                new, applied = fix_yaml_text(text, edits, unit, splices_out=splices)
            else:
                number = unit.number

                def load(edited: str) -> Unit:
                    return load_yaml_documents(edited)[number - 1]

                new, applied = fix_yaml_text(text, edits, unit, splices_out=splices, load=load)
            return new, applied, False
        except FixRefused as exc:
            self.warn(f"{name}: not fixed: {exc}")
        except (ValueError, IndexError, KeyError, TypeError, RecursionError) as exc:
            self.warn(f"{name}: not fixed: {type(exc).__name__}: {exc}")
        return text, 0, True

    def _check_text(self, path: str | None, name: str, text: str, fmt: Format) -> None:
        try:
            units = _parse_units(text, fmt)
        except SourceError as exc:
            self._report_error(name, exc)  # an empty file too: an error, never skipped
            self._echo_stdin(path, text)
            return
        checked: list[tuple[Unit, bool, Result | None, str]] = []
        ignores = inline_ignores(text) if fmt == "yaml" else {}
        for unit in units:
            if path is not None and classify(unit.document) is None:
                self._skip(name if unit.number is None else f"{name} (document {unit.number})")
                continue
            self.summary.requests += 1
            if self._report_problems(name, unit):
                continue
            envelope, result, error = self._check_unit(unit.document)
            if ignores and result is not None:
                result = self._without_ignored(name, unit, envelope, result, ignores)
            checked.append((unit, envelope, result, error))
        fixing = self.options.fix or self.options.diff
        pending = [c for c in checked if fixing and c[2] is not None and c[2].changed]
        if not pending:
            self._echo_stdin(path, text)
            for unit, envelope, result, error in checked:
                self._report_unit(name, unit, envelope, result, error)
            return
        # Fix the last document first: the offsets of the ones before it stay true.
        new_text, applied, refused = text, 0, set()
        splices: list[tuple[int, int, str]] = []
        for unit, envelope, result, _ in reversed(pending):
            assert result is not None
            new_text, count, failed = self._fix_text(
                name, new_text, fmt, unit, envelope, result, splices
            )
            applied += count
            if failed:
                refused.add(unit.number)
        if not applied or new_text == text:
            self._echo_stdin(path, text)
            for unit, envelope, result, error in checked:
                can_fix = unit.number not in refused
                self._report_unit(name, unit, envelope, result, error, can_fix=can_fix)
            return
        if self.options.diff:
            from ._fix_diff import splice_diff

            self.diff_out.write(splice_diff(text, sorted(splices), name))
        elif path is None:
            sys.stdout.write(new_text)
        else:
            from ._fix import write_atomic

            try:
                write_atomic(path, new_text)
            except OSError as exc:
                self._report_error(name, _unwritable(exc))
                self.blocked = True
                try:
                    for unit, envelope, result, error in checked:
                        self._report_unit(name, unit, envelope, result, error)
                finally:
                    self.blocked = False
                return
        self.summary.fixed += applied
        self.summary.files_fixed += 1
        # Report what remains, at its position in the fixed text.
        fixed_units = _parse_units(new_text, fmt)
        ignores = inline_ignores(new_text) if fmt == "yaml" else {}
        for unit, _, _, _ in checked:
            fixed = fixed_units[(unit.number or 1) - 1]
            envelope, result, error = self._check_unit(fixed.document)
            if ignores and result is not None:
                result = self._without_ignored(name, fixed, envelope, result, ignores)
            self._report_unit(name, fixed, envelope, result, error)

    def _without_ignored(
        self,
        name: str,
        unit: Unit,
        envelope: bool,
        result: Result,
        ignores: dict[int, frozenset[str]],
    ) -> Result:
        """The result less what a ``# fwcompat: ignore[CODE]`` comment turns off on the
        finding's line: neither reported nor fixed (ruff's ``# noqa``)."""
        import dataclasses

        diagnostics = result.diagnostics
        dropped: set[int] = set()
        for n, place in enumerate(located(diagnostics, unit, envelope)):
            if place is None:
                continue
            line = place[0]
            if is_ignored(ignores.get(line), diagnostics[n].code):
                dropped.add(n)
                self.note(f"{name}:{line}: {diagnostics[n].code} ignored by a comment")
        if not dropped:
            return result
        kept = tuple(d for n, d in enumerate(diagnostics) if n not in dropped)
        return dataclasses.replace(result, diagnostics=kept)

    # ------------------------------------------------------------------ JSONL

    def _open_temp(self, path: str) -> tuple[IO[str], str]:
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

    def _check_jsonl(self, path: str | None, name: str, handle: IO[bytes]) -> None:
        fixing = self.options.fix or self.options.diff
        out: IO[str] | None = None
        tmp: str | None = None
        if fixing and not self.options.diff:
            if path is None:
                out = sys.stdout
            else:
                try:
                    out, tmp = self._open_temp(path)
                except OSError as exc:
                    self._report_error(name, _unwritable(exc))
                    fixing = False
                    self.blocked = True
        total = 0
        if path is not None:
            try:
                total = os.fstat(handle.fileno()).st_size
            except (OSError, io.UnsupportedOperation):
                total = 0
        enabled = self.options.progress
        if enabled is None:
            enabled = sys.stderr.isatty()
        self.progress = Progress(
            total, name, bool(enabled and total), delay=self.options.progress_delay
        )
        state = _JsonlState()
        completed = False
        try:
            self._jsonl_lines(name, handle, out, fixing, state)
            completed = True
        except OSError as exc:
            # Reading or writing failed midway: the original stays as it was.
            if out is not None and tmp is not None and state.wrote_error(exc):
                self._report_error(name, _unwritable(exc))
            else:
                self._report_error(name, _unreadable(exc))
        finally:
            self.blocked = False
            self.progress.clear()
            self.progress = None
            if tmp is not None and out is not None:
                out.close()
                self._finish_temp(path or "", tmp, name, state, completed and state.applied > 0)
            elif completed and state.applied:
                self._count_fixed(state)

    def _finish_temp(
        self, path: str, tmp: str, name: str, state: _JsonlState, replace: bool
    ) -> None:
        import contextlib

        try:
            if not replace:
                return
            target = os.path.realpath(path)
            with contextlib.suppress(OSError):
                os.chmod(tmp, os.stat(target).st_mode & 0o7777)
            try:
                os.replace(tmp, target)
            except OSError as exc:
                self._report_error(name, _unwritable(exc))
                return
            self._count_fixed(state)
        finally:
            with contextlib.suppress(OSError):
                if os.path.exists(tmp):
                    os.unlink(tmp)

    def _count_fixed(self, state: _JsonlState) -> None:
        self.summary.fixed += state.applied
        self.summary.files_fixed += 1

    def _jsonl_lines(
        self, name: str, handle: IO[bytes], out: IO[str] | None, fixing: bool, state: _JsonlState
    ) -> None:
        progress = self.progress
        header_done = False
        for number, raw, item in iter_jsonl(handle):
            if progress is not None and progress.enabled and number % 256 == 0:
                progress.update(handle.tell())
            if not isinstance(item, Unit):
                if isinstance(item, SourceError):
                    self._report_error(name, item)
                if out is not None:
                    state.write(out, raw)
                continue
            unit = item
            if not self.stdin_request and classify(unit.document) is None:
                self.summary.skipped += 1
                self.note(f"skipped {name}:{number}: not a request")
                if out is not None:
                    state.write(out, raw)
                continue
            self.summary.requests += 1
            self._report_problems(name, unit)
            envelope, result, error = self._check_unit(unit.document)
            new_raw, applied = raw, 0
            if fixing and result is not None and result.changed and not unit.problems:
                new_raw, applied = self._fixed_line(name, number, raw, unit, envelope, result)
            if applied and new_raw != raw:
                state.applied += applied
                if self.options.diff:
                    if not header_done:
                        from ._fix_diff import diff_header

                        self.diff_out.write(diff_header(name))
                        header_done = True
                    self.diff_out.write(f"@@ -{number} +{number} @@\n-{_nl(raw)}+{_nl(new_raw)}")
                fixed_unit = load_json(new_raw.rstrip("\r\n"), line=number)
                envelope, result, error = self._check_unit(fixed_unit.document)
                unit = fixed_unit
            elif fixing and result is not None and result.changed:
                self._report_unit(name, unit, envelope, result, error, can_fix=False)
                if out is not None:
                    state.write(out, raw)
                continue
            if out is not None:
                state.write(out, new_raw)
            self._report_unit(name, unit, envelope, result, error)

    def _fixed_line(
        self, name: str, number: int, raw: str, unit: Unit, envelope: bool, result: Result
    ) -> tuple[str, int]:
        body = raw.rstrip("\r\n")
        new, applied, _ = self._fix_text(f"{name}:{number}", body, "json", unit, envelope, result)
        return new + raw[len(body) :], applied


class _JsonlState:
    """Counters of one JSONL file; remembers whether the failure was a write."""

    def __init__(self) -> None:
        self.applied = 0
        self.write_failed: OSError | None = None

    def write(self, out: IO[str], text: str) -> None:
        try:
            _write(out, text)
        except OSError as exc:
            self.write_failed = exc
            raise

    def wrote_error(self, exc: OSError) -> bool:
        return self.write_failed is exc


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


# ---------------------------------------------------------------------- normalize


def run_normalize(options: CheckOptions, paths: Sequence[str], reporter: Reporter) -> int:
    """Print each request's normalized form (all fixes applied, as ``fwcompat.normalize``).

    One input file with one request prints indented JSON; anything more prints
    JSON Lines. A rejected request prints nothing (its diagnostics go to stderr),
    as ``fwcompat.normalize()`` raises for it.
    """
    from fwcompat.cli.sources.discover import SUFFIXES

    single = (
        len(paths) == 1
        and not os.path.isdir(paths[0])
        and SUFFIXES.get(os.path.splitext(paths[0])[1].lower()) != "jsonl"
    )

    class _Capture(Checker):
        def _report_unit(
            self,
            name: str,
            unit: Unit,
            envelope: bool,
            result: Result | None,
            error: str,
            *,
            can_fix: bool = True,
        ) -> None:
            if result is not None and result.ok:
                body: Any = result.request
                if envelope:
                    env = dict(unit.document)
                    env["body"] = result.request
                    if "headers" in env:
                        env["headers"] = dict(result.headers)
                    body = env
                compact = not (single and unit.line == 1 and not self._jsonl)
                try:
                    text = json.dumps(
                        body,
                        ensure_ascii=False,
                        indent=None if compact else 2,
                        allow_nan=False,
                    )
                except (ValueError, TypeError) as exc:
                    d = cli_diagnostic(NOT_JSON, f"the normalized request is not JSON: {exc}")
                    self._emit(Finding(name, unit.line, 1, d, False, unit.line))
                else:
                    sys.stdout.write(text + "\n")
            super()._report_unit(name, unit, envelope, result, error, can_fix=can_fix)

        _jsonl = False

        def _check_jsonl(self, path: str | None, name: str, handle: IO[bytes]) -> None:
            self._jsonl = True
            try:
                super()._check_jsonl(path, name, handle)
            finally:
                self._jsonl = False

    checker = _Capture(options, reporter, diff_out=sys.stderr)
    return checker.run(paths)


def located(diagnostics: Sequence[Any], unit: Any, envelope: bool) -> list[tuple[int, int] | None]:
    """Each diagnostic's (line, column) in the unit's file, or None when its pointer is not
    in the file (a header, say): one ``locate_all`` for all of them."""
    wanted: list[Sequence[str]] = []
    slots: list[int] = []
    for n, d in enumerate(diagnostics):
        try:
            tokens = file_tokens(d.scope, parse_pointer(d.path), envelope)
        except ValueError:
            tokens = None
        if tokens is not None:
            slots.append(n)
            wanted.append(tokens)
    places: list[tuple[int, int] | None] = [None] * len(diagnostics)
    for n, place in zip(slots, unit.locate_all(wanted) if wanted else (), strict=True):
        places[n] = place
    return places
