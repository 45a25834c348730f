"""A JSON Lines file is streamed: the memory a check holds at its peak does not grow with
the number of lines (issue 17: flat memory). Counted in bytes allocated (tracemalloc),
never timed."""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path

from fwcompat.cli import main
from fwcompat.cli.sources.json_reader import load_orjson


def request(i: int) -> dict[str, object]:
    body: dict[str, object] = {
        "model": "accounts/fireworks/models/kimi-k2p5",
        "max_tokens": 64,
        "messages": [
            {"role": "user" if m % 2 == 0 else "assistant", "content": f"turn {m} " + "x" * 200}
            for m in range(8)
        ],
    }
    if i % 10 == 0:
        body["service_tier"] = "auto"  # a finding on every tenth line
    return body


def write_jsonl(path: Path, lines: int) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(lines):
            handle.write(json.dumps(request(i)) + "\n")
    return path


def peak_bytes(path: Path) -> int:
    """Bytes held at the peak of ``fwcompat check FILE``, over what was held before."""
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        args = ["check", "--no-progress", "--fail-on", "warning", "--format", "json"]
        code = main([*args, "-o", os.devnull, str(path)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 1  # the tenth lines' warnings
    return peak - before


def test_jsonl_memory_stays_flat(tmp_path: Path) -> None:
    small = write_jsonl(tmp_path / "small.jsonl", 250)
    large = write_jsonl(tmp_path / "large.jsonl", 2000)
    assert large.stat().st_size > 7 * small.stat().st_size
    load_orjson()  # imported before measuring, as it is once a megabyte has been read
    peak_bytes(small)  # warm: imports, the prepared pack, caches
    held_small, held_large = peak_bytes(small), peak_bytes(large)
    # A reader that held the file (or every line's document) would hold 8x as much.
    assert held_large < 1.5 * held_small + 256 * 1024, (held_small, held_large)
    assert held_large < large.stat().st_size / 4, (held_large, large.stat().st_size)
