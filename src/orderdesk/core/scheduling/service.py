"""Booking masters (or any per-slot capacity) without ever overbooking.

Capacity is counted per location, date and named daily :class:`Slot`. Which slots exist is data
the core is given (:func:`define_slots`), not vocabulary it knows: the dialect whose orders book
masters names them and declares them when it is loaded; stored capacity refers to them by name.

The write that matters is :func:`orderdesk.core.scheduling.capacity.take_unit`, a conditional
``UPDATE ... SET used = used + 1 WHERE used < :capacity`` (the row made on a slot's first booking);
see there why it never overbooks and why refusals of a full slot take no lock. Releasing is the
mirror ``UPDATE ... SET used = used - 1 WHERE used > 0``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.organizations.models import Location
from orderdesk.core.scheduling.capacity import take_unit
from orderdesk.core.scheduling.models import CapacityOverride, SlotUsage
from orderdesk.db.cache import cached
from orderdesk.db.upsert import insert_for

BOOKING_WINDOW_DAYS = 30


@dataclass(frozen=True, slots=True)
class Slot:
    """One named daily slot of capacity, from ``start`` to ``end`` in the location's local time."""

    name: str
    start: time
    end: time

    @property
    def hours(self) -> str:
        """The slot as people read it: ``"12:00-17:00"``."""
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


# The defined slots by name, in the order free slots are listed.
_SLOTS: dict[str, Slot] = {}


def define_slots(slots: Iterable[Slot]) -> None:
    """Make ``slots`` the daily slots capacity is booked in, replacing any defined before."""
    _SLOTS.clear()
    _SLOTS.update((slot.name, slot) for slot in slots)


def defined_slots() -> tuple[Slot, ...]:
    return tuple(_SLOTS.values())


def slot_named(name: str) -> Slot | None:
    """The defined slot called ``name``, if there is one."""
    return _SLOTS.get(name)


@dataclass(frozen=True, slots=True)
class SlotChoice:
    day: date
    slot: str


def local_today(location: Location, now: datetime) -> date:
    return now.astimezone(ZoneInfo(location.timezone)).date()


def booking_window(location: Location, now: datetime) -> tuple[date, date]:
    """First and last day (inclusive) that can be booked, in the location's time zone."""
    today = local_today(location, now)
    return today, today + timedelta(days=BOOKING_WINDOW_DAYS)


def slot_has_started(location: Location, choice: SlotChoice, now: datetime) -> bool:
    """Whether ``choice`` can no longer be booked because it began; a slot name that is not
    defined never can be."""
    slot = _SLOTS.get(choice.slot)
    if slot is None:
        return True
    return datetime.combine(choice.day, slot.start, ZoneInfo(location.timezone)) <= now


async def _overrides(
    session: AsyncSession, location_id: int, first: date, last: date
) -> dict[tuple[date, str], int]:
    """The location's capacity overrides between ``first`` and ``last``.

    Workers cache every override from two days before today (UTC) on, which covers today in
    any time zone: bookings and free slots only ever ask from the location's today. An older
    range is read from the database.
    """
    since = datetime.now(UTC).date() - timedelta(days=2)

    async def load(start: date, end: date | None) -> dict[tuple[date, str], int]:
        stmt = select(CapacityOverride.day, CapacityOverride.slot, CapacityOverride.capacity).where(
            CapacityOverride.location_id == location_id, CapacityOverride.day >= start
        )
        if end is not None:
            stmt = stmt.where(CapacityOverride.day <= end)
        return {(d, s): c for d, s, c in await session.execute(stmt)}

    if first < since:
        return await load(first, last)
    upcoming = await cached(session, ("overrides", location_id, since), lambda: load(since, None))
    return {key: c for key, c in upcoming.items() if first <= key[0] <= last}


async def capacity_overrides(
    session: AsyncSession, location_id: int, first: date, last: date
) -> dict[tuple[date, str], int]:
    """The location's capacity overrides from ``first`` to ``last`` (inclusive), as bookings
    read them (cached per worker where configuration is cached)."""
    return await _overrides(session, location_id, first, last)


def store_capacity(
    location: Location, overrides: dict[tuple[date, str], int], c: SlotChoice
) -> int:
    """Masters of the store in ``c``: that day's override, else the store's default."""
    if (c.day, c.slot) in overrides:
        return overrides[(c.day, c.slot)]
    return int(location.slot_capacity.get(c.slot, 0))


async def book_first_free(
    session: AsyncSession, location: Location, choices: Sequence[SlotChoice], now: datetime
) -> SlotChoice | None:
    """Take one unit of the first choice that still has one; ``None`` when all are full.

    Choices outside the booking window or already started are skipped, never booked.
    """
    if not choices:
        return None
    first, last = booking_window(location, now)
    overrides = await _overrides(
        session, location.id, min(c.day for c in choices), max(c.day for c in choices)
    )
    for choice in choices:
        if not first <= choice.day <= last or slot_has_started(location, choice, now):
            continue
        capacity = store_capacity(location, overrides, choice)
        if capacity <= 0:
            continue
        if await take_unit(session, location.id, choice.day, choice.slot, capacity):
            return choice
    return None


async def first_free(
    session: AsyncSession, location: Location, choices: Sequence[SlotChoice], now: datetime
) -> SlotChoice | None:
    """The choice :func:`book_first_free` would take now, taking nothing (quotes)."""
    if not choices:
        return None
    free = await free_slots(session, location, now)
    return next((c for c in choices if free.get(c.day, {}).get(c.slot)), None)


async def release(session: AsyncSession, location_id: int, choice: SlotChoice) -> None:
    await session.execute(
        update(SlotUsage)
        .where(
            SlotUsage.location_id == location_id,
            SlotUsage.day == choice.day,
            SlotUsage.slot == choice.slot,
            SlotUsage.used > 0,
        )
        .values(used=SlotUsage.used - 1)
    )


async def free_slots(
    session: AsyncSession, location: Location, now: datetime
) -> dict[date, dict[str, bool]]:
    """Whether each slot of the booking window has a unit left (two indexed range queries)."""
    first, last = booking_window(location, now)
    overrides = await _overrides(session, location.id, first, last)
    used_rows = await session.execute(
        select(SlotUsage.day, SlotUsage.slot, SlotUsage.used).where(
            SlotUsage.location_id == location.id, SlotUsage.day >= first, SlotUsage.day <= last
        )
    )
    used = {(d, s): u for d, s, u in used_rows}
    result: dict[date, dict[str, bool]] = {}
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        result[day] = {}
        for slot in _SLOTS:
            choice = SlotChoice(day, slot)
            free = store_capacity(location, overrides, choice) - used.get((day, slot), 0)
            result[day][slot] = free > 0 and not slot_has_started(location, choice, now)
    return result


@dataclass(frozen=True, slots=True)
class OverrideRow:
    """One stored override with who set it and when (``None`` for rows from before that was
    recorded)."""

    capacity: int
    set_by: str | None
    set_at: datetime | None


async def override_rows(
    session: AsyncSession, location_id: int, first: date, last: date
) -> dict[tuple[date, str], OverrideRow]:
    """The location's overrides from ``first`` to ``last`` as stored, read from the database
    (what people look at; bookings read :func:`capacity_overrides`)."""
    rows = await session.execute(
        select(
            CapacityOverride.day,
            CapacityOverride.slot,
            CapacityOverride.capacity,
            CapacityOverride.set_by,
            CapacityOverride.set_at,
        ).where(
            CapacityOverride.location_id == location_id,
            CapacityOverride.day >= first,
            CapacityOverride.day <= last,
        )
    )
    return {(d, s): OverrideRow(c, by, at) for d, s, c, by, at in rows}


async def set_overrides(
    session: AsyncSession,
    location_id: int,
    overrides: Iterable[tuple[date, str, int]],
    *,
    actor: str,
    now: datetime,
) -> None:
    """Write ``(day, slot, capacity)`` overrides of the location, recording ``actor`` as who
    set them at ``now``."""
    for day, slot, capacity in overrides:
        stmt = insert_for(session, CapacityOverride).values(
            location_id=location_id,
            day=day,
            slot=slot,
            capacity=capacity,
            set_by=actor,
            set_at=now,
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[
                    CapacityOverride.location_id,
                    CapacityOverride.day,
                    CapacityOverride.slot,
                ],
                set_={"capacity": capacity, "set_by": actor, "set_at": now},
            )
        )
