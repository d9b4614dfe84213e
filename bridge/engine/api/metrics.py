"""Prometheus metrics of one engine instance, served at ``/metrics``.

Every series is prefixed ``assay_bridge_``. Two kinds:

* **Per-instance** counters and histograms (what this instance did: workflows started and
  finished, activity attempts, retries and timeouts, HTTP request and store transaction
  latencies, transaction conflicts, held polls). With several instances on one database, each
  reports its own, so ``sum`` over the scraped instances is the cluster's total.
* **Shared** gauges, read from the database at scrape time (queue depth and the age of the
  oldest waiting task per queue). The same for every instance, so only the instance that holds
  the ``metrics`` role (``Store.leads``) reports them: a ``sum`` over instances is still right,
  and another instance takes over when that one stops.

The registry is per app, so several engines in one process do not mix their figures.
"""

from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridge.engine.api.notify import Hub

if TYPE_CHECKING:
    from bridge.engine.core import Engine

logger = logging.getLogger(__name__)

PREFIX = "assay_bridge_"
_WORKFLOW_LABELS = ("namespace", "workflow_type", "task_queue")
_ACTIVITY_LABELS = ("name", "task_queue")
#: Latency buckets in seconds, from a fast SQLite call to a slow held poll.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class EngineMetrics:
    """The metrics of one engine: the core's :class:`~bridge.engine.observe.Observer`, the HTTP
    middleware's sink, and the ``/metrics`` endpoint.

    Args:
        engine: the core; this object becomes its observer.
        hub: the notifier hub, for the number of held polls.
    """

    def __init__(self, engine: Engine, hub: Hub) -> None:
        self.engine = engine
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._counters: dict[str, Counter] = {
            "workflow_started": Counter(PREFIX + "workflows_started", "Workflows started.",
                                        _WORKFLOW_LABELS, registry=r),
            "workflow_completed": Counter(PREFIX + "workflows_completed",
                                          "Workflows completed.", _WORKFLOW_LABELS, registry=r),
            "workflow_failed": Counter(PREFIX + "workflows_failed",
                                       "Workflows failed (terminated ones included).",
                                       _WORKFLOW_LABELS, registry=r),
            "workflow_cancelled": Counter(PREFIX + "workflows_cancelled",
                                          "Workflows cancelled.", _WORKFLOW_LABELS, registry=r),
            "activity_attempt": Counter(PREFIX + "activity_attempts",
                                        "Activity attempts a worker took.", _ACTIVITY_LABELS,
                                        registry=r),
            "activity_retry": Counter(PREFIX + "activity_retries",
                                      "Activity attempts requeued after a failure or timeout.",
                                      _ACTIVITY_LABELS, registry=r),
            "activity_timeout": Counter(PREFIX + "activity_timeouts",
                                        "Activity attempts that timed out.", _ACTIVITY_LABELS,
                                        registry=r),
        }
        self.requests = Latencies(PREFIX + "http_request_duration_seconds",
                                  "HTTP request latency by route.",
                                  ("method", "route", "status"), registry=r)
        self.transactions = Latencies(PREFIX + "store_transaction_duration_seconds",
                                      "Store transaction latency by core operation (retries "
                                      "included).", ("operation",), registry=r)
        self.conflicts = Counter(PREFIX + "store_transaction_conflicts",
                                 "Store transactions retried after a conflict.", ("operation",),
                                 registry=r)
        self.failures = Counter(PREFIX + "store_transaction_failures",
                                "Core operations that ended in an error.", ("operation",),
                                registry=r)
        self._counted: dict[tuple[str, tuple[tuple[str, str], ...]], Counter] = {}
        held = Gauge(PREFIX + "held_polls", "Workflow-task polls held open now.", registry=r)
        held.set_function(hub.waiting_count)
        r.register(_QueueCollector(engine))
        engine.observer = self

    # -- the core's Observer ---------------------------------------------------------------
    def transaction(self, operation: str, seconds: float, attempts: int, ok: bool) -> None:
        """Record one core operation's transaction."""
        self.transactions.observe((operation,), seconds)
        if attempts > 1:
            self.conflicts.labels(operation).inc(attempts - 1)
        if not ok:
            self.failures.labels(operation).inc()

    def counted(self, counts: Sequence[tuple[str, dict[str, str]]]) -> None:
        """Count what one committed operation reported."""
        for name, labels in counts:
            key = (name, tuple(labels.items()))
            child = self._counted.get(key)
            if child is None:
                counter = self._counters.get(name)
                if counter is None:
                    continue
                child = self._counted[key] = counter.labels(**labels)
            child.inc()

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one request's latency by method, route template and status."""
        self.requests.observe((method, route, str(status)), seconds)

    # -- the endpoint ----------------------------------------------------------------------
    async def endpoint(self, request: Request) -> Response:
        """GET /metrics: the Prometheus text format."""
        import anyio.to_thread  # the queue gauges read the database

        body = await anyio.to_thread.run_sync(generate_latest, self.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


class Latencies(Collector):
    """A latency histogram over :data:`_BUCKETS`, one series per label values, exposed as a
    Prometheus histogram (``_bucket``, ``_count``, ``_sum``).

    Every request and every core transaction is observed, on the path whose cost the
    engine is measured by: an observation is a bisect and two additions under one lock, where
    ``prometheus_client.Histogram`` walks its buckets in Python and takes a lock per counter.
    """

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str], *,
                 registry: CollectorRegistry) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        to_text = floatToGoString  # as prometheus_client writes a bucket's bound
        self._les = [to_text(b) for b in _BUCKETS] + ["+Inf"]  # type: ignore[no-untyped-call]
        self._lock = threading.Lock()
        self._series: dict[tuple[str, ...], list[Any]] = {}  # labels -> [bucket counts, sum]
        registry.register(self)

    def observe(self, labels: tuple[str, ...], seconds: float) -> None:
        """Count one observation of ``seconds`` for the series ``labels`` (any thread)."""
        index = bisect_left(_BUCKETS, seconds)  # the first bucket whose bound is >= seconds
        with self._lock:
            series = self._series.get(labels)
            if series is None:
                series = self._series[labels] = [[0] * (len(_BUCKETS) + 1), 0.0]
            series[0][index] += 1
            series[1] += seconds

    def describe(self) -> Iterable[Metric]:
        return [HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)]

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with self._lock:
            taken = [(labels, list(counts), total)
                     for labels, (counts, total) in self._series.items()]
        for labels, counts, total in taken:
            running, buckets = 0, []
            for le, count in zip(self._les, counts):
                running += count
                buckets.append((le, float(running)))
            family.add_metric(list(labels), buckets, total)
        return [family]


class _QueueCollector(Collector):
    """The shared queue gauges, read at scrape time by the instance holding the role."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        depth = GaugeMetricFamily(PREFIX + "queue_depth",
                                  "Tasks waiting for a worker, per queue (shared: reported by "
                                  "one instance).", labels=["queue", "kind"])
        age = GaugeMetricFamily(PREFIX + "queue_oldest_pending_age_seconds",
                                "Age of the oldest task waiting for a worker, per queue "
                                "(shared: reported by one instance).", labels=["queue", "kind"])
        with self._lock:
            try:
                if self.engine.store.leads("metrics"):
                    now = self.engine.clock.now()
                    for row in self.engine.queue_depths():
                        labels = [str(row["queue"]), str(row["kind"])]
                        depth.add_metric(labels, float(row["count"]))
                        age.add_metric(labels, max(0.0, now - float(row["oldest"])))
            except Exception:  # a scrape must not fail because the database is busy
                logger.warning("cannot read the queue gauges", exc_info=True)
        return [depth, age]


class RequestMetricsMiddleware:
    """Times every HTTP request by the route it matched (the path template, never raw ids)."""

    def __init__(self, app: ASGIApp, metrics: EngineMetrics, routes: Sequence[object]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes
        # the router leaves the matched endpoint in the scope: its path template, when only
        # one route has that endpoint (else the routes are matched again)
        paths: dict[object, list[str]] = {}
        for route in routes:
            endpoint = getattr(route, "endpoint", None)
            if endpoint is not None:
                paths.setdefault(endpoint, []).append(str(getattr(route, "path", "")))
        self._paths = {e: p[0] for e, p in paths.items() if len(p) == 1}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.request(scope["method"], self._route(scope), status,
                                 time.perf_counter() - started)

    def _route(self, scope: Scope) -> str:
        path = self._paths.get(scope.get("endpoint"))
        if path is not None:
            return path
        for route in self.routes:
            match, _ = route.matches(scope)  # type: ignore[attr-defined]
            if match is Match.FULL:
                return str(route.path)  # type: ignore[attr-defined]
        return "other"
