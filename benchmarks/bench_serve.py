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
process. Rounds alternate between the proxies so they see the same machine state.

Per case and proxy: p50 and p95 of the total time, p50 of the time to the first body byte
(TTFB), throughput (requests per second of wall time), and the CPU time per request of three
processes, read from /proc (the time its threads ran, over the requests served): the
proxy, the stub upstream and the load generator; and the proxy's resident memory after the
case's bursts (the most seen). Everything shares the machine's cores (2 on
the project's machine): at c=64 they are saturated and the latency of every proxy follows the
sum of the three CPU figures, so the proxy's CPU row is the figure least disturbed by the
rest of the machine. The load generator and the stub run at ``--nice 10`` (default), so that
the proxy measured gets the cores first. The column ``serve/plain`` is fwcompat serve against
the plain proxy on the same client library (aiohttp); ``httpx/aiohttp`` compares the two plain
proxies; under each case, the CPU serve adds per request.

    python benchmarks/bench_serve.py [--rounds 3] [--requests 100] [--nice 10]
        [--skip-httpx] [--litellm PATH] [--baseline TREE]

``--baseline TREE`` adds a second ``fwcompat serve``, run from another source tree (a
``git archive main | tar -x -C TREE``, say), measured in the same rounds: a change's effect
is then read from one run, not from two runs on a machine whose load moves between them.

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


def start_self(kind: str, upstream: str = "", nice: int = 0) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, str(port), upstream],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        preexec_fn=(lambda: os.nice(nice)) if nice else None,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(proc, url, kind)
    return proc, url


def start_fwcompat(upstream: str, tree: str | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """``fwcompat serve`` as installed, or from the source ``tree`` (put first on the path)."""
    port = free_port()
    command = [sys.executable, "-m", "fwcompat", "serve", "--isolated", "--upstream", upstream]
    command += ["--port", str(port), "--log-format", "json"]
    env = None
    if tree:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([tree, os.environ.get("PYTHONPATH", "")]),
        }
    # cwd: ``python -m`` puts the working directory first on the path, before PYTHONPATH
    proc = subprocess.Popen(command, stderr=subprocess.DEVNULL, env=env, cwd=tree or None)
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
    """CPU time of process ``pid`` so far: the nanoseconds its threads ran (Linux
    ``/proc/PID/task/*/schedstat``), else user + system ticks (``/proc/PID/stat``, 10 ms
    steps); 0 elsewhere."""
    tasks = Path(f"/proc/{pid}/task")
    try:
        return sum(int((t / "schedstat").read_text().split()[0]) for t in tasks.iterdir()) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (Linux ``/proc/PID/status``; 0 elsewhere)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def measure(args: argparse.Namespace) -> None:
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as folder:
        try:
            up, up_url = start_self("upstream", nice=args.nice)
            procs.append(up)
            proxies: dict[str, tuple[str, int]] = {}
            kinds = ("plain-aiohttp",) if args.skip_httpx else ("plain-aiohttp", "plain-httpx")
            for kind in kinds:
                plain, url = start_self(kind, up_url)
                proxies[kind.replace("-", " ")] = (url, plain.pid)
                procs.append(plain)
            fw, url = start_fwcompat(up_url)
            proxies["fwcompat serve"] = (url, fw.pid)
            procs.append(fw)
            if args.baseline:
                base, url = start_fwcompat(up_url, args.baseline)
                proxies["serve baseline"] = (url, base.pid)
                procs.append(base)
            if args.litellm:
                ll, url = start_litellm(args.litellm, up_url, folder)
                proxies["litellm"] = (url, ll.pid)
                procs.append(ll)
            if args.nice:
                os.nice(
                    args.nice
                )  # the load generator: after the proxies started, at full priority
            run(args, proxies, up.pid)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=30)


def run(args: argparse.Namespace, proxies: dict[str, tuple[str, int]], stub: int) -> None:
    body = twenty_messages()
    headers = {
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-api-key": LITELLM_KEY,  # LiteLLM's master key; the others pass it on
    }
    results: dict[tuple[bool, int], dict[str, Case]] = {}
    for url, _ in proxies.values():  # warm-up, not counted: imports, pools, first requests
        raw = json.dumps({**body, "stream": True}).encode()
        asyncio.run(batch(url + "/v1/messages", raw, headers, 16, 8))
    for stream in (False, True):
        raw = json.dumps({**body, "stream": stream}).encode()
        for concurrency in (1, 64):
            count = args.requests if concurrency == 1 else args.requests * 8
            cases = {name: Case() for name in proxies}
            for r in range(args.rounds):
                names = list(proxies)
                for name in names[r % len(names) :] + names[: r % len(names)]:
                    url, pid = proxies[name]
                    cases[name].add(url, pid, stub, raw, headers, count, concurrency)
            results[(stream, concurrency)] = cases
            print(f"done: stream={stream} concurrency={concurrency}", file=sys.stderr)
    print_table(results, list(proxies), len(raw), args.nice)


class Case:
    """One proxy's figures in one case, summed over the rounds."""

    def __init__(self) -> None:
        self.timings: list[tuple[float, float]] = []
        self.wall = 0.0
        self.served = 0  # warm-up requests included: the CPU figures count them
        self.cpu = {"proxy": 0.0, "stub": 0.0, "client": 0.0}
        self.failed = 0
        self.rss = 0.0

    def add(self, url: str, pid: int, stub: int, raw: bytes, headers: dict[str, str],
            count: int, concurrency: int) -> None:  # fmt: skip
        before = (cpu_seconds(pid), cpu_seconds(stub), time.process_time())
        out, seconds, errors = asyncio.run(
            batch(url + "/v1/messages", raw, headers, count, concurrency)
        )
        after = (cpu_seconds(pid), cpu_seconds(stub), time.process_time())
        for key, b, a in zip(self.cpu, before, after, strict=True):
            self.cpu[key] += a - b
        self.failed += errors
        self.timings.extend(out)
        self.wall += seconds
        self.served += len(out) + min(concurrency, 8)
        self.rss = max(self.rss, rss_mb(pid))

    def row(self) -> dict[str, float]:
        total = sorted(t for t, _ in self.timings)
        first = sorted(f for _, f in self.timings)
        per = 1e6 / max(self.served, 1)
        return {
            "p50 ms": statistics.median(total) * 1e3,
            "p95 ms": total[int(len(total) * 0.95)] * 1e3,
            "TTFB p50 ms": statistics.median(first) * 1e3,
            "req/s": len(total) / self.wall,
            "proxy CPU us/req": self.cpu["proxy"] * per,
            "stub CPU us/req": self.cpu["stub"] * per,
            "client CPU us/req": self.cpu["client"] * per,
            "proxy RSS MB": self.rss,
            "failed": self.failed,
        }


RATIOS = (("serve/plain", "fwcompat serve", "plain aiohttp"), ("httpx/aiohttp", "plain httpx",
          "plain aiohttp"), ("base/plain", "serve baseline", "plain aiohttp"),
          ("serve/base", "fwcompat serve", "serve baseline"))  # fmt: skip
_WHOLE = ("req/s", "failed", "proxy CPU us/req", "stub CPU us/req", "client CPU us/req",
          "proxy RSS MB")  # fmt: skip


def print_table(
    results: dict[tuple[bool, int], dict[str, Case]], names: list[str], size: int, nice: int
) -> None:
    print(f"\n20-message request ({size:,} bytes), loopback, same stub upstream")
    print(
        f"{os.cpu_count()} CPU cores shared by the load generator (this process, aiohttp, "
        f"nice +{nice}), the stub upstream (nice +{nice}) and the proxy measured (nice 0);\n"
        "CPU us/req: each process's CPU time (/proc) over the requests it served. "
        "Where the cores are saturated (c=64), latency follows the sum of the three CPU rows."
    )
    ratios = [r for r in RATIOS if r[1] in names and r[2] in names]
    head = f"{'case':<16}{'metric':<19}" + "".join(f"{n:>16}" for n in names)
    head += "".join(f"{label:>15}" for label, _, _ in ratios)
    print(head)
    print("-" * len(head))
    for (stream, concurrency), cases in results.items():
        case = f"{'stream' if stream else 'no stream'}, c={concurrency}"
        rows = {name: cases[name].row() for name in names}
        for i, metric in enumerate(rows[names[0]]):
            fmt = ".0f" if metric in _WHOLE else ".2f"
            cells = "".join(f"{rows[n][metric]:>16{fmt}}" for n in names)
            for _, top, bottom in ratios:
                b = rows[bottom][metric]
                ratio = f"x{rows[top][metric] / b:.2f}" if metric != "failed" and b else ""
                cells += f"{ratio:>15}"
            print(f"{case if i == 0 else '':<16}{metric:<19}{cells}")
        if "fwcompat serve" in rows and "plain aiohttp" in rows:
            added = rows["fwcompat serve"]["proxy CPU us/req"]
            added -= rows["plain aiohttp"]["proxy CPU us/req"]
            print(f"{'':<16}serve adds {added:.0f} us of CPU per request to the plain proxy")
        print("-" * len(head))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--requests", type=int, default=100, help="per proxy and round at c=1 (8x that at c=64)"
    )
    parser.add_argument("--litellm", metavar="PATH", help="the litellm executable, for a column")
    parser.add_argument("--skip-httpx", action="store_true", help="no plain httpx column")
    parser.add_argument(
        "--baseline",
        metavar="TREE",
        help="also run fwcompat serve from this source tree (e.g. `git archive main` unpacked): "
        "a 'serve baseline' column, measured in the same rounds, and serve/base ratios",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=10,
        help="niceness of the load generator and the stub (default 10; 0: all equal), so "
        "that the proxies get the shared cores first",
    )
    parser.add_argument("--serve", nargs=3, metavar=("KIND", "PORT", "UPSTREAM"))
    args = parser.parse_args()
    if args.serve:
        kind, port, upstream = args.serve
        serve(kind, int(port), upstream)
        return
    measure(args)


if __name__ == "__main__":
    main()
