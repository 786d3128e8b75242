from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orderdesk.db.base import Base, Timestamped

_COUNTING = (
    "substatus = 'awaiting_confirmation' AND confirmed_at IS NULL AND timed_out_at IS NULL "
    "AND countdown_ends_at IS NOT NULL"
)


class Order(Timestamped, Base):
    """An accepted order. Written in one transaction with its lines, booking and event.

    ``id`` is the partner dialect's sequential ``_id``; ``uid`` the opaque public id; ``number``
    the per-organization sequence; ``token`` the secret that lets its holder confirm or track it.
    ``search_text`` (folded title, customer name and phone) backs the order-list query filter.
    """

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("organization_id", "number"),
        Index("ix_orders_org_created", "organization_id", "id"),
        # The order list's store + status filter, newest first (statuses are matched through
        # the substatuses they contain, see queries.list_orders).
        Index(
            "ix_orders_org_location_substatus", "organization_id", "location_id", "substatus", "id"
        ),
        # The console's board across organizations (see core.orders.board), newest first.
        Index("ix_orders_location_created", "location_id", "id"),
        Index("ix_orders_substatus_created", "substatus", "id"),
        Index("ix_orders_created_at", "created_at"),
        Index(
            "ix_orders_booked_day",
            "booked_day",
            postgresql_where=text("booked_day IS NOT NULL"),
            sqlite_where=text("booked_day IS NOT NULL"),
        ),
        Index(
            "ix_orders_scheduled_at",
            "scheduled_at",
            postgresql_where=text("scheduled_at IS NOT NULL"),
            sqlite_where=text("scheduled_at IS NOT NULL"),
        ),
        # The orders still waiting for their confirmation, by when their countdown ends: only
        # these, so that confirmed, timed out and cancelled ones leave the index (migration 0008
        # added the substatus: cancelled orders used to stay in it and be found again forever).
        Index(
            "ix_orders_countdown",
            "countdown_ends_at",
            postgresql_where=text(_COUNTING),
            sqlite_where=text(_COUNTING),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    token: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(30))
    substatus: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(400))
    customer: Mapped[dict[str, Any]]
    address: Mapped[dict[str, Any] | None]
    payment_method: Mapped[str] = mapped_column(String(30))
    ready: Mapped[bool]  # partner "instock": the goods are there, a master can be booked
    preferences: Mapped[list[Any]]  # [{"date": "YYYY-MM-DD", "slot": "0712"}, ...]
    booked_day: Mapped[date | None]
    booked_slot: Mapped[str | None] = mapped_column(String(10))
    subtotal: Mapped[int]
    delivery_fee: Mapped[int] = mapped_column(default=0)
    discount: Mapped[int] = mapped_column(default=0)
    total: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    fulfilment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")
    # When the customer wants it (restaurant pickup / delivery time), in UTC.
    scheduled_at: Mapped[datetime | None]
    coupon_code: Mapped[str | None] = mapped_column(String(100))
    paid: Mapped[bool] = mapped_column(default=False)
    # Confirmation countdown (restaurant orders created by customers).
    countdown_started_at: Mapped[datetime | None]
    countdown_ends_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    timed_out_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    # Optimistic concurrency: every change made through the ORM adds one (SQLAlchemy's version
    # counter, which also puts ``WHERE version = <read>`` on the UPDATE); the console sends the
    # version it showed, and an action against an older one is refused instead of overwriting.
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    lines: Mapped[list[OrderLine]] = relationship(
        lazy="raise", order_by="OrderLine.position", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    name: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int]
    unit_price: Mapped[int]
    options_price: Mapped[int] = mapped_column(default=0)  # per unit, may be negative
    notes: Mapped[str] = mapped_column(Text, default="")
    # The product as it was when ordered (uid, category, ext_id...): menus change, orders don't.
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    services: Mapped[list[Any]] = mapped_column(default=list)  # [{"name", "price"}]
    options: Mapped[list[Any]] = mapped_column(default=list)
    total: Mapped[int]


class OrderEvent(Base):
    """Every change of an order: who, when, from, to. Never updated, never deleted."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(30))
    from_substatus: Mapped[str | None] = mapped_column(String(40))
    to_status: Mapped[str] = mapped_column(String(30))
    to_substatus: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


ORDER_COUNT_SHARDS = 64


class OrderCount(Base):
    """How many orders an organization has, kept in shards so that counting is not a hot row.

    The restaurant order list answers with its total; counting an organization's orders row by
    row costs as much as it has orders (tens of milliseconds at a few hundred thousand). Each
    accepted order adds one to one shard, chosen by the database connection that writes it
    (``pg_backend_pid() % SHARDS``): a connection writes one order at a time, so concurrent
    orders almost never wait for each other's shard, and the total is the sum of at most
    ``SHARDS`` rows. Orders are never deleted, so counts only grow.
    """

    __tablename__ = "order_counts"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    shard: Mapped[int] = mapped_column(primary_key=True)
    orders: Mapped[int]
