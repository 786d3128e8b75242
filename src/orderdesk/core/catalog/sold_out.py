"""Sold out ("snoozed") per product and location, switched by operators many times a day.

A row of ``sold_out`` makes one location refuse order lines of one product (a restaurant
product or a partner item) exactly as if the product were unavailable (reason
``product_unavailable``), until ``until`` passes, or until switched back when ``until`` is NULL.
Nothing has to run when a snooze runs out: every reader compares ``until`` with its clock.

Order checks read a location's snoozes through :func:`snoozed_at`, cached per location on
PostgreSQL workers (``sold_out`` notifies the caches like every configuration table), so a
warm worker checks them without a query. A row that has run out can only stay run out, so what
is cached never turns wrong with time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.catalog.models import Product, SoldOut
from orderdesk.core.errors import FieldError, NotFound, ValidationFailed
from orderdesk.core.organizations.models import Location
from orderdesk.db.cache import cached


def _counts(until: datetime | None, now: datetime) -> bool:
    return until is None or until > now


async def mark_sold_out(
    session: AsyncSession,
    product_id: int,
    location_id: int,
    *,
    until: datetime | None,
    actor: str,
    now: datetime,
) -> SoldOut:
    """Refuse the product at the location until ``until`` (``None``: until switched back).

    Marking again replaces the end and the actor but keeps ``since`` while the earlier snooze
    still counts, so a page can say how long it has been sold out. The product must be one the
    location's organization can sell (its own, or a marketplace item for a partner's store).
    """
    if until is not None and until <= now:
        raise ValidationFailed(errors=[FieldError("until", "min", "must be in the future")])
    product = await session.get(Product, product_id)
    location = await session.get(Location, location_id)
    if product is None:
        raise NotFound(f"product {product_id} does not exist")
    if location is None:
        raise NotFound(f"location {location_id} does not exist")
    if product.organization_id not in (None, location.organization_id):
        raise NotFound(f"product {product_id} is not sold at location {location.key}")
    row = await session.get(SoldOut, (product_id, location_id))
    if row is None:
        row = SoldOut(
            product_id=product_id, location_id=location_id, since=now, until=until, actor=actor
        )
        session.add(row)
    else:
        if not _counts(row.until, now):
            row.since = now
        row.until = until
        row.actor = actor
    await session.flush()
    return row


async def mark_available(session: AsyncSession, product_id: int, location_id: int) -> bool:
    """Switch the product back on at the location; whether it was marked sold out there."""
    result = await session.execute(
        delete(SoldOut).where(SoldOut.product_id == product_id, SoldOut.location_id == location_id)
    )
    return bool(getattr(result, "rowcount", 0))


async def sold_out_products(
    session: AsyncSession, location_id: int, now: datetime
) -> dict[int, datetime | None]:
    """Product id → end of its snooze (``None``: until switched back), for every product sold
    out at the location at ``now``. Read afresh, for pages that have just switched one."""
    rows = await session.execute(
        select(SoldOut.product_id, SoldOut.until).where(
            SoldOut.location_id == location_id,
            or_(SoldOut.until.is_(None), SoldOut.until > now),
        )
    )
    return {product_id: until for product_id, until in rows}


async def snoozed_at(
    session: AsyncSession, location_id: int, now: datetime
) -> dict[int, datetime | None]:
    """:func:`sold_out_products` for order checks: cached per location where workers cache
    configuration. Compare each end with the clock again: a cached snooze may have run out."""
    found = await cached(
        session, ("sold-out", location_id), lambda: sold_out_products(session, location_id, now)
    )
    return {product_id: until for product_id, until in found.items() if _counts(until, now)}


def is_sold_out(snoozed: dict[int, datetime | None], product_id: int, now: datetime) -> bool:
    """Whether ``product_id`` is refused by the snoozes ``snoozed`` (from :func:`snoozed_at`)."""
    return product_id in snoozed and _counts(snoozed[product_id], now)
