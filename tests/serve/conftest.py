"""Real ``fwcompat serve`` processes in front of the Fireworks-like stub (a real uvicorn)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))

from fireworks_stub import FireworksStub, Received, ServerThread, Upstream

MODEL = "accounts/fireworks/models/kimi-k2p5"
STARTUP_DEADLINE = 60.0
"""Seconds a proxy may take to answer /healthz: generous, for a loaded 2-core machine."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], deadline: float = 30.0) -> bool:
    """Poll ``predicate`` until it holds or ``deadline`` seconds pass (a cap, not a threshold)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class Proxy:
    """A running ``fwcompat serve`` process: its URL, its request log, and how to stop it."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
        self.process = process
        self.url = url
        self.log_path = log_path

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def records(self) -> list[dict[str, Any]]:
        """The JSON request lines logged so far: complete lines only.

        A line is read once its newline is written; the server may be halfway
        through writing the next one (a half line is not JSON yet).
        """
        text = self.log_text()
        out = []
        for line in text[: text.rfind("\n") + 1].splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def wait_records(self, count: int) -> list[dict[str, Any]]:
        """The request lines, once ``count`` of them are written (a line follows the response)."""
        wait_until(lambda: len(self.records()) >= count)
        return self.records()

    def line(self, request_id: str) -> dict[str, Any]:
        """The log line of the request sent with ``x-request-id: request_id``, once written."""

        def find() -> dict[str, Any] | None:
            return next((r for r in self.records() if r["request_id"] == request_id), None)

        wait_until(lambda: find() is not None)
        found = find()
        assert found is not None, f"no log line for {request_id}:\n{self.log_text()}"
        return found

    def metrics(self) -> str:
        return httpx.get(self.url + "/metrics", timeout=30).text

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def stop(self) -> int:
        """SIGTERM, then the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


ServeFactory = Callable[..., Proxy]

STOPPED = (0,)
"""Exit status of a proxy stopped by SIGTERM, once drained."""


def start_serve(
    args: list[str],
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    wait: bool = True,
) -> Proxy:
    port = free_port()
    command = [sys.executable, "-m", "fwcompat", "serve", "--port", str(port), *args]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=log, env=full_env, cwd=cwd
        )
    proxy = Proxy(process, f"http://127.0.0.1:{port}", log_path)
    if wait:

        def healthy() -> bool:
            if process.poll() is not None:
                return True
            try:
                return httpx.get(proxy.url + "/healthz", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, STARTUP_DEADLINE)
        if process.poll() is not None:
            pytest.fail(f"fwcompat serve exited {process.returncode}:\n{proxy.log_text()}")
    return proxy


@pytest.fixture(scope="session")
def _upstream_server() -> Iterator[Upstream]:
    stub = FireworksStub()
    with ServerThread(stub) as server:
        yield Upstream(server.url, stub)


@pytest.fixture
def upstream(_upstream_server: Upstream) -> Upstream:
    """The Fireworks-like stub, with an empty record of received requests."""
    _upstream_server.stub.clear()
    return _upstream_server


@pytest.fixture
def serve(upstream: Upstream, tmp_path: Path) -> Iterator[ServeFactory]:
    """Start ``fwcompat serve --upstream <stub> --isolated --log-format json ARGS...``."""
    started: list[Proxy] = []

    def factory(*args: str, env: dict[str, str] | None = None, **kwargs: Any) -> Proxy:
        base = ["--upstream", upstream.url, "--isolated", "--log-format", "json"]
        proxy = start_serve(
            [*base, *args], tmp_path / f"serve-{len(started)}.log", env=env, **kwargs
        )
        started.append(proxy)
        return proxy

    yield factory
    for proxy in started:
        proxy.stop()


@pytest.fixture(scope="module")
def _shared_proxy(
    _upstream_server: Upstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Proxy]:
    log = tmp_path_factory.mktemp("serve") / "shared.log"
    args = [
        "--upstream",
        _upstream_server.url,
        "--isolated",
        "--log-format",
        "json",
        "--model-map",
        f"claude-sonnet-4-6={MODEL}",
        "--max-body-size",
        "65536",
    ]
    proxy = start_serve(args, log)
    yield proxy
    assert proxy.stop() in STOPPED


@pytest.fixture
def proxy(_shared_proxy: Proxy, upstream: Upstream) -> Proxy:
    """One `fwcompat serve` per test module (model_map for claude-sonnet-4-6, 64 KiB body limit)."""
    return _shared_proxy


def last(upstream: Upstream) -> Received:
    received = upstream.received
    assert received, "the upstream received nothing"
    return received[-1]
