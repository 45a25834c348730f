"""Added latency of fwcompat.asgi.CompatMiddleware per request, on loopback.

Three real uvicorn servers, each in its own process:

- the Fireworks-like stub of the integration tests (the upstream);
- gateway "plain": a forwarding app (httpx, streaming) to the upstream;
- gateway "fwcompat": the same app wrapped in CompatMiddleware.

An ``httpx.Client`` in this process sends the same 20-message request through
each gateway, alternating request by request so both see the same machine state; the
table shows the median and p95 request time of each, and the difference.
Two bodies: "clean" (compatible, forwarded as is) and "dirty" (4 unsupported
fields, so the middleware re-serializes the normalized body). A further table
times the middleware alone, in process, in front of an app that does nothing.

Then, side by side:

- the strict body decoder (UTF-8 only, duplicate keys refused) next to plain
  ``json.loads`` of the same bytes;
- head-of-line blocking: the latency of a small request while a 31 MB one is
  being checked, with the check in a worker thread (the default) and on the
  event loop (``thread_threshold`` above the body size, as before);
- the SSE decoder on one long line fed in 1 KiB chunks, 2 MB against 16 MB.

    python benchmarks/bench_asgi.py [--requests 2000] [--only extra]

Not a test: the numbers depend on the machine. Target (issue 4): the middleware
adds at most 10% to the request time of a 20-message request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "integration")]

MODEL = "accounts/fireworks/models/kimi-k2p5"


def twenty_messages() -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    for i in range(10):
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"Question {i}: " + "please summarise this. " * 20}
                ],
            }
        )
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": f"Answer {i}: " + "here is a short summary. " * 20},
                    {"type": "tool_use", "id": f"toolu_{i}", "name": "search", "input": {"q": i}},
                ]
                if i % 3 == 0
                else f"Answer {i}: " + "a plain string reply. " * 20,
            }
        )
    messages[-1] = {"role": "user", "content": "And finally?"}
    return {
        "model": MODEL,
        "max_tokens": 512,
        "system": "You are a careful assistant.",
        "messages": messages,
        "tools": [
            {
                "name": "search",
                "description": "Search the docs.",
                "input_schema": {"type": "object", "properties": {"q": {"type": "integer"}}},
            }
        ],
    }


def dirty(body: dict[str, Any]) -> dict[str, Any]:
    tools = [{**body["tools"][0], "cache_control": {"type": "ephemeral"}}]
    return {**body, "service_tier": "auto", "inference_geo": "us", "speed": "fast", "tools": tools}


def serve(kind: str, port: int, upstream: str) -> None:
    import logging

    import uvicorn
    from fireworks_stub import FireworksStub, ForwardingApp

    from fwcompat.asgi import CompatMiddleware

    logging.getLogger("fwcompat").setLevel(logging.ERROR)  # no per-request log lines
    app: Any
    if kind == "upstream":
        app = FireworksStub()
    elif kind == "plain":
        app = ForwardingApp(upstream)
    elif kind == "fwcompat-inline":
        app = CompatMiddleware(ForwardingApp(upstream), thread_threshold=1 << 30)
    else:
        app = CompatMiddleware(ForwardingApp(upstream))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start(kind: str, upstream: str = "") -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, str(port), upstream],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    url = f"http://127.0.0.1:{port}"
    import httpx

    for _ in range(200):
        try:
            httpx.get(url + "/", timeout=1)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{kind} server did not start")


def measure(requests: int) -> None:
    import httpx

    procs = []
    try:
        up, up_url = start("upstream")
        procs.append(up)
        plain, plain_url = start("plain", up_url)
        procs.append(plain)
        fw, fw_url = start("fwcompat", up_url)
        procs.append(fw)
        base = twenty_messages()
        bodies = {"clean": base, "dirty": dirty(base)}
        rows = []
        with httpx.Client(timeout=30) as client:
            for name, body in bodies.items():
                raw = json.dumps(body).encode()
                headers = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
                times: dict[str, list[float]] = {"plain": [], "fwcompat": []}
                urls = {"plain": plain_url, "fwcompat": fw_url}
                for url in urls.values():  # warm up connections and caches
                    for _ in range(100):
                        client.post(url + "/v1/messages", content=raw, headers=headers)
                order = list(urls.items())
                for i in range(requests):  # interleave one by one, alternating who goes first
                    for label, url in order if i % 2 else order[::-1]:
                        t0 = time.perf_counter()
                        r = client.post(url + "/v1/messages", content=raw, headers=headers)
                        times[label].append(time.perf_counter() - t0)
                        assert r.status_code == 200, r.text
                rows.append((name, len(raw), times))
        print(f"\nCompatMiddleware on loopback, 20-message request, {requests} requests each")
        print(f"{'body':<7}{'bytes':>7} | {'gateway':<9}{'median ms':>10}{'p95 ms':>9}")
        print("-" * 46)
        for name, size, times in rows:
            med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
            p95 = {k: statistics.quantiles(v, n=20)[18] * 1e3 for k, v in times.items()}
            for label in ("plain", "fwcompat"):
                print(f"{name:<7}{size:>7} | {label:<9}{med[label]:>10.3f}{p95[label]:>9.3f}")
            added = med["fwcompat"] - med["plain"]
            added95 = p95["fwcompat"] - p95["plain"]
            pct = 100 * added / med["plain"]
            print(f"{'':<7}{'':>7} | {'added':<9}{added:>+10.3f}{added95:>+9.3f}  ({pct:+.1f}%)")
            print("-" * 46)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
    in_process(requests)


def in_process(requests: int) -> None:
    """The middleware alone: an ASGI call with the body in one message and a no-op app."""
    import logging

    from fwcompat.asgi import CompatMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def noop_send(message: Any) -> None:
        return None

    logging.getLogger("fwcompat").setLevel(logging.ERROR)
    wrapped = CompatMiddleware(app)
    base = twenty_messages()
    print("\nCompatMiddleware alone, in process (no network), per request")
    print(f"{'body':<7} | {'median ms':>10}{'p95 ms':>9}")
    for name, body in (("clean", base), ("dirty", dirty(base))):
        raw = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(raw))]

        async def run(
            raw: bytes = raw, headers: list[tuple[bytes, bytes]] = headers
        ) -> list[float]:
            out = []
            for _ in range(requests):
                sent = False

                async def receive() -> dict[str, Any]:
                    nonlocal sent
                    if sent:
                        return {"type": "http.disconnect"}
                    sent = True
                    return {"type": "http.request", "body": raw, "more_body": False}

                scope: dict[str, Any] = {"type": "http", "method": "POST", "path": "/v1/messages"}
                scope["headers"] = headers
                t0 = time.perf_counter()
                await wrapped(scope, receive, noop_send)
                out.append(time.perf_counter() - t0)
            return out

        times = asyncio.run(run())
        med = statistics.median(times) * 1e3
        p95 = statistics.quantiles(times, n=20)[18] * 1e3
        print(f"{name:<7} | {med:>10.3f}{p95:>9.3f}")


def strict_decoder(rounds: int = 30) -> None:
    """fwcompat's strict body decoder next to ``json.loads`` of the same bytes (best of rounds)."""
    from fwcompat._http import decode_body

    print("\nStrict body decoder (UTF-8 only, duplicate keys refused) vs json.loads, best of")
    print(f"{'messages':>9}{'bytes':>11} | {'json.loads':>11}{'decode_body':>12}{'ratio':>7}")
    base = twenty_messages()
    for factor in (1, 100):
        body = {**base, "messages": base["messages"][:-1] * factor + base["messages"][-1:]}
        raw = json.dumps(body).encode()
        best = {"loads": float("inf"), "strict": float("inf")}
        for _ in range(rounds):
            for name, fn in (("loads", json.loads), ("strict", decode_body)):
                t0 = time.perf_counter()
                fn(raw)
                best[name] = min(best[name], time.perf_counter() - t0)
        ratio = best["strict"] / best["loads"]
        print(
            f"{len(body['messages']):>9}{len(raw):>11,} | {best['loads'] * 1e3:>9.3f}ms"
            f"{best['strict'] * 1e3:>10.3f}ms{ratio:>6.2f}x"
        )


BIG_REQUESTS = 5


def big_request(size: int, server_tools: int = 2000) -> bytes:
    """A request of about ``size`` bytes whose check is slow: many server tools, many turns."""
    text = "All work and no play makes Jack a dull boy. " * 100
    turns = max(1, size // (len(text) + 60)) | 1
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": text} for i in range(turns)
    ]
    tools = [{"type": "web_search_20250305", "name": f"search_{i}"} for i in range(server_tools)]
    return json.dumps({**twenty_messages(), "messages": messages, "tools": tools}).encode()


def head_of_line() -> None:
    """Small requests while a 31 MB request is checked: worker thread vs event loop."""
    import threading

    import httpx

    procs = []
    try:
        up, up_url = start("upstream")
        procs.append(up)
        gateways = {}
        for kind in ("fwcompat", "fwcompat-inline"):
            proc, url = start(kind, up_url)
            procs.append(proc)
            gateways[kind] = url
        big = big_request(31 * 1024 * 1024)
        small = json.dumps(twenty_messages()).encode()
        print(
            f"\nA 20-message request while a {len(big) / 1e6:.1f} MB request "
            "(2,000 server tools: rejected) is in flight"
        )
        print(
            f"{'big body checked':<18} | {'idle median':>12}{'during: median':>16}"
            f"{'max':>9}{'n':>5}"
        )
        labels = {"fwcompat": "in a thread", "fwcompat-inline": "on the loop"}
        for kind, url in gateways.items():
            with httpx.Client(timeout=120) as client:
                idle = []
                for _ in range(60):
                    t0 = time.perf_counter()
                    client.post(url + "/v1/messages", content=small)
                    idle.append(time.perf_counter() - t0)
                done = threading.Event()

                def send_big(url: str = url, done: threading.Event = done) -> None:
                    with httpx.Client(timeout=300) as other:
                        for _ in range(BIG_REQUESTS):
                            assert other.post(url + "/v1/messages", content=big).status_code == 400
                    done.set()

                sender = threading.Thread(target=send_big)
                sender.start()
                during = []
                while not done.is_set():
                    t0 = time.perf_counter()
                    client.post(url + "/v1/messages", content=small)
                    during.append(time.perf_counter() - t0)
                sender.join()
            print(
                f"{labels[kind]:<18} | {statistics.median(idle) * 1e3:>10.2f}ms"
                f"{statistics.median(during) * 1e3:>14.2f}ms{max(during) * 1e3:>7.0f}ms"
                f"{len(during):>5}"
            )
        print(f"(small requests sent one after another while {BIG_REQUESTS} big ones go through)")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def sse_long_line() -> None:
    """The SSE decoder on one long line in 1 KiB chunks: time grows with size, not its square."""
    from fwcompat.usage import SSEDecoder

    print("\nSSEDecoder, one data line fed in 1 KiB chunks (best of 5)")
    print(f"{'line':>8} | {'feeding':>9}{'whole':>10}")
    chunk = b"x" * 1024
    times = {}
    for mib in (2, 16):
        feeding = whole = float("inf")
        for _ in range(5):
            decoder = SSEDecoder()
            t0 = time.perf_counter()
            decoder.feed(b"data: ")
            for _ in range(mib * 1024):
                decoder.feed(chunk)
            t1 = time.perf_counter()
            decoder.feed(b"\n\n")
            t2 = time.perf_counter()
            feeding, whole = min(feeding, t1 - t0), min(whole, t2 - t0)
        times[mib] = (feeding, whole)
        print(f"{mib:>4} MiB | {feeding * 1e3:>7.1f}ms{whole * 1e3:>8.1f}ms")
    ratio = [times[16][i] / times[2][i] for i in (0, 1)]
    print(f"growth for 8x the bytes: feeding {ratio[0]:.1f}x, whole {ratio[1]:.1f}x")


def sse_stream(deltas: int = 300) -> bytes:
    """A streamed answer as Fireworks sends it: ``deltas`` text deltas, the usage at the end."""
    frames = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "model": MODEL,
            "content": [], "stop_reason": None, "usage": {"input_tokens": 0, "output_tokens": 0},
        }}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("ping", {"type": "ping"}),
    ]  # fmt: skip
    for i in range(deltas):
        delta = {"type": "text_delta", "text": f" word{i} and some more text"}
        frames.append(("content_block_delta",
                       {"type": "content_block_delta", "index": 0, "delta": delta}))  # fmt: skip
    frames += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                           "usage": {"input_tokens": 2000, "output_tokens": deltas}}),
        ("message_stop", {"type": "message_stop"}),
    ]  # fmt: skip
    return b"".join(f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in frames)


def usage_meter(rounds: int = 50) -> None:
    """The usage meter on a 300-delta stream, next to decoding the SSE alone and to
    ``json.loads`` of every event (what a meter that parses everything pays)."""
    from fwcompat.usage import SSEDecoder, UsageMeter

    body = sse_stream()
    chunks = [body[i : i + 1400] for i in range(0, len(body), 1400)]  # about one TCP segment

    def meter() -> None:
        m = UsageMeter()
        for chunk in chunks:
            m.feed_bytes(chunk)
        m.finish()
        assert m.usage is not None
        assert m.ok

    def decode_only() -> None:
        decoder = SSEDecoder()
        for chunk in chunks:
            decoder.feed(chunk)

    def parse_all() -> None:
        decoder = SSEDecoder()
        for chunk in chunks:
            for event in decoder.feed(chunk):
                json.loads(event.data)

    print(f"\nUsage metering, one stream of 300 deltas ({len(body):,} bytes, best of {rounds})")
    for name, fn in (("UsageMeter", meter), ("SSE decode only", decode_only),
                     ("decode + json.loads of every event", parse_all)):  # fmt: skip
        best = float("inf")
        for _ in range(rounds):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        print(f"{name:<36}{best * 1e6:>10.1f} us/stream")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--only", choices=["latency", "extra"])
    parser.add_argument("--serve", nargs=3, metavar=("KIND", "PORT", "UPSTREAM"))
    args = parser.parse_args()
    if args.serve:
        kind, port, upstream = args.serve
        serve(kind, int(port), upstream)
        return
    if args.only != "extra":
        measure(args.requests)
    if args.only != "latency":
        strict_decoder()
        head_of_line()
        sse_long_line()
        usage_meter()


if __name__ == "__main__":
    main()
