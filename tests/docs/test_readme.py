"""The README and docs/ run as written: every Python and shell block is executed here.

- ```` ```python ```` blocks run in order, each in a fresh namespace, in a
  subprocess whose ``FIREWORKS_API_KEY`` is set and whose Fireworks URL
  (``https://api.fireworks.ai/inference``) points at a local Fireworks-like
  server on 127.0.0.1 (``tests/integration/fireworks_stub.py``). A block that
  starts with ``>>>`` is a doctest.
- ```` ```sh ```` blocks run line by line with bash in a copy of the
  repository, with this environment's ``fwcompat`` on ``PATH``. When a
  ```` ```text ```` block follows, it is the expected output, compared line by
  line (a line ending in ``...`` matches by prefix).
- A block that runs ``pip install`` runs, as written, in a copy of the
  repository with a throwaway virtualenv first on ``PATH`` (as after
  ``source .venv/bin/activate``): ``pip install .`` installs that copy there,
  never into the environment running the tests.
- ```` ```toml ```` samples are read by fwcompat's own config reader (and
  ``[tool.fwcompat.serve]`` by ``fwcompat serve``'s), so a key that does not
  exist fails.
- A block preceded by ``<!-- readme-test: ci -->`` is what ``.ci/run`` (the
  CI) runs; it is checked to exist, not run twice. One preceded by
  ``<!-- readme-test: tests/....py -->`` is run by that test file (a recipe that
  needs a server of its own), which must exist and read the README.
- Other blocks (```` ```text ````, TOML, YAML, an unlabelled tree) are output or
  file samples.
"""

from __future__ import annotations

import doctest
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = [README, ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("**/*.md"))]
"""Every Markdown file whose blocks are run: the README, CONTRIBUTING and the docs site's pages."""
FIREWORKS = "https://api.fireworks.ai/inference"
CI_MARK = "<!-- readme-test: ci -->"


class Block(NamedTuple):
    page: Path
    lang: str
    text: str
    line: int
    ci: bool
    """Run elsewhere: by .ci/run, or by the test file named in its marker."""
    output: str | None
    """The ```text block right after this one, if any (its expected output)."""


RUN_BY: dict[tuple[Path, int], Path] = {}
"""(page, line) of a block -> the test file that runs it (other than .ci/run)."""


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    lines = text.splitlines()
    found: list[tuple[str, str, int, bool]] = []
    i = 0
    while i < len(lines):
        match = re.match(r"^```(\S*)\s*$", lines[i])
        if not match:
            i += 1
            continue
        start = i
        i += 1
        body = []
        while not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        previous = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        elsewhere = previous.startswith("<!-- readme-test: ") and previous.endswith(" -->")
        found.append((match.group(1), "\n".join(body) + "\n", start + 1, elsewhere))
        if elsewhere and previous != CI_MARK:
            runner = ROOT / previous.removeprefix("<!-- readme-test: ").removesuffix(" -->")
            RUN_BY[page, start + 1] = runner
        i += 1
    out = []
    for n, (lang, text, line, ci) in enumerate(found):
        following = found[n + 1] if n + 1 < len(found) else None
        output = None
        if following and following[0] == "text" and lang == "sh":
            between = lines[line + text.count("\n") + 1 : following[2] - 1]
            if not any(s.strip() for s in between):
                output = following[1]
        out.append(Block(page, lang, text, line, ci, output))
    return out


def _name(block: Block) -> str:
    return f"{block.page.relative_to(ROOT)}:{block.line}"


ALL = [block for page in PAGES for block in blocks(page)]
PYTHON = [b for b in ALL if b.lang == "python" and not b.ci]
SHELL = [b for b in ALL if b.lang == "sh" and not b.ci]


def test_every_runnable_block_is_covered() -> None:
    for block in ALL:
        known = ("python", "sh", "text", "toml", "yaml", "")
        assert block.lang in known, (_name(block), block.lang)
        if (block.page, block.line) in RUN_BY:
            runner = RUN_BY[block.page, block.line]
            assert runner.is_file() and block.page.name in runner.read_text(), runner
        elif block.ci:
            assert block.lang == "sh"
            ci = (ROOT / ".ci" / "run").read_text()
            for command in _commands(block.text):
                assert command.startswith((".ci/run", "python3 -m venv")), command
            assert "pip install" in ci


@pytest.fixture(scope="module")
def fireworks() -> Iterator[str]:
    sys.path.insert(0, str(ROOT / "tests" / "integration"))
    try:
        from fireworks_stub import FireworksStub, ServerThread
    finally:
        sys.path.pop(0)
    with ServerThread(FireworksStub()) as server:
        yield server.url


def _env(fireworks: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FWCOMPAT")}
    env["FIREWORKS_API_KEY"] = "fw_test"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["FWCOMPAT_NO_CACHE"] = "1"
    if fireworks:
        env["README_FIREWORKS_URL"] = fireworks
        env["FIREWORKS_BASE_URL"] = fireworks  # examples/gateway_example.py reads it
    return env


GATEWAY_DRIVER = """
import asyncio, httpx
async def _drive():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as c:
        r = await c.post("/v1/messages", json={"model": "accounts/fireworks/models/kimi-k2p5",
                         "max_tokens": 8,
                         "messages": [{"role": "user", "content": "hi"}], "service_tier": "auto"})
        assert r.status_code == 200, r.text
        print("gateway answered", r.status_code, r.headers.get("x-fwcompat-applied"))
asyncio.run(_drive())
"""


@pytest.mark.parametrize("block", PYTHON, ids=[_name(b) for b in PYTHON])
def test_python_block_runs(block: Block, fireworks: str, tmp_path: Path) -> None:
    if block.text.lstrip().startswith(">>>"):
        parser = doctest.DocTestParser()
        test = parser.get_doctest(block.text, {}, _name(block), str(block.page), 0)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test)
        assert runner.failures == 0, f"{_name(block)}: doctest failed"
        return
    code = block.text.replace(f'"{FIREWORKS}"', 'os.environ["README_FIREWORKS_URL"]')
    if "import os" not in code and "os.environ" in code:
        code = "import os\n" + code
    if "CompatMiddleware(" in code and "app = " in code:
        code += GATEWAY_DRIVER
    script = tmp_path / "block.py"
    script.write_text(code)
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env=_env(fireworks),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{_name(block)}\n{result.stdout}\n{result.stderr}"


def _commands(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        out.append(line)
    return out


@pytest.fixture(scope="module")
def repo_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("readme") / "fwcompat"
    shutil.copytree(
        ROOT,
        target,
        ignore=shutil.ignore_patterns(".venv", ".git", "*.egg-info", "__pycache__", ".*_cache"),
    )
    return target


def _matches(expected: str, actual: str) -> bool:
    want = expected.rstrip("\n").splitlines()
    got = actual.rstrip("\n").splitlines()
    if len(want) != len(got):
        return False
    for w, g in zip(want, got, strict=True):
        if w.endswith("...") and g.startswith(w[:-3]):
            continue
        if w != g:
            return False
    return True


@pytest.mark.parametrize("block", SHELL, ids=[_name(b) for b in SHELL])
def test_shell_block_runs(block: Block, repo_copy: Path) -> None:
    env = _env()
    commands = _commands(block.text)
    if any(re.match(r"^pip install ", command) for command in commands):
        # A fresh virtualenv, activated: the block's own `pip install .` lands there, and
        # what it installed is what the block's next commands run.
        venv = repo_copy.parent / f"venv-{block.page.stem}-{block.line}"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    outputs = []
    for command in commands:
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=repo_copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert "Traceback" not in result.stderr, (_name(block), command, result.stderr)
        assert result.returncode in (0, 1), (_name(block), command, result.stdout, result.stderr)
        outputs.append(result.stdout + result.stderr)
    if block.output is not None:
        actual = "".join(outputs)
        assert _matches(block.output, actual), (
            f"{_name(block)}: the output block does not match\n" + textwrap.indent(actual, "    ")
        )


TOML = [b for b in ALL if b.lang == "toml"]


@pytest.mark.parametrize("block", TOML, ids=[_name(b) for b in TOML])
def test_toml_sample_is_a_valid_config(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every key of a TOML sample exists: fwcompat reads it as it reads a user's file."""
    from fwcompat.cli import build_parser
    from fwcompat.serve._settings import resolve
    from fwcompat.settings.config_files import load_settings

    path = tmp_path / "pyproject.toml"
    path.write_text(block.text)
    for name in list(os.environ):
        if name.startswith("FWCOMPAT_SERVE_"):
            monkeypatch.delenv(name)
    config, found, _ = load_settings(str(path))
    assert found == str(path), _name(block)
    assert config.to_dict(), _name(block)
    args = build_parser().parse_args(["serve", "--config", str(path)])
    settings = resolve(args)
    from_file = {dest for dest, s in settings.items() if s.source.startswith("file ")}
    if "[tool.fwcompat.serve]" in block.text:
        assert from_file, _name(block)
