"""What the proxy learns about one request on its way through, for the log line and metrics."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from fwcompat._diagnostics import Result
from fwcompat.usage import StreamIssue, Usage

RECORD_KEY = "fwcompat.serve.record"
"""The ASGI scope key under which each request's :class:`RequestRecord` travels."""


@dataclass(slots=True)
class RequestRecord:
    """Filled in by the layers a request passes: outer app, middleware hooks, forwarder."""

    request_id: str
    method: str
    path: str
    started: float
    body_chunks: list[bytes] = field(default_factory=list)
    result: Result | None = None
    status: int | None = None
    upstream_status: int | None = None
    upstream_seconds: float | None = None
    duration_seconds: float | None = None
    usage: Usage | None = None
    stream_issues: tuple[StreamIssue, ...] = ()
    stream: bool = False
    error: str | None = None
    client_disconnected: bool = False

    @property
    def upstream_model(self) -> str | None:
        """The model sent upstream (after the rules)."""
        if self.result is None or not self.result.ok or not isinstance(self.result.request, dict):
            return None  # rejected: nothing went upstream
        model = self.result.request.get("model")
        return model if isinstance(model, str) else None

    @property
    def model(self) -> str | None:
        """The model the client asked for (before the rules).

        Equal to :attr:`upstream_model` unless a rule replaced ``/model`` or the request
        was rejected; only then is the client's body parsed a second time, after the
        response is over.
        """
        if self.result is None:
            return None
        replaced = any(
            d.scope == "body" and d.path == "/model" and d.action == "replaced"
            for d in self.result.diagnostics
        )
        if not replaced and self.result.ok:
            return self.upstream_model
        try:
            body: Any = json.loads(b"".join(self.body_chunks))
        except ValueError:
            return None
        model = body.get("model") if isinstance(body, dict) else None
        return model if isinstance(model, str) else None

    @property
    def codes(self) -> list[str]:
        if self.result is None:
            return []
        return list(dict.fromkeys(d.code for d in self.result.diagnostics))
