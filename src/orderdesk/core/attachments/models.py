from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from orderdesk.db.base import Base


class Image(Base):
    """A re-encoded image. ``id`` (24 hex chars, 96 random bits) is also its unguessable URL key.

    ``order_id`` is set once, when an order links it; an image linked to one order can never be
    linked to another (the create-order transaction updates it conditionally).
    """

    __tablename__ = "images"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    storage_key: Mapped[str] = mapped_column(String(200))
    mimetype: Mapped[str] = mapped_column(String(50))
    width: Mapped[int]
    height: Mapped[int]
    size: Mapped[int]
    created_at: Mapped[datetime]
