"""The start-up cache never changes a result: cold and warm runs agree, bad entries are ignored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fwcompat import _cache

EVERY_EXAMPLE = r"""
import json, fwcompat
out = []
for rule in fwcompat.list_rules():
    for ex in rule.examples:
        r = fwcompat.check(ex.get("body"), headers=ex.get("headers"), base_url=ex.get("base_url"),
                           path=ex.get("path"), config=ex.get("config"))
        out.append([[d.code, d.path, d.message] for d in r.diagnostics])
print(json.dumps(out))
"""


def run(cache: Path) -> list[object]:
    env = {**os.environ, "FWCOMPAT_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", EVERY_EXAMPLE], env=env, capture_output=True, text=True, check=True
    )
    result: list[object] = json.loads(done.stdout)
    return result


def test_cold_and_warm_runs_give_the_same_diagnostics(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold = run(cache)
    kinds = {p.name.split("-")[0] for p in cache.iterdir()}
    assert {"rules", "code", "schema"} <= kinds  # the cold run filled the cache
    warm = run(cache)
    assert warm == cold
    for entry in cache.iterdir():  # corrupt every entry: the next run must not care
        entry.write_bytes(b"\x00garbage")
    assert run(cache) == cold


def test_code_cache_round_trip_and_foreign_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FWCOMPAT_CACHE_DIR", str(tmp_path))
    source = "def f(x):\n    return x + 1\n"
    first = _cache.compile_cached(source, "<test>")
    second = _cache.compile_cached(source, "<test>")
    assert first == second
    namespace: dict[str, object] = {}
    exec(second, namespace)
    assert namespace["f"](1) == 2  # type: ignore[operator]
    # An entry whose stored key differs (a hash collision, another version) is a miss.
    (entry,) = tmp_path.glob("code-*")
    entry.write_bytes(__import__("marshal").dumps(("another key", compile("x = 1", "<x>", "exec"))))
    assert _cache.get("code", source) is _cache.MISSING
    assert _cache.compile_cached(source, "<test>") == first


def test_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FWCOMPAT_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("FWCOMPAT_NO_CACHE", "1")
    _cache.put("rules", "k", [1])
    assert _cache.get("rules", "k") is _cache.MISSING
    assert not list(tmp_path.iterdir())
