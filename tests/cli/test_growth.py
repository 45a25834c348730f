"""Cost grows linearly with diagnostics (issue 7): 4,000 vs 500, as a ratio of counted calls.

Never a time (issue 21): the counts are the same on a quiet machine and a busy one.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from fwcompat.cli._fix import Edit, fix_json_text
from fwcompat.cli.sources.json_reader import load_json
from fwcompat.cli.sources.yaml_reader import load_yaml
from tests.cost import growth


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


def ratio(work: Callable[[int], Callable[[], object]]) -> float:
    """Counted calls for 4,000 findings over those for 500: 8 is linear, 64 quadratic."""
    return growth(work, 500, 4000)


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

    # libyaml's own compose step measures about 8x here: memory effects of a bigger
    # node tree. Linear, with that margin; a re-walk per diagnostic would be ~100x.
    assert ratio(work) <= 12


def test_fixing_is_linear() -> None:
    def work(n: int) -> Callable[[], object]:
        text = tools_file(n)
        edits = [Edit(tuple(p), remove=True) for p in pointers(n)]
        return lambda: fix_json_text(text, edits)

    assert ratio(work) <= 10


def test_diff_is_linear() -> None:
    from fwcompat.cli._fix_diff import splice_diff

    def work(n: int) -> Callable[[], object]:
        text = tools_file(n)
        edits = [Edit(tuple(p), remove=True) for p in pointers(n)]
        splices: list[tuple[int, int, str]] = []
        fix_json_text(text, edits, splices_out=splices)
        return lambda: splice_diff(text, splices, "tools.json")

    assert ratio(work) <= 10  # difflib's matcher took 22 s for 4,000 edits
