"""What the proxy learns about one request on its way through, for the log line and metrics."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fwcompat._diagnostics import Result
from fwcompat.engine import is_glob
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
    client_model: str | None = None
    _read: tuple[Result | None, str | None, list[str]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    """(result, upstream model, codes): read once per result, for the log line and metrics."""

    def _read_result(self) -> tuple[Result | None, str | None, list[str]]:
        result = self.result
        read = self._read
        if read is not None and read[0] is result:
            return read
        model: Any = None
        codes: list[str] = []
        if result is not None:
            codes = list(dict.fromkeys(d.code for d in result.diagnostics))
            if result.ok and isinstance(result.request, dict):  # else nothing went upstream
                model = result.request.get("model")
        read = self._read = (result, model if isinstance(model, str) else None, codes)
        return read

    @property
    def upstream_model(self) -> str | None:
        """The model sent upstream (after the rules)."""
        return self._read_result()[1]

    def settle_client_model(self, model_map: Mapping[str, str]) -> None:
        """Work out the model the client asked for, then let go of the body's chunks.

        Called once the request is checked. The model is the normalized one unless a
        rule replaced ``/model`` (or the request was rejected); then it is the one
        ``model_map`` key that maps to the replacement, and only when that is ambiguous
        (or the key is a glob such as ``claude-*``) is the client's body parsed a second time.
        """
        chunks, self.body_chunks = self.body_chunks, []
        result = self.result
        if result is None or not isinstance(result.request, dict):
            return
        replaced = [
            d
            for d in result.diagnostics
            if d.scope == "body" and d.path == "/model" and d.action == "replaced"
        ]
        normalized = result.request.get("model")
        if not replaced and result.ok:
            self.client_model = normalized if isinstance(normalized, str) else None
            return
        if len(replaced) == 1 and replaced[0].fix is not None:
            target = replaced[0].fix.replacement
            keys = [k for k, v in model_map.items() if v == target and not is_glob(k)]
            if len(keys) == 1:
                self.client_model = keys[0]
                return
        if not replaced:
            self.client_model = normalized if isinstance(normalized, str) else None
            return
        try:
            body: Any = json.loads(b"".join(chunks))
        except ValueError:
            return
        model = body.get("model") if isinstance(body, dict) else None
        self.client_model = model if isinstance(model, str) else None

    @property
    def model(self) -> str | None:
        """The model the client asked for (before the rules)."""
        return self.client_model

    @property
    def codes(self) -> list[str]:
        """The distinct codes of the check, in order (a new list each time)."""
        return list(self._read_result()[2])
