"""The command line's argparse parser class (imported only when a command line is parsed)."""

from __future__ import annotations

import argparse
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
