"""The ``check`` and ``normalize`` commands: files in, findings and fixes out.

Trust rules every path below keeps:

- a document that is not a request (:func:`~.sources.fixtures.classify`) is skipped,
  never reported on and never written;
- a file is written only when its fixes splice in exactly (verified by reading
  the result back), through a temp file and ``os.replace``; any failure leaves
  the original byte-identical and is reported;
- "fixed" is counted only after the write succeeded.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from fwcompat._config import Config
from fwcompat._diagnostics import Result
from fwcompat._exceptions import ConfigError, RuleFileError
from fwcompat.cli.sources.discover import WalkError, detect_format
from fwcompat.cli.sources.fixtures import classify, file_tokens, fixable, split_envelope
from fwcompat.cli.sources.units import Format, SourceError, Unit, unreadable, unwritable

from ._check_options import CheckOptions
from ._codes import FAILURES, INTERNAL_ERROR, IO_ERROR, NON_STRING_KEY, PARSE_ERROR, cli_diagnostic
from ._reporters import Finding, Reporter, Summary

if TYPE_CHECKING:
    from ._progress import Progress
    from ._result_cache import ResultCache

# Imported where they are used (the readers, JSON Lines, the engine): a run whose files
# are all answered from the result cache never loads them.

__all__ = ["CheckOptions", "Checker", "display_name", "located"]


class Checked(NamedTuple):
    """One request of a file, checked: ``result`` is None after an internal error."""

    unit: Unit
    envelope: bool
    result: Result | None
    error: str


def display_name(path: str) -> str:
    """The path as reports show it: relative to the current folder when below it."""
    if os.path.isabs(path):
        try:
            rel = os.path.relpath(path)
        except ValueError:
            return path
        return path if rel.startswith("..") else rel
    return os.path.normpath(path)


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
        from fwcompat.cli.sources.json_reader import load_json

        return [load_json(text)]
    from fwcompat.cli.sources.yaml_reader import SeveralDocuments, load_yaml, load_yaml_documents

    try:
        return [load_yaml(text)]
    except SeveralDocuments:
        return load_yaml_documents(text)


class Checker:
    """Runs ``check()`` over sources and feeds a reporter. One per invocation."""

    def __init__(self, options: CheckOptions, reporter: Reporter, *, diff_out: TextIO) -> None:
        self.options = options
        self.reporter = reporter
        self.summary = Summary(fix_mode=options.fix or options.diff, diff_mode=options.diff)
        self.diff_out = diff_out
        self.failed_io = False
        self.progress: Progress | None = None
        self.in_jsonl = False
        """A JSON Lines file is being checked (see :class:`~._jsonl_file.JsonlFile`)."""
        self.stdin_request = False
        self.blocked = False
        """The current file cannot be written: nothing in it counts as fixable."""
        self.config = options.config
        """The Config of the file being checked (see ``CheckOptions.config_for``)."""
        self.results: ResultCache | None = None
        """The result cache, when this run uses it (``check`` on files, no ``--fix``)."""
        self.recording: list[Any] | None = None
        """What the current file reports, for the result cache (see :meth:`_cached`)."""

    # ------------------------------------------------------------------ messages

    def warn(self, message: str) -> None:
        if self.recording is not None:
            self.recording.append(["w", message])
        if self.options.quiet:
            return
        self._clear_progress()
        sys.stderr.write(f"fwcompat: warning: {message}\n")

    def note(self, message: str) -> None:
        if self.recording is not None:
            self.recording.append(["n", message])
        if self.options.verbose:
            self._clear_progress()
            sys.stderr.write(f"fwcompat: {message}\n")

    def _clear_progress(self) -> None:
        if self.progress is not None:
            self.progress.clear()

    # ------------------------------------------------------------------ units

    def check_unit(self, document: Any) -> tuple[bool, Result | None, str]:
        from fwcompat._check import check  # here: a run answered from the cache never loads it

        envelope, kwargs = split_envelope(document)
        try:
            return envelope, check(**kwargs, config=self.config), ""
        except (ConfigError, RuleFileError):
            raise
        except Exception as exc:
            # check() never raises for a request: anything else is a bug, reported, not raised.
            return envelope, None, f"internal error: {type(exc).__name__}: {exc}"

    def emit(self, finding: Finding) -> None:
        if self.recording is not None:
            from ._result_cache import finding_data

            self.recording.append(["f", finding_data(finding)])
        d = finding.diagnostic
        unsafe_only = fixable(d, unsafe=True) and not fixable(d, unsafe=False)
        self.summary.count(finding, unsafe_fixable=unsafe_only and not self.blocked)
        if d.code in FAILURES:
            self.failed_io = True
        self._clear_progress()
        self.reporter.finding(finding)

    def report_unit(
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
            self.passed(name, unit, envelope, result)
        if result is None:
            d = cli_diagnostic(INTERNAL_ERROR, error)
            self.emit(Finding(name, unit.line, 1, d, False, unit.line, unit.number))
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
            self.emit(finding)

    def passed(self, name: str, unit: Unit, envelope: bool, result: Result) -> None:
        """A request that passes: ``normalize`` prints it; ``check`` has nothing to add."""

    def report_error(self, name: str, exc: SourceError) -> None:
        code = IO_ERROR if exc.io else PARSE_ERROR
        self.emit(
            Finding(name, exc.line, exc.column, cli_diagnostic(code, exc.message), False, exc.line)
        )

    def report_problems(self, name: str, unit: Unit) -> bool:
        """Report duplicate and non-string keys; True when the document cannot be checked."""
        for problem in unit.problems:
            d = cli_diagnostic(problem.code, problem.message)
            self.emit(Finding(name, problem.line, problem.column, d, False, unit.line, unit.number))
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
                self.report_error(display_name(path.path), SourceError(path.message, io=True))
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
            with open(path, "rb") as handle:  # streamed for JSONL
                head = handle.peek(64)[:64].decode("utf-8", "replace")
                fmt = detect_format(path, head)
                if fmt == "jsonl":
                    from ._jsonl_file import JsonlFile

                    JsonlFile(self, path, name).check(handle)
                    return
                data = handle.read()
        except SourceError as exc:
            self.report_error(name, exc)
            return
        except OSError as exc:
            self.report_error(name, unreadable(exc))
            return
        if self.results is None:
            self.check_bytes(path, name, data, fmt)
        else:
            from ._result_cache import check_cached

            check_cached(self, self.results, (path, name, data, fmt))

    def check_bytes(self, path: str, name: str, data: bytes, fmt: Format) -> None:
        try:
            text = _decode(data)
        except SourceError as exc:
            self.report_error(name, exc)
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
            self.report_error(name, exc)
            return
        except OSError as exc:
            self.report_error(name, SourceError(f"cannot read stdin: {exc}", io=True))
            return
        fmt = detect_format(self.options.stdin_filename or "", text[:64])
        from fwcompat.cli.sources.json_reader import load_json

        from ._jsonl_file import JsonlFile

        if fmt == "json" and not self.options.stdin_filename and "\n" in text.strip():
            try:
                load_json(text)
            except SourceError as exc:
                if "Extra data" in exc.message:
                    fmt = "jsonl"
        if fmt == "jsonl":
            JsonlFile(self, None, name).check(io.BytesIO(text.encode("utf-8")))
            return
        self._check_text(None, name, text, fmt)

    def _echo_stdin(self, path: str | None, text: str) -> None:
        """``--fix`` on stdin prints the file: unchanged unless a fix applied."""
        if path is None and self.options.fix and not self.options.diff:
            sys.stdout.write(text)

    def fix_text(
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
                from fwcompat.cli.sources.yaml_reader import load_yaml_documents

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
            self.report_error(name, exc)  # an empty file too: an error, never skipped
            self._echo_stdin(path, text)
            return
        checked = self._check_units(path, name, text, fmt, units)
        fixing = self.options.fix or self.options.diff
        pending = [c for c in checked if fixing and c.result is not None and c.result.changed]
        if not pending:
            self._echo_stdin(path, text)
            self._report_checked(name, checked)
            return
        # Fix the last document first: the offsets of the ones before it stay true.
        new_text, applied = text, 0
        refused: set[int | None] = set()
        splices: list[tuple[int, int, str]] = []
        for unit, envelope, result, _ in reversed(pending):
            assert result is not None
            new_text, count, failed = self.fix_text(
                name, new_text, fmt, unit, envelope, result, splices
            )
            applied += count
            if failed:
                refused.add(unit.number)
        if not applied or new_text == text:
            self._echo_stdin(path, text)
            self._report_checked(name, checked, refused=refused)
            return
        if not self._put_fixed(path, name, text, new_text, splices, checked):
            return
        self.summary.fixed += applied
        self.summary.files_fixed += 1
        # Report what remains, at its position in the fixed text.
        fixed_units = _parse_units(new_text, fmt)
        fixed = [fixed_units[(c.unit.number or 1) - 1] for c in checked]
        self._check_units(path, name, new_text, fmt, fixed, report=True, count=False)

    def _check_units(
        self,
        path: str | None,
        name: str,
        text: str,
        fmt: Format,
        units: list[Unit],
        *,
        report: bool = False,
        count: bool = True,
    ) -> list[Checked]:
        """Check the requests among a file's documents (``count``: skip and count the
        others; without it, ``units`` are the requests of a fixed text, checked again)."""
        from fwcompat.cli.sources.suppression import inline_ignores

        checked: list[Checked] = []
        ignores = inline_ignores(text) if fmt == "yaml" else {}
        for unit in units:
            if count:
                if path is not None and classify(unit.document) is None:
                    self._skip(name if unit.number is None else f"{name} (document {unit.number})")
                    continue
                self.summary.requests += 1
                if self.report_problems(name, unit):
                    continue
            envelope, result, error = self.check_unit(unit.document)
            if ignores and result is not None:
                result = self._without_ignored(name, unit, envelope, result, ignores)
            checked.append(Checked(unit, envelope, result, error))
            if report:
                self.report_unit(name, unit, envelope, result, error)
        return checked

    def _report_checked(
        self, name: str, checked: list[Checked], refused: Collection[int | None] = ()
    ) -> None:
        for unit, envelope, result, error in checked:
            can_fix = unit.number not in refused
            self.report_unit(name, unit, envelope, result, error, can_fix=can_fix)

    def _put_fixed(
        self,
        path: str | None,
        name: str,
        text: str,
        new_text: str,
        splices: list[tuple[int, int, str]],
        checked: list[Checked],
    ) -> bool:
        """Show (``--diff``), print (stdin) or write the fixed text; False when the file
        cannot be written (then its findings are reported, none of them fixable)."""
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
                self.report_error(name, unwritable(exc))
                self.blocked = True
                try:
                    self._report_checked(name, checked)
                finally:
                    self.blocked = False
                return False
        return True

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

        from fwcompat.cli.sources.suppression import is_ignored

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


def located(diagnostics: Sequence[Any], unit: Any, envelope: bool) -> list[tuple[int, int] | None]:
    """Each diagnostic's (line, column) in the unit's file, or None when its pointer is not
    in the file (a header, say): one ``locate_all`` for all of them."""
    from fwcompat.engine import parse_pointer

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
