"""Writing events into the outbox; delivery is the dispatcher's job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.events.models import OutboxEvent


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
    session.add(OutboxEvent(organization_id=organization_id, order_id=order_id, event=event,
                            payload=payload, created_at=now, published_at=None))
