"""``python -m fwcompat ...``: the same command line as the ``fwcompat`` script."""

from __future__ import annotations

import sys

from fwcompat.cli import main

if __name__ == "__main__":
    sys.exit(main())
