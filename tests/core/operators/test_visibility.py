"""What the console lists for an operator: staff their own organization's locations only,
dispatchers and admins every one; a location of another organization is not found for staff."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from tests.factories import make_partner, make_restaurant

from orderdesk.core.operators.service import OperatorView
from orderdesk.core.operators.visibility import (
    visible_location,
    visible_locations,
    visible_organizations,
)
from orderdesk.core.organizations.models import Location, Organization
from orderdesk.http.state import AppState


def _viewer(role: str, organization_id: int | None) -> OperatorView:
    return OperatorView(1, f"{secrets.token_hex(3)}@example.com", "Viewer", role, organization_id)


async def test_staff_see_their_organization_only(state: AppState) -> None:
    partner = await make_partner(state, stores=2)
    r = await make_restaurant(state)
    async with state.reads() as session:
        partner_id = await session.scalar(
            select(Organization.id).where(Organization.key == partner.name)
        )
        other = await session.scalar(select(Location.id).where(Location.key == r.locations[0]))
        assert partner_id is not None and other is not None
        staff = _viewer("staff", partner_id)
        keys = [v.location.key for v in await visible_locations(session, staff)]
        assert keys == sorted(partner.stores)
        assert [o.id for o in await visible_organizations(session, staff)] == [partner_id]
        assert await visible_location(session, staff, other) is None
        assert await visible_location(session, staff, 10**9) is None

        dispatcher = _viewer("dispatcher", None)
        everything = {v.location.key for v in await visible_locations(session, dispatcher)}
        assert set(partner.stores) | set(r.locations) <= everything
        restaurants = await visible_locations(session, dispatcher, kind="restaurant")
        assert {v.kind for v in restaurants} == {"restaurant"}
        found = await visible_location(session, dispatcher, other)
        assert found is not None and found.organization.key == r.uid
