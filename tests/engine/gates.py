"""The two halves of a shipped pack's body gate, as check() builds them: the request schema
and the merged "no rule can fire" schema of the rules it can translate (shared by the tests
that compare the fused gate with its halves and that check its shape)."""

from __future__ import annotations

from typing import Any

import fwcompat
from fwcompat._check import _prepared
from fwcompat.engine._interpreter import _when
from fwcompat.engine._prefilter import Untranslatable, merge, no_fire_schema
from fwcompat.engine._schema import CompiledSchema


def gate_halves(pack: str) -> tuple[CompiledSchema, Any]:
    """(the body scope's request schema, the merged no-fire schema of its rules) for ``pack``."""
    plan = _prepared(fwcompat.Config.from_dict({"pack": pack}))
    steps = plan.scopes["body"].steps
    schemas = [s.compiled.schema for s in steps if s.compiled.schema is not None]
    parts = []
    for index, step in enumerate(steps):
        compiled = step.compiled
        if compiled.schema is not None:
            continue
        try:
            tokens, absent = compiled.selector.tokens, compiled.matches_absent
            parts.append(no_fire_schema(tokens, _when(compiled), absent, plan.tables, index))
        except Untranslatable:
            pass
    return (schemas[0] if schemas else CompiledSchema(True)), merge(parts)
