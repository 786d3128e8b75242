"""A location's capacity, a week at a time: what is booked against what is offered.

Two kinds of capacity are shown and edited the same way, as cells of a day and a slot:

* **masters** (partner stores): the defined daily slots (:func:`service.define_slots`); the
  capacity of a cell is the store's default (``slot_capacity``) or its override for that day.
* **orders** (restaurant locations): the time slots inside that day's opening hours
  (:mod:`orderdesk.core.scheduling.times`); the capacity of a cell is ``orders_per_slot`` or its
  override for that day.

:func:`set_capacity` and :func:`set_day_off` write ``capacity_overrides`` rows, which both kinds
of booking read. Booking stays atomic whatever is written: the capacity is a bound of the
booking's own conditional ``UPDATE`` (:mod:`orderdesk.core.scheduling.capacity`), and workers'
cached overrides are invalidated when ``capacity_overrides`` is written (:mod:`orderdesk.db.cache`).

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

MAX_CAPACITY: Final[dict[str, int]] = {"masters": 1000, "orders": 10000}
"""The most one cell may be given, per kind (orders as the setup document's ``orders_per_slot``
allows): a bound on typing mistakes, not a business rule."""

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
    set_by: str | None = None
    """Who set this day's capacity (``operator:<email>``, ``setup``), where it was set."""
    set_at: datetime | None = None

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
    editable_until: date
    max_capacity: int

    @property
    def previous(self) -> date:
        return self.first - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.first + timedelta(days=7)

    def cell(self, day: date, slot: str) -> Cell | None:
        return self.cells.get((day, slot))

    def editable(self, day: date) -> bool:
        """Whether ``day``'s capacity can be set: from today to the last bookable day."""
        return self.today <= day <= self.editable_until


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


async def _location(session: AsyncSession, location_id: int) -> tuple[Location, Kind]:
    """The location and what its capacity counts: masters at a partner's store, orders at a
    restaurant's location."""
    row = (
        await session.execute(
            select(Location, Organization.kind)
            .join(Organization, Organization.id == Location.organization_id)
            .where(Location.id == location_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"location {location_id} does not exist")
    return row[0], "masters" if row[1] == "partner" else "orders"


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
    # Read here rather than from the per-worker cache: the week shows who set each override.
    set_rows = await service.override_rows(session, location.id, first, last)
    overrides = {key: row.capacity for key, row in set_rows.items()}

    def cell(key: tuple[date, str], capacity: int) -> Cell:
        row = set_rows.get(key)
        if row is None:
            return Cell(key[0], key[1], used.get(key, 0), capacity, False)
        return Cell(key[0], key[1], used.get(key, 0), capacity, True, row.set_by, row.set_at)

    cells: dict[tuple[date, str], Cell] = {}
    if kind == "masters":
        defined = service.defined_slots()
        for day in days:
            for slot in defined:
                capacity = service.store_capacity(
                    location, overrides, service.SlotChoice(day, slot.name)
                )
                cells[(day, slot.name)] = cell((day, slot.name), capacity)
        rows = tuple(SlotRow(slot.name, slot.hours) for slot in defined)
    else:
        rules = times.SlotRules.of(location)
        for day in days:
            for slot_name in _restaurant_slots(rules, day):
                key = (day, slot_name)
                capacity = times.slot_capacity(rules, overrides, day, slot_name)
                cells[key] = cell(key, capacity)
        rows = tuple(SlotRow(k, k) for k in sorted({slot for _, slot in cells}))
    today, editable_until = _editable_days(location, kind, now)
    return Week(
        location.id,
        location.organization_id,
        kind,
        first,
        days,
        rows,
        cells,
        today,
        editable_until,
        MAX_CAPACITY[kind],
    )


def _restaurant_slots(rules: times.SlotRules, day: date) -> list[str]:
    return [times.slot_key(start) for start in times.slot_starts(rules, day)]


def _slots_of(location: Location, kind: Kind, day: date) -> list[str]:
    """The slot keys ``day`` has at the location: every defined timeslot of a store, the time
    slots inside that day's opening hours of a restaurant."""
    if kind == "masters":
        return [slot.name for slot in service.defined_slots()]
    return _restaurant_slots(times.SlotRules.of(location), day)


def _editable_days(location: Location, kind: Kind, now: datetime) -> tuple[date, date]:
    """Today to the last day a booking can be made for: the store's booking window, or the
    days a restaurant offers times for."""
    if kind == "masters":
        return service.booking_window(location, now)
    return times.offered_days(times.SlotRules.of(location), now)


def _check_day(location: Location, kind: Kind, day: date, now: datetime) -> None:
    first, last = _editable_days(location, kind, now)
    if not first <= day <= last:
        raise ValidationFailed(
            errors=[
                FieldError(
                    "day",
                    "min" if day < first else "max",
                    f"capacity can be set from {first.isoformat()} to {last.isoformat()} "
                    "(today and the days that can be booked)",
                )
            ]
        )


async def set_capacity(
    session: AsyncSession,
    location_id: int,
    day: date,
    slot: str,
    capacity: int,
    *,
    actor: str,
    now: datetime,
) -> Cell:
    """Make ``capacity`` the masters of one store's timeslot, or the orders of one
    restaurant's time slot, on ``day`` (an override row).

    ``capacity`` is 0 (nothing that slot) to the kind's :data:`MAX_CAPACITY`; lower than what
    is booked is accepted and leaves the cell overbooked. The slot must exist that day (a
    restaurant's slot inside that day's opening hours). Days before the location's today or
    past the last bookable day are refused: nothing can be booked there. Flushes; the caller
    commits.
    """
    location, kind = await _location(session, location_id)
    errors: list[FieldError] = []
    if slot not in _slots_of(location, kind, day):
        errors.append(FieldError("slot", "enum", f"{day.isoformat()} has no slot {slot!r}"))
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
        errors.append(FieldError("capacity", "min", "must be a whole number, 0 or more"))
    elif capacity > MAX_CAPACITY[kind]:
        errors.append(FieldError("capacity", "max", f"must be at most {MAX_CAPACITY[kind]}"))
    if errors:
        raise ValidationFailed(errors=errors)
    _check_day(location, kind, day, now)
    await service.set_overrides(session, location.id, [(day, slot, capacity)], actor=actor, now=now)
    await session.flush()
    log.info("%s of %s on %s %s set to %s by %s", kind, location.key, day, slot, capacity, actor)
    used = await used_units(session, location.id, day, day)
    return Cell(day, slot, used.get((day, slot), 0), capacity, True, actor, now)


async def set_day_off(
    session: AsyncSession, location_id: int, day: date, *, actor: str, now: datetime
) -> None:
    """Nothing bookable at the location on ``day``: no master at a store, no order time at a
    restaurant; capacity 0 in every slot of the day (bookings already taken stay and show as
    overbooked)."""
    location, kind = await _location(session, location_id)
    _check_day(location, kind, day, now)
    await service.set_overrides(
        session,
        location.id,
        [(day, slot, 0) for slot in _slots_of(location, kind, day)],
        actor=actor,
        now=now,
    )
    await session.flush()
    log.info("%s set as a day off at %s by %s", day, location.key, actor)
