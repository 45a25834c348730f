"""``fwcompat sources check PACK FILE``: follow a provider's documentation as it changes.

Given a newer copy of the page a pack encodes, it lists

- the pack's documented rules whose quoted ``doc:`` sentence is no longer in the new
  text (each such rule stands on a sentence the provider no longer says), and
- the sentences of the new text that no rule quotes, new ones first (a sentence that is
  also in the pack's own source text is "unchanged" and shown only with ``--all``).

Texts are read as the pack's source text is: lines starting with ``# `` are a header and
left out, and runs of whitespace are collapsed. Rules from server code (``basis: code``)
and inferred rules are not checked against a documentation page; their count is reported.

Exit codes: 0 nothing changed, 1 a quoted sentence is gone or a new sentence is unquoted,
2 the pack or the file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fwcompat.settings.subcommand import Subcommand

__all__ = ["SOURCES", "SourcesReport", "compare", "page_sentences"]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
_LETTER = re.compile(r"[^\W\d_]")


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _text_lines(text: str) -> list[str]:
    """The lines of a source text, without its ``# `` header lines."""
    return [line for line in text.splitlines() if not line.startswith("# ")]


def page_sentences(text: str) -> list[str]:
    """The sentences of a page, in order and without repeats: each line is split after
    ``.``, ``!`` or ``?``; pieces with no letter (code fences, table rules) are left out."""
    seen: set[str] = set()
    out: list[str] = []
    for line in _text_lines(text):
        for piece in _SENTENCE_END.split(line.strip()):
            sentence = _collapse(piece)
            if sentence and _LETTER.search(sentence) and sentence not in seen:
                seen.add(sentence)
                out.append(sentence)
    return out


@dataclass(frozen=True)
class StaleRule:
    code: str
    name: str
    doc: str
    source: str


@dataclass
class SourcesReport:
    """What changed between a pack's source text and a newer copy of the page."""

    pack: str
    file: str
    stale: list[StaleRule] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    """Sentences of the new text that no rule quotes and the old text does not hold."""
    unchanged: list[str] = field(default_factory=list)
    """Sentences no rule quotes that the old text holds too."""
    checked: int = 0
    """Documented rules checked."""
    not_checked: dict[str, int] = field(default_factory=dict)
    """Rules not checked, by basis (code, inferred)."""

    @property
    def changed(self) -> bool:
        return bool(self.stale or self.new)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pack": self.pack,
            "file": self.file,
            "stale": [vars(s) for s in self.stale],
            "new": self.new,
            "unchanged": self.unchanged,
            "checked": self.checked,
            "not_checked": self.not_checked,
        }


def _quoted(sentence: str, docs: Iterable[str]) -> bool:
    return any(doc in sentence or sentence in doc for doc in docs)


def compare(pack: str, new_text: str, *, file: str = "") -> SourcesReport:
    """Compare the rules and source text of ``pack`` (a shipped name or a pack folder)
    with ``new_text``, a newer copy of the provider's page."""
    from fwcompat.rulepacks import load_pack, own_rules

    is_folder = os.sep in pack or os.path.isfile(os.path.join(pack, "pack.yaml"))
    folder = os.path.abspath(pack) if is_folder else None
    loaded = load_pack(pack if folder is None else "fireworks", (), folder)
    report = SourcesReport(pack=loaded.name, file=file)
    old_text = ""
    if loaded.source_text:
        with open(loaded.source_text, encoding="utf-8") as handle:
            old_text = _collapse(" ".join(_text_lines(handle.read())))
    new_collapsed = _collapse(" ".join(_text_lines(new_text)))
    docs: list[str] = []
    for rule in own_rules(loaded):
        if rule.basis != "documented":
            report.not_checked[rule.basis] = report.not_checked.get(rule.basis, 0) + 1
            continue
        report.checked += 1
        doc = _collapse(rule.doc)
        docs.append(doc)
        if doc not in new_collapsed:
            report.stale.append(StaleRule(rule.code, rule.name, rule.doc, rule.source))
    for sentence in page_sentences(new_text):
        if _quoted(sentence, docs):
            continue
        (report.unchanged if sentence in old_text else report.new).append(sentence)
    return report


def render_text(report: SourcesReport, *, show_all: bool) -> str:
    lines = [f"{report.pack}: {report.checked} documented rules checked against {report.file}"]
    skipped = ", ".join(f"{n} {basis}" for basis, n in sorted(report.not_checked.items()))
    if skipped:
        lines.append(f"  not checked (not from this page): {skipped}")
    lines.append("")
    lines.append(f"Rules whose quoted sentence is not in the new text ({len(report.stale)}):")
    by_doc: dict[str, list[str]] = {}
    for stale in report.stale:
        by_doc.setdefault(_collapse(stale.doc), []).append(stale.code)
    for doc, codes in by_doc.items():
        lines.append(f"  {', '.join(codes)}: {doc!r}")
    if not report.stale:
        lines.append("  none")
    lines.append("")
    hidden = "" if show_all else f"; {len(report.unchanged)} unchanged, shown with --all"
    lines.append(f"Sentences of the new text that no rule quotes ({len(report.new)} new{hidden}):")
    for sentence in report.new:
        lines.append(f"  + {sentence}")
    if show_all:
        for sentence in report.unchanged:
            lines.append(f"    {sentence}")
    if not report.new and not (show_all and report.unchanged):
        lines.append("  none")
    return "\n".join(lines) + "\n"


def _sources_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(
        dest="sources_command",
        metavar="ACTION",
        required=True,
        help="check: compare a pack with a newer copy of its provider's page",
    )
    check = actions.add_parser(
        "check",
        help="list rules whose quoted sentence is gone, and new sentences no rule quotes",
        description="Compare the documented rules of PACK with FILE, a newer copy of the page "
        "the pack encodes (lines starting with '# ' are a header and left out).",
    )
    check.add_argument("pack", metavar="PACK", help="a shipped pack name or a pack folder")
    check.add_argument("file", metavar="FILE", help="the newer copy of the provider's page")
    check.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    check.add_argument(
        "--all",
        dest="show_all",
        action="store_true",
        help="also list the unquoted sentences the pack's own source text holds",
    )


def _run_sources(args: argparse.Namespace) -> int:
    from fwcompat._exceptions import FwcompatError

    try:
        with open(args.file, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        sys.stderr.write(f"fwcompat: error: cannot read {args.file}: {exc}\n")
        return 2
    try:
        report = compare(args.pack, text, file=args.file)
    except FwcompatError as exc:
        sys.stderr.write(f"fwcompat: error: {exc}\n")
        return 2
    if args.format == "json":
        sys.stdout.write(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_text(report, show_all=args.show_all))
    return 1 if report.changed else 0


SOURCES = Subcommand(
    "sources",
    "compare a pack with a newer copy of its provider's documentation",
    "Work with the provider texts packs quote. `sources check PACK FILE` lists "
    "the rules whose quoted sentence is no longer in FILE (a newer copy of the provider's "
    "page) and the sentences of FILE that no rule quotes. Exit 1 when anything changed.",
    _sources_arguments,
    _run_sources,
)
