"""Every pack's outcome on real Claude Code requests (tests/fixtures/claude-code/), as snapshots.

The fixtures are requests Claude Code 2.1.197 really sent (``capture.py`` recorded and
masked them). For each fixture, pack and profile the outcome (``ok`` and each
diagnostic's code, scope, pointer, severity and action) must equal the committed
``expected.json``. After a deliberate change of the rules, regenerate it and review the
diff::

    FWCOMPAT_UPDATE_SNAPSHOTS=1 pytest tests/claude_code/test_fixtures_snapshot.py

Profiles: ``check`` is ``fwcompat check`` with a ``claude-*`` glob map; ``serve`` is what
``fwcompat serve`` applies by default (the pack's client translations, unsafe fixes on).
"""

from __future__ import annotations

import dataclasses
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import fwcompat
from fwcompat import Config
from fwcompat.serve._cli import opt_in_translations

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude-code"
EXPECTED = FIXTURES / "expected.json"
UPDATE = os.environ.get("FWCOMPAT_UPDATE_SNAPSHOTS") == "1"
NAMES = ("first-turn", "tool-result-turn", "title-request")
PACKS = tuple(p.name for p in fwcompat.packs())
PROFILES = ("check", "serve")
TARGETS = {
    "deepseek": "deepseek-v4-pro",
    "minimax": "MiniMax-M3",
    "ollama": "qwen3-coder",
    "vllm": "my-model",
    "sglang": "my-model",
}
"""The model each pack's glob map sends (Fireworks packs: Kimi K2.5)."""


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def config(pack: str, profile: str) -> Config:
    target = TARGETS.get(pack, "accounts/fireworks/models/kimi-k2p5")
    base = Config.from_dict({"pack": pack, "model_map": {"claude-*": target}})
    if profile == "check":
        return base
    translated = opt_in_translations(base, adaptive_thinking=True, xhigh=True, required=False)
    return dataclasses.replace(translated, unsafe_fixes=True)


def outcome(name: str, pack: str, profile: str) -> dict[str, Any]:
    data = fixture(name)
    endpoint = next(p.endpoint for p in fwcompat.packs() if p.name == pack)
    result = fwcompat.check(
        data["body"],
        headers=data["headers"],
        base_url=endpoint,
        path="/v1/messages",
        config=config(pack, profile),
    )
    return {
        "ok": result.ok,
        "diagnostics": [
            [d.code, d.scope, d.path, d.severity.value, d.action] for d in result.diagnostics
        ],
    }


@cache
def expected() -> dict[str, Any]:
    if UPDATE:
        snapshot = {
            name: {pack: {p: outcome(name, pack, p) for p in PROFILES} for pack in PACKS}
            for name in NAMES
        }
        EXPECTED.write_text(json.dumps(snapshot, indent=1) + "\n", encoding="utf-8")
    assert EXPECTED.is_file(), f"no {EXPECTED}: run with FWCOMPAT_UPDATE_SNAPSHOTS=1"
    data: dict[str, Any] = json.loads(EXPECTED.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("pack", PACKS)
@pytest.mark.parametrize("name", NAMES)
def test_outcome_matches_the_snapshot(name: str, pack: str, profile: str) -> None:
    want = expected().get(name, {}).get(pack, {}).get(profile)
    assert want is not None, f"no snapshot for {name}/{pack}/{profile}: regenerate expected.json"
    assert outcome(name, pack, profile) == want


def test_the_snapshot_covers_exactly_the_fixtures_and_packs() -> None:
    assert sorted(expected()) == sorted(NAMES)
    for name in NAMES:
        assert sorted(expected()[name]) == sorted(PACKS), name
    on_disk = sorted(p.stem for p in FIXTURES.glob("*.json") if p != EXPECTED)
    assert on_disk == sorted(NAMES)


def test_the_fixtures_are_what_claude_code_sends() -> None:
    first, result, title = (fixture(n) for n in NAMES)
    for data in (first, result, title):
        assert data["claude_code"] == "2.1.197"
        assert data["query"] == "beta=true"
        assert data["headers"]["user-agent"].startswith("claude-cli/2.1.197")
        assert data["body"]["model"].startswith("claude-")
        # masked: no credential, session or device id
        assert data["headers"]["authorization"] == "Bearer <masked-key>"
        user = json.loads(data["body"]["metadata"]["user_id"])
        assert set(user["device_id"]) == {"0"}
    roles = [m["role"] for m in first["body"]["messages"]]
    assert "system" in roles  # the mid-conversation system message
    assert first["body"]["thinking"] == {"type": "adaptive"}
    blocks = [b for m in result["body"]["messages"] for b in m["content"] if isinstance(b, dict)]
    assert any(b.get("type") == "tool_result" for b in blocks)
    assert title["body"]["output_config"]["format"]["type"] == "json_schema"
    assert title["body"]["tools"] == []
