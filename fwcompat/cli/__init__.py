"""The ``fwcompat`` command line: check, fix and explain request fixtures, like ruff.

::

    fwcompat check [PATH ...]      # the default command: `fwcompat PATH` == `fwcompat check PATH`
    fwcompat normalize PATH        # print the normalized request(s) as JSON
    fwcompat rules                 # a table of every rule
    fwcompat explain CODE          # one rule in full, with its examples
    fwcompat packs                 # the shipped rule packs
    fwcompat test-rules PATH...    # run the examples of rule files or pack folders
    fwcompat serve                 # a checking proxy for Claude Code and Anthropic SDKs
    fwcompat matrix                # every Anthropic feature against every pack
    fwcompat sources check PACK FILE  # rules whose quoted sentence left the provider's page

Exit codes: 0 clean, 1 findings at or above ``--fail-on`` (or ``--diff`` with
changes pending), 2 usage error, bad configuration, or a file or folder that
cannot be read or parsed.

Each subcommand is one ``_add_<name>(subparsers)`` function in :data:`SUBCOMMANDS`
that adds its parser and sets ``handler(args, config) -> exit code``; a module
that brings a new subcommand appends its own function there. "Did you mean" reads
the command names from the built parser, so later additions are covered.

Only argparse is imported up front; each command imports what it needs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["main"]

COMMANDS = (
    "check", "normalize", "rules", "explain", "packs", "test-rules", "serve", "matrix", "sources",
)  # fmt: skip
FORMATS = ("text", "json", "github", "sarif")
SEVERITIES = ("error", "warning", "info")


class _Parser(argparse.ArgumentParser):
    """argparse, with "did you mean" on a value that is not one of the choices."""

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        choices = action.choices
        if choices is not None and value not in choices:
            from fwcompat._exceptions import did_you_mean

            names = [str(c) for c in choices]
            shown = ", ".join(repr(n) for n in names)
            hint = did_you_mean(str(value), names)
            raise argparse.ArgumentError(
                action, f"invalid choice: {value!r}{hint} (choose from {shown})"
            )


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
        help="settings file for every file checked: a pyproject.toml with [tool.fwcompat], "
        "or a TOML file of settings (default: each file's nearest .fwcompat.toml, "
        "fwcompat.toml or pyproject.toml with [tool.fwcompat])",
    )
    group.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    group.add_argument(
        "--no-cache",
        action="store_true",
        help="read rule files afresh; neither read nor write the rule-file cache",
    )
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
        help="an entry of the pack's model_map table: model name, or a glob such as 'claude-*', "
        "-> provider model id; an exact name beats a glob, the first matching glob wins; "
        "repeatable",
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
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="say which files were skipped as not requests, and which findings a "
        "`# fwcompat: ignore[CODE]` comment turned off",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print the findings and nothing else: no summary line, no warnings",
    )
    group = parser.add_argument_group("file selection (as ruff: flags override [tool.fwcompat])")
    group.add_argument(
        "--include",
        metavar="GLOB",
        action="append",
        help="files to search for under a folder (default: *.json *.yaml *.yml *.jsonl "
        "*.ndjson); repeatable, replaces the default",
    )
    group.add_argument(
        "--exclude",
        metavar="GLOB",
        action="append",
        help="files and folders never to search (replaces the default list: .git, "
        "node_modules, .venv ...); repeatable",
    )
    group.add_argument(
        "--extend-exclude",
        metavar="GLOB",
        action="append",
        help="more files and folders never to search, added to exclude; repeatable",
    )
    group.add_argument(
        "--force-exclude",
        action="store_true",
        help="apply exclude to files named on the command line too (for pre-commit)",
    )
    group.add_argument(
        "--respect-gitignore",
        dest="respect_gitignore",
        action="store_true",
        default=None,
        help="skip files that .gitignore ignores in a folder search (the default)",
    )
    group.add_argument(
        "--no-respect-gitignore",
        dest="respect_gitignore",
        action="store_false",
        help="search files that .gitignore ignores too",
    )


def _add_check(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="check request files and report diagnostics (the default command)",
        description="Check request files: one request per JSON/YAML file (a body, or an "
        "envelope {body, headers, base_url, path}), one per line in JSONL. Documents that "
        "are not requests (package.json, CI workflows) are skipped and never written.",
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
        help="print a diff of what --fix would change; write nothing; exit 1 if any",
    )
    p.add_argument(
        "--exit-non-zero-on-fix",
        action="store_true",
        help="exit 1 when --fix changed something, even if nothing remains",
    )
    p.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 even when findings remain (2 still means a usage, config or file error)",
    )
    p.add_argument(
        "--statistics",
        action="store_true",
        help="print a count per rule code instead of each finding (text or json)",
    )
    p.add_argument(
        "--show-settings",
        action="store_true",
        help="print the settings the first file would be checked with, and exit",
    )
    p.add_argument(
        "--show-files",
        action="store_true",
        help="print the files that would be checked, and exit",
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
        help="write the report to FILE instead of stdout (never one of the inputs)",
    )
    _color_option(p)
    _config_options(p)
    p.set_defaults(handler=_check)


def _add_normalize(sub: Any) -> None:
    p = sub.add_parser(
        "normalize",
        help="print the normalized request(s) as JSON; diagnostics go to stderr",
        description="Print each request as fwcompat.normalize() returns it: every fix applied, "
        "including unsafe model_map replacements. One file with one request prints indented "
        "JSON; several inputs or JSONL print JSON Lines. A rejected request prints nothing "
        "and exits 1. Diagnostics are printed to stderr; the exit code follows --fail-on.",
    )
    _input_options(p)
    _color_option(p)
    _config_options(p)
    p.set_defaults(handler=_check)


def _add_rules(sub: Any) -> None:
    p = sub.add_parser(
        "rules",
        help="list every rule: code, severity, action, fix, title",
        description="List every rule of the pack (and extra rule files) in a table.",
    )
    p.add_argument(
        "--format",
        choices=("text", "json", "markdown"),
        default="text",
        help="output format (default: text; markdown: the table the README shows)",
    )
    _config_options(p)
    p.set_defaults(handler=_rules)


def _add_explain(sub: Any) -> None:
    p = sub.add_parser(
        "explain",
        help="explain one rule: what, why, and its examples",
        description="Explain one rule in full: what it matches, why, what it does, examples.",
    )
    p.add_argument("code", metavar="CODE", help="a rule code such as FW601, or its name")
    p.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    _config_options(p)
    p.set_defaults(handler=_rules)


def _color_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the text report: auto (on a terminal, unless NO_COLOR is set or "
        "FORCE_COLOR is), always, never (default: auto)",
    )


def _add_pack_commands(sub: Any) -> None:
    from ._packs import add_pack_commands

    add_pack_commands(sub, _config_options)
    choices = sub.choices
    choices["packs"].set_defaults(handler=_run_packs, config_free=True)
    choices["test-rules"].set_defaults(handler=_run_packs)


def _run_packs(args: argparse.Namespace, config: Any) -> int:
    from ._packs import run_pack_command

    return run_pack_command(args, config)


def _add_serve(sub: Any) -> None:
    from fwcompat.serve._cli import add_parser

    add_parser(sub).set_defaults(handler=_run_serve, config_free=True)


def _run_serve(args: argparse.Namespace, config: Any) -> int:
    from fwcompat.serve._cli import run

    return run(args)  # loads its configuration itself, with its own error handling


def _add_matrix_and_sources(sub: Any) -> None:
    from ._doc_sources import add_sources_command, run_sources
    from ._matrix import add_matrix_command, run_matrix

    add_matrix_command(sub).set_defaults(
        handler=lambda args, config: run_matrix(args), config_free=True
    )
    add_sources_command(sub).set_defaults(
        handler=lambda args, config: run_sources(args), config_free=True
    )


SUBCOMMANDS: list[Callable[[Any], None]] = [
    _add_check,
    _add_normalize,
    _add_rules,
    _add_explain,
    _add_pack_commands,
    _add_serve,
    _add_matrix_and_sources,
]
"""One function per subcommand; each adds its parser and sets ``handler(args, config)``.
A subcommand added later appends its own function here."""


def build_parser() -> argparse.ArgumentParser:
    from fwcompat import __version__

    parser = _Parser(
        prog="fwcompat",
        description="Check Anthropic Messages API requests for Fireworks AI's "
        "Anthropic-compatible endpoint. `fwcompat PATH...` is `fwcompat check PATH...`.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"fwcompat {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(sub)
    for subparser in _subparsers(parser).values():
        subparser.allow_abbrev = False
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Subcommand name -> its parser, read from the parser (so later additions count)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _suggest(word: str, choices: Iterable[str]) -> str:
    import difflib

    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _default_command(argv: list[str], commands: Iterable[str] = COMMANDS) -> list[str]:
    """`fwcompat PATH...` means `fwcompat check PATH...`."""
    if not argv:
        return ["check"]
    first = argv[0]
    if first in commands or first in ("-h", "--help", "--version"):
        return argv
    return ["check", *argv]


def _mistyped_command(argv: list[str], commands: Iterable[str]) -> str | None:
    """`fwcompat chek x`: a first word close to a command that is not a path."""
    if not argv:
        return None
    first = argv[0]
    names = list(commands)
    if first in names or first.startswith("-") or os.path.exists(first):
        return None
    hint = _suggest(first, names)
    if not hint:
        return None
    return f"unknown command {first!r}{hint}"


_FLAG_KEYS = {
    "pack": "--pack",
    "select": "--select",
    "ignore": "--ignore",
    "severity": "--severity",
    "model_map": "--model-map",
    "effort_map": "--effort-map",
    "rule_files": "--rule-file",
}


def _flag_error(flag: str, shown: str, exc: Exception) -> Exception:
    """A ConfigError that names the flag as the user wrote it, not a merged table."""
    from fwcompat._exceptions import ConfigError

    reason = str(exc)
    # "command line.severity.FW401: 'loud' is not ..." -> "'loud' is not ..."
    head, sep, tail = reason.partition(": ")
    if sep and head.startswith("command line"):
        reason = tail
    return ConfigError(f"{flag} {shown}: {reason}")


def _flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """The config flags given, each validated on its own so errors name the flag."""
    from fwcompat._config import Config
    from fwcompat._exceptions import ConfigError

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
    from ._packs import pack_flags

    flags.update(pack_flags(args))
    return flags


def _load_config(args: argparse.Namespace) -> Any:
    return _load_settings(args)[0]


def _resolver(args: argparse.Namespace) -> Any:
    """Settings per folder (nearest config file), the flags on top of each."""
    from ._pyproject import SettingsResolver

    flags = _flag_values(args)

    def overlay(config: Any, files: Any) -> tuple[Any, Any]:
        return _overlay(config, files, flags, args)

    def validate(config: Any, files: Any, source: str | None) -> None:
        """Load the pack now, so a bad code, pack or table names its flag or file."""
        from fwcompat._check import _prepared
        from fwcompat._exceptions import ConfigError

        try:
            _prepared(config)
        except ConfigError as exc:
            raise _named(exc, flags, source) from None
        extra = [c for _, codes in files.per_file_ignores for c in codes if c not in config.ignore]
        if extra:
            try:
                _prepared(config.merged(ignore=[*config.ignore, *extra]))
            except ConfigError as exc:
                message = str(exc).replace("config.ignore", "config.per_file_ignores", 1)
                raise _named(ConfigError(message), flags, source) from None

    return SettingsResolver(
        config_file=args.config, isolated=args.isolated, overlay=overlay, validate=validate
    )


_FLAG_OF_KEY = {**_FLAG_KEYS, "extend_select": "--extend-select", "tables": "--table"}


def _named(exc: Exception, flags: dict[str, Any], source: str | None) -> Exception:
    """A ConfigError about ``config.KEY`` that names where KEY came from: the flag that
    set it, else the config file and line (``pyproject.toml:4 [tool.fwcompat].select``)."""
    import re

    from fwcompat._exceptions import ConfigError

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
    from ._pyproject import key_line

    line = key_line(source, key)
    place = f"{source}:{line}" if line else source
    table = " [tool.fwcompat]" if os.path.basename(source) == "pyproject.toml" else ""
    error = ConfigError(f"{place}{table}.{key.replace('_', '-')}{rest}")
    error.file, error.key, error.line = source, key, line
    return error


def _load_settings(args: argparse.Namespace) -> tuple[Any, Any]:
    """(Config, FileSettings) of the current folder: its config file with the flags on top."""
    resolved = _resolver(args).for_folder(os.getcwd())
    return resolved.config, resolved.files


def _overlay(
    config: Any, files: Any, flags: dict[str, Any], args: argparse.Namespace
) -> tuple[Any, Any]:
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
    from ._packs import merge_pack_flags

    merge_pack_flags(base, flags, overrides)
    return config.merged(**overrides), files


def _run(args: argparse.Namespace) -> int:
    from fwcompat._exceptions import ConfigError, RuleFileError

    try:
        if getattr(args, "no_cache", False):
            os.environ["FWCOMPAT_NO_CACHE"] = "1"
        if getattr(args, "config_free", False):
            return int(args.handler(args, None))
        resolver = _resolver(args)
        resolved = resolver.for_folder(os.getcwd())
        config, args.files, args.resolver = resolved.config, resolved.files, resolver
        if getattr(args, "format", "") == "markdown":
            from ._packs import rules_markdown

            sys.stdout.write(rules_markdown(config))
            return 0
        return int(args.handler(args, config))
    except (ConfigError, RuleFileError) as exc:
        sys.stderr.write(f"fwcompat: error: {exc}\n")
        return 2


def _rules(args: argparse.Namespace, config: Any) -> int:
    from ._explain import explain, rules_table

    if args.command == "rules":
        return rules_table(config, args.format)
    return explain(config, args.code, args.format)


def use_color(choice: str, stream: Any) -> bool:
    """ruff's rule: --color always/never wins; else NO_COLOR, then FORCE_COLOR, then a tty."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _progress_delay() -> float:
    """Seconds before the JSONL progress bar shows; FWCOMPAT_PROGRESS_DELAY overrides 1.0."""
    try:
        return max(0.0, float(os.environ.get("FWCOMPAT_PROGRESS_DELAY", "1")))
    except ValueError:
        return 1.0


def _check(args: argparse.Namespace, config: Any) -> int:
    from fwcompat._diagnostics import Severity

    from ._commands import CLI_RULES, Checker, CheckOptions, run_normalize
    from ._reporters import REPORTER_BY_NAME

    paths = args.paths or ["."]
    if "" in paths:
        sys.stderr.write("fwcompat: error: an empty path ('') names no file\n")
        return 2
    if paths.count("-") > 1:
        sys.stderr.write("fwcompat: error: stdin (-) can be given only once\n")
        return 2
    normalize = args.command == "normalize"
    fix = bool(getattr(args, "fix", False))
    diff = bool(getattr(args, "diff", False))
    output_file = None if normalize else getattr(args, "output_file", None)
    skip: frozenset[str] = frozenset()
    if output_file:
        target = os.path.realpath(output_file)
        for path in paths:
            if path != "-" and os.path.realpath(path) == target:
                sys.stderr.write(
                    f"fwcompat: error: the report file {output_file} is also an input; "
                    "choose another -o FILE\n"
                )
                return 2
        if os.path.isdir(output_file):
            sys.stderr.write(f"fwcompat: error: cannot write {output_file}: is a folder\n")
            return 2
        skip = frozenset({target})
    files = args.files
    resolver = args.resolver
    if getattr(args, "show_files", False):
        return _show_files(paths, resolver, args.force_exclude, skip, quiet=args.quiet)
    if getattr(args, "show_settings", False):
        return _show_settings(paths, resolver, args.force_exclude, skip)
    statistics = bool(getattr(args, "statistics", False))
    if statistics and args.format not in ("text", "json"):
        sys.stderr.write(f"fwcompat: error: --statistics prints text or json, not {args.format}\n")
        return 2
    options = CheckOptions(
        config=config,
        fix=fix,
        unsafe_fixes=bool(getattr(args, "unsafe_fixes", False)),
        diff=diff,
        fail_on=Severity(args.fail_on),
        exit_non_zero_on_fix=bool(getattr(args, "exit_non_zero_on_fix", False)),
        stdin_filename=args.stdin_filename,
        progress=args.progress,
        progress_delay=_progress_delay(),
        verbose=args.verbose,
        include=files.include,
        exclude=files.exclude,
        force_exclude=args.force_exclude,
        skip=skip,
        config_for=resolver.config_for,
        selection=lambda folder: resolver.for_folder(folder).files,
        exit_zero=bool(getattr(args, "exit_zero", False)),
        quiet=args.quiet,
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
    # Where the report goes: stdout, unless stdout carries data (normalize, stdin --fix, --diff).
    stdin_fix = fix and not diff and "-" in paths
    out: Any = sys.stderr if (normalize or stdin_fix or diff) else sys.stdout
    report = None
    if output_file:
        report = _ReportFile(output_file)
        try:
            out = report.open()
        except OSError as exc:
            sys.stderr.write(f"fwcompat: error: cannot write {output_file}: {exc.strerror}\n")
            return 2
    color = use_color(args.color, out) if fmt in ("text", "github") else False
    ok = False
    try:
        if statistics:
            from ._reporters import StatisticsReporter

            reporter: Any = StatisticsReporter(out, fmt=fmt, rule_info=rule_info, quiet=args.quiet)
        else:
            reporter = REPORTER_BY_NAME[fmt](
                out, rule_info=rule_info, color=color and fmt == "text", quiet=args.quiet
            )
        if normalize:
            code = run_normalize(options, paths, reporter)
        else:
            code = Checker(options, reporter, diff_out=sys.stdout).run(paths)
        ok = True
        return code
    finally:
        if report is not None:
            try:
                report.close(keep=ok)
            except OSError as exc:
                sys.stderr.write(f"fwcompat: error: cannot write {output_file}: {exc.strerror}\n")


def _selected(paths: list[str], resolver: Any, force_exclude: bool, skip: frozenset[str]) -> Any:
    from ._sources import discover

    return discover(
        paths,
        force_exclude=force_exclude,
        skip=skip,
        selection=lambda folder: resolver.for_folder(folder).files,
    )


def _show_files(
    paths: list[str], resolver: Any, force_exclude: bool, skip: frozenset[str], *, quiet: bool
) -> int:
    """``--show-files``: every file a check would read, one per line (ruff's flag)."""
    from ._commands import display_name
    from ._sources import WalkError

    found = 0
    for path in _selected(paths, resolver, force_exclude, skip):
        found += 1
        if isinstance(path, WalkError):
            sys.stderr.write(f"fwcompat: error: {path.path}: {path.message}\n")
            continue
        sys.stdout.write(("-" if path == "-" else display_name(path)) + "\n")
    if not found and not quiet:
        sys.stderr.write(f"fwcompat: warning: no files to check under {', '.join(paths)}\n")
    return 0


def _show_settings(
    paths: list[str], resolver: Any, force_exclude: bool, skip: frozenset[str]
) -> int:
    """``--show-settings``: the settings the first file is checked with (ruff's flag)."""
    import json

    from ._commands import display_name
    from ._sources import WalkError

    first = next(
        (
            p
            for p in _selected(paths, resolver, force_exclude, skip)
            if not isinstance(p, WalkError)
        ),
        None,
    )
    target = os.path.abspath(first) if first not in (None, "-") else os.path.join(os.getcwd(), "-")
    resolved = resolver.for_folder(os.path.dirname(target))
    files = resolved.files
    config = resolver.config_for(target)
    out = sys.stdout
    out.write(f"Resolved settings for: {display_name(first) if first else '(no file)'}\n")
    out.write(f"Settings path: {resolved.source or '(none: defaults)'}\n\n")
    out.write("# check\n")
    for key, value in config.to_dict().items():
        out.write(f"{key} = {json.dumps(value)}\n")
    out.write("\n# files\n")
    rows: list[tuple[str, Any]] = [
        ("root", os.path.abspath(files.root or os.curdir)),
        ("include", list(files.include)),
        ("exclude", list(files.exclude)),
        ("per_file_ignores", {p: list(c) for p, c in files.per_file_ignores}),
        ("respect_gitignore", files.respect_gitignore),
        ("ignored_here", list(files.ignored_codes(target))),
    ]
    for key, value in rows:
        out.write(f"{key} = {json.dumps(value)}\n")
    return 0


class _ReportFile:
    """The -o file, written to a temp file beside it and renamed at the end.

    An existing report stays intact until the new one is complete, and the file
    being written is never read as an input (it is not in place yet). A special
    file (``/dev/null``, a FIFO) is written directly, never replaced.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.tmp = ""
        self.handle: Any = None

    def open(self) -> Any:
        import stat
        import tempfile

        target = os.path.realpath(self.path)
        try:
            special = not stat.S_ISREG(os.stat(target).st_mode)
        except FileNotFoundError:
            special = False
        if special:  # /dev/null, a FIFO, /dev/stdout: write straight into it
            self.handle = open(target, "w", encoding="utf-8")  # noqa: SIM115
            return self.handle
        fd, self.tmp = tempfile.mkstemp(
            prefix=f".{os.path.basename(target)}.",
            suffix=".fwcompat-tmp",
            dir=os.path.dirname(target) or ".",
        )
        self.handle = open(fd, "w", encoding="utf-8")  # noqa: SIM115
        return self.handle

    def close(self, *, keep: bool) -> None:
        import contextlib

        if not self.tmp:
            self.handle.close()
            return
        try:
            self.handle.close()
            if keep:
                with contextlib.suppress(OSError):
                    os.chmod(self.tmp, 0o666 & ~_umask())
                os.replace(self.tmp, os.path.realpath(self.path))
        finally:
            with contextlib.suppress(OSError):
                if os.path.exists(self.tmp):
                    os.unlink(self.tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _unrecognized(parser: argparse.ArgumentParser, command: str | None, extras: list[str]) -> str:
    """The error for unknown options, with "did you mean" from the subcommand's own options."""
    subparser = _subparsers(parser).get(command or "", parser)
    options = [o for o in subparser._option_string_actions if o.startswith("--")]
    bad = extras[0]
    name = bad.split("=", 1)[0]
    subparser.print_usage(sys.stderr)
    return f"{subparser.prog}: error: unrecognized option {name!r}{_suggest(name, options)}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 clean, 1 findings, 2 errors)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    commands = list(_subparsers(parser))
    mistyped = _mistyped_command(args_list, commands)
    if mistyped:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"fwcompat: error: {mistyped}\n")
        return 2
    try:
        args, extras = parser.parse_known_args(_default_command(args_list, commands))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    options = [e for e in extras if e.startswith("-") and e != "-"]
    if options:
        sys.stderr.write(_unrecognized(parser, args.command, options) + "\n")
        return 2
    if extras:
        if not hasattr(args, "paths"):
            sub = _subparsers(parser)[args.command]
            sub.print_usage(sys.stderr)
            sys.stderr.write(f"{sub.prog}: error: unrecognized arguments: {' '.join(extras)}\n")
            return 2
        args.paths = [*args.paths, *extras]  # paths after options: `check a --fix b`
    try:
        return _run(args)
    except KeyboardInterrupt:
        sys.stderr.write("fwcompat: interrupted\n")
        return 130
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
