"""Reading orders (list, get) and their lifecycle: confirm, close, and the countdown that times an
unconfirmed order out, giving back its time slot and coupon use. Every change is an outbox
event."""

from __future__ import annotations

import asyncio
from datetime import date

import httpx
import pytest
from tests.conftest import FakeClock
from tests.dialects.restaurant.order_support import (
    EMAIL,
    FIRST_NAME,
    LAST_NAME,
    NOW,
    PHONE_E164,
    PICKUP,
    PICKUP_UTC,
    coupon_code,
    coupon_left,
    create,
    create_ok,
    delivery_body,
    expire_all,
    failed,
    get_order,
    list_orders,
    margherita,
    ok,
    outbox_events,
    pickup_body,
    pickup_dates,
    restaurant,
    restaurant_events,
    set_locations,
    slot_use,
)
from tests.factories import RestaurantSetup

from orderdesk.http.state import AppState

ORDER_KEYS = {
    "uid",
    "token",
    "date",
    "date_iso",
    "number",
    "order_number",
    "client",
    "details",
    "dmethod",
    "fee",
    "payment_method",
    "payment_method_sub",
    "paid",
    "total",
    "currency",
    "closed",
    "subrestaurant_uid",
    "notes",
    "pickup",
    "delivery",
    "coupon",
    "confirmation",
}
LIST_KEYS = ("page", "pagesize", "total_count", "more", "orders")


@pytest.fixture(autouse=True)
def _fixed_now(clock: FakeClock) -> None:
    clock.set(NOW)


async def confirm(
    client: httpx.AsyncClient, r: RestaurantSetup, uid: str, token: str
) -> httpx.Response:
    return await client.post(
        "/api/order/confirm", headers=r.key_headers, params={"uid": uid, "token": token}
    )


async def close(
    client: httpx.AsyncClient, r: RestaurantSetup, uid: str, token: str
) -> httpx.Response:
    return await client.post(
        "/api/order/close", headers=r.key_headers, params={"uid": uid, "token": token}
    )


async def event_names(state: AppState, uid: str) -> list[str]:
    return [e.event for e in await outbox_events(state, uid)]


# --------------------------------------------------------------------------------------------
# Reading


async def test_list_pages_newest_first(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    uids = [(await create_ok(client, r, pickup_body(r)))["uid"] for _ in range(3)]
    first = ok(await list_orders(client, r, page=1, pagesize=2), *LIST_KEYS)
    assert (first["page"], first["pagesize"], first["total_count"], first["more"]) == (
        1,
        2,
        3,
        True,
    )
    assert [o["uid"] for o in first["orders"]] == [uids[2], uids[1]]
    second = ok(await list_orders(client, r, page=2, pagesize=2), *LIST_KEYS)
    assert (second["page"], second["total_count"], second["more"]) == (2, 3, False)
    assert [o["uid"] for o in second["orders"]] == [uids[0]]
    beyond = ok(await list_orders(client, r, page=3, pagesize=2), *LIST_KEYS)
    assert beyond["orders"] == [] and beyond["more"] is False


async def test_list_total_counts_concurrent_orders_and_not_refused_ones(
    client: httpx.AsyncClient, state: AppState
) -> None:
    """The total comes from counts kept per database connection: orders created at once over
    several pooled connections all count, and an order refused for a full slot does not."""
    r = await restaurant(state)
    answers = await asyncio.gather(*(create(client, r, pickup_body(r)) for _ in range(12)))
    accepted = sum(1 for a in answers if a.json()["success"])
    assert 0 < accepted < 12  # the slot takes 4 orders: the others were refused
    listed = ok(await list_orders(client, r, page=1), *LIST_KEYS)
    assert listed["total_count"] == accepted == len(listed["orders"])


async def test_list_page_size_defaults_to_100(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    await create_ok(client, r, pickup_body(r))
    listed = ok(await list_orders(client, r, page=1), *LIST_KEYS)
    assert listed["pagesize"] == 100
    assert listed["total_count"] == 1 and len(listed["orders"]) == 1


async def test_list_shows_only_the_restaurants_own_orders(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r, other = await restaurant(state), await restaurant(state)
    await create_ok(client, other, pickup_body(other))
    mine = await create_ok(client, r, pickup_body(r))
    listed = ok(await list_orders(client, r, page=1), *LIST_KEYS)
    assert listed["total_count"] == 1
    assert [o["uid"] for o in listed["orders"]] == [mine["uid"]]


async def test_list_without_page_is_missing_parameter(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    failed(await list_orders(client, r), "MISSING_PARAMETER", "page")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": 1, "pagesize": 101}, "pagesize"),
        ({"page": 1, "pagesize": 0}, "pagesize"),
    ],
)
async def test_list_page_out_of_range_is_validation_error(
    client: httpx.AsyncClient, state: AppState, params: dict[str, int], field: str
) -> None:
    r = await restaurant(state)
    failed(await list_orders(client, r, **params), "VALIDATION_ERROR", field)


async def test_listed_order_is_the_same_as_got(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r))
    listed = ok(await list_orders(client, r, page=1), *LIST_KEYS)["orders"][0]
    assert listed == await get_order(client, r, order["uid"])


async def test_delivery_order_has_every_field_of_the_spec(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    code = coupon_code(r, "WELCOME")
    body = delivery_body(r, notes="ring twice", coupon={"code": code})
    body["details"][0]["notes"] = "well done"
    created = await create_ok(client, r, body)
    order = await get_order(client, r, created["uid"])

    assert set(order) == ORDER_KEYS
    assert order["uid"] == created["uid"] and order["token"] == created["token"]
    assert order["date"] == "2031-03-10 10:07:30"
    assert order["date_iso"] == "2031-03-10T09:07:30Z"
    assert order["number"] == 1 and order["order_number"] == "1"
    client_keys = {"uid", "first_name", "last_name", "phone", "email"}
    assert set(order["client"]) == client_keys
    assert isinstance(order["client"]["uid"], str) and order["client"]["uid"]
    assert {k: order["client"][k] for k in client_keys - {"uid"}} == {
        "first_name": FIRST_NAME,
        "last_name": LAST_NAME,
        "phone": PHONE_E164,
        "email": EMAIL,
    }

    (detail,) = order["details"]
    assert set(detail) == {
        "product",
        "options",
        "price",
        "price_options",
        "quantity",
        "total",
        "notes",
    }
    assert detail["product"] == {
        "uid": f"{r.uid}-margherita",
        "name": "Margherita",
        "price": 7.5,
        "category": "Pizze",
        "category_uid": f"{r.uid}-pizze",
        "ext_id": None,
    }
    assert (detail["price"], detail["price_options"], detail["quantity"], detail["total"]) == (
        7.5,
        5.0,
        2,
        25.0,
    )
    assert detail["notes"] == "well done"
    size, extra = detail["options"]
    assert set(size) == {"uid", "name", "type", "values"}
    assert (size["uid"], size["name"], size["type"]) == (f"{r.uid}-size", "Size", "single")
    assert size["values"] == [
        {
            "uid": "maxi",
            "name": "Maxi",
            "price_operator": "+",
            "price_operand": 3.0,
            "quantity": 1,
            "ext_id": None,
        }
    ]
    assert extra["type"] == "multiple"
    assert extra["values"] == [
        {
            "uid": "mozz",
            "name": "Mozzarella",
            "price_operator": "+",
            "price_operand": 1.0,
            "quantity": 2,
            "ext_id": None,
        }
    ]

    assert order["dmethod"] == "1"
    assert order["fee"] == 2.5
    assert (order["payment_method"], order["payment_method_sub"]) == ("cash", "pos")
    assert order["paid"] is False
    assert order["total"] == 25.0  # 25.00 - 2.50 coupon + 2.50 fee
    assert order["currency"] == "EUR"
    assert order["closed"] is False
    assert order["subrestaurant_uid"] == r.locations[0]
    assert order["notes"] == "ring twice"
    assert order["pickup"] is None
    delivery = order["delivery"]
    assert set(delivery) == {"date", "date_iso", "address"}
    assert (delivery["date"], delivery["date_iso"]) == (
        "2031-03-10 12:00:00",
        "2031-03-10T11:00:00Z",
    )
    address = delivery["address"]
    assert set(address) == {
        "street",
        "number",
        "city",
        "province",
        "zip",
        "country",
        "place_id",
        "lat",
        "lng",
        "kms",
        "doorbell",
        "floor",
    }
    assert {
        k: address[k]
        for k in (
            "street",
            "number",
            "city",
            "province",
            "zip",
            "country",
            "place_id",
            "lat",
            "lng",
            "doorbell",
            "floor",
        )
    } == {
        "street": "Via Dante",
        "number": "10",
        "city": "Milano",
        "province": "MI",
        "zip": "20121",
        "country": "IT",
        "place_id": "via-dante-10-milano",
        "lat": 45.466,
        "lng": 9.186,
        "doorbell": "Rossi",
        "floor": "3",
    }
    assert 0 < address["kms"] < 1
    assert order["coupon"] == {"code": code, "discount": 2.5}
    assert order["confirmation"] == {
        "confirmed": False,
        "countdown_time": 300,
        "countdown_started": "2031-03-10 10:07:30",
        "countdown_end": "2031-03-10 10:12:30",
        "timeout": False,
        "closed": False,
        "date": None,
    }


async def test_pickup_order_has_pickup_and_no_delivery(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    created = await create_ok(client, r, pickup_body(r))
    order = await get_order(client, r, created["uid"])
    assert set(order) == ORDER_KEYS
    assert order["pickup"] == {"date": PICKUP, "date_iso": "2031-03-10T10:00:00Z"}
    assert order["delivery"] is None
    assert order["coupon"] is None
    assert order["fee"] == 0
    assert order["dmethod"] == "0"


async def test_get_unknown_order_is_not_found(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    response = await client.get("/api/orders/get", headers=r.key_headers, params={"uid": "0" * 24})
    failed(response, "NOT_FOUND", "uid")


async def test_orders_can_be_read_with_a_client_too(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r))
    response = await client.get(
        "/api/orders/get", headers=r.client_headers, params={"uid": order["uid"]}
    )
    assert ok(response, "order")["order"]["uid"] == order["uid"]


# --------------------------------------------------------------------------------------------
# Confirm and close


async def test_confirm_in_time_confirms(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r))
    clock.advance(seconds=299)
    confirmed = ok(await confirm(client, r, order["uid"], order["token"]), "order")["order"]
    assert confirmed["confirmation"]["confirmed"] is True
    assert confirmed["confirmation"]["date"] == "2031-03-10 10:12:29"
    got = await get_order(client, r, order["uid"])
    assert got["confirmation"]["confirmed"] is True and got["confirmation"]["timeout"] is False
    # a confirmed order never times out
    clock.advance(seconds=600)
    await expire_all(state)
    assert (await get_order(client, r, order["uid"]))["confirmation"]["timeout"] is False


async def test_confirm_with_a_wrong_token_is_invalid_token(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r))
    token = order["token"]
    almost = token[:-1] + ("A" if token[-1] != "A" else "B")
    failed(await confirm(client, r, order["uid"], almost), "INVALID_TOKEN", "token")
    other = await create_ok(client, r, pickup_body(r))
    failed(await confirm(client, r, order["uid"], other["token"]), "INVALID_TOKEN", "token")
    assert (await get_order(client, r, order["uid"]))["confirmation"]["confirmed"] is False


async def test_confirm_unknown_order_is_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    failed(await confirm(client, r, "0" * 24, "x" * 32), "NOT_FOUND", "uid")


async def test_confirm_another_restaurants_order_is_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r, other = await restaurant(state), await restaurant(state)
    theirs = await create_ok(client, other, pickup_body(other))
    failed(await confirm(client, r, theirs["uid"], theirs["token"]), "NOT_FOUND", "uid")
    assert (await get_order(client, other, theirs["uid"]))["confirmation"]["confirmed"] is False


async def test_confirm_twice_is_fine(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r))
    ok(await confirm(client, r, order["uid"], order["token"]), "order")
    clock.advance(seconds=400)
    again = ok(await confirm(client, r, order["uid"], order["token"]), "order")["order"]
    assert again["confirmation"]["confirmed"] is True
    assert again["confirmation"]["date"] == "2031-03-10 10:07:30"  # the first confirmation
    assert (await event_names(state, order["uid"])).count("order.confirmed") == 1


async def test_confirm_after_the_countdown_is_timeout(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r))
    clock.advance(seconds=301)
    # refused even though the background has not timed the order out yet
    failed(await confirm(client, r, order["uid"], order["token"]), "TIMEOUT", "countdown")
    assert (await get_order(client, r, order["uid"]))["confirmation"]["confirmed"] is False


async def test_countdown_length_is_per_restaurant(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await restaurant(state, countdown_seconds=60)
    order = await create_ok(client, r, pickup_body(r))
    assert (await get_order(client, r, order["uid"]))["confirmation"]["countdown_time"] == 60
    clock.advance(seconds=61)
    failed(await confirm(client, r, order["uid"], order["token"]), "TIMEOUT", "countdown")


async def test_close_before_confirm_is_invalid_action(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r))
    failed(await close(client, r, order["uid"], order["token"]), "INVALID_ACTION", "confirmed")
    assert (await get_order(client, r, order["uid"]))["closed"] is False


async def test_close_after_confirm_closes(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r))
    ok(await confirm(client, r, order["uid"], order["token"]), "order")
    closed = ok(await close(client, r, order["uid"], order["token"]), "order")["order"]
    assert closed["closed"] is True and closed["confirmation"]["closed"] is True
    got = await get_order(client, r, order["uid"])
    assert got["closed"] is True and got["confirmation"]["closed"] is True


async def test_close_with_a_wrong_token_is_invalid_token(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r, creator="restaurant"))
    failed(await close(client, r, order["uid"], "not-the-token"), "INVALID_TOKEN", "token")
    failed(await close(client, r, "0" * 24, order["token"]), "NOT_FOUND", "uid")
    assert (await get_order(client, r, order["uid"]))["closed"] is False


async def test_restaurant_created_order_can_be_closed_at_once(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r, creator="restaurant"))
    closed = ok(await close(client, r, order["uid"], order["token"]), "order")["order"]
    assert closed["closed"] is True


# --------------------------------------------------------------------------------------------
# The countdown runs out


async def test_countdown_timeout_frees_the_slot_and_gives_back_the_coupon(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await restaurant(state, set_locations(orders_per_slot=1))
    code = coupon_code(r, "LAST")
    order = await create_ok(client, r, pickup_body(r, coupon={"code": code}))
    assert PICKUP not in await pickup_dates(client, r)
    assert await coupon_left(state, r, code) == 0

    clock.advance(seconds=301)
    await expire_all(state)

    confirmation = (await get_order(client, r, order["uid"]))["confirmation"]
    assert confirmation["timeout"] is True and confirmation["confirmed"] is False
    assert PICKUP in await pickup_dates(client, r)
    assert await slot_use(state, r.locations[0], date(2031, 3, 10), "11:00") == 0
    assert await coupon_left(state, r, code) == 1
    taken = await create_ok(client, r, pickup_body(r, coupon={"code": code}))
    assert taken["pickup_date"] == PICKUP_UTC
    assert (await get_order(client, r, taken["uid"]))["coupon"] == {"code": code, "discount": 0.4}


async def test_countdown_not_yet_over_keeps_the_order(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await restaurant(state, set_locations(orders_per_slot=1))
    order = await create_ok(client, r, pickup_body(r))
    clock.advance(seconds=299)
    await expire_all(state)
    assert (await get_order(client, r, order["uid"]))["confirmation"]["timeout"] is False
    assert PICKUP not in await pickup_dates(client, r)
    ok(await confirm(client, r, order["uid"], order["token"]), "order")


async def test_timed_out_order_cannot_be_confirmed_or_closed(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r))
    clock.advance(seconds=301)
    await expire_all(state)
    failed(await confirm(client, r, order["uid"], order["token"]), "TIMEOUT", "countdown")
    failed(await close(client, r, order["uid"], order["token"]), "TIMEOUT", "countdown")
    got = await get_order(client, r, order["uid"])
    assert got["confirmation"]["confirmed"] is False and got["closed"] is False


async def test_timeout_is_applied_once(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await restaurant(state, set_locations(orders_per_slot=2))
    code = coupon_code(r, "WELCOME")
    order = await create_ok(
        client, r, pickup_body(r, details=[margherita(r, 2)], coupon={"code": code})
    )
    kept = await create_ok(client, r, pickup_body(r))  # the slot's other order stays booked
    ok(await confirm(client, r, kept["uid"], kept["token"]), "order")
    clock.advance(seconds=301)
    await expire_all(state)
    clock.advance(seconds=301)
    await expire_all(state)
    assert await coupon_left(state, r, code) == 100
    assert await slot_use(state, r.locations[0], date(2031, 3, 10), "11:00") == 1
    assert (await event_names(state, order["uid"])).count("order.timeout") == 1


# --------------------------------------------------------------------------------------------
# Outbox events


async def test_every_change_writes_an_outbox_event(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r))
    assert await event_names(state, order["uid"]) == ["order.new", "order.countdown_started"]
    ok(await confirm(client, r, order["uid"], order["token"]), "order")
    ok(await close(client, r, order["uid"], order["token"]), "order")
    events = await outbox_events(state, order["uid"])
    assert [e.event for e in events] == [
        "order.new",
        "order.countdown_started",
        "order.confirmed",
        "order.closed",
    ]
    new, countdown, confirmed, closed = (e.payload for e in events)
    assert new["event"] == "order.new" and new["order"]["uid"] == order["uid"]
    assert set(new["order"]) == ORDER_KEYS
    assert countdown == {
        "event": "order.countdown_started",
        "order": {
            "uid": order["uid"],
            "token": order["token"],
            "confirmation": new["order"]["confirmation"],
        },
    }
    assert confirmed["event"] == "order.confirmed"
    assert confirmed["order"]["confirmation"]["confirmed"] is True
    assert closed["event"] == "order.closed" and closed["order"]["closed"] is True


async def test_timeout_writes_an_outbox_event(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r))
    clock.advance(seconds=301)
    await expire_all(state)
    events = await outbox_events(state, order["uid"])
    assert [e.event for e in events] == ["order.new", "order.countdown_started", "order.timeout"]
    assert events[-1].payload["event"] == "order.timeout"
    assert events[-1].payload["order"]["confirmation"]["timeout"] is True


async def test_confirmed_at_once_writes_new_and_confirmed(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r, creator="restaurant"))
    assert await event_names(state, order["uid"]) == ["order.new", "order.confirmed"]


async def test_refused_confirm_writes_no_event(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r))
    failed(await confirm(client, r, order["uid"], "wrong"), "INVALID_TOKEN", "token")
    failed(await close(client, r, order["uid"], order["token"]), "INVALID_ACTION", "confirmed")
    clock.advance(seconds=301)
    failed(await confirm(client, r, order["uid"], order["token"]), "TIMEOUT", "countdown")
    assert await event_names(state, order["uid"]) == ["order.new", "order.countdown_started"]


async def test_failed_create_writes_no_event(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    failed(
        await create(client, r, pickup_body(r, payment_method_sub="bitcoin")),
        "VALIDATION_ERROR",
        "payment_method_sub",
    )
    assert await restaurant_events(state, r) == []
    await create_ok(client, r, pickup_body(r))
    assert await restaurant_events(state, r) == ["order.new", "order.countdown_started"]
