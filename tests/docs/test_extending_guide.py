"""docs/extending.md, run as written: its files are written into an empty folder and its
commands run there, in order, with the output the page shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.docs.test_readme import ROOT, blocks

PAGE = ROOT / "docs" / "extending.md"
FILE_MARK = re.compile(r"^<!-- file: (\S+) -->$")


def _files() -> dict[str, str]:
    """Each block preceded by ``<!-- file: PATH -->``, by PATH."""
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    out: dict[str, str] = {}
    for block in blocks(PAGE):
        previous = next((lines[j] for j in range(block.line - 2, -1, -1) if lines[j].strip()), "")
        match = FILE_MARK.match(previous)
        if match:
            out[match.group(1)] = block.text
    return out


def test_the_guide_marks_its_files_and_its_commands() -> None:
    files = _files()
    assert {"our-gateway/pack.yaml", "acme/pack.yaml", "acme/source.txt"} <= set(files)
    shell = [b for b in blocks(PAGE) if b.lang == "sh"]
    assert shell and all(b.ci and b.output for b in shell)


def test_the_guide_runs_as_written(tmp_path: Path) -> None:
    for name, text in _files().items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FWCOMPAT")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["FWCOMPAT_NO_CACHE"] = "1"
    for block in (b for b in blocks(PAGE) if b.lang == "sh"):
        output = ""
        for command in (c for c in block.text.splitlines() if c.strip()):
            result = subprocess.run(
                ["bash", "-c", command],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,  # interleaved, as on a terminal
                text=True,
                timeout=120,
                check=False,
            )
            assert result.returncode == 0, (command, result.stdout)
            output += result.stdout
        assert output == block.output, (block.line, output)
    # The pack the guide adds really is in use: the fix removed what its rule names, only that.
    fixed = (tmp_path / "request.json").read_text(encoding="utf-8")
    assert '"metadata"' not in fixed and '"top_k": 5' in fixed
