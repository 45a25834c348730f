"""What the request-path front ends share: the SDK transport, the ASGI middleware, ``serve``.

One reading of a request, so that every front end checks exactly what it forwards:

- :func:`normalize_path` and :func:`api_path`: the path as an upstream router
  matches it (``//v1/messages``, ``/V1/messages`` and ``/v1/messages/`` all
  reach the messages endpoint, so they are all checked);
- :func:`decode_body`: a request body parsed strictly (UTF-8 only, no duplicate
  keys, no ``NaN``), raising :class:`BodyError` with the message of the 400;
- :func:`error_envelope` and :func:`rejection_message`: the Anthropic error
  envelope a rejected request gets, from the middleware or the SDK client;
- :func:`log_diagnostics`: one record per diagnostic on the ``fwcompat``
  logger, carrying method, path and codes (and request id and client when known);
- :func:`caller_stacklevel`: the ``stacklevel`` that points a warning at the
  user's line, past the SDK and HTTP library frames.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import secrets
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any

from ._check import check
from ._config import Config
from ._diagnostics import Diagnostic, Result, Severity
from ._fastjson import UNSURE, guarded_loads, import_orjson

__all__ = [
    "MESSAGES_PATH",
    "ASGIApp",
    "BodyError",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "api_path",
    "caller_stacklevel",
    "check_body",
    "check_url",
    "codes_of",
    "decode_body",
    "encode_body",
    "error_envelope",
    "error_payload",
    "header_dict",
    "log_diagnostics",
    "normalize_path",
    "rebuild_headers",
    "rejection_message",
    "request_id",
    "send_error",
]

MESSAGES_PATH = "/v1/messages"

# ASGI, as the middleware and serve see it (no framework imported).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUEST_ID_KEY = "fwcompat.request_id"
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

logger = logging.getLogger("fwcompat")

_LEVEL = {
    Severity.ERROR: logging.WARNING,
    Severity.WARNING: logging.WARNING,
    Severity.INFO: logging.DEBUG,
}


# --------------------------------------------------------------------------- paths


def _segments(path: str) -> list[str]:
    """The path's segments with empty and ``.`` ones dropped and ``..`` resolved (RFC 3986)."""
    out: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
            continue
        out.append(segment)
    return out


def normalize_path(path: str) -> str:
    """``path`` as a lenient upstream router matches it, for comparing, never for forwarding.

    Repeated slashes collapse, dot segments resolve, a trailing slash goes and
    case is folded: ``//V1/./messages/`` is ``/v1/messages``.
    """
    return "/" + "/".join(_segments(path)).lower()


def api_path(path: str) -> tuple[str, str] | None:
    """``(prefix, api_path)`` split at the last ``/v1/`` segment, or ``None`` without one.

    ``api_path`` is normalized (``/v1/messages/count_tokens``); ``prefix`` keeps
    the case of the original (``/inference``), for the base URL rules.
    """
    segments = _segments(path)
    for i in range(len(segments) - 1, -1, -1):
        if segments[i].lower() == "v1":
            prefix = "/" + "/".join(segments[:i]) if i else ""
            return prefix, "/" + "/".join(segments[i:]).lower()
    return None


def check_url(path: str, base_url: str | None, config: Config) -> Result:
    """The url rules alone, for an endpoint whose body fwcompat does not check.

    ``request`` and ``headers`` of the result are empty; ``diagnostics`` holds
    only the url scope's.
    """
    result = check({}, base_url=base_url, path=path, config=config)
    return Result(
        request={}, headers={}, diagnostics=tuple(d for d in result.diagnostics if d.scope == "url")
    )


# --------------------------------------------------------------------------- bodies


class BodyError(ValueError):
    """A request body that is not one strict JSON object; ``message`` is the 400's text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise BodyError(
                    f"Request body is not valid JSON: duplicate key {key!r} in an object "
                    "(parsers disagree on which value wins)."
                )
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise BodyError(f"Request body is not valid JSON: {name} is not a JSON number.")


def decode_body(raw: bytes) -> dict[str, Any]:
    """``raw`` parsed as one JSON object, strictly; raises :class:`BodyError`.

    Strict where :func:`json.loads` is lenient, because a body that parsers read
    differently could be checked one way and acted on another: UTF-8 only (RFC
    8259 for network exchange; no UTF-16 or UTF-32, no byte order mark), no
    duplicate keys, no ``NaN``/``Infinity``, and nesting or numbers that the
    parser cannot handle are a 400, not a crash.
    """
    body = _fast_decode(raw)
    if body is UNSURE:
        body = _strict_decode(raw)
    if not isinstance(body, dict):
        raise BodyError(f"Request body must be a JSON object, got {_json_type(body)}.")
    return body


_NOT_LOADED: Any = object()
_orjson: Any = _NOT_LOADED


def _load_orjson() -> Any:
    """orjson (the ``fast`` extra) imported on first use; ``None`` when it is not installed."""
    global _orjson
    if _orjson is _NOT_LOADED:
        _orjson = import_orjson()
    return _orjson


def _fast_decode(raw: bytes) -> Any:
    """The document as orjson reads ``raw``, or :data:`~fwcompat._fastjson.UNSURE` when it
    might read it differently from :func:`_strict_decode` (which then decides alone, errors
    included): the guard :func:`~fwcompat._fastjson.guarded_loads` shares with ``fwcompat
    check``'s reader. A byte order mark goes to the strict reader, which names it."""
    orjson = _orjson if _orjson is not _NOT_LOADED else _load_orjson()
    if orjson is None or raw[:3] == b"\xef\xbb\xbf":
        return UNSURE
    return guarded_loads(orjson, raw)


def _strict_decode(raw: bytes) -> Any:
    """``raw`` parsed by the standard library, strictly (see :func:`decode_body`)."""
    if b"\x00" in raw[:4]:  # how RFC 4627 tells UTF-16 and UTF-32 apart: NULs up front
        raise BodyError(
            "Request body is not valid UTF-8 (it looks like UTF-16 or UTF-32); "
            "JSON requests must be UTF-8."
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(
            f"Request body is not valid UTF-8 (byte {exc.start}); JSON requests must be UTF-8."
        ) from None
    try:
        body = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except BodyError:
        raise
    except RecursionError:
        raise BodyError("Request body is not valid JSON: nested too deeply.") from None
    except ValueError as exc:  # JSONDecodeError, and the integer digit limit
        raise BodyError(f"Request body is not valid JSON: {exc}") from None
    return body


def check_body(
    raw: bytes,
    *,
    headers: Mapping[str, str],
    path: str,
    config: Config,
    base_url: str | None = None,
) -> Result:
    """Decode ``raw`` strictly (:func:`decode_body`, raising :class:`BodyError`) and check it:
    the one reading of a request body that every front end forwards by."""
    return check(decode_body(raw), headers=headers, base_url=base_url, path=path, config=config)


def encode_body(result: Result, raw: bytes) -> bytes:
    """What to forward for a checked body: ``raw`` itself when nothing changed, else the
    normalized request as compact JSON (:class:`BodyError` when it nests too deeply).

    The JSON is orjson's when it is installed and writes the same values as
    :func:`json.dumps` (see :func:`_fast_encode`), else the standard library's."""
    if not result.changed:
        return raw
    out = _fast_encode(result.request)
    if out is not None:
        return out
    try:
        return json.dumps(result.request, separators=(",", ":"), check_circular=False).encode()
    except (RecursionError, ValueError):
        raise BodyError("Request body is nested too deeply.") from None


_VALUE_NULLS = (b":null", b",null", b"[null")
_PASSTHROUGH: int | None = None


def _fast_encode(document: Any) -> bytes | None:
    """``document`` as orjson writes it, when that is the same JSON value as
    :func:`json.dumps` writes (only the spelling differs: UTF-8 instead of ``\\u`` escapes,
    the shortest float that reads back the same); ``None`` when it might not be.

    orjson refuses what it cannot write as ``json.dumps`` would (an integer past 64 bits,
    a key that is not a string, a lone surrogate, deep nesting): the standard library then
    writes it (or fails as before). It writes ``NaN`` and infinities as ``null`` where the
    standard library writes ``NaN``: in orjson's compact output a ``null`` value follows
    ``:``, ``,`` or ``[``, so an output with none of those holds no such float (one inside a
    string sends the document to the standard library too, which is only slower). What only
    orjson can write (a date, a dataclass; a subclass it might write otherwise) it refuses
    too (``OPT_PASSTHROUGH_*``), so the standard library fails on it as before.
    """
    orjson = _orjson if _orjson is not _NOT_LOADED else _load_orjson()
    if orjson is None:
        return None
    global _PASSTHROUGH
    if _PASSTHROUGH is None:
        _PASSTHROUGH = (
            orjson.OPT_PASSTHROUGH_DATETIME
            | orjson.OPT_PASSTHROUGH_DATACLASS
            | orjson.OPT_PASSTHROUGH_SUBCLASS
        )
    try:
        out: bytes = orjson.dumps(document, option=_PASSTHROUGH)
    except (TypeError, ValueError, RecursionError):  # orjson.JSONEncodeError is a TypeError
        return None
    if b"null" in out and any(null in out for null in _VALUE_NULLS):
        return None
    return out


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array"


def header_dict(raw: Any) -> dict[str, str]:
    """ASGI header pairs as one ``str`` dict, lower-case names; repeats joined with ``, ``."""
    out: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def rebuild_headers(
    raw: Any, before: Mapping[str, str], after: Mapping[str, str], length: int
) -> list[tuple[bytes, bytes]]:
    """The request headers with ``content-length`` fixed and the header rules' edits applied."""
    edited = after is not before and dict(after) != dict(before)
    after_lower = {k.lower(): v for k, v in after.items()} if edited else {}
    out: list[tuple[bytes, bytes]] = []
    for name, value in raw:
        if not edited and len(name) not in (14, 17):  # neither field, no header rule edit
            out.append((name, value))
            continue
        lower = name.lower()
        if lower in (b"content-length", b"transfer-encoding"):
            continue
        if edited:
            key = lower.decode("latin-1")
            if key not in after_lower:
                continue  # removed by a header rule
            if after_lower[key] != before.get(key):
                continue  # replaced: appended below
        out.append((name, value))
    if edited:
        for key, text in after_lower.items():
            if key not in before or before[key] != text:
                out.append((key.encode("latin-1"), text.encode("latin-1")))
    out.append((b"content-length", str(length).encode("ascii")))
    return out


# --------------------------------------------------------------------------- errors


def rejection_message(errors: Iterable[Diagnostic]) -> str:
    """The ``error.message`` of a request rejected for its error diagnostics."""
    return "Request is not compatible with the provider: " + "; ".join(str(d) for d in errors)


def error_envelope(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    """Anthropic's error body: ``{"type": "error", "error": {"type": kind, "message": ...}}``."""
    return {"type": "error", "error": {"type": kind, "message": message}}


def error_payload(message: str, kind: str = "invalid_request_error") -> bytes:
    """:func:`error_envelope` as the bytes of a response body."""
    return json.dumps(error_envelope(message, kind), ensure_ascii=False).encode()


async def send_error(
    send: Send,
    status: int,
    kind: str,
    message: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """Answer with an Anthropic error envelope (``kind`` is its ``error.type``)."""
    payload = error_payload(message, kind)
    head = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(payload)),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


class _RequestIds:
    """New request ids: 12 random hex digits per process, then a 12-digit counter (cheaper
    than a ``uuid4`` per request, and as unique: a forked child draws its own prefix)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.prefix = secrets.token_hex(6)
        self.counter = itertools.count()


_ids = _RequestIds()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_ids.reset)


def request_id(scope: Scope) -> str:
    """The id of this request in fwcompat's log records, set on ``scope`` on first use.

    The client's ``x-request-id`` when it is a plain token of at most 128
    characters, else a new ``req_`` + 24 hex digits. Every front end (the
    middleware, its callbacks, ``serve``) logs under this one id.
    """
    found = scope.get(REQUEST_ID_KEY)
    if isinstance(found, str):
        return found
    value = ""
    for name, raw in scope.get("headers", ()):
        if len(name) == 12 and name.lower() == b"x-request-id":
            text = raw.decode("latin-1")
            if _CLIENT_ID.fullmatch(text):
                value = text
            break
    if not value:
        value = f"req_{_ids.prefix}{next(_ids.counter) & 0xFFFFFFFFFFFF:012x}"
    scope[REQUEST_ID_KEY] = value
    return value


def codes_of(diagnostics: Iterable[Diagnostic]) -> str:
    """``FW401,FW603``: the distinct codes, in order."""
    return ",".join(dict.fromkeys(d.code for d in diagnostics))


# --------------------------------------------------------------------------- logs


def log_diagnostics(
    diagnostics: Iterable[Diagnostic],
    *,
    method: str,
    path: str,
    request_id: str | None = None,
    client: str | None = None,
    levels: Mapping[Severity, int] = _LEVEL,
) -> None:
    """One record per diagnostic on the ``fwcompat`` logger (info at DEBUG, others at WARNING).

    The message reads ``POST /v1/messages [req_1 127.0.0.1:5100]: FW401 ...``;
    the record carries ``method``, ``path``, ``request_id``, ``client``,
    ``code``, ``codes`` (every code of the check) and ``diagnostic``.
    """
    diagnostics = tuple(diagnostics)
    codes: tuple[str, ...] | None = None
    where = " ".join(p for p in (request_id, client) if p)
    prefix = f"{method} {path} [{where}]" if where else f"{method} {path}"
    for d in diagnostics:
        level = levels.get(d.severity, logging.WARNING)
        if level <= 0 or not logger.isEnabledFor(level):
            continue
        if codes is None:
            codes = tuple(dict.fromkeys(x.code for x in diagnostics))
        extra = {
            "method": method,
            "path": path,
            "request_id": request_id,
            "client": client,
            "code": d.code,
            "codes": codes,
            "diagnostic": d,
        }
        logger.log(level, "%s: %s", prefix, d, extra=extra)


_LIBRARIES = ("fwcompat", "anthropic", "httpx", "httpx2", "httpcore", "httpcore2")


def caller_stacklevel() -> int:
    """The ``warnings.warn`` stacklevel, for a call made from this function's caller,
    that names the first frame outside fwcompat, the SDK and its HTTP library."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None:
        module = frame.f_globals.get("__name__", "")
        if not isinstance(module, str) or module.partition(".")[0] not in _LIBRARIES:
            break
        frame = frame.f_back
        level += 1
    return level
