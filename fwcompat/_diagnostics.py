"""The diagnostic model every front end (library, CLI, middleware) reports from.

A :class:`Diagnostic` explains one removal, replacement, rejection or note, and
points at the exact place with an RFC 6901 JSON Pointer. A :class:`Result` is
what :func:`fwcompat.check` returns: the normalized request plus its diagnostics.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Action",
    "Diagnostic",
    "Fix",
    "Result",
    "Scope",
    "Severity",
    "make_diagnostic",
    "make_result",
]


class Severity(str, enum.Enum):
    """How serious a finding is. Compares equal to its plain string value."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    def __str__(self) -> str:
        return self.value

    @property
    def rank(self) -> int:
        """Ordering key: info < warning < error."""
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}

Scope = Literal["body", "headers", "url"]
Action = Literal["removed", "replaced", "rejected", "noted"]


@dataclass(frozen=True, slots=True)
class Fix:
    """The edit behind a ``removed`` or ``replaced`` diagnostic.

    ``applicability`` follows ruff: ``safe`` fixes keep the request's meaning on
    Fireworks, ``unsafe`` ones (a model swap from ``model_map``) may not.
    ``replacement`` is the new value for a ``replaced`` diagnostic, ``None``
    for a removal.
    """

    applicability: Literal["safe", "unsafe"]
    replacement: Any = None


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One explained finding about a request."""

    code: str
    """Stable rule code, e.g. ``FW603``."""
    rule: str
    """Rule slug, e.g. ``tool-cache-control``."""
    severity: Severity
    scope: Scope
    path: str
    """RFC 6901 JSON Pointer into the scope's document (``""`` is the whole document)."""
    action: Action
    message: str
    doc: str
    """The sentence of the provider's documentation that the rule implements."""
    fix: Fix | None = None
    pack: str = ""
    """The rule pack that produced it (e.g. ``fireworks-r4``)."""
    revision: str = ""
    """That pack's revision of the provider's documentation."""

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, used by reporters and logs."""
        data: dict[str, Any] = {
            "code": self.code,
            "rule": self.rule,
            "severity": self.severity.value,
            "scope": self.scope,
            "path": self.path,
            "action": self.action,
            "message": self.message,
            "doc": self.doc,
            "fix": None,
        }
        if self.fix is not None:
            data["fix"] = {"applicability": self.fix.applicability}
            if self.action == "replaced":
                data["fix"]["replacement"] = self.fix.replacement
        return data

    def __str__(self) -> str:
        where = f"{self.scope}:{self.path or '/'}" if self.scope != "body" else (self.path or "/")
        return f"{self.code} [{self.severity.value}] {where}: {self.message}"


@dataclass(frozen=True, slots=True)
class Result:
    """What :func:`fwcompat.check` returns.

    ``request`` is the normalized body (the very input object when nothing
    changed: treat it as read-only), ``headers`` the normalized headers
    (``{}`` when none were given), ``diagnostics`` in document order
    (url, then headers, then body).
    """

    request: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()
    pack: str = ""
    """The rule pack that checked the request."""
    revision: str = ""
    """That pack's revision of the provider's documentation."""

    @property
    def ok(self) -> bool:
        """True when no diagnostic is an error."""
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def changed(self) -> bool:
        """True when a removal or replacement was applied."""
        return any(d.action in ("removed", "replaced") for d in self.diagnostics)


_new = object.__new__
_SLOTS: tuple[Any, ...] = tuple(
    vars(Result)[name].__set__ for name in ("request", "headers", "diagnostics", "pack", "revision")
)


def make_result(
    request: Any,
    headers: Mapping[str, str],
    diagnostics: tuple[Diagnostic, ...],
    pack: str,
    revision: str,
) -> Result:
    """The same :class:`Result` as ``Result(...)``, built in a third of the time: a clean
    request pays for little else (the fields are set through their slots, as the
    frozen dataclass's own ``__init__`` does, without its generic machinery)."""
    result = _new(Result)
    set_request, set_headers, set_diagnostics, set_pack, set_revision = _SLOTS
    set_request(result, request)
    set_headers(result, headers)
    set_diagnostics(result, diagnostics)
    set_pack(result, pack)
    set_revision(result, revision)
    return result


_DIAGNOSTIC_FIELDS = (
    "code", "rule", "severity", "scope", "path", "action", "message", "doc", "fix", "pack",
    "revision",
)  # fmt: skip
_DIAGNOSTIC_SLOTS: tuple[Any, ...] = tuple(vars(Diagnostic)[n].__set__ for n in _DIAGNOSTIC_FIELDS)


(_SET_CODE, _SET_RULE, _SET_SEVERITY, _SET_SCOPE, _SET_PATH, _SET_ACTION, _SET_MESSAGE,
 _SET_DOC, _SET_FIX, _SET_PACK, _SET_REVISION) = _DIAGNOSTIC_SLOTS  # fmt: skip


def make_diagnostic(
    code: str,
    rule: str,
    severity: Severity,
    scope: Scope,
    path: str,
    action: str,
    message: str,
    doc: str,
    fix: Fix | None,
    pack: str,
    revision: str,
) -> Diagnostic:
    """The same :class:`Diagnostic` as ``Diagnostic(...)`` (all eleven fields, in
    order), set through its slots as :func:`make_result` does."""
    diagnostic = _new(Diagnostic)
    _SET_CODE(diagnostic, code)
    _SET_RULE(diagnostic, rule)
    _SET_SEVERITY(diagnostic, severity)
    _SET_SCOPE(diagnostic, scope)
    _SET_PATH(diagnostic, path)
    _SET_ACTION(diagnostic, action)
    _SET_MESSAGE(diagnostic, message)
    _SET_DOC(diagnostic, doc)
    _SET_FIX(diagnostic, fix)
    _SET_PACK(diagnostic, pack)
    _SET_REVISION(diagnostic, revision)
    return diagnostic
