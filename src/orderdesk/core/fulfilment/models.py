from __future__ import annotations

from sqlalchemy import Float, String
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
