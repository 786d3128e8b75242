"""Managing partner orders: list and filters, get, mark in stock, change dates, cancel, history."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from tests.dialects.partner.orders_support import (
    create,
    error_body,
    field_errors,
    free_slots,
    get,
    local_day,
    ok_data,
    order_events,
    order_ids,
    outbox_events,
    upload_image,
)
from tests.factories import PartnerSetup, item_doc, login, make_partner, order_body

from orderdesk.http.state import AppState

ONE_MASTER = {"0712": 1, "1217": 1, "1721": 1}


def _not_in_stock(partner: PartnerSetup, dates: list[tuple[str, str]]) -> dict[str, Any]:
    body = order_body(partner, dates)
    body["partner_details"]["instock"] = False
    return body


def _dates(*entries: tuple[str, str]) -> dict[str, Any]:
    return {"datetime": [{"date": d, "timeslot": s} for d, s in entries]}


# ---------------------------------------------------------------------------------------------
# List and get


async def test_list_is_newest_first_and_only_the_callers_orders(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner, other = await make_partner(state), await make_partner(state)
    headers, other_headers = await login(client, partner), await login(client, other)
    day = local_day(state.now(), 2)
    mine = [
        (await create(client, headers, order_body(partner, [(day, slot)])))["_id"]
        for slot in ("0712", "1217", "1721")
    ]
    theirs = (await create(client, other_headers, order_body(other, [(day, "1217")])))["_id"]

    assert await order_ids(client, headers) == mine[::-1]
    assert await order_ids(client, other_headers) == [theirs]


async def test_list_pages_with_limit_and_skip(client: httpx.AsyncClient, state: AppState) -> None:
    partner = await make_partner(state, masters={"0712": 9, "1217": 9, "1721": 9})
    headers = await login(client, partner)
    day = local_day(state.now(), 2)
    ids = [
        (await create(client, headers, order_body(partner, [(day, "0712")])))["_id"]
        for _ in range(5)
    ][::-1]

    assert await order_ids(client, headers, limit=2) == ids[:2]
    assert await order_ids(client, headers, limit=2, skip=2) == ids[2:4]
    assert await order_ids(client, headers, limit=2, skip=4) == ids[4:]
    assert await order_ids(client, headers, skip=5) == []


async def test_list_limit_over_100_is_rejected(client: httpx.AsyncClient, state: AppState) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)

    response = await client.get("/partner/order/list", params={"limit": 101}, headers=headers)

    assert field_errors(response) == {"limit": "max"}


async def test_list_item_has_the_full_order_shape(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    image = await upload_image(client, headers)
    day = local_day(state.now(), 2)
    body = order_body(
        partner, [(day, "1721"), (day, "0712")], payment_method="stripe", image_uuids=[image]
    )
    created = await create(client, headers, body)

    listed = ok_data(await client.get("/partner/order/list", headers=headers))

    assert len(listed) == 1
    order = listed[0]
    assert {key: order[key] for key in created if key != "partner_details"} == {
        key: value for key, value in created.items() if key != "partner_details"
    }
    assert order["partner_details"] == {
        **created["partner_details"],
        "delivery_type": "to_door_by_lift",
    }
    assert order["datetime"] == body["datetime"]
    assert order["booked"] == {"date": day, "timeslot": "1721"}
    assert order["customer"] == {
        "phone_number": "+37120000000",
        "first_name": "Anna",
        "last_name": "Ozola",
    }
    assert order["address"] == body["address"]
    assert order["items"] == [
        {"id": partner.items[0], "count": 1, "delivery": True, "assembly": True}
    ]
    assert order["payment_method"] == "stripe"
    assert order["image_uuids"] == [image]
    assert order == await get(client, headers, created["_id"])


async def _three_orders(
    client: httpx.AsyncClient, state: AppState
) -> tuple[PartnerSetup, dict[str, str], dict[str, int]]:
    """A partner with two stores and orders ``pax`` (store 0), ``malm`` and ``lack`` (store 1);
    ``lack`` is cancelled."""
    partner = await make_partner(
        state,
        stores=2,
        items=[item_doc("PAX wardrobe"), item_doc("MALM bed frame"), item_doc("LACK side table")],
    )
    headers = await login(client, partner)
    day = local_day(state.now(), 2)
    customers = {
        "pax": ("Kalnina", "+371 29 111 111"),
        "malm": ("Ozola", "+371 29 222 222"),
        "lack": ("Liepa", "+371 29 333 333"),
    }
    ids = {}
    for index, (name, (last_name, phone)) in enumerate(customers.items()):
        body = order_body(partner, [(day, "1217")])
        body["customer"].update(last_name=last_name, phone_number=phone)
        body["partner_details"]["items"] = [{"id": partner.items[index], "count": 1}]
        body["partner_details"]["store_id"] = partner.stores[min(index, 1)]
        ids[name] = (await create(client, headers, body))["_id"]
    ok_data(await client.post(f"/partner/order/{ids['lack']}/cancel", headers=headers))
    return partner, headers, ids


async def test_filter_as_json_matches_title_last_name_and_phone(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner, headers, ids = await _three_orders(client, state)

    async def matching(**flt: Any) -> list[int]:
        return await order_ids(client, headers, filter=json.dumps(flt))

    assert await matching(query="malm") == [ids["malm"]]
    assert await matching(query="KALNINA") == [ids["pax"]]
    assert await matching(query="29111111") == [ids["pax"]]
    assert await matching(query="+371 29 222 222") == [ids["malm"]]
    assert await matching(query="nobody") == []
    assert await matching(store_ids=[partner.stores[1]]) == [ids["lack"], ids["malm"]]
    assert await matching(filter=["open"]) == [ids["malm"], ids["pax"]]
    assert await matching(filter=["cancelled"], store_ids=[partner.stores[1]]) == [ids["lack"]]


async def test_filter_in_bracket_form(client: httpx.AsyncClient, state: AppState) -> None:
    partner, headers, ids = await _three_orders(client, state)

    async def matching(*params: tuple[str, str]) -> list[int]:
        data = ok_data(
            await client.get("/partner/order/list", params=list(params), headers=headers)
        )
        return [order["_id"] for order in data]

    assert await matching(("filter[query]", "ozola")) == [ids["malm"]]
    assert await matching(("filter[store_ids][]", partner.stores[0])) == [ids["pax"]]
    assert await matching(
        ("filter[store_ids][]", partner.stores[0]), ("filter[store_ids][]", partner.stores[1])
    ) == [ids["lack"], ids["malm"], ids["pax"]]
    assert await matching(("filter[filter][]", "open")) == [ids["malm"], ids["pax"]]
    assert await matching(
        ("filter[filter][]", "open"), ("filter[store_ids][]", partner.stores[1])
    ) == [ids["malm"]]
    assert await matching(("filter[filter][]", "cancelled"), ("filter[query]", "liepa")) == [
        ids["lack"]
    ]


async def test_store_filter_never_reaches_another_partners_orders(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner, other = await make_partner(state), await make_partner(state)
    headers = await login(client, partner)
    await create(
        client, await login(client, other), order_body(other, [(local_day(state.now(), 2), "1217")])
    )

    assert await order_ids(client, headers, filter=json.dumps({"store_ids": other.stores})) == []


async def test_malformed_filter_json_is_422_on_filter(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)

    response = await client.get(
        "/partner/order/list", params={"filter": '{"query": '}, headers=headers
    )

    assert list(field_errors(response)) == ["filter"]


async def test_filter_of_the_wrong_type_names_the_filter_field(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)

    as_json = await client.get(
        "/partner/order/list",
        headers=headers,
        params={"filter": json.dumps({"query": 5, "filter": "open"})},
    )
    as_brackets = await client.get(
        "/partner/order/list", headers=headers, params={"filter[store_ids]": "store-1"}
    )

    assert field_errors(as_json) == {"filter.query": "type", "filter.filter": "type"}
    assert field_errors(as_brackets) == {"filter.store_ids": "type"}


async def test_order_of_another_partner_is_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner, other = await make_partner(state), await make_partner(state)
    created = await create(
        client, await login(client, other), order_body(other, [(local_day(state.now(), 2), "1217")])
    )
    headers = await login(client, partner)

    for path in ("", "/instock", "/datetime", "/cancel"):
        method = client.get if path == "" else client.post
        kwargs: dict[str, Any] = (
            {} if path != "/datetime" else {"json": _dates((local_day(state.now(), 3), "0712"))}
        )
        response = await method(f"/partner/order/{created['_id']}{path}", headers=headers, **kwargs)
        assert error_body(response, 404)["data"] is None, path

    stored = await get(client, await login(client, other), created["_id"])
    assert stored["_status"] == "open"
    assert stored["booked"] == {"date": local_day(state.now(), 2), "timeslot": "1217"}


async def test_order_id_that_is_not_a_stored_number_is_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    order = await create(
        client, headers, order_body(partner, [(local_day(state.now(), 2), "1217")])
    )
    arabic_indic = str(order["_id"]).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))

    for raw in (
        "abc",
        "-1",
        "1.0",
        "999999999",
        "2147483648",
        "99999999999",
        "1" * 40,
        arabic_indic,
    ):
        error_body(await client.get(f"/partner/order/{raw}", headers=headers), 404)
        error_body(await client.post(f"/partner/order/{raw}/cancel", headers=headers), 404)
    assert (await get(client, headers, order["_id"]))["_status"] == "open"


# ---------------------------------------------------------------------------------------------
# Mark in stock


async def test_instock_books_the_first_free_stored_preference(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=ONE_MASTER)
    headers = await login(client, partner)
    day = local_day(state.now(), 2)
    waiting = await create(client, headers, _not_in_stock(partner, [(day, "0712"), (day, "1217")]))
    await create(client, headers, order_body(partner, [(day, "0712")]))

    data = ok_data(await client.post(f"/partner/order/{waiting['_id']}/instock", headers=headers))

    assert (data["_status"], data["_substatus"]) == ("open", "awaiting_master_request")
    assert data["partner_details"]["instock"] is True
    assert data["booked"] == {"date": day, "timeslot": "1217"}
    assert (await free_slots(client, partner.stores[0]))[day]["1217"] is False


async def test_instock_with_every_preference_full_waits_for_a_date(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=ONE_MASTER)
    headers = await login(client, partner)
    day = local_day(state.now(), 2)
    waiting = await create(client, headers, _not_in_stock(partner, [(day, "0712")]))
    await create(client, headers, order_body(partner, [(day, "0712")]))

    data = ok_data(await client.post(f"/partner/order/{waiting['_id']}/instock", headers=headers))

    assert (data["_status"], data["_substatus"]) == ("open", "in_stock_awaiting_date")
    assert data["partner_details"]["instock"] is True
    assert data["booked"] is None

    rebooked = ok_data(
        await client.post(
            f"/partner/order/{waiting['_id']}/datetime", json=_dates((day, "1721")), headers=headers
        )
    )

    assert rebooked["_substatus"] == "awaiting_master_request"
    assert rebooked["booked"] == {"date": day, "timeslot": "1721"}


# ---------------------------------------------------------------------------------------------
# Change dates


async def test_changing_dates_releases_the_old_booking_and_books_anew(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=ONE_MASTER)
    headers = await login(client, partner)
    day, later = local_day(state.now(), 2), local_day(state.now(), 5)
    order = await create(client, headers, order_body(partner, [(day, "0712")]))
    assert (await free_slots(client, partner.stores[0]))[day]["0712"] is False

    data = ok_data(
        await client.post(
            f"/partner/order/{order['_id']}/datetime",
            json=_dates((later, "1721"), (day, "1217")),
            headers=headers,
        )
    )

    assert data["booked"] == {"date": later, "timeslot": "1721"}
    assert data["datetime"] == _dates((later, "1721"), (day, "1217"))["datetime"]
    assert data["_substatus"] == "awaiting_master_request"
    slots = await free_slots(client, partner.stores[0])
    assert slots[day]["0712"] is True
    assert slots[later]["1721"] is False
    taker = await create(client, headers, order_body(partner, [(day, "0712")]))
    assert (await get(client, headers, taker["_id"]))["booked"] == {"date": day, "timeslot": "0712"}


async def test_changing_dates_to_full_slots_keeps_the_old_booking(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=ONE_MASTER)
    headers = await login(client, partner)
    day = local_day(state.now(), 2)
    order = await create(client, headers, order_body(partner, [(day, "0712")]))
    await create(client, headers, order_body(partner, [(day, "1217")]))
    events_before = len(await order_events(state, order["_id"]))

    response = await client.post(
        f"/partner/order/{order['_id']}/datetime", json=_dates((day, "1217")), headers=headers
    )

    assert field_errors(response) == {"datetime": "unavailable"}
    stored = await get(client, headers, order["_id"])
    assert stored["booked"] == {"date": day, "timeslot": "0712"}
    assert stored["datetime"] == _dates((day, "0712"))["datetime"]
    assert (await free_slots(client, partner.stores[0]))[day] == {
        "0712": False,
        "1217": False,
        "1721": True,
    }
    assert len(await order_events(state, order["_id"])) == events_before


async def test_changing_dates_to_the_same_slot_keeps_it(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=ONE_MASTER)
    headers = await login(client, partner)
    day = local_day(state.now(), 2)
    order = await create(client, headers, order_body(partner, [(day, "0712")]))

    data = ok_data(
        await client.post(
            f"/partner/order/{order['_id']}/datetime", json=_dates((day, "0712")), headers=headers
        )
    )

    assert data["booked"] == {"date": day, "timeslot": "0712"}
    assert (await free_slots(client, partner.stores[0]))[day]["0712"] is False


async def test_changing_dates_checks_the_window_and_the_timeslot(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    now = state.now()
    order = await create(client, headers, order_body(partner, [(local_day(now, 2), "0712")]))

    outside = _dates((local_day(now, -1), "0712"), (local_day(now, 31), "0712"))
    past = await client.post(
        f"/partner/order/{order['_id']}/datetime", json=outside, headers=headers
    )
    slot = await client.post(
        f"/partner/order/{order['_id']}/datetime",
        json=_dates((local_day(now, 3), "0000")),
        headers=headers,
    )
    empty = await client.post(
        f"/partner/order/{order['_id']}/datetime", json={"datetime": []}, headers=headers
    )

    assert field_errors(past) == {"datetime.0.date": "min", "datetime.1.date": "max"}
    assert field_errors(slot) == {"datetime.0.timeslot": "enum"}
    assert field_errors(empty) == {"datetime": "min"}
    assert (await get(client, headers, order["_id"]))["booked"] == {
        "date": local_day(now, 2),
        "timeslot": "0712",
    }


async def test_changing_dates_of_an_order_not_in_stock_only_stores_them(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=ONE_MASTER)
    headers = await login(client, partner)
    day = local_day(state.now(), 2)
    order = await create(client, headers, _not_in_stock(partner, [(day, "0712")]))

    data = ok_data(
        await client.post(
            f"/partner/order/{order['_id']}/datetime", json=_dates((day, "1721")), headers=headers
        )
    )

    assert (data["_substatus"], data["booked"]) == ("not_in_stock", None)
    assert data["datetime"] == _dates((day, "1721"))["datetime"]
    assert (await free_slots(client, partner.stores[0]))[day]["1721"] is True


# ---------------------------------------------------------------------------------------------
# Cancel


async def test_cancel_sets_cancelled_and_releases_the_master(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=ONE_MASTER)
    headers = await login(client, partner)
    day = local_day(state.now(), 2)
    order = await create(client, headers, order_body(partner, [(day, "1217")]))

    data = ok_data(await client.post(f"/partner/order/{order['_id']}/cancel", headers=headers))

    assert (data["_status"], data["_substatus"], data["booked"]) == ("cancelled", "cancelled", None)
    assert (await get(client, headers, order["_id"]))["_status"] == "cancelled"
    assert (await free_slots(client, partner.stores[0]))[day]["1217"] is True
    taker = await create(client, headers, order_body(partner, [(day, "1217")]))
    assert (await get(client, headers, taker["_id"]))["booked"] == {"date": day, "timeslot": "1217"}


async def test_cancelling_twice_is_a_conflict(client: httpx.AsyncClient, state: AppState) -> None:
    partner = await make_partner(state, masters=ONE_MASTER)
    headers = await login(client, partner)
    day = local_day(state.now(), 2)
    order = await create(client, headers, order_body(partner, [(day, "1217")]))
    ok_data(await client.post(f"/partner/order/{order['_id']}/cancel", headers=headers))
    await create(client, headers, order_body(partner, [(day, "1217")]))

    response = await client.post(f"/partner/order/{order['_id']}/cancel", headers=headers)

    error_body(response, 409)
    # A second release would have freed the slot the other order now holds.
    assert (await free_slots(client, partner.stores[0]))[day]["1217"] is False


async def test_racing_cancels_release_the_master_once(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters={"0712": 2, "1217": 2, "1721": 2})
    headers = await login(client, partner)
    day = local_day(state.now(), 2)
    order = await create(client, headers, order_body(partner, [(day, "1217")]))
    await create(client, headers, order_body(partner, [(day, "1217")]))

    responses = await asyncio.gather(
        *(client.post(f"/partner/order/{order['_id']}/cancel", headers=headers) for _ in range(4))
    )

    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409]
    await create(client, headers, order_body(partner, [(day, "1217")]))
    third = await client.post(
        "/partner/order/create", headers=headers, json=order_body(partner, [(day, "1217")])
    )
    assert field_errors(third) == {"datetime": "unavailable"}


async def test_changing_dates_of_a_cancelled_order_is_a_conflict(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=ONE_MASTER)
    headers = await login(client, partner)
    day = local_day(state.now(), 2)
    order = await create(client, headers, order_body(partner, [(day, "1217")]))
    ok_data(await client.post(f"/partner/order/{order['_id']}/cancel", headers=headers))

    response = await client.post(
        f"/partner/order/{order['_id']}/datetime", json=_dates((day, "1721")), headers=headers
    )

    error_body(response, 409)
    stored = await get(client, headers, order["_id"])
    assert (stored["_status"], stored["booked"]) == ("cancelled", None)
    assert (await free_slots(client, partner.stores[0]))[day]["1721"] is True


async def test_marking_a_cancelled_order_in_stock_is_a_conflict(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=ONE_MASTER)
    headers = await login(client, partner)
    day = local_day(state.now(), 2)
    order = await create(client, headers, _not_in_stock(partner, [(day, "1217")]))
    ok_data(await client.post(f"/partner/order/{order['_id']}/cancel", headers=headers))

    response = await client.post(f"/partner/order/{order['_id']}/instock", headers=headers)

    error_body(response, 409)
    assert (await get(client, headers, order["_id"]))["booked"] is None
    assert (await free_slots(client, partner.stores[0]))[day]["1217"] is True


# ---------------------------------------------------------------------------------------------
# History


async def test_every_change_is_recorded_as_an_order_event_and_an_outbox_event(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters=ONE_MASTER)
    headers = await login(client, partner)
    day = local_day(state.now(), 2)
    order = await create(client, headers, _not_in_stock(partner, [(day, "0712")]))
    order_id = order["_id"]
    ok_data(await client.post(f"/partner/order/{order_id}/instock", headers=headers))
    ok_data(
        await client.post(
            f"/partner/order/{order_id}/datetime", json=_dates((day, "1721")), headers=headers
        )
    )
    ok_data(await client.post(f"/partner/order/{order_id}/cancel", headers=headers))

    events = await order_events(state, order_id)
    assert [(e.from_status, e.from_substatus, e.to_status, e.to_substatus) for e in events] == [
        (None, None, "open", "not_in_stock"),
        ("open", "not_in_stock", "open", "awaiting_master_request"),
        ("open", "awaiting_master_request", "open", "awaiting_master_request"),
        ("open", "awaiting_master_request", "cancelled", "cancelled"),
    ]
    for event in events:
        assert partner.name in event.actor and partner.login in event.actor
        assert event.at is not None
    assert events[2].data["released"] == {"date": day, "slot": "0712"}
    assert events[2].data["booked"] == {"date": day, "slot": "1721"}

    outbox = await outbox_events(state, order_id)
    assert [e.event for e in outbox] == ["order.created"] + ["order.status_changed"] * 3
    assert [e.payload["event"] for e in outbox] == [e.event for e in outbox]
    assert [e.payload["data"]["_substatus"] for e in outbox] == [
        "not_in_stock",
        "awaiting_master_request",
        "awaiting_master_request",
        "cancelled",
    ]
    assert all(e.payload["data"]["_id"] == order_id for e in outbox)
    assert all(e.published_at is None for e in outbox)


async def test_refused_changes_leave_no_events(client: httpx.AsyncClient, state: AppState) -> None:
    partner = await make_partner(state)
    headers = await login(client, partner)
    order = await create(
        client, headers, order_body(partner, [(local_day(state.now(), 2), "1217")])
    )
    ok_data(await client.post(f"/partner/order/{order['_id']}/cancel", headers=headers))

    error_body(await client.post(f"/partner/order/{order['_id']}/cancel", headers=headers), 409)

    assert len(await order_events(state, order["_id"])) == 2
    assert len(await outbox_events(state, order["_id"])) == 2
