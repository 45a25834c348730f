"""Cost grows linearly with diagnostics (issue 7): 4,000 vs 500, as a ratio, never a time."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from fwcompat.cli._fix import Edit, fix_json_text
from fwcompat.cli._sources import load_json, load_yaml


def tools_file(n: int) -> str:
    body = {
        "model": "accounts/fireworks/models/kimi-k2p5",
        "max_tokens": 1,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [
            {"name": f"t{i}", "input_schema": {"type": "object"}, "cache_control": {"type": "e"}}
            for i in range(n)
        ],
    }
    return json.dumps(body, indent=2) + "\n"


def best_of(runs: int, work: Callable[[], object]) -> float:
    work()  # warm-up
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def ratio(work: Callable[[int], Callable[[], object]]) -> float:
    return best_of(5, work(4000)) / best_of(5, work(500))


def pointers(n: int) -> list[list[str]]:
    return [["tools", str(i), "cache_control"] for i in range(n)]


def test_locating_diagnostics_is_linear() -> None:
    def work(n: int) -> Callable[[], object]:
        text = tools_file(n)
        return lambda: load_json(text).locate_all(pointers(n))

    assert ratio(work) <= 10  # linear = 8; one re-decode per diagnostic was 92x


def test_locating_yaml_diagnostics_is_linear() -> None:
    import yaml

    def work(n: int) -> Callable[[], object]:
        text = yaml.safe_dump(json.loads(tools_file(n)), sort_keys=False)
        return lambda: load_yaml(text).locate_all(pointers(n))

    assert ratio(work) <= 10


def test_fixing_is_linear() -> None:
    def work(n: int) -> Callable[[], object]:
        text = tools_file(n)
        edits = [Edit(tuple(p), remove=True) for p in pointers(n)]
        return lambda: fix_json_text(text, edits)

    assert ratio(work) <= 10
