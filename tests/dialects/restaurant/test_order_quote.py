"""``POST /api/order/quote``: the create body checked and priced, nothing stored or booked."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from tests.conftest import FakeClock
from tests.dialects.restaurant.api_support import client_headers, client_with
from tests.dialects.restaurant.order_support import (
    NOW,
    PICKUP_UTC,
    coupon_code,
    coupon_left,
    create_ok,
    delivery_body,
    failed,
    margherita,
    ok,
    order_count,
    pickup_body,
    restaurant,
    restaurant_events,
    set_locations,
    slot_use,
)

from orderdesk.http.state import AppState


@pytest.fixture(autouse=True)
def _fixed_now(clock: FakeClock) -> None:
    clock.set(NOW)


async def quote(
    client: httpx.AsyncClient, headers: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    return await client.post("/api/order/quote", headers=headers, json=body)


async def test_quote_prices_a_delivery_with_options_fee_and_coupon(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    code = coupon_code(r, "WELCOME")
    body = delivery_body(r, coupon={"code": code})
    order = ok(await quote(client, r.client_headers, body), "order")["order"]
    assert set(order) == {
        "details",
        "subtotal",
        "delivery_fee",
        "discount",
        "total",
        "currency",
        "dmethod",
        "subrestaurant_uid",
        "pickup_date",
        "delivery_date",
        "coupon",
    }
    # two maxi Margheritas with two extra mozzarellas: 25.00, 10 % off, 2.50 Centro zone fee
    assert order["subtotal"] == 25.0
    assert order["discount"] == 2.5
    assert order["delivery_fee"] == 2.5
    assert order["total"] == 25.0
    assert order["currency"] == "EUR"
    assert order["dmethod"] == "1"
    assert order["subrestaurant_uid"] == r.locations[0]
    assert (order["pickup_date"], order["delivery_date"]) == (None, "2031-03-10T11:00:00Z")
    assert order["coupon"] == {"code": code, "discount": 2.5}
    (detail,) = order["details"]
    assert detail["quantity"] == 2 and detail["total"] == 25.0
    assert {o["uid"] for o in detail["options"]} == {f"{r.uid}-size", f"{r.uid}-extra"}
    # the create that follows charges exactly what was quoted
    created = await create_ok(client, r, body)
    assert created["total"] == order["total"]
    assert created["delivery_fee"] == order["delivery_fee"]


async def test_quote_writes_and_books_nothing(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state, set_locations(orders_per_slot=1))
    code = coupon_code(r, "LAST")
    body = pickup_body(r, coupon={"code": code}, details=[margherita(r)])
    for _ in range(3):  # the last slot unit and the last coupon use, quoted three times
        order = ok(await quote(client, r.key_headers, body), "order")["order"]
        assert order["pickup_date"] == PICKUP_UTC
    assert await order_count(state, r) == 0
    assert await restaurant_events(state, r) == []
    assert await slot_use(state, r.locations[0], date(2031, 3, 10), "11:00") == 0
    assert await coupon_left(state, r, code) == 1
    # both are still there for the order itself
    created = await create_ok(client, r, body)
    assert created["order_number"] == "1" and created["total"] == order["total"]


async def test_quote_refuses_what_create_refuses(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state, set_locations(orders_per_slot=1))
    headers = r.client_headers
    unknown = pickup_body(r, details=[{"product": {"uid": "nope"}, "quantity": 1}])
    failed(await quote(client, headers, unknown), "PRODUCT_NOT_FOUND", "details.0.product.uid")
    outside = delivery_body(r, "piazza-duomo-bergamo")
    failed(await quote(client, headers, outside), "INVALID_ADDRESS", "delivery.address.place_id")
    no_delivery = delivery_body(r)
    del no_delivery["delivery"]
    failed(await quote(client, headers, no_delivery), "MISSING_PARAMETER", "delivery")
    elsewhere = pickup_body(r)
    del elsewhere["subrestaurant_uid"]
    failed(await quote(client, headers, elsewhere), "MISSING_PARAMETER", "subrestaurant_uid")
    failed(await quote(client, headers, {"client": {}}), "MISSING_PARAMETER", "client")

    # once the slot is full and the coupon used up, the quote says so as the create would
    code = coupon_code(r, "LAST")
    await create_ok(client, r, pickup_body(r, coupon={"code": code}, details=[margherita(r)]))
    failed(await quote(client, headers, pickup_body(r)), "VALIDATION_ERROR", "pickup.date")
    later = pickup_body(r, when="2031-03-10 11:15:00", coupon={"code": code})
    failed(await quote(client, headers, later), "COUPON_ERROR", "coupon.code")
    assert await order_count(state, r) == 1


async def test_quote_needs_write_orders(client: httpx.AsyncClient, state: AppState) -> None:
    reader: dict[str, Any] = {}

    def add_reader(doc: dict[str, Any]) -> None:
        reader.update(client_with(doc["uid"], "read:orders", name="reader"))
        doc["clients"].append(reader)

    r = await restaurant(state, add_reader)
    failed(
        await quote(client, client_headers(reader), pickup_body(r)),
        "INSUFFICIENT_SCOPE",
        "write:orders",
        status=403,
    )
