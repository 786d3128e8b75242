"""``POST /partner/order/create``: the response shape, booking, validation, phones and images."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from tests.conftest import FakeClock
from tests.dialects.partner.orders_support import (
    create,
    field_errors,
    free_slots,
    get,
    local_day,
    order_ids,
    upload_image,
)
from tests.factories import PartnerSetup, item_doc, login, make_partner, order_body

from orderdesk.http.state import AppState

ONE_MASTER = {"0712": 1, "1217": 1, "1721": 1}


async def test_created_order_has_the_exact_response_shape(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    clock.set(clock.current.replace(microsecond=908_765))
    partner = await make_partner(state)
    headers = await login(client, partner)
    body = order_body(partner, [(local_day(clock.current, 2), "1217")])

    data = await create(client, headers, body)

    assert isinstance(data["_id"], int)
    assert data == {
        "_id": data["_id"],
        "title": "PAX wardrobe 150x236",
        "_status": "open",
        "_substatus": "awaiting_master_request",
        "partner": partner.name,
        "partner_details": {
            "instock": True,
            "store_id": partner.stores[0],
            "store_title": f"Store 0 of {partner.name}",
        },
        "created_at": clock.current.strftime("%Y-%m-%dT%H:%M:%S.908Z"),
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", data["created_at"])


async def test_title_is_the_first_item_with_the_count_of_the_others(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(
        state,
        items=[item_doc("HEMNES dresser"), item_doc("BILLY bookcase"), item_doc("LACK table")],
    )
    headers = await login(client, partner)
    day = local_day(state.now(), 2)

    def with_items(ids: list[int]) -> dict[str, Any]:
        body = order_body(partner, [(day, "0712")])
        body["partner_details"]["items"] = [{"id": i, "count": 1} for i in ids]
        return body

    one = await create(client, headers, with_items(partner.items[:1]))
    three = await create(client, headers, with_items([partner.items[2], *partner.items[:2]]))

    assert one["title"] == "HEMNES dresser"
    assert three["title"] == "LACK table +2"


async def test_order_ids_increase(client: httpx.AsyncClient, state: AppState) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    body = order_body(partner, [(local_day(state.now(), 3), "1217")])

    first = await create(client, headers, body)
    second = await create(client, headers, body)

    assert second["_id"] > first["_id"]


async def test_instock_order_books_the_first_preference_with_a_free_master(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=ONE_MASTER)
    headers = await login(client, partner)
    day = local_day(state.now(), 2)
    first = await create(client, headers, order_body(partner, [(day, "0712")]))

    second = await create(
        client, headers, order_body(partner, [(day, "0712"), (day, "1217"), (day, "1721")])
    )

    assert (second["_status"], second["_substatus"]) == ("open", "awaiting_master_request")
    assert (await get(client, headers, first["_id"]))["booked"] == {"date": day, "timeslot": "0712"}
    stored = await get(client, headers, second["_id"])
    assert stored["booked"] == {"date": day, "timeslot": "1217"}
    assert stored["datetime"] == [{"date": day, "timeslot": s} for s in ("0712", "1217", "1721")]
    assert (await free_slots(client, partner.stores[0]))[day] == {
        "0712": False,
        "1217": False,
        "1721": True,
    }


async def test_order_not_in_stock_books_nothing_and_keeps_the_preferences(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=ONE_MASTER)
    headers = await login(client, partner)
    day = local_day(state.now(), 2)
    body = order_body(partner, [(day, "1721"), (day, "0712")])
    body["partner_details"]["instock"] = False

    data = await create(client, headers, body)

    assert (data["_status"], data["_substatus"]) == ("open", "not_in_stock")
    assert data["partner_details"]["instock"] is False
    stored = await get(client, headers, data["_id"])
    assert stored["booked"] is None
    assert stored["datetime"] == [
        {"date": day, "timeslot": "1721"},
        {"date": day, "timeslot": "0712"},
    ]
    assert (await free_slots(client, partner.stores[0]))[day] == {
        "0712": True,
        "1217": True,
        "1721": True,
    }


async def test_stored_order_keeps_customer_address_items_and_payment(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    body = order_body(partner, [(local_day(state.now(), 2), "1217")], payment_method="stripe")
    body["partner_details"]["items"] = [
        {"id": partner.items[0], "count": 2, "delivery": True, "assembly": True},
        {"id": partner.items[1], "count": 1, "delivery": True},
    ]
    del body["partner_details"]["delivery_type"]

    stored = await get(client, headers, (await create(client, headers, body))["_id"])

    assert stored["customer"] == {
        "phone_number": "+37120000000",
        "first_name": "Anna",
        "last_name": "Ozola",
    }
    assert stored["address"] == body["address"]
    assert stored["items"] == [
        {"id": partner.items[0], "count": 2, "delivery": True, "assembly": True},
        {"id": partner.items[1], "count": 1, "delivery": True, "assembly": False},
    ]
    assert stored["payment_method"] == "stripe"
    assert stored["partner_details"]["delivery_type"] == "to_pavement"
    assert stored["title"] == "PAX wardrobe 150x236 +1"


# ---------------------------------------------------------------------------------------------
# Validation

DELETE = object()


def _edit(body: dict[str, Any], path: str, value: Any) -> None:
    """Set (or with ``DELETE`` remove) the value at a dotted path such as ``datetime.0.date``."""
    *parents, last = path.split(".")
    target: Any = body
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    key: Any = int(last) if isinstance(target, list) else last
    if value is DELETE:
        del target[key]
    else:
        target[key] = value


Value = Callable[[PartnerSetup, datetime], Any]


def _const(value: Any) -> Value:
    return lambda _partner, _now: value


INVALID_FIELDS: list[tuple[str, str, Value, str, str]] = [
    ("invalid_phone", "customer.phone_number", _const("12345"), "customer.phone_number", "format"),
    (
        "count_zero",
        "partner_details.items.0.count",
        _const(0),
        "partner_details.items.0.count",
        "min",
    ),
    (
        "count_1000",
        "partner_details.items.0.count",
        _const(1000),
        "partner_details.items.0.count",
        "max",
    ),
    (
        "count_as_string",
        "partner_details.items.0.count",
        _const("2"),
        "partner_details.items.0.count",
        "type",
    ),
    (
        "unknown_item",
        "partner_details.items.0.id",
        _const(987_654_321),
        "partner_details.items.0.id",
        "not_found",
    ),
    (
        "item_id_beyond_32_bits",
        "partner_details.items.0.id",
        _const(2**31),
        "partner_details.items.0.id",
        "not_found",
    ),
    (
        "item_id_beyond_64_bits",
        "partner_details.items.0.id",
        _const(10**30),
        "partner_details.items.0.id",
        "not_found",
    ),
    (
        "assembly_not_offered",
        "partner_details.items.0",
        lambda p, _now: {"id": p.items[1], "count": 1, "assembly": True},
        "partner_details.items.0.assembly",
        "unavailable",
    ),
    ("empty_items", "partner_details.items", _const([]), "partner_details.items", "min"),
    ("missing_instock", "partner_details.instock", DELETE, "partner_details.instock", "required"),
    (
        "bad_delivery_type",
        "partner_details.delivery_type",
        _const("by_drone"),
        "partner_details.delivery_type",
        "enum",
    ),
    (
        "date_in_the_past",
        "datetime.0.date",
        lambda _p, now: local_day(now, -1),
        "datetime.0.date",
        "min",
    ),
    (
        "date_after_the_window",
        "datetime.0.date",
        lambda _p, now: local_day(now, 31),
        "datetime.0.date",
        "max",
    ),
    ("date_not_a_date", "datetime.0.date", _const("2030-02-30"), "datetime.0.date", "format"),
    ("bad_timeslot", "datetime.0.timeslot", _const("0917"), "datetime.0.timeslot", "enum"),
    ("empty_datetime", "datetime", _const([]), "datetime", "min"),
    ("bad_payment_method", "payment_method", _const("bitcoin"), "payment_method", "enum"),
    ("missing_customer", "customer", DELETE, "customer", "required"),
    ("missing_last_name", "customer.last_name", DELETE, "customer.last_name", "required"),
    ("address_without_zip", "address.zip", DELETE, "address.zip", "required"),
    ("latitude_91", "address.coordinates.lat", _const(91), "address.coordinates.lat", "max"),
    (
        "longitude_minus_181",
        "address.coordinates.lon",
        _const(-181),
        "address.coordinates.lon",
        "min",
    ),
    ("unknown_image", "image_uuids", _const(["0" * 24]), "image_uuids.0", "not_found"),
    (
        "malformed_image_id",
        "image_uuids",
        _const(["../../etc/passwd"]),
        "image_uuids.0",
        "not_found",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "field", "kind"),
    [case[1:] for case in INVALID_FIELDS],
    ids=[case[0] for case in INVALID_FIELDS],
)
async def test_invalid_field_is_named_with_its_type_and_nothing_is_stored(
    client: httpx.AsyncClient, state: AppState, path: str, value: Any, field: str, kind: str
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    body = order_body(partner, [(local_day(state.now(), 2), "1217")])
    _edit(body, path, DELETE if value is DELETE else value(partner, state.now()))

    response = await client.post("/partner/order/create", json=body, headers=headers)

    assert field_errors(response) == {field: kind}
    assert await order_ids(client, headers) == []


async def test_every_validation_error_is_reported_in_one_response(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    now = state.now()
    body = order_body(
        partner,
        [(local_day(now, -1), "0712"), (local_day(now, 31), "1217"), (local_day(now, 2), "2530")],
        payment_method="card",
        image_uuids=["f" * 24],
    )
    body["customer"]["phone_number"] = "not a phone"
    body["address"]["coordinates"]["lat"] = 91
    body["partner_details"]["delivery_type"] = "by_drone"
    body["partner_details"]["items"] = [
        {"id": partner.items[0], "count": 0},
        {"id": 987_654_321, "count": 1},
        {"id": partner.items[1], "count": 1, "assembly": True},
    ]

    response = await client.post("/partner/order/create", json=body, headers=headers)

    assert field_errors(response) == {
        "customer.phone_number": "format",
        "address.coordinates.lat": "max",
        "partner_details.delivery_type": "enum",
        "partner_details.items.0.count": "min",
        "partner_details.items.1.id": "not_found",
        "partner_details.items.2.assembly": "unavailable",
        "datetime.0.date": "min",
        "datetime.1.date": "max",
        "datetime.2.timeslot": "enum",
        "payment_method": "enum",
        "image_uuids.0": "not_found",
    }
    assert await order_ids(client, headers) == []


async def test_date_on_the_last_day_of_the_window_is_accepted(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    day = local_day(state.now(), 30)

    data = await create(client, headers, order_body(partner, [(day, "1721")]))

    assert (await get(client, headers, data["_id"]))["booked"] == {"date": day, "timeslot": "1721"}


async def test_store_of_another_partner_is_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    other = await make_partner(state)
    headers = await login(client, partner)
    body = order_body(partner, [(local_day(state.now(), 2), "1217")])
    body["partner_details"]["store_id"] = other.stores[0]

    response = await client.post("/partner/order/create", json=body, headers=headers)

    assert field_errors(response) == {"partner_details.store_id": "not_found"}
    assert await order_ids(client, headers) == []
    assert await order_ids(client, await login(client, other)) == []


async def test_malformed_json_is_a_validation_error_on_the_body(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)

    response = await client.post(
        "/partner/order/create",
        content=b'{"customer": {',
        headers={**headers, "content-type": "application/json"},
    )

    assert field_errors(response) == {"body": "format"}


async def test_deeply_nested_json_is_a_validation_error_on_the_body(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    nested = b'{"customer": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    response = await client.post(
        "/partner/order/create",
        content=nested,
        headers={**headers, "content-type": "application/json"},
    )

    assert field_errors(response) == {"body": "format"}


async def test_when_every_preference_is_full_nothing_is_stored(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=ONE_MASTER)
    headers = await login(client, partner)
    day = local_day(state.now(), 4)
    taken = [
        (await create(client, headers, order_body(partner, [(day, slot)])))["_id"]
        for slot in ("0712", "1217")
    ]

    response = await client.post(
        "/partner/order/create",
        headers=headers,
        json=order_body(partner, [(day, "0712"), (day, "1217")]),
    )

    assert field_errors(response) == {"datetime": "unavailable"}
    assert await order_ids(client, headers) == taken[::-1]
    assert (await free_slots(client, partner.stores[0]))[day]["1721"] is True


async def test_slot_without_masters_is_unavailable(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters={"0712": 0, "1217": 2, "1721": 2})
    headers = await login(client, partner)

    response = await client.post(
        "/partner/order/create",
        headers=headers,
        json=order_body(partner, [(local_day(state.now(), 2), "0712")]),
    )

    assert field_errors(response) == {"datetime": "unavailable"}


async def test_national_phone_number_is_stored_in_e164(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    body = order_body(partner, [(local_day(state.now(), 2), "1217")])
    body["customer"]["phone_number"] = "29 123 456"

    stored = await get(client, headers, (await create(client, headers, body))["_id"])

    assert stored["customer"]["phone_number"] == "+37129123456"


async def test_unknown_fields_are_ignored(client: httpx.AsyncClient, state: AppState) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    body = order_body(partner, [(local_day(state.now(), 2), "1217")], coupon="FREE")
    body["customer"]["middle_name"] = "Maria"
    body["partner_details"]["items"][0]["color"] = "white"

    stored = await get(client, headers, (await create(client, headers, body))["_id"])

    assert "coupon" not in stored
    assert "middle_name" not in stored["customer"]
    assert "color" not in stored["items"][0]


# ---------------------------------------------------------------------------------------------
# Images


async def test_uploaded_image_is_linked_to_the_order(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    first, second = await upload_image(client, headers), await upload_image(client, headers)
    body = order_body(partner, [(local_day(state.now(), 2), "1217")], image_uuids=[first, second])

    stored = await get(client, headers, (await create(client, headers, body))["_id"])

    assert sorted(stored["image_uuids"]) == sorted([first, second])


async def test_image_already_linked_to_another_order_is_a_conflict(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    image = await upload_image(client, headers)
    body = order_body(partner, [(local_day(state.now(), 2), "1217")], image_uuids=[image])
    first = await create(client, headers, body)

    response = await client.post("/partner/order/create", json=copy.deepcopy(body), headers=headers)

    assert field_errors(response) == {"image_uuids.0": "conflict"}
    assert await order_ids(client, headers) == [first["_id"]]
    assert (await get(client, headers, first["_id"]))["image_uuids"] == [image]


async def test_image_of_another_partner_is_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    other = await make_partner(state)
    headers = await login(client, partner)
    foreign = await upload_image(client, await login(client, other))
    body = order_body(partner, [(local_day(state.now(), 2), "1217")], image_uuids=[foreign])

    response = await client.post("/partner/order/create", json=body, headers=headers)

    assert field_errors(response) == {"image_uuids.0": "not_found"}
    assert await order_ids(client, headers) == []
