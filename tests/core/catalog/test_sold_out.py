"""Sold out per product and location: marking, switching back, and snoozes that run out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from tests.dialects.restaurant.order_support import restaurant
from tests.factories import make_partner

from orderdesk.core.catalog import sold_out
from orderdesk.core.catalog.models import Product, SoldOut
from orderdesk.core.errors import NotFound, ValidationFailed
from orderdesk.core.organizations.models import Location
from orderdesk.http.state import AppState

NOW = datetime(2031, 3, 10, 9, 0, tzinfo=UTC)
ACTOR = "operator:ops@example.com"


async def _ids(state: AppState) -> tuple[list[int], list[int]]:
    """Two items and the two stores of a new partner, by id."""
    partner = await make_partner(state, stores=2)
    async with state.sessions() as session:
        items = list(
            await session.scalars(
                select(Product.id).where(Product.item_id.in_(partner.items)).order_by(Product.id)
            )
        )
        stores = list(
            await session.scalars(
                select(Location.id).where(Location.key.in_(partner.stores)).order_by(Location.id)
            )
        )
    return items, stores


async def test_a_snooze_counts_at_its_location_until_its_end(state: AppState) -> None:
    (item, other), (store, elsewhere) = await _ids(state)
    end = NOW + timedelta(hours=1)
    async with state.transaction() as session:
        await sold_out.mark_sold_out(session, item, store, until=end, actor=ACTOR, now=NOW)
    async with state.sessions() as session:
        assert await sold_out.sold_out_products(session, store, NOW) == {item: end}
        assert await sold_out.sold_out_products(session, elsewhere, NOW) == {}
        assert await sold_out.sold_out_products(session, store, end) == {}
        snoozed = await sold_out.snoozed_at(session, store, NOW)
    assert sold_out.is_sold_out(snoozed, item, NOW)
    assert not sold_out.is_sold_out(snoozed, other, NOW)
    assert not sold_out.is_sold_out(snoozed, item, end)


async def test_marking_again_is_an_upsert_that_keeps_since(state: AppState) -> None:
    (item, _), (store, _) = await _ids(state)
    async with state.transaction() as session:
        await sold_out.mark_sold_out(
            session, item, store, until=NOW + timedelta(hours=1), actor=ACTOR, now=NOW
        )
    later = NOW + timedelta(minutes=10)
    async with state.transaction() as session:
        await sold_out.mark_sold_out(session, item, store, until=None, actor="other", now=later)
    async with state.sessions() as session:
        rows = list(await session.scalars(select(SoldOut).where(SoldOut.location_id == store)))
        assert [(r.since, r.until, r.actor) for r in rows] == [(NOW, None, "other")]
        assert await sold_out.sold_out_products(session, store, NOW + timedelta(days=9)) == {
            item: None
        }


async def test_switching_back_says_whether_it_was_sold_out(state: AppState) -> None:
    (item, _), (store, _) = await _ids(state)
    async with state.transaction() as session:
        assert await sold_out.mark_available(session, item, store) is False
        await sold_out.mark_sold_out(session, item, store, until=None, actor=ACTOR, now=NOW)
        assert await sold_out.mark_available(session, item, store) is True
        assert await sold_out.sold_out_products(session, store, NOW) == {}


async def test_an_end_in_the_past_is_refused(state: AppState) -> None:
    (item, _), (store, _) = await _ids(state)
    with pytest.raises(ValidationFailed) as refused:
        async with state.transaction() as session:
            await sold_out.mark_sold_out(session, item, store, until=NOW, actor=ACTOR, now=NOW)
    assert refused.value.errors[0].path == "until"


async def test_another_restaurants_product_cannot_be_marked(state: AppState) -> None:
    _, (store, _) = await _ids(state)
    r = await restaurant(state)
    async with state.sessions() as session:
        product = await session.scalar(select(Product.id).where(Product.uid == f"{r.uid}-acqua"))
    assert product is not None
    with pytest.raises(NotFound):
        async with state.transaction() as session:
            await sold_out.mark_sold_out(session, product, store, until=None, actor=ACTOR, now=NOW)
