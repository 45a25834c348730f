"""The README examples run as written, against the Fireworks-like server."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anthropic
import pytest
from fireworks_stub import MODEL, ServerThread, Upstream

from fwcompat.usage import Usage

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
        raw = client.messages.with_raw_response.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=hi, extra_body=extra
        )
        for _ in client.messages.create(model=MODEL, max_tokens=16, stream=True, messages=hi):
            pass
    for name in ("date", "server"):  # set once, by the gateway's own server
        assert len(raw.http_response.headers.get_list(name)) == 1, name
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


# ----------------------------------------------------------------- README blocks

DOCS = [EXAMPLES.parent / "README.md", *sorted((EXAMPLES.parent / "docs").glob("**/*.md"))]


def readme_block(heading: str) -> str:
    """The first ```python block under ``heading`` in the README or a docs/ page."""
    text = "".join("\n" + page.read_text(encoding="utf-8") for page in DOCS)
    match = re.search(rf"^#+ {re.escape(heading)}$", text, re.M)
    assert match, f"no section {heading!r} in README.md or docs/"
    section = text[match.start() :]
    start = section.index("```python\n") + len("```python\n")
    return section[start : section.index("\n```", start)]


def run_block(code: str, upstream: Upstream) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FIREWORKS_BASE_URL": upstream.url, "FIREWORKS_API_KEY": "test-key"}
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_readme_sdk_block_runs_as_written(upstream: Upstream) -> None:
    done = run_block(readme_block("With the official Anthropic SDK"), upstream)
    assert done.returncode == 0, done.stderr
    text, rejected = done.stdout.splitlines()
    assert text == "Hello from the stub."
    assert rejected.startswith("400 Request is not compatible with the provider: FW")
    assert "/service_tier" in done.stderr  # the warning, on the fwcompat logger
    [received] = upstream.received  # the rejected request was never sent
    assert "service_tier" not in received.body


def test_readme_usage_block_runs_as_written(upstream: Upstream) -> None:
    done = run_block(readme_block("Token usage, as Fireworks reports it"), upstream)
    assert done.returncode == 0, done.stderr
    first, second = upstream.received
    assert done.stdout.splitlines() == [
        str(Usage(**(first.usage or {}))),
        str(Usage(**(second.usage or {}))),
    ]


def test_readme_gateway_block_runs_as_written(
    upstream: Upstream, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FIREWORKS_BASE_URL", upstream.url)
    monkeypatch.setenv("FIREWORKS_API_KEY", "gateway-key")
    namespace: dict[str, Any] = {}
    exec(compile(readme_block("In a gateway (ASGI)"), "README gateway", "exec"), namespace)
    hi: Any = [{"role": "user", "content": "Hi"}]

    async def closing(scope: Any, receive: Any, send: Any) -> None:
        """The sample's app, plus closing its httpx client when the server stops."""
        if scope["type"] != "lifespan":
            await namespace["app"](scope, receive, send)
            return
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await namespace["client"].aclose()
        await send({"type": "lifespan.shutdown.complete"})

    with (
        ServerThread(closing) as gateway,
        anthropic.Anthropic(base_url=gateway.url, api_key="client-key") as client,
    ):
        raw = client.messages.with_raw_response.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=hi
        )
        for _ in client.messages.create(model=MODEL, max_tokens=16, stream=True, messages=hi):
            pass
    for name in ("date", "server"):  # set once, by the gateway's own server
        assert len(raw.http_response.headers.get_list(name)) == 1, name
    assert raw.headers["x-fwcompat-applied"]
    first, second = upstream.received
    assert first.body["model"] == MODEL
    assert first.headers["authorization"] == "Bearer gateway-key"
    out = ""
    for _ in range(500):  # on_usage runs just after the last chunk is sent
        out += capsys.readouterr().out
        if out.count("usage: ") >= 2:
            break
        time.sleep(0.01)
    assert out.splitlines() == [
        f"usage: {Usage(**(first.usage or {}))}",
        f"usage: {Usage(**(second.usage or {}))}",
    ]


def test_gateway_extra_installs_what_the_gateway_samples_import() -> None:
    import ast
    import importlib.metadata

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    with open(EXAMPLES.parent / "pyproject.toml", "rb") as f:
        extra = tomllib.load(f)["project"]["optional-dependencies"]["gateway"]
    in_extra = {requirement.split(">")[0].split("=")[0].strip().lower() for requirement in extra}
    distributions = importlib.metadata.packages_distributions()
    needed = {"uvicorn"}  # how both samples are run
    for code in (
        readme_block("In a gateway (ASGI)"),
        (EXAMPLES / "gateway_example.py").read_text(encoding="utf-8"),
    ):
        for node in ast.walk(ast.parse(code)):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ("fwcompat", "__future__"):
                    continue
                needed.update(d.lower() for d in distributions.get(top, [top]))
    assert needed == in_extra
