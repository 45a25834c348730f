"""docs/serve.md's `fwcompat serve` recipe runs as written: the command, curl, shutdown."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fireworks_stub import Upstream

from tests.serve.conftest import MODEL, free_port, last

SERVE_DOC = Path(__file__).resolve().parents[2] / "docs" / "serve.md"


def serve_section() -> str:
    return SERVE_DOC.read_text(encoding="utf-8")


def test_the_section_has_two_shell_recipes() -> None:
    # curl (run here) and Claude Code (run by tests/claude_code/test_claude_code.py)
    blocks = re.findall(r"```(\w*)\n(.*?)```", serve_section(), re.S)
    assert [lang for lang, _ in blocks] == ["sh", "sh"]
    assert "curl -s http" in blocks[0][1]
    assert "claude -p" in blocks[1][1]


@pytest.mark.skipif(shutil.which("curl") is None, reason="the recipe needs curl")
def test_readme_recipe_with_curl(upstream: Upstream, tmp_path: Path) -> None:
    (_, script), _ = re.findall(r"```(sh)\n(.*?)```", serve_section(), re.S)
    port = free_port()
    # The only edits: the stub instead of Fireworks, a free port instead of 8787, and no
    # pyproject.toml of this repository (--isolated).
    script = script.replace(
        "fwcompat serve ", f"fwcompat serve --upstream {upstream.url} --isolated --port {port} ", 1
    ).replace("127.0.0.1:8787", f"127.0.0.1:{port}")
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "FIREWORKS_API_KEY": "fw-test-key",
    }
    done = subprocess.run(
        ["bash", "-eu", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr  # `wait` returns the drained server's status
    message = json.loads(done.stdout)
    assert message["type"] == "message"
    assert message["content"][0]["text"]
    sent = last(upstream)
    assert sent.body["model"] == MODEL
    assert "service_tier" not in sent.body
    assert sent.headers["x-api-key"] == "fw-test-key"
    assert '"codes":["FW303","FW401"]' in done.stderr  # the request's log line (JSON: a pipe)


README = Path(__file__).resolve().parents[2] / "README.md"
README_MARK = "<!-- readme-test: tests/serve/test_readme.py -->\n```sh\n"


@pytest.mark.skipif(shutil.which("curl") is None, reason="the recipe needs curl")
def test_readme_claude_code_quickstart(upstream: Upstream, tmp_path: Path) -> None:
    """README.md's Claude Code block, with a stand-in `claude` that sends what Claude Code
    sends: POST $ANTHROPIC_BASE_URL/v1/messages with Authorization: Bearer $ANTHROPIC_AUTH_TOKEN."""
    text = README.read_text(encoding="utf-8")
    start = text.index(README_MARK) + len(README_MARK)
    script = text[start : text.index("```", start)]
    port = free_port()
    script = script.replace(
        "fwcompat serve ", f"fwcompat serve --upstream {upstream.url} --isolated --port {port} ", 1
    ).replace("127.0.0.1:8787", f"127.0.0.1:{port}")
    script += 'kill -TERM "$!"; wait "$!"\n'  # $!: the proxy, the block's one background job
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    claude = bin_dir / "claude"
    body = json.dumps(
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "hi"}],
        }
    )
    claude.write_text(
        "#!/bin/sh\n"
        'exec curl -sf "$ANTHROPIC_BASE_URL/v1/messages" '
        '-H "authorization: Bearer $ANTHROPIC_AUTH_TOKEN" -H "content-type: application/json" '
        f"-d '{body}'\n"
    )
    claude.chmod(0o755)
    env = {
        **os.environ,
        "PATH": os.pathsep.join(
            [str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]]
        ),
        "FIREWORKS_API_KEY": "fw-test-key",
    }
    done = subprocess.run(
        ["bash", "-eu", "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["type"] == "message"
    sent = last(upstream)
    assert sent.body["model"] == MODEL
    assert sent.headers["authorization"] == "Bearer fw-test-key"
