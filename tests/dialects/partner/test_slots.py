"""``GET /partner/slots/free``: 31 days of master availability in the store's own time zone."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from tests.conftest import FakeClock
from tests.dialects.partner.envelope import ok_data, validation_errors
from tests.factories import login, make_partner, order_body

from orderdesk.http.state import AppState

SLOTS = ("0712", "1217", "1721")
RIGA = ZoneInfo("Europe/Riga")


async def free_slots(client: httpx.AsyncClient, store_id: str, **headers: str) -> dict[str, Any]:
    data: dict[str, Any] = ok_data(
        await client.get("/partner/slots/free", params={"store_id": store_id}, headers=headers)
    )
    return data


def local_today(state: AppState, zone: ZoneInfo = RIGA) -> date:
    return state.now().astimezone(zone).date()


def at_local(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int, second: int = 0
) -> datetime:
    """The UTC instant of a wall-clock time in ``zone`` (what the app clock holds)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=zone).astimezone(UTC)


async def test_free_slots_need_no_token_and_cover_31_days_from_today(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    partner = await make_partner(state)
    today = local_today(state)
    data = await free_slots(client, partner.stores[0])
    assert list(data) == [(today + timedelta(days=i)).isoformat() for i in range(31)]
    for day in data.values():
        assert list(day) == list(SLOTS)
        assert all(isinstance(free, bool) for free in day.values())


async def test_free_slots_are_all_true_for_future_days_with_masters(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters={"0712": 2, "1217": 1, "1721": 1})
    data = await free_slots(client, partner.stores[0])
    for day in list(data.values())[1:]:
        assert day == {"0712": True, "1217": True, "1721": True}


async def test_slot_with_no_masters_is_false(client: httpx.AsyncClient, state: AppState) -> None:
    partner = await make_partner(state, masters={"0712": 1, "1217": 0, "1721": 1})
    data = await free_slots(client, partner.stores[0])
    for day in list(data.values())[1:]:
        assert day == {"0712": True, "1217": False, "1721": True}


async def test_free_slots_ignore_a_token_header(client: httpx.AsyncClient, state: AppState) -> None:
    partner = await make_partner(state)
    anonymous = await free_slots(client, partner.stores[0])
    assert await free_slots(client, partner.stores[0], token="not-a-real-token") == anonymous


async def test_booked_out_slot_turns_false(client: httpx.AsyncClient, state: AppState) -> None:
    partner = await make_partner(state, masters={"0712": 1, "1217": 1, "1721": 1})
    headers = await login(client, partner)
    day = (local_today(state) + timedelta(days=2)).isoformat()
    assert (await free_slots(client, partner.stores[0]))[day]["0712"] is True
    created = await client.post(
        "/partner/order/create", json=order_body(partner, [(day, "0712")]), headers=headers
    )
    assert ok_data(created)["_substatus"] == "awaiting_master_request"
    data = await free_slots(client, partner.stores[0])
    assert data[day] == {"0712": False, "1217": True, "1721": True}


async def test_slot_stays_true_while_a_master_is_left(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters={"0712": 2, "1217": 1, "1721": 1})
    headers = await login(client, partner)
    day = (local_today(state) + timedelta(days=2)).isoformat()
    body = order_body(partner, [(day, "0712")])
    ok_data(await client.post("/partner/order/create", json=body, headers=headers))
    assert (await free_slots(client, partner.stores[0]))[day]["0712"] is True
    ok_data(await client.post("/partner/order/create", json=body, headers=headers))
    assert (await free_slots(client, partner.stores[0]))[day]["0712"] is False


async def test_order_not_in_stock_books_no_master(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, masters={"0712": 1, "1217": 1, "1721": 1})
    headers = await login(client, partner)
    day = (local_today(state) + timedelta(days=2)).isoformat()
    body = order_body(partner, [(day, "0712")])
    body["partner_details"]["instock"] = False
    ok_data(await client.post("/partner/order/create", json=body, headers=headers))
    assert (await free_slots(client, partner.stores[0]))[day]["0712"] is True


async def test_booking_in_one_store_leaves_the_other_store_free(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner = await make_partner(state, stores=2, masters={"0712": 1, "1217": 1, "1721": 1})
    headers = await login(client, partner)
    day = (local_today(state) + timedelta(days=2)).isoformat()
    ok_data(
        await client.post(
            "/partner/order/create", json=order_body(partner, [(day, "0712")]), headers=headers
        )
    )
    assert (await free_slots(client, partner.stores[0]))[day]["0712"] is False
    assert (await free_slots(client, partner.stores[1]))[day]["0712"] is True


async def test_masters_on_zero_override_makes_the_slot_false(
    client: httpx.AsyncClient, state: AppState
) -> None:
    day = (local_today(state) + timedelta(days=3)).isoformat()
    partner = await make_partner(
        state,
        masters={"0712": 2, "1217": 2, "1721": 2},
        masters_on=[{"date": day, "timeslot": "1217", "masters": 0}],
    )
    data = await free_slots(client, partner.stores[0])
    assert data[day] == {"0712": True, "1217": False, "1721": True}
    next_day = (local_today(state) + timedelta(days=4)).isoformat()
    assert data[next_day]["1217"] is True


async def test_masters_on_override_opens_a_slot_that_has_no_masters_by_default(
    client: httpx.AsyncClient, state: AppState
) -> None:
    day = (local_today(state) + timedelta(days=3)).isoformat()
    partner = await make_partner(
        state,
        masters={"0712": 1, "1217": 1, "1721": 0},
        masters_on=[{"date": day, "timeslot": "1721", "masters": 1}],
    )
    data = await free_slots(client, partner.stores[0])
    assert data[day]["1721"] is True
    other_days = [free["1721"] for key, free in list(data.items())[1:] if key != day]
    assert other_days and not any(other_days)


async def test_override_capacity_is_what_bookings_count_against(
    client: httpx.AsyncClient, state: AppState
) -> None:
    day = (local_today(state) + timedelta(days=3)).isoformat()
    partner = await make_partner(
        state,
        masters={"0712": 0, "1217": 0, "1721": 0},
        masters_on=[{"date": day, "timeslot": "0712", "masters": 1}],
    )
    headers = await login(client, partner)
    assert (await free_slots(client, partner.stores[0]))[day]["0712"] is True
    ok_data(
        await client.post(
            "/partner/order/create", json=order_body(partner, [(day, "0712")]), headers=headers
        )
    )
    assert (await free_slots(client, partner.stores[0]))[day]["0712"] is False


async def test_slots_whose_start_has_passed_are_false(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    partner = await make_partner(state)
    clock.set(at_local(RIGA, 2031, 3, 12, 13, 0))
    data = await free_slots(client, partner.stores[0])
    assert next(iter(data)) == "2031-03-12"
    assert data["2031-03-12"] == {"0712": False, "1217": False, "1721": True}
    assert data["2031-03-13"] == {"0712": True, "1217": True, "1721": True}


async def test_slot_turns_false_exactly_at_its_start(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    partner = await make_partner(state)
    clock.set(at_local(RIGA, 2031, 3, 12, 11, 59, 59))
    assert (await free_slots(client, partner.stores[0]))["2031-03-12"]["1217"] is True
    clock.set(at_local(RIGA, 2031, 3, 12, 12, 0))
    assert (await free_slots(client, partner.stores[0]))["2031-03-12"]["1217"] is False


async def test_after_the_last_slot_starts_today_is_all_false(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    partner = await make_partner(state)
    clock.set(at_local(RIGA, 2031, 3, 12, 23, 30))
    data = await free_slots(client, partner.stores[0])
    assert next(iter(data)) == "2031-03-12"
    assert data["2031-03-12"] == {"0712": False, "1217": False, "1721": False}


async def test_window_ends_thirty_days_after_today(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    partner = await make_partner(state)
    clock.set(at_local(RIGA, 2031, 3, 12, 9, 0))
    data = await free_slots(client, partner.stores[0])
    assert len(data) == 31
    assert list(data)[-1] == "2031-04-11"
    assert data["2031-04-11"] == {"0712": True, "1217": True, "1721": True}


async def test_store_time_zone_decides_today(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    new_york = await make_partner(state, timezone="America/New_York")
    tokyo = await make_partner(state, timezone="Asia/Tokyo")
    # 20:00 UTC is 15:00 on the 10th in New York and 05:00 on the 11th in Tokyo.
    clock.set(datetime(2031, 1, 10, 20, 0, tzinfo=UTC))
    ny = await free_slots(client, new_york.stores[0])
    tk = await free_slots(client, tokyo.stores[0])
    assert [*ny][::30] == ["2031-01-10", "2031-02-09"]
    assert [*tk][::30] == ["2031-01-11", "2031-02-10"]
    assert ny["2031-01-10"] == {"0712": False, "1217": False, "1721": True}
    assert tk["2031-01-11"] == {"0712": True, "1217": True, "1721": True}


async def test_unknown_store_is_422_store_id(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/partner/slots/free", params={"store_id": f"no-such-store-{secrets.token_hex(4)}"}
    )
    errors = validation_errors(response)
    assert set(errors) == {"store_id"}
    assert errors["store_id"]["type"] == "not_found"


async def test_missing_store_id_is_422_required(client: httpx.AsyncClient) -> None:
    errors = validation_errors(await client.get("/partner/slots/free"))
    assert set(errors) == {"store_id"}
    assert errors["store_id"]["type"] == "required"


async def test_empty_store_id_is_422_required(client: httpx.AsyncClient) -> None:
    errors = validation_errors(await client.get("/partner/slots/free", params={"store_id": ""}))
    assert set(errors) == {"store_id"}
    assert errors["store_id"]["type"] == "required"
