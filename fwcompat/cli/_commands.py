"""The ``check`` and ``normalize`` commands: files in, findings and fixes out."""

from __future__ import annotations

import contextlib
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
from fwcompat._paths import parse_pointer

from ._reporters import Finding, Reporter, Summary
from ._sources import (
    Format,
    SourceError,
    Unit,
    detect_format,
    file_tokens,
    fixable,
    iter_jsonl,
    load_json,
    load_yaml,
    split_envelope,
)

__all__ = ["CheckOptions", "Checker", "run_normalize"]

PARSE_ERROR = "E901"
READ_ERROR = "E902"
INTERNAL_ERROR = "E903"
CLI_RULES: dict[str, dict[str, str]] = {
    PARSE_ERROR: {
        "name": "parse-error",
        "title": "The file is not valid JSON, YAML or JSON Lines",
        "severity": "error",
    },
    READ_ERROR: {
        "name": "io-error",
        "title": "The file cannot be read",
        "severity": "error",
    },
    INTERNAL_ERROR: {
        "name": "internal-error",
        "title": "fwcompat failed on this request (a bug: please report it)",
        "severity": "error",
    },
}


def cli_diagnostic(code: str, message: str) -> Diagnostic:
    info = CLI_RULES[code]
    return Diagnostic(
        code=code,
        rule=info["name"],
        severity=Severity.ERROR,
        scope="body",
        path="",
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


def _parse_document(text: str, fmt: Format) -> Unit:
    return load_yaml(text) if fmt == "yaml" else load_json(text)


class _Progress:
    """A stdlib progress bar on stderr, shown only after a second of work."""

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self.total = max(total, 1)
        self.label = label
        self.enabled = enabled
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = False

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.started < 1.0 or now - self.last < 0.1:
            return
        self.last = now
        self.shown = True
        fraction = min(done / self.total, 1.0)
        width = 30
        filled = int(fraction * width)
        rate = done / (now - self.started) / 1e6
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
            f"{fraction:6.1%} {done / 1e6:,.0f}/{self.total / 1e6:,.0f} MB {rate:,.1f} MB/s"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


class Checker:
    """Runs ``check()`` over sources and feeds a reporter. One per invocation."""

    def __init__(self, options: CheckOptions, reporter: Reporter, *, diff_out: TextIO) -> None:
        self.options = options
        self.reporter = reporter
        self.summary = Summary(fix_mode=options.fix or options.diff, diff_mode=options.diff)
        self.diff_out = diff_out
        self.failed_io = False

    # ------------------------------------------------------------------ units

    def _check_unit(self, document: Any) -> tuple[bool, Result | None, str]:
        envelope, kwargs = split_envelope(document)
        try:
            return envelope, check(**kwargs, config=self.options.config), ""
        except (ConfigError, RuleFileError):
            raise
        except Exception as exc:
            # check() never raises for a request: anything else is a bug, reported, not raised.
            return envelope, None, f"internal error: {type(exc).__name__}: {exc}"

    def _locate(self, unit: Unit, d: Diagnostic, envelope: bool) -> tuple[int, int]:
        try:
            tokens = file_tokens(d, parse_pointer(d.path), envelope)
        except ValueError:
            tokens = None
        if tokens is None:
            return unit.line, 1
        return unit.locate(tokens)

    def _emit(self, finding: Finding) -> None:
        d = finding.diagnostic
        self.summary.count(finding, unsafe_fixable=fixable(d, unsafe=True))
        if d.code in (PARSE_ERROR, READ_ERROR, INTERNAL_ERROR):
            self.failed_io = True
        self.reporter.finding(finding)

    def _report_unit(
        self, name: str, unit: Unit, envelope: bool, result: Result | None, error: str
    ) -> None:
        if result is None:
            d = cli_diagnostic(INTERNAL_ERROR, error)
            self._emit(Finding(name, unit.line, 1, d, False, unit.line))
            return
        allowed = self.options.unsafe_fixes
        findings = [
            Finding(name, *self._locate(unit, d, envelope), d, fixable(d, allowed), unit.line)
            for d in result.diagnostics
        ]
        findings.sort(key=lambda f: (f.line, f.column))
        for finding in findings:
            self._emit(finding)

    def _report_error(self, name: str, exc: SourceError) -> None:
        code = READ_ERROR if exc.io else PARSE_ERROR
        self._emit(
            Finding(name, exc.line, exc.column, cli_diagnostic(code, exc.message), False, exc.line)
        )

    # ------------------------------------------------------------------ files

    def run(self, paths: Sequence[str]) -> int:
        from ._sources import discover

        self.reporter.start()
        for path in discover(paths):
            self.check_path(path)
        return self.finish()

    def finish(self) -> int:
        s = self.summary
        if self.failed_io:
            code = 2
        elif s.at_or_above(self.options.fail_on) or (self.options.exit_non_zero_on_fix and s.fixed):
            code = 1
        else:
            code = 0
        self.reporter.finish(s, exit_code=code)
        return code

    def check_path(self, path: str) -> None:
        self.summary.files += 1
        if path == "-":
            self._check_stdin()
            return
        name = display_name(path)
        try:
            if os.path.isdir(path):
                raise SourceError("is a directory", io=True)
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
            import io

            self._check_jsonl(None, name, io.BytesIO(text.encode("utf-8")))
            return
        self._check_text(None, name, text, fmt)

    def _fixed_text(
        self, text: str, fmt: Format, document: Any, envelope: bool, result: Result
    ) -> tuple[str, int]:
        from ._fix import edits_for, fix_json_text, fix_yaml_text

        edits = edits_for(result.diagnostics, envelope, self.options.unsafe_fixes)
        if fmt != "yaml":
            return fix_json_text(text, edits)
        if not edits:
            return text, 0
        from ._fix import apply_edits

        try:
            new_text, applied = fix_yaml_text(text, edits)
            # Never write what we cannot read back as exactly the fixed request.
            expected, _ = apply_edits(load_yaml(text).document, edits)
            if applied and load_yaml(new_text).document != expected:
                raise ValueError("the rewritten YAML does not read back as the fixed request")
        except Exception as exc:  # ruamel.yaml refuses some files PyYAML reads
            self.warn(
                f"{self._name}: not fixed: cannot rewrite this YAML keeping its format "
                f"({type(exc).__name__}: {_first_line(exc)})"
            )
            return text, 0
        return new_text, applied

    def warn(self, message: str) -> None:
        sys.stderr.write(f"fwcompat: warning: {message}\n")

    _name = ""

    def _check_text(self, path: str | None, name: str, text: str, fmt: Format) -> None:
        self._name = name
        try:
            unit = _parse_document(text, fmt)
        except SourceError as exc:
            self._report_error(name, exc)
            if path is None and self.options.fix and not self.options.diff:
                sys.stdout.write(text)
            return
        self.summary.requests += 1
        envelope, result, error = self._check_unit(unit.document)
        fixing = self.options.fix or self.options.diff
        if fixing and result is not None and result.changed:
            new_text, applied = self._fixed_text(text, fmt, unit.document, envelope, result)
            if applied and new_text != text:
                self.summary.fixed += applied
                self.summary.files_fixed += 1
                if self.options.diff:
                    from ._fix import unified_diff

                    self.diff_out.write(unified_diff(text, new_text, name))
                else:
                    if path is None:
                        sys.stdout.write(new_text)
                    else:
                        from ._fix import write_atomic

                        try:
                            write_atomic(path, new_text)
                        except OSError as exc:
                            self._report_error(
                                name,
                                SourceError(
                                    f"cannot write fixed file: {exc.strerror or exc}", io=True
                                ),
                            )
                            return
                    # Report what remains, at its position in the fixed text.
                    text = new_text
                    unit = _parse_document(new_text, fmt)
                    envelope, result, error = self._check_unit(unit.document)
            elif path is None and not self.options.diff:
                sys.stdout.write(text)
        elif path is None and self.options.fix and not self.options.diff:
            sys.stdout.write(text)
        self._report_unit(name, unit, envelope, result, error)

    def _check_jsonl(self, path: str | None, name: str, handle: IO[bytes]) -> None:
        import io

        fixing = self.options.fix or self.options.diff
        out: IO[str] | None = None
        tmp: str | None = None
        changed = False
        diff_header = False
        if fixing and not self.options.diff:
            if path is None:
                out = sys.stdout
            else:
                import tempfile

                target = os.path.realpath(path)
                fd, tmp = tempfile.mkstemp(
                    prefix=f".{os.path.basename(target)}.",
                    suffix=".fwcompat-tmp",
                    dir=os.path.dirname(target),
                )
                out = open(  # noqa: SIM115
                    fd, "w", encoding="utf-8", errors="surrogateescape", newline=""
                )
        total = 0
        if path is not None:
            try:
                total = os.fstat(handle.fileno()).st_size
            except (OSError, io.UnsupportedOperation):
                total = 0
        enabled = self.options.progress
        if enabled is None:
            enabled = sys.stderr.isatty()
        progress = _Progress(total, name, bool(enabled and total))
        try:
            for number, raw, item in iter_jsonl(handle):
                if progress.enabled and number % 256 == 0:
                    progress.update(handle.tell())
                if item is None:
                    if out is not None:
                        _write(out, raw)
                    continue
                if isinstance(item, SourceError):
                    self._report_error(name, item)
                    if out is not None:
                        _write(out, raw)
                    continue
                self.summary.requests += 1
                unit = item
                envelope, result, error = self._check_unit(unit.document)
                new_raw = raw
                if fixing and result is not None and result.changed:
                    new_raw, applied = self._fixed_line(raw, unit.document, envelope, result)
                    if applied and new_raw != raw:
                        changed = True
                        self.summary.fixed += applied
                        if self.options.diff:
                            if not diff_header:
                                self.diff_out.write(f"--- a/{name}\n+++ b/{name}\n")
                                diff_header = True
                            self.diff_out.write(
                                f"@@ -{number} +{number} @@\n-{_nl(raw)}+{_nl(new_raw)}"
                            )
                        else:
                            unit = load_json(new_raw)
                            unit = Unit(unit.document, number, _shift(unit, number))
                            envelope, result, error = self._check_unit(unit.document)
                if out is not None:
                    _write(out, new_raw)
                self._report_unit(name, unit, envelope, result, error)
        except OSError as exc:
            self._report_error(name, _unreadable(exc))
            changed = False
        finally:
            progress.close()
            if tmp is not None and out is not None:
                out.close()
                if changed:
                    import shutil

                    with contextlib.suppress(OSError):
                        shutil.copymode(os.path.realpath(path or ""), tmp)
                    os.replace(tmp, os.path.realpath(path or ""))
                else:
                    os.unlink(tmp)
        if changed:
            self.summary.files_fixed += 1

    def _fixed_line(
        self, raw: str, document: Any, envelope: bool, result: Result
    ) -> tuple[str, int]:
        from ._fix import edits_for, fix_json_text

        edits = edits_for(result.diagnostics, envelope, self.options.unsafe_fixes)
        body = raw.rstrip("\r\n")
        new, applied = fix_json_text(body, edits)
        return new + raw[len(body) :], applied


def _nl(line: str) -> str:
    return line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"


def _shift(unit: Unit, number: int) -> Callable[[Sequence[str]], tuple[int, int]]:
    def locate(tokens: Sequence[str]) -> tuple[int, int]:
        _, column = unit.locate(tokens)
        return number, column

    return locate


def _first_line(exc: BaseException) -> str:
    problem = getattr(exc, "problem", None)
    if isinstance(problem, str) and problem:
        return problem
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""


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
    """Print each request's normalized form (all fixes applied, as ``fwcompat.normalize``)."""

    class _Capture(Checker):
        def _report_unit(
            self, name: str, unit: Unit, envelope: bool, result: Result | None, error: str
        ) -> None:
            if result is not None:
                out: Any = result.request
                if envelope:
                    env = dict(unit.document)
                    env["body"] = result.request
                    if "headers" in env:
                        env["headers"] = dict(result.headers)
                    out = env
                compact = unit.line > 1 or self._jsonl
                sys.stdout.write(
                    json.dumps(out, ensure_ascii=False, indent=None if compact else 2, default=str)
                    + "\n"
                )
            super()._report_unit(name, unit, envelope, result, error)

        _jsonl = False

        def _check_jsonl(self, path: str | None, name: str, handle: IO[bytes]) -> None:
            self._jsonl = True
            try:
                super()._check_jsonl(path, name, handle)
            finally:
                self._jsonl = False

    checker = _Capture(options, reporter, diff_out=sys.stderr)
    return checker.run(paths)
