"""What an operator may see: the organizations and locations the console lists for them.

Staff see their own organization only; dispatchers and admins see every one
(:meth:`OperatorView.sees`). Pages pick from these lists, and every action checks the same
rule again on the location or organization it is given, so a hand-made request for another
organization's location is answered like a missing page.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.operators.service import OperatorView
from orderdesk.core.organizations.models import Location, Organization


@dataclass(frozen=True, slots=True)
class VisibleLocation:
    """A location with the organization it belongs to (``kind``: partner | restaurant)."""

    location: Location
    organization: Organization

    @property
    def kind(self) -> str:
        return self.organization.kind

    @property
    def label(self) -> str:
        return f"{self.organization.title} · {self.location.title}"


async def visible_organizations(session: AsyncSession, viewer: OperatorView) -> list[Organization]:
    """The organizations ``viewer`` sees, by kind and title."""
    query = select(Organization).order_by(Organization.kind, Organization.title, Organization.id)
    if viewer.organization_id is not None:
        query = query.where(Organization.id == viewer.organization_id)
    return list(await session.scalars(query))


async def visible_locations(
    session: AsyncSession, viewer: OperatorView, *, kind: str | None = None
) -> list[VisibleLocation]:
    """The locations ``viewer`` sees (only ``kind``'s organizations when given), ordered by
    organization and title."""
    query = (
        select(Location, Organization)
        .join(Organization, Organization.id == Location.organization_id)
        .order_by(Organization.title, Organization.id, Location.title, Location.id)
    )
    if viewer.organization_id is not None:
        query = query.where(Organization.id == viewer.organization_id)
    if kind is not None:
        query = query.where(Organization.kind == kind)
    return [VisibleLocation(loc, org) for loc, org in await session.execute(query)]


async def visible_location(
    session: AsyncSession, viewer: OperatorView, location_id: int
) -> VisibleLocation | None:
    """The location if it exists and ``viewer`` sees it; ``None`` otherwise (the console
    answers both the same way)."""
    row = (
        await session.execute(
            select(Location, Organization)
            .join(Organization, Organization.id == Location.organization_id)
            .where(Location.id == location_id)
        )
    ).first()
    if row is None or not viewer.sees(row[1].id):
        return None
    return VisibleLocation(row[0], row[1])
