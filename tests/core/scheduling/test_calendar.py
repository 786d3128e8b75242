"""The capacity calendar: a week of masters (partner stores) or orders per slot (restaurant
locations), booked against capacity, and setting masters per cell or a day off.

Data comes from the setup document (``factories``); bookings through the core's own booking
function. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from tests.factories import make_partner, make_restaurant

from orderdesk.core.errors import ValidationFailed
from orderdesk.core.organizations.models import Location
from orderdesk.core.scheduling import calendar
from orderdesk.core.scheduling.service import SlotChoice, book_first_free, local_today
from orderdesk.http.state import AppState

ACTOR = "operator:calendar@example.com"


async def _location(state: AppState, key: str) -> Location:
    async with state.reads() as session:
        found = await session.scalar(select(Location).where(Location.key == key))
    assert found is not None
    return found


async def _book(state: AppState, location: Location, day: date, slot: str) -> bool:
    async with state.transaction() as session:
        found = await session.get(Location, location.id)
        assert found is not None
        return (
            await book_first_free(session, found, [SlotChoice(day, slot)], state.now()) is not None
        )


async def _set(state: AppState, location: Location, day: date, slot: str, masters: int) -> None:
    async with state.transaction() as session:
        await calendar.set_capacity(
            session, location.id, day, slot, masters, actor=ACTOR, now=state.now()
        )


async def _week(state: AppState, location: Location, day: date) -> calendar.Week:
    async with state.reads() as session:
        return await calendar.capacity_week(session, location.id, day, now=state.now())


async def test_a_store_week_shows_default_masters_and_bookings(state: AppState) -> None:
    partner = await make_partner(state, masters={"0712": 2, "1217": 3, "1721": 0})
    store = await _location(state, partner.stores[0])
    day = local_today(store, state.now()) + timedelta(days=2)
    assert await _book(state, store, day, "1217")

    week = await _week(state, store, day)
    assert week.kind == "masters" and week.editable
    assert week.first.weekday() == 0 and day in week.days and len(week.days) == 7
    assert [row.key for row in week.slots] == ["0712", "1217", "1721"]
    cell = week.cell(day, "1217")
    assert cell is not None
    assert (cell.booked, cell.capacity, cell.free, cell.overridden) == (1, 3, 2, False)
    other = week.cell(day, "1721")
    assert other is not None and (other.booked, other.capacity) == (0, 0)


async def test_set_capacity_adds_a_master_and_booking_follows_it(state: AppState) -> None:
    partner = await make_partner(state, masters={"0712": 1, "1217": 1, "1721": 1})
    store = await _location(state, partner.stores[0])
    day = local_today(store, state.now()) + timedelta(days=3)
    assert await _book(state, store, day, "0712")
    assert not await _book(state, store, day, "0712")  # full with one master

    await _set(state, store, day, "0712", 2)  # an extra master
    cell = (await _week(state, store, day)).cell(day, "0712")
    assert cell is not None and (cell.booked, cell.capacity, cell.overridden) == (1, 2, True)
    assert await _book(state, store, day, "0712")
    assert not await _book(state, store, day, "0712")


async def test_lowering_below_booked_shows_overbooked_and_takes_no_more(state: AppState) -> None:
    partner = await make_partner(state, masters={"0712": 2, "1217": 2, "1721": 2})
    store = await _location(state, partner.stores[0])
    day = local_today(store, state.now()) + timedelta(days=4)
    assert await _book(state, store, day, "1217")
    assert await _book(state, store, day, "1217")

    await _set(state, store, day, "1217", 1)
    cell = (await _week(state, store, day)).cell(day, "1217")
    assert cell is not None and cell.overbooked and cell.free == -1
    assert not await _book(state, store, day, "1217")


async def test_a_day_off_sets_every_slot_of_that_day_to_zero(state: AppState) -> None:
    partner = await make_partner(state, masters={"0712": 2, "1217": 2, "1721": 2})
    store = await _location(state, partner.stores[0])
    day = local_today(store, state.now()) + timedelta(days=5)
    async with state.transaction() as session:
        await calendar.set_day_off(session, store.id, day, actor=ACTOR, now=state.now())
    week = await _week(state, store, day)
    for slot in ("0712", "1217", "1721"):
        cell = week.cell(day, slot)
        assert cell is not None and cell.capacity == 0
        next_day = week.cell(day + timedelta(days=1), slot)
        assert next_day is None or next_day.capacity == 2
    assert not await _book(state, store, day, "0712")


@pytest.mark.parametrize(
    ("offset", "slot", "masters", "path"),
    [
        (2, "0712", -1, "masters"),
        (2, "0712", 1001, "masters"),
        (2, "0900", 1, "slot"),
        (-1, "0712", 1, "day"),
        (40, "0712", 1, "day"),
    ],
)
async def test_set_capacity_refuses_bad_input_and_changes_nothing(
    state: AppState, offset: int, slot: str, masters: int, path: str
) -> None:
    partner = await make_partner(state, masters={"0712": 1, "1217": 1, "1721": 1})
    store = await _location(state, partner.stores[0])
    day = local_today(store, state.now()) + timedelta(days=offset)
    with pytest.raises(ValidationFailed) as raised:
        await _set(state, store, day, slot, masters)
    assert [e.path for e in raised.value.errors] == [path]
    cell = (await _week(state, store, day)).cell(day, "0712")
    assert cell is not None and cell.capacity == 1 and not cell.overridden


async def test_a_restaurant_week_shows_orders_per_slot_inside_opening_hours(
    state: AppState,
) -> None:
    r = await make_restaurant(state)
    location = await _location(state, r.locations[0])
    today = local_today(location, state.now())
    week = await _week(state, location, today)
    assert week.kind == "orders" and not week.editable
    limit = int((location.settings or {}).get("orders_per_slot", 4))
    assert week.slots and all(c.capacity == limit and c.booked == 0 for c in week.cells.values())
    with pytest.raises(ValidationFailed):
        async with state.transaction() as session:
            await calendar.set_capacity(
                session, location.id, today, "12:00", 3, actor=ACTOR, now=state.now()
            )
