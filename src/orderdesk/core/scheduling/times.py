"""Restaurant pickup and delivery times: opening hours, lead time, slots with order capacity.

A location's settings hold ``opening_hours`` (``{"mon": [["11:30", "14:30"], ...]}``, a missing
day is closed), ``lead_minutes`` (how long the kitchen needs), ``slot_minutes`` and
``orders_per_slot``. A time is offered when it is a slot start inside opening hours, at least
the lead time from now, and its slot still has capacity; booking it takes a unit of that
capacity through :mod:`orderdesk.core.scheduling.capacity`, atomically.

``orders_per_slot`` is every slot's capacity unless an operator set one day's slot otherwise (a
short-staffed Saturday, a kitchen closed to orders for a day): those are ``capacity_overrides``
rows keyed by the slot's local start (``"12:15"``), the same table and per-worker cache as a
partner store's masters per timeslot, written by :mod:`orderdesk.core.scheduling.calendar`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.organizations.models import Location
from orderdesk.core.scheduling.capacity import give_back_unit, take_unit, used_units
from orderdesk.core.scheduling.service import capacity_overrides

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HORIZON_DAYS = 7
DEFAULT_LEAD_MINUTES = 20
DEFAULT_SLOT_MINUTES = 15
DEFAULT_ORDERS_PER_SLOT = 4


@dataclass(frozen=True, slots=True)
class SlotRules:
    zone: ZoneInfo
    opening_hours: dict[str, list[tuple[time, time | None]]]  # None end = midnight
    lead: timedelta
    slot: timedelta
    capacity: int

    @classmethod
    def of(cls, location: Location) -> SlotRules:
        settings: dict[str, Any] = location.settings or {}
        hours: dict[str, list[tuple[time, time | None]]] = {}
        for day, ranges in (settings.get("opening_hours") or {}).items():
            hours[day] = [
                (time.fromisoformat(start), None if end == "24:00" else time.fromisoformat(end))
                for start, end in ranges
            ]
        return cls(
            zone=ZoneInfo(location.timezone),
            opening_hours=hours,
            lead=timedelta(minutes=int(settings.get("lead_minutes", DEFAULT_LEAD_MINUTES))),
            slot=timedelta(minutes=int(settings.get("slot_minutes", DEFAULT_SLOT_MINUTES))),
            capacity=int(settings.get("orders_per_slot", DEFAULT_ORDERS_PER_SLOT)),
        )


def slot_key(local: datetime) -> str:
    return local.strftime("%H:%M")


def slot_capacity(
    rules: SlotRules, overrides: dict[tuple[date, str], int], day: date, key: str
) -> int:
    """How many orders the slot ``key`` of ``day`` takes: an operator's figure for that day,
    else ``orders_per_slot``."""
    return overrides.get((day, key), rules.capacity)


def offered_days(rules: SlotRules, now: datetime) -> tuple[date, date]:
    """The first and last day (local) customers may choose a time on: today and the
    :data:`HORIZON_DAYS` from it."""
    today = now.astimezone(rules.zone).date()
    return today, today + timedelta(days=HORIZON_DAYS - 1)


def slot_starts(rules: SlotRules, day: date) -> list[datetime]:
    """Every slot start of ``day`` inside opening hours, as aware local datetimes."""
    starts: list[datetime] = []
    for start, end in rules.opening_hours.get(WEEKDAYS[day.weekday()], []):
        current = datetime.combine(day, start, rules.zone)
        stop = (
            datetime.combine(day + timedelta(days=1), time(0), rules.zone)
            if end is None
            else datetime.combine(day, end, rules.zone)
        )
        while current < stop:
            starts.append(current)
            current += rules.slot
    return starts


async def free_times(
    session: AsyncSession, location: Location, now: datetime, *, days: int = HORIZON_DAYS
) -> list[datetime]:
    """Bookable slot starts from now on (aware, in the location's zone), earliest first."""
    rules = SlotRules.of(location)
    today = now.astimezone(rules.zone).date()
    last = today + timedelta(days=days - 1)
    used = await used_units(session, location.id, today, last)
    overrides = await capacity_overrides(session, location.id, today, last)
    earliest = now + rules.lead
    result = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        for start in slot_starts(rules, day):
            key = slot_key(start)
            if start >= earliest and used.get((day, key), 0) < slot_capacity(
                rules, overrides, day, key
            ):
                result.append(start)
    return result


def is_slot_start(location: Location, when: datetime, now: datetime) -> bool:
    """Whether ``when`` is an offered slot start (ignoring capacity)."""
    rules = SlotRules.of(location)
    local = when.astimezone(rules.zone)
    if local.second or local.microsecond:
        return False  # 11:00:30 is not the 11:00 slot start, and would be stored as asked
    if local < now + rules.lead or local.date() > offered_days(rules, now)[1]:
        return False
    return local in slot_starts(rules, local.date())


async def _slot_at(
    session: AsyncSession, location: Location, when: datetime
) -> tuple[date, str, int]:
    """The local day and slot key of the slot starting at ``when``, and its capacity."""
    rules = SlotRules.of(location)
    local = when.astimezone(rules.zone)
    day, key = local.date(), slot_key(local)
    overrides = await capacity_overrides(session, location.id, day, day)
    return day, key, slot_capacity(rules, overrides, day, key)


async def has_room(session: AsyncSession, location: Location, when: datetime) -> bool:
    """Whether the slot starting at ``when`` has a unit left now; reads only (quotes)."""
    day, key, capacity = await _slot_at(session, location, when)
    used = await used_units(session, location.id, day, day)
    return used.get((day, key), 0) < capacity


async def book_time(session: AsyncSession, location: Location, when: datetime) -> bool:
    """Take one order of the slot starting at ``when``; ``False`` when it is full."""
    day, key, capacity = await _slot_at(session, location, when)
    return await take_unit(session, location.id, day, key, capacity)


async def release_time(session: AsyncSession, location: Location, when: datetime) -> None:
    local = when.astimezone(ZoneInfo(location.timezone))
    await give_back_unit(session, location.id, local.date(), slot_key(local))
