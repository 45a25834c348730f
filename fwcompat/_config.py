"""Configuration of a check: which pack, which rules, what severities, which mappings.

Accepted as a plain dict or a :class:`Config`; both are validated and bad
values raise :class:`~fwcompat.ConfigError` naming the key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._diagnostics import Severity
from ._exceptions import ConfigError

__all__ = ["Config", "coerce_config"]

_CODE = re.compile(r"^[A-Z]+[0-9]*$")
_KEYS = ("pack", "select", "ignore", "severity", "model_map", "effort_map", "rule_files")


def _frozen_map(value: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(value.items())


@dataclass(frozen=True)
class Config:
    """Settings of a check. Immutable and hashable, so compiled rule sets can be cached.

    - ``pack``: rule pack name (a folder of ``rules/``) or a path to a pack folder.
    - ``select`` / ``ignore``: rule codes or code prefixes (``FW6`` selects FW600-FW699);
      ``select`` empty means all rules.
    - ``severity``: per-code severity overrides (``{"FW401": "error"}``).
    - ``model_map``: Anthropic model name -> provider model id (an unsafe replacement).
    - ``effort_map``: extra effort value -> provider effort.
    - ``rule_files``: extra rule files, applied after the pack's own rules.
    """

    pack: str = "fireworks"
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity_items: tuple[tuple[str, Severity], ...] = ()
    model_map_items: tuple[tuple[str, str], ...] = ()
    effort_map_items: tuple[tuple[str, str], ...] = ()
    rule_files: tuple[str, ...] = field(default=())

    @property
    def severity(self) -> dict[str, Severity]:
        return dict(self.severity_items)

    @property
    def model_map(self) -> dict[str, str]:
        return dict(self.model_map_items)

    @property
    def effort_map(self) -> dict[str, str]:
        return dict(self.effort_map_items)

    def table(self, name: str) -> dict[str, str]:
        """A mapping table by name (``model_map``, ``effort_map``); ``{}`` if unknown."""
        if name == "model_map":
            return self.model_map
        if name == "effort_map":
            return self.effort_map
        return {}

    def enabled(self, code: str) -> bool:
        """Whether the rule with this code runs under ``select``/``ignore``."""
        if self.select and not any(code.startswith(s) for s in self.select):
            return False
        return not any(code.startswith(s) for s in self.ignore)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "config") -> Config:
        """Build a Config from a plain mapping (e.g. ``[tool.fwcompat]``).

        Keys may use ``-`` or ``_`` (``model-map`` == ``model_map``).
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: expected a table/dict, got {type(data).__name__}")
        seen: dict[str, Any] = {}
        for raw_key, value in data.items():
            key = str(raw_key).replace("-", "_")
            if key not in _KEYS:
                hint = ", ".join(_KEYS)
                raise ConfigError(f"{source}: unknown key {raw_key!r} (known keys: {hint})")
            seen[key] = value
        kwargs: dict[str, Any] = {}
        if "pack" in seen:
            kwargs["pack"] = _string(seen["pack"], f"{source}.pack")
        for key in ("select", "ignore"):
            if key in seen:
                kwargs[key] = _codes(seen[key], f"{source}.{key}")
        if "severity" in seen:
            kwargs["severity_items"] = _severities(seen["severity"], f"{source}.severity")
        for key in ("model_map", "effort_map"):
            if key in seen:
                kwargs[f"{key}_items"] = _frozen_map(_str_map(seen[key], f"{source}.{key}"))
        if "rule_files" in seen:
            files = seen["rule_files"]
            if isinstance(files, (str, os.PathLike)) or not isinstance(files, (list, tuple)):
                raise ConfigError(f"{source}.rule_files: expected a list of paths")
            kwargs["rule_files"] = tuple(
                str(_path(f, f"{source}.rule_files[{i}]")) for i, f in enumerate(files)
            )
        return cls(**kwargs)

    def merged(self, **overrides: Any) -> Config:
        """A copy with the given keys replaced (flags override the config file)."""
        base = self.to_dict()
        base.update({k: v for k, v in overrides.items() if v is not None})
        return Config.from_dict(base)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "select": list(self.select),
            "ignore": list(self.ignore),
            "severity": {k: v.value for k, v in self.severity_items},
            "model_map": self.model_map,
            "effort_map": self.effort_map,
            "rule_files": list(self.rule_files),
        }


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
        return os.fspath(value)  # type: ignore[no-any-return]
    return _string(value, where)


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


def _severities(value: Any, where: str) -> tuple[tuple[str, Severity], ...]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a table of code = severity")
    out = []
    for code, sev in value.items():
        if not isinstance(code, str) or not _CODE.match(code):
            raise ConfigError(f"{where}: {code!r} is not a rule code such as 'FW401'")
        try:
            out.append((code, Severity(sev)))
        except ValueError:
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


_DEFAULT = Config()
