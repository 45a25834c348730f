"""fwcompat: check and normalize Anthropic Messages requests for Fireworks AI.

The whole public surface::

    result = fwcompat.check(body, headers=..., base_url=..., path=..., config=...)
    result.ok, result.request, result.headers, result.diagnostics

    body = fwcompat.normalize(body, ...)   # or raises IncompatibleRequestError

Rules are data (YAML packs under ``rules/``); :func:`list_rules` shows them and
:func:`packs` lists the shipped packs.
"""

from __future__ import annotations

from ._check import check, list_rules, normalize
from ._config import Config
from ._diagnostics import Diagnostic, Fix, Result, Severity
from ._exceptions import ConfigError, FwcompatError, IncompatibleRequestError, RuleFileError
from ._version import __version__
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
