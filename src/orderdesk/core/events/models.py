from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orderdesk.db.base import Base


class OutboxEvent(Base):
    """An event to publish, written in the same transaction as the change it describes.

    If the order is committed its event is too, and the other way round; a dispatcher delivers
    pending events to the organization's subscribers at least once, in ``id`` order per order.
    """

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_pending", "published_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    event: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One event on its way to one subscriber: retried with backoff until delivered or dead.

    Deliveries of one order to one subscriber go out strictly in event order: a delivery is only
    attempted while no earlier delivery of the same ``ordering_key`` is still undelivered.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id"),
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_ordering", "ordering_key", "id"),
        Index("ix_webhook_deliveries_subscription", "subscription_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    ordering_key: Mapped[str] = mapped_column(String(100))  # subscription + order
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending|delivered|dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    # The last replay: who asked for it (an operator, or the command line) and when.
    replayed_by: Mapped[str | None] = mapped_column(String(200))
    replayed_at: Mapped[datetime | None]


class DeliveryAttempt(Base):
    """The delivery log: every attempt, its answer and how long it took."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(1000))
    duration_ms: Mapped[int]
