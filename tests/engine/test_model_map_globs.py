"""model_map takes globs: an exact name beats a glob, the first matching glob wins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import fwcompat
from fwcompat import Config

KIMI = "accounts/fireworks/models/kimi-k2p5"
GLM = "accounts/fireworks/models/glm-5"
QWEN = "accounts/fireworks/models/qwen3-coder"


def body(model: str) -> dict[str, object]:
    return {"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]}


def sent_model(model: str, config: object) -> object:
    result = fwcompat.check(body(model), config=config)  # type: ignore[arg-type]
    assert result.ok, result.diagnostics
    return result.request["model"]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("claude-haiku-4-5", GLM),  # the exact name, though two globs match it too
        ("claude-haiku-9", QWEN),  # the first matching glob (claude-haiku-*), not claude-*
        ("claude-opus-4-8", KIMI),  # only claude-* matches
        (KIMI, KIMI),  # a Fireworks id is never mapped
    ],
)
def test_exact_beats_glob_and_first_glob_wins(model: str, expected: str) -> None:
    config = {"model_map": {"claude-haiku-*": QWEN, "claude-*": KIMI, "claude-haiku-4-5": GLM}}
    assert sent_model(model, config) == expected
    assert sent_model(model, Config.from_dict(config)) == expected
    pairs = tuple(config["model_map"].items())
    assert sent_model(model, Config(model_map_items=pairs)) == expected


def test_glob_order_is_the_tables_order() -> None:
    first = {"model_map": {"claude-*": KIMI, "claude-haiku-*": QWEN}}
    assert sent_model("claude-haiku-9", first) == KIMI


def test_a_glob_never_maps_a_provider_id() -> None:
    # `*` matches every name, yet an id the table would refuse as a key is left alone.
    config = {"model_map": {"*": KIMI}}
    assert sent_model("claude-opus-4-8", config) == KIMI
    assert sent_model(GLM, config) == GLM


def test_the_replacement_is_an_unsafe_fix_naming_both_models() -> None:
    result = fwcompat.check(body("claude-opus-4-8"), config={"model_map": {"claude-*": KIMI}})
    [diagnostic] = result.diagnostics
    assert (diagnostic.code, diagnostic.path, diagnostic.action) == ("FW303", "/model", "replaced")
    assert diagnostic.fix is not None and diagnostic.fix.applicability == "unsafe"
    assert "claude-opus-4-8" in diagnostic.message and KIMI in diagnostic.message


def test_unmapped_name_is_still_refused() -> None:
    result = fwcompat.check(body("claude-opus-4-8"), config={"model_map": {"claude-haiku-*": GLM}})
    assert not result.ok
    assert [d.code for d in result.errors] == ["FW304"]


@pytest.mark.parametrize(
    ("pack", "target"), [("deepseek", "deepseek-v4-pro"), ("minimax", "MiniMax-M3")]
)
def test_other_packs_take_globs(pack: str, target: str) -> None:
    config = {"pack": pack, "model_map": {"claude-*": target}}
    assert sent_model("claude-opus-4-8", config) == target


def test_glob_in_pyproject_and_on_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.fwcompat]\nmodel-map = {{ "claude-*" = "{KIMI}" }}\n', encoding="utf-8"
    )
    request = tmp_path / "request.json"
    request.write_text(
        '{"model": "claude-opus-4-8", "max_tokens": 8, '
        '"messages": [{"role": "user", "content": "Hi"}]}',
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "fwcompat", "check", "--fix", "--unsafe-fixes", "--diff"]
    from_file = subprocess.run(
        [*command, str(request)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert KIMI in from_file.stdout, from_file.stdout + from_file.stderr
    flag = subprocess.run(
        [*command, "--isolated", "--model-map", f"claude-*={GLM}", str(request)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert GLM in flag.stdout, flag.stdout + flag.stderr


def test_glob_table_lookups() -> None:
    from fwcompat.engine._tables import GlobTable, is_glob

    table = GlobTable({"claude-?-x": "q", "claude-[ab]*": "ab", "exact": "e"}, str.isascii)
    assert list(table) == ["claude-?-x", "claude-[ab]*", "exact"]  # keys as written
    assert len(table) == 3
    assert table["claude-1-x"] == "q"
    assert table["claude-b9"] == "ab"
    assert table["exact"] == "e"
    assert "claude-c" not in table
    assert "claude-\u00e9-x" not in table  # a name the table would refuse as a key
    assert 7 not in table
    with pytest.raises(KeyError):
        table["claude-c"]
    assert is_glob("claude-*") and is_glob("a?") and is_glob("[x]") and not is_glob("claude-4")


def test_an_unmapped_anthropic_name_is_told_the_glob_form() -> None:
    body = {
        "model": "claude-opus-4-8",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}],
    }
    [error] = fwcompat.check(body).errors
    assert error.code == "FW304"
    assert "--model-map 'claude-*=accounts/fireworks/models/kimi-k2p5'" in error.message
