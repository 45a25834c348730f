"""Capture real Claude Code request bodies as fixtures (tests/fixtures/claude-code/).

Run ``python -m tests.claude_code.capture`` from the repository root. It installs the
pinned Claude Code (see ``install.py``), runs ``claude -p`` once straight against the
stand-in upstream (no proxy, and with its non-essential traffic on, so that the side
request that titles the session is sent too), and writes three requests, masked:

- ``first-turn.json``: the request that gets the Bash ``tool_use``;
- ``tool-result-turn.json``: the request carrying the ``tool_result``;
- ``title-request.json``: the side request that asks for a title (structured output).

Masked: the credential, session and device ids, the working folder and home, the date,
the kernel version.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tests.claude_code.install import VERSION, claude_binary
from tests.claude_code.standin import StandIn
from tests.serve.conftest import ServerThread

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "claude-code"
PROMPT = "Run: echo fwcompat-tool-loop-ok"
SESSION = "00000000-0000-4000-8000-000000000000"
DEVICE = "0" * 64
KEPT_HEADERS = (
    "accept", "anthropic-beta", "anthropic-dangerous-direct-browser-access",
    "anthropic-version", "authorization", "content-type", "user-agent", "x-app",
    "x-claude-code-session-id", "x-stainless-arch", "x-stainless-lang", "x-stainless-os",
    "x-stainless-package-version", "x-stainless-retry-count", "x-stainless-runtime",
    "x-stainless-runtime-version", "x-stainless-timeout",
)  # fmt: skip
"""Headers kept (connection-level ones such as host and content-length are not)."""

NAMES = {"tool_use": "first-turn", "final": "tool-result-turn", "side": "title-request"}


def _masker(secrets: dict[str, str]) -> Any:
    pattern = re.compile("|".join(re.escape(k) for k in sorted(secrets, key=len, reverse=True)))

    def mask(value: Any) -> Any:
        if isinstance(value, str):
            value = pattern.sub(lambda m: secrets[m.group(0)], value)
            value = re.sub(r"(Today's date is )\d{4}-\d\d-\d\d", r"\g<1>2026-01-01", value)
            return re.sub(r"(OS Version: )[^\n]*", r"\g<1>Linux", value)
        if isinstance(value, list):
            return [mask(v) for v in value]
        if isinstance(value, dict):
            return {k: mask(v) for k, v in value.items()}
        return value

    return mask


def capture() -> list[Path]:
    binary = claude_binary()
    app = StandIn()
    with tempfile.TemporaryDirectory(prefix="fwcompat-capture-") as tmp, ServerThread(app) as srv:
        home = Path(tmp) / "home"
        work = Path(tmp) / "project"
        home.mkdir()
        work.mkdir()
        env = {
            "PATH": f"{binary.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": str(home),
            "ANTHROPIC_BASE_URL": srv.url,
            "ANTHROPIC_AUTH_TOKEN": "sk-capture-secret",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_ERROR_REPORTING": "1",
        }
        subprocess.run(
            [str(binary), "-p", PROMPT, "--allowedTools", "Bash"],
            env=env, cwd=work, capture_output=True, text=True, timeout=300, check=True,
        )  # fmt: skip
        seen = [s for s in app.records() if s.method == "POST"]
        secrets = {"sk-capture-secret": "<masked-key>", str(work): "/home/user/project",
                   str(home): "/home/user", tmp: "/tmp/capture",
                   str(work).replace("/", "-"): "-home-user-project"}  # fmt: skip
        for record in seen:
            session = record.headers.get("x-claude-code-session-id")
            if session:
                secrets[session] = SESSION
            user_id = (record.body.get("metadata") or {}).get("user_id")
            if isinstance(user_id, str):
                try:
                    ids = json.loads(user_id)
                except ValueError:
                    ids = {}
                for key, value in ids.items() if isinstance(ids, dict) else ():
                    if isinstance(value, str) and value:
                        secrets[value] = DEVICE if key == "device_id" else SESSION
        mask = _masker(secrets)
        FIXTURES.mkdir(parents=True, exist_ok=True)
        written = []
        for record in seen:
            name = NAMES.get(record.answer)
            if name is None:
                continue
            headers = {k: v for k, v in sorted(record.headers.items()) if k in KEPT_HEADERS}
            fixture = {
                "claude_code": VERSION,
                "query": record.query,
                "headers": mask(headers),
                "body": mask(record.body),
            }
            path = FIXTURES / f"{name}.json"
            path.write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n", "utf-8")
            written.append(path)
        return written


if __name__ == "__main__":
    for path in capture():
        print(path)
