"""Nothing a client sends makes the proxy's state grow: labels, series, log lines, records.

Every bound is asserted by counting (series, bytes, live objects, traced allocations),
never by timing.
"""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fireworks_stub import FireworksStub, ServerThread
from prometheus_client.parser import text_string_to_metric_families

from fwcompat import Config
from fwcompat._diagnostics import Diagnostic, Result, Severity
from fwcompat.serve import ServeSettings, create_app
from fwcompat.serve._app import ServeApp
from fwcompat.serve._forward import _Exchange
from fwcompat.serve._logging import FIELD_LIMIT, format_json, format_text
from fwcompat.serve._metrics import (
    OTHER,
    SERVED_MODEL_LABELS,
    LabelPolicy,
    Metrics,
    status_label,
)
from fwcompat.serve._record import RequestRecord
from fwcompat.usage import StreamIssue, Usage
from tests.serve.conftest import MODEL, wait_until

HI: Any = [{"role": "user", "content": "Hi"}]


def record(
    model: str, *, status: int = 200, codes: tuple[str, ...] = (), usage: bool = True
) -> RequestRecord:
    """A finished request as the app records it: sent upstream as ``model``."""
    diagnostics = tuple(
        Diagnostic(
            code=code,
            rule="r",
            severity=Severity.WARNING,
            scope="body",
            path="/x",
            action="noted",
            message="m",
            doc="d",
        )
        for code in codes
    )
    rec = RequestRecord(request_id="req_1", method="POST", path="/v1/messages", started=0.0)
    rec.result = Result(request={"model": model}, diagnostics=diagnostics)
    rec.status = status
    rec.upstream_seconds = 0.01
    rec.usage = Usage(input_tokens=10, output_tokens=3) if usage else None
    return rec


def series(metrics: Metrics) -> dict[str, set[tuple[tuple[str, str], ...]]]:
    """Label sets of each labelled sample family in ``/metrics``, as rendered."""
    out: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if sample.labels and not sample.name.endswith(("_bucket",)):
                out.setdefault(sample.name, set()).add(tuple(sorted(sample.labels.items())))
    return out


def policy() -> LabelPolicy:
    return LabelPolicy.for_config(Config.from_dict({"model_map": {"claude-sonnet-4-6": MODEL}}))


def test_label_policy_maps_everything_to_a_bounded_set() -> None:
    p = policy()
    assert p.model(MODEL, served=True) == MODEL  # a model_map target
    served = [f"accounts/probe/models/m{i}" for i in range(SERVED_MODEL_LABELS)]
    assert [p.model(m, served=True) for m in served] == served  # the first served ones
    assert p.model("accounts/probe/models/late", served=True) == OTHER  # then: other
    assert p.model(served[0], served=True) == served[0]  # a labelled one keeps its label
    assert p.model("accounts/probe/models/unserved", served=False) == OTHER
    assert p.model(None, served=True) == OTHER
    assert len(p.served) == SERVED_MODEL_LABELS
    assert p.code("FW403") == "FW403"  # a rule code of the fireworks pack
    assert p.code("FWU001") == "FWU001"
    assert p.code("E901") == "E901"
    assert p.code("ZZ999") == OTHER
    assert p.code("x" * 10_000) == OTHER
    assert [status_label(s) for s in (200, 400, 499, 529, 418, 302, 103, 599, 0, 1000)] == [
        "200",
        "400",
        "499",
        "529",
        "4xx",
        "3xx",
        "1xx",
        "5xx",
        OTHER,
        OTHER,
    ]


def test_pack_codes_label_every_rule_of_the_configured_pack() -> None:
    for pack in ("fireworks", "fireworks-r4", "deepseek", "minimax"):
        from fwcompat.rulepacks._packs import load_pack

        codes = {r.rule.code for r in load_pack(pack).rules}
        p = LabelPolicy.for_config(Config(pack=pack))
        assert codes and all(p.code(code) == code for code in codes)


def test_5000_model_names_leave_the_metrics_and_memory_bounded() -> None:
    metrics = Metrics(policy())
    metrics.observe(record(MODEL, codes=("FW303",)))
    hostile = [f"accounts/probe/models/m{i:05d}" for i in range(5000)]
    codes = [f"XX{i:04d}" for i in range(5000)]  # codes no pack has
    statuses = range(100, 600)

    def send(start: int, stop: int) -> None:
        for i in range(start, stop):
            metrics.observe(
                record(hostile[i], status=statuses[i % len(statuses)], codes=(codes[i],))
            )

    send(0, 1000)  # warm: every bounded label value has been seen
    warm_series, warm_bytes = len(metrics.series), len(metrics.render())
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        send(1000, 5000)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    final = series(metrics)
    assert len(metrics.series) == warm_series  # 4,000 more names: not one more series
    # Same series, bigger counts: a few more digits per sample, never a new line.
    assert len(metrics.render()) <= warm_bytes + 4 * len(metrics.render().splitlines())
    models = {dict(labels)["model"] for labels in final["fwcompat_serve_tokens_total"]}
    assert models == {MODEL, OTHER, *hostile[:SERVED_MODEL_LABELS]}
    kinds = {dict(labels)["kind"] for labels in final["fwcompat_serve_tokens_total"]}
    assert kinds == {"input", "output"}
    code_labels = {dict(labels)["code"] for labels in final["fwcompat_serve_diagnostics_total"]}
    assert code_labels == {"FW303", OTHER}
    status_labels = {dict(labels)["status"] for labels in final["fwcompat_serve_requests_total"]}
    assert status_labels <= {"1xx", "2xx", "3xx", "4xx", "5xx", OTHER} | {
        str(s) for s in (200, 400, 401, 403, 404, 408, 413, 415, 422, 429, 499, 500, 502)
    } | {"503", "504", "529"}
    # 4,000 observations with new names allocate nothing that stays. Unbounded labels
    # would keep ~3 series (each a few hundred bytes) per name: well over 1 MiB here.
    assert grown < 64 * 1024, f"{grown} bytes still allocated after 4,000 new names"


def test_the_series_cap_drops_and_counts_what_passes_it() -> None:
    many = {f"claude-{i}": f"accounts/fireworks/models/m{i}" for i in range(100)}
    metrics = Metrics(LabelPolicy.for_config(Config.from_dict({"model_map": many})), max_series=10)
    for target in many.values():
        metrics.observe(record(target))
    assert len(metrics.series) == 10
    rendered = series(metrics)
    total = sum(len(v) for k, v in rendered.items() if k != "fwcompat_serve_metrics_dropped_total")
    assert total == 10
    # 100 requests: 1 status series + 2 token series each; 10 series fit (the status
    # series, then 4 models' input and output and one more input): the rest is dropped.
    text = metrics.render().decode()
    assert 'fwcompat_serve_metrics_dropped_total{metric="requests"} 0.0' in text
    assert 'fwcompat_serve_metrics_dropped_total{metric="tokens"} 191.0' in text
    assert 'fwcompat_serve_metrics_dropped_total{metric="diagnostics"} 0.0' in text
    # An existing series still counts past the cap.
    assert 'fwcompat_serve_requests_total{status="200"} 100.0' in text


def test_log_fields_are_cut_at_a_length() -> None:
    rec = record("accounts/probe/models/" + "m" * 100_000)
    rec.path = "/v1/messages/" + "p" * 100_000
    rec.client_model = "claude-" + "c" * 100_000
    rec.error = "e" * 100_000
    rec.stream_issues = tuple(StreamIssue("FWU007", "bad-event", "bad", i) for i in range(10_000))
    line = format_json(rec)
    fields = json.loads(line)
    for name in ("path", "model", "upstream_model", "error"):
        assert len(fields[name]) <= FIELD_LIMIT + 40, name
        assert fields[name].endswith("more characters]"), name
    assert fields["stream_issues"] == ["FWU007"]  # distinct codes, not one per event
    assert len(line) < 8 * FIELD_LIMIT
    assert len(format_text(rec)) < 8 * FIELD_LIMIT
    short = record(MODEL)
    assert json.loads(format_json(short))["upstream_model"] == MODEL  # short text: whole


class _Counting:
    """The stub, noting the client address (so: the connection) of every request."""

    def __init__(self) -> None:
        self.stub = FireworksStub()
        self.clients: set[tuple[str, int]] = set()
        self.lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            with self.lock:
                self.clients.add(tuple(scope["client"]))
        await self.stub(scope, receive, send)


@pytest.fixture
def counting_upstream() -> Iterator[tuple[_Counting, str]]:
    app = _Counting()
    with ServerThread(app) as server:
        yield app, server.url


def test_upstream_connection_pool_has_a_fixed_size(
    counting_upstream: tuple[_Counting, str],
) -> None:
    upstream, url = counting_upstream
    settings = ServeSettings(upstream=url, max_connections=3)
    body = {"model": MODEL, "max_tokens": 8, "stream": True, "messages": HI}

    async def burst(proxy_url: str) -> list[int]:
        limits = httpx.Limits(max_connections=12)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:

            async def one() -> int:
                headers = {"x-stub-shape": "slow"}  # 0.5 s upstream: the requests overlap
                response = await client.post(proxy_url, json=body, headers=headers)
                return response.status_code

            return await asyncio.gather(*(one() for _ in range(12)))

    with ServerThread(create_app(settings)) as proxy:
        statuses = asyncio.run(burst(proxy.url + "/v1/messages"))
    assert statuses == [200] * 12
    assert len(upstream.stub.received) == 12
    assert 1 <= len(upstream.clients) <= 3  # 12 overlapping requests, 3 connections at most


def test_no_request_state_outlives_its_response(
    counting_upstream: tuple[_Counting, str],
) -> None:
    _, url = counting_upstream
    app = ServeApp(ServeSettings(upstream=url, config={"model_map": {"claude-x": MODEL}}))
    ok = {"model": "claude-x", "max_tokens": 8, "messages": HI}
    bodies: list[Any] = [
        ok,
        {**ok, "stream": True},
        {**ok, "thinking": {"type": "adaptive"}},  # rejected
        {**ok, "model": "x" * 50_000},  # rejected, a huge model name
    ]
    with ServerThread(app) as proxy, httpx.Client(timeout=60) as client:
        for round_number in range(25):
            for body in bodies:
                client.post(proxy.url + "/v1/messages", json=body)
            client.post(proxy.url + "/v1/messages", content=b"{not json")
            client.get(proxy.url + "/v1/models")
            if round_number == 0:
                warm = len(app.metrics.series)
        # The app lets go of a record just after the response's last message (it logs
        # first): wait for that, with a deadline. A record kept would never go.
        assert wait_until(lambda: _live(RequestRecord) == 0)
        assert _live(_Exchange) == 0  # nor the state each forwarded exchange shares
        assert len(app.metrics.series) == warm  # 24 more rounds: not one more series
        assert len(app.metrics.policy.served) <= SERVED_MODEL_LABELS


def _live(kind: type) -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is kind)
