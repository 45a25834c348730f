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

Each subcommand is a :class:`~fwcompat.settings.subcommand.Subcommand` record (name, help,
description, ``add_arguments(parser)``, ``run(args) -> exit code``) listed in
:data:`SUBCOMMANDS`, by the function that imports its module: a module is imported only
when its command runs (or ``--help`` lists them all), so ``fwcompat check`` never imports
``fwcompat serve``. "Did you mean" reads the command names from the table, so later
additions are covered.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # neither typing nor argparse is imported: a replayed run needs neither
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterable, Sequence
    from types import ModuleType
    from typing import Any

    from fwcompat.settings.subcommand import Subcommand

__all__ = ["SUBCOMMANDS", "Subcommand", "build_parser", "main"]


def __getattr__(name: str) -> Any:
    if name == "Subcommand":  # re-exported, imported on first use
        from fwcompat.settings.subcommand import Subcommand

        return Subcommand
    raise AttributeError(f"module 'fwcompat.cli' has no attribute {name!r}")


def _check_commands() -> ModuleType:
    from fwcompat.cli import _check_command

    return _check_command


def _rule_commands() -> ModuleType:
    from fwcompat.cli import _explain

    return _explain


def _pack_commands() -> ModuleType:
    from fwcompat.cli import _packs

    return _packs


def _serve_command() -> ModuleType:
    from fwcompat.serve import _cli

    return _cli


def _matrix_command() -> ModuleType:
    from fwcompat.cli import _matrix

    return _matrix


def _sources_command() -> ModuleType:
    from fwcompat.cli import _doc_sources

    return _doc_sources


SUBCOMMANDS: dict[str, Subcommand | tuple[Callable[[], ModuleType], str]] = {
    "check": (_check_commands, "CHECK"),
    "normalize": (_check_commands, "NORMALIZE"),
    "rules": (_rule_commands, "RULES"),
    "explain": (_rule_commands, "EXPLAIN"),
    "packs": (_pack_commands, "PACKS"),
    "test-rules": (_pack_commands, "TEST_RULES"),
    "serve": (_serve_command, "SERVE"),
    "matrix": (_matrix_command, "MATRIX"),
    "sources": (_sources_command, "SOURCES"),
}
"""Command name -> its :class:`Subcommand`, or (the function that imports its module, the
attribute that holds it). The imports are plain statements inside those functions: lazy, for
start-up time, yet visible to the import graph that ``lint-imports`` checks. A command added
later adds its own entry."""


def subcommand(name: str) -> Subcommand:
    """The record of the command ``name``, importing its module if the table names one."""
    from fwcompat.settings.subcommand import Subcommand

    entry = SUBCOMMANDS[name]
    if isinstance(entry, Subcommand):
        return entry
    load, attribute = entry
    found: Subcommand = getattr(load(), attribute)
    return found


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with ``only``, that command's options alone (the others are
    named, so that argparse still knows them, but their modules are not imported)."""
    from fwcompat import __version__
    from fwcompat.cli._parser import Parser

    parser = Parser(
        prog="fwcompat",
        description="Check Anthropic Messages API requests for Fireworks AI's "
        "Anthropic-compatible endpoint. `fwcompat PATH...` is `fwcompat check PATH...`.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"fwcompat {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        if only is not None and name != only:
            sub.add_parser(name, add_help=False, allow_abbrev=False)
            continue
        command = subcommand(name)
        p = sub.add_parser(
            name, help=command.help, description=command.description, allow_abbrev=False
        )
        command.add_arguments(p)
        p.set_defaults(run=command.run)
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Subcommand name -> its parser, read from the parser (so later additions count)."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _suggest(word: str, choices: Iterable[str]) -> str:
    import difflib

    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _default_command(argv: list[str], commands: Iterable[str] = SUBCOMMANDS) -> list[str]:
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


def _unrecognized(parser: argparse.ArgumentParser, command: str | None, extras: list[str]) -> str:
    """The error for unknown options, with "did you mean" from the subcommand's own options."""
    subparser = _subparsers(parser).get(command or "", parser)
    options = [o for o in subparser._option_string_actions if o.startswith("--")]
    bad = extras[0]
    name = bad.split("=", 1)[0]
    subparser.print_usage(sys.stderr)
    return f"{subparser.prog}: error: unrecognized option {name!r}{_suggest(name, options)}"


def _parse(argv: list[str]) -> argparse.Namespace | int:
    """The parsed command line, or the exit code of a usage error (already reported)."""
    commands = list(SUBCOMMANDS)
    mistyped = _mistyped_command(argv, commands)
    argv = _default_command(argv, commands)
    parser = build_parser(argv[0] if argv[0] in commands else None)
    if mistyped:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"fwcompat: error: {mistyped}\n")
        return 2
    try:
        args, extras = parser.parse_known_args(argv)
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
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 clean, 1 findings, 2 errors)."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words == ["--version"]:  # as argparse prints it, without building every command's parser
        from fwcompat import __version__

        sys.stdout.write(f"fwcompat {__version__}\n")
        return 0
    from fwcompat.cli import _replay

    replayed = _replay.replay(words)  # the same check on unchanged files: its output again
    if replayed is not None:
        return replayed
    from fwcompat.rulepacks import forget

    forget()  # config files may have changed since an earlier run in this process
    args = _parse(words)
    if isinstance(args, int):
        return args
    try:
        if not _replay.replayable(args):
            return _run(args)
        paths = list(getattr(args, "paths", None) or ())
        with _replay.Recorder(words, paths, getattr(args, "config", None)) as recorder:
            code = _run(args)
        recorder.save(code)
        return code
    except KeyboardInterrupt:
        sys.stderr.write("fwcompat: interrupted\n")
        return 130
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _run(args: argparse.Namespace) -> int:
    from fwcompat._exceptions import ConfigError, RuleFileError

    try:
        if getattr(args, "no_cache", False):
            os.environ["FWCOMPAT_NO_CACHE"] = "1"
        return int(args.run(args))
    except (ConfigError, RuleFileError) as exc:
        sys.stderr.write(f"fwcompat: error: {exc}\n")
        return 2
