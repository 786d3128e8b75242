"""``POST /api/order/create``: the response, exact money, every delivery method, and every way an
order is refused (HTTP 200, ``success: false``, a code and a message naming the field)."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import httpx
import pytest
from tests.conftest import FakeClock
from tests.dialects.restaurant.order_support import (
    LUNCH,
    NOW,
    NOW_UTC,
    PICKUP,
    PICKUP_UTC,
    coupon_code,
    coupon_left,
    create,
    create_ok,
    delivery_body,
    failed,
    get_order,
    line,
    list_orders,
    margherita,
    ok,
    only_first_location,
    order_count,
    pickup_body,
    pickup_dates,
    restaurant,
    restaurant_events,
    set_locations,
    slot_use,
)
from tests.factories import EVERY_DAY

from orderdesk.http.state import AppState


@pytest.fixture(autouse=True)
def _fixed_now(clock: FakeClock) -> None:
    clock.set(NOW)


# --------------------------------------------------------------------------------------------
# The response


async def test_created_order_answers_every_field(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r))
    assert set(order) == {
        "uid",
        "token",
        "order_number",
        "total",
        "date",
        "confirmed",
        "delivery_fee",
        "pickup_date",
        "delivery_date",
    }
    assert isinstance(order["uid"], str) and order["uid"]
    assert isinstance(order["token"], str) and len(order["token"]) >= 22
    assert order["order_number"] == "1"
    assert order["total"] == 2.0
    assert order["date"] == NOW_UTC
    assert order["confirmed"] is False
    assert order["delivery_fee"] == 0
    assert order["pickup_date"] == PICKUP_UTC
    assert order["delivery_date"] is None


async def test_tokens_and_uids_differ_between_orders(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    first = await create_ok(client, r, pickup_body(r))
    second = await create_ok(client, r, pickup_body(r))
    assert first["uid"] != second["uid"]
    assert first["token"] != second["token"]


async def test_order_numbers_are_sequential_per_restaurant(
    client: httpx.AsyncClient, state: AppState
) -> None:
    one, two = await restaurant(state), await restaurant(state)
    numbers = []
    for r in (one, two, one, one, two):
        numbers.append((await create_ok(client, r, pickup_body(r)))["order_number"])
    assert numbers == ["1", "1", "2", "3", "2"]


async def test_timezone_aware_pickup_date_is_read_as_that_instant(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r, when="2031-03-10T10:00:00Z"))
    assert order["pickup_date"] == PICKUP_UTC
    # and it is the local 11:00 that the list shows and that the times answer offered
    listed = await get_order(client, r, order["uid"])
    assert listed["pickup"]["date"] == PICKUP  # 10:00 UTC is 11:00 in Milano


# --------------------------------------------------------------------------------------------
# Money


async def test_maxi_with_two_mozzarellas_times_two(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r, details=[margherita(r, 2, "maxi", mozz=2)])
    assert (await create_ok(client, r, body))["total"] == 25.0  # 2 x (7.50 + 3.00 + 2 x 1.00)


async def test_gluten_free_replaces_the_base_price(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r, details=[margherita(r, 1, "gluten-free", basil=1)])
    assert (await create_ok(client, r, body))["total"] == 10.5  # 10.00 instead of 7.50, + 0.50


async def test_no_cheese_subtracts_from_the_price(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r, details=[margherita(r, 3, no_cheese=1)])
    assert (await create_ok(client, r, body))["total"] == 20.1  # 3 x (7.50 - 0.80)


async def test_lines_add_up(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    body = pickup_body(r, details=[margherita(r, 1, "maxi", mozz=1, basil=2), line(r, "acqua", 3)])
    # 7.50 + 3.00 + 1.00 + 2 x 0.50 = 12.50, and 3 x 2.00
    assert (await create_ok(client, r, body))["total"] == 18.5


# --------------------------------------------------------------------------------------------
# Delivery methods


async def test_pickup_without_a_date_is_missing_parameter(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    failed(await create(client, r, pickup_body(r, when=None)), "MISSING_PARAMETER", "pickup.date")
    assert await order_count(state, r) == 0


async def test_home_delivery_adds_the_zone_fee(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, delivery_body(r))
    assert order["delivery_fee"] == 2.5  # Centro zone
    assert order["total"] == 27.5  # 25.00 + 2.50
    assert order["delivery_date"] == "2031-03-10T11:00:00Z"  # 12:00 in Milano
    assert order["pickup_date"] is None


async def test_delivery_farther_away_takes_the_outer_zone_fee(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, delivery_body(r, "corso-buenos-aires-50-milano"))
    assert order["delivery_fee"] == 4.5  # Fuori zone
    assert order["total"] == 29.5


async def test_delivery_below_the_zone_minimum_is_refused(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = delivery_body(r, details=[margherita(r, 1)])  # 7.50 < 15.00 in Centro
    message = failed(await create(client, r, body), "VALIDATION_ERROR", "delivery.address.place_id")
    assert "minimum" in message and "15.00" in message
    assert await order_count(state, r) == 0


async def test_delivery_minimum_counts_the_order_before_the_fee(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = delivery_body(r, details=[margherita(r, 2)])  # exactly 15.00
    assert (await create_ok(client, r, body))["total"] == 17.5


async def test_delivery_to_an_unknown_place_is_invalid_address(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    failed(
        await create(client, r, delivery_body(r, "nowhere-1-milano")),
        "INVALID_ADDRESS",
        "delivery.address.place_id",
    )


async def test_delivery_outside_every_zone_is_invalid_address(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    failed(
        await create(client, r, delivery_body(r, "piazza-duomo-bergamo")),
        "INVALID_ADDRESS",
        "delivery.address.place_id",
    )
    assert await order_count(state, r) == 0


async def test_delivery_without_date_and_address_is_missing_parameter(
    client: httpx.AsyncClient, state: AppState
) -> None:
    """The seed: ``delivery`` is required for dmethod 1; without it an order would be stored
    with no address, no fee and the zone's minimum unchecked."""
    r = await restaurant(state)
    body = delivery_body(r)
    del body["delivery"]
    failed(await create(client, r, body), "MISSING_PARAMETER", "delivery")
    body["delivery"] = None
    failed(await create(client, r, body), "MISSING_PARAMETER", "delivery")
    body["pickup"] = {"date": PICKUP}  # a pickup time does not stand in for it
    failed(await create(client, r, body), "MISSING_PARAMETER", "delivery")
    assert await order_count(state, r) == 0


@pytest.mark.parametrize("dmethod", ["0t", "20", "0e-7", "dcf-3"])
async def test_methods_without_a_time_need_no_date(
    client: httpx.AsyncClient, state: AppState, dmethod: str
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r, when=None, dmethod=dmethod))
    assert order["total"] == 2.0
    assert order["delivery_fee"] == 0
    assert order["delivery_date"] is None
    got = await get_order(client, r, order["uid"])
    assert got["dmethod"] == dmethod


async def test_dmethod_not_enabled_is_refused(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    failed(
        await create(client, r, pickup_body(r, when=None, dmethod="0e-99")),
        "VALIDATION_ERROR",
        "dmethod",
    )


async def test_delivery_is_refused_where_only_pickup_is_enabled(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state, dmethods=["0"])
    failed(await create(client, r, delivery_body(r)), "VALIDATION_ERROR", "dmethod")
    await create_ok(client, r, pickup_body(r))


# --------------------------------------------------------------------------------------------
# Products and options


async def test_unknown_product_is_product_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r, details=[line(r, "acqua"), line(r, "calzone")])
    failed(await create(client, r, body), "PRODUCT_NOT_FOUND", "details.1.product.uid")


async def test_another_restaurants_product_is_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r, other = await restaurant(state), await restaurant(state)
    body = pickup_body(r, details=[line(other, "acqua")])
    failed(await create(client, r, body), "PRODUCT_NOT_FOUND", "details.0.product.uid")


async def test_hidden_product_is_not_available(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    failed(
        await create(client, r, pickup_body(r, details=[line(r, "hidden")])),
        "PRODUCT_NOT_AVAILABLE",
        "details.0.product.uid",
    )


async def test_sold_out_product_is_not_available(
    client: httpx.AsyncClient, state: AppState
) -> None:
    def water_sold_out(doc: dict[str, Any]) -> None:
        doc["products"][1]["available"] = False

    r = await restaurant(state, water_sold_out)
    failed(
        await create(client, r, pickup_body(r)), "PRODUCT_NOT_AVAILABLE", "details.0.product.uid"
    )


async def test_product_of_another_location_is_not_available(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r, details=[line(r, "navigli-only")])
    failed(await create(client, r, body), "PRODUCT_NOT_AVAILABLE", "details.0.product.uid")
    sold_there = pickup_body(r, location=1, details=[line(r, "navigli-only")])
    assert (await create_ok(client, r, sold_there))["total"] == 9.5


async def test_unknown_option_is_option_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(
        r, details=[line(r, "margherita", size=[{"uid": "maxi"}], sauce=[{"uid": "bbq"}])]
    )
    failed(await create(client, r, body), "OPTION_NOT_FOUND", "details.0.options.1.uid")


async def test_unknown_option_value_is_option_value_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r, details=[margherita(r, 1, "huge")])
    failed(
        await create(client, r, body), "OPTION_VALUE_NOT_FOUND", "details.0.options.0.values.0.uid"
    )


async def test_hidden_option_value_is_not_found(client: httpx.AsyncClient, state: AppState) -> None:
    def no_maxi_today(doc: dict[str, Any]) -> None:
        doc["products"][0]["options"][0]["option_values"][1]["hidden"] = True

    r = await restaurant(state, no_maxi_today)
    body = pickup_body(r, details=[margherita(r, 1, "maxi")])
    failed(
        await create(client, r, body), "OPTION_VALUE_NOT_FOUND", "details.0.options.0.values.0.uid"
    )


async def test_single_option_with_two_values_is_refused(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(
        r, details=[line(r, "margherita", size=[{"uid": "normale"}, {"uid": "maxi"}])]
    )
    failed(await create(client, r, body), "VALIDATION_ERROR", "details.0.options.0.values")


async def test_missing_required_option_is_refused(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r, details=[line(r, "margherita", extra=[{"uid": "mozz"}])])
    message = failed(await create(client, r, body), "VALIDATION_ERROR", "details.0.options")
    assert f"{r.uid}-size" in message


async def test_value_quantity_over_max_quantity_is_refused(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r, details=[margherita(r, 1, mozz=3)])  # max_quantity 2
    failed(
        await create(client, r, body), "VALIDATION_ERROR", "details.0.options.1.values.0.quantity"
    )


async def test_more_values_than_max_selectable_is_refused(
    client: httpx.AsyncClient, state: AppState
) -> None:
    def two_extras_at_most(doc: dict[str, Any]) -> None:
        doc["products"][0]["options"][1]["max_selectable"] = 2

    r = await restaurant(state, two_extras_at_most)
    three = pickup_body(r, details=[margherita(r, 1, mozz=1, basil=1, no_cheese=1)])
    failed(await create(client, r, three), "VALIDATION_ERROR", "details.0.options.1.values")
    two = pickup_body(r, details=[margherita(r, 1, mozz=1, basil=1)])
    assert (await create_ok(client, r, two))["total"] == 9.0


@pytest.mark.parametrize("quantity", [0, 100])
async def test_line_quantity_outside_1_to_99_is_refused(
    client: httpx.AsyncClient, state: AppState, quantity: int
) -> None:
    r = await restaurant(state)
    body = pickup_body(r, details=[line(r, "acqua", quantity)])
    failed(await create(client, r, body), "VALIDATION_ERROR", "details.0.quantity")


async def test_line_quantity_99_is_accepted(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    body = pickup_body(r, details=[line(r, "acqua", 99)])
    assert (await create_ok(client, r, body))["total"] == 198.0


async def test_empty_details_are_refused(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    failed(await create(client, r, pickup_body(r, details=[])), "VALIDATION_ERROR", "details")


# --------------------------------------------------------------------------------------------
# Client and payment


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "anna.example.com"), ("email", "anna@"), ("phone", "not a phone"), ("phone", "12")],
)
async def test_malformed_contact_is_validation_error(
    client: httpx.AsyncClient, state: AppState, field: str, value: str
) -> None:
    r = await restaurant(state)
    body = pickup_body(r)
    body["client"][field] = value
    failed(await create(client, r, body), "VALIDATION_ERROR", f"client.{field}")


async def test_missing_client_is_missing_parameter(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r)
    del body["client"]
    failed(await create(client, r, body), "MISSING_PARAMETER", "client")


async def test_client_without_email_is_missing_parameter(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r)
    del body["client"]["email"]
    failed(await create(client, r, body), "MISSING_PARAMETER", "client.email")


async def test_cash_without_sub_method_is_missing_parameter(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r)
    del body["payment_method_sub"]
    failed(await create(client, r, body), "MISSING_PARAMETER", "payment_method_sub")


async def test_unknown_cash_sub_method_is_validation_error(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r, payment_method_sub="bitcoin")
    failed(await create(client, r, body), "VALIDATION_ERROR", "payment_method_sub")


async def test_unknown_payment_method_is_validation_error(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    failed(
        await create(client, r, pickup_body(r, payment_method="paypal")),
        "VALIDATION_ERROR",
        "payment_method",
    )


@pytest.mark.parametrize("method", ["invoice", "external"])
async def test_invoice_and_external_need_no_sub_method(
    client: httpx.AsyncClient, state: AppState, method: str
) -> None:
    r = await restaurant(state)
    body = pickup_body(r, payment_method=method)
    del body["payment_method_sub"]
    order = await create_ok(client, r, body)
    assert (await get_order(client, r, order["uid"]))["payment_method"] == method


# --------------------------------------------------------------------------------------------
# Locations


async def test_unknown_subrestaurant_is_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r, subrestaurant_uid=f"{r.uid}-duomo")
    failed(await create(client, r, body), "SUBRESTAURANT_NOT_FOUND", "subrestaurant_uid")


async def test_another_restaurants_location_is_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r, other = await restaurant(state), await restaurant(state)
    body = pickup_body(r, subrestaurant_uid=other.locations[0])
    failed(await create(client, r, body), "SUBRESTAURANT_NOT_FOUND", "subrestaurant_uid")


async def test_missing_subrestaurant_with_two_locations_is_a_missing_parameter(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    body = pickup_body(r)
    del body["subrestaurant_uid"]
    failed(await create(client, r, body), "MISSING_PARAMETER", "subrestaurant_uid")
    assert await order_count(state, r) == 0


async def test_single_location_restaurant_needs_no_subrestaurant(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state, only_first_location)
    body = pickup_body(r)
    del body["subrestaurant_uid"]
    order = await create_ok(client, r, body)
    assert (await get_order(client, r, order["uid"]))["subrestaurant_uid"] == r.locations[0]


# --------------------------------------------------------------------------------------------
# Times


async def test_pickup_outside_opening_hours_is_refused(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state, set_locations(opening_hours={d: LUNCH for d in EVERY_DAY}))
    failed(
        await create(client, r, pickup_body(r, when="2031-03-10 22:00:00")),
        "VALIDATION_ERROR",
        "pickup.date",
    )
    failed(
        await create(client, r, pickup_body(r, when="2031-03-10 14:30:00")),
        "VALIDATION_ERROR",
        "pickup.date",
    )
    assert (await create_ok(client, r, pickup_body(r, when="2031-03-10 14:15:00")))[
        "pickup_date"
    ] == "2031-03-10T13:15:00Z"


async def test_pickup_on_a_closed_day_is_refused(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state, set_locations(opening_hours={"tue": LUNCH}))
    failed(
        await create(client, r, pickup_body(r, when="2031-03-10 12:00:00")),
        "VALIDATION_ERROR",
        "pickup.date",
    )
    await create_ok(client, r, pickup_body(r, when="2031-03-11 12:00:00"))


async def test_pickup_inside_the_lead_time_is_refused(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    # now is 10:07:30; 20 minutes of lead make 10:30 the first bookable time
    failed(
        await create(client, r, pickup_body(r, when="2031-03-10 10:15:00")),
        "VALIDATION_ERROR",
        "pickup.date",
    )
    await create_ok(client, r, pickup_body(r, when="2031-03-10 10:30:00"))


async def test_pickup_in_the_past_is_refused(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    failed(
        await create(client, r, pickup_body(r, when="2031-03-09 12:00:00")),
        "VALIDATION_ERROR",
        "pickup.date",
    )


async def test_pickup_off_a_slot_start_is_refused(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    for when in ("2031-03-10 11:05:00", "2031-03-10 11:00:30"):
        failed(
            await create(client, r, pickup_body(r, when=when)), "VALIDATION_ERROR", "pickup.date"
        )
    assert await order_count(state, r) == 0


async def test_pickup_beyond_the_seven_day_horizon_is_refused(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    failed(
        await create(client, r, pickup_body(r, when="2031-03-17 12:00:00")),
        "VALIDATION_ERROR",
        "pickup.date",
    )
    await create_ok(client, r, pickup_body(r, when="2031-03-16 23:45:00"))


async def test_delivery_time_is_checked_too(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    failed(
        await create(client, r, delivery_body(r, when="2031-03-10 12:10:00")),
        "VALIDATION_ERROR",
        "delivery.date",
    )


async def test_full_slot_refuses_the_next_order(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state, set_locations(orders_per_slot=1))
    await create_ok(client, r, pickup_body(r))
    message = failed(await create(client, r, pickup_body(r)), "VALIDATION_ERROR", "pickup.date")
    assert "full" in message
    assert await order_count(state, r) == 1
    await create_ok(client, r, pickup_body(r, when="2031-03-10 11:15:00"))
    await create_ok(client, r, pickup_body(r, location=1))  # the other location has its own


async def test_slot_takes_orders_per_slot_orders(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    for _ in range(4):
        await create_ok(client, r, pickup_body(r))
    failed(await create(client, r, pickup_body(r)), "VALIDATION_ERROR", "pickup.date")
    assert await slot_use(state, r.locations[0], date(2031, 3, 10), "11:00") == 4


# --------------------------------------------------------------------------------------------
# Coupons


async def test_coupon_takes_its_discount_and_is_kept_on_the_order(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    code = coupon_code(r, "WELCOME")
    body = pickup_body(r, details=[margherita(r, 2, "maxi")], coupon={"code": code.lower()})
    order = await create_ok(client, r, body)
    assert order["total"] == 18.9  # 21.00 - 10 %
    assert (await get_order(client, r, order["uid"]))["coupon"] == {"code": code, "discount": 2.1}
    assert await coupon_left(state, r, code) == 99


async def test_coupon_discount_leaves_the_delivery_fee_alone(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, delivery_body(r, coupon={"code": coupon_code(r, "WELCOME")}))
    assert order["total"] == 25.0  # 25.00 - 2.50 + 2.50 fee
    assert order["delivery_fee"] == 2.5


async def test_unknown_coupon_is_coupon_error(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    failed(
        await create(client, r, pickup_body(r, coupon={"code": "NOPE"})),
        "COUPON_ERROR",
        "coupon.code",
    )
    assert await order_count(state, r) == 0


async def test_coupon_below_its_minimum_is_coupon_error(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    code = coupon_code(r, "WELCOME")
    message = failed(
        await create(client, r, pickup_body(r, coupon={"code": code})),
        "COUPON_ERROR",
        "coupon.code",
    )  # 2.00 < 10.00
    assert "10.00" in message
    assert await coupon_left(state, r, code) == 100


async def test_used_up_coupon_is_coupon_error(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    code = coupon_code(r, "LAST")
    first = await create_ok(client, r, pickup_body(r, coupon={"code": code}))
    assert first["total"] == 1.6
    failed(
        await create(client, r, pickup_body(r, coupon={"code": code})),
        "COUPON_ERROR",
        "coupon.code",
    )
    assert await coupon_left(state, r, code) == 0
    assert await order_count(state, r) == 1


async def test_last_coupon_use_goes_to_one_of_two_racers(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    code = coupon_code(r, "LAST")
    bodies = [
        pickup_body(r, when=when, coupon={"code": code})
        for when in ("2031-03-10 11:00:00", "2031-03-10 11:15:00")
    ]
    responses = await asyncio.gather(*(create(client, r, b) for b in bodies))
    winners = [resp for resp in responses if resp.json()["success"]]
    assert len(winners) == 1, [resp.text for resp in responses]
    for resp in responses:
        if resp is not winners[0]:
            failed(resp, "COUPON_ERROR", "coupon.code")
    assert await coupon_left(state, r, code) == 0
    # the loser left no order, no slot use and no order number behind
    loser_slot = "11:15" if winners[0].json()["order"]["pickup_date"] == PICKUP_UTC else "11:00"
    assert await slot_use(state, r.locations[0], date(2031, 3, 10), loser_slot) == 0
    assert winners[0].json()["order"]["order_number"] == "1"
    assert (await create_ok(client, r, pickup_body(r)))["order_number"] == "2"


# --------------------------------------------------------------------------------------------
# Confirmation at creation


async def test_restaurant_created_order_is_confirmed_at_once(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    order = await create_ok(client, r, pickup_body(r, creator="restaurant"))
    assert order["confirmed"] is True
    confirmation = (await get_order(client, r, order["uid"]))["confirmation"]
    assert confirmation["confirmed"] is True
    assert confirmation["countdown_end"] is None


async def test_customer_order_of_auto_confirming_restaurant_is_confirmed(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state, auto_confirm=True)
    order = await create_ok(client, r, pickup_body(r, creator="customer"))
    assert order["confirmed"] is True


async def test_unknown_creator_is_refused(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    failed(await create(client, r, pickup_body(r, creator="robot")), "VALIDATION_ERROR", "creator")


# --------------------------------------------------------------------------------------------
# A refused order leaves nothing behind


async def test_refused_order_stores_nothing(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state, set_locations(orders_per_slot=1))
    code = coupon_code(r, "LAST")
    body = pickup_body(r, coupon={"code": code}, details=[line(r, "acqua"), line(r, "hidden")])
    failed(await create(client, r, body), "PRODUCT_NOT_AVAILABLE", "details.1.product.uid")

    listed = ok(
        await list_orders(client, r, page=1), "page", "pagesize", "total_count", "more", "orders"
    )
    assert listed["total_count"] == 0 and listed["orders"] == []
    assert await slot_use(state, r.locations[0], date(2031, 3, 10), "11:00") == 0
    assert PICKUP in await pickup_dates(client, r)
    assert await coupon_left(state, r, code) == 1
    assert await restaurant_events(state, r) == []
    # the slot, the coupon and the first order number are all still there to take
    order = await create_ok(client, r, pickup_body(r, coupon={"code": code}))
    assert order["order_number"] == "1"
    assert order["pickup_date"] == PICKUP_UTC
