"""The command line's argparse parser class (imported only when a command line is parsed)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["Parser"]


class Parser(argparse.ArgumentParser):
    """argparse, with "did you mean" on a value that is not one of the choices."""

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        choices = action.choices
        if choices is not None and value not in choices:
            from fwcompat._exceptions import did_you_mean

            names = [str(c) for c in choices]
            shown = ", ".join(repr(n) for n in names)
            hint = did_you_mean(str(value), names)
            raise argparse.ArgumentError(
                action, f"invalid choice: {value!r}{hint} (choose from {shown})"
            )

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse imports shutil (and bz2, lzma...) for the terminal's width whenever it
        # makes a formatter, which add_argument does: the same width, without them.
        make: Any = self.formatter_class  # (typeshed's protocol names prog alone)
        formatter: argparse.HelpFormatter = make(prog=self.prog, width=_columns() - 2)
        return formatter


def _columns() -> int:
    """``shutil.get_terminal_size().columns``: $COLUMNS, else stdout's terminal, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80
