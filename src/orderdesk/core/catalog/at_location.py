"""The products one location sells, as the console lists them to switch "sold out".

A restaurant location sells its restaurant's products (those listing it in ``location_keys``,
or listing none); a partner store sells the marketplace items (and any product of the partner
itself). Catalogs can be large (bulk imports), so a page shows a bounded, searchable list, with
whatever is sold out there right now always included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.catalog.models import Product
from orderdesk.core.catalog.sold_out import sold_out_products
from orderdesk.core.organizations.models import Location

DEFAULT_LIMIT = 50


@dataclass(frozen=True, slots=True)
class ProductAtLocation:
    id: int
    name: str
    reference: str  # the id clients order by: a partner item number or a restaurant uid
    sold_out: bool
    sold_out_until: datetime | None  # None with sold_out: until switched back


def _sells(product: Product, location: Location) -> bool:
    keys = product.location_keys or []
    return not keys or location.key in keys


async def products_at(
    session: AsyncSession,
    location: Location,
    *,
    kind: str,
    now: datetime,
    search: str = "",
    limit: int = DEFAULT_LIMIT,
) -> list[ProductAtLocation]:
    """Products sold out at ``location`` first, then up to ``limit`` others whose name contains
    ``search`` (case-insensitive), by name. ``kind`` is the organization's (partner |
    restaurant). Hidden products are left out unless sold out."""
    snoozed = await sold_out_products(session, location.id, now)
    owner = (
        or_(Product.organization_id.is_(None), Product.organization_id == location.organization_id)
        if kind == "partner"
        else Product.organization_id == location.organization_id
    )
    query = (
        select(Product).where(owner, Product.hidden.is_(False)).order_by(Product.name, Product.id)
    )
    needle = search.strip().lower()
    if needle:
        escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(Product.name).like(f"%{escaped}%", escape="\\"))
    # Over-fetch a little: products limited to other locations are dropped after reading.
    found = [p for p in await session.scalars(query.limit(limit * 2)) if _sells(p, location)]
    others = [p for p in found if p.id not in snoozed][:limit]
    marked = (
        list(
            await session.scalars(
                select(Product).where(Product.id.in_(list(snoozed))).order_by(Product.name)
            )
        )
        if snoozed
        else []
    )

    def view(p: Product) -> ProductAtLocation:
        reference = str(p.item_id) if p.item_id is not None else p.uid
        return ProductAtLocation(p.id, p.name, reference, p.id in snoozed, snoozed.get(p.id))

    return [view(p) for p in marked] + [view(p) for p in others]
