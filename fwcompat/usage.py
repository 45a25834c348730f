"""Token usage as each pack's provider reports it, for non-streaming and streaming responses.

Each rule pack declares, in the ``usage:`` block of its ``pack.yaml``, where its
provider puts the counts (:class:`UsageShape`; ``UsageMeter(pack="deepseek")``).
Without a pack the meter reads the Fireworks shape. Fireworks' Anthropic-compatible
endpoint reports usage like this:

- **non-streaming**: ``usage`` on the response object (:func:`usage_from_response`);
- **streaming**: exactly one ``message_delta`` event, the last event before
  ``message_stop``, carries the real counts. The ``usage`` of ``message_start``
  is always zero and must be ignored for metering.

DeepSeek and MiniMax (and a pack that declares nothing) follow the shape Anthropic
documents: ``message_start`` carries the input and cache counts, the
``message_delta`` the cumulative ``output_tokens`` (and overrides any count it repeats).

:class:`UsageMeter` is fed a stream's events one at a time (dicts as parsed from
SSE, or the ``anthropic`` SDK's event objects) and reports a :class:`StreamIssue`
whenever the stream breaks that documented shape. :class:`SSEDecoder` turns raw
response bytes into :class:`SSEEvent` objects, so a gateway that sees bytes can
meter without the SDK::

    meter = UsageMeter()
    for chunk in response_chunks:
        meter.feed_bytes(chunk)
    usage = meter.finish()          # Usage, or None when no usage was seen
    for issue in meter.issues:
        log.warning("%s", issue)

Nothing here imports the SDK or an HTTP library.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ANTHROPIC_SHAPE",
    "FIREWORKS_SHAPE",
    "SSEDecoder",
    "SSEEvent",
    "StreamIssue",
    "Usage",
    "UsageMeter",
    "UsageShape",
    "aiter_sse",
    "iter_sse",
    "iter_sse_lines",
    "usage_from_response",
    "usage_shape",
]

COUNTS = (
    "input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class UsageShape:
    """Where a provider reports token counts: a pack's ``usage:`` block, as data.

    - ``message_start``: counts read from ``message_start.message.usage`` (empty: its
      values are ignored, as Fireworks documents they are always 0);
    - ``message_delta``: counts the ``message_delta`` must carry (``FWU004`` when one is
      missing); any count it carries overrides ``message_start``'s (cumulative);
    - ``response``: counts a non-streaming response's ``usage`` must carry;
    - ``provider``: named in the meter's messages.
    """

    message_start: tuple[str, ...] = ()
    message_delta: tuple[str, ...] = ("input_tokens", "output_tokens")
    response: tuple[str, ...] = ("input_tokens", "output_tokens")
    provider: str = "Fireworks AI"

    @classmethod
    def from_pack(cls, pack: Any) -> UsageShape:
        """The shape a loaded pack declares; Anthropic's when it declares none."""
        block = getattr(pack, "usage", None) or {}
        provider = getattr(pack, "provider", "") or getattr(pack, "name", "") or "the provider"
        if not block:
            return dataclasses.replace(ANTHROPIC_SHAPE, provider=provider)
        stream = block.get("stream") or {}
        return cls(
            message_start=tuple(stream.get("message_start") or ()),
            message_delta=tuple(stream.get("message_delta") or ()),
            response=tuple(block.get("response") or ("input_tokens", "output_tokens")),
            provider=provider,
        )


FIREWORKS_SHAPE = UsageShape()
"""Fireworks: the one ``message_delta`` carries every count; ``message_start``'s are 0."""

ANTHROPIC_SHAPE = UsageShape(
    message_start=COUNTS, message_delta=("output_tokens",), provider="Anthropic"
)
"""Anthropic's documented stream: input and cache counts in ``message_start``, cumulative
``output_tokens`` (and any count that changed) in ``message_delta``."""


def usage_shape(pack: Any = None) -> UsageShape:
    """The usage shape of a pack: a shipped pack's name, a ``fwcompat.Config`` or config
    dict (its pack, pack_dir and rule files), or ``None`` for Fireworks'."""
    if pack is None:
        return FIREWORKS_SHAPE
    if isinstance(pack, UsageShape):
        return pack
    from ._config import coerce_config
    from .rulepacks._packs import load_pack

    config = coerce_config({"pack": pack} if isinstance(pack, str) else pack)
    return UsageShape.from_pack(load_pack(config.pack, config.rule_files, config.pack_dir))


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one response.

    ``input_tokens`` and ``output_tokens`` are what Fireworks documents; the cache
    counts are ``None`` when the response does not carry them.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None

    @property
    def total_tokens(self) -> int:
        """Every input token (plain and cached) plus every output token."""
        return (
            self.input_tokens
            + (self.cache_creation_input_tokens or 0)
            + (self.cache_read_input_tokens or 0)
            + self.output_tokens
        )

    def to_dict(self) -> dict[str, int]:
        """The counts as a JSON-ready dict; absent cache counts are left out."""
        data = {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}
        if self.cache_creation_input_tokens is not None:
            data["cache_creation_input_tokens"] = self.cache_creation_input_tokens
        if self.cache_read_input_tokens is not None:
            data["cache_read_input_tokens"] = self.cache_read_input_tokens
        return data


@dataclass(frozen=True, slots=True)
class StreamIssue:
    """A way a stream differs from the shape Fireworks documents.

    Not a :class:`fwcompat.Diagnostic`: that type describes a place in a
    *request* (body, headers or url); a stream issue describes the *response*
    and points at an event by its 0-based position in the stream (``event``),
    or ``None`` when the issue is about the stream as a whole (something missing
    at the end).

    Codes (stable):

    - ``FWU001`` ``no-message-delta``: the stream ended without a ``message_delta``,
      so it carried no usage.
    - ``FWU002`` ``multiple-message-delta``: more than one ``message_delta``; the
      meter keeps the counts of the last one (Anthropic's cumulative semantics).
    - ``FWU003`` ``message-delta-after-stop``: a ``message_delta`` after ``message_stop``.
    - ``FWU004`` ``bad-usage``: a ``message_delta`` whose ``usage`` is missing or whose
      ``input_tokens``/``output_tokens`` are not non-negative integers.
    - ``FWU005`` ``no-message-stop``: the stream ended without ``message_stop``
      (it was cut off).
    - ``FWU006`` ``error-event``: the stream carried an ``error`` event.
    - ``FWU007`` ``bad-event``: an SSE ``data`` field that is not a JSON object.
    """

    code: str
    slug: str
    message: str
    event: int | None = None

    def __str__(self) -> str:
        where = f" (event {self.event})" if self.event is not None else ""
        return f"{self.code} {self.slug}{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "slug": self.slug, "message": self.message, "event": self.event}


def _get(obj: Any, key: str) -> Any:
    """``obj[key]`` for a mapping, ``obj.key`` for an SDK object, ``None`` when absent."""
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _count(value: Any) -> int | None:
    """A token count, or ``None`` when ``value`` is not a non-negative integer."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _counts(raw: Any, names: Iterable[str] = COUNTS) -> dict[str, int]:
    """The valid counts (non-negative integers) of a ``usage`` object, by name."""
    if raw is None:
        return {}
    out = {}
    for name in names:
        value = _count(_get(raw, name))
        if value is not None:
            out[name] = value
    return out


def _make_usage(counts: Mapping[str, int]) -> Usage:
    return Usage(
        input_tokens=counts.get("input_tokens", 0),
        output_tokens=counts.get("output_tokens", 0),
        cache_creation_input_tokens=counts.get("cache_creation_input_tokens"),
        cache_read_input_tokens=counts.get("cache_read_input_tokens"),
    )


def _usage(
    raw: Any, required: tuple[str, ...] = ("input_tokens", "output_tokens")
) -> tuple[Usage | None, str]:
    """Usage out of a ``usage`` object; the empty string or a reason it is bad."""
    if raw is None:
        return None, "has no usage"
    counts = _counts(raw)
    missing = [name for name in required if name not in counts]
    if missing:
        return _make_usage(counts), f"usage has no valid {' or '.join(missing)}"
    return _make_usage(counts), ""


def usage_from_response(response: Any, pack: Any = None) -> Usage | None:
    """Usage of a non-streaming response.

    ``response`` is the parsed JSON body (a dict), the SDK's ``Message``, or the
    raw body as ``bytes``/``str``. Returns ``None`` when there is no usable
    ``usage`` (not a message, no usage object, or a count the pack's
    :class:`UsageShape` requires that is not an integer). ``pack``: as for
    :func:`usage_shape` (a pack name, a config, a shape; Fireworks' by default).
    """
    shape = usage_shape(pack)
    if isinstance(response, (bytes, bytearray, str)):
        try:
            response = json.loads(response)
        except (ValueError, RecursionError):
            return None
    if response is None or isinstance(response, (list, int, float, str, bool)):
        return None
    usage, problem = _usage(_get(response, "usage"), shape.response)
    return None if problem else usage


class UsageMeter:
    """Meters one streamed response, fed its events one by one.

    Accepts dicts as parsed from SSE data (``{"type": "message_delta", ...}``),
    the ``anthropic`` SDK's event objects (anything with a ``type`` attribute,
    including the ``messages.stream()`` helper's extra ``text``/``input_json``
    events, which are ignored), or :class:`SSEEvent` objects. ``feed_bytes``
    takes raw response bytes in chunks of any size.

    ``pack`` says where the provider puts the counts (:func:`usage_shape`: a pack
    name such as ``"deepseek"``, a config, or a :class:`UsageShape`). By default,
    Fireworks' shape: ``message_start`` usage is ignored (always 0 on Fireworks);
    the counts come from the ``message_delta`` event. Issues are collected in
    :attr:`issues`; the end-of-stream checks (``FWU001``, ``FWU005``) run in
    :meth:`finish`.
    """

    __slots__ = (
        "_decoder", "_deltas", "_finished", "_issues", "_start", "_stopped", "_usage",
        "events", "shape",
    )  # fmt: skip

    def __init__(self, pack: Any = None) -> None:
        self.shape = usage_shape(pack)
        """Where the provider reports the counts."""
        self._start: dict[str, int] = {}
        self.events = 0
        """How many events were fed so far."""
        self._usage: Usage | None = None
        self._deltas = 0
        self._stopped = False
        self._finished = False
        self._issues: list[StreamIssue] = []
        self._decoder: SSEDecoder | None = None

    @property
    def usage(self) -> Usage | None:
        """Counts of the ``message_delta`` seen so far (the last one), else ``None``."""
        return self._usage

    @property
    def issues(self) -> tuple[StreamIssue, ...]:
        return tuple(self._issues)

    @property
    def stopped(self) -> bool:
        """Whether ``message_stop`` was seen."""
        return self._stopped

    @property
    def ok(self) -> bool:
        """True when no issue was found (call :meth:`finish` first for the end checks)."""
        return not self._issues

    def _issue(self, code: str, slug: str, message: str, event: int | None) -> None:
        self._issues.append(StreamIssue(code, slug, message, event))

    def feed(self, event: Any) -> None:
        """Account for one event (a dict, an SDK event object or an :class:`SSEEvent`)."""
        if isinstance(event, SSEEvent):
            self.feed_sse(event)
            return
        index = self.events
        self.events += 1
        kind = _get(event, "type")
        if kind == "message_delta":
            self._deltas += 1
            if self._stopped:
                self._issue(
                    "FWU003",
                    "message-delta-after-stop",
                    "a message_delta event came after message_stop",
                    index,
                )
            if self._deltas == 2:
                self._issue(
                    "FWU002",
                    "multiple-message-delta",
                    f"more than one message_delta event; {self.shape.provider} sends exactly "
                    "one (the counts of the last one are kept)",
                    index,
                )
            raw = _get(event, "usage")
            usage, problem = _usage(raw, self.shape.message_delta)
            if problem:
                self._issue("FWU004", "bad-usage", f"the message_delta event {problem}", index)
            if usage is not None:
                # Cumulative: the delta's counts override what message_start said.
                self._usage = _make_usage({**self._start, **_counts(raw)})
        elif kind == "message_start":
            if self.shape.message_start:
                self._start = _counts(_get(_get(event, "message"), "usage"),
                                      self.shape.message_start)  # fmt: skip
        elif kind == "message_stop":
            self._stopped = True
        elif kind == "error":
            error = _get(event, "error")
            detail = _get(error, "message") if error is not None else None
            text = f": {detail}" if isinstance(detail, str) and detail else ""
            self._issue("FWU006", "error-event", f"the stream carried an error event{text}", index)

    def feed_sse(self, event: SSEEvent) -> None:
        """Account for one decoded SSE event; its ``data`` is parsed as JSON."""
        try:
            data = json.loads(event.data) if event.data else None
        except (ValueError, RecursionError):  # RecursionError: data such as 50,000 '['
            data = None
        if not isinstance(data, dict):
            if event.event in (None, "ping") and not event.data:
                return  # keep-alive frames carry nothing to meter
            self.events += 1
            self._issue(
                "FWU007",
                "bad-event",
                f"SSE event {event.event or 'message'!r} has data that is not a JSON object",
                self.events - 1,
            )
            return
        if "type" not in data and event.event:
            data = {**data, "type": event.event}
        self.feed(data)

    def feed_bytes(self, chunk: bytes) -> None:
        """Account for a chunk of a raw ``text/event-stream`` body (any split)."""
        if self._decoder is None:
            self._decoder = SSEDecoder()
        for event in self._decoder.feed(chunk):
            self.feed_sse(event)

    def finish(self) -> Usage | None:
        """Mark the end of the stream, run the end checks and return the usage.

        Idempotent: a second call reports nothing new.
        """
        if self._finished:
            return self._usage
        self._finished = True
        if self._decoder is not None:
            for event in self._decoder.flush():
                self.feed_sse(event)
        if self._deltas == 0:
            self._issue(
                "FWU001",
                "no-message-delta",
                "the stream ended without a message_delta event, so it reported no usage",
                None,
            )
        if not self._stopped:
            self._issue(
                "FWU005", "no-message-stop", "the stream ended without a message_stop event", None
            )
        return self._usage


# --------------------------------------------------------------------------- SSE


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One server-sent event: its ``event`` name (``None`` if unnamed) and ``data``."""

    event: str | None
    data: str
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        """``data`` parsed as JSON (raises ``ValueError`` if it is not JSON)."""
        return json.loads(self.data)


class SSEDecoder:
    """An incremental ``text/event-stream`` decoder (WHATWG HTML, "event stream").

    Feed it bytes in chunks split anywhere (inside a line or a UTF-8 sequence);
    it returns the events completed so far. Lines end in ``\\n``, ``\\r\\n`` or
    ``\\r``; comment lines (``:...``) are skipped; several ``data:`` lines are
    joined with ``\\n``; an event is dispatched at a blank line when it has
    data or a name. :meth:`flush` dispatches what an unterminated stream left.
    """

    __slots__ = ("_data", "_event", "_first", "_id", "_partial", "_pending_cr", "_retry")

    def __init__(self) -> None:
        self._partial: list[bytes] = []  # the pieces of an unterminated line
        self._pending_cr = False
        self._first = True
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Decode ``chunk``; return the events it completed.

        Linear in the bytes fed, however a long line is split: each byte is
        scanned once, and a line's pieces are joined once, when it ends.
        """
        if not chunk:
            return []  # an empty chunk must not forget a \r that ended the last one
        if self._pending_cr:
            self._pending_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]  # the \n of a \r\n split across chunks
                if not chunk:
                    return []
        if b"\n" not in chunk and b"\r" not in chunk:  # inside a long line: keep it as is
            self._partial.append(chunk)
            return []
        lines = chunk.splitlines(keepends=True)  # bytes: only \r\n, \r and \n end a line
        tail = lines[-1]
        if tail[-1:] in (b"\n", b"\r"):
            self._pending_cr = tail[-1:] == b"\r"
        else:
            lines.pop()
            if not lines:
                self._partial.append(tail)
                return []
        events: list[SSEEvent] = []
        for i, line in enumerate(lines):
            line = line[:-2] if line[-2:] == b"\r\n" else line[:-1]
            if i == 0 and self._partial:
                self._partial.append(line)
                line = b"".join(self._partial)
                self._partial = []
            event = self._line(line)
            if event is not None:
                events.append(event)
        if tail[-1:] not in (b"\n", b"\r"):
            self._partial.append(tail)
        return events

    def flush(self) -> list[SSEEvent]:
        """End of stream: decode a last unterminated line and dispatch a pending event."""
        events: list[SSEEvent] = []
        if self._partial:
            line = b"".join(self._partial)
            self._partial = []
            event = self._line(line)
            if event is not None:
                events.append(event)
        event = self._dispatch()
        if event is not None:
            events.append(event)
        return events

    def _line(self, raw: bytes) -> SSEEvent | None:
        # Split on bytes, then decode each part once: ':' never occurs inside a UTF-8
        # sequence, so this reads exactly as decoding the line first, with fewer copies.
        start = 0
        if self._first:
            self._first = False
            if raw.startswith(b"\xef\xbb\xbf"):  # a byte order mark opens the stream
                start = 3
        if len(raw) == start:
            return self._dispatch()
        if raw[start] == 0x3A:  # ":" comment
            return None
        colon = raw.find(b":", start)
        if colon == -1:
            name, value = raw[start:].decode("utf-8", errors="replace"), ""
        else:
            name = raw[start:colon].decode("utf-8", errors="replace")
            at = colon + 2 if raw[colon + 1 : colon + 2] == b" " else colon + 1
            value = str(memoryview(raw)[at:], "utf-8", "replace")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> SSEEvent | None:
        if not self._data and self._event is None:
            return None
        event = SSEEvent(self._event, "\n".join(self._data), self._id, self._retry)
        self._event = None
        self._data = []
        self._retry = None
        return event


def iter_sse(chunks: Iterable[bytes | str]) -> Iterator[SSEEvent]:
    """Events of an SSE body given as byte chunks, or as text lines/chunks.

    ``str`` items are encoded as UTF-8; pass lines *with* their line endings
    (as ``iter_lines(keepends=True)`` or a file object gives them).
    """
    decoder = SSEDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk.encode() if isinstance(chunk, str) else chunk)
    yield from decoder.flush()


def iter_sse_lines(lines: Iterable[bytes | str]) -> Iterator[SSEEvent]:
    """Events of an SSE body given line by line, each item one line (ending optional).

    For readers that already split lines, such as ``response.iter_lines()``.
    """
    decoder = SSEDecoder()
    for line in lines:
        raw = line.encode() if isinstance(line, str) else line
        yield from decoder.feed(raw.rstrip(b"\r\n") + b"\n")
    yield from decoder.flush()


async def aiter_sse(chunks: AsyncIterable[bytes | str]) -> AsyncIterator[SSEEvent]:
    """Async :func:`iter_sse`, e.g. over ``response.aiter_bytes()``."""
    decoder = SSEDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk.encode() if isinstance(chunk, str) else chunk):
            yield event
    for event in decoder.flush():
        yield event
