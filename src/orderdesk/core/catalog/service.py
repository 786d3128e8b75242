"""Reading the catalog: pages, search results and the products an order names."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.catalog.models import Category, Product
from orderdesk.core.catalog.search import search_product_ids

MAX_PRODUCT_ID = 2**31 - 1


def _scope(organization_id: int | None):  # type: ignore[no-untyped-def]
    if organization_id is None:
        return Product.organization_id.is_(None)
    return Product.organization_id == organization_id


async def list_products(
    session: AsyncSession, *, organization_id: int | None, limit: int, skip: int
) -> list[tuple[Product, str]]:
    """A page of visible products ordered by id, each with its category name."""
    rows = await session.execute(
        select(Product, Category.name)
        .outerjoin(Category, Category.id == Product.category_id)
        .where(_scope(organization_id), Product.hidden.is_(False))
        .order_by(Product.item_id, Product.id)
        .limit(limit)
        .offset(skip)
    )
    return [(p, c or "") for p, c in rows]


async def find_products(
    session: AsyncSession, query: str, *, organization_id: int | None, limit: int
) -> list[tuple[Product, str]]:
    """Products whose name matches every word of ``query`` as a word prefix, best first."""
    ids = await search_product_ids(session, query, organization_id=organization_id, limit=limit)
    if not ids:
        return []
    rows = await session.execute(
        select(Product, Category.name)
        .outerjoin(Category, Category.id == Product.category_id)
        .where(Product.id.in_(ids))
    )
    by_id = {p.id: (p, c or "") for p, c in rows}
    return [by_id[i] for i in ids if i in by_id]
