"""Fixtures: a Fireworks-like server and fwcompat gateways, each a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fireworks_stub import FireworksStub, ForwardingApp, ServerThread, Upstream

from fwcompat.asgi import CompatMiddleware
from fwcompat.usage import StreamIssue, Usage


@pytest.fixture(scope="session")
def _upstream_server() -> Iterator[Upstream]:
    stub = FireworksStub()
    with ServerThread(stub) as server:
        yield Upstream(server.url, stub)


@pytest.fixture
def upstream(_upstream_server: Upstream) -> Upstream:
    """The Fireworks-like server, with an empty record of received requests."""
    _upstream_server.stub.clear()
    return _upstream_server


@pytest.fixture(scope="session")
def gateway_url(_upstream_server: Upstream) -> Iterator[str]:
    """A gateway: CompatMiddleware in front of an app forwarding to the upstream."""
    app = CompatMiddleware(ForwardingApp(_upstream_server.url))
    with ServerThread(app) as server:
        yield server.url


@pytest.fixture(scope="session")
def small_gateway_url(_upstream_server: Upstream) -> Iterator[str]:
    """The same gateway with a 2 KiB body limit, for the 413 tests."""
    app = CompatMiddleware(ForwardingApp(_upstream_server.url), max_body_size=2048)
    with ServerThread(app) as server:
        yield server.url


@dataclass
class MeteredGateway:
    url: str
    reports: list[tuple[str, Usage | None, tuple[StreamIssue, ...]]]

    def wait(self, count: int = 1) -> list[tuple[str, Usage | None, tuple[StreamIssue, ...]]]:
        """The reports, once ``count`` arrived: on_usage runs after the last chunk is sent."""
        deadline = time.monotonic() + 5
        while len(self.reports) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return list(self.reports)


@pytest.fixture(scope="session")
def _metered_gateway(_upstream_server: Upstream) -> Iterator[MeteredGateway]:
    reports: list[tuple[str, Usage | None, tuple[StreamIssue, ...]]] = []

    def on_usage(scope: Any, usage: Usage | None, issues: tuple[StreamIssue, ...]) -> None:
        reports.append((scope["path"], usage, issues))

    app = CompatMiddleware(ForwardingApp(_upstream_server.url), on_usage=on_usage)
    with ServerThread(app) as server:
        yield MeteredGateway(server.url, reports)


@pytest.fixture
def metered_gateway(_metered_gateway: MeteredGateway) -> MeteredGateway:
    """A gateway whose CompatMiddleware meters usage; ``reports`` holds what on_usage got."""
    _metered_gateway.reports.clear()
    return _metered_gateway
