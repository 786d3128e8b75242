"""Database reads per request do not grow with what the request lists or orders.

Every list endpoint loads its rows and their children (lines, images, options, values) in a fixed
number of queries, and order creation loads every product, option and value of the order at
once: no query per row (the "N+1" pattern). Each test counts the SELECTs the database really
receives for the same request over little and over much data, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from tests.conftest import FakeClock
from tests.dialects.restaurant.order_support import (
    NOW,
    create_ok,
    get_order,
    margherita,
    pickup_body,
    pickup_dates,
    restaurant,
)
from tests.factories import item_doc, login, make_partner, order_body

from orderdesk.http.state import AppState

Request = Callable[[], Awaitable[httpx.Response]]


@contextmanager
def _selects(state: AppState) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(state.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(state.engine.sync_engine, "before_cursor_execute", record)


async def _reads(state: AppState, request: Request) -> tuple[int, httpx.Response]:
    # Cold, as the first request after a configuration change: what is counted is what a
    # request asks the database when nothing is cached (on PostgreSQL workers cache
    # configuration rows; SQLite has no cache).
    state.config_cache.invalidate()
    with _selects(state) as seen:
        response = await request()
    assert response.status_code == 200, response.text
    assert response.json().get("success", True) is True, response.text  # restaurant failures
    return len(seen), response


def _day(offset: int) -> str:
    return (date.today() + timedelta(days=offset)).isoformat()


async def test_partner_order_list_reads_the_same_for_1_and_12_orders(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters={"0712": 20, "1217": 20, "1721": 20})
    headers = await login(client, partner)
    lines = [{"id": item, "count": 1, "delivery": True} for item in partner.items]

    async def create() -> None:
        body = order_body(partner, [(_day(3), "1217")])
        body["partner_details"]["items"] = lines
        response = await client.post("/partner/order/create", json=body, headers=headers)
        assert response.status_code == 200, response.text

    def listing() -> Awaitable[httpx.Response]:
        return client.get("/partner/order/list", params={"limit": 50}, headers=headers)

    await create()
    few, response = await _reads(state, listing)
    assert len(response.json()["data"]) == 1
    for _ in range(11):
        await create()
    many, response = await _reads(state, listing)
    assert len(response.json()["data"]) == 12
    assert many == few


async def test_partner_order_create_reads_the_same_for_1_and_8_lines(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, items=[item_doc(f"KALLAX shelf {n}") for n in range(8)])
    headers = await login(client, partner)

    def create(items: list[int]) -> Request:
        body = order_body(partner, [(_day(4), "0712")])
        body["partner_details"]["items"] = [
            {"id": i, "count": 2, "delivery": True, "assembly": True} for i in items
        ]
        return lambda: client.post("/partner/order/create", json=body, headers=headers)

    one, _ = await _reads(state, create(partner.items[:1]))
    eight, response = await _reads(state, create(partner.items))
    order = await client.get(f"/partner/order/{response.json()['data']['_id']}", headers=headers)
    assert len(order.json()["data"]["items"]) == 8
    assert eight == one


async def test_partner_item_list_reads_the_same_for_1_and_20_items(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, items=[item_doc(f"BILLY bookcase {n}") for n in range(20)])
    headers = await login(client, partner)

    def page(limit: int) -> Request:
        return lambda: client.get("/partner/item/list", params={"limit": limit}, headers=headers)

    one, _ = await _reads(state, page(1))
    twenty, response = await _reads(state, page(20))
    assert len(response.json()["data"]) == 20
    assert twenty == one


@pytest.fixture
def _restaurant_now(clock: FakeClock) -> None:
    clock.set(NOW)


@pytest.mark.usefixtures("_restaurant_now")
async def test_restaurant_orders_list_reads_the_same_for_1_and_10_orders(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    when = await pickup_dates(client, r)

    def listing() -> Awaitable[httpx.Response]:
        return client.get(
            "/api/orders/list", headers=r.key_headers, params={"page": 1, "pagesize": 50}
        )

    await create_ok(
        client, r, pickup_body(r, when=when[0], details=[margherita(r, 1, "maxi", mozz=1)])
    )
    one, response = await _reads(state, listing)
    assert len(response.json()["orders"]) == 1
    for n in range(1, 10):
        await create_ok(
            client, r, pickup_body(r, when=when[n], details=[margherita(r, 2, "maxi", mozz=2)])
        )
    ten, response = await _reads(state, listing)
    assert len(response.json()["orders"]) == 10
    assert ten == one


@pytest.mark.usefixtures("_restaurant_now")
async def test_restaurant_order_create_reads_the_same_for_1_and_6_lines_with_options(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    when = await pickup_dates(client, r)

    def create(details: list[dict[str, Any]], at: str) -> Request:
        body = pickup_body(r, when=at, details=details)
        return lambda: client.post("/api/order/create", json=body, headers=r.client_headers)

    one, _ = await _reads(state, create([margherita(r, 1)], when[0]))
    six_lines = [
        margherita(r, n, size, mozz=1 + n % 2)
        for n, size in zip(range(1, 7), ["normale", "maxi"] * 3, strict=True)
    ]
    six, response = await _reads(state, create(six_lines, when[1]))
    order = await get_order(client, r, response.json()["order"]["uid"])
    assert len(order["details"]) == 6
    assert six == one


@pytest.mark.usefixtures("_restaurant_now")
async def test_restaurant_menu_products_reads_the_same_for_a_page_of_1_and_of_all(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)

    def page(size: int) -> Request:
        return lambda: client.get(
            "/api/menu/products", headers=r.key_headers, params={"page": 1, "pagesize": size}
        )

    one, _ = await _reads(state, page(1))
    every, response = await _reads(state, page(100))
    assert len(response.json()["products"]) > 1
    assert every == one
