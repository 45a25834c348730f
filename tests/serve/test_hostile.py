"""A real ``fwcompat serve`` under hostile traffic: its /metrics stays bounded, and a killed
worker leaves the in-flight gauge right.

Bounds are asserted by counting (series, bytes), never by timing; the server's output is
read only once complete (a whole response, or a poll with a deadline for an exact state).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

import httpx
from fireworks_stub import Upstream
from prometheus_client.parser import text_string_to_metric_families

from fwcompat.serve._metrics import OTHER, SERVED_MODEL_LABELS
from tests.serve.conftest import MODEL, Proxy, ServeFactory, wait_until

NAMES = 5000
CONCURRENCY = 16


def labelled_series(text: str) -> dict[str, list[dict[str, str]]]:
    """The labels of every labelled sample of a /metrics text, by sample name."""
    out: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels and not sample.name.endswith("_bucket"):
                out.setdefault(sample.name, []).append(sample.labels)
    return out


def value(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    raise AssertionError(f"no sample {name}{labels}")


async def send_models(url: str, models: list[str]) -> list[int]:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    queue = list(reversed(models))
    statuses: list[int] = []
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:

        async def worker() -> None:
            while queue:
                model = queue.pop()
                body = {
                    "model": model,
                    "max_tokens": 8,
                    "messages": [{"role": "user", "content": "Hi"}],
                }
                statuses.append((await client.post(url, json=body)).status_code)

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return statuses


def test_5000_model_names_leave_metrics_bounded(serve: ServeFactory, upstream: Upstream) -> None:
    proxy = serve("--model-map", f"claude-sonnet-4-6={MODEL}")
    url = proxy.url + "/v1/messages"
    hostile = [f"accounts/probe/models/m{i:05d}" for i in range(NAMES)]
    assert asyncio.run(send_models(url, ["claude-sonnet-4-6", *hostile[:500]])) == [200] * 501
    warm = proxy.metrics()
    warm_rss = proxy.rss_kib()
    assert asyncio.run(send_models(url, hostile[500:])) == [200] * (NAMES - 500)
    final = proxy.metrics()
    final_rss = proxy.rss_kib()
    assert len(upstream.received) == NAMES + 1
    series = labelled_series(final)
    # Exactly the bounded set: the model_map target, the first served models, other.
    models = {labels["model"] for labels in series["fwcompat_serve_tokens_total"]}
    assert {MODEL, OTHER} <= models
    assert models - {MODEL, OTHER} <= set(hostile[:500])  # served first (while warming up)
    assert len(models) == SERVED_MODEL_LABELS + 2
    assert value(final, "fwcompat_serve_requests_total", status="200") == NAMES + 1
    input_other = value(final, "fwcompat_serve_tokens_total", model=OTHER, kind="input")
    assert input_other > value(warm, "fwcompat_serve_tokens_total", model=OTHER, kind="input")
    # 4,500 more names: not one more series, and /metrics the same size but for digits.
    assert {k: len(v) for k, v in labelled_series(warm).items()} == {
        k: len(v) for k, v in series.items()
    }
    assert len(final) <= len(warm) + 4 * len(final.splitlines())
    print(f"/metrics {len(warm)} -> {len(final)} bytes; RSS {warm_rss} -> {final_rss} KiB")


def test_workers_share_a_bounded_set_of_series(serve: ServeFactory, upstream: Upstream) -> None:
    # The probe: 1,500 names, here over 2 workers (prometheus-client's files).
    proxy = serve("--workers", "2")
    hostile = [f"accounts/probe/models/m{i:05d}" for i in range(1500)]
    assert asyncio.run(send_models(proxy.url + "/v1/messages", hostile)) == [200] * 1500
    text = proxy.metrics()
    series = labelled_series(text)
    models = {labels["model"] for labels in series["fwcompat_serve_tokens_total"]}
    assert OTHER in models
    assert len(models) <= 2 * SERVED_MODEL_LABELS + 1  # each worker's first served, other
    assert len(series["fwcompat_serve_tokens_total"]) == 2 * len(models)  # input, output
    assert value(text, "fwcompat_serve_requests_total", status="200") == 1500


def test_metrics_max_series_flag_caps_the_series(serve: ServeFactory, upstream: Upstream) -> None:
    proxy = serve("--metrics-max-series", "3")
    url = proxy.url + "/v1/messages"
    models = [MODEL, "accounts/fireworks/models/other-a", "accounts/fireworks/models/other-b"]
    assert asyncio.run(send_models(url, models)) == [200] * 3
    text = proxy.metrics()
    series = labelled_series(text)
    kept = sum(len(v) for k, v in series.items() if k != "fwcompat_serve_metrics_dropped_total")
    assert kept == 3  # requests{200}, then one model's input and output tokens
    assert value(text, "fwcompat_serve_metrics_dropped_total", metric="tokens") == 4.0


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def worker_serving(proxy: Proxy, client_port: int) -> int:
    """The worker pid holding the server end of the connection from ``client_port``."""
    server_port = int(proxy.url.rsplit(":", 1)[1])
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == (
            client_port
        ):
            inode = fields[9]
    assert inode is not None, "no server socket for the connection"
    pid = proxy.process.pid
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        if inode in _socket_inodes(int(child)):
            return int(child)
    raise AssertionError("no worker holds the connection")


def in_flight(proxy: Proxy) -> float:
    return value(proxy.metrics(), "fwcompat_serve_in_flight_requests")


def test_killed_worker_leaves_no_request_in_flight(serve: ServeFactory, upstream: Upstream) -> None:
    proxy = serve("--workers", "2")
    port = int(proxy.url.rsplit(":", 1)[1])
    body = (
        b'{"model": "' + MODEL.encode() + b'", "max_tokens": 16, "stream": true,'
        b' "messages": [{"role": "user", "content": "Hi"}]}'
    )
    request = (
        b"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        b"x-stub-shape: stall-mid\r\nx-stub-delay: 60\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    with socket.create_connection(("127.0.0.1", port), timeout=60) as client:
        client.sendall(request)
        seen = b""
        while b"message_start" not in seen:  # mid-stream: the upstream now stalls 60 s
            chunk = client.recv(65536)
            assert chunk, f"the proxy closed the stream early: {seen!r}"
            seen += chunk
        assert in_flight(proxy) == 1.0
        victim = worker_serving(proxy, client.getsockname()[1])
        os.kill(victim, signal.SIGKILL)
        rest = b""
        try:
            while chunk := client.recv(65536):  # the connection dies with its worker
                rest += chunk
        except ConnectionResetError:
            pass
        assert b"message_stop" not in rest
    # Once the supervisor has reaped the worker, the gauge counts live workers only.
    assert wait_until(lambda: in_flight(proxy) == 0.0, 60), proxy.metrics()
    assert wait_until(lambda: bool(upstream.received) and upstream.received[-1].disconnected)
    # The replacement worker serves, and its requests are counted as before.
    with httpx.Client(timeout=30) as client:
        for _ in range(4):
            response = client.post(
                proxy.url + "/v1/messages",
                json={
                    "model": MODEL,
                    "max_tokens": 8,
                    "messages": [{"role": "user", "content": "Hi"}],
                },
                headers={"connection": "close"},
            )
            assert response.status_code == 200
    assert in_flight(proxy) == 0.0
