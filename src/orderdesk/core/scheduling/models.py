from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from orderdesk.db.base import Base


class SlotUsage(Base):
    """How many units of a slot's capacity are taken. Created on first booking.

    Capacity itself is configuration (the location's defaults and :class:`CapacityOverride`),
    passed into the conditional update that takes a unit, so changing the configuration never
    needs to rewrite usage rows.
    """

    __tablename__ = "slot_usage"

    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    slot: Mapped[str] = mapped_column(String(10), primary_key=True)
    used: Mapped[int] = mapped_column(default=0)


class CapacityOverride(Base):
    """Capacity of one location, day and slot that differs from the location's default, and
    who set it last (``operator:<email>``, ``setup``; NULL for rows older than migration 0009)."""

    __tablename__ = "capacity_overrides"

    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    slot: Mapped[str] = mapped_column(String(10), primary_key=True)
    capacity: Mapped[int]
    set_by: Mapped[str | None] = mapped_column(String(200))
    set_at: Mapped[datetime | None]
