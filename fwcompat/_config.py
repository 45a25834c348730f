"""Configuration of a check: which pack, which rules, what severities, which tables.

Accepted as a plain dict or a :class:`Config`; both are validated and bad
values raise :class:`~fwcompat.ConfigError` naming the key. A ``Config`` built
directly is validated too (never a ``TypeError`` from a list where a tuple was meant).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._diagnostics import Severity
from ._exceptions import ConfigError

__all__ = ["Config", "TableValue", "coerce_config", "looks_like_path"]

_CODE = re.compile(r"^[A-Z]+[0-9]*$")
_PACK_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_KEYS = (
    "pack", "pack_dir", "select", "extend_select", "ignore", "severity", "tables",
    "model_map", "effort_map", "rule_files", "unsafe_fixes",
)  # fmt: skip
_NAMED_TABLES = ("model_map", "effort_map")  # tables with a key of their own, kept as names

TableValue = str | int | float | bool
Table = tuple[tuple[str, TableValue], ...]


def looks_like_path(value: str) -> bool:
    """A pack given as a path (``./mine``, ``/abs/pack``), not a shipped name."""
    return "/" in value or os.sep in value or (os.altsep is not None and os.altsep in value)


@dataclass(frozen=True)
class Config:
    """Settings of a check. Immutable and hashable, so compiled rule sets can be cached.

    - ``pack``: the name of a shipped rule pack (``fwcompat.packs()`` lists them).
    - ``pack_dir``: a folder holding a ``pack.yaml``; wins over ``pack``. (A ``pack``
      that is a path, such as ``./mine``, is read as ``pack_dir``.)
    - ``select`` / ``ignore``: rule codes or code prefixes (``FW6`` selects FW600-FW699);
      ``select`` empty means all default rules. ``extend_select`` adds to ``select``.
      A rule marked opt-in runs only when one of them names its full code (a prefix is
      not enough), as ruff does with rules that are not on by default.
    - ``severity``: per-code severity overrides (``{"FW401": "error"}``).
    - ``tables``: config tables the pack declares, ``{"name": {"key": value}}``.
      ``model_map`` and ``effort_map`` may also be given as keys of their own.
    - ``rule_files``: extra rule files, applied after the pack's own rules.
    - ``unsafe_fixes``: apply fixes that change what the request asks for (dropping
      structured output, deferred tool loading, a thinking or effort setting...). Off,
      such a fix is not applied and its diagnostic is an error. A replacement from a
      table the config fills (``model_map``, ``effort_map``) or an opt-in rule the
      config selects is already the caller's choice, and applies either way.
    """

    pack: str = "fireworks"
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity_items: tuple[tuple[str, Severity], ...] = ()
    model_map_items: tuple[tuple[str, str], ...] = ()
    effort_map_items: tuple[tuple[str, str], ...] = ()
    rule_files: tuple[str, ...] = field(default=())
    pack_dir: str | None = None
    extend_select: tuple[str, ...] = ()
    table_items: tuple[tuple[str, Table], ...] = ()
    unsafe_fixes: bool = False

    def __post_init__(self) -> None:
        pack = _string(self.pack, "config.pack")
        pack_dir = self.pack_dir
        if pack_dir is not None:
            pack_dir = _path(pack_dir, "config.pack_dir")
        elif looks_like_path(pack):
            pack_dir, pack = pack, "fireworks"
        elif not _PACK_NAME.match(pack):
            raise ConfigError(f"config.pack: {pack!r} is not a pack name such as 'fireworks'")
        values: dict[str, Any] = {
            "pack": pack,
            "pack_dir": pack_dir,
            "select": _codes(self.select, "config.select"),
            "extend_select": _codes(self.extend_select, "config.extend_select"),
            "ignore": _codes(self.ignore, "config.ignore"),
            "severity_items": _severities(_items(self.severity_items, "config.severity"),
                                          "config.severity"),
            "model_map_items": tuple(
                _str_map(_items(self.model_map_items, "config.model_map"), "config.model_map")
                .items()
            ),
            "effort_map_items": tuple(
                _str_map(_items(self.effort_map_items, "config.effort_map"), "config.effort_map")
                .items()
            ),
            "rule_files": _paths(self.rule_files, "config.rule_files"),
            "table_items": _tables(self.table_items, "config.tables"),
        }  # fmt: skip
        if not isinstance(self.unsafe_fixes, bool):
            raise ConfigError(
                f"config.unsafe_fixes: expected true or false, got {self.unsafe_fixes!r}"
            )
        for name, value in values.items():
            object.__setattr__(self, name, value)
        for name, _ in self.table_items:
            if name in _NAMED_TABLES and getattr(self, f"{name}_items"):
                raise ConfigError(
                    f"config: {name} is given twice (as {name} and as tables.{name}); keep one"
                )

    @property
    def severity(self) -> dict[str, Severity]:
        return dict(self.severity_items)

    @property
    def model_map(self) -> dict[str, str]:
        return dict(self.model_map_items)

    @property
    def effort_map(self) -> dict[str, str]:
        return dict(self.effort_map_items)

    @property
    def tables(self) -> dict[str, dict[str, TableValue]]:
        """Every table the config fills, by name (``model_map`` and ``effort_map`` included)."""
        out: dict[str, dict[str, TableValue]] = {n: dict(t) for n, t in self.table_items}
        for name in _NAMED_TABLES:
            items = getattr(self, f"{name}_items")
            if items:
                out[name] = dict(items)
        return out

    def table(self, name: str) -> dict[str, TableValue]:
        """A config table by name; ``{}`` if the config does not fill it."""
        if name in _NAMED_TABLES:
            items = getattr(self, f"{name}_items")
            if items:
                return dict(items)
        for table_name, entries in self.table_items:
            if table_name == name:
                return dict(entries)
        return {}

    def enabled(self, code: str) -> bool:
        """Whether a default (not opt-in) rule with this code runs under select/ignore."""
        return self.runs(code)

    def runs(self, code: str, *, opt_in: bool = False) -> bool:
        """Whether a rule runs. An opt-in rule runs only when ``select`` or
        ``extend_select`` names its full code; a prefix is not enough."""
        if any(code.startswith(s) for s in self.ignore):
            return False
        chosen = (*self.select, *self.extend_select)
        if opt_in:
            return code in chosen
        if not self.select:
            return True
        return any(code.startswith(s) for s in chosen)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "config") -> Config:
        """Build a Config from a plain mapping (e.g. ``[tool.fwcompat]``).

        Keys may use ``-`` or ``_`` (``model-map`` == ``model_map``), but not both
        spellings of one key in the same table.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: expected a table/dict, got {type(data).__name__}")
        seen: dict[str, Any] = {}
        spelled: dict[str, str] = {}
        for raw_key, value in data.items():
            key = str(raw_key).replace("-", "_")
            if key not in _KEYS:
                hint = ", ".join(_KEYS)
                raise ConfigError(f"{source}: unknown key {raw_key!r} (known keys: {hint})")
            if key in seen:
                raise ConfigError(
                    f"{source}: {spelled[key]!r} and {raw_key!r} are the same key; keep one"
                )
            seen[key] = value
            spelled[key] = str(raw_key)
        kwargs: dict[str, Any] = {}
        if "pack" in seen:
            kwargs["pack"] = _string(seen["pack"], f"{source}.pack")
        if "pack_dir" in seen:
            kwargs["pack_dir"] = _path(seen["pack_dir"], f"{source}.pack_dir")
        for key in ("select", "extend_select", "ignore"):
            if key in seen:
                kwargs[key] = _codes(seen[key], f"{source}.{key}")
        if "severity" in seen:
            kwargs["severity_items"] = _severities(seen["severity"], f"{source}.severity")
        for key in _NAMED_TABLES:
            if key in seen:
                kwargs[f"{key}_items"] = tuple(_str_map(seen[key], f"{source}.{key}").items())
        if "tables" in seen:
            tables = seen["tables"]
            if not isinstance(tables, Mapping):
                raise ConfigError(f"{source}.tables: expected a table of tables, got {tables!r}")
            kwargs["table_items"] = _tables(tables, f"{source}.tables")
        if "rule_files" in seen:
            kwargs["rule_files"] = _paths(seen["rule_files"], f"{source}.rule_files")
        if "unsafe_fixes" in seen:
            kwargs["unsafe_fixes"] = seen["unsafe_fixes"]
        try:
            return cls(**kwargs)
        except ConfigError as exc:  # name the source the user wrote, not "config"
            raise ConfigError(str(exc).replace("config", source, 1)) from None

    def merged(self, **overrides: Any) -> Config:
        """A copy with the given keys replaced (flags override the config file)."""
        base = self.to_dict()
        base.update({k: v for k, v in overrides.items() if v is not None})
        if overrides.get("pack") is not None and overrides.get("pack_dir") is None:
            base.pop("pack_dir", None)  # naming a pack replaces a pack folder from the file
        return Config.from_dict(base)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "pack": self.pack,
            "select": list(self.select),
            "extend_select": list(self.extend_select),
            "ignore": list(self.ignore),
            "severity": {k: v.value for k, v in self.severity_items},
            "model_map": self.model_map,
            "effort_map": self.effort_map,
            "tables": {n: dict(t) for n, t in self.table_items},
            "rule_files": list(self.rule_files),
        }
        if self.pack_dir is not None:
            out["pack_dir"] = self.pack_dir
        if self.unsafe_fixes:
            out["unsafe_fixes"] = True
        return out


def coerce_config(config: Config | Mapping[str, Any] | None) -> Config:
    """Accept ``None``, a dict or a Config; always return a validated Config."""
    if config is None:
        return _DEFAULT
    if isinstance(config, Config):
        return config
    if isinstance(config, Mapping):
        return Config.from_dict(config)
    raise ConfigError(f"config: expected a dict or fwcompat.Config, got {type(config).__name__}")


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _path(value: Any, where: str) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bytes):
        raise ConfigError(f"{where}: expected a path as text, got {value!r}")
    return _string(value, where)


def _paths(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, (str, bytes, os.PathLike)) or not isinstance(value, (list, tuple)):
        raise ConfigError(f"{where}: expected a list of paths, got {value!r}")
    return tuple(_path(f, f"{where}[{i}]") for i, f in enumerate(value))


def _codes(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{where}: expected a list of rule codes, got {value!r}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str) or not _CODE.match(item):
            raise ConfigError(f"{where}[{i}]: {item!r} is not a rule code such as 'FW401'")
        out.append(item)
    return tuple(out)


def _items(value: Any, where: str) -> Mapping[Any, Any]:
    """A mapping given as a dict or as (key, value) pairs."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, (list, tuple)):
        out: dict[Any, Any] = {}
        for i, pair in enumerate(value):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ConfigError(f"{where}[{i}]: expected a (key, value) pair, got {pair!r}")
            key, item = pair
            try:
                if key in out:
                    raise ConfigError(f"{where}: key {key!r} is given twice")
            except TypeError:
                raise ConfigError(f"{where}[{i}]: key {key!r} must be a string") from None
            out[key] = item
        return out
    raise ConfigError(f"{where}: expected a table, got {value!r}")


def _severities(value: Any, where: str) -> tuple[tuple[str, Severity], ...]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a table of code = severity")
    out = []
    for code, sev in value.items():
        if not isinstance(code, str) or not _CODE.match(code):
            raise ConfigError(f"{where}: {code!r} is not a rule code such as 'FW401'")
        try:
            out.append((code, Severity(sev)))
        except (ValueError, TypeError):
            raise ConfigError(
                f"{where}.{code}: {sev!r} is not a severity (error, warning, info)"
            ) from None
    return tuple(out)


def _str_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a table of string = string")
    out: dict[str, str] = {}
    for k, v in value.items():
        if not isinstance(k, str) or not k:
            raise ConfigError(f"{where}: key {k!r} must be a non-empty string")
        if not isinstance(v, str) or not v:
            raise ConfigError(f"{where}.{k}: value {v!r} must be a non-empty string")
        out[k] = v
    return out


def _tables(value: Any, where: str) -> tuple[tuple[str, Table], ...]:
    """``{name: {key: value}}`` (or its items), values strings, numbers or booleans."""
    out: list[tuple[str, Table]] = []
    for name, entries in _items(value, where).items():
        if not isinstance(name, str) or not _TABLE_NAME.match(name):
            raise ConfigError(f"{where}: {name!r} is not a table name such as 'model_map'")
        rows: list[tuple[str, TableValue]] = []
        for k, v in _items(entries, f"{where}.{name}").items():
            if not isinstance(k, str) or not k:
                raise ConfigError(f"{where}.{name}: key {k!r} must be a non-empty string")
            ok = isinstance(v, (str, bool, int)) or (isinstance(v, float) and math.isfinite(v))
            if not ok or v == "":
                raise ConfigError(
                    f"{where}.{name}.{k}: value {v!r} must be a non-empty string, a number "
                    "or a boolean"
                )
            rows.append((k, v))
        out.append((name, tuple(rows)))
    return tuple(out)


_DEFAULT = Config()
