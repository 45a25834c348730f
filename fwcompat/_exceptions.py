"""fwcompat's exceptions.

The tree::

    FwcompatError                  base of everything fwcompat raises
    ├── IncompatibleRequestError   (ValueError) normalize(): the request has error diagnostics
    ├── ConfigError                (ValueError) a bad config dict, Config, or [tool.fwcompat] table
    └── RuleFileError              (ValueError) a rule file or pack that cannot be loaded;
                                   names the file, the rule and the field

:func:`fwcompat.check` itself never raises for a request: every problem with the
request is a diagnostic. It raises only for bad *configuration* (ConfigError,
RuleFileError).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._diagnostics import Diagnostic

__all__ = [
    "ConfigError",
    "FwcompatError",
    "IncompatibleRequestError",
    "RuleFileError",
    "did_you_mean",
]

_SHOWN = 10  # errors spelled out in the message; all of them are on .errors


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`` (did you mean 'fireworks'?)`` for the closest known name (difflib), else ``""``.

    One wording for every user mistake: config keys, pack names, rule codes, output
    formats, rule-file fields and flags.
    """
    import difflib

    names = [n for n in known if isinstance(n, str)]
    match = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    if not match and word.upper() != word:  # codes are upper case: fw401 -> FW401
        match = difflib.get_close_matches(word.upper(), names, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


class FwcompatError(Exception):
    """Base class of every exception fwcompat raises."""


class IncompatibleRequestError(FwcompatError, ValueError):
    """The request cannot be sent to the provider as it is.

    ``diagnostics`` holds every diagnostic of the check; ``errors`` only the
    error ones, which the message lists.
    """

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        self.errors: tuple[Diagnostic, ...] = tuple(
            d for d in self.diagnostics if d.severity == "error"
        )
        shown = "; ".join(str(d) for d in self.errors[:_SHOWN])
        more = len(self.errors) - _SHOWN
        if more > 0:
            shown += f"; and {more} more (see .errors)"
        super().__init__(f"request is not compatible ({len(self.errors)} error(s)): {shown}")


class ConfigError(FwcompatError, ValueError):
    """Configuration is invalid. The message names the offending key.

    ``file``, ``key`` and ``line`` say where, when known (a config file, a flag);
    the message then starts with ``file:line:``.
    """

    def __init__(
        self, message: str, *, file: str = "", key: str = "", line: int | None = None
    ) -> None:
        self.file = file
        self.key = key
        self.line = line
        where = f"{file}:{line}" if file and line else file
        super().__init__(f"{where}: {message}" if where else message)


class RuleFileError(FwcompatError, ValueError):
    """A rule file, pack or schema cannot be loaded.

    ``file``, ``rule``, ``field`` and ``line`` say where, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str = "",
        rule: str = "",
        field: str = "",
        line: int | None = None,
    ) -> None:
        self.file = file
        self.rule = rule
        self.field = field
        self.line = line
        place = f"{file}:{line}" if file and line else file
        where = ": ".join(p for p in (place, f"rule {rule}" if rule else "", field) if p)
        super().__init__(f"{where}: {message}" if where else message)
