"""`fwcompat serve` next to a plain forwarding proxy (and LiteLLM's proxy), side by side.

All against the same Fireworks-like stub upstream, in one run, each server its own
process on loopback:

- "plain": the integration tests' ``ForwardingApp``: uvicorn + httpx, streaming, no fwcompat;
- "fwcompat serve": the real command (``fwcompat serve --upstream <stub> --log-format json``,
  so its log line and metrics are paid for too);
- "litellm": LiteLLM's proxy with one model whose ``api_base`` is the stub, when
  ``--litellm PATH`` names its ``litellm`` executable (a separate virtualenv:
  ``pip install 'litellm[proxy]'``).

A 20-message request (the one of ``bench_asgi.py``), non-streaming and streaming, at
concurrency 1 and 64. Rounds alternate between the proxies so they see the same machine
state. Per request: total time and time to first body byte (TTFB); per case: median of
each, throughput (requests per second of wall time), and the CPU time the proxy process
spent per request (from /proc: the figure least disturbed by other load on the machine).
The client runs in this process.

    python benchmarks/bench_serve.py [--rounds 3] [--requests 100] [--litellm PATH]

Not a test: the numbers depend on the machine. Target (issue 10): fwcompat serve adds at
most 10% to median latency and TTFB, and costs at most 10% of throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "integration"), str(ROOT / "benchmarks")]

from bench_asgi import free_port, twenty_messages  # noqa: E402

LITELLM_KEY = "sk-bench-0123456789abcdef"


def serve(kind: str, port: int, upstream: str) -> None:
    """Run one server in this process (the benchmark starts itself with --serve)."""
    import uvicorn
    from fireworks_stub import FireworksStub, ForwardingApp

    app: Any = FireworksStub() if kind == "upstream" else ForwardingApp(upstream)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def wait_ready(proc: subprocess.Popen[bytes], url: str, name: str, seconds: float = 180) -> None:
    import httpx

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        try:
            httpx.get(url + "/healthz", timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{name} did not start in {seconds:.0f} s")


def start_self(kind: str, upstream: str = "") -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, str(port), upstream],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, url, kind)
    return proc, url


def start_fwcompat(upstream: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "fwcompat", "serve", "--isolated", "--upstream", upstream]
    command += ["--port", str(port), "--log-format", "json"]
    proc = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, url, "fwcompat serve")
    return proc, url


def start_litellm(
    executable: str, upstream: str, folder: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = Path(folder) / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: accounts/fireworks/models/kimi-k2p5\n"
        "    litellm_params:\n"
        "      model: anthropic/accounts/fireworks/models/kimi-k2p5\n"
        f"      api_base: {upstream}\n"
        "      api_key: stub-key\n"
        "general_settings:\n"
        f"  master_key: {LITELLM_KEY}\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [executable, "--config", str(config), "--port", str(port), "--host", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=folder,
        env={**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, url, "litellm")
    return proc, url


async def one(client: Any, url: str, raw: bytes, headers: dict[str, str]) -> tuple[float, float]:
    """(total seconds, seconds to the first body byte) of one request, body read in full."""
    t0 = time.perf_counter()
    first = 0.0
    async with client.stream("POST", url, content=raw, headers=headers) as response:
        async for chunk in response.aiter_raw():
            if chunk and not first:
                first = time.perf_counter()
        end = time.perf_counter()
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {await response.aread()!r}")
    return end - t0, first - t0


async def batch(
    url: str, raw: bytes, headers: dict[str, str], count: int, concurrency: int
) -> tuple[list[tuple[float, float]], float, int]:
    """``count`` requests by ``concurrency`` workers: the timings, the wall time, the failures."""
    import httpx

    # keepalive_expiry under uvicorn's 5 s keep-alive: no request on a connection being closed
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=2
    )
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        for _ in range(min(concurrency, 8)):  # warm connections
            await one(client, url, raw, headers)
        remaining = count
        errors = 0
        out: list[tuple[float, float]] = []

        async def worker() -> None:
            nonlocal remaining, errors
            while remaining > 0:
                remaining -= 1
                try:
                    out.append(await one(client, url, raw, headers))
                except (httpx.HTTPError, RuntimeError) as exc:
                    errors += 1
                    print(f"{url}: {type(exc).__name__}: {exc}", file=sys.stderr)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return out, time.perf_counter() - t0, errors


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(args: argparse.Namespace) -> None:
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as folder:
        try:
            up, up_url = start_self("upstream")
            procs.append(up)
            proxies: dict[str, tuple[str, int]] = {}
            plain, url = start_self("plain", up_url)
            proxies["plain"] = (url, plain.pid)
            procs.append(plain)
            fw, url = start_fwcompat(up_url)
            proxies["fwcompat serve"] = (url, fw.pid)
            procs.append(fw)
            if args.litellm:
                ll, url = start_litellm(args.litellm, up_url, folder)
                proxies["litellm"] = (url, ll.pid)
                procs.append(ll)
            run(args, proxies)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)


def run(args: argparse.Namespace, proxies: dict[str, tuple[str, int]]) -> None:
    body = twenty_messages()
    headers = {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": LITELLM_KEY,  # LiteLLM's master key; the others pass it on
    }
    names = list(proxies)
    results: dict[tuple[bool, int], dict[str, Any]] = {}
    for stream in (False, True):
        raw = json.dumps({**body, "stream": stream}).encode()
        for concurrency in (1, 64):
            count = args.requests if concurrency == 1 else args.requests * 8
            timings: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
            wall: dict[str, float] = dict.fromkeys(names, 0.0)
            cpu: dict[str, float] = dict.fromkeys(names, 0.0)
            failed: dict[str, int] = dict.fromkeys(names, 0)
            for r in range(args.rounds):
                order = names[r % len(names) :] + names[: r % len(names)]
                for name in order:
                    url, pid = proxies[name]
                    before = cpu_seconds(pid)
                    out, seconds, errors = asyncio.run(
                        batch(url + "/v1/messages", raw, headers, count, concurrency)
                    )
                    failed[name] += errors
                    cpu[name] += cpu_seconds(pid) - before
                    timings[name].extend(out)
                    wall[name] += seconds
            results[(stream, concurrency)] = {
                name: (
                    statistics.median(t for t, _ in timings[name]) * 1e3,
                    statistics.median(f for _, f in timings[name]) * 1e3,
                    len(timings[name]) / wall[name],
                    # CPU of the proxy process per request (warm-up requests included)
                    cpu[name] * 1e3 / (len(timings[name]) + args.rounds * min(concurrency, 8)),
                    failed[name],
                )
                for name in names
            }
            print(f"done: stream={stream} concurrency={concurrency}", file=sys.stderr)
    print_table(results, names, len(raw))


def print_table(
    results: dict[tuple[bool, int], dict[str, Any]], names: list[str], size: int
) -> None:
    print(f"\n20-message request ({size:,} bytes), loopback, same stub upstream")
    head = (
        f"{'case':<18}{'metric':<12}" + "".join(f"{n:>16}" for n in names) + f"{'serve/plain':>13}"
    )
    print(head)
    print("-" * len(head))
    for (stream, concurrency), row in results.items():
        case = f"{'stream' if stream else 'no stream'}, c={concurrency}"
        for i, metric in enumerate(("median ms", "TTFB ms", "req/s", "CPU ms/req", "failed")):
            cells = "".join(
                f"{row[n][i]:>16.0f}" if i in (2, 4) else f"{row[n][i]:>16.2f}" for n in names
            )
            if i < 4:
                ratio = row["fwcompat serve"][i] / row["plain"][i]
                pct = f"{(ratio - 1) * 100:+.1f}%"
            else:
                pct = ""
            print(f"{case if i == 0 else '':<18}{metric:<12}{cells}{pct:>13}")
        print("-" * len(head))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--requests", type=int, default=100, help="per proxy and round at c=1 (8x that at c=64)"
    )
    parser.add_argument("--litellm", metavar="PATH", help="the litellm executable, for a column")
    parser.add_argument("--serve", nargs=3, metavar=("KIND", "PORT", "UPSTREAM"))
    args = parser.parse_args()
    if args.serve:
        kind, port, upstream = args.serve
        serve(kind, int(port), upstream)
        return
    measure(args)


if __name__ == "__main__":
    main()
