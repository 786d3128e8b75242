"""Writing events into the outbox; delivery is the dispatcher's job.

The core knows *that* something happened to an order (``created``, ``status_changed``, ...);
what subscribers receive is the dialect's business. Each dialect registers a renderer for the
kind of organization it serves, and the rendered payloads are stored in the outbox in the same
transaction as the change, so a committed change is always an event that will be delivered.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.events.models import OutboxEvent
from orderdesk.core.orders.schemas import OrderView

EventRenderer = Callable[[str, OrderView, datetime], list[tuple[str, dict[str, Any]]]]
_renderers: dict[str, EventRenderer] = {}


def register_renderer(organization_kind: str, renderer: EventRenderer) -> None:
    _renderers[organization_kind] = renderer


def renderer_for(organization_kind: str) -> EventRenderer | None:
    """The renderer registered for that kind of organization, if any."""
    return _renderers.get(organization_kind)


def enqueue(
    session: AsyncSession,
    *,
    organization_id: int,
    order_id: int | None,
    event: str,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    """Add an event to the caller's transaction: it is published only if that commits."""
    session.add(
        OutboxEvent(
            organization_id=organization_id,
            order_id=order_id,
            event=event,
            payload=payload,
            created_at=now,
            published_at=None,
        )
    )


def order_event_rows(kind: str, view: OrderView, now: datetime) -> list[dict[str, Any]]:
    """The outbox rows of an order event, for callers that write rows in bulk."""
    renderer = _renderers.get(view.organization_kind)
    if renderer is None:
        return []
    order = view.order
    return [
        {
            "organization_id": order.organization_id,
            "order_id": order.id,
            "event": event,
            "payload": payload,
            "created_at": now,
            "published_at": None,
        }
        for event, payload in renderer(kind, view, now)
    ]


def publish_order_event(session: AsyncSession, kind: str, view: OrderView, now: datetime) -> None:
    for row in order_event_rows(kind, view, now):
        session.add(OutboxEvent(**row))
