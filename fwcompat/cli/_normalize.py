"""``fwcompat normalize``: each request as ``fwcompat.normalize()`` returns it, on stdout."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from fwcompat._diagnostics import Result
from fwcompat.cli.sources.units import Unit

from ._check_options import CheckOptions
from ._codes import NOT_JSON, cli_diagnostic
from ._commands import Checker
from ._reporters import Finding, Reporter

__all__ = ["run_normalize"]


def run_normalize(options: CheckOptions, paths: Sequence[str], reporter: Reporter) -> int:
    """Print each request's normalized form (all fixes applied, as ``fwcompat.normalize``).

    One input file with one request prints indented JSON; anything more prints
    JSON Lines. A rejected request prints nothing (its diagnostics go to stderr),
    as ``fwcompat.normalize()`` raises for it.
    """
    from fwcompat.cli.sources.discover import SUFFIXES

    single = (
        len(paths) == 1
        and not os.path.isdir(paths[0])
        and SUFFIXES.get(os.path.splitext(paths[0])[1].lower()) != "jsonl"
    )
    return Normalizer(options, reporter, single=single).run(paths)


class Normalizer(Checker):
    """A checker that prints every request that passes, normalized."""

    def __init__(self, options: CheckOptions, reporter: Reporter, *, single: bool) -> None:
        super().__init__(options, reporter, diff_out=sys.stderr)
        self.single = single
        """One input file: its one request is printed indented."""

    def passed(self, name: str, unit: Unit, envelope: bool, result: Result) -> None:
        body: Any = result.request
        if envelope:
            env = dict(unit.document)
            env["body"] = result.request
            if "headers" in env:
                env["headers"] = dict(result.headers)
            body = env
        compact = not (self.single and unit.line == 1 and not self.in_jsonl)
        try:
            text = json.dumps(
                body, ensure_ascii=False, indent=None if compact else 2, allow_nan=False
            )
        except (ValueError, TypeError) as exc:
            d = cli_diagnostic(NOT_JSON, f"the normalized request is not JSON: {exc}")
            self.emit(Finding(name, unit.line, 1, d, False, unit.line))
        else:
            sys.stdout.write(text + "\n")
