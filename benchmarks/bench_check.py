"""check() next to json.dumps of the same request, same run, same machine.

    python benchmarks/bench_check.py [--repeat 7]

Target (issue 2): check(), schema validation included, at most 1.0x json.dumps
at every size, with cost linear in size. Prints a table; exits 0 either way
(speed is measured here, not asserted in tests).
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

from requests import conversation

import fwcompat

SIZES = (2, 20, 200, 2000)


def _batch(fn: Callable[[], Any], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def per_call(fns: list[Callable[[], Any]], repeat: int) -> list[float]:
    """Best seconds per call of each function, measured interleaved.

    Each round times every function once, in turn, so a noisy neighbour slows
    them alike; the minimum over rounds is the least noisy estimate.
    """
    number = 1
    while _batch(fns[0], number) * number < 0.02:
        number *= 2
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            best[i] = min(best[i], _batch(fn, number))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    dirty_extra = {"service_tier": "auto", "speed": "fast"}
    print(f"fwcompat {fwcompat.__version__}, Python {sys.version.split()[0]}")
    header = (
        f"{'messages':>8} {'bytes':>10} {'json.dumps':>12} {'check()':>12} {'ratio':>7} "
        f"{'check() w/ fixes':>17} {'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    fwcompat.check(conversation(2))  # load and compile the pack outside the timings
    for n in SIZES:
        body = conversation(n)
        dirty = {**body, **dirty_extra}
        size = len(json.dumps(body))
        assert not fwcompat.check(body).diagnostics
        t_dumps, t_check, t_dirty = per_call(
            [
                lambda body=body: json.dumps(body),
                lambda body=body: fwcompat.check(body),
                lambda dirty=dirty: fwcompat.check(dirty),
            ],
            args.repeat,
        )
        print(
            f"{n:>8} {size:>10,} {t_dumps * 1e6:>10.1f}us {t_check * 1e6:>10.1f}us "
            f"{t_check / t_dumps:>6.2f}x {t_dirty * 1e6:>15.1f}us {t_dirty / t_dumps:>6.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
