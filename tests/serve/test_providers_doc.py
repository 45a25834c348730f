"""docs/providers.md runs as written: each `sh` block with the real `fwcompat serve` in front
of the stub upstream (a free port instead of 8787, --isolated), and a stand-in for the
`claude` command (tests/serve/claude_client_standin.py) that sends Claude Code-shaped
requests."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fireworks_stub import Upstream

from fwcompat.rulepacks._packs import packs
from tests.serve.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "providers.md"
STANDIN = Path(__file__).resolve().parent / "claude_client_standin.py"


def blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def serve_block(pack: str) -> str:
    (script,) = [b for b in blocks() if f"fwcompat serve --pack {pack} " in b]
    return script


def run_recipe(script: str, upstream: Upstream, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    port = free_port()
    script = script.replace(
        "fwcompat serve ", f"fwcompat serve --upstream {upstream.url} --isolated --port {port} ", 1
    ).replace("127.0.0.1:8787", f"127.0.0.1:{port}")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    claude = bin_dir / "claude"
    claude.write_text(f"#!{sys.executable}\n" + STANDIN.read_text(encoding="utf-8"))
    claude.chmod(0o755)
    env = {
        **os.environ,
        "PATH": os.pathsep.join(
            [str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]]
        ),
    }
    # Its own process group: if the recipe fails half-way, the proxy it started in the
    # background is stopped with it instead of holding the pipes open.
    process = subprocess.Popen(
        ["bash", "-eu", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"the recipe did not finish in 120 s:\n{err}")
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _json(line: str) -> dict[str, object]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def log_codes(stderr: str) -> list[list[str]]:
    """The `codes` of each request's JSON log line on the proxy's stderr."""
    out = []
    for line in stderr.splitlines():
        if line.startswith("{") and '"codes"' in line:
            out.append(json.loads(line)["codes"])
    return out


def test_every_block_is_one_of_the_tested_recipes() -> None:
    found = blocks()
    assert len(found) == 4
    assert all(
        any(f"fwcompat serve --pack {p} " in b for p in ("ollama", "vllm", "sglang"))
        or b.startswith("fwcompat sources check ")
        for b in found
    )


def test_the_basis_counts_in_the_table_are_the_packs_own() -> None:
    text = DOC.read_text(encoding="utf-8")
    for info in packs():
        if info.name not in ("ollama", "vllm", "sglang"):
            continue
        row = next(line for line in text.splitlines() if line.startswith(f"| `{info.name}` |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[-3:] == [str(info.basis[k]) for k in ("documented", "code", "inferred")]


needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="the recipes need curl")


@needs_curl
@pytest.mark.parametrize(("pack", "model"), [("ollama", "qwen3-coder"), ("vllm", "my-model")])
def test_the_claude_code_recipe_goes_through(
    pack: str, model: str, upstream: Upstream, tmp_path: Path
) -> None:
    done = run_recipe(serve_block(pack), upstream, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Hello from the stub."
    sent = upstream.received
    assert [r.body["model"] for r in sent] == [model, model]
    main = sent[-1].body
    if pack == "ollama":
        # Documented as not supported and ignored by the server: removed, with a warning.
        assert "metadata" not in main
        assert "cache_control" not in main["system"][1]
        assert main["thinking"] == {"type": "adaptive"}  # undocumented: passed on, warned
        codes = log_codes(done.stderr)[-1]
        assert {"OL402", "OL404", "OL405", "OL409", "OL410", "OL707"} <= set(codes)
    else:
        assert main["metadata"] == sent[-1].body["metadata"]  # declared by vLLM: kept
        codes = log_codes(done.stderr)[-1]
        assert {"VL408", "VL704", "VL707", "VL708"} <= set(codes)


@needs_curl
def test_the_sglang_recipe_goes_through(upstream: Upstream, tmp_path: Path) -> None:
    done = run_recipe(serve_block("sglang"), upstream, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["type"] == "message"
    (sent,) = upstream.received
    assert "metadata" not in sent.body  # documented as ignored: removed
    assert log_codes(done.stderr) == [["SG401"]]


@needs_curl
def test_claude_code_requests_are_refused_for_sglang_naming_the_rules(
    upstream: Upstream, tmp_path: Path
) -> None:
    # The vLLM recipe pointed at the sglang pack; `!` lets the script go on to stop the
    # proxy when the client fails, as it must.
    script = serve_block("vllm").replace("--pack vllm", "--pack sglang", 1)
    script = script.replace("\nANTHROPIC_BASE_URL=", "\n! ANTHROPIC_BASE_URL=", 1)
    assert "\n! ANTHROPIC_BASE_URL=" in script
    done = run_recipe(script, upstream, tmp_path)
    assert done.returncode == 0, done.stderr
    assert upstream.received == []  # refused before it left
    answers = [_json(x) for x in done.stderr.splitlines()]
    (answer,) = [a for a in answers if a.get("type") == "error"]
    assert "SG701" in answer["error"]["message"]


def test_the_sources_check_block_runs() -> None:
    (script,) = [b for b in blocks() if b.startswith("fwcompat sources check ")]
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"]}
    done = subprocess.run(
        ["bash", "-eu", "-c", script], capture_output=True, text=True, env=env, cwd=REPO,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Rules whose quoted sentence is not in the new text (0)" in done.stdout
