"""Growth, timed and counted side by side: what the growth tests assert, with the clock's view.

    python benchmarks/bench_growth.py [--repeat 5]

The tests (tests/cost.py) assert on counted quantities: calls, bytes scanned, bytes
allocated. This prints, for each case, the ratio of CPU times of the large input over
the small one next to the counted ratio the test asserts, so the two can be compared.
8x the input is linear at about 8x, quadratic at 64x. Exits 0 either way: the clock is
measured here, never asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import fwcompat  # noqa: E402
from fwcompat.cli._fix import Edit, fix_json_text  # noqa: E402
from fwcompat.cli._fix_diff import splice_diff  # noqa: E402
from fwcompat.cli.sources.json_reader import load_json  # noqa: E402
from fwcompat.cli.sources.yaml_reader import load_yaml  # noqa: E402
from fwcompat.usage import SSEDecoder  # noqa: E402
from tests.api.test_totality import cached_tools, one_nested_edit, server_tools  # noqa: E402
from tests.cli.test_growth import pointers, tools_file  # noqa: E402
from tests.cost import calls  # noqa: E402

Work = Callable[[int], Callable[[], object]]


def cpu(fn: Callable[[], object], repeat: int) -> float:
    """Best CPU seconds of this process over ``repeat`` calls."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def check_of(make: Callable[[int], object]) -> Work:
    def work(n: int) -> Callable[[], object]:
        body = make(n)
        return lambda: fwcompat.check(body)

    return work


def locate_json(n: int) -> Callable[[], object]:
    text = tools_file(n)
    return lambda: load_json(text).locate_all(pointers(n))


def locate_yaml(n: int) -> Callable[[], object]:
    import yaml

    text = yaml.safe_dump(json.loads(tools_file(n)), sort_keys=False)
    return lambda: load_yaml(text).locate_all(pointers(n))


def fix(n: int) -> Callable[[], object]:
    text = tools_file(n)
    edits = [Edit(tuple(p), remove=True) for p in pointers(n)]
    return lambda: fix_json_text(text, edits)


def diff(n: int) -> Callable[[], object]:
    text = tools_file(n)
    splices: list[tuple[int, int, str]] = []
    fix_json_text(text, [Edit(tuple(p), remove=True) for p in pointers(n)], splices_out=splices)
    return lambda: splice_diff(text, splices, "tools.json")


def sse_lines(n: int) -> Callable[[], object]:
    body = b"data: {}\n\n" * n
    return lambda: SSEDecoder().feed(body)


CASES: list[tuple[str, Work, int, int]] = [
    ("check: rejections x schema errors", check_of(server_tools), 500, 4000),
    ("check: diagnostics", check_of(cached_tools), 500, 4000),
    ("check: one nested edit", check_of(one_nested_edit), 1000, 8000),
    ("cli: locate JSON", locate_json, 500, 4000),
    ("cli: locate YAML", locate_yaml, 500, 4000),
    ("cli: fix JSON", fix, 500, 4000),
    ("cli: diff", diff, 500, 4000),
    ("sse: short lines", sse_lines, 20_000, 160_000),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'case':36} {'sizes':>14} {'CPU time ratio':>15} {'counted calls ratio':>20}")
    for name, work, small, large in CASES:
        a, b = work(small), work(large)
        a()
        b()
        timed = cpu(b, args.repeat) / cpu(a, args.repeat)
        counted = calls(b) / calls(a)
        print(f"{name:36} {f'{small}->{large}':>14} {timed:>14.2f}x {counted:>19.2f}x")


if __name__ == "__main__":
    main()
