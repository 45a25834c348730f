"""Where the shipped rule packs and schemas live.

In a wheel they are inside the package (``fwcompat/_data/``); in a source
checkout (editable install, tests) they are the repository's top-level
``rules/`` and ``schemas/`` folders.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

__all__ = ["rules_dir", "schemas_dir"]

_PACKAGE = Path(__file__).resolve().parent


@cache
def _data(kind: str) -> Path:
    installed = _PACKAGE / "_data" / kind
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / kind


def rules_dir() -> Path:
    return _data("rules")


def schemas_dir() -> Path:
    return _data("schemas")
