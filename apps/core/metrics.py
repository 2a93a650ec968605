"""Prometheus metrics: what every process counts, and `GET /metrics`.

prometheus-client in multi-process mode when `PROMETHEUS_MULTIPROC_DIR` is
set (`make run` sets it to a fresh folder at each start): gunicorn workers,
Celery worker children and beat each write their samples to files in that
folder, and whichever process answers `/metrics` merges them. Without the
variable (a single process, the tests) the samples are this process's own.
The folder must be emptied before the stack starts, never while it runs;
processes that end are marked dead (gunicorn's `child_exit`, Celery's
`worker_process_shutdown`) so their live gauges drop out.

Counting costs a few microseconds (a lock and a write into a memory-mapped
file): no I/O on the hot path. Values that are a state of the whole system
rather than events of one process — queue depth per tier, intake backlog —
are measured when `/metrics` is scraped, by collectors the apps register
(`register_gauge`): core knows no domain app.

Labels stay of bounded cardinality: tiers, statuses, dimensions and
connector slugs, never organizations, customers or ids.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Workflow runs: from a few milliseconds (Instant) to hours (Long).
EXECUTION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600, 21600)
# Connector calls: one HTTP exchange (or a few pages), with retries.
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

EXECUTIONS = Counter(
    "fastn_executions",
    "Workflow executions that finished, by tier and final status.",
    ["tier", "status"],
)
EXECUTION_SECONDS = Histogram(
    "fastn_execution_duration_seconds",
    "Duration of finished workflow executions (the last attempt), by tier.",
    ["tier"],
    buckets=EXECUTION_BUCKETS,
)
CONNECTOR_CALL_SECONDS = Histogram(
    "fastn_connector_call_duration_seconds",
    "Duration of connector calls, by connector and outcome (ok, http_error, error).",
    ["connector", "outcome"],
    buckets=CALL_BUCKETS,
)
QUOTA_REJECTIONS = Counter(
    "fastn_quota_rejections",
    "Requests and runs refused by a Hard Block quota, by dimension.",
    ["dimension"],
)


def execution_finished(*, tier: str, status: str, duration_ms: float | None) -> None:
    """Count one finished execution (completed, failed or timeout)."""
    try:
        EXECUTIONS.labels(tier=tier, status=status).inc()
        if duration_ms is not None:
            EXECUTION_SECONDS.labels(tier=tier).observe(max(float(duration_ms), 0.0) / 1000.0)
    except Exception:  # noqa: BLE001 - a metric must never fail a run
        logger.debug("Could not count an execution.", exc_info=True)


def connector_call_observed(*, connector: str, status: int | None, ok: bool, duration_ms: int) -> None:
    outcome = "ok" if ok else ("http_error" if status else "error")
    try:
        CONNECTOR_CALL_SECONDS.labels(connector=connector[:63], outcome=outcome).observe(max(duration_ms, 0) / 1000.0)
    except Exception:  # noqa: BLE001 - a metric must never fail a call
        logger.debug("Could not count a connector call.", exc_info=True)


def quota_rejected(*, dimension: str) -> None:
    try:
        QUOTA_REJECTIONS.labels(dimension=dimension).inc()
    except Exception:  # noqa: BLE001
        logger.debug("Could not count a quota rejection.", exc_info=True)


# --- Gauges measured at scrape time ------------------------------------------------------------

# name → (help, labels, reader). A reader returns [(label values, value), ...].
GaugeReader = Callable[[], Iterable[tuple[tuple[str, ...], float]]]
_gauges: dict[str, tuple[str, tuple[str, ...], GaugeReader]] = {}


def register_gauge(name: str, documentation: str, labels: tuple[str, ...], reader: GaugeReader) -> None:
    """A gauge read when `/metrics` is scraped (from an app's `AppConfig.ready()`)."""
    _gauges[name] = (documentation, labels, reader)


class _ScrapeTimeGauges(Collector):
    def collect(self):
        for name, (documentation, labels, reader) in sorted(_gauges.items()):
            family = GaugeMetricFamily(name, documentation, labels=list(labels))
            try:
                for values, value in reader():
                    family.add_metric(list(values), float(value))
            except Exception:  # noqa: BLE001 - one source down must not hide the others
                logger.warning("Metric %s could not be read.", name, exc_info=True)
                continue
            yield family


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render() -> bytes:
    """The Prometheus text exposition of every process's samples and the scrape-time gauges."""
    directory = multiprocess_dir()
    if directory:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
    else:
        # This process's own samples (the default registry would add its
        # process and platform collectors, which describe one process only).
        registry = CollectorRegistry()
        for collector in (EXECUTIONS, EXECUTION_SECONDS, CONNECTOR_CALL_SECONDS, QUOTA_REJECTIONS):
            registry.register(collector)
    registry.register(_ScrapeTimeGauges())
    return generate_latest(registry)


def process_ended(pid: int) -> None:
    """A process of the stack ended: its live gauges no longer count."""
    if multiprocess_dir():
        mark_process_dead(pid)


def queue_depth_read():
    """[((tier,), waiting messages)] from the broker's lists (kombu's Redis transport:
    one list per queue and priority step, under the stack's key prefix)."""
    from django.conf import settings

    from apps.core.redis import get_redis

    prefix = (settings.CELERY_BROKER_TRANSPORT_OPTIONS or {}).get("global_keyprefix", "")
    client = get_redis(settings.CELERY_BROKER_URL)
    pipe = client.pipeline(transaction=False)
    tiers = [queue.name for queue in settings.CELERY_TASK_QUEUES]
    for tier in tiers:
        pipe.llen(f"{prefix}{tier}")
        for step in (3, 6, 9):
            pipe.llen(f"{prefix}{tier}\x06\x16{step}")
    lengths = pipe.execute()
    return [((tier,), sum(lengths[i * 4 : i * 4 + 4])) for i, tier in enumerate(tiers)]
