"""``fwcompat serve``: its flags and its start-up checks.

The flags are defined here (:data:`SERVE`, listed by ``fwcompat.cli``); the
configuration flags are the ones ``fwcompat check`` has, so ``[tool.fwcompat]``
applies too. Nothing here imports uvicorn, httpx or prometheus-client until
``run`` is called.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from fwcompat.settings.command_line import load_config
from fwcompat.settings.options import config_options
from fwcompat.settings.subcommand import Subcommand

from ._settings import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ENV_PREFIX,
    SETTINGS_ENV,
    ServeSettings,
    install_layers,
    resolve,
    show,
)

INSTALL_HINT = "pip install 'fwcompat[serve]'"


DESCRIPTION = (
    "Run an Anthropic-compatible reverse proxy: every POST /v1/messages is "
    "checked and normalized by the rules, then forwarded to the upstream (the pack's "
    "endpoint unless --upstream), and the answer streamed back. Point Claude Code or an "
    "Anthropic SDK at it: ANTHROPIC_BASE_URL=http://127.0.0.1:8787. "
    f"Needs the serve extra: {INSTALL_HINT}. Every flag can also be set by an environment "
    f"variable ({ENV_PREFIX}PORT=9000 for --port) or in [tool.fwcompat.serve] (port = 9000); "
    "a flag wins over the environment, which wins over the file."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Every ``fwcompat serve`` flag; each also gets an environment variable and a file key."""
    p.add_argument(
        "--show-settings",
        action="store_true",
        help="print every setting, its value and where it came from (flag, environment "
        "variable, file or default), then exit",
    )
    _network_options(p)
    _key_options(p)
    p.add_argument(
        "--log-format",
        choices=("auto", "text", "json"),
        default="auto",
        help="one line per request on stderr: text, json, or auto (text on a terminal, "
        "json otherwise; the default)",
    )
    p.add_argument(
        "--metrics-max-series",
        metavar="N",
        type=_positive_int,
        default=1000,
        help="most labelled series /metrics keeps per worker (default 1000); observations "
        "past it are counted in fwcompat_serve_metrics_dropped_total",
    )
    _translation_options(p)
    config_options(p)
    install_layers(p)  # last: every flag above gets its environment variable and file key


def _network_options(p: argparse.ArgumentParser) -> None:
    net = p.add_argument_group("network")
    net.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})"
    )
    net.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port to bind (default {DEFAULT_PORT})"
    )
    net.add_argument(
        "--upstream",
        metavar="URL",
        help="base URL requests are forwarded to (default: the pack's endpoint, "
        "https://api.fireworks.ai/inference for the Fireworks packs)",
    )
    net.add_argument(
        "--workers", type=_positive_int, default=1, help="worker processes (default 1)"
    )
    net.add_argument(
        "--connect-timeout",
        metavar="SECONDS",
        type=_positive_float,
        default=10.0,
        help="upstream connect timeout (default 10); past it the client gets 504 timeout_error",
    )
    net.add_argument(
        "--upstream-timeout",
        metavar="SECONDS",
        type=_positive_float,
        default=600.0,
        help="longest wait for the upstream's next bytes (default 600)",
    )
    net.add_argument(
        "--graceful-timeout",
        metavar="SECONDS",
        type=_positive_float,
        help="on SIGTERM, longest wait for in-flight requests to finish (default: no limit)",
    )
    net.add_argument(
        "--max-body-size",
        metavar="BYTES",
        type=_positive_int,
        default=32 * 1024 * 1024,
        help="largest request body accepted (default 32 MiB; above it 413 request_too_large)",
    )


def _key_options(p: argparse.ArgumentParser) -> None:
    keys = p.add_argument_group("keys")
    keys.add_argument(
        "--upstream-key-env",
        metavar="NAME",
        help="send the upstream the key in this environment variable (e.g. FIREWORKS_API_KEY) "
        "instead of the client's x-api-key / Authorization",
    )
    keys.add_argument(
        "--require-key-env",
        metavar="NAME",
        help="refuse clients that do not send the local key in this environment variable "
        "(as x-api-key or Authorization: Bearer); needed to bind a non-loopback address",
    )


def _translation_options(p: argparse.ArgumentParser) -> None:
    translate = p.add_argument_group(
        "client translations (unsafe fixes, each with a diagnostic, in the log and in "
        "x-fwcompat-applied; on by default so that Claude Code works)"
    )
    translate.add_argument(
        "--strict",
        action="store_true",
        help="apply no translation and no unsafe fix the config does not ask for: what the "
        "pack rejects is refused with a 400",
    )
    translate.add_argument(
        "--translate-adaptive-thinking",
        action="store_true",
        help="send thinking: adaptive as enabled thinking with a budget taken from the effort "
        "(the default; with --strict, turns this one translation back on)",
    )
    translate.add_argument(
        "--translate-xhigh",
        action="store_true",
        help="send output_config.effort xhigh as the highest effort the pack accepts "
        "(the default; with --strict, turns this one translation back on)",
    )


TRANSLATIONS = {
    "adaptive_thinking": "adaptive-thinking-translated",
    "xhigh": "effort-xhigh-translated",
}
"""Each translation flag turns on the pack's opt-in rule of this name (ruff's
non-default rules: off unless selected by their full code)."""


def opt_in_translations(
    config: Any, *, adaptive_thinking: bool, xhigh: bool, required: bool = True
) -> Any:
    """``config`` with the pack's opt-in translation rules switched on, by rule name.

    When ``required`` (a flag named them), a pack without such a rule is a
    configuration error naming the flag, never a silent no-op; serve's defaults
    (``required=False``) turn on only the rules the pack has. A pack that retired
    the rule (fireworks-r4 accepts adaptive thinking) has nothing to translate.
    """
    from fwcompat._exceptions import ConfigError
    from fwcompat.rulepacks import load_pack

    wanted = [
        (flag, name)
        for flag, name in TRANSLATIONS.items()
        if {"adaptive_thinking": adaptive_thinking, "xhigh": xhigh}[flag]
    ]
    if not wanted:
        return config
    pack = load_pack(config.pack, config.rule_files, config.pack_dir)
    by_name = {r.rule.name: r.rule.code for r in pack.rules}
    codes = []
    for flag, name in wanted:
        code = by_name.get(name)
        if code is None:
            if not required or _retired_here(pack, name):
                continue  # this revision needs no translation (the pack says why)
            option = "--translate-" + flag.replace("_", "-")
            raise ConfigError(
                f"{option}: the {pack.name!r} pack has no opt-in rule {name!r} to turn on"
            )
        codes.append(code)
    return config.merged(extend_select=[*config.extend_select, *codes])


def _retired_here(pack: Any, name: str) -> bool:
    """Whether a pack this one extends has a rule of this name that this one retired."""
    from fwcompat.rulepacks import load_pack

    parent = pack.extends
    while parent:
        base = load_pack(parent)
        for compiled in base.rules:
            if compiled.rule.name == name:
                return compiled.rule.code in pack.retired
        parent = base.extends
    return False


def run(args: argparse.Namespace) -> int:
    """Validate everything, then serve until SIGTERM (exit 0) or Ctrl-C (130), in-flight
    requests drained first. Exit code 2 on a bad setup, before anything listens."""
    from fwcompat._exceptions import ConfigError, RuleFileError

    try:
        settings_shown = resolve(args)
    except (ConfigError, RuleFileError) as exc:
        return _fail(str(exc))
    if args.show_settings:
        sys.stdout.write(show(settings_shown))
        return 0
    try:
        import aiohttp  # noqa: F401
        import httpx  # noqa: F401
        import prometheus_client  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        return _fail(
            f"fwcompat serve needs the serve extra ({exc.name} is missing): {INSTALL_HINT}"
        )
    try:
        settings = _settings(args)
    except (ConfigError, RuleFileError, ValueError) as exc:
        return _fail(str(exc))
    # Last: a setup mistake is named even while another program holds the port.
    problem = _listen_problem(args.host, args.port)
    if problem:
        return _fail(problem)
    return _serve(args, settings)


def _settings(args: argparse.Namespace) -> ServeSettings:
    """The proxy's settings from the flags, every check a worker would make done once:
    a ``ConfigError`` or ``ValueError`` says what is wrong with the setup."""
    from fwcompat._exceptions import ConfigError
    from fwcompat.rulepacks import load_pack

    from ._app import ServeApp

    config = load_config(args)
    if not args.strict:  # a proxy's user wants the client to work: translate by default
        config = opt_in_translations(config, adaptive_thinking=True, xhigh=True, required=False)
    config = opt_in_translations(
        config, adaptive_thinking=args.translate_adaptive_thinking, xhigh=args.translate_xhigh
    )
    upstream = args.upstream or load_pack(config.pack).endpoint
    if not upstream:
        raise ConfigError(f"pack {config.pack!r} names no endpoint: give --upstream URL")
    problem = _url_problem(upstream)
    if problem:
        raise ConfigError(f"--upstream {upstream!r}: {problem}")
    problem = _key_problem(args)
    if problem:
        raise ConfigError(problem)
    log_format = args.log_format
    if log_format == "auto":
        log_format = "text" if sys.stderr.isatty() else "json"
    settings = ServeSettings(
        upstream=upstream,
        config=config.to_dict(),
        upstream_key_env=args.upstream_key_env,
        require_key_env=args.require_key_env,
        log_format=log_format,
        connect_timeout=args.connect_timeout,
        read_timeout=args.upstream_timeout,
        max_body_size=args.max_body_size,
        metrics_max_series=args.metrics_max_series,
        unsafe_fixes=not args.strict or config.unsafe_fixes,
    )
    ServeApp(settings)  # every check a worker would make, once, with a clear message
    return settings


def _key_problem(args: argparse.Namespace) -> str | None:
    """Why the key flags are unsafe together with the address bound, else None."""
    if args.require_key_env and not args.upstream_key_env:
        return (
            "--require-key-env needs --upstream-key-env: the local key is never sent upstream, "
            "so the proxy must hold the upstream key"
        )
    if not args.require_key_env and not _is_loopback(args.host):
        return (
            f"refusing to listen on {args.host}, which is not a loopback address, without "
            "--require-key-env: anyone who reaches it could spend the upstream key. Set a "
            "local key (e.g. --require-key-env FWCOMPAT_PROXY_KEY --upstream-key-env "
            "FIREWORKS_API_KEY) or bind 127.0.0.1"
        )
    return None


def _serve(args: argparse.Namespace, settings: ServeSettings) -> int:
    """Run uvicorn with ``settings`` until a signal; the exit code is ours, not uvicorn's."""
    import shutil
    import signal
    import tempfile

    import uvicorn

    from ._app import quiet_diagnostic_logger

    os.environ[SETTINGS_ENV] = settings.to_json()
    quiet_diagnostic_logger()
    pack = settings.config.get("pack")
    sys.stderr.write(
        f"fwcompat serve: http://{_display_host(args.host)}:{args.port} -> {settings.upstream} "
        f"(pack {pack}, {args.workers} worker{'s' if args.workers > 1 else ''}"
        f"{', strict' if args.strict else ''})\n"
    )
    sys.stderr.flush()
    received: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        # uvicorn drains, restores these handlers and re-raises the signal it got:
        # recorded here, so that the clean-up below runs and the exit code is ours.
        signal.signal(sig, lambda number, _frame: received.append(number))
    metrics_dir = None
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = tempfile.mkdtemp(prefix="fwcompat-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        uvicorn.run(
            "fwcompat.serve._app:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="warning",
            access_log=False,
            lifespan="on",
            server_header=False,  # the upstream's Server and Date headers pass through
            date_header=False,
            timeout_graceful_shutdown=args.graceful_timeout,
        )
    except SystemExit as exc:
        if exc.code in (0, None):
            raise
        # uvicorn exits 3 when it cannot start (it logged why): a set-up error, exit 2.
        return _fail(f"cannot serve on {_display_host(args.host)}:{args.port} (see above)")
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 130 if signal.SIGINT in received else 0


def _listen_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (checked before starting), else None.

    A port another program holds is the usual one: a clear line and exit 2, instead
    of uvicorn's raw errno message and its exit 3.
    """
    import errno
    import socket

    where = f"{_display_host(host)}:{port}"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        return f"cannot listen on {where}: {getattr(exc, 'strerror', None) or exc}"
    family, kind, proto, _, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            sock.bind(address)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return f"cannot listen on {where}: the port is already in use (choose another --port)"
        return f"cannot listen on {where}: {exc.strerror or exc}"
    return None


def _fail(message: str) -> int:
    sys.stderr.write(f"fwcompat serve: error: {message}\n")
    return 2


def _url_problem(url: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https"):
        return "expected an http:// or https:// URL"
    if not parts.hostname:
        return "the URL names no host"
    if parts.query or parts.fragment:
        return "a base URL has no query or fragment"
    return None


def _is_loopback(host: str) -> bool:
    """True when every address ``host`` names is a loopback address."""
    import ipaddress
    import socket

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def _display_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _port(value: str) -> int:
    port = _positive_int(value)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"expected a port 1-65535, got {value}")
    return port


def _positive_int(value: str) -> int:
    return int(_positive(value, int, "a positive integer", "a positive integer"))


def _positive_float(value: str) -> float:
    return float(_positive(value, float, "a number of seconds", "a positive number of seconds"))


def _positive(value: str, kind: type[float], unreadable: str, not_positive: str) -> float:
    """``value`` read as ``kind``, > 0 and finite; else an argparse error naming ``value``."""
    try:
        number = kind(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {unreadable}, got {value!r}") from None
    if not number > 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"expected {not_positive}, got {value}")
    return number


SERVE = Subcommand(
    "serve",
    "run an Anthropic-compatible proxy that checks every request on its way upstream",
    DESCRIPTION,
    add_arguments,
    run,
)
"""``fwcompat serve``, as ``fwcompat.cli`` lists it."""
