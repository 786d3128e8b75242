"""Request metrics (a pure ASGI middleware) and the ``GET /metrics`` endpoint.

Labels carry the route *template* (``/partner/order/{order_id}``), never the raw path, so a
client cannot grow the number of series; anything no route matched is ``<unmatched>``. The
middleware runs on every request, so its work is a few dictionary lookups: the label children
of each (route, prefix, method, status) are looked up in ``prometheus_client`` once and kept.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fastapi import Request, Response
from sqlalchemy import func, select
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderdesk import metrics
from orderdesk.core.events.models import OutboxEvent, WebhookDelivery
from orderdesk.http.state import AppState

log = logging.getLogger(__name__)

# A scrape waits this long for the outbox query before it answers without the lag.
LAG_QUERY_TIMEOUT = 5.0

_Children = tuple[Any, Any]  # (requests counter child by status, latency histogram child)


# Methods a client invents (any token is valid HTTP) share one label: each would be a series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method(scope: Scope) -> str:
    method: str = scope["method"]
    return method if method in _METHODS else "OTHER"


class RequestMetrics:
    """Counts every HTTP request by method, route template and status, and times it.

    ``prefixes`` maps each route of an included router (by ``id``: routes are not hashable),
    whose ``path`` lacks its prefix, to the prefixes it is mounted under, longest first.
    """

    def __init__(self, app: ASGIApp, prefixes: Mapping[int, Sequence[str]]) -> None:
        self.app = app
        self._prefixes = prefixes
        # route -> prefix -> method -> (status -> counter child, histogram child)
        self._children: dict[Any, dict[str, dict[str, tuple[dict[int, Any], Any]]]] = {}
        self._others: list[BaseRoute] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless an answer starts: an exception becomes a 500 further out

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            by_status, latency = self._lookup(scope)
            child = by_status.get(status)
            if child is None:
                child = by_status[status] = metrics.HTTP_REQUESTS.labels(
                    _method(scope), self._template(scope), str(status)
                )
            child.inc()
            latency.observe(time.perf_counter() - started)

    def _lookup(self, scope: Scope) -> tuple[dict[int, Any], Any]:
        route = scope.get("route")
        if route is None:
            route = self._other_route(scope)
        prefix = ""
        for candidate in self._prefixes.get(id(route), ()):
            if scope["path"].startswith(candidate):
                prefix = candidate
                break
        by_prefix = self._children.get(id(route))
        if by_prefix is None:
            by_prefix = self._children[id(route)] = {}
        by_method = by_prefix.get(prefix)
        if by_method is None:
            by_method = by_prefix[prefix] = {}
        method = _method(scope)
        children = by_method.get(method)
        if children is None:
            template = self._template(scope, route, prefix)
            children = by_method[method] = (
                {},
                metrics.HTTP_LATENCY.labels(method, template),
            )
        return children

    def _template(self, scope: Scope, route: Any = None, prefix: str | None = None) -> str:
        if route is None:
            route = scope.get("route") or self._other_route(scope)
        if route is None:
            return metrics.UNMATCHED
        if prefix is None:
            prefix = next(
                (p for p in self._prefixes.get(id(route), ()) if scope["path"].startswith(p)), ""
            )
        return prefix + str(getattr(route, "path", metrics.UNMATCHED))

    def _other_route(self, scope: Scope) -> BaseRoute | None:
        """The plain Starlette route (``/openapi.json``...) a request went to, which the router
        does not record in the scope; only requests without a recorded route pay for this."""
        if self._others is None:
            app = scope.get("app")
            routes = getattr(getattr(app, "router", None), "routes", [])
            self._others = [r for r in routes if id(r) not in self._prefixes and hasattr(r, "path")]
        for route in self._others:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route
        return None


async def outbox_lag(state: AppState, now: datetime) -> float | None:
    """Seconds since the oldest event still waiting for a delivery, from the shared database.

    Computed when scraped rather than kept by each worker's dispatcher loop: every worker would
    otherwise report its own, differently stale view (and a stopped worker its last one), while
    the database holds the one true answer whichever worker is asked. One round trip, two
    index-driven subqueries: the oldest unpublished event (``ix_outbox_events_pending``) and the
    oldest event of a pending delivery (``ix_webhook_deliveries_due``).
    """
    unpublished = (
        select(OutboxEvent.created_at)
        .where(OutboxEvent.published_at.is_(None))
        .order_by(OutboxEvent.id)
        .limit(1)
        .scalar_subquery()
    )
    pending = (
        select(func.min(OutboxEvent.created_at))
        .join(WebhookDelivery, WebhookDelivery.event_id == OutboxEvent.id)
        .where(WebhookDelivery.state == "pending")
        .scalar_subquery()
    )
    try:
        async with asyncio.timeout(LAG_QUERY_TIMEOUT), state.reads() as session:
            row = (await session.execute(select(unpublished, pending))).one()
    except Exception as exc:  # the scrape still answers, without the lag
        log.warning("outbox lag unavailable: %s", exc.__class__.__name__)
        return None
    oldest = [t for t in row if t is not None]
    if not oldest:
        return 0.0
    return max((now - _aware_like(min(oldest), now)).total_seconds(), 0.0)


def _aware_like(value: datetime, now: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes; compare them with an aware ``now`` as UTC."""
    if value.tzinfo is None and now.tzinfo is not None:
        return value.replace(tzinfo=now.tzinfo)
    return value


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text exposition of every worker's metrics (not part of the API document)."""
    state: AppState = request.app.state.orderdesk
    lag = await outbox_lag(state, state.now())
    body = metrics.exposition([metrics.outbox_lag_metric(lag)])
    return Response(body, media_type=metrics.CONTENT_TYPE)
