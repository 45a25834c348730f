"""Where the shipped rule packs and schemas live.

In a wheel they are inside the package (``fwcompat/_data/``); in a source
checkout (editable install, tests) they are the repository's top-level
``rules/`` and ``schemas/`` folders.
"""

from __future__ import annotations

import os
from functools import cache

__all__ = ["rules_dir", "schemas_dir"]

_PACKAGE = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))  # fwcompat/


@cache
def _data(kind: str) -> str:
    installed = os.path.join(_PACKAGE, "_data", kind)
    if os.path.isdir(installed):
        return installed
    return os.path.join(os.path.dirname(_PACKAGE), kind)


def rules_dir() -> str:
    return _data("rules")


def schemas_dir() -> str:
    return _data("schemas")
