"""``fwcompat check`` and ``fwcompat normalize``: their flags, and how a run is set up
(paths, report file, reporter) before the :class:`~._commands.Checker` reads the files."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from fwcompat.settings import command_line
from fwcompat.settings.options import config_options
from fwcompat.settings.subcommand import Subcommand

from ._report_file import ReportFile

if TYPE_CHECKING:
    from fwcompat._config import Config
    from fwcompat.settings.config_files import SettingsResolver
    from fwcompat.settings.file_selection import FileSettings

    from ._check_options import CheckOptions
    from ._result_cache import ResultCache

__all__ = ["CHECK", "NORMALIZE", "use_color"]

FORMATS = ("text", "json", "github", "sarif")
SEVERITIES = ("error", "warning", "info")


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


def _selection_options(parser: argparse.ArgumentParser) -> None:
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


CHECK_HELP = "check request files and report diagnostics (the default command)"
CHECK_DESCRIPTION = (
    "Check request files: one request per JSON/YAML file (a body, or an "
    "envelope {body, headers, base_url, path}), one per line in JSONL. Documents that "
    "are not requests (package.json, CI workflows) are skipped and never written."
)
NORMALIZE_DESCRIPTION = (
    "Print each request as fwcompat.normalize() returns it: every fix applied, "
    "including unsafe model_map replacements. One file with one request prints indented "
    "JSON; several inputs or JSONL print JSON Lines. A rejected request prints nothing "
    "and exits 1. Diagnostics are printed to stderr; the exit code follows --fail-on."
)


def _check_arguments(p: argparse.ArgumentParser) -> None:
    _input_options(p)
    _selection_options(p)
    _fix_and_report_options(p)
    _color_option(p)
    config_options(p)


def _normalize_arguments(p: argparse.ArgumentParser) -> None:
    _input_options(p)
    _selection_options(p)
    _color_option(p)
    config_options(p)


def _fix_and_report_options(p: argparse.ArgumentParser) -> None:
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


def _color_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the text report: auto (on a terminal, unless NO_COLOR is set or "
        "FORCE_COLOR is), always, never (default: auto)",
    )


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


def _run(args: argparse.Namespace) -> int:
    """``check`` and ``normalize``: the settings of here, the paths checked, the report."""
    resolver = command_line.resolver(args)
    here = resolver.for_folder(os.getcwd())
    paths = args.paths or ["."]
    normalize = args.command == "normalize"
    output_file = None if normalize else getattr(args, "output_file", None)
    problem = _paths_problem(paths, output_file)
    if problem is not None:
        return _error(problem)
    skip = frozenset({os.path.realpath(output_file)}) if output_file else frozenset()
    if getattr(args, "show_files", False):
        return _show_files(paths, resolver, args.force_exclude, skip, quiet=args.quiet)
    if getattr(args, "show_settings", False):
        return _show_settings(paths, resolver, args.force_exclude, skip)
    if getattr(args, "statistics", False) and args.format not in ("text", "json"):
        return _error(f"--statistics prints text or json, not {args.format}")
    options = _check_options(args, here.config, here.files, resolver, skip)
    fmt = "text" if normalize else args.format
    # Where the report goes: stdout, unless stdout carries data (normalize, stdin --fix, --diff).
    stdin_fix = options.fix and not options.diff and "-" in paths
    out: Any = sys.stderr if (normalize or stdin_fix or options.diff) else sys.stdout
    if not output_file:
        return _report(args, options, paths, out, fmt)
    report = ReportFile(output_file)
    try:
        out = report.open()
    except OSError as exc:
        return _error(f"cannot write {output_file}: {exc.strerror}")
    ok = False
    try:
        code = _report(args, options, paths, out, fmt)
        ok = True
        return code
    finally:
        try:
            report.close(keep=ok)
        except OSError as exc:
            sys.stderr.write(f"fwcompat: error: cannot write {output_file}: {exc.strerror}\n")


def _error(message: str) -> int:
    sys.stderr.write(f"fwcompat: error: {message}\n")
    return 2


def _paths_problem(paths: list[str], output_file: str | None) -> str | None:
    """What is wrong with the paths and the report file given, else None."""
    if "" in paths:
        return "an empty path ('') names no file"
    if paths.count("-") > 1:
        return "stdin (-) can be given only once"
    if not output_file:
        return None
    target = os.path.realpath(output_file)
    if any(path != "-" and os.path.realpath(path) == target for path in paths):
        return f"the report file {output_file} is also an input; choose another -o FILE"
    if os.path.isdir(output_file):
        return f"cannot write {output_file}: is a folder"
    return None


def _check_options(
    args: argparse.Namespace,
    config: Config,
    files: FileSettings,
    resolver: SettingsResolver,
    skip: frozenset[str],
) -> CheckOptions:
    from fwcompat._diagnostics import Severity

    from ._check_options import CheckOptions

    return CheckOptions(
        config=config,
        fix=bool(getattr(args, "fix", False)),
        unsafe_fixes=bool(getattr(args, "unsafe_fixes", False)),
        diff=bool(getattr(args, "diff", False)),
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


def _report(
    args: argparse.Namespace, options: CheckOptions, paths: list[str], out: Any, fmt: str
) -> int:
    """Check (or normalize) ``paths``, reporting to ``out`` in ``fmt``."""
    from ._commands import Checker
    from ._reporters import REPORTER_BY_NAME, StatisticsReporter

    results = None if args.command == "normalize" else _result_cache(options)
    rule_info = RuleInfo(options.config, {} if results is None else results.rules)
    reporter: Any
    if getattr(args, "statistics", False):
        reporter = StatisticsReporter(out, fmt=fmt, rule_info=rule_info, quiet=args.quiet)
    else:
        color = fmt == "text" and use_color(args.color, out)
        reporter = REPORTER_BY_NAME[fmt](out, rule_info=rule_info, color=color, quiet=args.quiet)
    if args.command == "normalize":
        from ._normalize import run_normalize

        return run_normalize(options, paths, reporter)
    checker = Checker(options, reporter, diff_out=sys.stdout)
    if results is not None:
        results.describe = rule_info
        checker.results = results
    code = checker.run(paths)
    if results is not None:
        results.save()
        if results.complete(checker.summary.files) and len(paths) == checker.summary.files:
            _qualify(results, options)
    return code


def _qualify(results: ResultCache, options: CheckOptions) -> None:
    """Let the whole run be replayed (see :mod:`._replay`): every file it read was named
    on the command line, and each went through the result cache."""
    from fwcompat.rulepacks import config_key

    from ._replay import qualify

    configs = [options.config, *results.configs.values()]
    qualify(results.shas, [config_key(c) for c in configs])


def _result_cache(options: CheckOptions) -> ResultCache | None:
    """The result cache of this run: None with ``--no-cache``, ``--fix`` or ``--diff``
    (files change, or the diff is the output), or when the config has no fingerprint."""
    from fwcompat.rulepacks import cache_dir

    if options.fix or options.diff or cache_dir() is None:
        return None
    from ._result_cache import ResultCache

    fingerprint = ResultCache.fingerprint(options.config)
    if fingerprint is None:
        return None
    return ResultCache(f"{fingerprint} unsafe_fixes={options.unsafe_fixes}")


class RuleInfo:
    """A rule's name, title, doc and severity by code, for the reports (E90x included).
    What it describes it keeps in ``known`` (the result cache's, saved with it)."""

    def __init__(self, config: Config, known: dict[str, dict[str, Any]] | None = None) -> None:
        self.config = config
        self.known = {} if known is None else known

    def __call__(self, code: str) -> dict[str, Any]:
        found = self.known.get(code)
        if found is None:
            found = self.known[code] = self._describe(code)
        return dict(found)

    def _describe(self, code: str) -> dict[str, Any]:
        from fwcompat._check import list_rules

        from ._codes import CLI_RULES

        if code in CLI_RULES:
            return dict(CLI_RULES[code])
        for rule in list_rules(self.config):
            if rule.code == code:
                return {
                    "name": rule.name,
                    "title": rule.title,
                    "doc": rule.doc,
                    "severity": str(self.config.severity.get(code, rule.severity)),
                }
        return {}


def _selected(paths: list[str], resolver: Any, force_exclude: bool, skip: frozenset[str]) -> Any:
    from fwcompat.cli.sources.discover import discover

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
    from fwcompat.cli.sources.discover import WalkError

    from ._commands import display_name

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

    from fwcompat.cli.sources.discover import WalkError

    from ._commands import display_name

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


CHECK = Subcommand("check", CHECK_HELP, CHECK_DESCRIPTION, _check_arguments, _run)
NORMALIZE = Subcommand(
    "normalize",
    "print the normalized request(s) as JSON; diagnostics go to stderr",
    NORMALIZE_DESCRIPTION,
    _normalize_arguments,
    _run,
)
