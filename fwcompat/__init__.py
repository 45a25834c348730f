"""fwcompat: check and normalize Anthropic Messages requests for Fireworks AI.

The whole public surface::

    result = fwcompat.check(body, headers=..., base_url=..., path=..., config=...)
    result.ok, result.request, result.headers, result.diagnostics

    body = fwcompat.normalize(body, ...)   # or raises IncompatibleRequestError

Rules are data (YAML packs under ``rules/``); :func:`list_rules` shows them and
:func:`packs` lists the shipped packs.

The names are imported on first use (PEP 562): ``import fwcompat`` alone, or the
command line's ``--version``, ``--help`` and a run answered from its cache, never
loads the engine (nor jsonschema-rs).
"""

from __future__ import annotations

from ._version import __version__

TYPE_CHECKING = False  # typing itself is not imported (start-up time)
if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from types import ModuleType
    from typing import Any

    from ._check import check, list_rules, normalize
    from ._config import Config
    from ._diagnostics import Diagnostic, Fix, Result, Severity
    from ._exceptions import ConfigError, FwcompatError, IncompatibleRequestError, RuleFileError
    from .engine._model import Rule
    from .rulepacks._packs import PackInfo, packs

__all__ = [
    "Config",
    "ConfigError",
    "Diagnostic",
    "Fix",
    "FwcompatError",
    "IncompatibleRequestError",
    "PackInfo",
    "Result",
    "Rule",
    "RuleFileError",
    "Severity",
    "__version__",
    "check",
    "list_rules",
    "normalize",
    "packs",
]

_WHERE = {
    "check": "_check",
    "list_rules": "_check",
    "normalize": "_check",
    "Config": "_config",
    "Diagnostic": "_diagnostics",
    "Fix": "_diagnostics",
    "Result": "_diagnostics",
    "Severity": "_diagnostics",
    "ConfigError": "_exceptions",
    "FwcompatError": "_exceptions",
    "IncompatibleRequestError": "_exceptions",
    "RuleFileError": "_exceptions",
    "Rule": "engine._model",
    "PackInfo": "rulepacks._packs",
    "packs": "rulepacks._packs",
}
"""Public name -> the module (below ``fwcompat``) that defines it."""


def _module(name: str) -> ModuleType:
    """A module that defines public names, imported by a plain statement (so the import
    graph that ``lint-imports`` checks still sees it)."""
    if name == "_check":
        from fwcompat import _check

        return _check
    if name == "_config":
        from fwcompat import _config

        return _config
    if name == "_diagnostics":
        from fwcompat import _diagnostics

        return _diagnostics
    if name == "_exceptions":
        from fwcompat import _exceptions

        return _exceptions
    if name == "engine._model":
        from fwcompat.engine import _model

        return _model
    from fwcompat.rulepacks import _packs

    return _packs


def __getattr__(name: str) -> Any:
    """Import a public name on first use, then keep it as a plain module attribute."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'fwcompat' has no attribute {name!r}")
    value = getattr(_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
