"""Pack-related parts of the command line: ``fwcompat packs``, ``fwcompat test-rules``,
``fwcompat rules --format markdown`` and the ``--pack-dir``, ``--extend-select`` and
``--table`` flags. ``fwcompat/cli/__init__.py`` only hooks these in."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from typing import Any

__all__ = [
    "add_pack_commands",
    "add_pack_options",
    "merge_pack_flags",
    "pack_flags",
    "rules_markdown",
    "run_pack_command",
]


def _table_entry(value: str) -> tuple[str, str, Any]:
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


def _codes(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


def add_pack_options(group: Any) -> None:
    group.add_argument(
        "--pack-dir",
        metavar="DIR",
        help="a rule pack folder of your own (with a pack.yaml); wins over --pack",
    )
    group.add_argument(
        "--extend-select",
        metavar="CODES",
        type=_codes,
        action="extend",
        help="comma-separated rule codes to run in addition to the selected ones; names an "
        "opt-in rule (such as a translation) by its full code to turn it on",
    )
    group.add_argument(
        "--table",
        metavar="NAME:KEY=VALUE",
        type=_table_entry,
        action="append",
        help="an entry of a config table the pack declares (`fwcompat packs` lists them), "
        "e.g. thinking_budget:high=12000; repeatable",
    )


def pack_flags(args: argparse.Namespace) -> dict[str, Any]:
    """Config keys from the flags this module adds."""
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


def merge_pack_flags(
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


def add_pack_commands(sub: Any, config_options: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "packs",
        help="list the shipped rule packs: name, provider, revision, endpoint, source",
        description="List the rule packs fwcompat ships. Choose one with --pack NAME, "
        "`pack = \"NAME\"` in [tool.fwcompat] or config={'pack': NAME}.",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p = sub.add_parser(
        "test-rules",
        help="run the examples of rule files or pack folders",
        description="Run every example of the given rule files and pack folders, as the "
        "shipped packs' tests do: each must give exactly the diagnostics it expects "
        "(and its normalized request). Exit 1 when an example fails, 2 when a file "
        "cannot be loaded. A rule file outside a pack runs on top of --pack/--pack-dir.",
    )
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help="rule files (.yaml) or pack folders (pack.yaml)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print failures and the summary only")
    p.add_argument(
        "--rule-files-only",
        action="store_true",
        help="skip files that are not fwcompat rule files (for pre-commit): a rule file "
        "has a pack.yaml beside it, sits under a fwcompat-rules/ folder, or names the "
        "rule-file schema in a `# yaml-language-server: $schema=...` comment",
    )
    config_options(p)


def run_pack_command(args: argparse.Namespace, config: Any) -> int:
    if args.command == "packs":
        return _list_packs(args.format)
    paths = args.paths
    if args.rule_files_only:
        paths = [p for p in paths if is_rule_file(p)]
        if not paths:
            if not args.quiet:
                sys.stdout.write("No fwcompat rule files among the files given.\n")
            return 0
    return _test_rules(paths, config, quiet=args.quiet)


SCHEMA_MARKER = re.compile(r"yaml-language-server:\s*\$schema=\S*rule-file\.schema\.json")
"""The comment that marks a YAML file as an fwcompat rule file for editors and hooks."""


def is_rule_file(path: str) -> bool:
    """Whether ``path`` is an fwcompat rule file or pack, not another tool's YAML (a
    semgrep ``rules/`` folder, a CI workflow): a ``pack.yaml`` with a ``pack:`` table, a
    file beside one, a file under a ``fwcompat-rules/`` folder, or one that names the
    rule-file schema in a ``# yaml-language-server: $schema=`` comment."""
    if os.path.isdir(path):
        return os.path.isfile(os.path.join(path, "pack.yaml"))
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
    except OSError:
        return True  # let test-rules say why it cannot be read
    if SCHEMA_MARKER.search(head):
        return True
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.basename(path) == "pack.yaml":
        return re.search(r"^pack:", head, re.MULTILINE) is not None
    if os.path.isfile(os.path.join(folder, "pack.yaml")):
        return True
    return "fwcompat-rules" in folder.replace(os.sep, "/").split("/")


def _list_packs(fmt: str) -> int:
    from fwcompat.rulepacks._packs import load_pack as build_pack
    from fwcompat.rulepacks._packs import packs

    infos = packs()
    if fmt == "json":
        data = [
            {**info.to_dict(), "tables": sorted(build_pack(info.name).tables)} for info in infos
        ]
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return 0
    for info in infos:
        tables = ", ".join(sorted(build_pack(info.name).tables)) or "none"
        extends = f" (extends {info.extends})" if info.extends else ""
        basis = ", ".join(f"{n} {kind}" for kind, n in info.basis.items())
        sys.stdout.write(
            f"{info.name}{extends}: {info.title}\n"
            f"  provider  {info.provider}\n"
            f"  endpoint  {info.endpoint}\n"
            f"  source    {info.source}\n"
            f"  revision  {info.revision} (source text: {info.source_date})\n"
            f"  rules     {info.rules} ({basis}); tables: {tables}\n\n"
        )
    sys.stdout.write("Choose one with --pack NAME (default: fireworks).\n")
    return 0


def _owning_pack(path: str) -> str | None:
    """The pack folder that lists this rule file, if any."""
    from fwcompat.rulepacks._rules import load_validated

    folder = os.path.dirname(os.path.abspath(path))
    meta = os.path.join(folder, "pack.yaml")
    if not os.path.isfile(meta):
        return None
    data, _ = load_validated(meta)
    files = (data.get("pack") or {}).get("files") or [] if isinstance(data, dict) else []
    return folder if os.path.basename(path) in files else None


def _test_rules(paths: list[str], config: Any, *, quiet: bool) -> int:
    from fwcompat._exceptions import FwcompatError
    from fwcompat.rulepacks._examples import iter_outcomes, own_rules
    from fwcompat.rulepacks._packs import load_pack

    base = config.pack_dir if config.pack_dir is not None else config.pack
    ran = failed = sources = 0
    for path in paths:
        extra: tuple[str, ...]
        if os.path.basename(path) == "pack.yaml":
            path = os.path.dirname(path) or "."
        try:
            if os.path.isdir(path):
                folder = os.path.abspath(path)
                pack = load_pack(config.pack, (), folder)
                where: str = folder
                rules, extra = own_rules(pack), ()
            else:
                owner = _owning_pack(path)
                if owner is not None:
                    pack, where, extra = load_pack(config.pack, (), owner), owner, ()
                    source = os.path.abspath(path)
                    rules = [r for r in own_rules(pack) if os.path.abspath(r.source) == source]
                else:
                    extra = (os.path.abspath(path),)
                    pack = load_pack(config.pack, extra, config.pack_dir)
                    where = base
                    rules = [r.rule for r in pack.rules if r.rule.source == extra[0]]
        except FwcompatError as exc:
            sys.stderr.write(f"fwcompat: error: {exc}\n")
            return 2
        sources += 1
        for outcome in iter_outcomes(where, rules, extra):
            ran += 1
            name = outcome.example.get("name")
            label = f"{os.path.relpath(outcome.rule.source)}: {outcome.rule.code} {name!r}"
            if outcome.problems:
                failed += 1
                for problem in outcome.problems:
                    sys.stdout.write(f"FAIL {label}: {problem}\n")
            elif not quiet:
                sys.stdout.write(f"ok   {label}\n")
    verdict = f"{failed} failed" if failed else "all passed"
    plural = "s" if sources != 1 else ""
    sys.stdout.write(f"Ran {ran} examples from {sources} source{plural}: {verdict}.\n")
    return 1 if failed else 0


def rules_markdown(config: Any) -> str:
    """The rule table of the configured pack, as the README shows it (opt-in rules too)."""
    from fwcompat.rulepacks._packs import load_pack

    pack = load_pack(config.pack, config.rule_files, config.pack_dir)
    lines = [
        "| code | rule | scope | path | severity | action | fix | basis | title |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for compiled in pack.rules:
        r = compiled.rule
        fix = (r.fix or "") + (" (opt-in)" if r.opt_in else "")
        path = f"`{r.path}`" if r.path else "(whole)"
        lines.append(
            f"| {r.code} | `{r.name}` | {r.scope} | {path} | {r.severity} | {r.action} "
            f"| {fix.strip()} | {r.basis} | {r.title} |"
        )
    if pack.retired:
        retired = ", ".join(f"{code} ({why})" for code, why in sorted(pack.retired.items()))
        lines += ["", f"Retired codes (never reused): {retired}."]
    return "\n".join(lines) + "\n"
