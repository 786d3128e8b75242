"""A location's capacity, a week at a time: what is booked against what is offered.

Two kinds of capacity are shown the same way, as cells of a day and a slot:

* **masters** (partner stores): the defined daily slots (:func:`service.define_slots`); the
  capacity of a cell is the store's default (``slot_capacity``) or its ``capacity_overrides``
  row. It is edited here with :func:`set_capacity` / :func:`set_day_off`, which write overrides.
  Booking stays atomic whatever is written: the capacity is read by the booking's own
  conditional ``UPDATE`` (:mod:`orderdesk.core.scheduling.capacity`), and workers' cached
  overrides are invalidated when ``capacity_overrides`` is written (:mod:`orderdesk.db.cache`).
* **orders** (restaurant locations): the time slots inside opening hours
  (:mod:`orderdesk.core.scheduling.times`), each limited by ``orders_per_slot``; shown, not
  edited here (the limit is the location's setting in the setup document).

Capacity may be set below what is already booked: nothing is cancelled, the cell shows as
overbooked and takes no further booking until enough are released.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.errors import FieldError, NotFound, ValidationFailed
from orderdesk.core.organizations.models import Location, Organization
from orderdesk.core.scheduling import service, times
from orderdesk.core.scheduling.capacity import used_units

log = logging.getLogger("orderdesk.capacity")

MAX_MASTERS: Final = 1000
"""The most masters one cell may be given: a bound on typing mistakes, not a business rule."""

Kind = Literal["masters", "orders"]


@dataclass(frozen=True, slots=True)
class Cell:
    """One day and slot: ``booked`` units against ``capacity``; ``free`` is negative when
    capacity was lowered below what is booked."""

    day: date
    slot: str
    booked: int
    capacity: int
    overridden: bool

    @property
    def free(self) -> int:
        return self.capacity - self.booked

    @property
    def overbooked(self) -> bool:
        return self.booked > self.capacity


@dataclass(frozen=True, slots=True)
class SlotRow:
    """A row of the week: the slot's key as stored and how a person reads it."""

    key: str
    label: str


@dataclass(frozen=True, slots=True)
class Week:
    """Seven days from ``first`` (a Monday) of one location; ``cells[(day, slot)]`` is missing
    where the slot does not exist that day (a restaurant closed at that hour)."""

    location_id: int
    organization_id: int
    kind: Kind
    first: date
    days: tuple[date, ...]
    slots: tuple[SlotRow, ...]
    cells: dict[tuple[date, str], Cell]
    today: date
    editable: bool

    @property
    def previous(self) -> date:
        return self.first - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.first + timedelta(days=7)

    def cell(self, day: date, slot: str) -> Cell | None:
        return self.cells.get((day, slot))


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


async def _location(session: AsyncSession, location_id: int) -> tuple[Location, str]:
    row = (
        await session.execute(
            select(Location, Organization.kind)
            .join(Organization, Organization.id == Location.organization_id)
            .where(Location.id == location_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"location {location_id} does not exist")
    return row[0], row[1]


def _slot_label(slot: service.Slot) -> str:
    return f"{slot.start:%H:%M}-{slot.end:%H:%M}"


async def capacity_week(
    session: AsyncSession, location_id: int, any_day: date, *, now: datetime
) -> Week:
    """The week containing ``any_day`` at the location: masters per timeslot for a partner
    store, orders per time slot for a restaurant location. Reads only (three range queries)."""
    location, kind = await _location(session, location_id)
    first = week_start(any_day)
    days = tuple(first + timedelta(days=i) for i in range(7))
    last = days[-1]
    used = await used_units(session, location.id, first, last)
    today = service.local_today(location, now)
    cells: dict[tuple[date, str], Cell] = {}
    if kind == "partner":
        defined = service.defined_slots()
        overrides = await service.capacity_overrides(session, location.id, first, last)
        for day in days:
            for slot in defined:
                key = (day, slot.name)
                capacity = (
                    overrides[key]
                    if key in overrides
                    else int(location.slot_capacity.get(slot.name, 0))
                )
                cells[key] = Cell(day, slot.name, used.get(key, 0), capacity, key in overrides)
        rows = tuple(SlotRow(slot.name, _slot_label(slot)) for slot in defined)
        return Week(
            location.id, location.organization_id, "masters", first, days, rows, cells, today, True
        )
    rules = times.SlotRules.of(location)
    keys: set[str] = set()
    for day in days:
        for start in times.slot_starts(rules, day):
            slot_name = times.slot_key(start)
            keys.add(slot_name)
            booked = used.get((day, slot_name), 0)
            cells[(day, slot_name)] = Cell(day, slot_name, booked, rules.capacity, False)
    rows = tuple(SlotRow(k, k) for k in sorted(keys))
    return Week(
        location.id, location.organization_id, "orders", first, days, rows, cells, today, False
    )


def _check_day(location: Location, day: date, now: datetime) -> None:
    first, last = service.booking_window(location, now)
    if not first <= day <= last:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "day",
                    "min" if day < first else "max",
                    f"capacity can be set from {first.isoformat()} to {last.isoformat()} "
                    "(today and the booking window)",
                )
            ]
        )


async def _partner_store(session: AsyncSession, location_id: int) -> Location:
    location, kind = await _location(session, location_id)
    if kind != "partner":
        raise ValidationFailed(
            errors=[
                FieldError(
                    "location",
                    "enum",
                    "masters are set for partner stores; a restaurant's orders per slot is "
                    "its setting in the setup document",
                )
            ]
        )
    return location


async def set_capacity(
    session: AsyncSession,
    location_id: int,
    day: date,
    slot: str,
    masters: int,
    *,
    actor: str,
    now: datetime,
) -> Cell:
    """Make ``masters`` the capacity of one store, day and timeslot (an override row).

    ``masters`` is 0 (no master that slot) to :data:`MAX_MASTERS`; lower than what is booked
    is accepted and leaves the cell overbooked. Days before the store's today or beyond the
    booking window are refused: nothing can be booked there. Flushes; the caller commits.
    """
    location = await _partner_store(session, location_id)
    errors: list[FieldError] = []
    if slot not in {s.name for s in service.defined_slots()}:
        errors.append(FieldError("slot", "enum", f"unknown timeslot {slot!r}"))
    if isinstance(masters, bool) or not isinstance(masters, int) or masters < 0:
        errors.append(FieldError("masters", "min", "must be a whole number, 0 or more"))
    elif masters > MAX_MASTERS:
        errors.append(FieldError("masters", "max", f"must be at most {MAX_MASTERS}"))
    if errors:
        raise ValidationFailed(errors=errors)
    _check_day(location, day, now)
    await service.set_overrides(session, location.id, [(day, slot, masters)])
    await session.flush()
    log.info("capacity of %s on %s %s set to %s by %s", location.key, day, slot, masters, actor)
    used = await used_units(session, location.id, day, day)
    return Cell(day, slot, used.get((day, slot), 0), masters, True)


async def set_day_off(
    session: AsyncSession, location_id: int, day: date, *, actor: str, now: datetime
) -> None:
    """No master at the store on ``day``: capacity 0 in every timeslot (bookings already
    taken stay and show as overbooked)."""
    location = await _partner_store(session, location_id)
    _check_day(location, day, now)
    await service.set_overrides(
        session, location.id, [(day, slot.name, 0) for slot in service.defined_slots()]
    )
    await session.flush()
    log.info("%s set as a day off at %s by %s", day, location.key, actor)
