"""The products a location sells, as the console lists them to switch sold out: its
restaurant's products (not those limited to another location, not hidden ones), the
marketplace items at a partner store, found by name, sold out ones first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from tests.dialects.restaurant.order_support import restaurant
from tests.factories import make_partner

from orderdesk.core.catalog import sold_out
from orderdesk.core.catalog.at_location import products_at
from orderdesk.core.catalog.models import Product
from orderdesk.core.organizations.models import Location
from orderdesk.http.state import AppState

NOW = datetime(2031, 3, 10, 9, 0, tzinfo=UTC)
ACTOR = "operator:ops@example.com"


async def _location(state: AppState, key: str) -> Location:
    async with state.reads() as session:
        found = await session.scalar(select(Location).where(Location.key == key))
    assert found is not None
    return found


async def _uids(state: AppState, location: Location, kind: str, search: str = "") -> list[str]:
    async with state.reads() as session:
        found = await products_at(session, location, kind=kind, now=NOW, search=search)
        ids = [p.id for p in found]
        uids = {
            p.id: p.uid for p in await session.scalars(select(Product).where(Product.id.in_(ids)))
        }
    return [uids[i] for i in ids]


async def test_a_restaurant_location_lists_what_it_sells_sold_out_first(state: AppState) -> None:
    r = await restaurant(state)
    centro = await _location(state, r.locations[0])
    navigli = await _location(state, r.locations[1])
    listed = await _uids(state, centro, "restaurant")
    assert f"{r.uid}-margherita" in listed and f"{r.uid}-acqua" in listed
    assert f"{r.uid}-navigli-only" not in listed and f"{r.uid}-hidden" not in listed
    assert f"{r.uid}-navigli-only" in await _uids(state, navigli, "restaurant")

    acqua = await _product(state, f"{r.uid}-acqua")
    async with state.transaction() as session:
        await sold_out.mark_sold_out(
            session, acqua, centro.id, until=NOW + timedelta(hours=1), actor=ACTOR, now=NOW
        )
    async with state.reads() as session:
        first = (await products_at(session, centro, kind="restaurant", now=NOW))[0]
    assert (first.id, first.sold_out, first.sold_out_until) == (
        acqua,
        True,
        NOW + timedelta(hours=1),
    )
    # Sold out ones stay listed whatever the search.
    assert await _uids(state, centro, "restaurant", search="zzz-nothing") == [f"{r.uid}-acqua"]


async def test_a_search_by_name_is_case_insensitive_and_literal(state: AppState) -> None:
    r = await restaurant(state)
    centro = await _location(state, r.locations[0])
    async with state.reads() as session:
        name = await session.scalar(
            select(Product.name).where(Product.uid == f"{r.uid}-margherita")
        )
    assert name
    assert await _uids(state, centro, "restaurant", search=name.upper()[1:5]) == [
        f"{r.uid}-margherita"
    ]
    assert await _uids(state, centro, "restaurant", search="%") == []


async def test_a_partner_store_lists_marketplace_items_by_their_number(state: AppState) -> None:
    partner = await make_partner(state)
    store = await _location(state, partner.stores[0])
    async with state.reads() as session:
        found = await products_at(session, store, kind="partner", now=NOW, search="PAX wardrobe")
    assert str(partner.items[0]) in [p.reference for p in found]


async def _product(state: AppState, uid: str) -> int:
    async with state.reads() as session:
        found = await session.scalar(select(Product.id).where(Product.uid == uid))
    assert found is not None
    return found
