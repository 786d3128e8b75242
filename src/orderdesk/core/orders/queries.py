"""Reading orders: one organization's orders only, with everything a dialect renders, in a
fixed few queries however many orders a page holds."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from orderdesk.core.attachments.models import Image
from orderdesk.core.catalog.search import fold
from orderdesk.core.errors import NotFound
from orderdesk.core.orders import lifecycle
from orderdesk.core.orders.models import Order, OrderCount
from orderdesk.core.orders.schemas import OrderFilter, OrderView
from orderdesk.core.organizations.models import Location, Organization
from orderdesk.core.organizations.service import Principal
from orderdesk.db.cache import cached


def scoped(principal: Principal) -> Select[Order]:
    return (
        select(Order)
        .where(Order.organization_id == principal.organization_id)
        .options(selectinload(Order.lines))
    )


async def views_for(session: AsyncSession, orders: Sequence[Order]) -> list[OrderView]:
    """Views of orders of any organizations (lines must be loaded)."""
    if not orders:
        return []
    location_ids = {o.location_id for o in orders}
    locations = {
        loc.id: loc
        for loc in await session.scalars(select(Location).where(Location.id.in_(location_ids)))
    }
    org_ids = {o.organization_id for o in orders}
    orgs = {
        oid: (key, kind)
        for oid, key, kind in await session.execute(
            select(Organization.id, Organization.key, Organization.kind).where(
                Organization.id.in_(org_ids)
            )
        )
    }
    images: dict[int, list[str]] = {o.id: [] for o in orders}
    rows = await session.execute(
        select(Image.order_id, Image.id)
        .where(Image.order_id.in_(images.keys()))
        .order_by(Image.created_at, Image.id)
    )
    for order_id, image_id in rows:
        if order_id is not None:
            images[order_id].append(image_id)
    return [
        OrderView(
            o,
            orgs[o.organization_id][0],
            orgs[o.organization_id][1],
            locations[o.location_id],
            images[o.id],
        )
        for o in orders
    ]


async def _one(
    session: AsyncSession, stmt: Select[Order], *, for_update: bool, missing: str
) -> OrderView:
    if for_update:
        stmt = stmt.with_for_update(of=Order)
    order = await session.scalar(stmt)
    if order is None:
        raise NotFound(missing)
    return (await views_for(session, [order]))[0]


async def get_order(
    session: AsyncSession, principal: Principal, order_id: int, *, for_update: bool = False
) -> OrderView:
    """One of the principal's orders; another organization's order is indistinguishable from
    a missing one."""
    return await _one(
        session,
        scoped(principal).where(Order.id == order_id),
        for_update=for_update,
        missing=f"order {order_id} not found",
    )


async def get_order_by_uid(
    session: AsyncSession, principal: Principal, uid: str, *, for_update: bool = False
) -> OrderView:
    return await _one(
        session,
        scoped(principal).where(Order.uid == uid),
        for_update=for_update,
        missing=f"uid: order {uid} not found",
    )


def substatuses_matching(names: Sequence[str]) -> list[str]:
    """Every substatus that a filter by status or substatus ``names`` matches.

    An order's status is a function of its substatus (``lifecycle.STATUS_OF``), so "status is
    one of, or substatus is one of" is one condition on the substatus column, which one index
    serves; the ``OR`` of two columns could only be filtered row by row.
    """
    wanted = set(names)
    return sorted(
        sub for sub, status in lifecycle.STATUS_OF.items() if sub in wanted or status in wanted
    )


async def location_ids(session: AsyncSession, organization_id: int) -> dict[str, int]:
    """The organization's location ids by key (cached per worker)."""

    async def load() -> dict[str, int]:
        rows = await session.execute(
            select(Location.key, Location.id).where(Location.organization_id == organization_id)
        )
        return {key: location_id for key, location_id in rows}

    return await cached(session, ("location-ids", organization_id), load)


async def list_orders(
    session: AsyncSession, principal: Principal, flt: OrderFilter, *, limit: int, skip: int
) -> list[OrderView]:
    """Newest first. ``query`` words must each occur in the title, customer name or phone."""
    stmt = scoped(principal)
    if flt.location_keys:
        # Ids, not a subquery: with the ids in the statement the planner knows how many orders
        # each store has; behind a subquery it guessed, and walked every order of the
        # organization when the store had few.
        ids = await location_ids(session, principal.organization_id)
        stmt = stmt.where(
            Order.location_id.in_(sorted({ids[key] for key in flt.location_keys if key in ids}))
        )
    if flt.statuses:
        stmt = stmt.where(Order.substatus.in_(substatuses_matching(flt.statuses)))
    if flt.query:
        words = fold(flt.query).split()[:8]
        if words:
            stmt = stmt.where(
                and_(*(Order.search_text.contains(w, autoescape=True) for w in words))
            )
    orders = list(await session.scalars(stmt.order_by(Order.id.desc()).limit(limit).offset(skip)))
    return await views_for(session, orders)


async def page_orders(
    session: AsyncSession, principal: Principal, *, page: int, pagesize: int
) -> tuple[list[OrderView], int]:
    """Page ``page`` (from 1) of the principal's orders, newest first, and the total count."""
    total = (
        await session.scalar(
            select(func.sum(OrderCount.orders)).where(
                OrderCount.organization_id == principal.organization_id
            )
        )
        or 0
    )
    orders = list(
        await session.scalars(
            scoped(principal)
            .order_by(Order.id.desc())
            .limit(pagesize)
            .offset((page - 1) * pagesize)
        )
    )
    return await views_for(session, orders), int(total)
