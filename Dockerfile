# fwcompat serve in a container: a checking proxy in front of Fireworks' Anthropic endpoint.
#   docker build -t fwcompat .
#   docker run -p 8787:8787 -e FIREWORKS_API_KEY -e FWCOMPAT_PROXY_KEY fwcompat
# Clients send FWCOMPAT_PROXY_KEY (x-api-key or Authorization: Bearer); the proxy sends
# FIREWORKS_API_KEY upstream. Every `fwcompat serve` flag can be set with an FWCOMPAT_SERVE_*
# variable (see docs/operations.md); a fwcompat.toml can be mounted and named by FWCOMPAT_SERVE_CONFIG.

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY fwcompat ./fwcompat
COPY rules ./rules
COPY schemas ./schemas
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
# The wheel is this checkout's, built above; the serve extra's versions come from its metadata.
# hadolint ignore=DL3013
RUN WHEEL="$(ls /wheels/fwcompat-*.whl)" \
    && pip install --no-cache-dir "${WHEEL}[serve]" \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /srv/fwcompat --create-home fwcompat
USER 10001
WORKDIR /srv/fwcompat
# Listening beyond loopback needs a local key (the proxy refuses to be an open relay).
ENV FWCOMPAT_SERVE_HOST=0.0.0.0 \
    FWCOMPAT_SERVE_PORT=8787 \
    FWCOMPAT_SERVE_UPSTREAM_KEY_ENV=FIREWORKS_API_KEY \
    FWCOMPAT_SERVE_REQUIRE_KEY_ENV=FWCOMPAT_PROXY_KEY \
    FWCOMPAT_SERVE_LOG_FORMAT=json
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('FWCOMPAT_SERVE_PORT', '8787') + '/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["fwcompat", "serve"]
