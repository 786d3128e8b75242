from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orderdesk.db.base import Base, Timestamped


class Coupon(Timestamped, Base):
    """A discount code. ``quantity`` is how many uses remain (NULL: unlimited); it is taken with
    a conditional ``UPDATE ... WHERE quantity > 0`` in the order's transaction, so concurrent
    orders can never use a coupon more often than it allows."""

    __tablename__ = "coupons"
    __table_args__ = (UniqueConstraint("organization_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    code: Mapped[str] = mapped_column(String(100))
    discount_perc: Mapped[int] = mapped_column(default=0)  # whole percent, 0..100
    discount_amount: Mapped[int] = mapped_column(default=0)  # minor units
    quantity: Mapped[int | None]
    order_min: Mapped[int] = mapped_column(default=0)
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    valid_weekdays: Mapped[list[Any]] = mapped_column(default=list)  # ISO weekdays 1..7; empty=all
    valid_email: Mapped[str | None] = mapped_column(String(320))
    generator_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_generators.id"))


class CouponGenerator(Timestamped, Base):
    """Makes one-off coupons (``POST /api/coupon/generate``), e.g. a birthday discount."""

    __tablename__ = "coupon_generators"
    __table_args__ = (UniqueConstraint("organization_id", "gencode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    gencode: Mapped[str] = mapped_column(String(100))
    discount_perc: Mapped[int] = mapped_column(default=0)
    discount_amount: Mapped[int] = mapped_column(default=0)
    order_min: Mapped[int] = mapped_column(default=0)
    valid_days: Mapped[int] = mapped_column(default=30)


class CouponUse(Base):
    """Which order used which coupon, written with the order."""

    __tablename__ = "coupon_uses"
    __table_args__ = (Index("ix_coupon_uses_coupon", "coupon_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coupon_id: Mapped[int] = mapped_column(ForeignKey("coupons.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    discount: Mapped[int]
    used_at: Mapped[datetime]
