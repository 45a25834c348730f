"""``fwcompat serve`` settings: flag > environment (FWCOMPAT_SERVE_*) > file > default.

The layering is generic over the parser's argparse actions: these tests build the real
serve parser, and a parser with flags the serve parser does not have, and resolve both.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from fwcompat._exceptions import ConfigError
from fwcompat.cli import build_parser, main
from fwcompat.serve._settings import (
    ENV_PREFIX,
    LAYERS_DEST,
    NOT_LAYERED,
    SETTINGS_ENV,
    env_name,
    install_layers,
    resolve,
)
from tests.serve.conftest import MODEL, ServeFactory, Upstream, last


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No FWCOMPAT_SERVE_* of the outer environment, and no pyproject.toml above the test."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["serve", *argv])


def write_pyproject(folder: Path, serve_table: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(f"[tool.fwcompat]\nignore = []\n\n[tool.fwcompat.serve]\n{serve_table}\n")
    return path


# (flag args, environment, [tool.fwcompat.serve] lines, dest, expected value, expected source)
PRECEDENCE: list[tuple[list[str], dict[str, str], str, str, Any, str]] = [
    ([], {}, "", "port", 8787, "default"),
    ([], {}, "port = 9001", "port", 9001, "file"),
    ([], {"FWCOMPAT_SERVE_PORT": "9002"}, "port = 9001", "port", 9002, "env"),
    (["--port", "9003"], {"FWCOMPAT_SERVE_PORT": "9002"}, "port = 9001", "port", 9003, "flag"),
    # a flag equal to the default still wins over the environment and the file
    (["--port", "8787"], {"FWCOMPAT_SERVE_PORT": "9002"}, "port = 9001", "port", 8787, "flag"),
    (["--port", "9003"], {}, "port = 9001", "port", 9003, "flag"),
    ([], {}, 'host = "::1"', "host", "::1", "file"),
    ([], {}, 'log-format = "json"', "log_format", "json", "file"),
    ([], {"FWCOMPAT_SERVE_LOG_FORMAT": "text"}, 'log_format = "json"', "log_format", "text", "env"),
    ([], {}, "upstream-timeout = 30", "upstream_timeout", 30.0, "file"),
    ([], {"FWCOMPAT_SERVE_UPSTREAM_TIMEOUT": "2.5"}, "", "upstream_timeout", 2.5, "env"),
    ([], {}, "translate-xhigh = true", "translate_xhigh", True, "file"),
    (
        [],
        {"FWCOMPAT_SERVE_TRANSLATE_XHIGH": "0"},
        "translate-xhigh = true",
        "translate_xhigh",
        False,
        "env",
    ),
    (
        ["--translate-xhigh"],
        {"FWCOMPAT_SERVE_TRANSLATE_XHIGH": "no"},
        "",
        "translate_xhigh",
        True,
        "flag",
    ),
    # list flags: a TOML list or table, a comma-separated variable, a repeated flag
    ([], {}, 'model-map = ["a=b", "c=d"]', "model_map", [("a", "b"), ("c", "d")], "file"),
    ([], {}, 'model-map = { a = "b" }', "model_map", [("a", "b")], "file"),
    (
        [],
        {"FWCOMPAT_SERVE_MODEL_MAP": "x=y,z=w"},
        'model-map = ["a=b"]',
        "model_map",
        [("x", "y"), ("z", "w")],
        "env",
    ),
    (
        ["--model-map", "p=q"],
        {"FWCOMPAT_SERVE_MODEL_MAP": "x=y"},
        "",
        "model_map",
        [("p", "q")],
        "flag",
    ),
    ([], {}, 'ignore = ["FW401", "FW6"]', "ignore", ["FW401", "FW6"], "file"),
    ([], {"FWCOMPAT_SERVE_IGNORE": "FW401,FW6"}, "", "ignore", ["FW401", "FW6"], "env"),
    ([], {}, 'select = ["FW4", "FW6"]', "select", ["FW4", "FW6"], "file"),
    ([], {"FWCOMPAT_SERVE_SELECT": "FW4,FW6"}, "", "select", ["FW4", "FW6"], "env"),
    ([], {}, "", "upstream_key_env", None, "default"),
    (
        [],
        {},
        'upstream-key-env = "FIREWORKS_API_KEY"',
        "upstream_key_env",
        "FIREWORKS_API_KEY",
        "file",
    ),
]


@pytest.mark.parametrize(
    ("argv", "env", "table", "dest", "expected", "source"),
    PRECEDENCE,
    ids=[f"{row[3]}-{row[5]}-{i}" for i, row in enumerate(PRECEDENCE)],
)
def test_precedence(
    argv: list[str],
    env: dict[str, str],
    table: str,
    dest: str,
    expected: Any,
    source: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_pyproject(tmp_path, table)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = parse(*argv)
    settings = resolve(args)
    assert getattr(args, dest) == expected
    where = settings[dest].source
    assert where.split()[0] == source
    if source == "env":
        assert where == f"env {ENV_PREFIX}{dest.upper()}"
    if source == "file":
        assert where == f"file {path}"


def test_isolated_and_config_choose_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_pyproject(tmp_path, "port = 9001")
    other = tmp_path / "fwcompat.toml"  # a dedicated file: its [serve] table
    other.write_text("[serve]\nport = 9005\n")
    assert resolve(args := parse("--isolated")) and args.port == 8787
    assert resolve(args := parse("--config", str(other))) and args.port == 9005
    monkeypatch.setenv("FWCOMPAT_SERVE_CONFIG", str(other))
    settings = resolve(args := parse())
    assert args.port == 9005 and settings["config"].source == "env FWCOMPAT_SERVE_CONFIG"
    monkeypatch.delenv("FWCOMPAT_SERVE_CONFIG")
    monkeypatch.setenv("FWCOMPAT_SERVE_ISOLATED", "true")
    assert resolve(args := parse()) and args.port == 8787 and args.isolated is True


def test_every_serve_flag_is_layered() -> None:
    """No flag of the real parser is left out (flags added later by others included)."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[
        "serve"
    ]
    layered = {a.dest for a in sub.get_default(LAYERS_DEST).actions}
    flags = {a.dest for a in sub._actions if a.option_strings and a.dest not in NOT_LAYERED}
    assert flags == layered
    assert {"port", "host", "upstream", "model_map", "translate_xhigh", "config"} <= layered
    assert all(env_name(a) != SETTINGS_ENV for a in sub.get_default(LAYERS_DEST).actions)


def test_a_new_flag_gets_environment_and_file_support(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a flag another branch adds (--strict, --metrics-max-series) gets with no code."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--strict", action="store_true")
    parser.add_argument("--metrics-max-series", type=int, default=1000)
    parser.add_argument("--no-color", dest="color", action="store_false")
    parser.add_argument("--config")
    parser.add_argument("--isolated", action="store_true")
    install_layers(parser)
    write_pyproject(tmp_path, "metrics-max-series = 50\nno-color = true")
    monkeypatch.setenv("FWCOMPAT_SERVE_STRICT", "1")
    args = parser.parse_args([])
    settings = resolve(args)
    assert (args.strict, args.metrics_max_series, args.color) == (True, 50, False)
    assert settings["strict"].source == "env FWCOMPAT_SERVE_STRICT"
    assert settings["metrics_max_series"].flag == "--metrics-max-series"


@pytest.mark.parametrize(
    ("env", "table", "message"),
    [
        ({"FWCOMPAT_SERVE_PORT": "eighty"}, "", "environment variable FWCOMPAT_SERVE_PORT: "),
        ({"FWCOMPAT_SERVE_PORT": "70000"}, "", "expected a port 1-65535"),
        ({"FWCOMPAT_SERVE_PROT": "1"}, "", "did you mean FWCOMPAT_SERVE_PORT?"),
        ({"FWCOMPAT_SERVE_TRANSLATE_XHIGH": "maybe"}, "", "expected true or false"),
        ({"FWCOMPAT_SERVE_LOG_FORMAT": "xml"}, "", "invalid choice 'xml'"),
        ({}, "prot = 1", "[tool.fwcompat.serve]: unknown key 'prot'; did you mean port?"),
        ({}, 'port = "x"', "[tool.fwcompat.serve].port: expected a positive integer"),
        ({}, "port = true", "[tool.fwcompat.serve].port: expected a string or a number"),
        ({}, "model-map = 3", "[tool.fwcompat.serve].model-map: expected a list"),
        ({}, "config = 'x.toml'", "unknown key 'config'"),
    ],
)
def test_bad_values_name_their_source(
    env: dict[str, str],
    table: str,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_pyproject(tmp_path, table)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        resolve(parse())
    assert message in str(caught.value)


def test_bad_setting_exits_2_before_anything_listens(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FWCOMPAT_SERVE_WORKERS", "0")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fwcompat serve: error: environment variable FWCOMPAT_SERVE_WORKERS")
    assert "Traceback" not in err


def test_show_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_pyproject(tmp_path, 'port = 9001\nhost = "::1"')
    monkeypatch.setenv("FWCOMPAT_SERVE_PORT", "9002")
    assert main(["serve", "--show-settings", "--log-format", "json"]) == 0
    lines = {
        line.split(" = ")[0]: [part.strip() for part in line.split(" = ", 1)[1].split("#")]
        for line in capsys.readouterr().out.splitlines()
    }
    assert lines["--port"] == ["9002", "env FWCOMPAT_SERVE_PORT"]
    assert lines["--host"] == ['"::1"', f"file {path}"]
    assert lines["--log-format"] == ['"json"', "flag"]
    assert lines["--workers"] == ["1", "default"]
    value, _ = lines["--max-body-size"]
    assert json.loads(value) == 32 * 1024 * 1024


def test_check_ignores_the_serve_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """[tool.fwcompat.serve] is not an unknown key of [tool.fwcompat] for `fwcompat check`."""
    write_pyproject(tmp_path, "port = 9001")
    (tmp_path / "r.json").write_text(json.dumps({"model": MODEL, "messages": []}))
    assert main(["check", "r.json"]) == 0, capsys.readouterr().err


def test_a_real_proxy_takes_env_and_file(
    serve: ServeFactory, upstream: Upstream, tmp_path: Path
) -> None:
    """The model map from [tool.fwcompat.serve], the body limit from FWCOMPAT_SERVE_*."""
    write_pyproject(tmp_path, f'model-map = ["claude-sonnet-4-6={MODEL}"]')
    env = {"FWCOMPAT_SERVE_MAX_BODY_SIZE": "4096", "FIREWORKS_API_KEY": "k"}
    # The serve fixture passes --isolated; this proxy reads the file, so start it by hand.
    from tests.serve.conftest import start_serve

    proxy = start_serve(
        ["--upstream", upstream.url, "--log-format", "json"],
        tmp_path / "serve.log",
        env=env,
        cwd=tmp_path,
    )
    try:
        hi = [{"role": "user", "content": "hi"}]
        body = {"model": "claude-sonnet-4-6", "max_tokens": 8, "messages": hi}
        ok = httpx.post(proxy.url + "/v1/messages", json=body, timeout=30)
        assert ok.status_code == 200, ok.text
        assert last(upstream).body["model"] == MODEL
        big = {**body, "messages": [{"role": "user", "content": "x" * 8192}]}
        too_big = httpx.post(proxy.url + "/v1/messages", json=big, timeout=30)
        assert too_big.status_code == 413
    finally:
        assert proxy.stop() == 0


def test_help_default_placeholders_still_read_right() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--metrics-max-series", type=int, default=1000, help="cap (default %(default)s)"
    )
    install_layers(parser)
    assert "cap (default 1000)" in " ".join(parser.format_help().split())
