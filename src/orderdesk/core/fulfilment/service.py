"""Where an address is, and which location delivers there at what fee.

:func:`locate_address` turns what a customer typed into a :class:`Place` (gazetteer first, then
the configured geocoder); :func:`resolve_place` finds the organization's first delivery zone that
contains it. Both only read, except that a geocoded address is remembered as a place (flushed,
committed by the caller's transaction). Nothing here raises for "not found" or "not served":
``None`` lets each dialect answer in its own terms (``INVALID_ADDRESS``); only an unreachable
geocoder raises (:class:`~orderdesk.core.fulfilment.geocoder.GeocoderUnavailable`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.fulfilment.gazetteer import (
    display_number,
    find_place,
    house_number_near,
    normalise_number,
    structured_text,
)
from orderdesk.core.fulfilment.geocoder import HttpGeocoder, remember
from orderdesk.core.fulfilment.models import DeliveryZone, Place
from orderdesk.core.fulfilment.zones import ZoneRule, first_matching_zone, haversine_km
from orderdesk.core.organizations.models import Location
from orderdesk.db.cache import cached


@dataclass
class ResolvedAddress:
    """A place an organization delivers to: who serves it, from how far, for what fee.

    ``kms`` is the straight-line distance from the serving location, rounded to 2 decimals;
    ``0.0`` when the location's position is not configured (polygon zones still work then).
    ``fee`` and ``order_min`` are minor units.
    """

    place: Place
    location_id: int
    location_key: str
    zone_name: str
    kms: float
    fee: int
    order_min: int


def location_position(settings: Mapping[str, Any]) -> tuple[float, float] | None:
    """A location's ``(lat, lng)`` from its settings, ``None`` when absent or not a position."""
    lat, lng = settings.get("lat"), settings.get("lng")
    if isinstance(lat, bool) or isinstance(lng, bool):
        return None
    try:
        position = (float(settings["lat"]), float(settings["lng"]))
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in position):
        return None
    if not (-90 <= position[0] <= 90 and -180 <= position[1] <= 180):
        return None
    return position


def _polygon(raw: Any) -> list[tuple[float, float]] | None:
    if not isinstance(raw, list):
        return None
    try:
        return [(float(point[0]), float(point[1])) for point in raw]
    except (TypeError, ValueError, IndexError):
        return []


async def zone_rules(
    session: AsyncSession, organization_id: int, *, location_key: str | None = None
) -> list[ZoneRule]:
    """The organization's delivery zones in matching order (``position``, then creation).

    With ``location_key`` only that location's zones. One query; each rule carries its
    location's position as ``center``. A malformed stored polygon yields a rule that never
    matches rather than an error for every address.
    """
    stmt = (
        select(
            DeliveryZone.id,
            DeliveryZone.name,
            DeliveryZone.location_id,
            DeliveryZone.fee,
            DeliveryZone.order_min,
            DeliveryZone.polygon,
            DeliveryZone.radius_km,
            Location.key,
            Location.settings,
        )
        .join(Location, Location.id == DeliveryZone.location_id)
        .where(DeliveryZone.organization_id == organization_id)
        .order_by(DeliveryZone.position, DeliveryZone.id)
    )
    if location_key is not None:
        stmt = stmt.where(Location.key == location_key)
    rows = await session.execute(stmt)
    return [
        ZoneRule(
            zone_id=row.id,
            name=row.name,
            location_id=row.location_id,
            fee=row.fee,
            order_min=row.order_min,
            polygon=_polygon(row.polygon),
            radius_km=row.radius_km if row.polygon is None else None,
            center=location_position(row.settings or {}),
            location_key=row.key,
        )
        for row in rows
    ]


async def resolve_place(
    session: AsyncSession,
    organization_id: int,
    place: Place,
    *,
    location_key: str | None = None,
) -> ResolvedAddress | None:
    """Who delivers to ``place``: the first of the organization's zones that contains it.

    ``location_key`` restricts the choice to that location's zones (the client picked a
    sub-location); ``None`` when no zone contains the place.
    """
    rules = await cached(
        session,
        ("zones", organization_id, location_key),
        lambda: zone_rules(session, organization_id, location_key=location_key),
    )
    rule = first_matching_zone(rules, place.lat, place.lng)
    if rule is None:
        return None
    kms = 0.0
    if rule.center is not None:
        kms = round(haversine_km(rule.center[0], rule.center[1], place.lat, place.lng), 2)
    return ResolvedAddress(
        place=place,
        location_id=rule.location_id,
        location_key=rule.location_key,
        zone_name=rule.name,
        kms=kms,
        fee=rule.fee,
        order_min=rule.order_min,
    )


async def _delivery_countries(session: AsyncSession, organization_id: int) -> list[str]:
    settings = await session.scalars(
        select(Location.settings).where(Location.organization_id == organization_id)
    )
    found = {str(s.get("country", "")).upper() for s in settings if s}
    return sorted(code for code in found if len(code) == 2 and code.isalpha())


async def locate_address(
    session: AsyncSession,
    organization_id: int,
    *,
    geocoder: HttpGeocoder | None,
    text: str | None = None,
    street: str | None = None,
    number: str | None = None,
    city: str | None = None,
    province: str | None = None,
    zip: str | None = None,
    country: str | None = None,
    language: str | None = None,
) -> Place | None:
    """The place for a free-text or structured address, or ``None`` when it cannot be found.

    The gazetteer answers first (no network, and it holds every address geocoded before).
    Otherwise the geocoder, when configured, is asked, restricted to ``country`` or else to
    the countries of the organization's locations, and its result is remembered as a place.
    When the geocoder knows the street but not the house number, the customer's number is kept
    on the place (its point is then the street's): refusing would turn away real addresses
    that map data merely lacks.
    """
    found = await find_place(
        session,
        text=text,
        street=street,
        number=number,
        city=city,
        province=province,
        zip=zip,
        country=country,
    )
    if found is not None or geocoder is None:
        return found
    query = text if text and text.strip() else structured_text(street, number, city, province, zip)
    if not query.strip():
        return None
    countries = (
        [country.upper()] if country else await _delivery_countries(session, organization_id)
    )
    geo = await geocoder.geocode(query, language=language, countries=countries)
    if geo is None:
        return None
    if not geo.number:
        given = (
            normalise_number(number)
            if number and not (text and text.strip())
            else house_number_near(query, geo.street)
        )
        geo = replace(geo, number=display_number(given))
    return await remember(session, geo)
