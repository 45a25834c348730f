"""Rule packs: reading rule files, composing packs (``extends:``), their sources and examples.

This layer turns the YAML in ``rules/`` into compiled packs for the engine below it,
and caches validated rule files as data (never code) keyed on their content.

The names are imported on first use (PEP 562): the cache functions (``config_fingerprint``,
``cache_dir``...) load neither the engine nor jsonschema-rs, so a command answered
from the cache never pays for them.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself is not imported (start-up time)
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

    from fwcompat.rulepacks._cache import (
        cache_dir,
        code_stamp,
        config_fingerprint,
        config_key,
        digest,
        file_sha,
        forget,
        verified_inputs,
    )
    from fwcompat.rulepacks._cache import get as cache_get
    from fwcompat.rulepacks._cache import put as cache_put
    from fwcompat.rulepacks._examples import iter_outcomes, own_rules
    from fwcompat.rulepacks._packs import load_pack, packs, remember_config
    from fwcompat.rulepacks._resources import schemas_dir
    from fwcompat.rulepacks._rules import load_validated

__all__ = [
    "cache_dir",
    "cache_get",
    "cache_put",
    "code_stamp",
    "config_fingerprint",
    "config_key",
    "digest",
    "file_sha",
    "forget",
    "iter_outcomes",
    "load_pack",
    "load_validated",
    "own_rules",
    "packs",
    "remember_config",
    "schemas_dir",
    "verified_inputs",
]

_WHERE = {
    "cache_dir": ("_cache", "cache_dir"),
    "cache_get": ("_cache", "get"),
    "cache_put": ("_cache", "put"),
    "code_stamp": ("_cache", "code_stamp"),
    "config_fingerprint": ("_cache", "config_fingerprint"),
    "digest": ("_cache", "digest"),
    "file_sha": ("_cache", "file_sha"),
    "forget": ("_cache", "forget"),
    "verified_inputs": ("_cache", "verified_inputs"),
    "config_key": ("_cache", "config_key"),
    "iter_outcomes": ("_examples", "iter_outcomes"),
    "own_rules": ("_examples", "own_rules"),
    "load_pack": ("_packs", "load_pack"),
    "packs": ("_packs", "packs"),
    "remember_config": ("_packs", "remember_config"),
    "schemas_dir": ("_resources", "schemas_dir"),
    "load_validated": ("_rules", "load_validated"),
}


def _module(name: str) -> ModuleType:
    """One of this package's modules, imported by a plain statement (so the import graph
    that ``lint-imports`` checks still sees it)."""
    if name == "_cache":
        from fwcompat.rulepacks import _cache

        return _cache
    if name == "_examples":
        from fwcompat.rulepacks import _examples

        return _examples
    if name == "_packs":
        from fwcompat.rulepacks import _packs

        return _packs
    if name == "_resources":
        from fwcompat.rulepacks import _resources

        return _resources
    from fwcompat.rulepacks import _rules

    return _rules


def __getattr__(name: str) -> Any:
    """Import a public name on first use (see the module's docstring)."""
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'fwcompat.rulepacks' has no attribute {name!r}")
    value = getattr(_module(where[0]), where[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
