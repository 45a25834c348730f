"""Token usage as each pack's provider reports it, for non-streaming and streaming responses.

The meter is generic: where a provider puts the counts is pack data, the ``usage:``
block of its ``pack.yaml`` (:class:`UsageShape`; ``UsageMeter(pack="deepseek")``).
Without a pack the meter reads the shape of the default pack. The stream itself is
Anthropic's protocol: ``message_start`` (with ``message.usage``), ``message_delta``
(with ``usage``), ``message_stop`` and ``error`` events; a non-streaming response
carries ``usage`` on the message (:func:`usage_from_response`).

A pack says which counts ``message_start`` carries (none: its values are ignored,
for a provider that documents them as always 0) and which the ``message_delta`` must
carry; a count the ``message_delta`` carries overrides ``message_start``'s
(cumulative). A pack that declares nothing gets the shape Anthropic documents.

:class:`UsageMeter` is fed a stream's events one at a time (dicts as parsed from
SSE, or the ``anthropic`` SDK's event objects) and reports a :class:`StreamIssue`
whenever the stream breaks the documented shape. Fed raw bytes, it decodes and
parses only the events that can carry usage (``message_start``,
``message_delta``, ``message_stop``, ``error``): the others are counted, and
their data only checked to open a JSON object. So a gateway that sees bytes can
meter without the SDK, at a small cost per stream::

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
import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fwcompat._config import coerce_config
from fwcompat._fastjson import import_orjson
from fwcompat._sse import SSEDecoder, SSEEvent, aiter_sse, iter_sse, iter_sse_lines
from fwcompat.rulepacks import load_pack

__all__ = [
    "ANTHROPIC_SHAPE",
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
      values are ignored, for a provider that documents them as always 0);
    - ``message_delta``: counts the ``message_delta`` must carry (``FWU004`` when one is
      missing); any count it carries overrides ``message_start``'s (cumulative);
    - ``response``: counts a non-streaming response's ``usage`` must carry;
    - ``provider``: named in the meter's messages.
    """

    message_start: tuple[str, ...] = ()
    message_delta: tuple[str, ...] = ("input_tokens", "output_tokens")
    response: tuple[str, ...] = ("input_tokens", "output_tokens")
    provider: str = "the provider"

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


ANTHROPIC_SHAPE = UsageShape(
    message_start=COUNTS, message_delta=("output_tokens",), provider="Anthropic"
)
"""Anthropic's documented stream: input and cache counts in ``message_start``, cumulative
``output_tokens`` (and any count that changed) in ``message_delta``."""


def _shape_of(config: Any) -> UsageShape:
    config = coerce_config(config)
    return UsageShape.from_pack(load_pack(config.pack, config.rule_files, config.pack_dir))


@functools.lru_cache(maxsize=32)
def _named_shape(pack: str | None) -> UsageShape:
    """The shape of a shipped pack (``None``: the default pack), read once per name."""
    return _shape_of(None if pack is None else {"pack": pack})


def usage_shape(pack: Any = None) -> UsageShape:
    """The usage shape of a pack: a shipped pack's name, a ``fwcompat.Config`` or config
    dict (its pack, pack_dir and rule files), or ``None`` for the default pack's."""
    if isinstance(pack, UsageShape):
        return pack
    if pack is None or isinstance(pack, str):
        return _named_shape(pack)
    return _shape_of(pack)


def __getattr__(name: str) -> UsageShape:
    # FIREWORKS_SHAPE: kept for callers of 0.x; read from the fireworks pack, not written here.
    if name == "FIREWORKS_SHAPE":
        return usage_shape("fireworks")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one response.

    ``input_tokens`` and ``output_tokens`` are always there; the cache counts are
    ``None`` when the response does not carry them.
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
    """A way a stream differs from the shape its provider documents (the pack's ``usage:``).

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
    - ``FWU007`` ``bad-event``: an SSE ``data`` field that is not a JSON object (for an
      event that cannot carry usage, only its first character is checked: ``{``).
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


_METERED = frozenset({"message_start", "message_delta", "message_stop", "error"})
"""The events of Anthropic's stream protocol that the meter reads; others carry no usage."""

_PLAIN_EVENTS = re.compile(rb"(?:(?:event:.*\n)?data:[ \t]*\{.*\n\n)*")
"""A run of events of one optional ``event:`` line and one ``data:`` line opening an object
(``.`` never meets a line end here: the fast path sees no ``\\r``)."""

_OBJECT_START = re.compile(r"[ \t\n\r]*\{")

_ONE_EVENT = re.compile(rb"(?:event: ?([^\n:]*)\n)?data: ?([^\n]*)\n\n")
"""One event as :class:`SSEDecoder` reads it: an optional ``event:`` line and one ``data:``
line (each field's one optional space after the colon dropped), then the blank line."""


def _may_carry_usage(data: str) -> bool:
    """Whether an event's data may have a metered ``type`` (cheap: a substring test)."""
    return "message_" in data or "error" in data


def _get(obj: Any, key: str) -> Any:
    """``obj[key]`` for a mapping, ``obj.key`` for an SDK object, ``None`` when absent."""
    if type(obj) is dict or isinstance(obj, Mapping):  # a parsed event is a dict: no ABC check
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
    if type(raw) is dict:  # parsed JSON: a plain int is a count when not negative
        for name in names:
            value = raw.get(name)
            if type(value) is int:
                if value >= 0:
                    out[name] = value
            elif value is not None and _count(value) is not None:
                out[name] = value
        return out
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


def _problem(raw: Any, counts: Mapping[str, int], required: tuple[str, ...]) -> str:
    """Why a ``usage`` object (``raw``, its valid ``counts``) is bad; the empty string if not."""
    if raw is None:
        return "has no usage"
    missing = [name for name in required if name not in counts]
    return f"usage has no valid {' or '.join(missing)}" if missing else ""


def _usage(
    raw: Any, required: tuple[str, ...] = ("input_tokens", "output_tokens")
) -> tuple[Usage | None, str]:
    """Usage out of a ``usage`` object; the empty string or a reason it is bad."""
    if raw is None:
        return None, "has no usage"
    counts = _counts(raw)
    return _make_usage(counts), _problem(raw, counts, required)


def usage_from_response(response: Any, pack: Any = None) -> Usage | None:
    """Usage of a non-streaming response.

    ``response`` is the parsed JSON body (a dict), the SDK's ``Message``, or the
    raw body as ``bytes``/``str``. Returns ``None`` when there is no usable
    ``usage`` (not a message, no usage object, or a count the pack's
    :class:`UsageShape` requires that is not an integer). ``pack``: as for
    :func:`usage_shape` (a pack name, a config, a shape; the default pack's by default).
    """
    shape = usage_shape(pack)
    if isinstance(response, (bytes, bytearray, str)):
        response = _read_json(response)
    if response is None or isinstance(response, (list, int, float, str, bool)):
        return None
    usage, problem = _usage(_get(response, "usage"), shape.response)
    return None if problem else usage


@functools.cache
def _orjson() -> Any:
    """orjson (the ``fast`` extra) imported on first use; ``None`` when not installed."""
    return import_orjson()


def _read_event(data: bytes) -> Any:
    """An event's ``data`` as :func:`json.loads` reads its text, when the bytes are ASCII (their
    UTF-8 text is then the same: no line decoder, no event object); else ``None``: the caller
    decodes it the general way (invalid UTF-8 replaced, as the decoder does)."""
    if not data or not data.isascii():
        return None
    try:
        return json.loads(data.decode("ascii"))
    except (ValueError, RecursionError):  # RecursionError: data such as 50,000 '['
        return None


def _read_json(raw: bytes | bytearray | str) -> Any:
    """``raw`` as :func:`json.loads` reads it (``None`` when it cannot), through orjson when
    that reads the usage the same: orjson refuses what ``json.loads`` reads leniently (``NaN``,
    a byte order mark, UTF-16...), which then goes to ``json.loads``, and reads an integer
    past 64 bits as a float, so a float among the usage counts goes there too."""
    orjson = _orjson()
    if orjson is not None:
        try:
            document = orjson.loads(raw)
        except (ValueError, TypeError):
            pass
        else:
            usage = document.get("usage") if isinstance(document, dict) else None
            if not isinstance(usage, dict) or not any(isinstance(v, float) for v in usage.values()):
                return document
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


class UsageMeter:
    """Meters one streamed response, fed its events one by one.

    Accepts dicts as parsed from SSE data (``{"type": "message_delta", ...}``),
    the ``anthropic`` SDK's event objects (anything with a ``type`` attribute,
    including the ``messages.stream()`` helper's extra ``text``/``input_json``
    events, which are ignored), or :class:`SSEEvent` objects. ``feed_bytes``
    takes raw response bytes in chunks of any size.

    ``pack`` says where the provider puts the counts (:func:`usage_shape`: a pack
    name such as ``"deepseek"``, a config, or a :class:`UsageShape`; by default the
    default pack's). Issues are collected in :attr:`issues`; the end-of-stream checks
    (``FWU001``, ``FWU005``) run in :meth:`finish`.
    """

    __slots__ = (
        "_decoder", "_deltas", "_finished", "_issues", "_pieces", "_region", "_start",
        "_stopped", "_usage", "events", "shape",
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
        self._decoder: SSEDecoder | None = None  # the general decoder, once one is needed
        self._pieces: list[bytes] = []  # bytes after the last blank line (fast path)
        self._region: SSEDecoder | None = None  # decodes what the fast path cannot skip

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
            counts = _counts(raw)
            problem = _problem(raw, counts, self.shape.message_delta)
            if problem:
                self._issue("FWU004", "bad-usage", f"the message_delta event {problem}", index)
            if raw is not None:
                # Cumulative: the delta's counts override what message_start said.
                self._usage = _make_usage({**self._start, **counts} if self._start else counts)
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
        """Account for one decoded SSE event; its ``data`` is parsed as JSON when it may
        carry usage (a ``message_*`` or ``error`` event), else only checked to be an object."""
        if event.event not in _METERED and not _may_carry_usage(event.data):
            if _OBJECT_START.match(event.data):
                self.events += 1  # an object that carries no usage: no need to parse it
                return
            data = None
        else:
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
        """Account for a chunk of a raw ``text/event-stream`` body (any split).

        Complete events are taken at each blank line; a run of events that cannot carry
        usage, each one ``data:`` line opening a JSON object, is counted without being
        decoded. Anything else (another line ending, ``id:`` fields...) goes through
        :class:`SSEDecoder`, so every stream reads as the general decoder reads it.
        """
        if self._decoder is not None:
            for event in self._decoder.feed(chunk):
                self.feed_sse(event)
            return
        if not chunk:
            return
        pieces = self._pieces
        if b"\r" in chunk or (self._region is None and not pieces and chunk[:1] == b"\xef"):
            # \r line endings, or a byte order mark: the general decoder from here on
            self._decoder = SSEDecoder(at_start=self._region is None)
            self._pieces = []
            self.feed_bytes(b"".join(pieces) + chunk)
            return
        cut = chunk.rfind(b"\n\n")
        if cut >= 0:
            end = cut + 2
        elif chunk[:1] == b"\n" and pieces and pieces[-1][-1:] == b"\n":
            end = 1  # the blank line's two newlines are split across chunks
        else:
            pieces.append(chunk)  # inside an event: kept as is, joined once it ends
            return
        region = b"".join((*pieces, chunk[:end])) if pieces else chunk[:end]
        self._pieces = [chunk[end:]] if end < len(chunk) else []
        self._feed_region(region)

    def _feed_region(self, region: bytes) -> None:
        """Complete events (``region`` ends with a blank line), in the fast path: only the
        events that name a metered type are decoded; the runs between them are counted.

        Read by positions, without copying what is left: each byte is searched a bounded
        number of times, however many metered events the region holds."""
        if self._region is None:  # the stream opened without a byte order mark (else: general)
            self._region = SSEDecoder(at_start=False)
        pos, size = 0, len(region)
        message = region.find(b"message_")  # the next one at or after pos (-1: none left)
        while pos < size:
            if 0 <= message < pos:
                message = region.find(b"message_", pos)
            error = region.find(b"error", pos, message if message >= 0 else size)
            hit = error if error >= 0 else message
            if hit < 0:
                self._skip(region, pos, size)
                return
            start = region.rfind(b"\n\n", pos, hit)
            start = pos if start < 0 else start + 2
            end = region.find(b"\n\n", hit) + 2
            if start > pos:
                self._skip(region, pos, start)
            self._feed_event(region, start, end)
            pos = end

    def _feed_event(self, region: bytes, start: int, end: int) -> None:
        """One complete event that may carry usage (``region[start:end]``): read directly when
        it is one optional ``event:`` line and one ``data:`` line (as every provider sends),
        else decoded."""
        match = _ONE_EVENT.fullmatch(region, start, end)
        if match is None:
            assert self._region is not None
            for event in self._region.feed(region[start:end]):
                self.feed_sse(event)
            return
        name_bytes, data = match.groups()
        name = None if name_bytes is None else name_bytes.decode("utf-8", "replace")
        document = _read_event(data)
        if type(document) is not dict:  # not an object, or not surely read as json.loads would
            self.feed_sse(SSEEvent(name, data.decode("utf-8", "replace")))
            return
        if "type" not in document and name:
            document["type"] = name
        self.feed(document)

    def _skip(self, region: bytes, start: int, end: int) -> None:
        """Count a run of events without usage (``region[start:end]``), or decode it when it
        is not plain."""
        if _PLAIN_EVENTS.fullmatch(region, start, end) is not None:
            self.events += region.count(b"\n\n", start, end)
            return
        assert self._region is not None
        for event in self._region.feed(region[start:end]):
            self.feed_sse(event)

    def finish(self) -> Usage | None:
        """Mark the end of the stream, run the end checks and return the usage.

        Idempotent: a second call reports nothing new.
        """
        if self._finished:
            return self._usage
        self._finished = True
        if self._pieces:  # an unterminated last event: the general decoder reads it
            pieces, self._pieces = self._pieces, []
            self._decoder = SSEDecoder(at_start=self._region is None)
            for event in self._decoder.feed(b"".join(pieces)):
                self.feed_sse(event)
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
