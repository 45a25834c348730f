"""Finding and reading ``[tool.fwcompat]`` settings.

Lookup, like ruff: ``--config FILE`` if given; otherwise walk up from the current
folder and take the first ``pyproject.toml`` that has a ``[tool.fwcompat]`` table.
A ``--config`` file may be a ``pyproject.toml`` (its ``[tool.fwcompat]`` table is
read) or a dedicated TOML file whose top level is the settings table.
Relative ``rule-files`` and ``pack-dir`` are resolved against the config file's folder.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from fwcompat._config import Config, looks_like_path
from fwcompat._exceptions import ConfigError

__all__ = ["find_pyproject", "load_config"]


def _toml_load(path: str) -> dict[str, Any]:
    import importlib

    # tomllib on 3.11+, its backport tomli on 3.10 (a dependency there).
    tomllib: Any = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    try:
        with open(path, "rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return data


def _has_table(path: str) -> bool:
    """Cheap pre-filter before parsing TOML (importing tomllib alone costs ~30 ms).

    True when the file may hold a ``tool.fwcompat`` table: it names ``tool.fwcompat``
    (``[tool.fwcompat]``, dotted keys), or it has a bare ``[tool]`` table and
    mentions fwcompat. A package merely named fwcompat does not count.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return False
    if "fwcompat" not in text:
        return False
    if re.search(r"tool\s*\.\s*[\"']?fwcompat", text):
        return True
    return re.search(r"^\s*\[\s*tool\s*\]", text, re.MULTILINE) is not None


def find_pyproject(start: str | None = None) -> str | None:
    """The nearest ``pyproject.toml`` at or above ``start`` with a ``[tool.fwcompat]`` table."""
    folder = os.path.abspath(start or os.getcwd())
    while True:
        candidate = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(candidate) and _has_table(candidate):
            tool = _toml_load(candidate).get("tool")
            if isinstance(tool, dict) and "fwcompat" in tool:
                return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def load_config(path: str | None = None, *, search: bool = True) -> tuple[Config, str | None]:
    """(Config, file it came from). Default Config when no file is given or found."""
    if path is None:
        path = find_pyproject() if search else None
        if path is None:
            return Config(), None
    data = _toml_load(path)
    tool = data.get("tool")
    if isinstance(tool, dict) and "fwcompat" in tool:
        table = tool["fwcompat"]
        source = f"{path} [tool.fwcompat]"
    elif os.path.basename(path) == "pyproject.toml":
        raise ConfigError(f"{path}: no [tool.fwcompat] table")
    else:
        table = data
        source = path
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: expected a table")
    table = dict(table)
    base = os.path.dirname(os.path.abspath(path))
    for key in ("rule_files", "rule-files"):
        files = table.get(key)
        if isinstance(files, list):
            table[key] = [
                os.path.normpath(os.path.join(base, f)) if isinstance(f, str) and f else f
                for f in files
            ]
    for key in ("pack_dir", "pack-dir", "pack"):  # a folder, relative to the file naming it
        folder = table.get(key)
        if isinstance(folder, str) and folder and (key != "pack" or looks_like_path(folder)):
            table[key] = os.path.normpath(os.path.join(base, folder))
    return Config.from_dict(table, source=source), path
