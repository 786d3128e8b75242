"""The capacity calendar: a week of masters (partner stores) or orders per slot (restaurant
locations), booked against capacity, and setting either per cell or a day off.

Data comes from the setup document (``factories``); bookings through the core's own booking
function. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from tests.factories import apply_document, make_partner, make_restaurant, restaurant_doc

from orderdesk.core.errors import ValidationFailed
from orderdesk.core.organizations.models import Location
from orderdesk.core.scheduling import calendar, times
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


async def _refused_and_unchanged(
    state: AppState,
    location: Location,
    day: date,
    slot: str,
    value: int,
    path: str,
    kept: tuple[str, int],
) -> None:
    """Setting ``slot`` to ``value`` is refused on ``path`` alone, and the cell ``kept[0]``
    still has its default ``kept[1]``, not set."""
    with pytest.raises(ValidationFailed) as raised:
        await _set(state, location, day, slot, value)
    assert [e.path for e in raised.value.errors] == [path]
    cell = (await _week(state, location, day)).cell(day, kept[0])
    assert cell is not None and cell.capacity == kept[1] and not cell.overridden


async def test_a_store_week_shows_default_masters_and_bookings(state: AppState) -> None:
    partner = await make_partner(state, masters={"0712": 2, "1217": 3, "1721": 0})
    store = await _location(state, partner.stores[0])
    day = local_today(store, state.now()) + timedelta(days=2)
    assert await _book(state, store, day, "1217")

    week = await _week(state, store, day)
    assert week.kind == "masters" and week.editable(day)
    assert week.max_capacity == 1000
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

    before = state.now()
    await _set(state, store, day, "0712", 2)  # an extra master
    cell = (await _week(state, store, day)).cell(day, "0712")
    assert cell is not None and (cell.booked, cell.capacity, cell.overridden) == (1, 2, True)
    assert cell.set_by == ACTOR and cell.set_at is not None
    assert before <= cell.set_at <= state.now()
    untouched = (await _week(state, store, day)).cell(day, "1217")
    assert untouched is not None and (untouched.set_by, untouched.set_at) == (None, None)
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
        (2, "0712", -1, "capacity"),
        (2, "0712", 1001, "capacity"),
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
    await _refused_and_unchanged(state, store, day, slot, masters, path, ("0712", 1))


async def test_a_restaurant_week_shows_orders_per_slot_inside_opening_hours(
    state: AppState,
) -> None:
    r = await make_restaurant(state)
    location = await _location(state, r.locations[0])
    today = local_today(location, state.now())
    week = await _week(state, location, today)
    assert week.kind == "orders" and week.max_capacity == 10000
    assert week.editable(today) and week.editable(today + timedelta(days=6))
    assert not week.editable(today - timedelta(days=1))
    assert not week.editable(today + timedelta(days=7))  # customers choose within 7 days
    limit = int((location.settings or {}).get("orders_per_slot", 4))
    assert week.slots and all(c.capacity == limit and c.booked == 0 for c in week.cells.values())


EVERY_LUNCH = {d: [["11:30", "14:30"]] for d in times.WEEKDAYS}


async def _restaurant_location(
    state: AppState, hours: dict[str, list[list[str]]] = EVERY_LUNCH
) -> Location:
    """The first location of a new restaurant open ``hours``, 2 orders per 15-minute slot."""
    doc = restaurant_doc()
    for location in doc["subrestaurants"]:
        location.update(opening_hours=hours, orders_per_slot=2)
    await apply_document(state, {"version": 1, "restaurants": [doc]})
    return await _location(state, doc["subrestaurants"][0]["uid"])


async def _times_on(state: AppState, location: Location, day: date) -> list[str]:
    async with state.reads() as session:
        found = await session.get(Location, location.id)
        assert found is not None
        offered = await times.free_times(session, found, state.now())
    return [f"{t:%H:%M}" for t in offered if t.date() == day]


async def _book_time(state: AppState, location: Location, day: date, at: str) -> bool:
    async with state.transaction() as session:
        found = await session.get(Location, location.id)
        assert found is not None
        when = datetime.combine(day, time.fromisoformat(at), ZoneInfo(found.timezone))
        return await times.book_time(session, found, when)


async def test_a_restaurant_slot_set_for_one_day_is_what_bookings_and_times_follow(
    state: AppState,
) -> None:
    location = await _restaurant_location(state)
    day = local_today(location, state.now()) + timedelta(days=2)

    await _set(state, location, day, "12:00", 1)  # a short-staffed lunch at noon
    await _set(state, location, day, "12:15", 3)  # and more hands at a quarter past
    week = await _week(state, location, day)
    noon, quarter = week.cell(day, "12:00"), week.cell(day, "12:15")
    assert noon is not None and (noon.capacity, noon.overridden) == (1, True)
    assert quarter is not None and (quarter.capacity, quarter.overridden) == (3, True)
    other = week.cell(day + timedelta(days=1), "12:00")
    assert other is not None and (other.capacity, other.overridden) == (2, False)

    assert await _book_time(state, location, day, "12:00")
    assert not await _book_time(state, location, day, "12:00")
    assert "12:00" not in await _times_on(state, location, day)
    for _ in range(3):
        assert await _book_time(state, location, day, "12:15")
    assert not await _book_time(state, location, day, "12:15")
    assert "12:30" in await _times_on(state, location, day)


async def test_no_orders_on_a_restaurant_day_closes_every_slot_of_that_day_only(
    state: AppState,
) -> None:
    location = await _restaurant_location(state)
    day = local_today(location, state.now()) + timedelta(days=3)
    async with state.transaction() as session:
        await calendar.set_day_off(session, location.id, day, actor=ACTOR, now=state.now())

    week = await _week(state, location, day)
    cells = [c for c in week.cells.values() if c.day == day]
    assert len(cells) == 12 and all(c.capacity == 0 and c.overridden for c in cells)
    assert await _times_on(state, location, day) == []
    assert not await _book_time(state, location, day, "12:00")
    assert len(await _times_on(state, location, day + timedelta(days=1))) == 12


@pytest.mark.parametrize(
    ("offset", "slot", "orders", "path"),
    [
        (2, "12:00", -1, "capacity"),
        (2, "12:00", 10001, "capacity"),
        (2, "15:00", 1, "slot"),  # after closing
        (2, "12:05", 1, "slot"),  # not a slot start
        (-1, "12:00", 1, "day"),
        (7, "12:00", 1, "day"),  # customers cannot choose that day yet
    ],
)
async def test_a_restaurant_slot_refuses_bad_input_and_changes_nothing(
    state: AppState, offset: int, slot: str, orders: int, path: str
) -> None:
    location = await _restaurant_location(state)
    day = local_today(location, state.now()) + timedelta(days=offset)
    await _refused_and_unchanged(state, location, day, slot, orders, path, ("12:00", 2))


async def test_a_restaurant_day_closed_by_its_hours_has_no_slot_to_set(state: AppState) -> None:
    location = await _restaurant_location(state, {"mon": [["11:30", "14:30"]]})
    today = local_today(location, state.now())
    closed = next(
        today + timedelta(days=n) for n in range(1, 7) if (today + timedelta(days=n)).weekday() != 0
    )
    with pytest.raises(ValidationFailed) as raised:
        await _set(state, location, closed, "12:00", 1)
    assert [e.path for e in raised.value.errors] == ["slot"]
