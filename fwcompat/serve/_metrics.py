"""Prometheus metrics of the proxy, through prometheus-client.

With ``--workers N`` the workers are separate processes; ``fwcompat serve`` then
sets ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode) so
that ``GET /metrics`` on any worker reports the sum over all of them.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

from ._record import RequestRecord

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class Metrics:
    """The proxy's counters, on a registry of its own (never the process-global one)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created doubles the output
        self.registry = CollectorRegistry()
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        r = self.registry
        self.requests = Counter(
            "fwcompat_serve_requests",
            "Requests answered, by HTTP status",
            ["status"],
            registry=r,
        )
        self.diagnostics = Counter(
            "fwcompat_serve_diagnostics",
            "Diagnostics raised on requests, by rule code",
            ["code"],
            registry=r,
        )
        self.tokens = Counter(
            "fwcompat_serve_tokens",
            "Tokens the upstream reported, by upstream model and kind",
            ["model", "kind"],
            registry=r,
        )
        self.upstream_latency = Histogram(
            "fwcompat_serve_upstream_latency_seconds",
            "Time from sending a request upstream to the upstream's response headers",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "fwcompat_serve_in_flight_requests",
            "Requests being answered now",
            registry=r,
            multiprocess_mode="livesum",
        )

    def observe(self, record: RequestRecord) -> None:
        self.requests.labels(str(record.status or 0)).inc()
        for code in record.codes:
            self.diagnostics.labels(code).inc()
        if record.upstream_seconds is not None:
            self.upstream_latency.observe(record.upstream_seconds)
        usage = record.usage
        if usage is not None:
            model = record.upstream_model or ""
            self.tokens.labels(model, "input").inc(usage.input_tokens)
            self.tokens.labels(model, "output").inc(usage.output_tokens)
            if usage.cache_read_input_tokens:
                self.tokens.labels(model, "cache_read").inc(usage.cache_read_input_tokens)
            if usage.cache_creation_input_tokens:
                self.tokens.labels(model, "cache_creation").inc(usage.cache_creation_input_tokens)

    def render(self) -> bytes:
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
