from __future__ import annotations

from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orderdesk.db.base import Base, Timestamped


class Place(Timestamped, Base):
    """An address of the built-in gazetteer, addressed by its ``place_id``.

    ``search_text`` is the folded "street number city zip" used for tolerant matching.
    """

    __tablename__ = "places"

    place_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    street: Mapped[str] = mapped_column(String(200))
    number: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100))
    province: Mapped[str] = mapped_column(String(50), default="")
    zip: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(2))
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    search_text: Mapped[str] = mapped_column(String(500), default="", index=True)


class DeliveryZone(Timestamped, Base):
    """An area a location delivers to: a polygon of ``[lat, lng]`` points or a radius around the
    location. Zones are tried in ``position`` order and the first that contains the address
    wins; its fee and minimum order apply."""

    __tablename__ = "delivery_zones"
    __table_args__ = (
        UniqueConstraint("organization_id", "name"),
        Index("ix_delivery_zones_org_position", "organization_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)
    fee: Mapped[int] = mapped_column(default=0)
    order_min: Mapped[int] = mapped_column(default=0)
    polygon: Mapped[list[Any] | None]
    radius_km: Mapped[float | None] = mapped_column(Float)
