"""The value a ``replace`` rule writes: a constant, or a table entry, capped ``below`` a field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fwcompat.engine._conditions import Context, resolve
from fwcompat.engine._paths import MISSING

__all__ = ["computed_replacement"]


def computed_replacement(spec: Mapping[str, Any], value: Any, ctx: Context) -> Any:
    """The new value of a ``replace`` rule: a constant (``value``, an object of which
    ``members`` are computed), or a table entry keyed by the value itself or by another
    field (``key: /pointer``), else by ``default``."""
    if "from_tokens" in spec:
        return resolve(ctx.root, spec["from_tokens"])  # MISSING: the member is left out
    if "value" in spec:
        constant = spec["value"]
        members = spec.get("members")
        if not members:
            return _below(spec, constant, ctx)
        out = dict(constant)
        for name, sub in members.items():
            member = computed_replacement(sub, value, ctx)
            if member is not MISSING:
                out[name] = member
        return out
    table = ctx.tables.get(spec["table"], {})
    if "key_tokens" not in spec:
        return _below(spec, table[value], ctx)
    key = resolve(ctx.root, spec["key_tokens"])
    if not isinstance(key, str) or key not in table:
        key = spec["default"]
    return _below(spec, table[key], ctx)


def _below(spec: Mapping[str, Any], result: Any, ctx: Context) -> Any:
    """``below: /pointer`` caps a number under the number at that field (when there is
    one): a thinking budget stays under max_tokens."""
    if "below_tokens" not in spec:
        return result
    limit = resolve(ctx.root, spec["below_tokens"])
    numeric = (int, float)
    if (
        isinstance(result, numeric)
        and isinstance(limit, numeric)
        and not isinstance(limit, bool)
        and not isinstance(result, bool)
    ):
        return min(result, limit - 1)
    return result
