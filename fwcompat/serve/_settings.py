"""What a proxy process needs to know, in a form that crosses process boundaries.

``--workers N`` starts N processes that each build the app from these settings,
passed as JSON in an environment variable. Secrets are never in it: only the
*names* of the environment variables that hold them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

SETTINGS_ENV = "FWCOMPAT_SERVE_SETTINGS"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787


@dataclass(frozen=True)
class ServeSettings:
    """Settings of one proxy; ``config`` is ``fwcompat.Config.to_dict()``."""

    upstream: str
    config: dict[str, Any] = field(default_factory=dict)
    path: str = "/v1/messages"
    upstream_key_env: str | None = None
    require_key_env: str | None = None
    log_format: str = "text"
    connect_timeout: float = 10.0
    read_timeout: float = 600.0
    max_body_size: int = 32 * 1024 * 1024
    max_connections: int = 100
    metrics_max_series: int = 1000
    unsafe_fixes: bool = False
    """Apply unsafe fixes (``Config.unsafe_fixes``): serve's default, off with ``--strict``."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        return cls(**json.loads(text))

    @classmethod
    def from_env(cls) -> ServeSettings:
        text = os.environ.get(SETTINGS_ENV)
        if not text:
            raise RuntimeError(f"{SETTINGS_ENV} is not set: start the proxy with `fwcompat serve`")
        return cls.from_json(text)
