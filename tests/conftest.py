"""Test-wide settings: a private start-up cache, and Hypothesis profiles.

CI (``HYPOTHESIS_PROFILE=ci``, set by ``.ci/run``) runs the properties derandomized, so a
landing never depends on the luck of a draw; local runs explore new examples each time.
"""

from __future__ import annotations

import os
import tempfile

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

os.environ["FWCOMPAT_CACHE_DIR"] = tempfile.mkdtemp(prefix="fwcompat-test-cache-")
