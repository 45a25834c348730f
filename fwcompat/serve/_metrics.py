"""Prometheus metrics of the proxy, through prometheus-client.

With ``--workers N`` the workers are separate processes; ``fwcompat serve`` then
sets ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode) so
that ``GET /metrics`` on any worker reports the sum over all of them.

Every label value comes from a bounded set, never from what a client sends
(Prometheus: "do not use labels to store dimensions with high cardinality ...
such as user IDs"): see :class:`LabelPolicy`. A cap on the number of series
(``--metrics-max-series``) backs that up; a series past it is not created, and
``fwcompat_serve_metrics_dropped_total{metric}`` counts the observations lost.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

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

DEFAULT_MAX_SERIES = 1000
"""Default of ``--metrics-max-series``: labelled series one worker may create."""

SERVED_MODEL_LABELS = 16
"""Upstream models, beside the ``model_map`` targets, that get a ``model`` label of their
own: the first ones the upstream answered with token usage (an upstream that does not
serve a model answers an error, which carries no usage). Every later one is ``other``."""

OTHER = "other"

STATUSES = frozenset(
    {200, 400, 401, 403, 404, 408, 413, 415, 422, 429, 499, 500, 502, 503, 504, 529}
)
"""Statuses labelled as themselves: the proxy's own and the upstream's documented ones.
Any other status is labelled by its class (``1xx`` ... ``5xx``), or ``other``."""

FIXED_CODES = frozenset([f"FWU{n:03d}" for n in range(1, 8)] + [f"E{n}" for n in range(901, 907)])
"""Codes that belong to no pack: stream issues (``fwcompat.usage``) and input errors."""

TOKEN_KINDS = ("input", "output", "cache_read", "cache_creation")


def status_label(status: int) -> str:
    """``status`` itself when in :data:`STATUSES`, else its class, else ``other``."""
    if status in STATUSES:
        return str(status)
    if 100 <= status <= 599:
        return f"{status // 100}xx"
    return OTHER


class LabelPolicy:
    """Maps what a request carries to label values from a fixed, finite set.

    - ``model``: a known model (a ``model_map`` target or a model the pack lists),
      one of the first :data:`SERVED_MODEL_LABELS` other models the upstream served,
      else ``other``;
    - ``code``: a code of the pack's rules (or :data:`FIXED_CODES`), else ``other``;
    - ``status``: :func:`status_label`.
    """

    def __init__(
        self,
        *,
        models: Iterable[str] = (),
        codes: Iterable[str] = (),
        served_slots: int = SERVED_MODEL_LABELS,
    ) -> None:
        self.models = frozenset(models)
        self.codes = frozenset(codes) | FIXED_CODES
        self.served_slots = served_slots
        self.served: set[str] = set()

    def model(self, model: str | None, *, served: bool) -> str:
        """The label of upstream model ``model``; ``served``: the upstream answered it."""
        if model is None:
            return OTHER
        if model in self.models or model in self.served:
            return model
        if served and len(self.served) < self.served_slots:
            self.served.add(model)
            return model
        return OTHER

    def code(self, code: str) -> str:
        return code if code in self.codes else OTHER

    @staticmethod
    def status(status: int) -> str:
        return status_label(status)

    @classmethod
    def for_config(cls, config: Any) -> LabelPolicy:
        """The policy of a :class:`fwcompat.Config`: its pack's codes and models, its map."""
        from fwcompat.rulepacks import load_pack

        pack = load_pack(config.pack, config.rule_files, config.pack_dir)
        codes = {compiled.rule.code for compiled in pack.rules}
        return cls(models=[*config.model_map.values(), *pack_models(pack)], codes=codes)


def pack_models(pack: Any) -> list[str]:
    """The models a pack lists: its ``model_map`` table's ``values: {in: [...]}``, if any.

    No shipped pack has such a list today (their model ids are patterns), so only
    ``model_map`` targets and served models get labels of their own there.
    """
    table = pack.tables.get("model_map") or {}
    values = table.get("values") if isinstance(table, dict) else None
    listed = values.get("in") if isinstance(values, dict) else None
    return [m for m in listed if isinstance(m, str)] if isinstance(listed, list) else []


class Metrics:
    """The proxy's counters, on a registry of its own (never the process-global one)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(
        self, policy: LabelPolicy | None = None, *, max_series: int = DEFAULT_MAX_SERIES
    ) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created doubles the output
        self.policy = policy or LabelPolicy()
        self.max_series = max_series
        self.series: dict[tuple[str, tuple[str, ...]], Any] = {}
        """The labelled series created so far (at most ``max_series``), each to its child:
        prometheus-client's ``labels()`` costs more than the increment, so it runs once."""
        self.directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        self.multiprocess = self.directory is not None
        if self.directory is not None:
            # A pid is reused only after its process died: whatever a dead worker of
            # this pid left in its live gauge files is not ours to count.
            _mark_dead(os.getpid(), self.directory)
        r = self.registry = CollectorRegistry()
        self.requests = Counter(
            "fwcompat_serve_requests",
            "Requests answered, by HTTP status (a fixed list, else the status class)",
            ["status"],
            registry=r,
        )
        self.diagnostics = Counter(
            "fwcompat_serve_diagnostics",
            "Diagnostics raised on requests, by rule code (the pack's codes, else other)",
            ["code"],
            registry=r,
        )
        self.tokens = Counter(
            "fwcompat_serve_tokens",
            "Tokens the upstream reported, by upstream model (a bounded set, else other) and kind",
            ["model", "kind"],
            registry=r,
        )
        self.dropped = Counter(
            "fwcompat_serve_metrics_dropped",
            "Observations not recorded because their series would pass --metrics-max-series",
            ["metric"],
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
        self._labelled = {
            "requests": self.requests,
            "diagnostics": self.diagnostics,
            "tokens": self.tokens,
        }
        for name in self._labelled:
            self.dropped.labels(name)  # present (at 0) from the start

    def _inc(self, name: str, labels: tuple[str, ...], amount: float = 1) -> None:
        """Increment one series of metric ``name``, unless creating it would pass the cap."""
        key = (name, labels)
        child = self.series.get(key)
        if child is None:
            if len(self.series) >= self.max_series:
                self.dropped.labels(name).inc()
                return
            child = self.series[key] = self._labelled[name].labels(*labels)
        child.inc(amount)

    def observe(self, record: RequestRecord) -> None:
        policy = self.policy
        self._inc("requests", (policy.status(record.status or 0),))
        for code in record.codes:
            self._inc("diagnostics", (policy.code(code),))
        if record.upstream_seconds is not None:
            self.upstream_latency.observe(record.upstream_seconds)
        usage = record.usage
        if usage is not None:
            model = policy.model(record.upstream_model, served=True)
            counts = (
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_read_input_tokens,
                usage.cache_creation_input_tokens,
            )
            for kind, count in zip(TOKEN_KINDS, counts, strict=True):
                if count or kind in ("input", "output"):
                    self._inc("tokens", (model, kind), count or 0)

    def render(self) -> bytes:
        if self.directory is not None:
            from prometheus_client import multiprocess

            prune_dead_workers(self.directory)
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


def _mark_dead(pid: int, directory: str) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def prune_dead_workers(directory: str) -> list[int]:
    """Drop the live gauges (``livesum``) of workers that died, whatever killed them.

    prometheus-client's ``mark_process_dead`` is meant to run when a worker exits;
    a worker killed by a signal never runs it, and uvicorn's supervisor, which
    replaces the worker, has no hook. So every scrape removes the live-gauge files
    of pids that no longer run: the in-flight gauge then counts live workers only.
    Counters of dead workers stay (their totals are still true). Returns the pids.
    """
    dead = []
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    for name in names:
        if not (name.startswith("gauge_live") and name.endswith(".db")):
            continue
        pid_text = name[: -len(".db")].rpartition("_")[2]
        if pid_text.isdigit() and not _running(int(pid_text)):
            _mark_dead(int(pid_text), directory)
            dead.append(int(pid_text))
    return dead


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (killed, not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: not ours to judge
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rpartition(b")")[2].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux): os.kill said it exists
    return state not in (b"Z", b"X")
