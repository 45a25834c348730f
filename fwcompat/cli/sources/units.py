"""What a reader yields: units (one document each, with a way to place pointers in the
file), the errors of a file that cannot be read, and the defects of a document itself."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple, ParamSpec, TypeVar

__all__ = [
    "Format",
    "LocateAll",
    "Problem",
    "SourceError",
    "Tokens",
    "Unit",
    "YamlInfo",
    "unreadable",
    "unwritable",
    "without_gc",
]


Format = Literal["json", "yaml", "jsonl"]
Tokens = Sequence[str]
LocateAll = Callable[[Sequence[Tokens]], list[tuple[int, int]]]


P = ParamSpec("P")
R = TypeVar("R")


def without_gc(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` with the cyclic GC paused.

    Parsing and indexing allocate many objects and no cycles; a collection pass
    in the middle scans every live object, which made the cost of a big file grow
    faster than its size. Reference counting still frees everything.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not gc.isenabled():
            return function(*args, **kwargs)
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            gc.enable()

    return wrapper


class SourceError(Exception):
    """A file that cannot be read or parsed; ``line``/``column`` are 1-based."""

    def __init__(self, message: str, line: int = 1, column: int = 1, *, io: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.io = io


def unreadable(exc: OSError) -> SourceError:
    return SourceError(f"cannot read file: {exc.strerror or exc}", io=True)


def unwritable(exc: OSError, what: str = "cannot write the fixed file") -> SourceError:
    return SourceError(f"{what}: {exc.strerror or exc}; the file is unchanged", io=True)


class Problem(NamedTuple):
    """A defect of the document itself (duplicate key, non-string key), placed in the file."""

    code: str
    message: str
    line: int
    column: int


class YamlInfo(NamedTuple):
    """What the YAML fixer needs: the node tree and which nodes aliases share."""

    text: str
    root: Any
    shared: frozenset[int]
    """ids of nodes reached more than once (through aliases) or holding a merge key."""
    bom: int


class Unit(NamedTuple):
    """One document of a file: the parsed value plus a way to find pointers in it."""

    document: Any
    line: int
    """1-based line where the unit starts (the JSONL line; 1 for whole files)."""
    locate_all: LocateAll
    """Token lists of RFC 6901 pointers -> 1-based (line, column) each, in one pass."""
    problems: tuple[Problem, ...] = ()
    yaml: YamlInfo | None = None
    number: int | None = None
    """1-based number of the document in a YAML stream of several; None for one."""

    def locate(self, tokens: Tokens) -> tuple[int, int]:
        return self.locate_all([tokens])[0]


# --------------------------------------------------------------------------- requests
