"""The Dockerfile's runtime configuration, without a container engine: ``fwcompat serve``
started with the image's ENV settings and ENTRYPOINT, checked by the image's own HEALTHCHECK
command. (No engine runs here, so the image itself is not built; hadolint lints it in CI.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.serve.conftest import MODEL, STARTUP_DEADLINE, Upstream, free_port, last, wait_until

DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"


def image_env() -> dict[str, str]:
    """The runtime stage's ENV (the last stage: after the last FROM)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    stage = text[text.rindex("\nFROM ") :]
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV (.+)$", stage, re.M):
        env.update(re.findall(r"(\w+)=(\S+)", line))
    return env


def exec_form(instruction: str) -> list[str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    match = re.search(rf"^{instruction} .*?(\[.*\])\s*$", text, re.M)
    assert match, instruction
    command: list[str] = json.loads(match.group(1))
    return command


def test_image_settings_serve_and_pass_the_healthcheck(upstream: Upstream, tmp_path: Path) -> None:
    env = image_env()
    assert env["FWCOMPAT_SERVE_HOST"] == "0.0.0.0"
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)
    run_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FWCOMPAT_SERVE_")},
        **env,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        # what `docker run -e ...` would add: the keys, a free port, the stub as upstream
        "FIREWORKS_API_KEY": "fw-upstream-key",
        "FWCOMPAT_PROXY_KEY": "local-key",
        "FWCOMPAT_SERVE_PORT": str(port),
        "FWCOMPAT_SERVE_UPSTREAM": upstream.url,
    }
    entrypoint = exec_form("ENTRYPOINT")
    assert entrypoint == ["fwcompat", "serve"]
    healthcheck = exec_form("HEALTHCHECK")
    assert healthcheck[0] == "python"
    log = tmp_path / "serve.log"
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "fwcompat", *entrypoint[1:]],
            stdout=subprocess.DEVNULL,
            stderr=handle,
            env=run_env,
            cwd=tmp_path,
        )
    try:

        def healthy() -> bool:
            if process.poll() is not None:
                return True
            done = subprocess.run(
                [sys.executable, *healthcheck[1:]], env=run_env, capture_output=True, check=False
            )
            return done.returncode == 0

        assert wait_until(healthy, STARTUP_DEADLINE) and process.poll() is None, log.read_text()
        url = f"http://127.0.0.1:{port}/v1/messages"
        body = {"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
        refused = httpx.post(url, json=body, timeout=30)
        assert refused.status_code == 401  # the image requires the local key
        ok = httpx.post(url, json=body, headers={"x-api-key": "local-key"}, timeout=30)
        assert ok.status_code == 200, ok.text
        sent = last(upstream).headers
        assert sent["x-api-key"] == "fw-upstream-key"
        assert "local-key" not in sent.values()  # the local key is never forwarded
    finally:
        process.terminate()
        assert process.wait(timeout=60) == 0
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    assert [r["status"] for r in lines] == [401, 200]  # FWCOMPAT_SERVE_LOG_FORMAT=json
