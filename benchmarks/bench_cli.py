"""Benchmark the ``fwcompat`` command line against ``check-jsonschema`` (not a timed test).

Times, in the same run, with hyperfine-style repeated runs (median of N, after a
warm-up run so both tools start with warm page and ``.pyc`` caches):

1. ``fwcompat check FILE`` vs ``check-jsonschema --schemafile schemas/<request schema> FILE``
   on one request file, fwcompat cold (``--no-cache``: no rule-file cache, no result
   cache) and warm (the run before cached every file's result: ruff's common case,
   re-running on files that did not change), in a private cache folder;
2. the same on 200 request files in one call (how pre-commit runs them);
3. where one file's time goes: the interpreter alone, ``import jsonschema_rs``,
   ``import fwcompat`` (the engine), preparing the default pack (plan + gate), the
   whole command;
4. ``fwcompat check`` on a generated JSONL file of two sizes, with the peak RSS of
   the process, to show memory stays constant as the file grows (MB/s); and, in this
   process, the JSONL reader's MB/s next to ``json.loads`` and ``orjson.loads`` of the
   same lines (the reader with orjson and with the standard library alone);
5. ``fwcompat check`` (and ``--diff``) on one file with 500 and with 4,000
   diagnostics (tools carrying ``cache_control``): the time ratio, linear = 8.

Run::

    python benchmarks/bench_cli.py                     # quick: 11 runs, JSONL of 8 and 32 MB
    python benchmarks/bench_cli.py --runs 21
    python benchmarks/bench_cli.py --jsonl-mb 1024     # the 1 GB file (a few minutes)

Goals (issue 17): fwcompat at most 0.25x check-jsonschema's wall time on one file and
0.08x on 200 files (met only if the warm figure meets it; the cold one is printed next
to it); JSONL at >= 60 MB/s with flat memory; (issue 7) 4,000 vs 500 diagnostics <= 10x.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schemas" / "fireworks-messages-request.schema.json"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        sys.exit(f"{name} is not installed (pip install -e . check-jsonschema)")
    return found


def request(i: int, messages: int = 6, fixable: bool = False) -> dict[str, object]:
    """A realistic request: a system prompt, a tool, a multi-turn conversation."""
    body: dict[str, object] = {
        "model": "accounts/fireworks/models/kimi-k2p5",
        "max_tokens": 1024,
        "system": "You are a helpful assistant. Answer briefly.",
        "tools": [
            {
                "name": "get_weather",
                "description": "Current weather for a city",
                "input_schema": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            }
        ],
        "messages": [
            {
                "role": "user" if m % 2 == 0 else "assistant",
                "content": [{"type": "text", "text": f"message {m} of request {i}: " + "x" * 80}],
            }
            for m in range(messages)
        ],
        "temperature": 0.2,
    }
    if fixable:
        body["service_tier"] = "auto"
    return body


# Both tools run as users run them: with .pyc caches (pip compiles them at install
# time; the warm-up run writes them for an editable install). PYTHONDONTWRITEBYTECODE
# in the caller's environment would make every fwcompat run recompile its sources.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(commands: list[tuple[list[str], dict[str, str]]], runs: int) -> list[tuple[float, int]]:
    """Median wall time of ``runs`` runs of each (command, environment), and its exit code.

    The commands alternate run by run (after one warm-up each, which also fills
    fwcompat's caches), so a noisy neighbour or a CPU-frequency change slows all alike.
    """
    out = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    codes = [subprocess.run(c, env=e, **out).returncode for c, e in commands]  # type: ignore[call-overload]
    samples: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for i, (command, env) in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(command, env=env, **out)  # type: ignore[call-overload]
            samples[i].append(time.perf_counter() - start)
    return [(statistics.median(s), code) for s, code in zip(samples, codes, strict=True)]


def versus(fwcompat: str, cjs: str, files: list[str], runs: int, cache: Path) -> None:
    """fwcompat cold (``--no-cache``: no rule-file cache, no result cache), with each
    file's result cached but the run not replayed (``FWCOMPAT_NO_REPLAY=1``: what a run
    with a few changed files costs, less checking them), and warm (the same command on
    unchanged files: replayed), next to check-jsonschema, on 1 and N files."""
    env = {**ENV, "FWCOMPAT_CACHE_DIR": str(cache)}
    env.pop("FWCOMPAT_NO_CACHE", None)
    per_file = {**env, "FWCOMPAT_NO_REPLAY": "1"}
    rows = []
    for label, batch in (("1 file", files[:1]), (f"{len(files)} files", files)):
        ours = [fwcompat, "check", "--no-progress", *batch]
        cold = [*ours[:2], "--no-cache", *ours[2:]]
        theirs = [cjs, "--schemafile", str(SCHEMA), *batch]
        rows.append(
            (label, timed([(cold, env), (ours, per_file), (ours, env), (theirs, ENV)], runs))
        )
    print(f"fwcompat {fwcompat}\ncheck-jsonschema {cjs}\nmedian of {runs} alternating runs\n")
    print(
        "| case | cold (`--no-cache`) | results cached, no replay | warm (replayed) "
        "| check-jsonschema | cold | cached | warm |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, results in rows:
        (cold_t, c1), (cached_t, c2), (warm_t, c3), (theirs_t, c4) = results
        note = "" if c1 == c2 == c3 == c4 == 0 else f" (exit {c1}/{c2}/{c3}/{c4})"
        times = " | ".join(f"{t * 1000:.1f} ms" for t in (cold_t, cached_t, warm_t, theirs_t))
        ratios = " | ".join(f"{t / theirs_t:.2f}x" for t in (cold_t, cached_t, warm_t))
        print(f"| {label} | {times} | {ratios} |{note}")


def peak_rss(command: list[str]) -> tuple[float, int, float]:
    """(wall seconds, peak RSS in KiB, exit code) of one run, measured in a fresh parent."""
    probe = (
        "import json, resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
        "wall = time.perf_counter() - start\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps([wall, rss, code]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *command],
        capture_output=True,
        text=True,
        check=True,
        env=ENV,
    ).stdout
    wall, rss, code = json.loads(out)
    return float(wall), int(rss), float(code)


def write_jsonl(path: Path, megabytes: float, messages: int = 20) -> int:
    target = int(megabytes * 1024 * 1024)
    lines = [
        json.dumps(request(i, messages=messages, fixable=i % 10 == 0)) + "\n" for i in range(50)
    ]
    written = count = 0
    with path.open("w", encoding="utf-8") as handle:
        while written < target:
            line = lines[count % len(lines)]
            handle.write(line)
            written += len(line)
            count += 1
    return count


def tools_request(n: int) -> dict[str, object]:
    """One request whose n tools each carry cache_control: n diagnostics, n fixes."""
    body = request(0)
    body["tools"] = [
        {"name": f"t{i}", "input_schema": {"type": "object"}, "cache_control": {"type": "x"}}
        for i in range(n)
    ]
    return body


def best_wall(command: list[str], runs: int) -> float:
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": ENV}
    subprocess.run(command, **quiet)  # type: ignore[call-overload]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, **quiet)  # type: ignore[call-overload]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def growth(fwcompat: str, folder: Path, runs: int) -> None:
    print("\nOne file, n tools with cache_control (n diagnostics); median wall time:\n")
    print(f"| {'command':<22} | {'500':>9} | {'4,000':>9} | ratio (linear = 8) |")
    print(f"|{'-' * 24}|{'-' * 11}|{'-' * 11}|{'-' * 20}|")
    paths = {}
    for n in (500, 4000):
        paths[n] = folder / f"tools-{n}.json"
        paths[n].write_text(json.dumps(tools_request(n), indent=2) + "\n")
    for label, extra in (
        ("check --format json", ["--format", "json"]),
        ("check --diff", ["--diff"]),
    ):
        times = {
            n: best_wall(
                [fwcompat, "check", "--no-cache", "--no-progress", *extra, str(paths[n])], runs
            )
            for n in (500, 4000)
        }
        print(
            f"| {label:<22} | {times[500] * 1000:>6.0f} ms | {times[4000] * 1000:>6.0f} ms "
            f"| {times[4000] / times[500]:>17.1f}x |"
        )


def breakdown(fwcompat: str, file: str, runs: int) -> None:
    """Median wall time of each layer of one ``fwcompat check FILE``, as separate processes."""
    python = sys.executable
    prepare = (
        "import time; t = time.perf_counter(); import fwcompat; "
        "from fwcompat._check import _prepared; i = time.perf_counter(); "
        "_prepared(fwcompat.Config()); p = time.perf_counter(); "
        "print(f'{i - t} {p - i}')"
    )
    rows = [
        ("python -c pass", [python, "-c", "pass"]),
        ("import jsonschema_rs", [python, "-c", "import jsonschema_rs"]),
        ("import fwcompat (lazy: no engine)", [python, "-c", "import fwcompat"]),
        ("import fwcompat._check (the engine)", [python, "-c", "import fwcompat._check"]),
        ("fwcompat --version", [fwcompat, "--version"]),
        (
            "fwcompat check --no-cache FILE",
            [fwcompat, "check", "--no-cache", "--no-progress", file],
        ),
    ]
    print("\nWhere one file's time goes (separate processes; median wall time):\n")
    print(f"| {'step':<42} | {'time':>9} |")
    print(f"|{'-' * 44}|{'-' * 11}|")
    for label, command in rows:
        print(f"| {label:<42} | {best_wall(command, runs) * 1000:>6.1f} ms |")
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [python, "-c", prepare], capture_output=True, text=True, check=True, env=ENV
        ).stdout.split()
        samples.append((float(out[0]), float(out[1])))
    imported = statistics.median(s[0] for s in samples)
    prepared = statistics.median(s[1] for s in samples)
    print(f"| {'in process: import the engine':<42} | {imported * 1000:>6.1f} ms |")
    print(f"| {'in process: prepare the pack (plan, gate)':<42} | {prepared * 1000:>6.1f} ms |")


def reader_rates(path: Path, runs: int) -> None:
    """MB/s of reading every line of a JSONL file, in this process, four ways."""
    from fwcompat.cli.sources import json_reader
    from fwcompat.cli.sources.jsonl_reader import iter_jsonl

    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    size = len(data) / 1024 / 1024

    def ours() -> None:
        for _ in iter_jsonl(lines):
            pass

    def stdlib_reader() -> None:
        saved = json_reader._orjson
        json_reader._orjson = None
        try:
            ours()
        finally:
            json_reader._orjson = saved

    def stdlib() -> None:
        for line in lines:
            json.loads(line)

    with_orjson = json_reader.load_orjson() is not None  # as the CLI has it past 1 MB
    ways = [
        ("fwcompat reader" + (" (orjson)" if with_orjson else " (no orjson)"), ours),
        ("fwcompat reader, standard library only", stdlib_reader),
        ("json.loads per line", stdlib),
    ]
    try:
        import orjson
    except ImportError:
        print("(orjson is not installed: pip install 'fwcompat[fast]')")
    else:

        def fast() -> None:
            for line in lines:
                orjson.loads(line)

        ways.append(("orjson.loads per line", fast))
    print(f"\nReading {size:.0f} MB of JSONL in this process (median of {runs}):\n")
    print(f"| {'reader':<40} | {'MB/s':>7} |")
    print(f"|{'-' * 42}|{'-' * 9}|")
    for label, function in ways:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        print(f"| {label:<40} | {size / statistics.median(times):>7.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=11, help="runs per command (median)")
    parser.add_argument("--files", type=int, default=200, help="files in the batch case")
    parser.add_argument(
        "--jsonl-mb", type=float, default=32, help="size of the large JSONL file in MB"
    )
    parser.add_argument(
        "--jsonl-messages", type=int, default=20, help="messages per JSONL request (2: small)"
    )
    parser.add_argument("--skip-jsonl", action="store_true", help="skip the JSONL part")
    parser.add_argument("--skip-growth", action="store_true", help="skip the 500/4,000 part")
    parser.add_argument(
        "--skip-breakdown", action="store_true", help="skip where one file's time goes"
    )
    args = parser.parse_args()

    fwcompat = tool("fwcompat")
    cjs = tool("check-jsonschema")
    if not SCHEMA.exists():
        sys.exit(f"missing {SCHEMA}")
    with tempfile.TemporaryDirectory(prefix="fwcompat-bench-") as tmp:
        folder = Path(tmp)
        files = []
        for i in range(args.files):
            path = folder / f"request-{i:03d}.json"
            path.write_text(json.dumps(request(i), indent=2) + "\n")
            files.append(str(path))
        versus(fwcompat, cjs, files, args.runs, folder / "cache")

        if not args.skip_breakdown:
            breakdown(fwcompat, files[0], args.runs)

        if not args.skip_growth:
            growth(fwcompat, folder, max(3, args.runs // 2))

        if not args.skip_jsonl:
            print(
                f"\nJSONL, one request ({args.jsonl_messages} messages) per line, "
                "10% with a fixable field:\n"
            )
            print(
                f"| {'size':>9} | {'requests':>9} | {'wall':>8} | {'MB/s':>6} | {'peak RSS':>9} |"
            )
            print(f"|{'-' * 11}|{'-' * 11}|{'-' * 10}|{'-' * 8}|{'-' * 11}|")
            for megabytes in (args.jsonl_mb / 4, args.jsonl_mb):
                big = folder / "big.jsonl"
                count = write_jsonl(big, megabytes, args.jsonl_messages)
                size = big.stat().st_size / 1024 / 1024
                wall, rss, _ = peak_rss(
                    [
                        fwcompat,
                        "check",
                        "--no-progress",
                        "--format",
                        "json",
                        "-o",
                        os.devnull,
                        str(big),
                    ]
                )
                print(
                    f"| {size:>6.0f} MB | {count:>9,} | {wall:>6.1f} s | {size / wall:>6.1f} "
                    f"| {rss / 1024:>6.1f} MB |"
                )
            reader_rates(big, max(3, args.runs // 2))
            big.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
