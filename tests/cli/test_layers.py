"""The front ends' layers: ``fwcompat check`` never imports ``fwcompat.serve``, and
``fwcompat.serve`` never imports ``fwcompat.cli`` (the options they share live in
``fwcompat.settings``, below both)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from .conftest import FIXTURES, fresh_python

PACKAGE = Path(__file__).resolve().parents[2] / "fwcompat"


def imported_modules(*args: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``fwcompat ARGS``."""
    program = (
        "import json, sys\n"
        "from fwcompat.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)) + '\\n')\n"
        "sys.exit(code)\n"
    )
    result = fresh_python(program, *args)
    assert result.returncode in (0, 1), result.stderr
    listed = result.stderr.rsplit("\nMODULES ", 1)[1]
    return set(json.loads(listed))


def test_check_imports_no_serve_module() -> None:
    for args in (["check", str(FIXTURES / "good")], ["normalize", str(FIXTURES / "good")]):
        modules = imported_modules(*args)
        assert "fwcompat.cli._check_command" in modules, args  # the probe sees our modules
        assert not {m for m in modules if m.startswith("fwcompat.serve")}, args
        assert "orjson" not in modules, args  # a few small files: not worth its import


def test_serve_imports_no_cli_module_even_inside_a_function() -> None:
    """Every import statement under fwcompat/serve and fwcompat/settings, deferred or not."""
    for folder in ("serve", "settings"):
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                upward = [n for n in names if n.startswith("fwcompat.cli")]
                if folder == "settings":
                    upward += [n for n in names if n.startswith("fwcompat.serve")]
                assert not upward, (path.name, node.lineno, upward)


def test_serve_builds_its_parser_without_the_cli() -> None:
    program = (
        "import argparse, sys\n"
        "from fwcompat.serve._cli import SERVE\n"
        "parser = argparse.ArgumentParser(prog='serve')\n"
        "SERVE.add_arguments(parser)\n"
        "print(parser.parse_args(['--port', '9000']).port)\n"
        "print(sorted(m for m in sys.modules if m.startswith('fwcompat.cli')))\n"
    )
    result = fresh_python(program)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["9000", "[]"]


def test_top_level_help_loads_no_engine() -> None:
    """``fwcompat --help`` and ``serve --help`` list options: no JSON Schema compiler,
    no rule engine (they were loaded through the serve package's type imports)."""
    for args in (["--help"], ["serve", "--help"]):
        program = (
            "import sys\n"
            "from fwcompat.cli import main\n"
            "try:\n"
            "    main(sys.argv[1:])\n"
            "except SystemExit:\n"
            "    pass\n"
            "sys.stdout.flush()\n"
            "heavy = ('jsonschema_rs', 'fwcompat.engine', 'fwcompat._check', 'yaml')\n"
            "sys.stderr.write('HEAVY ' + ','.join(m for m in heavy if m in sys.modules))\n"
        )
        result = fresh_python(program, *args)
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout, args  # the probe ran the command
        assert result.stderr.rsplit("HEAVY ", 1)[1] == "", args
