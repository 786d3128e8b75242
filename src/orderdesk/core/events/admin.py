"""Operator view of webhook deliveries: what is stuck, and sending it again.

Backs ``orderdesk webhooks list`` / ``orderdesk webhooks replay``. Both run in the caller's
transaction and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.events.models import OutboxEvent, WebhookDelivery
from orderdesk.core.organizations.models import WebhookSubscription

DELIVERY_STATES = ("pending", "delivered", "dead")


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    event: str
    order_id: int | None
    url: str
    state: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    subscription_id: int
    subscription_state: str  # active | inactive | disabled, as in health.list_subscriptions


async def list_deliveries(
    session: AsyncSession, *, state: str | None, limit: int
) -> list[DeliveryRow]:
    """The newest ``limit`` deliveries, optionally only those in ``state``, newest first.

    ``created_at`` is when the delivery was last queued (fan-out, or its latest replay);
    ``attempts`` counts every attempt ever made, replays included.
    """
    if state is not None and state not in DELIVERY_STATES:
        raise ValueError(f"unknown delivery state {state!r}; expected one of {DELIVERY_STATES}")
    query = (
        select(
            WebhookDelivery.id,
            OutboxEvent.event,
            OutboxEvent.order_id,
            WebhookSubscription.url,
            WebhookDelivery.state,
            WebhookDelivery.attempts,
            WebhookDelivery.last_status_code,
            WebhookDelivery.last_error,
            WebhookDelivery.next_attempt_at,
            WebhookDelivery.created_at,
            WebhookDelivery.subscription_id,
            WebhookSubscription.active,
            WebhookSubscription.disabled_at,
        )
        .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    if state is not None:
        query = query.where(WebhookDelivery.state == state)
    rows = []
    for row in await session.execute(query):
        fields = row._asdict()
        active, disabled_at = fields.pop("active"), fields.pop("disabled_at")
        state = "disabled" if disabled_at is not None else "active" if active else "inactive"
        rows.append(DeliveryRow(**fields, subscription_state=state))
    return rows


async def replay(
    session: AsyncSession,
    delivery_ids: Sequence[int] | None,
    *,
    dead_only: bool,
    now: datetime,
) -> int:
    """Queue deliveries again, due at once; returns how many were queued.

    ``delivery_ids=None`` means every dead delivery and requires ``dead_only`` (re-sending every
    delivery ever made is never what an operator means). With ids, ``dead_only`` skips those not
    dead; otherwise delivered ones are sent again too (receivers de-duplicate on the event id).

    The attempt log and the ``attempts`` counter are kept. The 24 h retry window is re-opened by
    setting ``created_at`` to ``now``: the dispatcher counts the window and the backoff from the
    first attempt made after ``created_at``, so the replayed delivery starts over at a 10 s
    backoff and gets a full 24 h before it can die again. A replayed delivery that was blocking
    later events of its order releases them, in order, once it is delivered.
    """
    if delivery_ids is None and not dead_only:
        raise ValueError("give delivery ids, or dead_only to replay every dead delivery")
    statement = (
        update(WebhookDelivery)
        .values(state="pending", next_attempt_at=now, created_at=now, delivered_at=None)
        .returning(WebhookDelivery.id)
    )
    if delivery_ids is not None:
        if not delivery_ids:
            return 0
        statement = statement.where(WebhookDelivery.id.in_(list(delivery_ids)))
    if dead_only:
        statement = statement.where(WebhookDelivery.state == "dead")
    return len((await session.execute(statement)).all())
