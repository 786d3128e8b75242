"""``POST /api/order/validate_address`` and ``POST /api/order/pickup_delivery_times``."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import httpx
import pytest
from tests.conftest import FakeClock
from tests.dialects.restaurant.order_support import (
    LUNCH,
    NOW,
    create_ok,
    failed,
    ok,
    only_first_location,
    pickup_body,
    pickup_dates,
    restaurant,
    set_locations,
    times,
)
from tests.factories import MILANO_PLACES, RestaurantSetup

from orderdesk.http.state import AppState

NEAR_NAVIGLI = {
    "place_id": "ripa-di-porta-ticinese-55-milano",
    "street": "Ripa di Porta Ticinese",
    "number": "55",
    "city": "Milano",
    "province": "MI",
    "zip": "20143",
    "country": "IT",
    "lat": 45.4505,
    "lng": 9.1745,
}
PLACES = [*MILANO_PLACES, NEAR_NAVIGLI]
VIA_DANTE = {
    "place_id": "via-dante-10-milano",
    "street": "Via Dante",
    "number": "10",
    "city": "Milano",
    "province": "MI",
    "zip": "20121",
    "country": "IT",
    "lat": 45.466,
    "lng": 9.186,
}


@pytest.fixture(autouse=True)
def _fixed_now(clock: FakeClock) -> None:
    clock.set(NOW)


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance, written out here so the test does not reuse the code under test."""
    lat1, lng1, lat2, lng2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


CENTRO = (45.4642, 9.19)
NAVIGLI = (45.452, 9.176)


async def validate(client: httpx.AsyncClient, r: RestaurantSetup, **body: str) -> httpx.Response:
    return await client.post("/api/order/validate_address", headers=r.client_headers, json=body)


# --------------------------------------------------------------------------------------------
# validate_address


async def test_free_text_address_is_found_with_its_zone(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    data = ok(await validate(client, r, address="via Dante 10, Milano"), "data")["data"]
    assert set(data) == {"address", "subrestaurant_uid", "kms", "delivery_fee"}
    assert data["address"] == VIA_DANTE
    assert data["subrestaurant_uid"] == r.locations[0]
    assert data["delivery_fee"] == 2.5
    assert isinstance(data["kms"], float)
    assert data["kms"] == pytest.approx(km(CENTRO, (45.466, 9.186)), abs=0.01)


async def test_abbreviated_free_text_finds_the_same_place(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    data = ok(await validate(client, r, address="V. Dante, 10 Milano"), "data")["data"]
    assert data["address"]["place_id"] == "via-dante-10-milano"
    assert data["delivery_fee"] == 2.5


async def test_structured_address_is_found(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    data = ok(
        await validate(
            client,
            r,
            street="Via Torino",
            number="20",
            city="Milano",
            province="MI",
            zip="20123",
            country="IT",
        ),
        "data",
    )["data"]
    assert data["address"]["place_id"] == "via-torino-20-milano"
    assert data["address"]["zip"] == "20123"
    assert data["subrestaurant_uid"] == r.locations[0]
    assert data["delivery_fee"] == 2.5


async def test_address_served_by_the_second_location(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state, places=PLACES)
    data = ok(await validate(client, r, address="Ripa di Porta Ticinese 55, Milano"), "data")[
        "data"
    ]
    assert data["address"]["place_id"] == NEAR_NAVIGLI["place_id"]
    assert data["subrestaurant_uid"] == r.locations[1]
    assert data["delivery_fee"] == 3.0
    assert data["kms"] == pytest.approx(km(NAVIGLI, (45.4505, 9.1745)), abs=0.01)


async def test_farther_address_gets_the_outer_zone(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    data = ok(await validate(client, r, address="Corso Buenos Aires 50, Milano"), "data")["data"]
    assert data["subrestaurant_uid"] == r.locations[0]
    assert data["delivery_fee"] == 4.5
    assert data["kms"] == pytest.approx(km(CENTRO, (45.481, 9.21)), abs=0.01)
    assert 1.5 < data["kms"] < 6


async def test_address_outside_every_zone_is_invalid(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    failed(
        await validate(client, r, address="Piazza del Duomo 1, Bergamo"),
        "INVALID_ADDRESS",
        "address",
    )


async def test_unknown_address_is_invalid(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    failed(
        await validate(client, r, address="Via Inesistente 99, Milano"),
        "INVALID_ADDRESS",
        "address",
    )


async def test_missing_address_is_missing_parameter(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    failed(await validate(client, r), "MISSING_PARAMETER", "address")
    failed(await validate(client, r, number="10"), "MISSING_PARAMETER", "address")


async def test_validated_place_id_is_what_create_takes(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    data = ok(await validate(client, r, address="via Torino 20, Milano"), "data")["data"]
    body = pickup_body(
        r,
        when=None,
        dmethod="1",
        subrestaurant_uid=data["subrestaurant_uid"],
        details=[{"product": {"uid": f"{r.uid}-acqua"}, "quantity": 8}],
        delivery={
            "date": "2031-03-10 12:00:00",
            "address": {"place_id": data["address"]["place_id"]},
        },
    )
    order = await create_ok(client, r, body)
    assert order["delivery_fee"] == data["delivery_fee"]
    assert order["total"] == 18.5


# --------------------------------------------------------------------------------------------
# pickup_delivery_times


async def test_times_start_after_the_lead_time_on_slot_starts(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    dates = await pickup_dates(client, r)
    # now is 10:07:30 in Milano: 10:27:30 at the earliest, the next quarter is 10:30
    assert dates[0] == "2031-03-10 10:30:00"
    assert dates[-1] == "2031-03-16 23:45:00"  # seven days including today
    assert len(dates) == 54 + 6 * 96
    stamps = [datetime.strptime(d, "%Y-%m-%d %H:%M:%S") for d in dates]
    assert all(t.minute % 15 == 0 and t.second == 0 for t in stamps)
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


async def test_times_follow_the_clock(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await restaurant(state)
    clock.set(datetime(2031, 3, 10, 10, 40, tzinfo=UTC))  # 11:40 in Milano
    assert (await pickup_dates(client, r))[0] == "2031-03-10 12:00:00"
    clock.set(datetime(2031, 3, 10, 10, 25, tzinfo=UTC))  # 11:25: 11:45 is exactly the lead
    assert (await pickup_dates(client, r))[0] == "2031-03-10 11:45:00"


async def test_times_are_only_inside_opening_hours(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    hours = {"mon": LUNCH, "tue": [["11:30", "14:30"], ["18:30", "23:00"]]}
    r = await restaurant(state, set_locations(opening_hours=hours))
    clock.set(datetime(2031, 3, 10, 11, 0, tzinfo=UTC))  # Monday 12:00 in Milano
    dates = await pickup_dates(client, r)
    monday = [d[11:16] for d in dates if d.startswith("2031-03-10")]
    tuesday = [d[11:16] for d in dates if d.startswith("2031-03-11")]
    assert monday == ["12:30", "12:45", "13:00", "13:15", "13:30", "13:45", "14:00", "14:15"]
    assert tuesday[:2] == ["11:30", "11:45"] and "14:15" in tuesday and "14:30" not in tuesday
    assert tuesday[-1] == "22:45" and "18:30" in tuesday and "18:15" not in tuesday
    assert len(tuesday) == 12 + 18
    assert {d[:10] for d in dates} == {"2031-03-10", "2031-03-11"}  # the rest is closed


async def test_no_times_today_after_closing(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    r = await restaurant(state, set_locations(opening_hours={"mon": LUNCH, "tue": LUNCH}))
    clock.set(datetime(2031, 3, 10, 13, 20, tzinfo=UTC))  # 14:20: 14:40 is after closing
    dates = await pickup_dates(client, r)
    assert dates[0] == "2031-03-11 11:30:00"


async def test_full_slots_are_left_out(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state, set_locations(orders_per_slot=1))
    await create_ok(client, r, pickup_body(r, when="2031-03-10 10:45:00"))
    dates = await pickup_dates(client, r)
    assert dates[:3] == ["2031-03-10 10:30:00", "2031-03-10 11:00:00", "2031-03-10 11:15:00"]
    # the other location's slot is its own
    other = await pickup_dates(client, r, subrestaurant_uid=r.locations[1])
    assert "2031-03-10 10:45:00" in other


async def test_delivery_times_need_a_place(client: httpx.AsyncClient, state: AppState) -> None:
    r = await restaurant(state)
    failed(await times(client, r, dmethod="1"), "MISSING_PARAMETER", "place_id")


async def test_delivery_times_for_a_served_place(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    data = ok(await times(client, r, dmethod="1", place_id="via-dante-10-milano"), "data")["data"]
    assert set(data) == {"pickup_times", "delivery_times"}
    assert data["pickup_times"] == []
    assert data["delivery_times"][0] == {
        "date": "2031-03-10 10:30:00",
        "formatted": "lunedì 10 marzo, 10:30",
    }


async def test_pickup_times_have_no_delivery_times(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    data = ok(await times(client, r), "data")["data"]
    assert data["delivery_times"] == []
    assert data["pickup_times"][0]["date"] == "2031-03-10 10:30:00"


async def test_delivery_times_for_a_place_outside_the_zones(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    failed(
        await times(client, r, dmethod="1", place_id="piazza-duomo-bergamo"),
        "INVALID_ADDRESS",
        "place_id",
    )
    failed(
        await times(client, r, dmethod="1", place_id="nowhere-1-milano"),
        "INVALID_ADDRESS",
        "place_id",
    )


async def test_unknown_subrestaurant_is_not_found(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    failed(
        await times(client, r, subrestaurant_uid=f"{r.uid}-duomo"),
        "SUBRESTAURANT_NOT_FOUND",
        "subrestaurant_uid",
    )


async def test_missing_subrestaurant_with_two_locations_is_refused(
    client: httpx.AsyncClient, state: AppState
) -> None:
    """A parameter left out is a missing parameter, not an unknown location."""
    r = await restaurant(state)
    failed(
        await times(client, r, subrestaurant_uid=None),
        "MISSING_PARAMETER",
        "subrestaurant_uid",
    )


async def test_single_location_needs_no_subrestaurant(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state, only_first_location)
    assert (await pickup_dates(client, r, subrestaurant_uid=None))[0] == "2031-03-10 10:30:00"


async def test_formatted_in_the_restaurants_language_by_default(
    client: httpx.AsyncClient, state: AppState
) -> None:
    r = await restaurant(state)
    first = ok(await times(client, r), "data")["data"]["pickup_times"][0]
    assert first["formatted"] == "lunedì 10 marzo, 10:30"


@pytest.mark.parametrize(
    ("language", "formatted"), [("en", "Monday 10 March, 10:30"), ("it", "lunedì 10 marzo, 10:30")]
)
async def test_formatted_in_the_requested_language(
    client: httpx.AsyncClient, state: AppState, language: str, formatted: str
) -> None:
    r = await restaurant(state, language="en" if language == "it" else "it")
    first = ok(await times(client, r, language=language), "data")["data"]["pickup_times"][0]
    assert first == {"date": "2031-03-10 10:30:00", "formatted": formatted}
