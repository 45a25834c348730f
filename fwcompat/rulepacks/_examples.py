"""Running the examples of rules: the shipped packs' tests, ``fwcompat test-rules``,
and the check that a user's rule files say what they do.

An example gives a request (``body``, ``headers``, ``base_url``, ``path``), an
optional ``config``, the diagnostics it must yield (``expect``: code and path, in
order, optionally severity and action) and, for changes, the ``normalized`` body.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fwcompat._config import coerce_config
from fwcompat._diagnostics import Result
from fwcompat._exceptions import ConfigError, RuleFileError
from fwcompat.engine._interpreter import Plan, run_plan
from fwcompat.engine._model import Pack, Rule

from ._packs import plan_for_config

__all__ = ["Outcome", "check_rule_file_examples", "iter_outcomes", "own_rules", "run_example"]


@dataclass
class Outcome:
    """One example's result, and what differs from what it expects (empty: it passed)."""

    rule: Rule
    example: Mapping[str, Any]
    result: Result | None = None
    problems: list[str] = field(default_factory=list)


def own_rules(pack: Pack) -> list[Rule]:
    """The rules a pack defines in its own folder (not those it inherits unchanged)."""
    return [r.rule for r in pack.rules if os.path.dirname(r.rule.source) == pack.folder]


def _config_for(
    where: str | None, example: Mapping[str, Any], rule_files: tuple[str, ...] = ()
) -> dict[str, Any]:
    config: dict[str, Any] = dict(example.get("config") or {})
    if where is not None and "pack" not in config and "pack_dir" not in config:
        if os.sep in where or "/" in where:
            config["pack_dir"] = where
        else:
            config["pack"] = where
    if rule_files:
        config["rule_files"] = [*config.get("rule_files", []), *rule_files]
    return config


def run_example(
    pack: str | None, rule: Rule, example: Mapping[str, Any], rule_files: tuple[str, ...] = ()
) -> Outcome:
    """Run one example under ``pack`` (a shipped name or a folder) plus ``rule_files``."""
    outcome = Outcome(rule, example)
    try:
        plan = plan_for_config(coerce_config(_config_for(pack, example, rule_files)))
    except (ConfigError, RuleFileError) as exc:
        outcome.problems.append(f"its config cannot be used: {exc}")
        return outcome
    outcome.result = result = run_plan(
        plan,
        body=example.get("body"),
        headers=example.get("headers"),
        base_url=example.get("base_url"),
        path=example.get("path"),
    )
    got = [(d.code, d.path) for d in result.diagnostics]
    want = [(e.get("code"), e.get("path")) for e in example.get("expect") or ()]
    if got != want:
        outcome.problems.append(f"expected {_pairs(want)}, got {_pairs(got)}")
    else:
        for diag, expected in zip(result.diagnostics, example.get("expect") or (), strict=True):
            for key in ("severity", "action"):
                if key in expected and str(getattr(diag, key)) != expected[key]:
                    outcome.problems.append(
                        f"{diag.code} at {diag.path or '/'}: expected {key} {expected[key]}, "
                        f"got {getattr(diag, key)}"
                    )
    if "normalized" in example and result.request != example["normalized"]:
        outcome.problems.append("the normalized request differs from `normalized`")
    return outcome


def _pairs(pairs: list[tuple[Any, Any]]) -> str:
    if not pairs:
        return "no diagnostic"
    return ", ".join(f"{code} at {path or '/'}" for code, path in pairs)


def iter_outcomes(
    pack: str | None, rules: list[Rule], rule_files: tuple[str, ...] = ()
) -> Iterator[Outcome]:
    for rule in rules:
        for example in rule.examples:
            yield run_example(pack, rule, example, rule_files)


def check_rule_file_examples(plan: Plan) -> None:
    """Run the examples of the config's own rule files once, when they are loaded: a rule
    file whose examples fail is refused (a RuleFileError naming the rule and example)."""
    pack, config = plan.pack, plan.config
    if not config.rule_files:
        return
    files = set(config.rule_files)
    rules = [r.rule for r in pack.rules if r.rule.source in files]
    where = config.pack_dir if config.pack_dir is not None else config.pack
    for outcome in iter_outcomes(where, rules, tuple(config.rule_files)):
        if outcome.problems:
            raise RuleFileError(
                f"example {outcome.example.get('name')!r} fails: {outcome.problems[0]}",
                file=outcome.rule.source,
                rule=outcome.rule.code,
                field="examples",
            )
