"""The ``fwcompat`` command line: check, fix and explain request fixtures, like ruff.

::

    fwcompat check [PATH ...]      # the default command: `fwcompat PATH` == `fwcompat check PATH`
    fwcompat normalize PATH        # print the normalized request(s) as JSON
    fwcompat rules                 # a table of every rule
    fwcompat explain CODE          # one rule in full, with its examples
    fwcompat packs                 # the shipped rule packs
    fwcompat test-rules PATH...    # run the examples of rule files or pack folders
    fwcompat serve                 # a checking proxy for Claude Code and Anthropic SDKs

Exit codes: 0 clean, 1 findings at or above ``--fail-on``, 2 usage error, bad
configuration, or a file that cannot be read or parsed.

Only argparse is imported up front; each command imports what it needs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]

COMMANDS = ("check", "normalize", "rules", "explain", "packs", "test-rules", "serve")
FORMATS = ("text", "json", "github", "sarif")
SEVERITIES = ("error", "warning", "info")


def _codes(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


def _pair(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key.strip() or not val.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {value!r}")
    return key.strip(), val.strip()


def _config_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("configuration (flags override [tool.fwcompat])")
    group.add_argument(
        "--config",
        metavar="FILE",
        help="settings file: a pyproject.toml with [tool.fwcompat], or a TOML file of "
        "settings (default: the nearest pyproject.toml with [tool.fwcompat])",
    )
    group.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    group.add_argument(
        "--pack", metavar="NAME", help="a shipped rule pack (`fwcompat packs` lists them)"
    )
    group.add_argument(
        "--select",
        metavar="CODES",
        type=_codes,
        help="comma-separated rule codes or prefixes to run (replaces the config's select)",
    )
    group.add_argument(
        "--ignore",
        metavar="CODES",
        type=_codes,
        action="extend",
        help="comma-separated rule codes or prefixes to skip (added to the config's ignore)",
    )
    group.add_argument(
        "--severity",
        metavar="CODE=LEVEL",
        type=_pair,
        action="append",
        help="override a rule's severity (error, warning, info); repeatable",
    )
    group.add_argument(
        "--model-map",
        metavar="NAME=ID",
        type=_pair,
        action="append",
        help="an entry of the pack's model_map table: model name -> provider model id; repeatable",
    )
    group.add_argument(
        "--effort-map",
        metavar="VALUE=EFFORT",
        type=_pair,
        action="append",
        help="an entry of the pack's effort_map table: extra effort -> provider effort; repeatable",
    )
    group.add_argument(
        "--rule-file",
        metavar="FILE",
        action="append",
        help="extra rule file, applied after the pack's rules; repeatable",
    )
    from ._packs import add_pack_options

    add_pack_options(group)


def _input_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="request files (.json, .yaml, .yml, .jsonl), folders (searched recursively), "
        "or - for stdin (default: the current folder)",
    )
    parser.add_argument(
        "--stdin-filename",
        metavar="NAME",
        help="the name to report stdin as; its suffix selects the format",
    )
    parser.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        default="error",
        help="exit 1 when a finding at or above this severity remains (default: error)",
    )
    parser.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        default=None,
        help="never show the progress bar (shown on a terminal for JSONL work over 1 s)",
    )


def build_parser() -> argparse.ArgumentParser:
    from fwcompat import __version__

    parser = argparse.ArgumentParser(
        prog="fwcompat",
        description="Check Anthropic Messages API requests for Fireworks AI's "
        "Anthropic-compatible endpoint. `fwcompat PATH...` is `fwcompat check PATH...`.",
    )
    parser.add_argument("--version", action="version", version=f"fwcompat {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "check",
        help="check request files and report diagnostics (the default command)",
        description="Check request files: one request per JSON/YAML file (a body, or an "
        "envelope {body, headers, base_url, path}), one per line in JSONL.",
    )
    _input_options(p)
    p.add_argument(
        "--fix",
        action="store_true",
        help="rewrite files with their safe fixes applied (stdin: print the fixed file)",
    )
    p.add_argument(
        "--unsafe-fixes",
        action="store_true",
        help="also apply unsafe fixes (model_map replacements)",
    )
    p.add_argument(
        "--diff",
        action="store_true",
        help="print a diff of what --fix would change; write nothing",
    )
    p.add_argument(
        "--exit-non-zero-on-fix",
        action="store_true",
        help="exit 1 when --fix changed something, even if nothing remains",
    )
    p.add_argument(
        "--format",
        "--output-format",
        dest="format",
        choices=FORMATS,
        default="text",
        help="output format (default: text)",
    )
    p.add_argument(
        "-o",
        "--output-file",
        metavar="FILE",
        help="write the report to FILE instead of stdout",
    )
    _config_options(p)

    p = sub.add_parser(
        "normalize",
        help="print the normalized request(s) as JSON; diagnostics go to stderr",
        description="Print each request as fwcompat.normalize() returns it: every fix applied, "
        "including unsafe model_map replacements (JSONL: one line per request). Diagnostics "
        "are printed to stderr; the exit code follows --fail-on.",
    )
    _input_options(p)
    _config_options(p)

    p = sub.add_parser("rules", help="list every rule: code, severity, action, fix, title")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    _config_options(p)

    p = sub.add_parser("explain", help="explain one rule: what, why, and its examples")
    p.add_argument("code", metavar="CODE", help="a rule code such as FW601, or its name")
    p.add_argument("--format", choices=("text", "json"), default="text")
    _config_options(p)
    from ._packs import add_pack_commands

    add_pack_commands(sub, _config_options)
    from fwcompat.serve._cli import add_parser as add_serve_parser

    add_serve_parser(sub)
    return parser


def _default_command(argv: list[str]) -> list[str]:
    """`fwcompat PATH...` means `fwcompat check PATH...`."""
    if not argv:
        return ["check"]
    first = argv[0]
    if first in COMMANDS or first in ("-h", "--help", "--version"):
        return argv
    return ["check", *argv]


def _load_config(args: argparse.Namespace) -> Any:
    from fwcompat._config import Config

    from ._pyproject import load_config

    config, _ = load_config(args.config, search=not args.isolated)
    if args.isolated and args.config is None:
        config = Config()
    flags: dict[str, Any] = {}
    if args.pack:
        flags["pack"] = args.pack
    if args.select is not None:
        flags["select"] = args.select
    if args.ignore:
        flags["ignore"] = args.ignore
    if args.severity:
        flags["severity"] = dict(args.severity)
    if args.model_map:
        flags["model_map"] = dict(args.model_map)
    if args.effort_map:
        flags["effort_map"] = dict(args.effort_map)
    if args.rule_file:
        flags["rule_files"] = args.rule_file
    from ._packs import merge_pack_flags, pack_flags

    flags.update(pack_flags(args))
    if not flags:
        return config
    # Validate the flags on their own first, so errors name the flag, not a merged table.
    Config.from_dict(flags, source="command line")
    base = config.to_dict()
    overrides: dict[str, Any] = dict(flags)
    if "ignore" in flags:
        overrides["ignore"] = [*base["ignore"], *flags["ignore"]]
    for key in ("severity", "model_map", "effort_map"):
        if key in flags:
            overrides[key] = {**base[key], **flags[key]}
    if "rule_files" in flags:
        overrides["rule_files"] = [*base["rule_files"], *flags["rule_files"]]
    merge_pack_flags(base, flags, overrides)
    return config.merged(**overrides)


def _run(args: argparse.Namespace) -> int:
    from fwcompat._exceptions import ConfigError, RuleFileError

    if args.command == "serve":
        from fwcompat.serve._cli import run as serve

        return serve(args)

    try:
        if args.command == "packs":
            from ._packs import run_pack_command

            return run_pack_command(args, None)
        config = _load_config(args)
        if args.command == "test-rules" or getattr(args, "format", "") == "markdown":
            from ._packs import rules_markdown, run_pack_command

            if args.command == "test-rules":
                return run_pack_command(args, config)
            sys.stdout.write(rules_markdown(config))
            return 0
        if args.command in ("rules", "explain"):
            from ._explain import explain, rules_table

            if args.command == "rules":
                return rules_table(config, args.format)
            return explain(config, args.code, args.format)
        return _check(args, config)
    except (ConfigError, RuleFileError) as exc:
        sys.stderr.write(f"fwcompat: error: {exc}\n")
        return 2


def _check(args: argparse.Namespace, config: Any) -> int:
    from fwcompat._diagnostics import Severity

    from ._commands import CLI_RULES, Checker, CheckOptions, run_normalize
    from ._reporters import REPORTER_BY_NAME

    paths = args.paths or ["."]
    if paths.count("-") > 1:
        sys.stderr.write("fwcompat: error: stdin (-) can be given only once\n")
        return 2
    normalize = args.command == "normalize"
    fix = bool(getattr(args, "fix", False))
    diff = bool(getattr(args, "diff", False))
    options = CheckOptions(
        config=config,
        fix=fix,
        unsafe_fixes=bool(getattr(args, "unsafe_fixes", False)),
        diff=diff,
        fail_on=Severity(args.fail_on),
        exit_non_zero_on_fix=bool(getattr(args, "exit_non_zero_on_fix", False)),
        stdin_filename=args.stdin_filename,
        progress=args.progress,
    )

    def rule_info(code: str) -> dict[str, Any]:
        if code in CLI_RULES:
            return dict(CLI_RULES[code])
        from fwcompat._check import list_rules

        for rule in list_rules(config):
            if rule.code == code:
                return {
                    "name": rule.name,
                    "title": rule.title,
                    "doc": rule.doc,
                    "severity": config.severity.get(code, rule.severity),
                }
        return {}

    fmt = "text" if normalize else args.format
    output_file = None if normalize else args.output_file
    # Where the report goes: stdout, unless stdout carries data (normalize, stdin --fix, --diff).
    stdin_fix = fix and not diff and "-" in paths
    out = sys.stderr if (normalize or stdin_fix or diff) else sys.stdout
    handle = None
    if output_file:
        try:
            handle = open(output_file, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            sys.stderr.write(f"fwcompat: error: cannot write {output_file}: {exc.strerror}\n")
            return 2
        out = handle
    try:
        reporter = REPORTER_BY_NAME[fmt](out, rule_info=rule_info)
        if normalize:
            return run_normalize(options, paths, reporter)
        checker = Checker(options, reporter, diff_out=sys.stdout)
        return checker.run(paths)
    finally:
        if handle is not None:
            handle.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 clean, 1 findings, 2 errors)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(_default_command(args_list))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return _run(args)
    except KeyboardInterrupt:
        sys.stderr.write("fwcompat: interrupted\n")
        return 130
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error of ours.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
