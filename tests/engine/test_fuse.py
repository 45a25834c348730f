"""The fused gate holds on exactly the documents where the schema and the rules' "no rule
can fire" schema both hold (fwcompat/engine/_fuse.py), for every shipped pack."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings

import fwcompat
from fwcompat._check import _prepared
from fwcompat.engine._fuse import specialize
from tests.engine.gates import gate_halves
from tests.strategies import ANY_BODY

PACKS = ["fireworks", "fireworks-r4", "deepseek", "minimax"]
MODELS = {"deepseek": "deepseek-chat", "minimax": "MiniMax-M2"}


def _unfused(pack: str) -> tuple[Any, Any]:
    """The plan's fused gate, and the two checks it stands for, run one after the other."""
    scope = _prepared(fwcompat.Config.from_dict({"pack": pack})).scopes["body"]
    schema_half, rules_half = gate_halves(pack)
    rules = jsonschema_rs.validator_for(rules_half)
    schema = schema_half.gate()

    def separately(body: Any) -> bool:
        try:
            return bool(rules.is_valid(body)) and schema(body)
        except (ValueError, TypeError, OverflowError, RecursionError):
            return False

    return scope.gate, separately


GATES = {pack: _unfused(pack) for pack in PACKS}


@pytest.mark.parametrize("pack", PACKS)
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=ANY_BODY)
def test_the_fused_gate_is_the_schema_and_the_rules_together(pack: str, body: Any) -> None:
    fused, separately = GATES[pack]
    assert fused(body) == separately(body)


def test_specializing_for_a_type_decides_what_the_type_decides() -> None:
    kinds = {"type": {"enum": ["server_tool_use", "mcp_tool_use"]}}
    fires_on = {"not": {"allOf": [{"type": "object"}, {"required": ["type"], "properties": kinds}]}}
    assert specialize(fires_on, "text") is True
    assert specialize(fires_on, "server_tool_use") is False
    other_member = {"not": {"required": ["source"], "properties": {"source": {"const": 1}}}}
    assert specialize(other_member, "text") == other_member
    catch_all = {"additionalProperties": {"not": {}}, "properties": {"type": True, "text": True}}
    assert specialize(catch_all, "text") == catch_all  # "type" stays listed, not "additional"


def _bodies(model: str) -> list[Any]:
    """Valid requests with every kind of block, alone and with an extra member, at the
    top of a message and inside a tool result: where specialization decides."""
    source = {"type": "base64", "media_type": "image/png", "data": "AAAA"}
    kinds: list[dict[str, Any]] = [
        {"type": "text", "text": "t"},
        {"type": "image", "source": source},
        {"type": "document", "source": {"type": "url", "url": "https://x"}},
        {"type": "document", "source": {"type": "file", "file_id": "f"}},
        {"type": "thinking", "thinking": "t", "signature": "s"},
        {"type": "redacted_thinking", "data": "d"},
        {"type": "tool_use", "id": "i", "name": "n", "input": {}},
        {"type": "tool_result", "tool_use_id": "i", "content": "c"},
        {"type": "search_result", "source": "s", "title": "t", "content": []},
        {"type": "server_tool_use", "id": "i", "name": "web_search", "input": {}},
        {"type": "web_search_tool_result", "tool_use_id": "i", "content": []},
        {"type": "hologram"},
    ]
    out: list[Any] = []
    for block in kinds:
        for extra in ({}, {"caller": {"type": "direct"}}, {"zzz": 1}, {"cache_control": None}):
            shaped = {**block, **extra}
            result = {"type": "tool_result", "tool_use_id": "i", "content": [shaped]}
            for content in ([shaped], [result]):
                out.append(
                    {
                        "model": model,
                        "max_tokens": 8,
                        "messages": [{"role": "user", "content": content}],
                    }
                )
    return out


@pytest.mark.parametrize("pack", PACKS)
def test_the_fused_gate_agrees_on_every_kind_of_block(pack: str) -> None:
    fused, separately = GATES[pack]
    bodies = _bodies(MODELS.get(pack, "accounts/fireworks/models/kimi-k2p5"))
    verdicts = [separately(body) for body in bodies]
    assert any(verdicts) and not all(verdicts)  # both answers are exercised
    assert [fused(body) for body in bodies] == verdicts
