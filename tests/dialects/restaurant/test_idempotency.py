"""``Idempotency-Key`` on ``POST /api/order/create``: a retried request gets the first answer
again and never makes a second order."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import httpx
import pytest
from tests.conftest import FakeClock
from tests.dialects.restaurant.order_support import (
    NOW,
    coupon_code,
    coupon_left,
    create,
    failed,
    ok,
    order_count,
    pickup_body,
    restaurant,
    restaurant_events,
    slot_use,
)

from orderdesk.http.state import AppState

REPLAYED = "Idempotent-Replayed"


@pytest.fixture(autouse=True)
def _fixed_now(clock: FakeClock) -> None:
    clock.set(NOW)


async def test_retry_with_the_same_key_replays_the_first_answer(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    code = coupon_code(r, "LAST")
    body = pickup_body(r, coupon={"code": code})
    first = await create(client, r, body, **{"Idempotency-Key": "order-1"})
    order = ok(first, "order")["order"]
    assert REPLAYED not in first.headers

    again = await create(client, r, body, **{"Idempotency-Key": "order-1"})
    assert again.status_code == 200
    assert again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert await order_count(state, r) == 1
    assert await coupon_left(state, r, code) == 0  # used once, not refused on the retry
    assert await slot_use(state, r.locations[0], date(2031, 3, 10), "11:00") == 1
    assert await restaurant_events(state, r) == ["order.new", "order.countdown_started"]
    assert order["order_number"] == "1"


async def test_key_order_and_spacing_of_the_body_do_not_matter(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r)
    first = await create(client, r, body, **{"Idempotency-Key": "order-1"})
    reordered = dict(reversed(list(body.items())))
    again = await client.post(
        "/api/order/create",
        headers={
            **r.client_headers,
            "Idempotency-Key": "order-1",
            "Content-Type": "application/json",
        },
        content=json.dumps(reordered, indent=2),
    )
    assert again.headers[REPLAYED] == "true"
    assert again.json() == first.json()
    assert await order_count(state, r) == 1


async def test_same_key_with_another_body_is_422(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    ok(await create(client, r, pickup_body(r), **{"Idempotency-Key": "order-1"}), "order")
    other = pickup_body(r, notes="extra napkins")
    response = await create(client, r, other, **{"Idempotency-Key": "order-1"})
    failed(response, "VALIDATION_ERROR", "Idempotency-Key", status=422)
    assert REPLAYED not in response.headers
    assert await order_count(state, r) == 1


async def test_different_keys_make_different_orders(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r)
    one = ok(await create(client, r, body, **{"Idempotency-Key": "a"}), "order")["order"]
    two = ok(await create(client, r, body, **{"Idempotency-Key": "b"}), "order")["order"]
    assert one["uid"] != two["uid"]
    assert (one["order_number"], two["order_number"]) == ("1", "2")


async def test_requests_without_a_key_are_never_replayed(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r)
    first = await create(client, r, body)
    second = await create(client, r, body)
    assert REPLAYED not in second.headers
    assert ok(first, "order")["order"]["uid"] != ok(second, "order")["order"]["uid"]
    assert await order_count(state, r) == 2


async def test_keys_belong_to_one_restaurant(client: httpx.AsyncClient, state: AppState) -> None:
    one, two = await restaurant(state), await restaurant(state)
    first = await create(client, one, pickup_body(one), **{"Idempotency-Key": "shared"})
    second = await create(client, two, pickup_body(two), **{"Idempotency-Key": "shared"})
    ok(first, "order")
    ok(second, "order")
    assert REPLAYED not in second.headers
    assert await order_count(state, two) == 1


async def test_refused_request_is_not_remembered(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    bad = pickup_body(r, payment_method_sub="bitcoin")
    refused = await create(client, r, bad, **{"Idempotency-Key": "order-1"})
    failed(refused, "VALIDATION_ERROR", "payment_method_sub")
    again = await create(client, r, bad, **{"Idempotency-Key": "order-1"})
    failed(again, "VALIDATION_ERROR", "payment_method_sub")
    assert REPLAYED not in again.headers
    # the corrected request may reuse the key: nothing was stored under it
    fixed = await create(client, r, pickup_body(r), **{"Idempotency-Key": "order-1"})
    assert ok(fixed, "order")["order"]["order_number"] == "1"
    assert await order_count(state, r) == 1


async def test_replay_survives_the_clock_moving_on(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await restaurant(state)
    body = pickup_body(r)
    first = await create(client, r, body, **{"Idempotency-Key": "order-1"})
    clock.advance(hours=2)  # the pickup time is now in the past: a new order would be refused
    again = await create(client, r, body, **{"Idempotency-Key": "order-1"})
    assert again.headers[REPLAYED] == "true"
    assert again.json() == first.json()


async def test_concurrent_duplicates_make_one_order(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r)
    responses = await asyncio.gather(
        *(create(client, r, body, **{"Idempotency-Key": "burst"}) for _ in range(8))
    )

    created = [
        resp for resp in responses if resp.status_code == 200 and REPLAYED not in resp.headers
    ]
    assert len(created) == 1, [(resp.status_code, resp.text) for resp in responses]
    order = ok(created[0], "order")["order"]
    for resp in responses:
        if resp.status_code == 409:
            failed(resp, "INVALID_ACTION", "Idempotency-Key", status=409)
        elif resp is not created[0]:
            assert resp.headers[REPLAYED] == "true"
            assert resp.json() == created[0].json()
    assert await order_count(state, r) == 1
    assert await slot_use(state, r.locations[0], date(2031, 3, 10), "11:00") == 1
    assert order["order_number"] == "1"
    # a retry after the burst replays the one order
    late = await create(client, r, body, **{"Idempotency-Key": "burst"})
    assert late.headers[REPLAYED] == "true"
    assert late.json()["order"]["uid"] == order["uid"]
