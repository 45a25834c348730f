"""Output formats of ``fwcompat check``: text, json, github and sarif.

Reporters are looked up by name in :data:`REPORTER_BY_NAME` (as in
check-jsonschema). Each one *streams*: it writes every finding as it arrives
and keeps nothing but counters (SARIF also the set of rule codes seen), so a
1 GB JSONL file is reported in constant memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple, TextIO

from fwcompat._diagnostics import Diagnostic, Severity

__all__ = [
    "REPORTER_BY_NAME",
    "Finding",
    "GithubReporter",
    "JsonReporter",
    "Reporter",
    "SarifReporter",
    "Summary",
    "TextReporter",
    "escape_github_data",
    "escape_github_property",
]

RuleInfo = Callable[[str], dict[str, Any]]
_STYLES = {"bold": "1", "red": "1;31", "yellow": "1;33", "cyan": "36", "green": "1;32", "dim": "2"}
_SEVERITY_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


class Finding(NamedTuple):
    """A diagnostic placed in a file."""

    file: str
    line: int
    column: int
    diagnostic: Diagnostic
    fixable: bool
    """A fix applies under the current flags (``--fix``, ``--unsafe-fixes``)."""
    request_line: int = 1
    """Line where the request starts (its JSONL line; 1 for whole files)."""
    document: int | None = None
    """Number of the document (from 1) in a YAML file of several; None otherwise."""

    @property
    def pointer(self) -> str:
        """The diagnostic's pointer, prefixed with its scope unless it is in the body."""
        d = self.diagnostic
        if d.scope == "body":
            return d.path or "/"
        return f"{d.scope}:{d.path or '/'}"

    def to_dict(self) -> dict[str, Any]:
        d = self.diagnostic
        fix: dict[str, Any] | None = None
        if d.fix is not None:
            fix = {"applicability": d.fix.applicability}
            if d.action == "replaced":
                fix["replacement"] = d.fix.replacement
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "request_line": self.request_line,
            "code": d.code,
            "rule": d.rule,
            "severity": d.severity.value,
            "scope": d.scope,
            "pointer": d.path,
            "action": d.action,
            "message": d.message,
            "doc": d.doc,
            "fix": fix,
            "fixable": self.fixable,
            **({"document": self.document} if self.document is not None else {}),
        }


class Summary:
    """Counters for the summary line and the exit code."""

    def __init__(self, *, fix_mode: bool = False, diff_mode: bool = False) -> None:
        self.files = 0
        self.requests = 0
        self.errors = 0
        self.warnings = 0
        self.infos = 0
        self.fixable = 0
        self.hidden_unsafe = 0
        self.fixed = 0
        self.files_fixed = 0
        self.skipped = 0
        """Documents that are not requests (or JSONL lines): never reported on, never written."""
        self.fix_mode = fix_mode
        self.diff_mode = diff_mode

    def count(self, finding: Finding, *, unsafe_fixable: bool) -> None:
        severity = finding.diagnostic.severity
        if severity is Severity.ERROR:
            self.errors += 1
        elif severity is Severity.WARNING:
            self.warnings += 1
        else:
            self.infos += 1
        if finding.fixable:
            self.fixable += 1
        elif unsafe_fixable:
            self.hidden_unsafe += 1

    def at_or_above(self, threshold: Severity) -> int:
        counts = (
            (Severity.ERROR, self.errors),
            (Severity.WARNING, self.warnings),
            (Severity.INFO, self.infos),
        )
        return sum(n for sev, n in counts if sev.rank >= threshold.rank)

    def text(self) -> str:
        def plural(n: int, word: str, many: str | None = None) -> str:
            return f"{n} {word if n == 1 else (many or word + 's')}"

        where = f"{plural(self.requests, 'request')} ({plural(self.files, 'file')}"
        if self.skipped:
            where += f"; {self.skipped} skipped: not a request"
        where += ")"
        lines = []
        if self.fix_mode and self.fixed:
            verb = "Would fix" if self.diff_mode else "Fixed"
            lines.append(
                f"{verb} {plural(self.fixed, 'issue')} in {plural(self.files_fixed, 'file')}."
            )
        total = self.errors + self.warnings + self.infos
        if not total:
            lines.append(f"All checks passed: {where}.")
        else:
            parts = [
                plural(n, word, many)
                for n, word, many in (
                    (self.errors, "error", None),
                    (self.warnings, "warning", None),
                    (self.infos, "info", "infos"),
                )
                if n
            ]
            line = f"Found {', '.join(parts)} in {where}"
            if self.fixable:
                line += f"; {self.fixable} fixable with --fix"
                if self.hidden_unsafe:
                    line += f" ({self.hidden_unsafe} more with --unsafe-fixes)"
            elif self.hidden_unsafe:
                line += f"; {self.hidden_unsafe} fixable with --fix --unsafe-fixes"
            lines.append(line + ".")
        return "\n".join(lines)


class Reporter:
    """Base class: ``start``, then ``finding`` per finding, then ``finish``."""

    name: ClassVar[str] = ""

    def __init__(
        self,
        out: TextIO,
        *,
        rule_info: RuleInfo | None = None,
        color: bool = False,
        quiet: bool = False,
    ) -> None:
        self.out = out
        self.rule_info = rule_info
        self.color = color
        self.quiet = quiet
        """``-q``: the findings and nothing else (no summary line)."""

    def paint(self, text: str, style: str) -> str:
        """Wrap ``text`` in an ANSI style when colour is on (text and github output)."""
        if not self.color or not text:
            return text
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"

    def start(self) -> None:
        """Called once before the first finding."""

    def finding(self, finding: Finding) -> None:
        raise NotImplementedError

    def finish(self, summary: Summary, *, exit_code: int) -> None:
        """Called once at the end."""


class TextReporter(Reporter):
    """``file:line:col: CODE [*] [severity] pointer: message``, then a summary line."""

    name = "text"

    def finding(self, finding: Finding) -> None:
        d = finding.diagnostic
        mark = " " + self.paint("[*]", "cyan") if finding.fixable else ""
        where = f"{finding.pointer}: " if d.doc or d.path else ""
        if finding.document is not None:
            where = f"document {finding.document}{' ' if where else ': '}{where}"
        place = f"{finding.file}:{finding.line}:{finding.column}:"
        severity = self.paint(f"[{d.severity.value}]", _SEVERITY_STYLE[d.severity])
        self.out.write(
            f"{self.paint(place, 'bold')} {self.paint(d.code, 'red')}{mark} "
            f"{severity} {where}{d.message}\n"
        )

    def finish(self, summary: Summary, *, exit_code: int) -> None:
        if self.quiet:
            return
        text = summary.text()
        if self.color:
            style = "green" if text.startswith("All checks passed") else "bold"
            text = "\n".join(self.paint(line, style) for line in text.splitlines())
        self.out.write(text + "\n")


class JsonReporter(Reporter):
    """A JSON array with one object per finding (streamed)."""

    name = "json"

    def start(self) -> None:
        self._first = True
        self.out.write("[")

    def finding(self, finding: Finding) -> None:
        self.out.write("\n  " if self._first else ",\n  ")
        self._first = False
        self.out.write(json.dumps(finding.to_dict(), ensure_ascii=False, default=str))

    def finish(self, summary: Summary, *, exit_code: int) -> None:
        self.out.write("]\n" if self._first else "\n]\n")


def escape_github_data(text: str) -> str:
    """Escape a workflow command's message (actions/toolkit ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_github_property(text: str) -> str:
    """Escape a workflow command property (actions/toolkit ``escapeProperty``)."""
    return escape_github_data(text).replace(":", "%3A").replace(",", "%2C")


_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


class GithubReporter(Reporter):
    """GitHub Actions workflow annotations, one per finding, then the summary line."""

    name = "github"

    def finding(self, finding: Finding) -> None:
        d = finding.diagnostic
        props = ",".join(
            f"{key}={escape_github_property(value)}"
            for key, value in (
                ("file", finding.file),
                ("line", str(finding.line)),
                ("col", str(finding.column)),
                ("title", f"{d.code} {d.rule}"),
            )
        )
        pointer = finding.pointer
        if finding.document is not None:
            pointer = f"document {finding.document} {pointer}"
        message = f"{d.code} [{d.severity.value}] {pointer}: {d.message}"
        self.out.write(f"::{_GITHUB_LEVEL[d.severity]} {props}::{escape_github_data(message)}\n")

    def finish(self, summary: Summary, *, exit_code: int) -> None:
        if not self.quiet:
            self.out.write(summary.text() + "\n")


class StatisticsReporter(Reporter):
    """``--statistics``: one row per rule code, most frequent first (ruff's table), or a
    JSON array of ``{code, name, count, fixable}`` with ``json``."""

    name = "statistics"

    def __init__(self, out: TextIO, *, fmt: str = "text", **kwargs: Any) -> None:
        super().__init__(out, **kwargs)
        self.fmt = fmt
        self.counts: dict[str, list[Any]] = {}

    def finding(self, finding: Finding) -> None:
        d = finding.diagnostic
        row = self.counts.setdefault(d.code, [d.rule, 0, 0])
        row[1] += 1
        row[2] += int(finding.fixable)

    def rows(self) -> list[dict[str, Any]]:
        ordered = sorted(self.counts.items(), key=lambda item: (-item[1][1], item[0]))
        return [
            {"code": code, "name": name, "count": count, "fixable": fixable}
            for code, (name, count, fixable) in ordered
        ]

    def finish(self, summary: Summary, *, exit_code: int) -> None:
        rows = self.rows()
        if self.fmt == "json":
            self.out.write(json.dumps(rows, indent=2) + "\n")
            return
        width = max((len(str(r["count"])) for r in rows), default=1)
        code_width = max((len(r["code"]) for r in rows), default=1)
        any_fixable = any(r["fixable"] for r in rows)
        for r in rows:
            mark = ("[*] " if r["fixable"] else "[ ] ") if any_fixable else ""
            self.out.write(f"{r['count']:>{width}}\t{r['code']:<{code_width}}\t{mark}{r['name']}\n")
        if not self.quiet:
            self.out.write(summary.text() + "\n")


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def sarif_uri(path: str) -> str:
    """A relative path stays a relative URI reference; an absolute one becomes file://."""
    import os.path
    from urllib.parse import quote

    if os.path.isabs(path):
        return "file://" + quote(path.replace("\\", "/"), safe="/:@!$&'()*+,;=-._~")
    return quote(path.replace("\\", "/"), safe="/:@!$&'()*+,;=-._~")


def fingerprint(finding: Finding) -> str:
    import hashlib

    d = finding.diagnostic
    key = "\0".join((d.code, finding.file, str(finding.request_line), d.scope, d.path))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class SarifReporter(Reporter):
    """A SARIF 2.1.0 log: one run, one rule entry per code seen, 1-based regions.

    Results are streamed first and the ``tool`` object (which needs the codes
    seen) is written after them: JSON members are unordered.
    """

    name = "sarif"

    def start(self) -> None:
        self._codes: dict[str, int] = {}
        self._rules: list[dict[str, Any]] = []
        self._first = True
        self.out.write(
            '{\n "$schema": ' + json.dumps(SARIF_SCHEMA) + ',\n "version": "2.1.0",\n'
            ' "runs": [{\n  "results": ['
        )

    def _rule_index(self, d: Diagnostic) -> int:
        index = self._codes.get(d.code)
        if index is None:
            index = self._codes[d.code] = len(self._rules)
            info = self.rule_info(d.code) if self.rule_info else {}
            rule: dict[str, Any] = {
                "id": d.code,
                "name": info.get("name") or d.rule,
                "shortDescription": {"text": info.get("title") or d.rule},
                "defaultConfiguration": {
                    "level": _SARIF_LEVEL[Severity(info.get("severity", d.severity))]
                },
            }
            doc = info.get("doc") or d.doc
            if doc:
                rule["fullDescription"] = {"text": doc}
                rule["help"] = {"text": doc}
            self._rules.append(rule)
        return index

    def finding(self, finding: Finding) -> None:
        d = finding.diagnostic
        result = {
            "ruleId": d.code,
            "ruleIndex": self._rule_index(d),
            "level": _SARIF_LEVEL[d.severity],
            "message": {"text": f"{finding.pointer}: {d.message}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": sarif_uri(finding.file)},
                        "region": {"startLine": finding.line, "startColumn": finding.column},
                    },
                    "logicalLocations": [{"fullyQualifiedName": finding.pointer, "kind": "member"}],
                }
            ],
            "partialFingerprints": {"fwcompatPointer/v1": fingerprint(finding)},
            "properties": {
                "scope": d.scope,
                "pointer": d.path,
                "action": d.action,
                "fixable": finding.fixable,
            },
        }
        self.out.write("\n   " if self._first else ",\n   ")
        self._first = False
        self.out.write(json.dumps(result, ensure_ascii=False, default=str))

    def finish(self, summary: Summary, *, exit_code: int) -> None:
        from fwcompat import __version__

        tool = {
            "driver": {
                "name": "fwcompat",
                "version": __version__,
                "informationUri": "https://github.com/fwcompat/fwcompat",
                "rules": self._rules,
            }
        }
        invocation = {"executionSuccessful": exit_code != 2, "exitCode": exit_code}
        self.out.write(
            ("]" if self._first else "\n  ]")
            + ',\n  "tool": '
            + json.dumps(tool, ensure_ascii=False)
            + ',\n  "invocations": ['
            + json.dumps(invocation)
            + "]\n }]\n}\n"
        )


REPORTER_BY_NAME: dict[str, type[Reporter]] = {
    cls.name: cls for cls in (TextReporter, JsonReporter, GithubReporter, SarifReporter)
}
