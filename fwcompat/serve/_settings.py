"""What a proxy process needs to know, in a form that crosses process boundaries;
and where each ``fwcompat serve`` flag's value comes from (flag, environment, file, default).

``--workers N`` starts N processes that each build the app from these settings,
passed as JSON in an environment variable. Secrets are never in it: only the
*names* of the environment variables that hold them.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

SETTINGS_ENV = "FWCOMPAT_SERVE_SETTINGS"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787


@dataclass(frozen=True)
class ServeSettings:
    """Settings of one proxy; ``config`` is ``fwcompat.Config.to_dict()``."""

    upstream: str
    config: dict[str, Any] = field(default_factory=dict)
    path: str = "/v1/messages"
    upstream_key_env: str | None = None
    require_key_env: str | None = None
    log_format: str = "text"
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    max_body_size: int = 32 * 1024 * 1024
    max_connections: int = 100
    metrics_max_series: int = 1000
    unsafe_fixes: bool = False
    """Apply unsafe fixes (``Config.unsafe_fixes``): serve's default, off with ``--strict``."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        return cls(**json.loads(text))

    @classmethod
    def from_env(cls) -> ServeSettings:
        text = os.environ.get(SETTINGS_ENV)
        if not text:
            raise RuntimeError(f"{SETTINGS_ENV} is not set: start the proxy with `fwcompat serve`")
        return cls.from_json(text)


# ------------------------------------------------------------------ layered flag values
#
# Every ``fwcompat serve`` flag can also come from an ``FWCOMPAT_SERVE_<DEST>`` environment
# variable and from ``[tool.fwcompat.serve]`` (``[serve]`` in a dedicated TOML file), with
# precedence flag > environment > file > default. Nothing here knows the flags: it reads
# the parser's argparse actions, so a flag added to the parser gets both for free.

ENV_PREFIX = "FWCOMPAT_SERVE_"

NOT_LAYERED = frozenset({"help", "show_settings"})
"""Flags that only make sense on the command line."""

NOT_IN_FILE = frozenset({"config", "isolated"})
"""Flags that choose the file, so cannot come from it."""

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


class Unset:
    """The default of a flag not given on the command line (so later layers may apply).

    It prints as the real default, so that a help text's ``%(default)s`` still reads right.
    """

    __slots__ = ("default",)

    def __init__(self, default: Any) -> None:
        self.default = default

    def __str__(self) -> str:
        return str(self.default)

    def __repr__(self) -> str:
        return repr(self.default)


class Layers:
    """The layered actions of one parser and their real defaults (kept in ``args``)."""

    def __init__(self, actions: list[argparse.Action], defaults: dict[str, Any]) -> None:
        self.actions = actions
        self.defaults = defaults

    def __repr__(self) -> str:  # argparse shows namespaces in errors; keep it short
        return f"<Layers of {len(self.actions)} flags>"


LAYERS_DEST = "_serve_layers"


def install_layers(parser: argparse.ArgumentParser) -> None:
    """Mark every flag of ``parser`` so that ``resolve`` can tell a given flag from a default.

    Call it after the last ``add_argument``. A flag's default becomes a sentinel (``None``
    for append/extend actions, which copy their default), and the real defaults are kept
    in the namespace under ``LAYERS_DEST``.
    """
    actions: list[argparse.Action] = []
    defaults: dict[str, Any] = {}
    for action in parser._actions:
        if action.dest in NOT_LAYERED or action.default is argparse.SUPPRESS:
            continue
        if not action.option_strings:
            continue  # positionals have no flag to layer
        if env_name(action) == SETTINGS_ENV:
            raise RuntimeError(f"flag {action.option_strings[0]} would collide with {SETTINGS_ENV}")
        actions.append(action)
        defaults[action.dest] = action.default
        action.default = None if _is_list(action) else Unset(action.default)
    parser.set_defaults(**{LAYERS_DEST: Layers(actions, defaults)})


def env_name(action: argparse.Action) -> str:
    """``--max-body-size`` -> ``FWCOMPAT_SERVE_MAX_BODY_SIZE`` (named after the flag, not its
    dest: ``--no-color`` is ``FWCOMPAT_SERVE_NO_COLOR``)."""
    return ENV_PREFIX + file_key(action).replace("-", "_").upper()


def file_key(action: argparse.Action) -> str:
    """``--max-body-size`` -> ``max-body-size`` (``max_body_size`` is read too)."""
    return _flag(action).lstrip("-")


def _is_list(action: argparse.Action) -> bool:
    return isinstance(action, (argparse._AppendAction, argparse._ExtendAction)) or (
        action.nargs in ("*", "+") or (isinstance(action.nargs, int) and action.nargs > 1)
    )


def _flag(action: argparse.Action) -> str:
    return max(action.option_strings, key=len)


class Setting(NamedTuple):
    """One resolved flag: its value and where it came from."""

    flag: str
    value: Any
    source: str
    """``flag``, ``env NAME``, ``file PATH``, or ``default``."""


def _given(action: argparse.Action, value: Any) -> bool:
    return value is not None if _is_list(action) else not isinstance(value, Unset)


def resolve(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> dict[str, Setting]:
    """Fill every flag not given on the command line from the environment, then the file,
    then its default; returns where each value came from. Bad values are a ``ConfigError``
    naming the variable or the file and key."""
    from fwcompat._exceptions import ConfigError

    environ = os.environ if environ is None else environ
    layers: Layers | None = getattr(args, LAYERS_DEST, None)
    if layers is None:
        return {}
    by_env = {env_name(a): a for a in layers.actions}
    for name in environ:
        if name.startswith(ENV_PREFIX) and name != SETTINGS_ENV and name not in by_env:
            raise ConfigError(f"environment variable {name}: not a setting{_hint(name, by_env)}")
    layering = _Layering(args, environ, layers)
    # The file is chosen by --config and --isolated first (flag > environment > default).
    for action in layers.actions:
        if action.dest in NOT_IN_FILE and not layering.from_flag_or_env(action):
            layering.settle(action, layers.defaults[action.dest], "default")
    path = config_file(getattr(args, "config", None), bool(getattr(args, "isolated", False)))
    file_values, label = _file_values(path, layers)
    for action in layers.actions:
        if action.dest in NOT_IN_FILE or layering.from_flag_or_env(action):
            continue
        if file_key(action) in file_values:
            raw_key, raw = file_values[file_key(action)]
            where = f"{path} {label}.{raw_key}"
            value = convert(action, raw, where, layers.defaults[action.dest])
            layering.settle(action, value, f"file {path}")
        else:
            layering.settle(action, layers.defaults[action.dest], "default")
    return layering.out


class _Layering:
    """Each flag's value, settled in ``args``, and where it came from."""

    def __init__(
        self, args: argparse.Namespace, environ: Mapping[str, str], layers: Layers
    ) -> None:
        self.args = args
        self.environ = environ
        self.layers = layers
        self.out: dict[str, Setting] = {}

    def settle(self, action: argparse.Action, value: Any, source: str) -> None:
        setattr(self.args, action.dest, value)
        self.out[action.dest] = Setting(_flag(action), value, source)

    def from_flag_or_env(self, action: argparse.Action) -> bool:
        """Settle ``action`` from the command line, else its environment variable;
        False when neither gives it."""
        value = getattr(self.args, action.dest)
        if _given(action, value):
            self.settle(action, value, "flag")
            return True
        name = env_name(action)
        if name not in self.environ:
            return False
        where = f"environment variable {name}"
        default = self.layers.defaults[action.dest]
        self.settle(action, convert(action, self.environ[name], where, default), f"env {name}")
        return True


def _file_values(path: str | None, layers: Layers) -> tuple[dict[str, tuple[Any, Any]], str]:
    """``[tool.fwcompat.serve]`` (or ``[serve]``) of ``path`` by flag name, and its label."""
    from fwcompat._exceptions import ConfigError

    table = read_table(path) if path else {}
    label = (
        "[tool.fwcompat.serve]"
        if path and os.path.basename(path) == "pyproject.toml"
        else "[serve]"
    )
    by_key = {file_key(a): a for a in layers.actions if a.dest not in NOT_IN_FILE}
    file_values: dict[str, tuple[Any, Any]] = {}
    for raw_key, value in table.items():
        key = str(raw_key).replace("_", "-")
        if key not in by_key:
            raise ConfigError(f"{path} {label}: unknown key {raw_key!r}{_hint(key, by_key)}")
        file_values[key] = (raw_key, value)
    return file_values, label


def _hint(name: str, known: Mapping[str, Any]) -> str:
    import difflib

    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean {match[0]}?" if match else ""


def convert(action: argparse.Action, raw: Any, where: str, default: Any = None) -> Any:
    """A value from the environment (a string) or a TOML file, read as the flag reads it."""
    from fwcompat._exceptions import ConfigError

    if action.nargs == 0:  # store_true / store_false / store_const / count / --[no-]x
        if isinstance(raw, bool):
            on = raw
        elif isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            on = raw.strip().lower() in _TRUE
        elif isinstance(action, argparse._CountAction) and _is_int(raw):
            return int(raw)
        else:
            raise ConfigError(f"{where}: expected true or false, got {raw!r}")
        if isinstance(action, argparse.BooleanOptionalAction):
            return on
        if isinstance(action, argparse._CountAction):
            return 1 if on else 0
        return action.const if on else default
    if _is_list(action):
        if isinstance(raw, str):
            items: list[Any] = [item for item in raw.split(",") if item.strip()]
        elif isinstance(raw, dict):
            items = [f"{k}={_scalar(v, where)}" for k, v in raw.items()]
        elif isinstance(raw, list):
            items = [_scalar(item, f"{where}[{i}]") for i, item in enumerate(raw)]
        else:
            raise ConfigError(f"{where}: expected a list, got {raw!r}")
        values: list[Any] = []
        for i, item in enumerate(items):
            value = _typed(
                action, item.strip(), f"{where}[{i}]" if not isinstance(raw, str) else where
            )
            if isinstance(action, argparse._ExtendAction) and isinstance(value, list):
                values.extend(value)
            else:
                values.append(value)
        return values
    if isinstance(raw, list):  # a TOML list for a comma-separated flag (--select)
        raw = ",".join(_scalar(item, f"{where}[{i}]") for i, item in enumerate(raw))
    return _typed(action, _scalar(raw, where), where)


def _is_int(raw: Any) -> bool:
    return (isinstance(raw, int) and not isinstance(raw, bool)) or (
        isinstance(raw, str) and raw.strip().isdigit()
    )


def _scalar(raw: Any, where: str) -> str:
    from fwcompat._exceptions import ConfigError

    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise ConfigError(f"{where}: expected a string or a number, got {raw!r}")
    return raw if isinstance(raw, str) else str(raw)


def _typed(action: argparse.Action, text: str, where: str) -> Any:
    from fwcompat._exceptions import ConfigError

    convert_type = action.type
    try:
        value = convert_type(text) if callable(convert_type) else text
    except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if action.choices is not None and value not in action.choices:
        choices = ", ".join(repr(c) for c in action.choices)
        raise ConfigError(f"{where}: invalid choice {value!r} (choose from {choices})")
    return value


def config_file(config: str | None, isolated: bool) -> str | None:
    """The file ``[tool.fwcompat.serve]`` is read from: the one the rest of the config uses."""
    if config:
        return config
    if isolated:
        return None
    from fwcompat.settings.config_files import find_config

    # The nearest config file, as the rest of the configuration finds it.
    return find_config()


def read_table(path: str) -> dict[str, Any]:
    """``[tool.fwcompat.serve]`` of a pyproject.toml, or ``[serve]`` of another TOML file."""
    from fwcompat._exceptions import ConfigError
    from fwcompat.settings.config_files import read_toml

    data = read_toml(path)
    tool = data.get("tool")
    if isinstance(tool, dict) and isinstance(tool.get("fwcompat"), dict):
        data = tool["fwcompat"]
    table = data.get("serve", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: serve: expected a table, got {table!r}")
    return table


def show(settings: Mapping[str, Setting]) -> str:
    """``--show-settings``: one line per flag, its value and where it came from."""
    rows = [(s.flag, json.dumps(s.value, default=repr), s.source) for s in settings.values()]
    rows.sort()
    width = max((len(flag) + len(value) for flag, value, _ in rows), default=0) + 3
    return "".join(f"{f'{flag} = {value}':<{width}} # {source}\n" for flag, value, source in rows)
