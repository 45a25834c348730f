"""The generated pages of the documentation site, from the shipped packs and the serve parser.

One module, so that the docs build (``docs/gen_ref.py``, run by mkdocs-gen-files) and a
future ``fwcompat matrix`` command share it:

- ``reference/index.md``: the packs;
- ``reference/<pack>/index.md``: a pack, its tables and its rules;
- ``reference/<pack>/<CODE>.md``: one rule, as ruff's rule pages: what it does, the
  provider's sentence, fix safety, the revision, the examples;
- ``matrix.md``: which pack does what with each part of a request;
- ``reference/serve-settings.md``: every ``fwcompat serve`` flag with its environment
  variable and ``[tool.fwcompat.serve]`` key.

Fields a pack may not have yet (``source_text``, ``source_date``, a rule's ``basis``) are
shown when present.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["matrix_markdown", "reference_pages", "serve_settings_markdown"]

_ROOT = "reference"


def reference_pages(packs: Iterable[str] | None = None) -> dict[str, str]:
    """Every generated page: path inside docs/ -> Markdown."""
    import fwcompat
    from fwcompat.rulepacks import load_pack

    names = sorted(packs) if packs is not None else sorted(p.name for p in fwcompat.packs())
    loaded = [load_pack(name) for name in names]
    pages = {f"{_ROOT}/index.md": _index(loaded)}
    for pack in loaded:
        pages[f"{_ROOT}/{pack.name}/index.md"] = _pack_page(pack)
        for compiled in pack.rules:
            rule = compiled.rule
            pages[f"{_ROOT}/{pack.name}/{rule.code}.md"] = _rule_page(pack, rule)
    pages["matrix.md"] = matrix_markdown(loaded)
    pages[f"{_ROOT}/serve-settings.md"] = serve_settings_markdown()
    return pages


def _cell(text: Any) -> str:
    """Text fit for a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


def _source_line(pack: Any) -> str:
    parts = [f"[{pack.source}]({pack.source})" if pack.source else "not given"]
    date = getattr(pack, "source_date", "")
    if date:
        parts.append(f"as of {date}")
    text = getattr(pack, "source_text", "")
    if text:
        parts.append(f"the text the rules quote is kept in the pack as `{os.path.basename(text)}`")
    return ", ".join(parts)


def _fix(rule: Any) -> str:
    if rule.fix:
        return f"{rule.fix} (`--fix` applies it)" if rule.fix == "safe" else "unsafe"
    return "none" if rule.action in ("reject", "note") else "none given"


def _index(packs: list[Any]) -> str:
    lines = [
        "# Rule reference",
        "",
        "Generated from the shipped rule packs (`rules/<pack>/`): one page per pack, one per rule.",
        "`fwcompat packs` and `fwcompat rules --pack NAME` print the same data; "
        "`fwcompat explain CODE` one rule.",
        "",
        "| pack | provider | revision | rules | extends |",
        "|---|---|---|---:|---|",
    ]
    for pack in packs:
        lines.append(
            f"| [`{pack.name}`]({pack.name}/index.md) | {_cell(pack.provider)} "
            f"| {_cell(pack.revision)} | {len(pack.rules)} | {_code(pack.extends or '')} |"
        )
    lines += ["", "See also the [compatibility matrix](../matrix.md).", ""]
    return "\n".join(lines)


def _pack_page(pack: Any) -> str:
    lines = [
        f"# Pack `{pack.name}`",
        "",
        f"{pack.title}.",
        "",
        "| | |",
        "|---|---|",
        f"| provider | {_cell(pack.provider)} |",
        f"| endpoint | `{pack.endpoint}` |",
        f"| source | {_source_line(pack)} |",
        f"| revision | {_cell(pack.revision)} |",
    ]
    if pack.extends:
        lines.append(f"| extends | [`{pack.extends}`](../{pack.extends}/index.md) |")
    lines += [
        "",
        f'Use it with `--pack {pack.name}`, `pack = "{pack.name}"` in `[tool.fwcompat]` or '
        f'`config={{"pack": "{pack.name}"}}`.',
        "",
        "## Rules",
        "",
    ]
    with_basis = any(getattr(c.rule, "basis", "") for c in pack.rules)
    header = "| code | rule | severity | action | fix | title |"
    rule_line = "|---|---|---|---|---|---|"
    if with_basis:
        header += " basis |"
        rule_line += "---|"
    lines += [header, rule_line]
    for compiled in pack.rules:
        rule = compiled.rule
        fix = (rule.fix or "") + (" (opt-in)" if rule.opt_in else "")
        row = (
            f"| [{rule.code}]({rule.code}.md) | `{rule.name}` | {rule.severity} | {rule.action} "
            f"| {fix.strip()} | {_cell(rule.title)} |"
        )
        if with_basis:
            row += f" {getattr(rule, 'basis', '')} |"
        lines.append(row)
    if pack.retired:
        lines += ["", "## Retired codes", "", "Never reused.", ""]
        lines += [f"- {code}: {_cell(why)}" for code, why in sorted(pack.retired.items())]
    if pack.tables:
        lines += ["", "## Config tables", ""]
        lines += ["| table | what it maps | defaults |", "|---|---|---|"]
        for name, spec in pack.tables.items():
            defaults = pack.table_defaults.get(name) or {}
            shown = f"`{json.dumps(defaults)}`" if defaults else ""
            lines.append(f"| `{name}` | {_cell(spec.get('description', ''))} | {shown} |")
    lines.append("")
    return "\n".join(lines)


def _rule_page(pack: Any, rule: Any) -> str:
    lines = [
        f"# {rule.code} {rule.name}",
        "",
        f"**{rule.title}.** Pack [`{pack.name}`](index.md).",
        "",
        "| | |",
        "|---|---|",
        f"| severity | {rule.severity} |",
        f"| action | {rule.action} |",
        f"| fix | {_fix(rule)} |",
        f"| applies to | {rule.scope} {_code(rule.path)} |",
    ]
    if rule.opt_in:
        lines.append(f"| opt-in | yes: runs only with `--extend-select {rule.code}` |")
    basis = getattr(rule, "basis", "")
    if basis:
        lines.append(f"| basis | {basis} |")
    lines.append(f"| revision | {_cell(rule.revision or pack.revision)} |")
    date = getattr(rule, "source_date", "") or getattr(pack, "source_date", "")
    if date:
        lines.append(f"| source date | {date} |")
    lines.append(f"| source | {_source_line(pack)} |")
    if rule.source:
        lines.append(f"| defined in | `{_relative_source(rule.source)}` |")
    lines += ["", "## What the provider's page says", ""]
    lines += [f"> {line}" if line else ">" for line in rule.doc.splitlines()] or ["> (none)"]
    lines += ["", "## Message", "", f"`{rule.message}`", ""]
    if rule.examples:
        lines += ["## Examples", ""]
        for example in rule.examples:
            lines += _example(example)
    return "\n".join(lines)


def _relative_source(path: str) -> str:
    """``rules/fireworks/40-fields.yaml``, wherever the package is installed."""
    parts = os.path.normpath(path).split(os.sep)
    if "rules" in parts:
        return "/".join(parts[len(parts) - 1 - parts[::-1].index("rules") :])
    return os.path.basename(path)


def _example(example: Mapping[str, Any]) -> list[str]:
    lines = [f"### {example.get('name', 'example')}", ""]
    for key in ("base_url", "path"):
        if key in example:
            lines += [f"{key}: `{json.dumps(example[key])}`", ""]
    if "headers" in example:
        lines += ["Headers:", "", "```json", json.dumps(example["headers"], indent=2), "```", ""]
    if "body" in example:
        lines += ["Request:", "", "```json", json.dumps(example["body"], indent=2), "```", ""]
    expect = example.get("expect")
    if expect is not None:
        if expect:
            lines.append("Diagnostics:")
            lines.append("")
            for item in expect:
                detail = ", ".join(f"{k} {v}" for k, v in item.items() if k not in ("code", "path"))
                where = f" at `{item['path']}`" if "path" in item else ""
                suffix = f" ({detail})" if detail else ""
                lines.append(f"- {item.get('code', '')}{where}{suffix}")
            lines.append("")
        else:
            lines += ["No diagnostic.", ""]
    if "normalized" in example:
        normalized = json.dumps(example["normalized"], indent=2)
        lines += ["Normalized request:", "", "```json", normalized, "```", ""]
    return lines


def matrix_markdown(packs: list[Any] | None = None) -> str:
    """Provider by feature: what each pack does with each part of a request it has rules on."""
    if packs is None:
        import fwcompat
        from fwcompat.rulepacks import load_pack

        packs = [load_pack(p.name) for p in sorted(fwcompat.packs(), key=lambda p: p.name)]
    rows: dict[tuple[str, str], dict[str, list[str]]] = {}
    for pack in packs:
        for compiled in pack.rules:
            rule = compiled.rule
            key = (rule.scope, rule.path or "(whole " + rule.scope + ")")
            cell = rows.setdefault(key, {}).setdefault(pack.name, [])
            opt = " (opt-in)" if rule.opt_in else ""
            link = f"{_ROOT}/{pack.name}/{rule.code}.md"
            cell.append(f"[{rule.code}]({link}) {rule.past_action}{opt}: {_cell(rule.title)}")
    names = [pack.name for pack in packs]
    lines = [
        "# Compatibility matrix",
        "",
        "What each pack does with each part of a request it has a rule for, generated from the "
        "packs: each cell names the rules, what they do when their case occurs, and their title. "
        "*removed* and *replaced* come with a fix; *rejected* means the provider refuses such a "
        "request; *noted* passes with a diagnostic. An empty cell means the pack has no rule "
        "on that part: it passes unchanged (a catch-all rule such as unknown top-level fields "
        "may still cover it).",
        "",
        "| scope | path | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    order = {"url": 0, "headers": 1, "body": 2}
    for scope, path in sorted(rows, key=lambda k: (order.get(k[0], 3), k[1])):
        cells = rows[scope, path]
        shown = " | ".join("<br>".join(cells.get(n, [])) for n in names)
        lines.append(f"| {scope} | `{_cell(path)}` | {shown} |")
    lines.append("")
    return "\n".join(lines)


def serve_settings_markdown() -> str:
    """Every ``fwcompat serve`` flag: environment variable, file key, default, help."""
    import argparse

    from fwcompat.cli import build_parser
    from fwcompat.serve._settings import LAYERS_DEST, env_name, file_key

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    serve = sub.choices["serve"]
    layers = serve.get_default(LAYERS_DEST)
    lines = [
        "# fwcompat serve settings",
        "",
        "Every flag of `fwcompat serve` can also be set by an environment variable and by a key "
        "of `[tool.fwcompat.serve]` in `pyproject.toml` (`[serve]` in a TOML file given with "
        "`--config`). A flag wins over the environment, the environment over the file, the file "
        "over the default; `fwcompat serve --show-settings` prints each value and where it came "
        "from. A boolean is `true`/`false` (`1`/`0`, `yes`/`no` in the environment); a "
        "repeatable flag takes a TOML list, or a comma-separated variable.",
        "",
        "| flag | environment variable | file key | default | meaning |",
        "|---|---|---|---|---|",
    ]
    from fwcompat.serve._settings import NOT_IN_FILE

    for action in layers.actions:
        flag = max(action.option_strings, key=len)
        default = layers.defaults[action.dest]
        shown = "" if default in (None, False) else f"`{json.dumps(default)}`"
        key = "" if action.dest in NOT_IN_FILE else f"`{file_key(action)}`"
        help_text = _cell((action.help or "").replace("%%", "%"))
        lines.append(f"| `{flag}` | `{env_name(action)}` | {key} | {shown} | {help_text} |")
    lines.append("")
    return "\n".join(lines)
