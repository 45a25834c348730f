"""check() next to json.dumps of the same request, same run, same machine: the core's targets.

    python benchmarks/bench_check.py [--repeat 7] [--quick]

Requests are text-heavy agent turns (text, thinking with a signature, tool_use,
tool_result with about 1.5 KB of code, five tools; no images, whose long base64
strings make json.dumps slow and every ratio look better). "Dirty" adds 7
removals, one of them a ``caller`` inside a message. Times are this process's
CPU time (best of --repeat rounds, interleaved), so other load on the machine
does not count. Prints the figures side by side; exits 0 either way: speed is
measured here, not asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from requests import agent_turns, dirty

import fwcompat


def _batch(fn: Callable[[], Any], number: int) -> float:
    start = time.process_time()
    for _ in range(number):
        fn()
    return (time.process_time() - start) / number


def per_call(fns: list[Callable[[], Any]], repeat: int) -> list[float]:
    """Best CPU seconds per call of each function, measured interleaved."""
    number = 1
    while _batch(fns[0], number) * number < 0.02:
        number *= 2
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], _batch(fn, number))
    return best


def _server_tools(n: int) -> dict[str, Any]:
    body = agent_turns(20)
    return {**body, "tools": [{"type": "web_search_20250305", "name": f"s{i}"} for i in range(n)]}


def _one_nested_edit(n: int) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "hi"} for _ in range(n)]
    block = {"type": "tool_use", "id": "t", "name": "t", "input": {}, "caller": None}
    messages[n // 2] = {"role": "assistant", "content": [block]}
    return {"model": "accounts/fireworks/models/kimi-k2p5", "messages": messages}


def table(repeat: int, sizes: tuple[int, ...]) -> None:
    print(f"{'messages':>8} {'bytes':>10} {'json.dumps':>11} {'clean':>9} {'ratio':>6} "
          f"{'dirty':>9} {'ratio':>6}  targets: clean <= 1.0x at 1 message, <= 0.15x and "
          "dirty <= 0.5x at 20-2,000")  # fmt: skip
    for n in sizes:
        body = agent_turns(n)
        messy = dirty(body) if n > 1 else None
        assert not fwcompat.check(body).diagnostics
        fns: list[Callable[[], Any]] = [
            lambda body=body: json.dumps(body),
            lambda body=body: fwcompat.check(body),
        ]
        if messy is not None:
            assert len(fwcompat.check(messy).diagnostics) == 7
            fns.append(lambda messy=messy: fwcompat.check(messy))
        t = per_call(fns, repeat)
        dirty_cols = f"{t[2] * 1e6:>7.1f}us {t[2] / t[0]:>5.2f}x" if messy else f"{'-':>9} {'-':>6}"
        print(f"{n:>8} {len(json.dumps(body)):>10,} {t[0] * 1e6:>9.1f}us "
              f"{t[1] * 1e6:>7.1f}us {t[1] / t[0]:>5.2f}x {dirty_cols}")  # fmt: skip


def growth(repeat: int, name: str, make: Callable[[int], Any], small: int, large: int) -> None:
    a, b = make(small), make(large)
    t_small, t_large = per_call([lambda: fwcompat.check(a), lambda: fwcompat.check(b)], repeat)
    ratio = t_large / t_small
    linear = large / small
    print(f"{name:<44} {small:>7,} {t_small * 1e3:>9.2f}ms {large:>7,} {t_large * 1e3:>9.2f}ms "
          f"{ratio:>7.1f}x  (linear {linear:.0f}x; per item {ratio / linear:.2f}x)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer rounds")
    args = parser.parse_args()
    repeat = 3 if args.quick else args.repeat
    print(f"fwcompat {fwcompat.__version__}, Python {sys.version.split()[0]}")
    fwcompat.check(agent_turns(2))  # load and compile the pack outside the timings
    table(repeat, (1, 20, 200) if args.quick else (1, 20, 200, 2000))
    print()
    print(f"{'growth':<44} {'small':>7} {'time':>11} {'large':>7} {'time':>11} {'ratio':>8}")
    growth(repeat, "server tools rejected (target <= 10x)", _server_tools, 500, 4000)
    large = 10_000 if args.quick else 100_000
    growth(repeat, "one nested edit, per message (target <= 1.5)", _one_nested_edit, 1000, large)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
