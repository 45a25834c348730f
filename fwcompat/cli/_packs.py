"""Pack-related parts of the command line: ``fwcompat packs``, ``fwcompat test-rules`` and
``fwcompat rules --format markdown`` (the pack flags are in :mod:`fwcompat.settings.options`)."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any

from fwcompat.settings.command_line import load_config
from fwcompat.settings.options import config_options
from fwcompat.settings.subcommand import Subcommand

__all__ = ["PACKS", "TEST_RULES", "is_rule_file", "rules_markdown"]


def _packs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")


def _test_rules_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="rule files (.yaml) or pack folders (pack.yaml)"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print failures and the summary only"
    )
    parser.add_argument(
        "--rule-files-only",
        action="store_true",
        help="skip files that are not fwcompat rule files (for pre-commit): a rule file "
        "has a pack.yaml beside it, sits under a fwcompat-rules/ folder, or names the "
        "rule-file schema in a `# yaml-language-server: $schema=...` comment",
    )
    config_options(parser)


def _run_test_rules(args: argparse.Namespace) -> int:
    config = load_config(args)
    paths = args.paths
    if args.rule_files_only:
        paths = [p for p in paths if is_rule_file(p)]
        if not paths:
            if not args.quiet:
                sys.stdout.write("No fwcompat rule files among the files given.\n")
            return 0
    return _test_rules(paths, config, quiet=args.quiet)


PACKS = Subcommand(
    "packs",
    "list the shipped rule packs: name, provider, revision, endpoint, source",
    "List the rule packs fwcompat ships. Choose one with --pack NAME, "
    "`pack = \"NAME\"` in [tool.fwcompat] or config={'pack': NAME}.",
    _packs_arguments,
    lambda args: _list_packs(args.format),
)
TEST_RULES = Subcommand(
    "test-rules",
    "run the examples of rule files or pack folders",
    "Run every example of the given rule files and pack folders, as the "
    "shipped packs' tests do: each must give exactly the diagnostics it expects "
    "(and its normalized request). Exit 1 when an example fails, 2 when a file "
    "cannot be loaded. A rule file outside a pack runs on top of --pack/--pack-dir.",
    _test_rules_arguments,
    _run_test_rules,
)


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
    from fwcompat.rulepacks import load_pack as build_pack
    from fwcompat.rulepacks import packs

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
    from fwcompat.rulepacks import load_validated

    folder = os.path.dirname(os.path.abspath(path))
    meta = os.path.join(folder, "pack.yaml")
    if not os.path.isfile(meta):
        return None
    data, _ = load_validated(meta)
    files = (data.get("pack") or {}).get("files") or [] if isinstance(data, dict) else []
    return folder if os.path.basename(path) in files else None


def _test_rules(paths: list[str], config: Any, *, quiet: bool) -> int:
    from fwcompat._exceptions import FwcompatError
    from fwcompat.rulepacks import iter_outcomes, load_pack, own_rules

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
    from fwcompat.rulepacks import load_pack

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
