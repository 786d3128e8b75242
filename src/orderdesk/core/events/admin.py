"""Operator view of webhook deliveries: what is stuck, and sending it again.

Backs ``orderdesk webhooks list`` / ``orderdesk webhooks replay``. Both run in the caller's
transaction and never commit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.events.dispatcher import request_body, request_headers
from orderdesk.core.events.models import DeliveryAttempt, OutboxEvent, WebhookDelivery
from orderdesk.core.events.signing import PLAIN_HEADER, TIMESTAMPED_HEADER, signer_for
from orderdesk.core.organizations.models import Organization, WebhookSubscription

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
    session: AsyncSession,
    *,
    state: str | None,
    limit: int,
    organization_id: int | None = None,
    before_id: int | None = None,
) -> list[DeliveryRow]:
    """The newest ``limit`` deliveries, optionally only those in ``state`` or of one
    organization's subscriptions, newest first; ``before_id`` continues a listing after its
    last row (keyset pagination: a page never repeats or skips a row as new ones arrive).

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
    if organization_id is not None:
        query = query.where(WebhookSubscription.organization_id == organization_id)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
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
    actor: str,
) -> int:
    """Queue deliveries again, due at once; returns how many were queued. ``actor`` (who asked:
    ``operator:<email>``, ``cli``) is kept on each delivery with the time.

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
        .values(
            state="pending",
            next_attempt_at=now,
            created_at=now,
            delivered_at=None,
            replayed_by=actor,
            replayed_at=now,
        )
        .returning(WebhookDelivery.id)
    )
    if delivery_ids is not None:
        if not delivery_ids:
            return 0
        statement = statement.where(WebhookDelivery.id.in_(list(delivery_ids)))
    if dead_only:
        statement = statement.where(WebhookDelivery.state == "dead")
    return len((await session.execute(statement)).all())


@dataclass(frozen=True)
class AttemptRow:
    at: datetime
    status_code: int | None
    error: str | None  # for an answer outside 2xx: "HTTP <status>: <body excerpt>"
    duration_ms: int


@dataclass(frozen=True)
class DeliveryDetail:
    """One delivery as an operator inspects it: the request as sent and every answer.

    ``headers`` are those of every attempt; the signature header is described, not computed:
    its value depends on the subscription's secret (and, for partners, the attempt's time).
    """

    id: int
    state: str
    organization_id: int
    organization: str
    event_id: int
    event: str
    order_id: int | None
    url: str
    body: str
    headers: dict[str, str]
    attempts: int
    attempt_log: list[AttemptRow]
    next_attempt_at: datetime | None  # None once delivered or dead
    created_at: datetime
    delivered_at: datetime | None
    subscription_state: str
    replayed_by: str | None
    replayed_at: datetime | None


_SIGNATURE_DESCRIPTIONS = {
    TIMESTAMPED_HEADER: "t=<unix time of the attempt>,v1=<HMAC-SHA256 of t.body>",
    PLAIN_HEADER: "<HMAC-SHA256 of the body>",
}


async def delivery_detail(session: AsyncSession, delivery_id: int) -> DeliveryDetail | None:
    """The delivery with its request and attempt log (oldest first); ``None`` if there is
    no such delivery. The signing secret is never part of it."""
    row = (
        await session.execute(
            select(WebhookDelivery, OutboxEvent, WebhookSubscription, Organization)
            .join(OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .join(Organization, Organization.id == WebhookSubscription.organization_id)
            .where(WebhookDelivery.id == delivery_id)
        )
    ).first()
    if row is None:
        return None
    delivery, event, subscription, organization = row
    body = request_body(organization.kind, event.id, event.payload)
    signature = {
        name: _SIGNATURE_DESCRIPTIONS.get(name, "<signature>")
        for name in signer_for(organization.kind)(body, "-", delivery.created_at)
    }
    attempts = [
        AttemptRow(a.at, a.status_code, a.error, a.duration_ms)
        for a in await session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery.id)
            .order_by(DeliveryAttempt.at, DeliveryAttempt.id)
        )
    ]
    if subscription.disabled_at is not None:
        subscription_state = "disabled"
    else:
        subscription_state = "active" if subscription.active else "inactive"
    return DeliveryDetail(
        id=delivery.id,
        state=delivery.state,
        organization_id=organization.id,
        organization=organization.title,
        event_id=event.id,
        event=event.event,
        order_id=event.order_id,
        url=subscription.url,
        body=json.dumps(json.loads(body), ensure_ascii=False, indent=2),
        headers=request_headers(organization.kind, event.id, delivery.id, signature),
        attempts=delivery.attempts,
        attempt_log=attempts,
        next_attempt_at=delivery.next_attempt_at if delivery.state == "pending" else None,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
        subscription_state=subscription_state,
        replayed_by=delivery.replayed_by,
        replayed_at=delivery.replayed_at,
    )
