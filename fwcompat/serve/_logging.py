"""One structured line per request: text for a person at a terminal, JSON for a collector."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from ._record import RequestRecord

_orjson: Any
try:  # the ``fast`` extra: a JSON line in a fifth of the time
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is installed with the test group
    _orjson = None

FIELD_LIMIT = 512
"""Longest text of one log field (path, model, error...); the longest Fireworks model id
(with a deployment) is under 300 characters. Longer text is cut and says by how much."""


def cut(text: str | None, limit: int = FIELD_LIMIT) -> str | None:
    """``text`` cut to ``limit`` characters plus a note of the length cut, or ``None``."""
    if text is None or len(text) <= limit:
        return text
    return f"{text[:limit]}...[{len(text) - limit} more characters]"


def record_fields(record: RequestRecord) -> dict[str, Any]:
    """The log line's fields, in a stable order (``None`` when unknown).

    Each text field is cut at :data:`FIELD_LIMIT` characters; the lists hold
    distinct codes only (each a code of the pack or ``FWU00x``), so a line's
    length is bounded whatever the client or the upstream sends.
    """
    usage = record.usage
    return {
        "time": _now(),
        "request_id": cut(record.request_id),
        "method": cut(record.method),
        "path": cut(record.path),
        "status": record.status,
        "upstream_status": record.upstream_status,
        "model": cut(record.model),
        "upstream_model": cut(record.upstream_model),
        "codes": record.codes,
        "stream": record.stream,
        "upstream_ms": _ms(record.upstream_seconds),
        "duration_ms": _ms(record.duration_seconds),
        "usage": usage.to_dict() if usage is not None else None,
        "stream_issues": list(dict.fromkeys(i.code for i in record.stream_issues)),
        "error": cut(record.error),
    }


_clock: list[Any] = [None, ""]
"""The second last formatted, and its text: one ``strftime`` per second, not per line."""


def _now() -> str:
    second = int(time.time())
    if _clock[0] != second:
        _clock[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))]
    text: str = _clock[1]
    return text


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def format_json(record: RequestRecord) -> str:
    fields = record_fields(record)
    if _orjson is not None:
        try:
            text: str = _orjson.dumps(fields).decode()
            return text
        except TypeError:  # a lone surrogate in a text field: the standard library writes it
            pass
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def _printable(text: str) -> str:
    """``text`` with control characters escaped: a client cannot forge a second log line."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def format_text(record: RequestRecord) -> str:
    f = record_fields(record)
    path = _printable(f["path"])
    parts = [f["time"], f["request_id"], f["method"], path, str(f["status"])]
    if f["model"] or f["upstream_model"]:
        before = _printable(f["model"] or "-")
        after = _printable(f["upstream_model"] or "-")
        parts.append(before if before == after else f"{before} -> {after}")
    if f["codes"]:
        parts.append(",".join(f["codes"]))
    if f["upstream_ms"] is not None:
        parts.append(f"upstream={f['upstream_ms']}ms")
    if f["duration_ms"] is not None:
        parts.append(f"total={f['duration_ms']}ms")
    if f["usage"]:
        parts.append(" ".join(f"{k}={v}" for k, v in f["usage"].items()))
    if f["stream_issues"]:
        parts.append("stream:" + ",".join(f["stream_issues"]))
    if f["error"]:
        parts.append(f"error={f['error']!r}")
    return " ".join(parts)


class RequestLog:
    """Writes one line per finished request to ``stream`` (stderr by default)."""

    def __init__(self, log_format: str, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.format = format_json if log_format == "json" else format_text

    def write(self, record: RequestRecord) -> None:
        try:
            self.stream.write(self.format(record) + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken log stream must not fail the request
