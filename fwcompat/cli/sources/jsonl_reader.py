"""Reading JSON Lines: streamed line by line, so memory stays constant whatever the size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .json_reader import load_json
from .units import SourceError, Unit

__all__ = ["iter_jsonl"]


def iter_jsonl(
    stream: Iterable[bytes],
) -> Iterator[tuple[int, str, Unit | SourceError | None]]:
    """One (line number, raw line, unit or error) per line, streamed; None for blank lines.

    The raw line is decoded with ``surrogateescape``, so writing it back with the
    same error handler restores the original bytes, even for a line that is not
    UTF-8 (reported as an error, never changed).
    """
    for number, data in enumerate(stream, 1):
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raw = data.decode("utf-8", "surrogateescape")
            if raw.strip():
                column = len(data[: exc.start].decode("utf-8", "replace")) + 1
                message = f"not UTF-8 text: {exc.reason} at byte {exc.start} of the line"
                yield number, raw, SourceError(message, number, column)
            else:
                yield number, raw, None
            continue
        line = raw.lstrip("\ufeff") if number == 1 else raw
        if not line or line.isspace():  # blank (without copying the line)
            yield number, raw, None
            continue
        try:
            yield number, raw, load_json(line.rstrip("\r\n"), line=number)
        except SourceError as exc:
            yield number, raw, exc
