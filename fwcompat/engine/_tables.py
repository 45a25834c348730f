"""Config tables whose keys may be shell-style globs (``claude-*``), as ``model_map`` is.

A pack declares ``globs: true`` on a table in its ``pack.yaml``. Then a key with
``*``, ``?`` or ``[`` in it is a glob (``fnmatch``, case-sensitive): an exact key
beats every glob, and among globs the first that matches, in the table's order, wins.
A glob matches only names the table would accept as keys (``claude-*`` or even ``*``
never maps a name that is already a provider model id).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from fnmatch import translate
from typing import TYPE_CHECKING, Any

from fwcompat._config import Config
from fwcompat.engine._conditions import Context, Predicate

if TYPE_CHECKING:
    from fwcompat.engine._model import Pack

__all__ = ["GlobTable", "is_glob"]

_GLOB_CHARS = frozenset("*?[")


def is_glob(key: str) -> bool:
    """Whether a table key is a glob pattern rather than a name."""
    return any(c in _GLOB_CHARS for c in key)


class GlobTable(Mapping[str, Any]):
    """A read-only table: exact keys first, then globs in order. Iterates over the keys
    as written (globs included); ``in`` and ``[]`` match names against them."""

    __slots__ = ("_accepts", "_exact", "_globs", "_keys")

    def __init__(
        self, entries: Mapping[str, Any], accepts: Callable[[str], bool] | None = None
    ) -> None:
        self._accepts = accepts
        self._keys: dict[str, Any] = dict(entries)
        self._exact = {k: v for k, v in self._keys.items() if not is_glob(k)}
        self._globs = tuple(
            (re.compile(translate(k)), v) for k, v in self._keys.items() if is_glob(k)
        )

    @property
    def has_globs(self) -> bool:
        return bool(self._globs)

    def lookup(self, name: object) -> tuple[bool, Any]:
        """``(found, value)`` for a name: an exact key, else the first matching glob."""
        if not isinstance(name, str):
            return False, None
        if name in self._exact:
            return True, self._exact[name]
        if not self._globs or (self._accepts is not None and not self._accepts(name)):
            return False, None
        for pattern, value in self._globs:
            if pattern.match(name):
                return True, value
        return False, None

    def __contains__(self, name: object) -> bool:
        return self.lookup(name)[0]

    def __getitem__(self, name: str) -> Any:
        found, value = self.lookup(name)
        if not found:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"GlobTable({self._keys!r})"


def pack_tables(pack: Pack, config: Config) -> dict[str, Mapping[str, Any]]:
    """The tables rules see: each table's shipped entries, then the config's. A table the
    pack declares with ``globs: true`` matches names against glob keys (``claude-*``)."""
    out: dict[str, Mapping[str, Any]] = {}
    for name, spec in pack.tables.items():
        entries = {**pack.table_defaults.get(name, {}), **config.table(name)}
        if spec.get("globs"):
            out[name] = GlobTable(entries, _key_check(pack.table_checks[name][0]))
        else:
            out[name] = entries
    return out


_NO_CONTEXT = Context({})


def _key_check(predicate: Predicate) -> Callable[[str], bool]:
    """A table's key condition as a test of a name (a glob matches only acceptable names)."""
    return lambda name: predicate(name, name, _NO_CONTEXT)
