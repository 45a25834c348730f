"""Each kind of cache entry is bounded on its own, and the fingerprints of a config's
files notice any change. Counted in entries and hashes, never timed."""

from __future__ import annotations

from pathlib import Path

import pytest

from fwcompat.rulepacks import _cache


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("FWCOMPAT_CACHE_DIR", str(folder))
    monkeypatch.delenv("FWCOMPAT_NO_CACHE", raising=False)
    return folder


def test_many_recorded_runs_never_push_out_rule_files(cache: Path) -> None:
    for i in range(10):
        _cache.put("rules", _cache.digest(b"rule", str(i).encode()), [i])
    limit = _cache.LIMITS["runs"]
    for i in range(limit * 2):
        _cache.put("runs", _cache.digest(b"run", str(i).encode()), {"n": i})
    assert len(list(cache.glob("runs-*.json"))) == limit
    assert len(list(cache.glob("rules-*.json"))) == 10
    for i in range(10):
        assert _cache.get("rules", _cache.digest(b"rule", str(i).encode())) == [i]


def test_remembered_inputs_notice_an_edit_a_new_file_and_a_removal(
    cache: Path, tmp_path: Path
) -> None:
    present, absent = tmp_path / "rules.yaml", tmp_path / "schema.json"
    present.write_text("rules: []\n")
    key = _cache.digest(b"test-inputs")
    fingerprint = _cache.remember_inputs(key, [str(present), str(absent)])
    assert _cache.verified_inputs(key) == fingerprint
    present.write_text("rules: [] \n")
    assert _cache.verified_inputs(key) is None
    present.write_text("rules: []\n")
    assert _cache.verified_inputs(key) == fingerprint
    absent.write_text("{}")  # a schema that appears next to a rule file shadows the shipped one
    assert _cache.verified_inputs(key) is None
    absent.unlink()
    present.unlink()
    assert _cache.verified_inputs(key) is None
