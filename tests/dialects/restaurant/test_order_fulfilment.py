"""``POST /api/order/create``: the delivery method decides what the order needs, and the core's
field names come back as this API's (``pickup.date`` or ``delivery.date`` by method)."""

from __future__ import annotations

import httpx
import pytest
from tests.conftest import FakeClock
from tests.dialects.restaurant.order_support import (
    NOW,
    PICKUP,
    create,
    delivery_body,
    failed,
    order_count,
    pickup_body,
    restaurant,
)

from orderdesk.http.state import AppState


@pytest.fixture(autouse=True)
def _fixed_now(clock: FakeClock) -> None:
    clock.set(NOW)


async def test_home_delivery_with_a_pickup_date_but_no_delivery_is_missing_parameter(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = delivery_body(r, pickup={"date": PICKUP})
    del body["delivery"]
    message = failed(await create(client, r, body), "MISSING_PARAMETER", "delivery")
    assert message.startswith("delivery: ")
    assert await order_count(state, r) == 0


async def test_a_time_that_is_no_slot_start_is_named_by_the_method(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    odd = "2031-03-10 12:07:00"  # not a slot start
    pickup = await create(client, r, pickup_body(r, when=odd))
    failed(pickup, "VALIDATION_ERROR", "pickup.date")
    delivery = await create(client, r, delivery_body(r, when=odd))
    message = failed(delivery, "VALIDATION_ERROR", "delivery.date")
    assert "pickup.date" not in message
