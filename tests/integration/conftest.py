"""Fixtures: a Fireworks-like server and fwcompat gateways, each a real uvicorn on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fireworks_stub import FireworksStub, ForwardingApp, ServerThread, Upstream

from fwcompat.asgi import CompatMiddleware


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
