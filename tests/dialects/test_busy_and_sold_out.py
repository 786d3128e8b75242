"""Busy mode and sold-out products as each dialect answers them.

A paused location refuses new orders (partner: 422 ``unavailable`` on
``partner_details.store_id``; restaurant: ``VALIDATION_ERROR`` naming ``subrestaurant_uid``, as
for a time outside opening hours) until the pause runs out by the clock or is resumed; a product
sold out at a location is refused there like an unavailable one (partner: 422 ``unavailable`` on
the item; restaurant: ``PRODUCT_NOT_AVAILABLE``). Other locations and products are untouched.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from tests.conftest import FakeClock
from tests.dialects.partner.orders_support import error_body, local_day, ok_data
from tests.dialects.restaurant.order_support import (
    NOW,
    create,
    create_ok,
    failed,
    line,
    margherita,
    pickup_body,
    restaurant,
)
from tests.factories import PartnerSetup, RestaurantSetup, login, make_partner, order_body

from orderdesk.core.catalog import sold_out
from orderdesk.core.catalog.models import Product
from orderdesk.core.organizations import busy
from orderdesk.core.organizations.models import Location
from orderdesk.http.state import AppState

OPERATOR = "operator:test@example.com"
LATER = "2031-03-10 13:00:00"  # a pickup time still bookable when the tests move the clock


@pytest.fixture(autouse=True)
def _fixed_now(clock: FakeClock) -> None:
    clock.set(NOW)


async def _location_id(state: AppState, key: str) -> int:
    async with state.sessions() as session:
        found = await session.scalar(select(Location.id).where(Location.key == key))
    assert found is not None
    return found


async def _product_id(state: AppState, *, uid: str | None = None, item: int | None = None) -> int:
    wanted = Product.uid == uid if uid is not None else Product.item_id == item
    async with state.sessions() as session:
        found = await session.scalar(select(Product.id).where(wanted))
    assert found is not None
    return found


async def _pause(state: AppState, key: str, minutes: int | None) -> None:
    location_id = await _location_id(state, key)
    async with state.transaction() as session:
        await busy.pause_location(
            session, location_id, minutes=minutes, actor=OPERATOR, now=state.now()
        )


async def _resume(state: AppState, key: str) -> None:
    location_id = await _location_id(state, key)
    async with state.transaction() as session:
        await busy.resume_location(session, location_id, actor=OPERATOR, now=state.now())


async def _snooze(state: AppState, product_id: int, key: str, until: datetime | None) -> None:
    location_id = await _location_id(state, key)
    async with state.transaction() as session:
        await sold_out.mark_sold_out(
            session, product_id, location_id, until=until, actor=OPERATOR, now=state.now()
        )


def _partner_order(partner: PartnerSetup, now: datetime, store: int = 0, **extra: Any) -> Any:
    body = order_body(partner, [(local_day(now, 3), "1217")])
    body["partner_details"]["store_id"] = partner.stores[store]
    body["partner_details"].update(extra)
    return body


async def _partner_create(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    return await client.post("/partner/order/create", json=body, headers=headers)


def _restaurant_order(r: RestaurantSetup, location: int = 0) -> Any:
    return pickup_body(r, when=LATER, location=location, details=[line(r, "acqua")])


# --------------------------------------------------------------------------------------------
# Busy mode


async def test_a_paused_store_refuses_partner_orders_until_the_pause_runs_out(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    partner = await make_partner(state, stores=2)
    headers = await login(client, partner)
    await _pause(state, partner.stores[0], 30)

    body = error_body(await _partner_create(client, headers, _partner_order(partner, NOW)), 422)
    assert body["data"] == [
        {
            "type": "unavailable",
            "field": "partner_details.store_id",
            "message": "the location is not taking orders until 11:37 (Europe/Riga)",
        }
    ]
    ok_data(await _partner_create(client, headers, _partner_order(partner, NOW, store=1)))

    clock.advance(minutes=29)
    error_body(await _partner_create(client, headers, _partner_order(partner, clock())), 422)
    clock.advance(minutes=1)
    ok_data(await _partner_create(client, headers, _partner_order(partner, clock())))


async def test_a_resumed_store_takes_partner_orders_again(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    await _pause(state, partner.stores[0], None)
    body = error_body(await _partner_create(client, headers, _partner_order(partner, NOW)), 422)
    assert "until it is resumed" in body["data"][0]["message"]

    await _resume(state, partner.stores[0])
    ok_data(await _partner_create(client, headers, _partner_order(partner, NOW)))


async def test_a_paused_subrestaurant_refuses_orders_until_the_pause_runs_out(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await restaurant(state)
    await _pause(state, r.locations[0], 45)

    message = failed(
        await create(client, r, _restaurant_order(r)), "VALIDATION_ERROR", "subrestaurant_uid"
    )
    # 09:07:30 UTC + 45 minutes is 10:52 in Milano (CET).
    assert "not taking orders until 10:52 (Europe/Rome)" in message
    await create_ok(client, r, _restaurant_order(r, location=1))

    clock.advance(minutes=45)
    await create_ok(client, r, _restaurant_order(r))


async def test_a_resumed_subrestaurant_takes_orders_again(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    await _pause(state, r.locations[0], None)
    failed(await create(client, r, _restaurant_order(r)), "VALIDATION_ERROR", "subrestaurant_uid")
    await _resume(state, r.locations[0])
    await create_ok(client, r, _restaurant_order(r))


# --------------------------------------------------------------------------------------------
# Sold out


async def test_a_sold_out_item_is_refused_at_its_store_only_until_its_end(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    partner = await make_partner(state, stores=2)
    headers = await login(client, partner)
    snoozed, other = partner.items
    await _snooze(
        state, await _product_id(state, item=snoozed), partner.stores[0], NOW + timedelta(hours=2)
    )

    body = error_body(await _partner_create(client, headers, _partner_order(partner, NOW)), 422)
    assert body["data"] == [
        {
            "type": "unavailable",
            "field": "partner_details.items.0.id",
            "message": f"item {snoozed} is sold out at this location",
        }
    ]
    ok_data(await _partner_create(client, headers, _partner_order(partner, NOW, store=1)))
    other_line = [{"id": other, "count": 1, "delivery": True}]
    ok_data(await _partner_create(client, headers, _partner_order(partner, NOW, items=other_line)))

    clock.advance(hours=2)
    ok_data(await _partner_create(client, headers, _partner_order(partner, clock())))


async def test_a_sold_out_product_is_refused_at_its_subrestaurant_until_switched_back(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    acqua = await _product_id(state, uid=f"{r.uid}-acqua")
    await _snooze(state, acqua, r.locations[0], None)

    message = failed(
        await create(client, r, _restaurant_order(r)), "PRODUCT_NOT_AVAILABLE", "details.0.product"
    )
    assert "sold out" in message
    await create_ok(client, r, _restaurant_order(r, location=1))
    await create_ok(client, r, pickup_body(r, when=LATER, details=[margherita(r, 1)]))

    location_id = await _location_id(state, r.locations[0])
    async with state.transaction() as session:
        assert await sold_out.mark_available(session, acqua, location_id) is True
    await create_ok(client, r, _restaurant_order(r))


async def test_quotes_at_a_paused_location_are_refused_like_orders(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    r = await restaurant(state)
    await _pause(state, partner.stores[0], 10)
    await _pause(state, r.locations[0], 10)

    quoted = await client.post(
        "/partner/order/quote", json=_partner_order(partner, NOW), headers=headers
    )
    assert error_body(quoted, 422)["data"][0]["field"] == "partner_details.store_id"
    quoted = await client.post(
        "/api/order/quote", json=_restaurant_order(r), headers=r.client_headers
    )
    failed(quoted, "VALIDATION_ERROR", "subrestaurant_uid")
