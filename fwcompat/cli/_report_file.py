"""The ``-o FILE`` report: written beside its target and renamed into place at the end."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["ReportFile"]


class ReportFile:
    """The -o file, written to a temp file beside it and renamed at the end.

    An existing report stays intact until the new one is complete, and the file
    being written is never read as an input (it is not in place yet). A special
    file (``/dev/null``, a FIFO) is written directly, never replaced.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.tmp = ""
        self.handle: Any = None

    def open(self) -> Any:
        import stat
        import tempfile

        target = os.path.realpath(self.path)
        try:
            special = not stat.S_ISREG(os.stat(target).st_mode)
        except FileNotFoundError:
            special = False
        if special:  # /dev/null, a FIFO, /dev/stdout: write straight into it
            self.handle = open(target, "w", encoding="utf-8")  # noqa: SIM115
            return self.handle
        fd, self.tmp = tempfile.mkstemp(
            prefix=f".{os.path.basename(target)}.",
            suffix=".fwcompat-tmp",
            dir=os.path.dirname(target) or ".",
        )
        self.handle = open(fd, "w", encoding="utf-8")  # noqa: SIM115
        return self.handle

    def close(self, *, keep: bool) -> None:
        import contextlib

        if not self.tmp:
            self.handle.close()
            return
        try:
            self.handle.close()
            if keep:
                with contextlib.suppress(OSError):
                    os.chmod(self.tmp, 0o666 & ~_umask())
                os.replace(self.tmp, os.path.realpath(self.path))
        finally:
            with contextlib.suppress(OSError):
                if os.path.exists(self.tmp):
                    os.unlink(self.tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
