from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orderdesk.db.base import Base, Timestamped


class Category(Timestamped, Base):
    """A group of products. ``organization_id`` is NULL for the marketplace-wide catalog."""

    __tablename__ = "categories"
    __table_args__ = (
        UniqueConstraint("organization_id", "uid"),
        Index("ix_categories_ext_id", "organization_id", "ext_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    uid: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    hidden: Mapped[bool] = mapped_column(default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    image: Mapped[str | None] = mapped_column(String(1000))
    ext_id: Mapped[str | None] = mapped_column(String(100))
    # Keys of the locations that sell it; empty means every location.
    location_keys: Mapped[list[Any]] = mapped_column(default=list)


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
        Index("ix_products_ext_id", "organization_id", "ext_id"),
        Index("uq_products_item_id", "item_id", unique=True),
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
    # The marketplace item number partners order by (their wire ``id``), chosen by the operator;
    # kept apart from the primary key so it never collides with restaurants' products.
    item_id: Mapped[int | None] = mapped_column(BigInteger)
    search_text: Mapped[str] = mapped_column(String(600), default="")
    description: Mapped[str] = mapped_column(Text, default="")  # restaurant "ingredients"
    image: Mapped[str | None] = mapped_column(String(1000))
    ext_id: Mapped[str | None] = mapped_column(String(100))
    # Keys of the locations that sell it; empty means every location.
    location_keys: Mapped[list[Any]] = mapped_column(default=list)


class ProductOption(Timestamped, Base):
    """A choice offered with a product (or with every product of a category).

    Selection rules: at least ``min_selectable`` and at most ``max_selectable`` distinct values,
    each at most ``max_quantity`` times; a ``single`` option allows one value only.
    """

    __tablename__ = "product_options"
    __table_args__ = (
        UniqueConstraint("organization_id", "uid"),
        Index("ix_product_options_product", "product_id", "position"),
        Index("ix_product_options_category", "category_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(String(100))
    ext_id: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(100), default="")
    type: Mapped[str] = mapped_column(String(10), default="multiple")  # "single" | "multiple"
    min_selectable: Mapped[int] = mapped_column(default=0)
    max_selectable: Mapped[int] = mapped_column(default=1)
    max_quantity: Mapped[int] = mapped_column(default=1)
    hidden: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)


class OptionValue(Timestamped, Base):
    """One selectable value; its price applies per unit of quantity with ``price_operator``:
    ``+`` adds, ``-`` subtracts, ``=`` replaces the product's unit price."""

    __tablename__ = "option_values"
    __table_args__ = (
        UniqueConstraint("option_id", "uid"),
        Index("ix_option_values_option", "option_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    option_id: Mapped[int] = mapped_column(ForeignKey("product_options.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(String(100))
    ext_id: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(100), default="")
    price_operator: Mapped[str] = mapped_column(String(1), default="+")
    price_operand: Mapped[int] = mapped_column(default=0)
    hidden: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    checked_default: Mapped[bool] = mapped_column(default=False)


class SoldOut(Base):
    """A product (or partner item) that one location cannot sell for now: sold out, "snoozed".

    ``until`` NULL means until switched back; otherwise the row stops counting at that moment
    and nothing has to run to lift it. Kept apart from :attr:`Product.available` (the menu's own
    flag, the same everywhere) because it is per location and changes many times a day.
    """

    __tablename__ = "sold_out"

    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    location_id: Mapped[int] = mapped_column(
        ForeignKey("locations.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    since: Mapped[datetime]
    until: Mapped[datetime | None]
    actor: Mapped[str] = mapped_column(String(200))
