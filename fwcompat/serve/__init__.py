"""``fwcompat serve``: an Anthropic-compatible reverse proxy in front of Fireworks.

Claude Code (``ANTHROPIC_BASE_URL=http://127.0.0.1:8787``) or any Anthropic SDK
points at it; every ``POST /v1/messages`` goes through
:class:`fwcompat.asgi.CompatMiddleware` (one :func:`fwcompat.check`, no second
rule path) and is forwarded to the pack's endpoint, the response streamed back
unbuffered.

Needs the ``serve`` extra (``pip install 'fwcompat[serve]'``: uvicorn, aiohttp,
prometheus-client). This package imports none of them until an app is built, so
``fwcompat --help`` stays fast and the base install lean.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._settings import ServeSettings

if TYPE_CHECKING:  # importing _errors at run time would load the engine for --help
    from ._errors import ASGIApp

__all__ = ["ServeSettings", "create_app"]


def create_app(settings: ServeSettings) -> ASGIApp:
    """The proxy as an ASGI app, to run under any asyncio ASGI server (hypercorn, granian, ...).

    Under a server running trio it fails its lifespan start-up, and answers every
    request with a 500, saying that it runs on asyncio only.
    """
    from ._app import ServeApp

    return ServeApp(settings)
