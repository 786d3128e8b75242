"""The times a customer may choose at one of an organization's locations, before ordering.

The same location and delivery-zone rules an order is checked with, so a time offered here is
one a create accepts (unless the slot fills up in between): the location is the principal's own
(its only one when none is named), and home delivery needs a place inside that location's zones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.errors import FieldError, ValidationFailed
from orderdesk.core.fulfilment.gazetteer import get_place
from orderdesk.core.fulfilment.service import resolve_place
from orderdesk.core.orders.checks import location_for
from orderdesk.core.orders.schemas import DELIVERY_PLACE, LOCATION
from orderdesk.core.organizations.models import Location
from orderdesk.core.organizations.service import Principal
from orderdesk.core.scheduling import times


@dataclass(frozen=True, slots=True)
class OfferedTimes:
    location: Location
    times: list[datetime]


async def pickup_delivery_times(
    session: AsyncSession,
    principal: Principal,
    location_key: str | None,
    *,
    delivered: bool,
    place_id: str | None,
    now: datetime,
) -> OfferedTimes:
    """The free times from ``now`` on at the location; reads only.

    Raises :class:`ValidationFailed` (core field names) for a missing or unknown location and,
    when ``delivered``, for a missing place or one outside the location's delivery zones.
    """
    location = await location_for(session, principal, location_key)
    if location is None:
        missing = location_key is None
        raise ValidationFailed(
            errors=[
                FieldError(
                    LOCATION,
                    "required" if missing else "not_found",
                    "choose one of the locations" if missing else "location not found",
                    "location_not_found",
                )
            ]
        )
    if delivered:
        if not place_id:
            raise ValidationFailed(
                errors=[FieldError(DELIVERY_PLACE, "required", "is required for home delivery")]
            )
        place = await get_place(session, place_id)
        resolved = (
            await resolve_place(
                session, principal.organization_id, place, location_key=location.key
            )
            if place is not None
            else None
        )
        if resolved is None:
            raise ValidationFailed(
                errors=[
                    FieldError(
                        DELIVERY_PLACE,
                        "not_found",
                        "unknown place or outside every delivery zone of this location",
                        "address_invalid",
                    )
                ]
            )
    return OfferedTimes(location, await times.free_times(session, location, now))
