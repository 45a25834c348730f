"""Test-wide settings: a private rule cache, so tests never read or fill the user's."""

from __future__ import annotations

import os
import tempfile

os.environ["FWCOMPAT_CACHE_DIR"] = tempfile.mkdtemp(prefix="fwcompat-test-cache-")
