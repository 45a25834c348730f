"""`fwcompat serve` next to a plain forwarding proxy (and LiteLLM's proxy), side by side.

All against the same Fireworks-like stub upstream, in one run, each server its own
process on loopback:

- "plain aiohttp": a plain forwarding proxy (uvicorn + aiohttp, the client library of
  ``fwcompat serve``, the same pool settings), streaming, no checks, no log, no metrics;
- "plain httpx": the same proxy on httpx with a tuned pool (one client, http1, 64
  keep-alive connections): the other client library measured for the upstream;
- "fwcompat serve": the real command (``fwcompat serve --upstream <stub> --log-format json``,
  so its log line and metrics are paid for too);
- "litellm": LiteLLM's proxy with one model whose ``api_base`` is the stub, when
  ``--litellm PATH`` names its ``litellm`` executable (a separate virtualenv:
  ``pip install 'litellm[proxy]'``).

A 20-message request (the one of ``bench_asgi.py``), non-streaming and streaming, at
concurrency 1 and 64. The load client is aiohttp (the cheapest client measured), in this
process. Rounds alternate between the proxies so they see the same machine
state. Per request: total time and time to first body byte (TTFB); per case: median of
each, throughput (requests per second of wall time), and the CPU time the proxy process
spent per request (from /proc: the figure least disturbed by other load on the machine).
The column ``serve/plain`` is fwcompat serve against the plain proxy on the same
client library (aiohttp); ``httpx/aiohttp`` compares the two plain proxies.

    python benchmarks/bench_serve.py [--rounds 3] [--requests 100] [--litellm PATH]

Not a test: the numbers depend on the machine. Target (issue 17): fwcompat serve adds at
most 10% to the median latency of the plain proxy, at c=1 and c=64, streamed and not.
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


_HOP = frozenset(
    {b"host", b"connection", b"keep-alive", b"transfer-encoding", b"te", b"upgrade",
     b"proxy-connection", b"content-length"}
)  # fmt: skip


async def _read_all(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _lifespan(receive: Any, send: Any, close: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await close()
            await send({"type": "lifespan.shutdown.complete"})
            return


class PlainHttpx:
    """A plain forwarding proxy on httpx, its pool tuned: one client, http1, 64 kept alive."""

    def __init__(self, upstream: str) -> None:
        self.url = upstream.rstrip("/") + "/v1/messages"
        self.client: Any = None

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        import httpx

        if scope["type"] == "lifespan":
            await _lifespan(receive, send, self.close)
            return
        if self.client is None:
            limits = httpx.Limits(
                max_connections=100, max_keepalive_connections=64, keepalive_expiry=4.0
            )
            self.client = httpx.AsyncClient(
                timeout=httpx.Timeout(600, connect=10), limits=limits, trust_env=False
            )
        body = await _read_all(receive)
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP]
        request = self.client.build_request("POST", self.url, headers=headers, content=body)
        response = await self.client.send(request, stream=True)
        try:
            out = [(k, v) for k, v in response.headers.raw if k.lower() not in _HOP]
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": out})  # fmt: skip
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()


class PlainAiohttp:
    """The same plain proxy on aiohttp, with the session settings of fwcompat serve."""

    def __init__(self, upstream: str) -> None:
        self.url = upstream.rstrip("/") + "/v1/messages"
        self.session: Any = None

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        import aiohttp

        if scope["type"] == "lifespan":
            await _lifespan(receive, send, self.close)
            return
        if self.session is None:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=100, limit_per_host=0, keepalive_timeout=4),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=600),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
            )
        body = await _read_all(receive)
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.lower() not in _HOP
        ]
        async with self.session.post(self.url, headers=headers, data=body) as response:
            out = [(k, v) for k, v in response.raw_headers if k.lower() not in _HOP]
            await send({"type": "http.response.start", "status": response.status,
                        "headers": out})  # fmt: skip
            async for chunk in response.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})


def serve(kind: str, port: int, upstream: str) -> None:
    """Run one server in this process (the benchmark starts itself with --serve)."""
    import uvicorn
    from fireworks_stub import FireworksStub

    apps: dict[str, Any] = {"plain-httpx": PlainHttpx, "plain-aiohttp": PlainAiohttp}
    app: Any = FireworksStub() if kind == "upstream" else apps[kind](upstream)
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
    async with client.post(url, data=raw, headers=headers) as response:
        async for chunk in response.content.iter_any():
            if chunk and not first:
                first = time.perf_counter()
        end = time.perf_counter()
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status} {await response.read()!r}")
    return end - t0, first - t0


async def batch(
    url: str, raw: bytes, headers: dict[str, str], count: int, concurrency: int
) -> tuple[list[tuple[float, float]], float, int]:
    """``count`` requests by ``concurrency`` workers: the timings, the wall time, the failures."""
    import aiohttp

    # keepalive under uvicorn's 5 s keep-alive: no request on a connection being closed
    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=2)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
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
                except (aiohttp.ClientError, asyncio.TimeoutError, RuntimeError) as exc:
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
            for kind in ("plain-aiohttp", "plain-httpx"):
                plain, url = start_self(kind, up_url)
                proxies[kind.replace("-", " ")] = (url, plain.pid)
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


RATIOS = (("serve/plain", "fwcompat serve", "plain aiohttp"), ("httpx/aiohttp", "plain httpx",
          "plain aiohttp"))  # fmt: skip


def print_table(
    results: dict[tuple[bool, int], dict[str, Any]], names: list[str], size: int
) -> None:
    print(f"\n20-message request ({size:,} bytes), loopback, same stub upstream")
    head = f"{'case':<18}{'metric':<12}" + "".join(f"{n:>16}" for n in names)
    head += "".join(f"{label:>15}" for label, _, _ in RATIOS)
    print(head)
    print("-" * len(head))
    for (stream, concurrency), row in results.items():
        case = f"{'stream' if stream else 'no stream'}, c={concurrency}"
        for i, metric in enumerate(("median ms", "TTFB ms", "req/s", "CPU ms/req", "failed")):
            cells = "".join(
                f"{row[n][i]:>16.0f}" if i in (2, 4) else f"{row[n][i]:>16.2f}" for n in names
            )
            for _, top, bottom in RATIOS:
                ratio = row[top][i] / row[bottom][i] if i < 4 and row[bottom][i] else None
                cells += f"{'' if ratio is None else f'x{ratio:.2f}':>15}"
            print(f"{case if i == 0 else '':<18}{metric:<12}{cells}")
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
