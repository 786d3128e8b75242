"""Prometheus metrics: the counters every layer reports to, and their exposition.

The rest of the program calls the plain functions here (``order_created("partner")``...) and
never touches ``prometheus_client``, so the core stays free of monitoring concerns and the
metric names live in one place.

With several worker processes (``orderdesk serve --workers N``) each process counts in its own
files under ``PROMETHEUS_MULTIPROC_DIR`` (created and removed by ``serve``), and whichever worker
answers ``GET /metrics`` adds up every worker's files (``MultiProcessCollector``). Without that
directory the process's default registry is exported as it is.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "<unmatched>"

HTTP_REQUESTS = Counter(
    "orderdesk_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "orderdesk_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ORDERS_CREATED = Counter(
    "orderdesk_orders_created", "Orders created and committed, by dialect.", ["dialect"]
)
BOOKINGS_REFUSED = Counter(
    "orderdesk_bookings_refused",
    "Order creations refused for want of capacity (no_master: no master free in any requested "
    "date; slot_full: the requested time slot is full), by dialect.",
    ["dialect", "reason"],
)
COUPONS_REFUSED = Counter(
    "orderdesk_coupons_refused",
    "Order creations refused for their coupon (no_uses_left, invalid), by dialect.",
    ["dialect", "reason"],
)
WEBHOOK_DELIVERIES = Counter(
    "orderdesk_webhook_deliveries",
    "Webhook delivery attempts by the state they left the delivery in "
    "(delivered, retry: scheduled again, dead: retries given up).",
    ["state"],
)
# Per worker process: "liveall" keeps one series per live process (label pid) and drops a
# process's series once it is marked dead.
DB_POOL_CHECKED_OUT = Gauge(
    "orderdesk_db_pool_checked_out",
    "Database connections this worker process has checked out of its pool now.",
    multiprocess_mode="liveall",
)
DB_POOL_SIZE = Gauge(
    "orderdesk_db_pool_size",
    "Size of this worker process's database connection pool.",
    multiprocess_mode="liveall",
)

# The core's refusal reasons (FieldError.reason), mapped to the label values.
_CAPACITY_REASONS = {"no_master": "no_master", "slot_full": "slot_full"}
_COUPON_REASONS = {"coupon_used_up": "no_uses_left", "coupon_invalid": "invalid"}


def order_created(dialect: str) -> None:
    ORDERS_CREATED.labels(dialect).inc()


def creation_refused(dialect: str, errors: Iterable[Any]) -> None:
    """Count a refused order creation under capacity or coupon when its errors say so.

    ``errors`` are the core's ``FieldError`` values; a refusal for other reasons (an unknown
    item, a bad phone number) counts under neither.
    """
    capacity: set[str] = set()
    coupon: set[str] = set()
    for error in errors:
        reason = getattr(error, "reason", None)
        if reason in _CAPACITY_REASONS:
            capacity.add(_CAPACITY_REASONS[reason])
        elif reason in _COUPON_REASONS:
            coupon.add(_COUPON_REASONS[reason])
    for label in capacity:
        BOOKINGS_REFUSED.labels(dialect, label).inc()
    for label in coupon:
        COUPONS_REFUSED.labels(dialect, label).inc()


def webhook_delivery(state: str) -> None:
    """``state`` is ``delivered``, ``retry`` or ``dead``."""
    WEBHOOK_DELIVERIES.labels(state).inc()


def watch_pool(engine: Any) -> None:
    """Keep this process's pool gauges current from the pool's own checkout/checkin events.

    An event per checkout is cheaper than sampling on a timer and never stale; the checkin
    event fires while the connection is still counted as checked out, hence the ``- 1``.
    """
    from sqlalchemy import event

    pool = engine.sync_engine.pool
    size = getattr(pool, "size", None)
    if callable(size):
        DB_POOL_SIZE.set(size())
    checked_out = getattr(pool, "checkedout", None)
    if not callable(checked_out):
        return
    DB_POOL_CHECKED_OUT.set(checked_out())

    def _on_checkout(*_args: Any) -> None:
        DB_POOL_CHECKED_OUT.set(checked_out())

    def _on_checkin(*_args: Any) -> None:
        DB_POOL_CHECKED_OUT.set(max(checked_out() - 1, 0))

    event.listen(pool, "checkout", _on_checkout)
    event.listen(pool, "checkin", _on_checkin)


# Read once, when prometheus_client (imported above) chose between in-memory values and files
# from the same variable: a process whose counters live in memory must export its own registry
# even if the variable appears later (an in-process ``serve`` sets it for its workers).
_MULTIPROC_DIR = os.environ.get(MULTIPROC_ENV) or None


def multiprocess_dir() -> str | None:
    return _MULTIPROC_DIR


def process_exiting() -> None:
    """Drop this process's live gauges (pool use) so that the other workers stop reporting it."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


_LIVE_FILE = re.compile(r"^gauge_live\w*?_(\d+)\.db$")


def _mark_vanished_processes(directory: str) -> None:
    """Workers that died without shutting down (killed, crashed) leave live gauge files; their
    pids no longer exist, and their gauges must not be reported as if they were still running."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for pid in {int(m.group(1)) for m in map(_LIVE_FILE.match, names) if m}:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except PermissionError:
            pass  # alive, owned by someone else


class _Fixed(Collector):
    """Metrics computed at scrape time by the endpoint, exported once."""

    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics


def outbox_lag_metric(seconds: float | None) -> Metric:
    gauge = GaugeMetricFamily(
        "orderdesk_outbox_lag_seconds",
        "Age of the oldest event not yet delivered to every subscriber (not fanned out yet, or "
        "with a delivery still pending); 0 when none is waiting. Absent when the database "
        "could not be asked.",
    )
    if seconds is not None:
        gauge.add_metric([], max(seconds, 0.0))
    return gauge


def exposition(extra: list[Metric]) -> bytes:
    """The text exposition: every worker's counters (or this process's), plus ``extra``."""
    directory = multiprocess_dir()
    if directory:
        _mark_vanished_processes(directory)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    if extra:
        scraped = CollectorRegistry()
        scraped.register(_Fixed(extra))
        text += generate_latest(scraped)
    return text
