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
from collections.abc import Sequence
from typing import Any, NamedTuple

from fwcompat._config import Config, looks_like_path
from fwcompat._exceptions import ConfigError

from ._sources import DEFAULT_EXCLUDE, DEFAULT_INCLUDE

__all__ = ["FileSettings", "find_pyproject", "load_config", "load_settings"]

_FILE_KEYS = ("include", "exclude", "extend_exclude")


class FileSettings(NamedTuple):
    """Which files a folder search takes: ruff's ``include``, ``exclude``, ``extend-exclude``."""

    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE

    def with_flags(
        self,
        *,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        extend_exclude: Sequence[str] | None = None,
    ) -> FileSettings:
        return FileSettings(
            tuple(include) if include else self.include,
            (*(tuple(exclude) if exclude else self.exclude), *(extend_exclude or ())),
        )


def _globs(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list of glob patterns, got {value!r}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise ConfigError(f"{where}[{i}]: expected a non-empty glob pattern, got {item!r}")
    return tuple(value)


def _file_settings(table: dict[str, Any], source: str) -> FileSettings:
    """Take the file-selection keys out of ``table`` (they are the CLI's, not Config's)."""
    found: dict[str, tuple[str, ...]] = {}
    for raw_key in list(table):
        key = str(raw_key).replace("-", "_")
        if key in _FILE_KEYS:
            found[key] = _globs(table.pop(raw_key), f"{source}.{raw_key}")
    return FileSettings().with_flags(
        include=found.get("include"),
        exclude=found.get("exclude"),
        extend_exclude=found.get("extend_exclude"),
    )


def _check_keys(table: dict[str, Any], source: str) -> None:
    """Unknown keys get a "did you mean" hint (``model_mapp`` -> ``model_map``)."""
    import difflib

    from fwcompat import _config

    known = [*getattr(_config, "_KEYS", ()), *_FILE_KEYS]
    for raw_key in table:
        key = str(raw_key).replace("-", "_")
        if key in known:
            continue
        match = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"; did you mean {match[0].replace('_', '-')!r}?" if match else ""
        names = ", ".join(k.replace("_", "-") for k in known)
        raise ConfigError(f"{source}: unknown key {raw_key!r}{hint} (known keys: {names})")


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
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not a TOML file: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nesting too deep") from None
    except ValueError as exc:
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
    config, found, _ = load_settings(path, search=search)
    return config, found


def load_settings(
    path: str | None = None, *, search: bool = True
) -> tuple[Config, str | None, FileSettings]:
    """(Config, file it came from, file selection). Defaults when no file is found."""
    if path is None:
        path = find_pyproject() if search else None
        if path is None:
            return Config(), None, FileSettings()
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
    table.pop("serve", None)  # [tool.fwcompat.serve]: fwcompat serve's own flags (serve/_settings)
    _check_keys(table, source)
    selection = _file_settings(table, source)
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
    try:
        config = Config.from_dict(table, source=source)
    except ConfigError as exc:
        # Name the key as the file spells it: `model-map`, not `model_map`.
        message = str(exc)
        for raw_key in table:
            key = str(raw_key).replace("-", "_")
            if key != raw_key:
                message = message.replace(f"{source}.{key}", f"{source}.{raw_key}")
        raise ConfigError(message) from None
    return config, path, selection
