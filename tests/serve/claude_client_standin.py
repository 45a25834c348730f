"""A stand-in for the `claude` command in the docs' recipes (docs/providers.md).

It reads what Claude Code reads (ANTHROPIC_BASE_URL, ANTHROPIC_AUTH_TOKEN, ANTHROPIC_MODEL,
ANTHROPIC_DEFAULT_HAIKU_MODEL) and sends two requests shaped like Claude Code 2.1's: the main
turn (attribution header and cached blocks in `system`, a `system` message inside `messages`,
adaptive thinking with an effort, context_management, metadata.user_id as a JSON string, a Bash
tool, `?beta=true`) and a side request on the small model. It prints the answer's text and
exits 1 (with the answer on stderr) when the proxy does not answer 200.

The real Claude Code runs in the claude-code test of the suite; this one only lets the
recipes run where npm and Claude Code are not installed.
"""

from __future__ import annotations

import json
import os
import sys

import httpx


def _body(model: str, prompt: str, *, main: bool) -> dict[str, object]:
    body: dict[str, object] = {
        "model": model,
        "max_tokens": 32000 if main else 512,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.197; cch=00000;"},
            {
                "type": "text",
                "text": "You are Claude Code, a CLI for coding.",
                "cache_control": {"type": "ephemeral"},
            },
        ],
        "messages": [
            {"role": "system", "content": "Working directory: /tmp/project"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": prompt, "cache_control": {"type": "ephemeral"}}
                ],
            },
        ],
        "metadata": {"user_id": json.dumps({"device_id": "d-1", "session_id": "s-1"})},
    }
    if main:
        body["tools"] = [
            {
                "name": "Bash",
                "description": "Run a shell command.",
                "input_schema": {
                    "type": "object",
                    "properties": {"command": {"type": "string"}},
                    "required": ["command"],
                },
            }
        ]
        body["thinking"] = {"type": "adaptive"}
        body["output_config"] = {"effort": "high"}
        body["context_management"] = {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}
    return body


def main(argv: list[str]) -> int:
    prompt = argv[argv.index("-p") + 1] if "-p" in argv else "Hi"
    base = os.environ["ANTHROPIC_BASE_URL"].rstrip("/")
    headers = {
        "authorization": f"Bearer {os.environ['ANTHROPIC_AUTH_TOKEN']}",
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
        "content-type": "application/json",
    }
    small = os.environ.get("ANTHROPIC_DEFAULT_HAIKU_MODEL", "claude-haiku-4-5")
    big = os.environ.get("ANTHROPIC_MODEL", "claude-opus-4-8")
    texts = []
    for model, main_turn in ((small, False), (big, True)):
        answer = httpx.post(
            f"{base}/v1/messages?beta=true",
            json=_body(model, prompt, main=main_turn),
            headers=headers,
            timeout=60,
        )
        if answer.status_code != 200:
            sys.stderr.write(answer.text + "\n")
            return 1
        texts.append("".join(b.get("text", "") for b in answer.json()["content"]))
    sys.stdout.write(texts[-1] + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
