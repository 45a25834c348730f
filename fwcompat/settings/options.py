"""The configuration flags ``fwcompat check`` and ``fwcompat serve`` share.

Each flag overrides its ``[tool.fwcompat]`` key (:mod:`.command_line` puts them on top
of each folder's config file).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["codes", "config_options", "pair"]


def codes(value: str) -> list[str]:
    """``FW401, FW5`` -> ``["FW401", "FW5"]``."""
    return [c.strip() for c in value.split(",") if c.strip()]


def pair(value: str) -> tuple[str, str]:
    """``KEY=VALUE`` -> ``(KEY, VALUE)``."""
    key, sep, val = value.partition("=")
    if not sep or not key.strip() or not val.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {value!r}")
    return key.strip(), val.strip()


def table_entry(value: str) -> tuple[str, str, Any]:
    """``NAME:KEY=VALUE``; a VALUE that reads as a JSON number or boolean is one."""
    name, colon, rest = value.partition(":")
    key, eq, raw = rest.partition("=")
    if not colon or not eq or not name.strip() or not key.strip() or not raw.strip():
        raise argparse.ArgumentTypeError(f"expected NAME:KEY=VALUE, got {value!r}")
    parsed: Any = raw.strip()
    try:
        decoded = json.loads(parsed)
    except ValueError:
        decoded = None
    if isinstance(decoded, (bool, int, float)):
        parsed = decoded
    return name.strip(), key.strip(), parsed


def config_options(parser: argparse.ArgumentParser) -> None:
    """Add the configuration flags, in one help group."""
    group = parser.add_argument_group("configuration (flags override [tool.fwcompat])")
    _which_rules(group)
    _pack_settings(group)


def _which_rules(group: Any) -> None:
    """The config file, the cache, the pack, and which rules run at which severity."""
    group.add_argument(
        "--config",
        metavar="FILE",
        help="settings file for every file checked: a pyproject.toml with [tool.fwcompat], "
        "or a TOML file of settings (default: each file's nearest .fwcompat.toml, "
        "fwcompat.toml or pyproject.toml with [tool.fwcompat])",
    )
    group.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    group.add_argument(
        "--no-cache",
        action="store_true",
        help="check every file afresh: neither read nor write the cache (validated rule "
        "files, each file's results, replays of an unchanged run)",
    )
    group.add_argument(
        "--pack", metavar="NAME", help="a shipped rule pack (`fwcompat packs` lists them)"
    )
    group.add_argument(
        "--select",
        metavar="CODES",
        type=codes,
        help="comma-separated rule codes or prefixes to run (replaces the config's select)",
    )
    group.add_argument(
        "--ignore",
        metavar="CODES",
        type=codes,
        action="extend",
        help="comma-separated rule codes or prefixes to skip (added to the config's ignore)",
    )
    group.add_argument(
        "--severity",
        metavar="CODE=LEVEL",
        type=pair,
        action="append",
        help="override a rule's severity (error, warning, info); repeatable",
    )


def _pack_settings(group: Any) -> None:
    """The pack's tables, extra rule files, a pack folder of one's own, opt-in rules."""
    group.add_argument(
        "--model-map",
        metavar="NAME=ID",
        type=pair,
        action="append",
        help="an entry of the pack's model_map table: model name, or a glob such as 'claude-*', "
        "-> provider model id; an exact name beats a glob, the first matching glob wins; "
        "repeatable",
    )
    group.add_argument(
        "--effort-map",
        metavar="VALUE=EFFORT",
        type=pair,
        action="append",
        help="an entry of the pack's effort_map table: extra effort -> provider effort; repeatable",
    )
    group.add_argument(
        "--rule-file",
        metavar="FILE",
        action="append",
        help="extra rule file, applied after the pack's rules; repeatable",
    )
    group.add_argument(
        "--pack-dir",
        metavar="DIR",
        help="a rule pack folder of your own (with a pack.yaml); wins over --pack",
    )
    group.add_argument(
        "--extend-select",
        metavar="CODES",
        type=codes,
        action="extend",
        help="comma-separated rule codes to run in addition to the selected ones; names an "
        "opt-in rule (such as a translation) by its full code to turn it on",
    )
    group.add_argument(
        "--table",
        metavar="NAME:KEY=VALUE",
        type=table_entry,
        action="append",
        help="an entry of a config table the pack declares (`fwcompat packs` lists them), "
        "e.g. thinking_budget:high=12000; repeatable",
    )
