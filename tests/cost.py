"""Counted cost, for growth tests: the same number on a quiet machine and a busy one.

No test asserts on a clock (issue 21). Growth is tested on quantities that do not depend
on the machine's load:

- :func:`calls`: Python and C function calls made by a piece of work (``sys.setprofile``),
  and :func:`calls_where` for the calls one predicate keeps;
- :func:`allocated`: bytes allocated and held at the peak of each step (``tracemalloc``);
- :func:`spied`: the arguments of every call of one module function;
- :class:`ScannedBytes`: bytes whose searching and splitting methods count what they scan.

Wall-clock figures live in ``benchmarks/``, printed side by side, never asserted.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from types import FrameType
from typing import Any, SupportsIndex


def calls(work: Callable[[], object]) -> int:
    """How many Python and C function calls ``work()`` makes (a deterministic count)."""
    return calls_where(work, lambda frame, event, arg: event in ("call", "c_call"))


def calls_where(work: Callable[[], object], counted: Callable[[FrameType, str, Any], bool]) -> int:
    """How many of the profile events of ``work()`` (``sys.setprofile``'s frame, event and
    argument) ``counted`` keeps: the calls of one function, from one caller, of one C method."""
    count = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal count
        if counted(frame, event, arg):
            count += 1

    gc.collect()
    gc.disable()  # a collection's finalizers would be counted against whatever runs then
    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
        gc.enable()
    return count


@contextlib.contextmanager
def spied(module: Any, name: str) -> Iterator[list[tuple[Any, ...]]]:
    """Within the block, ``module.name`` still runs, and the positional arguments of each of
    its calls are appended to the list this yields; the function is put back afterwards."""
    original = getattr(module, name)
    seen: list[tuple[Any, ...]] = []

    def spy(*args: Any) -> Any:
        seen.append(args)
        return original(*args)

    setattr(module, name, spy)
    try:
        yield seen
    finally:
        setattr(module, name, original)


def growth(work: Callable[[int], Callable[[], object]], small: int, large: int) -> float:
    """Calls of ``work(large)()`` over calls of ``work(small)()``; each warmed up once first.

    Linear work gives about ``large / small``; quadratic gives its square.
    """
    small_work, large_work = work(small), work(large)
    small_work()
    large_work()
    return calls(large_work) / calls(small_work)


def allocated(steps: Iterable[Callable[[], object]]) -> int:
    """The sum over ``steps`` of the bytes each one allocated at its peak.

    A step that copies a buffer as large as everything fed so far adds that buffer's
    size; summed over the steps, a re-copy per step is quadratic in the input.
    """
    total = 0
    tracemalloc.start()
    try:
        for step in steps:
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            step()
            _, peak = tracemalloc.get_traced_memory()
            total += max(0, peak - before)
    finally:
        tracemalloc.stop()
    return total


class ScannedBytes(bytes):
    """``bytes`` that count, in :attr:`scanned`, the bytes their searches and splits read.

    ``find(sub, start)`` reads from ``start`` to the end; ``splitlines``, ``split`` and
    ``in`` read everything. A decoder that searches the rest of a chunk at every line
    reads it quadratically often; one that splits it once reads it once.
    """

    scanned = 0

    @classmethod
    def _add(cls, n: int) -> None:
        ScannedBytes.scanned += max(0, n)

    def _rest(self, start: SupportsIndex | None) -> int:
        begin = 0 if start is None else int(start)
        return len(self) - (begin if begin >= 0 else len(self) + begin)

    def find(self, sub: Any, start: SupportsIndex | None = None, *args: Any) -> int:
        self._add(self._rest(start))
        return super().find(sub, start, *args)

    def index(self, sub: Any, start: SupportsIndex | None = None, *args: Any) -> int:
        self._add(self._rest(start))
        return super().index(sub, start, *args)

    def rfind(self, sub: Any, *args: Any) -> int:
        self._add(len(self))
        return super().rfind(sub, *args)

    def count(self, sub: Any, *args: Any) -> int:
        self._add(len(self))
        return super().count(sub, *args)

    def splitlines(self, keepends: bool = False) -> list[bytes]:
        self._add(len(self))
        return super().splitlines(keepends)

    def split(self, sep: Any = None, maxsplit: SupportsIndex = -1) -> list[bytes]:
        self._add(len(self))
        return super().split(sep, maxsplit)

    def __contains__(self, key: object) -> bool:
        self._add(len(self))
        return super().__contains__(key)  # type: ignore[operator]
