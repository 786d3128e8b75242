from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orderdesk.db.base import Base, Timestamped


class Category(Timestamped, Base):
    """A group of products. ``organization_id`` is NULL for the marketplace-wide catalog."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("organization_id", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    uid: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    hidden: Mapped[bool] = mapped_column(default=False)


class Product(Timestamped, Base):
    """Something that can be put on an order line.

    ``price`` is the unit price in minor units; ``services`` prices optional services that can be
    ordered with the product (partner items: ``{"delivery": 2500, "assembly": 6900}``), so the one
    pricing routine handles both dialects. ``search_text`` is the accent-folded, lower-cased name
    that the full-text index covers.
    """

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("organization_id", "uid"),
        Index("ix_products_org_id", "organization_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    uid: Mapped[str] = mapped_column(String(100))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    price: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3))
    services: Mapped[dict[str, Any]] = mapped_column(default=dict)
    hidden: Mapped[bool] = mapped_column(default=False)
    available: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
    search_text: Mapped[str] = mapped_column(String(600), default="")
