"""``fwcompat rules`` and ``fwcompat explain CODE``."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fwcompat._config import Config
from fwcompat.settings.command_line import load_config
from fwcompat.settings.options import config_options
from fwcompat.settings.subcommand import Subcommand

if TYPE_CHECKING:
    from fwcompat.engine import Rule

__all__ = ["EXPLAIN", "RULES", "explain", "rules_table"]

_WHAT = {
    "remove": "removes the member",
    "replace": "replaces the value",
    "reject": "rejects the request (nothing is changed; the request must be fixed by hand)",
    "note": "notes it and changes nothing",
}


_FIXES = (
    "A safe fix changes nothing the caller asked for: it drops a field the provider ignores "
    "or does not support anyway (service_tier, speed, tool cache_control, "
    "eager_input_streaming...), or writes down what the provider runs (effort max as high). "
    "It applies by default (`--fix` writes it into files).",
    "An unsafe fix changes the answer: dropping or rewriting structured output "
    "(output_format, output_config.format), compaction, deferred tool loading (defer_loading), "
    "allowed_callers, thread, thinking, effort or the model. It applies only when the caller "
    "opts in: `--unsafe-fixes`, `Config(unsafe_fixes=True)`, an opt-in rule the config "
    "selects, or a model_map / effort_map entry the config fills. Otherwise the finding is an "
    "error and the request is not changed.",
)

_BASIS = {
    "documented": "Documented by the provider (verbatim in the pack's source text):",
    "code": "Shown by the provider's server code (verbatim in the pack's source text):",
    "inferred": (
        "Inferred: no sentence of the provider's documentation says this, so the rule only "
        "warns. Its reading:"
    ),
}


def _severity(rule: Rule, config: Config) -> str:
    return str(config.severity.get(rule.code, rule.severity))


def _rule_dict(rule: Rule, config: Config) -> dict[str, Any]:
    return {
        "code": rule.code,
        "name": rule.name,
        "title": rule.title,
        "doc": rule.doc,
        "scope": rule.scope,
        "path": rule.path,
        "severity": _severity(rule, config),
        "default_severity": str(rule.severity),
        "action": rule.action,
        "fix": rule.fix,
        "message": rule.message,
        "enabled": config.enabled(rule.code),
        "examples": [dict(e) for e in rule.examples],
        "source": rule.source,
        "basis": rule.basis,
        "pack": rule.pack,
        "revision": rule.revision,
        "source_date": rule.source_date,
    }


def rules_table(config: Config, fmt: str) -> int:
    from fwcompat._check import list_rules  # here: `fwcompat --help` never loads the engine

    rules = list_rules(config)
    if fmt == "json":
        data = [_rule_dict(r, config) for r in rules]
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
        return 0
    rows = [("CODE", "SEVERITY", "ACTION", "FIX", "BASIS", "TITLE")]
    for r in rules:
        code = r.code if config.enabled(r.code) else f"{r.code}-"
        rows.append((code, _severity(r, config), r.action, r.fix or "", r.basis, r.title))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:5])]
        sys.stdout.write("  ".join([*cells, row[5]]).rstrip() + "\n")
    disabled = sum(1 for r in rules if not config.enabled(r.code))
    tail = f" ({disabled} disabled by select/ignore, marked -)" if disabled else ""
    revision = f" Pack {rules[0].pack}, revision {rules[0].revision}." if rules else ""
    sys.stdout.write(
        f"\n{len(rules)} rules{tail}.{revision} `fwcompat explain CODE` shows one in full.\n"
    )
    return 0


def _cli_rules() -> dict[str, dict[str, str]]:
    from ._codes import CLI_RULES

    return CLI_RULES


def _find(rules: tuple[Rule, ...], code: str) -> Rule | None:
    wanted = code.strip()
    for rule in rules:
        if rule.code.upper() == wanted.upper() or rule.name == wanted:
            return rule
    return None


def _example_text(example: Mapping[str, Any]) -> str:
    lines = [f"  - {example.get('name', 'example')}"]
    for key in ("base_url", "path", "headers", "config", "body"):
        if key in example:
            value = json.dumps(example[key], ensure_ascii=False, default=str)
            lines.append(f"      {key}: {value}")
    expect = example.get("expect") or []
    if expect:
        found = ", ".join(
            f"{e.get('code')} at {e.get('path') or '/'}" for e in expect if isinstance(e, Mapping)
        )
        lines.append(f"      gives: {found}")
    else:
        lines.append("      gives: no diagnostic")
    if "normalized" in example:
        value = json.dumps(example["normalized"], ensure_ascii=False, default=str)
        lines.append(f"      normalized: {value}")
    return "\n".join(lines)


def explain(config: Config, code: str, fmt: str) -> int:
    from fwcompat._check import list_rules  # here: `fwcompat --help` never loads the engine

    rules = list_rules(config)
    rule = _find(rules, code)
    wanted = code.strip().upper()
    if rule is None and wanted not in _cli_rules():  # an opt-in rule, by code
        from fwcompat.rulepacks import load_pack

        pack = load_pack(config.pack, config.rule_files, config.pack_dir)
        rule = _find(tuple(r.rule for r in pack.rules if r.rule.opt_in), code)
    if rule is None and wanted in _cli_rules():
        sys.stdout.write(_cli_rule_text(wanted, fmt))
        return 0
    if rule is None:
        sys.stderr.write(f"fwcompat: error: no rule {code!r}; `fwcompat rules` lists the codes\n")
        return 2
    if fmt == "json":
        data = _rule_dict(rule, config)
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
        return 0
    sys.stdout.write(_rule_text(rule, config))
    return 0


def _cli_rule_text(code: str, fmt: str) -> str:
    """One of the command line's own codes (E90x) explained."""
    info = _cli_rules()[code]
    if fmt == "json":
        data = {"code": code, **info, "action": "reject", "fix": None}
        return json.dumps(data, indent=2) + "\n"
    from ._codes import FAILURES

    exit_code = (
        "it always makes the exit code 2"
        if code in FAILURES
        else "it is an error: the exit code is 1"
    )
    return (
        f"{code} {info['name']}: {info['title']}\n\n"
        "Reported by the fwcompat command line itself, not by a rule of the pack; "
        f"{exit_code}.\n"
    )


def _rule_text(rule: Rule, config: Config) -> str:
    """One rule in full, as text: what, why, what it does, its message and examples."""
    fix = {
        "safe": "a safe fix (`fwcompat check --fix`)",
        "unsafe": "an unsafe fix (`fwcompat check --fix --unsafe-fixes`)",
        None: "no automatic fix",
    }[rule.fix]
    if rule.fix == "unsafe" and not rule.opt_in:
        fix += "; without that opt-in the finding is an error and the request is left unchanged"
    where = rule.path or "/"
    if rule.scope != "body":
        where = f"{rule.scope}:{where}"
    wrap = textwrap.TextWrapper(width=88, initial_indent="  ", subsequent_indent="  ")
    parts = [
        f"{rule.code} {rule.name}: {rule.title}",
        "",
        _BASIS[rule.basis],
        wrap.fill(rule.doc),
        wrap.fill(
            f"(pack {rule.pack}, revision {rule.revision}; source text {rule.source_date}; "
            f"basis: {rule.basis})"
        ),
        "",
        "What it does:",
        wrap.fill(
            f"At {where}, fwcompat {_WHAT.get(rule.action, rule.action)}; severity "
            f"{_severity(rule, config)}; {fix}."
        ),
        "",
        "Message:",
        wrap.fill(rule.message),
    ]
    if rule.fix is not None:
        parts += ["", "Safe and unsafe fixes:", wrap.fill(_FIXES[0]), "", wrap.fill(_FIXES[1])]
    if rule.examples:
        parts += ["", "Examples:", *(_example_text(e) for e in rule.examples)]
    parts += ["", f"Defined in {rule.source}"]
    return "\n".join(parts) + "\n"


def _rules_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=("text", "json", "markdown"),
        default="text",
        help="output format (default: text; markdown: the table the README shows)",
    )
    config_options(parser)


def _run_rules(args: argparse.Namespace) -> int:
    config = load_config(args)
    _replayable(args, config)
    if args.format == "markdown":
        from ._packs import rules_markdown

        sys.stdout.write(rules_markdown(config))
        return 0
    return rules_table(config, args.format)


def _replayable(args: argparse.Namespace, config: Config) -> None:
    """The output depends on the config and its pack's files only: the same command line
    may be replayed while they are unchanged (see :mod:`._replay`)."""
    from fwcompat.rulepacks import config_key

    from ._replay import qualify

    qualify({}, [config_key(config)])


def _explain_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("code", metavar="CODE", help="a rule code such as FW601, or its name")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    config_options(parser)


def _run_explain(args: argparse.Namespace) -> int:
    config = load_config(args)
    _replayable(args, config)
    return explain(config, args.code, args.format)


RULES = Subcommand(
    "rules",
    "list every rule: code, severity, action, fix, title",
    "List every rule of the pack (and extra rule files) in a table.",
    _rules_arguments,
    _run_rules,
)
EXPLAIN = Subcommand(
    "explain",
    "explain one rule: what, why, and its examples",
    "Explain one rule in full: what it matches, why, what it does, examples.",
    _explain_arguments,
    _run_explain,
)
