"""The README examples run as written, against the Fireworks-like server."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anthropic
import pytest
from fireworks_stub import MODEL, ServerThread, Upstream

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_sdk_example(upstream: Upstream) -> None:
    env = {**os.environ, "FIREWORKS_BASE_URL": upstream.url, "FIREWORKS_API_KEY": "test-key"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "sdk_example.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: Usage(input_tokens=" in done.stdout
    assert "streamed usage: Usage(input_tokens=" in done.stdout
    assert "stream issue" not in done.stdout
    assert "rejected: FW" in done.stdout
    assert "service_tier" in done.stderr  # the warning, on the fwcompat logger
    first, _stream = upstream.received  # the rejected request was never sent
    assert first.body["model"] == MODEL
    assert "service_tier" not in first.body


def test_gateway_example(
    upstream: Upstream, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FIREWORKS_BASE_URL", upstream.url)
    monkeypatch.setenv("FIREWORKS_API_KEY", "gateway-key")
    caplog.set_level("INFO", logger="gateway")
    module = runpy.run_path(str(EXAMPLES / "gateway_example.py"), run_name="gateway_example")
    hi: Any = [{"role": "user", "content": "Hi"}]
    with (
        ServerThread(module["app"]) as gateway,
        anthropic.Anthropic(base_url=gateway.url, api_key="client-key") as client,
    ):
        extra = {"service_tier": "auto"}
        client.messages.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=hi, extra_body=extra
        )
        for _ in client.messages.create(model=MODEL, max_tokens=16, stream=True, messages=hi):
            pass
    first, second = upstream.received
    assert first.body["model"] == MODEL
    assert "service_tier" not in first.body
    assert first.headers["authorization"] == "Bearer gateway-key"
    expected = [f"usage: {first.usage}", f"usage: {second.usage}"]
    for _ in range(500):  # on_usage runs just after the last chunk is sent
        usages = [r.getMessage() for r in caplog.records if r.name == "gateway"]
        if len(usages) >= 2:
            break
        time.sleep(0.01)
    assert usages == expected
