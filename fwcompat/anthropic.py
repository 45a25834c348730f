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
  each warning is logged on the ``fwcompat`` logger (info diagnostics at
  ``DEBUG``), and also issued as a :class:`FwcompatWarning` with ``warn=True``;
- an incompatible request raises :class:`IncompatibleRequestError` (a subclass of
  both :class:`fwcompat.IncompatibleRequestError` and ``anthropic.AnthropicError``,
  so the SDK neither wraps it in ``APIConnectionError`` nor retries it);
- the client's base URL and the request path are checked by the url rules, for
  every API call: a base URL ending in ``/v1`` or ``count_tokens`` raise too;
- responses, streamed or not, are passed through untouched.

The HTTP library is the one the installed SDK uses: ``httpx2`` for anthropic
1.x and 2.x, plain ``httpx`` for 0.x (see :data:`HTTP_LIBRARY`).
"""

from __future__ import annotations

import importlib
import json
import logging
import warnings
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

import anthropic

from ._check import check
from ._config import Config, coerce_config
from ._diagnostics import Diagnostic, Result, Severity
from ._exceptions import IncompatibleRequestError as _IncompatibleRequestError


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

MESSAGES_PATH = "/v1/messages"

logger = logging.getLogger("fwcompat")

_TRANSPORT_KEYS = ("verify", "cert", "trust_env", "http1", "http2", "limits", "proxy")


class FwcompatWarning(UserWarning):
    """A request was changed to fit the provider (issued only with ``warn=True``)."""


class IncompatibleRequestError(_IncompatibleRequestError, anthropic.AnthropicError):
    """The request cannot be sent to the provider; raised before any network traffic.

    Catch it as :class:`fwcompat.IncompatibleRequestError` or as
    ``anthropic.AnthropicError``. ``diagnostics`` holds every diagnostic of the
    check, ``errors`` the error ones.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.diagnostics,))


class _Guard:
    """The checking shared by the sync and async transports."""

    __slots__ = ("_base_url", "_config", "_url_errors", "_warn")

    def __init__(self, config: Config | Mapping[str, Any] | None, base_url: str | None, warn: bool):
        self._config = coerce_config(config)
        self._base_url = str(base_url).rstrip("/") if base_url is not None else None
        self._warn = warn
        self._url_errors: dict[tuple[str, str], tuple[Diagnostic, ...]] = {}

    def _split(self, request: _http.Request) -> tuple[str, str] | None:
        """``(base_url, api_path)`` of an SDK request, or ``None`` for a non-API URL."""
        url = request.url
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        path = url.path
        if self._base_url is not None and (origin + path).startswith(self._base_url + "/"):
            return self._base_url, (origin + path)[len(self._base_url) :]
        cut = path.rfind("/v1/")
        if cut == -1:
            return None
        return origin + path[:cut], path[cut:]

    def check(self, request: _http.Request, content: bytes) -> _http.Request:
        """The request to send instead of ``request``; raises if it is incompatible."""
        where = self._split(request)
        if where is None:
            return request
        base_url, path = where
        if request.method != "POST" or path != MESSAGES_PATH:
            self._check_url(base_url, path)
            return request
        try:
            body = json.loads(content)
        except ValueError:
            body = content.decode("utf-8", errors="replace")
        headers = dict(request.headers.items())
        result = check(body, headers=headers, base_url=base_url, path=path, config=self._config)
        self._report(result)
        if not result.ok:
            raise IncompatibleRequestError(result.diagnostics)
        headers_changed = result.headers is not headers and dict(result.headers) != headers
        if not result.changed and not headers_changed:
            return request
        new_content = content
        if result.changed:
            new_content = json.dumps(
                result.request, separators=(",", ":"), check_circular=False
            ).encode()
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

    def _check_url(self, base_url: str, path: str) -> None:
        key = (base_url, path)
        errors = self._url_errors.get(key)
        if errors is None:
            result = check({}, base_url=base_url, path=path, config=self._config)
            errors = tuple(d for d in result.errors if d.scope == "url")
            if len(self._url_errors) < 64:
                self._url_errors[key] = errors
        if errors:
            raise IncompatibleRequestError(errors)

    def _report(self, result: Result) -> None:
        for d in result.diagnostics:
            if d.severity is Severity.WARNING:
                logger.warning("%s", d)
                if self._warn:
                    warnings.warn(str(d), FwcompatWarning, stacklevel=2)
            elif d.severity is Severity.INFO and logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s", d)


class CompatTransport(_http.BaseTransport):
    """A sync transport that checks Anthropic requests, then hands them to ``transport``.

    ``transport`` defaults to a plain ``HTTPTransport()``. ``base_url`` (optional)
    is the client's base URL; without it, it is taken to be everything before
    the last ``/v1/`` of the request path. ``config`` is a :class:`fwcompat.Config`
    or dict; ``warn=True`` also issues warnings as :class:`FwcompatWarning`.
    """

    def __init__(
        self,
        transport: _http.BaseTransport | None = None,
        *,
        config: Config | Mapping[str, Any] | None = None,
        base_url: str | None = None,
        warn: bool = False,
    ) -> None:
        self._transport = transport if transport is not None else _http.HTTPTransport()
        self._guard = _Guard(config, base_url, warn)

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
    ) -> None:
        self._transport = transport if transport is not None else _http.AsyncHTTPTransport()
        self._guard = _Guard(config, base_url, warn)

    async def handle_async_request(self, request: _http.Request) -> _http.Response:
        request = self._guard.check(request, await request.aread())
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        await self._transport.aclose()


def _split_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the connection settings that belong to the transport, as the SDK does."""
    options = {key: kwargs.pop(key) for key in _TRANSPORT_KEYS if key in kwargs}
    options.setdefault("limits", anthropic.DEFAULT_CONNECTION_LIMITS)
    return options


def http_client(
    *,
    config: Config | Mapping[str, Any] | None = None,
    base_url: str | None = None,
    warn: bool = False,
    transport: _http.BaseTransport | None = None,
    **kwargs: Any,
) -> _http.Client:
    """A client for ``anthropic.Anthropic(http_client=...)`` that checks every request.

    Built on ``anthropic.DefaultHttpxClient``, so the SDK's defaults (timeout,
    connection limits, redirects) are kept; ``kwargs`` go to it (``timeout=``...)
    and connection settings (``verify``, ``cert``, ``http2``, ``limits``,
    ``proxy``...) to the default transport. Pass ``transport=`` to wrap your own.
    Environment proxies (``HTTPS_PROXY``) are not applied: pass ``proxy=``.
    """
    if transport is None:
        transport = _http.HTTPTransport(**_split_kwargs(kwargs))
    wrapped = CompatTransport(transport, config=config, base_url=base_url, warn=warn)
    client: _http.Client = anthropic.DefaultHttpxClient(transport=wrapped, **kwargs)
    return client


def async_http_client(
    *,
    config: Config | Mapping[str, Any] | None = None,
    base_url: str | None = None,
    warn: bool = False,
    transport: _http.AsyncBaseTransport | None = None,
    **kwargs: Any,
) -> _http.AsyncClient:
    """:func:`http_client` for ``anthropic.AsyncAnthropic(http_client=...)``."""
    if transport is None:
        transport = _http.AsyncHTTPTransport(**_split_kwargs(kwargs))
    wrapped = AsyncCompatTransport(transport, config=config, base_url=base_url, warn=warn)
    client: _http.AsyncClient = anthropic.DefaultAsyncHttpxClient(transport=wrapped, **kwargs)
    return client
