"""The command line's configuration flags on top of each folder's config file.

Flags win over the file: ``--select`` replaces its select, ``--ignore``, ``--severity``,
``--model-map``, ``--effort-map``, ``--rule-file``, ``--extend-select`` and ``--table`` add
to its entries. An error names the flag as the user wrote it, or the file and line.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

from fwcompat._config import Config
from fwcompat._exceptions import ConfigError

from .config_files import SettingsResolver, key_line
from .file_selection import FileSettings

__all__ = ["flag_values", "load_config", "resolver"]


def load_config(args: argparse.Namespace) -> Config:
    """The Config of the current folder: its config file with the flags on top."""
    return resolver(args).for_folder(os.getcwd()).config


def resolver(args: argparse.Namespace) -> SettingsResolver:
    """Settings per folder (nearest config file), the flags on top of each."""
    flags = flag_values(args)

    def overlay(config: Config, files: FileSettings) -> tuple[Config, FileSettings]:
        return _overlay(config, files, flags, args)

    def validate(config: Config, files: FileSettings, source: str | None) -> None:
        """Load the pack now, so a bad code, pack or table names its flag or file."""
        try:
            _prepare(config)
        except ConfigError as exc:
            raise _named(exc, flags, source) from None
        extra = [c for _, codes in files.per_file_ignores for c in codes if c not in config.ignore]
        if extra:
            try:
                _prepare(config.merged(ignore=[*config.ignore, *extra]))
            except ConfigError as exc:
                message = str(exc).replace("config.ignore", "config.per_file_ignores", 1)
                raise _named(ConfigError(message), flags, source) from None

    return SettingsResolver(
        config_file=args.config, isolated=args.isolated, overlay=overlay, validate=validate
    )


def _prepare(config: Config) -> None:
    """Validate a config by preparing its pack, unless an earlier run prepared this very
    config from files that still hash the same (the cache: then the engine is not even
    imported, for a run whose results are all cached)."""
    from fwcompat.rulepacks import config_fingerprint

    if config_fingerprint(config) is not None:
        return
    from fwcompat._check import prepare

    prepare(config)
    from fwcompat.rulepacks import cache_dir, remember_config

    if cache_dir() is not None:
        remember_config(config)


_FLAG_KEYS = {
    "pack": "--pack",
    "select": "--select",
    "ignore": "--ignore",
    "severity": "--severity",
    "model_map": "--model-map",
    "effort_map": "--effort-map",
    "rule_files": "--rule-file",
}
_FLAG_OF_KEY = {**_FLAG_KEYS, "extend_select": "--extend-select", "tables": "--table"}


def _named(exc: Exception, flags: dict[str, Any], source: str | None) -> Exception:
    """A ConfigError about ``config.KEY`` that names where KEY came from: the flag that
    set it, else the config file and line (``pyproject.toml:4 [tool.fwcompat].select``)."""
    message = str(exc)
    match = re.match(r"config\.([a-z_]+)", message)
    if match is None:
        return exc
    key, rest = match.group(1), message[match.end() :]
    quoted = re.search(r"'([^']*)'", rest)
    value = quoted.group(1) if quoted else None
    given = flags.get(key)
    if key not in flags and key in ("model_map", "effort_map"):
        given = flags.get("tables", {}).get(key)
    from_flag = given is not None and (
        key in ("pack", "pack_dir") or not isinstance(given, (list, dict)) or value in given
    )
    if key in ("model_map", "effort_map") and given:
        from_flag = True
    if from_flag:
        flag = _FLAG_OF_KEY.get(key, f"--{key.replace('_', '-')}")
        entry = re.match(r"\.([^:]+):", rest)
        if entry is not None and isinstance(given, dict) and entry.group(1) in given:
            # --model-map claude-x=ID: model_map.claude-x: value 'ID' is not accepted ...
            shown = f"{entry.group(1)}={given[entry.group(1)]}"
            if key not in flags:  # given as --table NAME:KEY=VALUE
                flag, shown = "--table", f"{key}:{shown}"
            return ConfigError(f"{flag} {shown}: {key}{rest}", key=key)
        return ConfigError(f"{flag}{rest}", key=key)
    if source is None:
        return exc
    line = key_line(source, key)
    place = f"{source}:{line}" if line else source
    table = " [tool.fwcompat]" if os.path.basename(source) == "pyproject.toml" else ""
    error = ConfigError(f"{place}{table}.{key.replace('_', '-')}{rest}")
    error.file, error.key, error.line = source, key, line
    return error


def _flag_error(flag: str, shown: str, exc: Exception) -> Exception:
    """A ConfigError that names the flag as the user wrote it, not a merged table."""
    reason = str(exc)
    # "command line.severity.FW401: 'loud' is not ..." -> "'loud' is not ..."
    head, sep, tail = reason.partition(": ")
    if sep and head.startswith("command line"):
        reason = tail
    return ConfigError(f"{flag} {shown}: {reason}")


def flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The config flags given, each validated on its own so errors name the flag."""
    flags: dict[str, Any] = {}
    if getattr(args, "pack", None):
        flags["pack"] = args.pack
    if getattr(args, "select", None) is not None:
        flags["select"] = args.select
    if getattr(args, "ignore", None):
        flags["ignore"] = args.ignore
    for key in ("severity", "model_map", "effort_map"):
        pairs = getattr(args, key, None)
        if pairs:
            flags[key] = dict(pairs)
            for k, v in pairs:
                try:
                    Config.from_dict({key: {k: v}}, source="command line")
                except ConfigError as exc:
                    raise _flag_error(_FLAG_KEYS[key], f"{k}={v}", exc) from None
    if getattr(args, "rule_file", None):
        flags["rule_files"] = args.rule_file
    if getattr(args, "unsafe_fixes", False):
        flags["unsafe_fixes"] = True  # the library applies them too, in every folder's config
    for key in ("pack", "select", "ignore", "rule_files"):
        if key in flags:
            try:
                Config.from_dict({key: flags[key]}, source="command line")
            except ConfigError as exc:
                value = flags[key]
                shown = ",".join(value) if isinstance(value, list) else str(value)
                raise _flag_error(_FLAG_KEYS[key], shown, exc) from None
    flags.update(_pack_flags(args))
    return flags


def _pack_flags(args: argparse.Namespace) -> dict[str, Any]:
    """Config keys from the pack flags (``--pack-dir``, ``--extend-select``, ``--table``)."""
    flags: dict[str, Any] = {}
    if getattr(args, "pack_dir", None):
        flags["pack_dir"] = os.path.abspath(args.pack_dir)
    if getattr(args, "extend_select", None):
        flags["extend_select"] = args.extend_select
    entries = getattr(args, "table", None)
    if entries:
        tables: dict[str, dict[str, Any]] = {}
        for name, key, value in entries:
            tables.setdefault(name, {})[key] = value
        flags["tables"] = tables
    return flags


def merge__pack_flags(
    base: dict[str, Any], flags: dict[str, Any], overrides: dict[str, Any]
) -> None:
    """Flags add to the file's extend_select and table entries instead of replacing them."""
    if "extend_select" in flags:
        overrides["extend_select"] = [*base.get("extend_select", []), *flags["extend_select"]]
    if "tables" in flags:
        merged = {name: dict(entries) for name, entries in base.get("tables", {}).items()}
        for name, entries in flags["tables"].items():
            if name in ("model_map", "effort_map") and name not in merged:
                overrides[name] = {**base.get(name, {}), **entries}
                continue
            merged.setdefault(name, {}).update(entries)
        overrides["tables"] = merged
    if "pack_dir" in flags:
        overrides["pack_dir"] = flags["pack_dir"]


def _overlay(
    config: Config, files: FileSettings, flags: dict[str, Any], args: argparse.Namespace
) -> tuple[Config, FileSettings]:
    """A folder's (Config, FileSettings) with the command line's flags on top."""
    files = files.with_flags(
        include=getattr(args, "include", None),
        exclude=getattr(args, "exclude", None),
        extend_exclude=getattr(args, "extend_exclude", None),
        respect_gitignore=getattr(args, "respect_gitignore", None),
    )
    if not flags:
        return config, files
    base = config.to_dict()
    overrides: dict[str, Any] = dict(flags)
    if "ignore" in flags:
        overrides["ignore"] = [*base["ignore"], *flags["ignore"]]
    for key in ("severity", "model_map", "effort_map"):
        if key in flags:
            overrides[key] = {**base[key], **flags[key]}
    if "rule_files" in flags:
        overrides["rule_files"] = [*base["rule_files"], *flags["rule_files"]]
    merge__pack_flags(base, flags, overrides)
    return config.merged(**overrides), files
