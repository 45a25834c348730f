"""Server-sent events (WHATWG HTML, "event stream"): an incremental decoder and iterators.

:class:`SSEDecoder` turns raw ``text/event-stream`` bytes, split anywhere, into
:class:`SSEEvent` objects; :func:`iter_sse`, :func:`iter_sse_lines` and
:func:`aiter_sse` wrap it for bodies given as chunks or lines. Re-exported by
:mod:`fwcompat.usage`, which meters streams with it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["SSEDecoder", "SSEEvent", "aiter_sse", "iter_sse", "iter_sse_lines"]


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

    def __init__(self, *, at_start: bool = True) -> None:
        """``at_start=False``: the bytes fed continue a stream (a byte order mark is data)."""
        self._partial: list[bytes] = []  # the pieces of an unterminated line
        self._pending_cr = False
        self._first = at_start
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
