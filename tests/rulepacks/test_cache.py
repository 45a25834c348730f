"""The start-up cache never changes a result, never runs code, and trusts nobody else.

Each state a cache folder can be in (cold, warm, read-only, corrupted by random
bytes, truncated, bit-flipped, planted by another user, world-writable) must
give exactly what FWCOMPAT_NO_CACHE=1 gives. Runs are separate processes, as
the CLI's are.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fwcompat.rulepacks import _cache
from tests.samples import TOP_K_RULE

EVERY_EXAMPLE = r"""
import json, sys, fwcompat
config = {"rule_files": sys.argv[1:]} if len(sys.argv) > 1 else None
out = []
for rule in fwcompat.list_rules(config):
    for ex in rule.examples:
        cfg = dict(ex.get("config") or {}, **(config or {}))
        r = fwcompat.check(ex.get("body"), headers=ex.get("headers"), base_url=ex.get("base_url"),
                           path=ex.get("path"), config=cfg)
        out.append([[d.code, d.path, d.severity.value, d.message] for d in r.diagnostics])
print(json.dumps(out))
"""


def run(cache: Path | None, *rule_files: Path) -> list[object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FWCOMPAT_")}
    if cache is None:
        env["FWCOMPAT_NO_CACHE"] = "1"
    else:
        env["FWCOMPAT_CACHE_DIR"] = str(cache)
    done = subprocess.run(
        [sys.executable, "-c", EVERY_EXAMPLE, *map(str, rule_files)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: list[object] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def reference() -> list[object]:
    return run(None)


def entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.iterdir() if p.suffix == ".json")


def test_cold_and_warm_runs_equal_no_cache(tmp_path: Path, reference: list[object]) -> None:
    cache = tmp_path / "cache"
    assert run(cache) == reference
    assert entries(cache), "the cold run filled the cache"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert run(cache) == reference


def test_entries_are_json_data_with_a_checksum(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run(cache)
    for entry in entries(cache):
        checksum, _, payload = entry.read_bytes().partition(b"\n")
        assert len(checksum) == 64
        stored = json.loads(payload)  # data only: JSON, nothing executable
        assert set(stored) == {"key", "value"}


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    damage=st.sampled_from(["random", "truncate", "bitflip", "empty"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_damaged_entry_is_a_miss_never_a_wrong_answer_or_a_crash(
    tmp_path_factory: pytest.TempPathFactory, reference: list[object], damage: str, seed: int
) -> None:
    import random

    cache = tmp_path_factory.mktemp("cache")
    run(cache)
    rng = random.Random(seed)
    for entry in entries(cache):
        data = bytearray(entry.read_bytes())
        if damage == "random":
            data = bytearray(rng.randbytes(rng.randrange(1, 4096)))
        elif damage == "truncate":
            data = data[: rng.randrange(len(data))]
        elif damage == "bitflip":
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        else:
            data = bytearray()
        entry.write_bytes(bytes(data))
    assert run(cache) == reference


def test_an_edit_that_keeps_size_and_mtime_is_seen(tmp_path: Path) -> None:
    """cp -p, rsync -t and tar restore the modification time: the key is the content."""
    rule_file = tmp_path / "extra.yaml"
    text = TOP_K_RULE
    rule_file.write_text(text)
    cache = tmp_path / "cache"
    before = run(cache, rule_file)
    stamp = rule_file.stat()
    rule_file.write_text(text.replace("severity: warning", "severity: info   "))
    os.utime(rule_file, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert rule_file.stat().st_size == stamp.st_size
    after = run(cache, rule_file)
    assert after == run(None, rule_file)
    assert after != before


def test_entries_of_another_user_or_writable_by_others_are_ignored(
    tmp_path: Path, reference: list[object]
) -> None:
    cache = tmp_path / "cache"
    run(cache)
    planted = json.dumps({"key": "x", "value": {"rules": []}}).encode()
    for entry in entries(cache):
        # A forged entry: well-formed, checksummed, under the right name and key.
        stored = json.loads(entry.read_bytes().partition(b"\n")[2])
        payload = json.dumps({"key": stored["key"], "value": {"rules": []}}).encode()
        import hashlib

        entry.write_bytes(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
        entry.chmod(0o666)  # others may write it: ignored
    assert planted and run(cache) == reference
    if os.getuid() == 0:  # root can give the entries to someone else
        for entry in entries(cache):
            entry.chmod(0o600)
            os.chown(entry, 12345, 12345)
        assert run(cache) == reference


def test_a_folder_others_can_write_is_not_used(tmp_path: Path, reference: list[object]) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o777)
    cache.chmod(0o777)
    assert run(cache) == reference
    assert not entries(cache), "nothing is written where others could plant entries"


def test_a_read_only_cache_still_gives_the_same_results(
    tmp_path: Path, reference: list[object]
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o500)
    try:
        assert run(cache) == reference
    finally:
        cache.chmod(0o700)


def test_the_cache_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FWCOMPAT_NO_CACHE", raising=False)
    monkeypatch.setenv("FWCOMPAT_CACHE_DIR", str(tmp_path / "cache"))
    for i in range(_cache.MAX_ENTRIES * 2):
        _cache.put("rules", _cache.digest(str(i).encode()), [i])
    assert len(entries(tmp_path / "cache")) <= _cache.MAX_ENTRIES
    newest = _cache.digest(str(_cache.MAX_ENTRIES * 2 - 1).encode())
    assert _cache.get("rules", newest) == [_cache.MAX_ENTRIES * 2 - 1]


def test_values_json_cannot_keep_exactly_are_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FWCOMPAT_NO_CACHE", raising=False)
    monkeypatch.setenv("FWCOMPAT_CACHE_DIR", str(tmp_path / "cache"))
    import datetime

    for value in ({1: "int key"}, {"d": datetime.date(2026, 1, 1)}, {"n": float("nan")}):
        key = _cache.digest(repr(value).encode())
        _cache.put("rules", key, value)
        assert _cache.get("rules", key) is _cache.MISSING


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FWCOMPAT_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("FWCOMPAT_NO_CACHE", "1")
    _cache.put("rules", "k", [1])
    assert _cache.get("rules", "k") is _cache.MISSING
    assert not list(tmp_path.iterdir())
