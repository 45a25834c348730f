"""The command line's own codes (E90x): problems with a file rather than rules about a request.

One registry: the readers, the checker, the result cache, ``rules`` and ``explain`` all look
codes up here. Codes are never reused, like rule codes.
"""

from __future__ import annotations

from fwcompat._diagnostics import Diagnostic, Severity

__all__ = [
    "CLI_RULES",
    "DUPLICATE_KEY",
    "FAILURES",
    "INTERNAL_ERROR",
    "IO_ERROR",
    "NON_STRING_KEY",
    "NOT_JSON",
    "NOT_OF_THE_BYTES",
    "PARSE_ERROR",
    "cli_diagnostic",
]

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
FAILURES = frozenset({PARSE_ERROR, IO_ERROR, INTERNAL_ERROR})
"""Codes that make the exit code 2 (a file could not be checked), as ruff's failures do."""
NOT_OF_THE_BYTES = frozenset({IO_ERROR, INTERNAL_ERROR})
"""Findings that are not a property of the file's bytes (an I/O error, a bug): a file
reporting one is not cached."""


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
