"""The one entry point every front end calls: :func:`check`."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from ._config import _DEFAULT, Config, coerce_config
from ._diagnostics import Result
from ._exceptions import IncompatibleRequestError
from .engine._interpreter import Plan, run_plan
from .engine._model import Rule
from .rulepacks._examples import check_rule_file_examples
from .rulepacks._packs import plan_for_config

__all__ = ["check", "list_rules", "normalize", "prepare"]

ConfigLike = Config | Mapping[str, Any] | None


@lru_cache(maxsize=64)
def _prepared(config: Config) -> Plan:
    """Load the pack for a config and validate the config against it."""
    plan = plan_for_config(config)
    check_rule_file_examples(plan)
    return plan


def prepare(config: Config) -> None:
    """Prepare a config's plan now (it is cached for :func:`check`): a bad pack, code,
    table or rule file raises here, where a front end can name the flag or file."""
    _prepared(config)


_recent: dict[int, tuple[Config, Plan]] = {}
_default_plan: Plan | None = None
"""The default config's plan, once prepared: ``check(body)`` looks nothing up."""


def _plan_for(config: ConfigLike) -> Plan:
    """The plan of a config; the same Config object (a gateway's, or the default) is
    looked up by identity, without hashing its fields on every request."""
    global _default_plan
    if config is None:
        _default_plan = _default_plan or _prepared(_DEFAULT)
        return _default_plan
    entry = _recent.get(id(config))
    if entry is not None and entry[0] is config:
        return entry[1]
    plan = _prepared(coerce_config(config))
    if isinstance(config, Config):
        if len(_recent) >= 64:
            _recent.clear()
        _recent[id(config)] = (config, plan)  # the strong reference keeps the id unique
    return plan


def check(
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
    base_url: str | None = None,
    path: str | None = None,
    config: ConfigLike = None,
) -> Result:
    """Check one Anthropic Messages request and return it normalized, with diagnostics.

    Pure: the arguments are never mutated; only the containers along a
    changed path are copied. Never raises for a request, whatever its shape:
    problems are error diagnostics. Raises :class:`~fwcompat.ConfigError` or
    :class:`~fwcompat.RuleFileError` for bad configuration.
    """
    plan = _default_plan if config is None else None
    if plan is None:
        plan = _plan_for(config)
    return run_plan(plan, body=body, headers=headers, base_url=base_url, path=path)


def normalize(
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
    base_url: str | None = None,
    path: str | None = None,
    config: ConfigLike = None,
) -> Any:
    """The normalized body, or :class:`~fwcompat.IncompatibleRequestError` if any error remains."""
    result = check(body, headers=headers, base_url=base_url, path=path, config=config)
    if not result.ok:
        raise IncompatibleRequestError(result.diagnostics)
    return result.request


def list_rules(config: ConfigLike = None) -> tuple[Rule, ...]:
    """Every rule of the configured pack (plus extra rule files), in the order they run.

    An opt-in rule is listed only when the config selects it by its full code.
    """
    config = coerce_config(config)
    chosen = {*config.select, *config.extend_select}
    return tuple(
        r.rule for r in _prepared(config).pack.rules if not r.rule.opt_in or r.rule.code in chosen
    )
