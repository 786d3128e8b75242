"""``Idempotency-Key`` on order creation: replays, mismatches, scope, expiry and races."""

from __future__ import annotations

import asyncio
import json

import httpx
from tests.conftest import FakeClock
from tests.dialects.partner.orders_support import (
    error_body,
    field_errors,
    local_day,
    ok_data,
    order_ids,
)
from tests.factories import login, make_partner, order_body

from orderdesk.http.state import AppState

CREATE = "/partner/order/create"
MANY_MASTERS = {"0712": 50, "1217": 50, "1721": 50}


async def test_same_key_and_body_replays_the_first_response(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=MANY_MASTERS)
    headers = {**await login(client, partner), "Idempotency-Key": "order-1"}
    body = order_body(partner, [(local_day(state.now(), 2), "1217")])

    first = await client.post(CREATE, json=body, headers=headers)
    second = await client.post(CREATE, json=body, headers=headers)

    assert ok_data(second)["_id"] == ok_data(first)["_id"]
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await order_ids(client, headers) == [ok_data(first)["_id"]]


async def test_replay_ignores_key_order_and_whitespace_of_the_body(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=MANY_MASTERS)
    headers = {
        **await login(client, partner),
        "Idempotency-Key": "order-1",
        "content-type": "application/json",
    }
    body = order_body(partner, [(local_day(state.now(), 2), "1217")])

    first = await client.post(CREATE, content=json.dumps(body), headers=headers)
    reordered = json.dumps(dict(reversed(body.items())), indent=2)
    second = await client.post(CREATE, content=reordered, headers=headers)

    assert ok_data(second)["_id"] == ok_data(first)["_id"]
    assert second.headers.get("Idempotent-Replayed") == "true"


async def test_same_key_with_a_different_body_is_rejected(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=MANY_MASTERS)
    headers = {**await login(client, partner), "Idempotency-Key": "order-1"}
    day = local_day(state.now(), 2)
    first = ok_data(
        await client.post(CREATE, json=order_body(partner, [(day, "1217")]), headers=headers)
    )

    response = await client.post(CREATE, json=order_body(partner, [(day, "1721")]), headers=headers)

    assert field_errors(response) == {"Idempotency-Key": "conflict"}
    assert await order_ids(client, headers) == [first["_id"]]


async def test_key_longer_than_255_characters_is_rejected_by_name(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=MANY_MASTERS)
    headers = await login(client, partner)
    body = order_body(partner, [(local_day(state.now(), 2), "1217")])

    response = await client.post(
        CREATE, json=body, headers={**headers, "Idempotency-Key": "k" * 256}
    )

    assert field_errors(response) == {"Idempotency-Key": "max"}
    assert await order_ids(client, headers) == []


async def test_different_keys_create_two_orders(client: httpx.AsyncClient, state: AppState) -> None:
    partner = await make_partner(state, masters=MANY_MASTERS)
    headers = await login(client, partner)
    body = order_body(partner, [(local_day(state.now(), 2), "1217")])

    first = ok_data(
        await client.post(CREATE, json=body, headers={**headers, "Idempotency-Key": "a"})
    )
    second = ok_data(
        await client.post(CREATE, json=body, headers={**headers, "Idempotency-Key": "b"})
    )

    assert first["_id"] != second["_id"]
    assert await order_ids(client, headers) == [second["_id"], first["_id"]]


async def test_requests_without_a_key_are_never_replayed(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=MANY_MASTERS)
    headers = await login(client, partner)
    body = order_body(partner, [(local_day(state.now(), 2), "1217")])

    first = await client.post(CREATE, json=body, headers=headers)
    second = await client.post(CREATE, json=body, headers=headers)

    assert ok_data(first)["_id"] != ok_data(second)["_id"]
    assert "Idempotent-Replayed" not in second.headers


async def test_keys_are_per_partner(client: httpx.AsyncClient, state: AppState) -> None:
    one, two = (
        await make_partner(state, masters=MANY_MASTERS),
        await make_partner(state, masters=MANY_MASTERS),
    )
    day = local_day(state.now(), 2)
    one_headers = {**await login(client, one), "Idempotency-Key": "shared-key"}
    two_headers = {**await login(client, two), "Idempotency-Key": "shared-key"}

    first = await client.post(CREATE, json=order_body(one, [(day, "1217")]), headers=one_headers)
    second = await client.post(CREATE, json=order_body(two, [(day, "1217")]), headers=two_headers)

    assert ok_data(first)["partner"] == one.name
    assert ok_data(second)["partner"] == two.name
    assert "Idempotent-Replayed" not in second.headers
    assert await order_ids(client, one_headers) == [ok_data(first)["_id"]]
    assert await order_ids(client, two_headers) == [ok_data(second)["_id"]]


async def test_key_expires_after_24_hours(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    partner = await make_partner(state, masters=MANY_MASTERS)
    headers = {**await login(client, partner), "Idempotency-Key": "daily"}
    body = order_body(partner, [(local_day(clock.current, 3), "1721")])
    first = ok_data(await client.post(CREATE, json=body, headers=headers))

    clock.advance(hours=23)
    replayed = await client.post(CREATE, json=body, headers=headers)
    clock.advance(hours=2)
    fresh = await client.post(CREATE, json=body, headers=headers)

    assert ok_data(replayed)["_id"] == first["_id"]
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert ok_data(fresh)["_id"] != first["_id"]
    assert "Idempotent-Replayed" not in fresh.headers
    assert await order_ids(client, headers) == [ok_data(fresh)["_id"], first["_id"]]


async def test_concurrent_duplicates_create_exactly_one_order(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=MANY_MASTERS)
    headers = {**await login(client, partner), "Idempotency-Key": "racing"}
    body = order_body(partner, [(local_day(state.now(), 2), "1217")])

    responses = await asyncio.gather(
        *(client.post(CREATE, json=body, headers=headers) for _ in range(10))
    )

    created = [r for r in responses if r.status_code == 200]
    assert created, [r.text for r in responses]
    assert {ok_data(r)["_id"] for r in created} == {ok_data(created[0])["_id"]}
    for response in responses:
        if response.status_code != 200:
            error_body(response, 409)
    assert await order_ids(client, headers) == [ok_data(created[0])["_id"]]
    retry = await client.post(CREATE, json=body, headers=headers)
    assert ok_data(retry)["_id"] == ok_data(created[0])["_id"]
