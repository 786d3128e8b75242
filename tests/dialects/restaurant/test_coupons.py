"""Coupons on the restaurant API: applying one to a total, its validity rules, and one-off
coupons made from a generator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from tests.conftest import FakeClock
from tests.dialects.restaurant.api_support import (
    client_headers,
    client_with,
    failed,
    first_pickup_time,
    ok,
    place_pickup_order,
    restaurant_from,
)
from tests.factories import MILANO_PLACES, RestaurantSetup, make_restaurant, restaurant_doc

from orderdesk.http.state import AppState

APPLY = "/api/coupon/apply"
GENERATE = "/api/coupon/generate"
COUPON_KEYS = {
    "code",
    "discount_perc",
    "quantity",
    "order_min",
    "valid_from",
    "valid_to",
    "valid_weekdays",
    "valid_email",
}
MONDAY_NOON = datetime(2030, 6, 3, 10, 0, tzinfo=UTC)  # 12:00 in Rome
TUESDAY_NOON = datetime(2030, 6, 4, 10, 0, tzinfo=UTC)


def _suffix(r: RestaurantSetup) -> str:
    return r.uid.removeprefix("resto-").upper()


def _coupon(code: str, **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "discount_perc": 10,
        "quantity": 5,
        "valid_from": "2020-01-01",
        "valid_to": "2099-12-31",
        **extra,
    }


async def _apply(
    client: httpx.AsyncClient, r: RestaurantSetup, code: str, total: float | str
) -> httpx.Response:
    return await client.post(APPLY, headers=r.client_headers, params={"code": code, "total": total})


async def _with_coupons(state: AppState, *coupons: dict[str, Any]) -> RestaurantSetup:
    return await make_restaurant(state, places=MILANO_PLACES, coupons=list(coupons))


async def _generate(client: httpx.AsyncClient, r: RestaurantSetup, **params: str) -> dict[str, Any]:
    response = await client.post(
        GENERATE, headers=r.client_headers, params={"gencode": f"BDAY{_suffix(r)}", **params}
    )
    coupon: dict[str, Any] = ok(response, "coupon")["coupon"]
    return coupon


def _margherita(r: RestaurantSetup, quantity: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "product": {"uid": f"{r.uid}-margherita"},
            "quantity": quantity,
            "options": [{"uid": f"{r.uid}-size", "values": [{"uid": "normale"}]}],
        }
    ]


# --- apply --------------------------------------------------------------------------------------


async def test_apply_takes_10_percent_of_25_euros(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    code = f"WELCOME{_suffix(r)}"
    body = ok(await _apply(client, r, code, 25), "coupon", "order")
    assert body["order"] == {"discount": 2.5, "total": 22.5}
    assert set(body["coupon"]) == COUPON_KEYS
    assert body["coupon"] == {
        "code": code,
        "discount_perc": 10,
        "quantity": 100,
        "order_min": 10,
        "valid_from": "2020-01-01",
        "valid_to": "2099-12-31",
        "valid_weekdays": [],
        "valid_email": None,
    }


async def test_apply_rounds_the_discount_to_the_cent(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    body = ok(await _apply(client, r, f"WELCOME{_suffix(r)}", 19.95), "coupon", "order")
    assert body["order"] == {"discount": 2, "total": 17.95}


async def test_apply_code_is_case_insensitive(client: httpx.AsyncClient, state: AppState) -> None:
    r = await make_restaurant(state)
    code = f"WELCOME{_suffix(r)}"
    body = ok(await _apply(client, r, f"  {code.lower()} ", 25), "coupon", "order")
    assert body["coupon"]["code"] == code
    assert body["order"]["discount"] == 2.5


async def test_apply_unknown_code_is_not_found(client: httpx.AsyncClient, state: AppState) -> None:
    r = await make_restaurant(state)
    failed(await _apply(client, r, "NOSUCHCODE", 25), "NOT_FOUND", names="code")


async def test_apply_another_restaurants_code_is_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    mine = await make_restaurant(state)
    theirs = await make_restaurant(state)
    failed(await _apply(client, mine, f"WELCOME{_suffix(theirs)}", 25), "NOT_FOUND", names="code")


async def test_apply_below_order_min_cannot_apply(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    message = failed(
        await _apply(client, r, f"WELCOME{_suffix(r)}", 9.99), "CANNOT_APPLY", names="code"
    )
    assert "10.00" in message


async def test_apply_at_exactly_order_min_applies(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    body = ok(await _apply(client, r, f"WELCOME{_suffix(r)}", 10), "coupon", "order")
    assert body["order"] == {"discount": 1, "total": 9}


async def test_apply_expired_coupon_cannot_apply(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _with_coupons(state, _coupon("OLD", valid_from="2020-01-01", valid_to="2021-12-31"))
    failed(await _apply(client, r, "OLD", 25), "CANNOT_APPLY", names="code")


async def test_apply_coupon_not_valid_yet_cannot_apply(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _with_coupons(state, _coupon("SOON", valid_from="2099-01-01", valid_to="2099-12-31"))
    failed(await _apply(client, r, "SOON", 25), "CANNOT_APPLY", names="code")


async def test_apply_on_the_last_valid_day_in_local_time(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await _with_coupons(state, _coupon("JUNE", valid_from="2030-06-01", valid_to="2030-06-30"))
    clock.set(datetime(2030, 6, 30, 21, 30, tzinfo=UTC))  # 23:30 on the 30th in Rome
    ok(await _apply(client, r, "JUNE", 25), "coupon", "order")
    clock.set(datetime(2030, 6, 30, 22, 30, tzinfo=UTC))  # 00:30 on 1 July in Rome
    failed(await _apply(client, r, "JUNE", 25), "CANNOT_APPLY", names="code")


async def test_apply_on_a_valid_weekday(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await _with_coupons(state, _coupon("MONDAYS", valid_weekdays=["mon"]))
    clock.set(MONDAY_NOON)
    body = ok(await _apply(client, r, "MONDAYS", 25), "coupon", "order")
    assert body["coupon"]["valid_weekdays"] == [1]
    assert body["order"] == {"discount": 2.5, "total": 22.5}


async def test_apply_on_another_weekday_cannot_apply(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await _with_coupons(state, _coupon("MONDAYS", valid_weekdays=["mon"]))
    clock.set(TUESDAY_NOON)
    failed(await _apply(client, r, "MONDAYS", 25), "CANNOT_APPLY", names="code")


async def test_apply_weekday_is_the_restaurants_local_day(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await _with_coupons(state, _coupon("MONDAYS", valid_weekdays=["mon"]))
    clock.set(datetime(2030, 6, 30, 22, 30, tzinfo=UTC))  # Sunday in UTC, Monday in Rome
    ok(await _apply(client, r, "MONDAYS", 25), "coupon", "order")


async def test_apply_used_up_coupon_cannot_apply(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await _with_coupons(state, _coupon("GONE", quantity=0))
    failed(await _apply(client, r, "GONE", 25), "CANNOT_APPLY", names="code")


async def test_apply_without_code_is_missing_parameter(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.post(APPLY, headers=r.client_headers, params={"total": 25})
    failed(response, "MISSING_PARAMETER", names="code")


async def test_apply_with_a_negative_total_is_validation_error(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    failed(await _apply(client, r, f"WELCOME{_suffix(r)}", -1), "VALIDATION_ERROR", names="total")


async def test_apply_does_not_use_the_coupon(client: httpx.AsyncClient, state: AppState) -> None:
    r = await make_restaurant(state)
    code = f"LAST{_suffix(r)}"
    for _ in range(3):
        body = ok(await _apply(client, r, code, 25), "coupon", "order")
        assert body["coupon"]["quantity"] == 1


async def test_single_use_coupon_cannot_apply_after_an_order_used_it(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state, places=MILANO_PLACES)
    code = f"LAST{_suffix(r)}"
    order = await place_pickup_order(client, r, details=_margherita(r, 2), coupon={"code": code})
    assert order["total"] == 12  # 15.00 less 20 %
    failed(await _apply(client, r, code, 25), "CANNOT_APPLY", names="code")


# --- generate -----------------------------------------------------------------------------------


async def test_generate_makes_a_one_off_coupon(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await make_restaurant(state)
    clock.set(MONDAY_NOON)
    coupon = await _generate(client, r, valid_email="Giulia@Example.com")
    assert set(coupon) == COUPON_KEYS
    assert coupon["code"].startswith(f"BDAY{_suffix(r)}-")
    assert len(coupon["code"]) > len(f"BDAY{_suffix(r)}-") + 6
    assert {k: v for k, v in coupon.items() if k != "code"} == {
        "discount_perc": 15,
        "quantity": 1,
        "order_min": 0,
        "valid_from": "2030-06-03",
        "valid_to": "2030-07-03",
        "valid_weekdays": [],
        "valid_email": "Giulia@Example.com",
    }


async def test_generate_without_email_makes_a_coupon_for_anyone(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    coupon = await _generate(client, r)
    assert coupon["valid_email"] is None
    body = ok(await _apply(client, r, coupon["code"], 20), "coupon", "order")
    assert body["order"] == {"discount": 3, "total": 17}


async def test_generate_gencode_is_case_insensitive(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.post(
        GENERATE, headers=r.client_headers, params={"gencode": f"bday{_suffix(r).lower()}"}
    )
    assert ok(response, "coupon")["coupon"]["code"].startswith(f"BDAY{_suffix(r)}-")


async def test_generated_codes_differ(client: httpx.AsyncClient, state: AppState) -> None:
    r = await make_restaurant(state)
    codes = {(await _generate(client, r))["code"] for _ in range(5)}
    assert len(codes) == 5


async def test_generated_coupon_is_usable_once(client: httpx.AsyncClient, state: AppState) -> None:
    r = await make_restaurant(state, places=MILANO_PLACES)
    coupon = await _generate(client, r, valid_email="giulia@example.com")
    order = await place_pickup_order(
        client,
        r,
        details=_margherita(r, 2),
        email="giulia@example.com",
        coupon={"code": coupon["code"].lower()},
    )
    assert order["total"] == 12.75  # 15.00 less 15 %
    failed(await _apply(client, r, coupon["code"], 25), "CANNOT_APPLY", names="code")
    again = await client.post(
        "/api/order/create",
        headers=r.client_headers,
        json={
            "client": {
                "first_name": "Giulia",
                "last_name": "Bianchi",
                "email": "giulia@example.com",
                "phone": "02 1234567",
            },
            "dmethod": "0",
            "payment_method": "cash",
            "payment_method_sub": "cash",
            "subrestaurant_uid": r.locations[0],
            "pickup": {"date": order["pickup_date"]},
            "details": _margherita(r),
            "coupon": {"code": coupon["code"]},
        },
    )
    failed(again, "COUPON_ERROR", names="coupon")


async def test_generated_coupon_is_reserved_for_its_email(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state, places=MILANO_PLACES)
    coupon = await _generate(client, r, valid_email="giulia@example.com")
    response = await client.post(
        "/api/order/create",
        headers=r.client_headers,
        json={
            "client": {
                "first_name": "Marco",
                "last_name": "Verdi",
                "email": "marco@example.com",
                "phone": "02 1234567",
            },
            "dmethod": "0",
            "payment_method": "cash",
            "payment_method_sub": "cash",
            "subrestaurant_uid": r.locations[0],
            "pickup": {"date": await first_pickup_time(client, r)},
            "details": _margherita(r),
            "coupon": {"code": coupon["code"]},
        },
    )
    failed(response, "COUPON_ERROR", names="coupon")


async def test_generate_unknown_gencode_is_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await make_restaurant(state)
    response = await client.post(
        GENERATE, headers=r.client_headers, params={"gencode": "NOSUCHGEN"}
    )
    failed(response, "NOT_FOUND", names="NOSUCHGEN")


async def test_generate_another_restaurants_gencode_is_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    mine = await make_restaurant(state)
    theirs = await make_restaurant(state)
    response = await client.post(
        GENERATE, headers=mine.client_headers, params={"gencode": f"BDAY{_suffix(theirs)}"}
    )
    failed(response, "NOT_FOUND")


async def test_generate_needs_the_write_coupons_scope(
    client: httpx.AsyncClient, state: AppState
) -> None:
    doc = restaurant_doc()
    ordering = client_with(doc["uid"], "write:orders", "read:orders", "read:menu")
    doc["clients"].append(ordering)
    r = await restaurant_from(state, doc)
    response = await client.post(
        GENERATE, headers=client_headers(ordering), params={"gencode": f"BDAY{_suffix(r)}"}
    )
    failed(response, "INSUFFICIENT_SCOPE", status=403, names="write:coupons")


async def test_generate_with_a_write_coupons_client(
    client: httpx.AsyncClient, state: AppState
) -> None:
    doc = restaurant_doc()
    marketing = client_with(doc["uid"], "write:coupons")
    doc["clients"].append(marketing)
    r = await restaurant_from(state, doc)
    response = await client.post(
        GENERATE, headers=client_headers(marketing), params={"gencode": f"BDAY{_suffix(r)}"}
    )
    assert ok(response, "coupon")["coupon"]["quantity"] == 1
