"""The JSONL progress bar (stdlib only), shown on a terminal after a second of work."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """A stdlib progress bar on stderr, shown only after ``delay`` seconds of work.

    ``clear()`` erases it before anything else is written to the terminal; the
    next ``update()`` draws it again.
    """

    def __init__(
        self,
        total: int,
        label: str,
        enabled: bool,
        *,
        delay: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        stream: TextIO | None = None,
    ) -> None:
        self.total = max(total, 1)
        self.label = label
        self.enabled = enabled
        self.delay = delay
        self.interval = min(0.1, delay)
        self.clock = clock
        self.stream = stream or sys.stderr
        self.started = clock()
        self.last = -1e9
        self.shown = False

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if now - self.started < self.delay or now - self.last < self.interval:
            return
        self.last = now
        self.shown = True
        fraction = min(done / self.total, 1.0)
        width = 30
        filled = int(fraction * width)
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed / 1e6
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
            f"{fraction:6.1%} {done / 1e6:,.0f}/{self.total / 1e6:,.0f} MB {rate:,.1f} MB/s"
        )
        self.stream.flush()

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False
