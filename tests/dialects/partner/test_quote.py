"""``POST /partner/order/quote``: every check of a create and the priced order, nothing written."""

from __future__ import annotations

import copy
from typing import Any

import httpx
from sqlalchemy import func, select
from tests.dialects.partner.envelope import assert_unauthorized
from tests.dialects.partner.orders_support import (
    create,
    field_errors,
    free_slots,
    get,
    local_day,
    ok_data,
    upload_image,
)
from tests.factories import PartnerSetup, item_doc, login, make_partner, order_body

from orderdesk.core.events.models import OutboxEvent
from orderdesk.core.orders.models import Order, OrderEvent
from orderdesk.core.organizations.models import Location, Organization
from orderdesk.core.scheduling.models import SlotUsage
from orderdesk.http.state import AppState

ONE_MASTER = {"0712": 1, "1217": 1, "1721": 1}


async def quote(client: httpx.AsyncClient, headers: dict[str, str], body: Any) -> httpx.Response:
    return await client.post("/partner/order/quote", json=body, headers=headers)


async def written(state: AppState, partner: PartnerSetup) -> dict[str, int]:
    """What a create of ``partner`` writes: orders, booked capacity, events, outbox rows."""
    async with state.transaction() as session:
        organization = (
            select(Organization.id)
            .where(Organization.kind == "partner", Organization.key == partner.name)
            .scalar_subquery()
        )
        orders = select(Order.id).where(Order.organization_id == organization)
        used = (
            select(func.coalesce(func.sum(SlotUsage.used), 0))
            .join(Location, Location.id == SlotUsage.location_id)
            .where(Location.organization_id == organization)
        )
        return {
            "orders": await session.scalar(select(func.count()).select_from(orders.subquery())),
            "capacity used": await session.scalar(used),
            "order events": await session.scalar(
                select(func.count()).where(OrderEvent.order_id.in_(orders))
            ),
            "outbox": await session.scalar(select(func.count()).select_from(OutboxEvent)),
        }


async def test_quote_prices_the_order_and_names_the_slot_a_create_would_book(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(
        state,
        masters=ONE_MASTER,
        items=[
            item_doc("PAX wardrobe 150x236"),
            item_doc("MALM bed frame 160x200", assembly=False, delivery_price=1500),
        ],
    )
    headers = await login(client, partner)
    day = local_day(state.now(), 2)
    body = order_body(partner, [(day, "0712"), (day, "1217")])
    body["partner_details"]["items"] = [
        {"id": partner.items[0], "count": 2, "delivery": True, "assembly": True},
        {"id": partner.items[1], "count": 1, "delivery": True},
    ]
    before = await written(state, partner)
    slots_before = await free_slots(client, partner.stores[0])

    data = ok_data(await quote(client, headers, body))

    assert data == {
        "title": "PAX wardrobe 150x236 +1",
        "_status": "open",
        "_substatus": "awaiting_master_request",
        "store": {
            "store_id": partner.stores[0],
            "store_title": f"Store 0 of {partner.name}",
            "timezone": "Europe/Riga",
        },
        "instock": True,
        "delivery_type": "to_door_by_lift",
        "payment_method": "cash",
        "booked": {"date": day, "timeslot": "0712"},
        "items": [
            {
                "id": partner.items[0],
                "title": "PAX wardrobe 150x236",
                "count": 2,
                "delivery": True,
                "assembly": True,
                "delivery_price": 2500,
                "assembly_price": 6900,
                "total": 2 * (2500 + 6900),
            },
            {
                "id": partner.items[1],
                "title": "MALM bed frame 160x200",
                "count": 1,
                "delivery": True,
                "assembly": False,
                "delivery_price": 1500,
                "assembly_price": 0,
                "total": 1500,
            },
        ],
        "subtotal": 2 * (2500 + 6900) + 1500,
        "delivery_fee": 0,
        "discount": 0,
        "total": 2 * (2500 + 6900) + 1500,
        "currency": "EUR",
    }
    assert await written(state, partner) == before
    assert await free_slots(client, partner.stores[0]) == slots_before
    # The quote promised what a create then does.
    created = await create(client, headers, body)
    assert (await get(client, headers, created["_id"]))["booked"] == data["booked"]


async def test_quote_skips_a_full_slot_like_a_create(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=ONE_MASTER)
    headers = await login(client, partner)
    day = local_day(state.now(), 3)
    await create(client, headers, order_body(partner, [(day, "0712")]))
    before = await written(state, partner)

    data = ok_data(
        await quote(client, headers, order_body(partner, [(day, "0712"), (day, "1721")]))
    )

    assert data["booked"] == {"date": day, "timeslot": "1721"}
    assert await written(state, partner) == before


async def test_quote_of_goods_not_in_stock_books_no_slot(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    body = order_body(partner, [(local_day(state.now(), 2), "1217")])
    body["partner_details"]["instock"] = False

    data = ok_data(await quote(client, headers, body))

    assert (data["_status"], data["_substatus"]) == ("open", "not_in_stock")
    assert data["instock"] is False
    assert data["booked"] is None
    assert data["total"] == 2500 + 6900


async def test_quote_with_no_master_free_is_the_create_error(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=ONE_MASTER)
    headers = await login(client, partner)
    day = local_day(state.now(), 4)
    await create(client, headers, order_body(partner, [(day, "1217")]))
    body = order_body(partner, [(day, "1217")])
    before = await written(state, partner)

    quoted = await quote(client, headers, body)
    created = await client.post("/partner/order/create", json=body, headers=headers)

    assert field_errors(quoted) == {"datetime": "unavailable"}
    assert quoted.json() == created.json()
    assert await written(state, partner) == before


async def test_quote_reports_every_invalid_field_as_create_does(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    body = order_body(partner, [(local_day(state.now(), 2), "1217")])
    broken = copy.deepcopy(body)
    broken["customer"]["phone_number"] = "not a phone"
    broken["partner_details"]["store_id"] = "no-such-store"
    broken["partner_details"]["items"][0]["count"] = 0
    broken["datetime"][0]["timeslot"] = "0000"
    broken["payment_method"] = "barter"
    unknown_item = copy.deepcopy(body)
    unknown_item["partner_details"]["items"][0]["id"] = 1
    unknown_item["image_uuids"] = ["0" * 24]
    before = await written(state, partner)

    for sent in (broken, unknown_item, {"customer": None}, []):
        quoted = await quote(client, headers, sent)
        created = await client.post("/partner/order/create", json=sent, headers=headers)
        assert quoted.status_code == created.status_code == 422, quoted.text
        assert quoted.json() == created.json()
    assert set(field_errors(await quote(client, headers, broken))) >= {
        "partner_details.items.0.count",
        "datetime.0.timeslot",
        "payment_method",
    }
    assert set(field_errors(await quote(client, headers, unknown_item))) == {
        "partner_details.items.0.id",
        "image_uuids.0",
    }
    assert await written(state, partner) == before


async def test_quoted_image_stays_free_for_the_order(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    body = order_body(partner, [(local_day(state.now(), 2), "1721")])
    body["image_uuids"] = [await upload_image(client, headers)]

    ok_data(await quote(client, headers, body))
    ok_data(await quote(client, headers, body))
    created = await create(client, headers, body)

    assert (await get(client, headers, created["_id"]))["image_uuids"] == body["image_uuids"]


async def test_quote_needs_a_token_and_no_idempotency_key(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    body = order_body(partner, [(local_day(state.now(), 2), "1217")])

    assert_unauthorized(await quote(client, {}, body))
    assert_unauthorized(await quote(client, {"token": "not-a-token"}, {}))
    first = ok_data(await quote(client, {**headers, "Idempotency-Key": "k-1"}, body))
    again = ok_data(await quote(client, {**headers, "Idempotency-Key": "k-1"}, body))
    assert first == again
    # The quotes did not take the key: a create with it makes the order.
    created = await create(client, {**headers, "Idempotency-Key": "k-1"}, body)
    assert (await get(client, headers, created["_id"]))["booked"] == first["booked"]
