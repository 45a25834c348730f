"""The record a front end registers a subcommand of the ``fwcompat`` command line with.

``fwcompat.cli`` lists the records (its own and ``fwcompat.serve``'s) and builds the
parser from them; a front end never imports ``fwcompat.cli`` to be listed.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NamedTuple

__all__ = ["Subcommand"]


class Subcommand(NamedTuple):
    """One subcommand: its name and help, the options it adds, what it runs."""

    name: str
    help: str
    """One line in ``fwcompat --help``."""
    description: str
    """The paragraph at the top of ``fwcompat NAME --help``."""
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    """Runs the parsed command; returns the exit code (0 clean, 1 findings, 2 errors).
    A ``ConfigError`` or ``RuleFileError`` it lets through is printed and exits 2."""
