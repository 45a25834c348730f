"""fwcompat inside the official ``anthropic`` SDK: check every request before it leaves the process.

One line::

    import anthropic
    import fwcompat.anthropic

    client = anthropic.Anthropic(
        base_url="https://api.fireworks.ai/inference",
        api_key=os.environ["FIREWORKS_API_KEY"],
        http_client=fwcompat.anthropic.http_client(),
    )

(``AsyncAnthropic`` takes :func:`async_http_client`.) Then every
``POST .../v1/messages`` body goes through :func:`fwcompat.check` in the HTTP
transport, *before* any network traffic:

- unsupported fields are removed (or replaced) and the normalized body is sent;
  each change is logged once on the ``fwcompat`` logger (info diagnostics at
  ``DEBUG``), or, with ``warn=True``, issued instead as a :class:`FwcompatWarning`
  pointing at the caller's line; ``on_result(request, result)`` sees every check.
  A retry of the same call by the SDK is checked again but not reported again;
- an incompatible request raises :class:`IncompatibleRequestError` before any
  traffic: an ``anthropic.BadRequestError`` (status 400, ``body`` the same
  Anthropic error envelope the middleware answers with) that is also a
  :class:`fwcompat.IncompatibleRequestError`; the SDK does not retry it;
- the client's base URL and the request path are checked by the url rules, for
  every API call: a base URL ending in ``/v1`` or ``count_tokens`` raise too.
  Paths are compared as an upstream router reads them (``//v1/messages``,
  ``/V1/messages/`` are the messages endpoint too);
- responses, streamed or not, are passed through untouched.

Proxies come from the environment (``HTTPS_PROXY``, ``NO_PROXY``...) exactly as
the plain SDK client takes them, with every other default of the SDK's client.

The HTTP library is the one the installed SDK uses: ``httpx2`` for anthropic
1.x and 2.x, plain ``httpx`` for 0.x (see :data:`HTTP_LIBRARY`).
"""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

try:
    import anthropic
except ImportError as exc:  # pragma: no cover - tested in a subprocess
    raise ImportError(
        "fwcompat.anthropic needs the Anthropic SDK, which is not installed: "
        "pip install 'fwcompat[anthropic]'"
    ) from exc

from ._config import Config, coerce_config
from ._diagnostics import Diagnostic, Result, Severity
from ._exceptions import IncompatibleRequestError as _IncompatibleRequestError
from ._http import (
    MESSAGES_PATH,
    BodyError,
    api_path,
    caller_stacklevel,
    check_body,
    check_url,
    codes_of,
    encode_body,
    error_envelope,
    error_payload,
    log_diagnostics,
    normalize_path,
    rejection_message,
)


def _sdk_http_library() -> ModuleType:
    """The HTTP library module the installed ``anthropic`` SDK builds its clients on."""
    base = importlib.import_module("anthropic._base_client")
    for name in ("httpx2", "httpx"):
        lib = getattr(base, name, None)
        if isinstance(lib, ModuleType):
            return lib
    raise ImportError(
        f"fwcompat.anthropic: cannot tell which HTTP library anthropic "
        f"{anthropic.__version__} uses (neither httpx2 nor httpx)"
    )


if TYPE_CHECKING:
    import httpx2 as _http
else:
    _http = _sdk_http_library()

__all__ = [
    "HTTP_LIBRARY",
    "AsyncCompatTransport",
    "CompatTransport",
    "FwcompatWarning",
    "IncompatibleRequestError",
    "async_http_client",
    "http_client",
]

HTTP_LIBRARY: str = _http.__name__
"""``"httpx2"`` (anthropic 1.x and 2.x) or ``"httpx"`` (anthropic 0.x)."""

logger = logging.getLogger("fwcompat")

ResultCallback = Callable[[_http.Request, Result], None]

_RETRY_HEADER = "x-stainless-retry-count"


class FwcompatWarning(UserWarning):
    """A request was changed to fit the provider (issued only with ``warn=True``)."""


class IncompatibleRequestError(_IncompatibleRequestError, anthropic.BadRequestError):
    """The request cannot be sent to the provider; raised before any network traffic.

    An ``anthropic.BadRequestError``, so existing ``except anthropic.BadRequestError``
    handlers catch it: ``status_code`` is 400 and ``body`` is the Anthropic error
    envelope :class:`fwcompat.asgi.CompatMiddleware` would answer with (the
    ``response`` is made up locally and carries ``x-should-retry: false``, so
    the SDK never retries it). Also a :class:`fwcompat.IncompatibleRequestError`:
    ``diagnostics`` holds every diagnostic of the check, ``errors`` the error ones.
    """

    def __init__(
        self,
        diagnostics: Any,
        request: _http.Request | None = None,
        *,
        message: str | None = None,
    ) -> None:
        _IncompatibleRequestError.__init__(self, diagnostics)
        text = str(self)
        if request is None:
            request = _http.Request("POST", "http://fwcompat.invalid" + MESSAGES_PATH)
        text_message = message or rejection_message(self.errors)
        envelope = error_envelope(text_message)
        response = _http.Response(
            400,
            headers={
                "content-type": "application/json",
                "x-should-retry": "false",
                "x-fwcompat-rejected": codes_of(self.errors),
            },
            content=error_payload(text_message),
            request=request,
        )
        anthropic.BadRequestError.__init__(self, text, response=response, body=envelope)
        self._envelope_message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.diagnostics, self._envelope_message))


def _rebuild(
    cls: type[IncompatibleRequestError], diagnostics: Any, message: str | None
) -> IncompatibleRequestError:
    return cls(diagnostics, message=message)


def _body_diagnostic(error: BodyError) -> Diagnostic:
    """A body that is not strict JSON, as the error diagnostic the CLI would report (E901)."""
    return Diagnostic(
        code="E901",
        rule="parse-error",
        severity=Severity.ERROR,
        scope="body",
        path="",
        action="rejected",
        message=error.message,
        doc="A request body must be one JSON object, encoded as UTF-8.",
    )


class _Guard:
    """The checking shared by the sync and async transports."""

    __slots__ = ("_base_url", "_config", "_on_result", "_url_results", "_warn")

    def __init__(
        self,
        config: Config | Mapping[str, Any] | None,
        base_url: str | None,
        warn: bool,
        on_result: ResultCallback | None,
    ):
        self._config = coerce_config(config)
        self._base_url = str(base_url).rstrip("/") if base_url is not None else None
        self._warn = warn
        self._on_result = on_result
        self._url_results: dict[tuple[str, str], Result] = {}

    def _split(self, request: _http.Request) -> tuple[str, str] | None:
        """``(base_url, api_path)`` of an SDK request, or ``None`` for a non-API URL."""
        url = request.url
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        path = url.path
        if self._base_url is not None and (origin + path).startswith(self._base_url + "/"):
            remainder = (origin + path)[len(self._base_url) :]
            rest = api_path(remainder)
            if rest is None:
                return self._base_url, normalize_path(remainder)
            if rest[0] == "":
                return self._base_url, rest[1]
        where = api_path(path)
        if where is None:
            return None
        return origin + where[0], where[1]

    def check(self, request: _http.Request, content: bytes) -> _http.Request:
        """The request to send instead of ``request``; raises if it is incompatible."""
        where = self._split(request)
        if where is None:
            return request
        base_url, path = where
        report = request.headers.get(_RETRY_HEADER, "0") in ("0", "")
        if request.method.upper() != "POST" or path != MESSAGES_PATH:
            self._check_url(request, base_url, path, report)
            return request
        headers = dict(request.headers.items())
        try:
            result = check_body(
                content, headers=headers, base_url=base_url, path=path, config=self._config
            )
        except BodyError as exc:
            raise IncompatibleRequestError(
                (_body_diagnostic(exc),), request, message=exc.message
            ) from None
        if report:
            self._report(request, result)
        if not result.ok:
            raise IncompatibleRequestError(result.diagnostics, request)
        headers_changed = result.headers is not headers and dict(result.headers) != headers
        if not result.changed and not headers_changed:
            return request
        new_content = encode_body(result, content)
        new_headers = _http.Headers(result.headers if headers_changed else request.headers)
        new_headers.pop("content-length", None)
        new_headers.pop("transfer-encoding", None)
        return _http.Request(
            request.method,
            request.url,
            headers=new_headers,
            content=new_content,
            extensions=request.extensions,
        )

    def _check_url(self, request: _http.Request, base_url: str, path: str, report: bool) -> None:
        key = (base_url, path)
        result = self._url_results.get(key)
        if result is None:
            result = check_url(path, base_url, self._config)
            if len(self._url_results) < 64:
                self._url_results[key] = result
        if report:
            self._report(request, result)
        if not result.ok:
            raise IncompatibleRequestError(result.errors, request)

    def _report(self, request: _http.Request, result: Result) -> None:
        """Tell the caller once: ``on_result``, then log records, or warnings with ``warn``."""
        if self._on_result is not None:
            try:
                self._on_result(request, result)
            except Exception:
                logger.exception("on_result raised")
        changes = [d for d in result.diagnostics if d.severity is not Severity.ERROR]
        if not changes:
            return
        method, path = request.method, request.url.path
        if not self._warn:
            log_diagnostics(changes, method=method, path=path)
            return
        log_diagnostics(  # info stays a DEBUG record; warnings become Python warnings
            [d for d in changes if d.severity is Severity.INFO], method=method, path=path
        )
        for d in changes:
            if d.severity is Severity.WARNING:
                warnings.warn(
                    f"{method} {path}: {d}", FwcompatWarning, stacklevel=caller_stacklevel()
                )


class CompatTransport(_http.BaseTransport):
    """A sync transport that checks Anthropic requests, then hands them to ``transport``.

    ``transport`` defaults to a plain ``HTTPTransport()``. ``base_url`` (optional)
    is the client's base URL; without it, it is taken to be everything before
    the last ``/v1/`` of the request path. ``config`` is a :class:`fwcompat.Config`
    or dict; ``warn=True`` issues changes as :class:`FwcompatWarning` instead of
    log records; ``on_result(request, result)`` is called after each check.
    """

    def __init__(
        self,
        transport: _http.BaseTransport | None = None,
        *,
        config: Config | Mapping[str, Any] | None = None,
        base_url: str | None = None,
        warn: bool = False,
        on_result: ResultCallback | None = None,
    ) -> None:
        self._transport = transport if transport is not None else _http.HTTPTransport()
        self._guard = _Guard(config, base_url, warn, on_result)

    def handle_request(self, request: _http.Request) -> _http.Response:
        request = self._guard.check(request, request.read())
        return self._transport.handle_request(request)

    def close(self) -> None:
        self._transport.close()


class AsyncCompatTransport(_http.AsyncBaseTransport):
    """The async twin of :class:`CompatTransport`, for ``AsyncAnthropic``."""

    def __init__(
        self,
        transport: _http.AsyncBaseTransport | None = None,
        *,
        config: Config | Mapping[str, Any] | None = None,
        base_url: str | None = None,
        warn: bool = False,
        on_result: ResultCallback | None = None,
    ) -> None:
        self._transport = transport if transport is not None else _http.AsyncHTTPTransport()
        self._guard = _Guard(config, base_url, warn, on_result)

    async def handle_async_request(self, request: _http.Request) -> _http.Response:
        request = self._guard.check(request, await request.aread())
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        await self._transport.aclose()


def _wrap_transports(client: Any, wrap: Callable[[Any], Any]) -> None:
    """Put the check in front of every transport the SDK's client built.

    The SDK's client makes its own default transport (keep-alive socket options,
    connection limits) and one per environment proxy (``HTTPS_PROXY``, with
    ``NO_PROXY`` exemptions); wrapping each of them, rather than replacing
    them, keeps all of that exactly as the plain SDK has it.
    """
    transport = getattr(client, "_transport", None)
    mounts = getattr(client, "_mounts", None)
    if transport is None or not isinstance(mounts, dict):
        raise TypeError(  # pragma: no cover - a future HTTP library
            f"fwcompat.anthropic: cannot wrap the transports of {type(client).__name__}"
        )
    client._transport = wrap(transport)
    client._mounts = {pattern: None if t is None else wrap(t) for pattern, t in mounts.items()}


def http_client(
    *,
    config: Config | Mapping[str, Any] | None = None,
    base_url: str | None = None,
    warn: bool = False,
    on_result: ResultCallback | None = None,
    transport: _http.BaseTransport | None = None,
    **kwargs: Any,
) -> _http.Client:
    """A client for ``anthropic.Anthropic(http_client=...)`` that checks every request.

    It is ``anthropic.DefaultHttpxClient(**kwargs)``, so every default of the
    SDK's own client is kept: timeout, connection limits, redirects, keep-alive,
    and proxies from the environment (``HTTP_PROXY``, ``HTTPS_PROXY``,
    ``ALL_PROXY``, ``NO_PROXY``) unless ``trust_env=False`` or ``proxy=`` says
    otherwise. ``kwargs`` go to it (``timeout=``, ``proxy=``, ``http2=``...).
    Pass ``transport=`` to wrap your own. ``on_result(request, result)`` is
    called once per request (not again on the SDK's retries).
    """
    if transport is not None:
        kwargs["transport"] = transport
    client: _http.Client = anthropic.DefaultHttpxClient(**kwargs)

    def wrap(inner: _http.BaseTransport) -> CompatTransport:
        return CompatTransport(
            inner, config=config, base_url=base_url, warn=warn, on_result=on_result
        )

    _wrap_transports(client, wrap)
    return client


def async_http_client(
    *,
    config: Config | Mapping[str, Any] | None = None,
    base_url: str | None = None,
    warn: bool = False,
    on_result: ResultCallback | None = None,
    transport: _http.AsyncBaseTransport | None = None,
    **kwargs: Any,
) -> _http.AsyncClient:
    """:func:`http_client` for ``anthropic.AsyncAnthropic(http_client=...)``."""
    if transport is not None:
        kwargs["transport"] = transport
    client: _http.AsyncClient = anthropic.DefaultAsyncHttpxClient(**kwargs)

    def wrap(inner: _http.AsyncBaseTransport) -> AsyncCompatTransport:
        return AsyncCompatTransport(
            inner, config=config, base_url=base_url, warn=warn, on_result=on_result
        )

    _wrap_transports(client, wrap)
    return client
