"""Keys and exposure, configuration, logging formats, SIGTERM draining and --workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from fireworks_stub import Upstream

from tests.serve.conftest import (
    MODEL,
    STOPPED,
    ServeFactory,
    last,
    start_serve,
    wait_until,
)

HI: Any = [{"role": "user", "content": "Hi"}]
BODY: Any = {"model": MODEL, "max_tokens": 8, "messages": HI}


def run_serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`fwcompat serve ARGS` expected to refuse to start: its exit code and stderr."""
    return subprocess.run(
        [sys.executable, "-m", "fwcompat", "serve", "--isolated", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_upstream_key_replaces_the_clients_key(serve: ServeFactory, upstream: Upstream) -> None:
    proxy = serve("--upstream-key-env", "TEST_FW_KEY", env={"TEST_FW_KEY": "fw-secret"})
    response = httpx.post(
        proxy.url + "/v1/messages",
        json=BODY,
        headers={"x-api-key": "client-key", "authorization": "Bearer client-key"},
        timeout=30,
    )
    assert response.status_code == 200
    sent = last(upstream)
    assert sent.headers["x-api-key"] == "fw-secret"
    assert "authorization" not in sent.headers


def test_required_local_key(serve: ServeFactory, upstream: Upstream) -> None:
    env = {"TEST_FW_KEY": "fw-secret", "TEST_LOCAL_KEY": "local-token"}
    proxy = serve(
        "--upstream-key-env", "TEST_FW_KEY", "--require-key-env", "TEST_LOCAL_KEY", env=env
    )
    url = proxy.url + "/v1/messages"
    for headers in ({}, {"x-api-key": "wrong"}, {"authorization": "Bearer fw-secret"}):
        response = httpx.post(url, json=BODY, headers=headers, timeout=30)
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "authentication_error"
    assert upstream.received == []
    assert httpx.get(proxy.url + "/metrics", timeout=30).status_code == 401
    assert httpx.get(proxy.url + "/healthz", timeout=30).status_code == 200  # for balancers
    for headers in ({"x-api-key": "local-token"}, {"authorization": "Bearer local-token"}):
        response = httpx.post(url, json=BODY, headers=headers, timeout=30)
        assert response.status_code == 200
        # The local token never goes upstream; the upstream key does.
        assert last(upstream).headers["x-api-key"] == "fw-secret"
        assert "authorization" not in last(upstream).headers
    metrics = httpx.get(proxy.url + "/metrics", headers={"x-api-key": "local-token"}, timeout=30)
    assert 'fwcompat_serve_requests_total{status="401"} 3.0' in metrics.text


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_non_loopback_bind_without_a_local_key_is_refused(host: str) -> None:
    done = run_serve("--host", host, "--upstream", "http://127.0.0.1:9")
    assert done.returncode == 2
    assert f"refusing to listen on {host}" in done.stderr
    assert "--require-key-env" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--require-key-env", "X_LOCAL"], {"X_LOCAL": "t"}, "needs --upstream-key-env"),
        (
            ["--upstream-key-env", "X_UNSET_FOR_TEST"],
            {},
            "environment variable X_UNSET_FOR_TEST is not set",
        ),
        (["--upstream", "ftp://example.com"], {}, "expected an http:// or https:// URL"),
        (["--upstream", "http://127.0.0.1:9/v1"], {}, "FW101"),
        (["--model-map", "claude-x=not-a-fireworks-id"], {}, "model_map"),
        (["--pack", "no-such-pack"], {}, "no-such-pack"),
        (
            ["--pack", "deepseek", "--translate-adaptive-thinking"],
            {},
            "has no opt-in rule 'adaptive-thinking-translated'",
        ),
        (["--port", "70000"], {}, "expected a port 1-65535"),
    ],
)
def test_bad_setup_is_a_clear_error(args: list[str], env: dict[str, str], message: str) -> None:
    base = [] if "--upstream" in args else ["--upstream", "http://127.0.0.1:9"]
    done = run_serve(*base, *args, env=env)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_without_the_extra_it_says_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['uvicorn'] = None\n"
        "from fwcompat.cli import main; sys.exit(main(['serve']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "pip install 'fwcompat[serve]'" in done.stderr


def test_default_upstream_is_the_packs_endpoint(tmp_path: Path) -> None:
    proxy = start_serve(["--isolated", "--log-format", "text"], tmp_path / "serve.log")
    try:
        assert wait_until(lambda: "fwcompat serve:" in proxy.log_text())
        assert "-> https://api.fireworks.ai/inference (pack fireworks" in proxy.log_text()
    finally:
        assert proxy.stop() in STOPPED


def test_pyproject_settings_and_translations_apply(upstream: Upstream, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.fwcompat]\nmodel-map = {{ "claude-sonnet-4-6" = "{MODEL}" }}\nignore = ["FW401"]\n',
        encoding="utf-8",
    )
    args = ["--upstream", upstream.url, "--log-format", "text", "--translate-xhigh"]
    args.append("--translate-adaptive-thinking")
    proxy = start_serve(args, tmp_path / "serve.log", cwd=tmp_path)
    try:
        body = {
            "model": "claude-sonnet-4-6",
            "max_tokens": 4096,  # FW505 keeps the budget below max_tokens (issue 15)
            "messages": HI,
            "service_tier": "auto",
            "output_config": {"effort": "xhigh"},
            "thinking": {"type": "adaptive"},
        }
        response = httpx.post(proxy.url + "/v1/messages", json=body, timeout=30)
        assert response.status_code == 200, response.text
        sent = last(upstream).body
        assert sent["model"] == MODEL  # model-map from [tool.fwcompat]
        assert sent["service_tier"] == "auto"  # ignore = ["FW401"] from [tool.fwcompat]
        assert sent["output_config"] == {"effort": "high"}  # --translate-xhigh
        assert sent["thinking"]["type"] == "enabled"  # --translate-adaptive-thinking
        applied = response.headers["x-fwcompat-applied"].split(",")
        assert sorted(applied) == ["FW303", "FW505", "FW506"]
        # The text log line: model before -> after, and the codes.
        assert wait_until(lambda: f"claude-sonnet-4-6 -> {MODEL}" in proxy.log_text())
        line = next(x for x in proxy.log_text().splitlines() if " POST /v1/messages " in x)
        assert " 200 " in line
        assert all(code in line for code in ("FW303", "FW505", "FW506"))
        assert "input_tokens=" in line
        # A client cannot forge a log line: control characters are escaped.
        forged = {**body, "model": "x\n2026-01-01T00:00:00Z req_forged POST /v1/messages 200"}
        httpx.post(proxy.url + "/v1/messages", json=forged, timeout=30)
        httpx.get(proxy.url + "/v1/%0Aforged", timeout=30)
        assert wait_until(lambda: "/v1/\\nforged" in proxy.log_text())
        assert wait_until(lambda: "x\\n2026-01-01" in proxy.log_text())
        assert not any(x.startswith("2026-01-01") for x in proxy.log_text().splitlines())
    finally:
        assert proxy.stop() in STOPPED


def test_sigterm_drains_in_flight_streams(serve: ServeFactory, upstream: Upstream) -> None:
    proxy = serve()
    result: dict[str, Any] = {}
    first_chunk = threading.Event()

    def stream() -> None:
        body = {**BODY, "stream": True}
        headers = {"x-stub-shape": "stall-mid", "x-stub-delay": "1.5"}
        with (
            httpx.Client(timeout=60) as client,
            client.stream("POST", proxy.url + "/v1/messages", json=body, headers=headers) as r,
        ):
            chunks = []
            for chunk in r.iter_bytes():
                chunks.append(chunk)
                first_chunk.set()
            result["text"] = b"".join(chunks).decode()

    thread = threading.Thread(target=stream)
    thread.start()
    assert first_chunk.wait(30)
    proxy.process.send_signal(15)  # SIGTERM while the stream waits upstream
    thread.join(60)
    assert "event: message_stop" in result["text"]  # the stream finished whole
    assert proxy.process.wait(60) in STOPPED
    with pytest.raises(httpx.ConnectError):  # and the proxy is gone
        httpx.get(proxy.url + "/healthz", timeout=5)


def test_workers_serve_and_report_metrics_together(serve: ServeFactory, upstream: Upstream) -> None:
    proxy = serve("--workers", "2")
    pid = proxy.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert len(children) >= 2  # two workers (plus, maybe, multiprocessing's helper)
    with httpx.Client(timeout=30) as client:
        for _ in range(20):
            # A fresh connection each time, so both workers get some.
            response = client.post(
                proxy.url + "/v1/messages", json=BODY, headers={"connection": "close"}
            )
            assert response.status_code == 200
    assert len(upstream.received) == 20
    lines = proxy.wait_records(20)
    assert len(lines) == 20
    text = proxy.metrics()
    assert 'fwcompat_serve_requests_total{status="200"} 20.0' in text


def test_json_log_line_shape(serve: ServeFactory, upstream: Upstream) -> None:
    proxy = serve()
    httpx.post(proxy.url + "/v1/messages", json=BODY, timeout=30)
    (line,) = proxy.wait_records(1)
    assert set(line) == {
        "time",
        "request_id",
        "method",
        "path",
        "status",
        "upstream_status",
        "model",
        "upstream_model",
        "codes",
        "stream",
        "upstream_ms",
        "duration_ms",
        "usage",
        "stream_issues",
        "error",
    }
    assert line["request_id"].startswith("req_")
    assert json.loads(json.dumps(line)) == line


def test_create_app_runs_under_any_asgi_server(upstream: Upstream) -> None:
    from fireworks_stub import ServerThread

    from fwcompat.serve import ServeSettings, create_app

    settings = ServeSettings(upstream=upstream.url, config={"model_map": {"claude-x": MODEL}})
    with ServerThread(create_app(settings)) as server:
        body = {**BODY, "model": "claude-x"}
        response = httpx.post(server.url + "/v1/messages", json=body, timeout=30)
    assert response.status_code == 200
    assert last(upstream).body["model"] == MODEL


def test_a_glob_map_sends_every_claude_name_to_one_model(
    serve: ServeFactory, upstream: Upstream
) -> None:
    other = "accounts/fireworks/models/glm-5"
    proxy = serve("--model-map", f"claude-*={MODEL}", "--model-map", f"claude-haiku-4-5={other}")
    for name, target in (("claude-opus-4-8", MODEL), ("claude-haiku-4-5", other)):
        headers = {"x-request-id": f"glob-{name}"}
        body = {**BODY, "model": name}
        response = httpx.post(proxy.url + "/v1/messages", json=body, headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        assert last(upstream).body["model"] == target
        assert response.headers["x-fwcompat-applied"] == "FW303"
        line = proxy.line(f"glob-{name}")
        # The log names the client's model, never the glob that matched it.
        assert (line["model"], line["upstream_model"]) == (name, target)


def test_log_names_the_clients_model_when_the_map_is_ambiguous(
    serve: ServeFactory, upstream: Upstream
) -> None:
    proxy = serve("--model-map", f"claude-a={MODEL}", "--model-map", f"claude-b={MODEL}")
    for name in ("claude-b", "claude-a"):
        body = {**BODY, "model": name}
        headers = {"x-request-id": f"ambiguous-{name}"}
        response = httpx.post(proxy.url + "/v1/messages", json=body, headers=headers, timeout=30)
        assert response.status_code == 200
        line = proxy.line(f"ambiguous-{name}")
        assert (line["model"], line["upstream_model"]) == (name, MODEL)
    mapped_then_rejected = {**BODY, "model": "claude-a", "output_config": {"effort": "bogus"}}
    headers = {"x-request-id": "ambiguous-rejected"}
    response = httpx.post(
        proxy.url + "/v1/messages", json=mapped_then_rejected, headers=headers, timeout=30
    )
    assert response.status_code == 400
    line = proxy.line("ambiguous-rejected")
    assert (line["model"], line["upstream_model"]) == ("claude-a", None)
