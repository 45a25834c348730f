"""Finding and reading fwcompat's config files: ``[tool.fwcompat]`` or a ``fwcompat.toml``.

Lookup, like ruff: ``--config FILE`` if given (its settings apply to every file,
and its patterns are relative to the current folder); ``--isolated`` reads no file;
otherwise each file uses the settings of the **nearest** config file at or above its
folder: in each folder ``.fwcompat.toml``, then ``fwcompat.toml``, then a
``pyproject.toml`` that has a ``[tool.fwcompat]`` table. Files are not merged: the
nearest one wins whole, and flags apply on top of it.

A ``--config`` file may be a ``pyproject.toml`` (its ``[tool.fwcompat]`` table is
read) or a dedicated TOML file whose top level is the settings table.
Relative ``rule-files`` and ``pack-dir`` are resolved against the config file's folder;
``include``, ``exclude`` and ``per-file-ignores`` patterns are anchored there too.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

from fwcompat._config import Config, looks_like_path
from fwcompat._exceptions import ConfigError

from .file_selection import FileSettings

__all__ = [
    "CONFIG_NAMES",
    "FileSettings",
    "Resolved",
    "SettingsResolver",
    "find_config",
    "key_line",
    "load_settings",
    "read_toml",
]

CONFIG_NAMES = (".fwcompat.toml", "fwcompat.toml", "pyproject.toml")
"""Config files looked for in each folder, first found wins (ruff: .ruff.toml, ruff.toml,
pyproject.toml)."""
_FILE_KEYS = (
    "include", "exclude", "extend_exclude", "per_file_ignores", "extend_per_file_ignores",
    "respect_gitignore",
)  # fmt: skip


class Resolved(NamedTuple):
    """The settings of one folder: its Config, its file selection, the file they came from."""

    config: Config
    files: FileSettings
    source: str | None


def _globs(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list of glob patterns, got {value!r}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise ConfigError(f"{where}[{i}]: expected a non-empty glob pattern, got {item!r}")
    return tuple(value)


def per_file_ignores(value: Any, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``{"pattern" = ["FW401", ...]}``: ruff's per-file-ignores table."""
    from fwcompat._config import _codes

    if not isinstance(value, dict):
        raise ConfigError(f'{where}: expected a table of "pattern" = ["CODE", ...], got {value!r}')
    out = []
    for pattern, codes in value.items():
        if not isinstance(pattern, str) or not pattern.lstrip("!"):
            raise ConfigError(f"{where}: {pattern!r} is not a file pattern")
        out.append((pattern, _codes(codes, f"{where}.{pattern!r}")))
    return tuple(out)


def _file_settings(table: dict[str, Any], source: str, root: str) -> FileSettings:
    """Take the file-selection keys out of ``table`` (they are the CLI's, not Config's)."""
    found: dict[str, Any] = {}
    for raw_key in list(table):
        key = str(raw_key).replace("-", "_")
        if key not in _FILE_KEYS:
            continue
        value = table.pop(raw_key)
        where = f"{source}.{raw_key}"
        if key == "respect_gitignore":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: expected true or false, got {value!r}")
            found[key] = value
        elif key.endswith("per_file_ignores"):
            found[key] = per_file_ignores(value, where)
        else:
            found[key] = _globs(value, where)
    return FileSettings(root=root).with_flags(
        include=found.get("include"),
        exclude=found.get("exclude"),
        extend_exclude=found.get("extend_exclude"),
        per_file_ignores=found.get("per_file_ignores"),
        extend_per_file_ignores=found.get("extend_per_file_ignores"),
        respect_gitignore=found.get("respect_gitignore"),
    )


def key_line(path: str, key: str) -> int | None:
    """The 1-based line where ``key`` (or its other spelling) is set in a TOML file."""
    spellings = {key, key.replace("_", "-"), key.replace("-", "_")}
    pattern = re.compile(
        r"^\s*[\"']?(" + "|".join(re.escape(k) for k in spellings) + r")[\"']?\s*[=.]"
    )
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                if pattern.match(line):
                    return number
    except OSError:
        return None
    return None


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
        hint = f" (did you mean {match[0].replace('_', '-')!r}?)" if match else ""
        names = ", ".join(k.replace("_", "-") for k in known)
        raise ConfigError(f"{source}: unknown key {raw_key!r}{hint} (known keys: {names})")


def _with_line(source: str, path: str, message: str, table: dict[str, Any]) -> str:
    """``FILE [tool.fwcompat]: KEY ...`` -> ``FILE:LINE [tool.fwcompat]: KEY ...``."""
    for raw_key in table:
        if f"{source}.{raw_key}" in message or f"key {str(raw_key)!r}" in message:
            line = key_line(path, str(raw_key))
            if line is not None:
                return message.replace(path, f"{path}:{line}", 1)
    return message


def read_toml(path: str) -> dict[str, Any]:
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


def _config_in(folder: str) -> str | None:
    """The config file of one folder, if it has one (see :data:`CONFIG_NAMES`)."""
    for name in CONFIG_NAMES:
        candidate = os.path.join(folder, name)
        if not os.path.isfile(candidate):
            continue
        if name != "pyproject.toml":
            return candidate
        if _has_table(candidate):
            tool = read_toml(candidate).get("tool")
            if isinstance(tool, dict) and "fwcompat" in tool:
                return candidate
    return None


def find_config(start: str | None = None) -> str | None:
    """The nearest config file at or above ``start`` (see :data:`CONFIG_NAMES`)."""
    folder = os.path.abspath(start or os.getcwd())
    while True:
        found = _config_in(folder)
        if found is not None:
            return found
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def load_settings(
    path: str | None = None, *, search: bool = True
) -> tuple[Config, str | None, FileSettings]:
    """(Config, file it came from, file selection). Defaults when no file is found.

    Without ``path``, the nearest config file above the current folder is read (when
    ``search``); its patterns are anchored at its folder. A ``path`` given (``--config``)
    anchors them at the current folder, as ruff does.
    """
    root = ""
    if path is None:
        path = find_config() if search else None
        if path is None:
            return Config(), None, FileSettings()
        root = os.path.dirname(os.path.abspath(path))
    data = read_toml(path)
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
    try:
        _check_keys(table, source)
        selection = _file_settings(dict(table), source, root)
    except ConfigError as exc:
        raise ConfigError(_with_line(source, path, str(exc), table)) from None
    original = table
    table = {k: v for k, v in table.items() if str(k).replace("-", "_") not in _FILE_KEYS}
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
        raise ConfigError(_with_line(source, path, message, original)) from None
    return config, path, selection


Overlay = Callable[[Config, FileSettings], tuple[Config, FileSettings]]
Validate = Callable[[Config, FileSettings, "str | None"], None]


class SettingsResolver:
    """Settings per folder and per file, as ruff resolves them (hierarchical config).

    ``config_file`` (``--config``) or ``isolated`` give one set of settings for every
    file; otherwise each folder takes its nearest config file. ``overlay`` puts the
    command line's flags on top of each. Every lookup is cached: a folder's config
    file is found once, each file is read once.
    """

    def __init__(
        self,
        *,
        config_file: str | None,
        isolated: bool,
        overlay: Overlay | None = None,
        validate: Validate | None = None,
    ) -> None:
        self._overlay = overlay
        self._validate = validate
        self._fixed: Resolved | None = None
        self._by_source: dict[str | None, Resolved] = {}
        self._source_of: dict[str, str | None] = {}
        self._per_file: dict[tuple[Config, tuple[str, ...]], Config] = {}
        if config_file is not None or isolated:
            if isolated and config_file is None:
                config, files = Config(), FileSettings()
            else:
                config, _, files = load_settings(config_file, search=False)
            self._fixed = self._apply(config, files, config_file)

    def _apply(self, config: Config, files: FileSettings, source: str | None) -> Resolved:
        if self._overlay is not None:
            config, files = self._overlay(config, files)
        if self._validate is not None:
            self._validate(config, files, source)
        return Resolved(config, files, source)

    def _source(self, folder: str) -> str | None:
        found = self._source_of.get(folder, "")
        if found != "":
            return found
        own = _config_in(folder)
        if own is None:
            parent = os.path.dirname(folder)
            own = None if parent == folder else self._source(parent)
        self._source_of[folder] = own
        return own

    def for_folder(self, folder: str) -> Resolved:
        """The settings that apply to the files of ``folder``."""
        if self._fixed is not None:
            return self._fixed
        source = self._source(os.path.abspath(folder))
        resolved = self._by_source.get(source)
        if resolved is None:
            if source is None:
                config, files = Config(), FileSettings()
            else:
                config, _, files = load_settings(source, search=False)
                files = files._replace(root=os.path.dirname(source))
            resolved = self._by_source[source] = self._apply(config, files, source)
        return resolved

    def config_for(self, path: str) -> Config:
        """The Config of one file: its folder's, less what ``per-file-ignores`` turns off."""
        resolved = self.for_folder(os.path.dirname(os.path.abspath(path)))
        codes = resolved.files.ignored_codes(path)
        if not codes:
            return resolved.config
        key = (resolved.config, codes)
        config = self._per_file.get(key)
        if config is None:
            base = resolved.config
            extra = [c for c in codes if c not in base.ignore]
            config = self._per_file[key] = base.merged(ignore=[*base.ignore, *extra])
        return config
