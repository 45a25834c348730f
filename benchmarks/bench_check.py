"""check() next to json.dumps of the same request, same run, same machine: the core's targets.

    python benchmarks/bench_check.py [--repeat 7] [--quick]

Each figure is printed next to its anchors, as a ratio to json.dumps of the same body:
orjson.dumps, msgspec's JSON decode of the body's bytes (if installed), jsonschema-rs
``is_valid`` with the request schema alone, and jsonschema-rs following every member
and element through a recursive reference that asks nothing of them (a native walk).
"sdk" is check() with the headers, base URL and path an SDK request carries.

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


def _anchors() -> tuple[list[str], Callable[[Any], list[Callable[[], Any]]]]:
    """Names and makers of the anchor calls, for whichever libraries are installed."""
    import jsonschema_rs

    root = Path(__file__).resolve().parent.parent
    schema = json.loads((root / "schemas/fireworks-messages-request.schema.json").read_text())
    request_schema = jsonschema_rs.validator_for(schema).is_valid
    every = {"$ref": "#/$defs/v"}
    walk = jsonschema_rs.validator_for(
        {"$defs": {"v": {"items": every, "additionalProperties": every}}, **every}
    ).is_valid
    names = ["rs schema", "rs walk"]
    makers: list[Callable[[Any, bytes], Callable[[], Any]]] = [
        lambda body, raw: lambda: request_schema(body),
        lambda body, raw: lambda: walk(body),
    ]
    try:
        import orjson

        names.append("orjson")
        makers.append(lambda body, raw: lambda: orjson.dumps(body))
    except ImportError:
        pass
    try:
        import msgspec

        decode = msgspec.json.decode
        names.append("msgspec")
        makers.append(lambda body, raw: lambda: decode(raw))
    except ImportError:
        pass

    def calls(body: Any) -> list[Callable[[], Any]]:
        raw = json.dumps(body).encode()
        return [make(body, raw) for make in makers]

    return names, calls


SDK = {
    "headers": {
        "content-type": "application/json",
        "x-api-key": "sk-benchmark",
        "anthropic-version": "2023-06-01",
        "user-agent": "Anthropic/Python 0.40.0",
    },
    "base_url": "https://api.fireworks.ai/inference",
    "path": "/v1/messages",
}


def table(repeat: int, sizes: tuple[int, ...]) -> None:
    names, anchors = _anchors()
    head = "".join(f"{n:>10}" for n in names)
    print("ratios to json.dumps of the same body (goals: clean <= 0.10x at 20-2,000 messages, "
          "<= 0.6x at 1; dirty <= 0.5x at 20)")  # fmt: skip
    print(f"{'messages':>8} {'bytes':>10} {'json.dumps':>11}{head} {'clean':>7} {'sdk':>7} "
          f"{'dirty':>7}")  # fmt: skip
    for n in sizes:
        body = agent_turns(n)
        messy = dirty(body) if n > 1 else None
        assert not fwcompat.check(body).diagnostics
        fns: list[Callable[[], Any]] = [
            lambda body=body: json.dumps(body),
            *anchors(body),
            lambda body=body: fwcompat.check(body),
            lambda body=body: fwcompat.check(body, **SDK),
        ]
        if messy is not None:
            assert len(fwcompat.check(messy).diagnostics) == 7
            fns.append(lambda messy=messy: fwcompat.check(messy))
        t = per_call(fns, repeat)
        ratios = "".join(f"{x / t[0]:>9.2f}x" for x in t[1 : 1 + len(names)])
        rest = t[1 + len(names) :]
        dirty_col = f"{rest[2] / t[0]:>6.2f}x" if messy is not None else f"{'-':>7}"
        print(f"{n:>8} {len(json.dumps(body)):>10,} {t[0] * 1e6:>9.1f}us{ratios} "
              f"{rest[0] / t[0]:>6.2f}x {rest[1] / t[0]:>6.2f}x {dirty_col}")  # fmt: skip


def bad_typed_memory() -> None:
    """Peak memory of check() on 2,000 content blocks with an invalid type (0.2 MB)."""
    import tracemalloc

    kinds = {
        "type is a number": lambda: {"type": 123, "text": "x" * 60},
        "no type": lambda: {"text": "x" * 60},
        "unknown type": lambda: {"type": "hologram", "text": "x" * 60},
    }
    for name, block in kinds.items():
        content = [block() for _ in range(2000)]
        body = {"model": "accounts/fireworks/models/kimi-k2p5", "max_tokens": 10,
                "messages": [{"role": "user", "content": content}]}  # fmt: skip
        tracemalloc.start()
        start = time.process_time()
        fwcompat.check(body)
        seconds = time.process_time() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        size = len(json.dumps(body))
        print(f"bad-typed body, {name:<18} {size:>9,} bytes: peak {peak / 1e6:6.1f} MB "
              f"over baseline (goal <= 10 MB), {seconds:.2f} s traced")  # fmt: skip


def empty_blocks_memory() -> None:
    """Peak memory of check() on 200,000 empty content blocks (0.8 MB), each an error."""
    import tracemalloc

    content: list[Any] = [{} for _ in range(200_000)]
    body = {"model": "accounts/fireworks/models/kimi-k2p5", "max_tokens": 10,
            "messages": [{"role": "user", "content": content}]}  # fmt: skip
    size = len(json.dumps(body))
    tracemalloc.start()
    start = time.process_time()
    fwcompat.check(body)
    seconds = time.process_time() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    goal = (20 * size + 50_000_000) / 1e6
    print(f"200,000 empty blocks {size:>15,} bytes: peak {peak / 1e6:6.1f} MB over baseline "
          f"(goal <= {goal:.0f} MB: 20x the body + 50 MB), {seconds:.2f} s traced")  # fmt: skip


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
    bad_typed_memory()
    if not args.quick:
        empty_blocks_memory()
    print()
    print(f"{'growth':<44} {'small':>7} {'time':>11} {'large':>7} {'time':>11} {'ratio':>8}")
    growth(repeat, "server tools rejected (target <= 10x)", _server_tools, 500, 4000)
    large = 10_000 if args.quick else 100_000
    growth(repeat, "one nested edit, per message (target <= 1.5)", _one_nested_edit, 1000, large)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
