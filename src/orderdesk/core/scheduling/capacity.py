"""Taking a unit of capacity without ever overbooking, and its mirror that gives one back.

    UPDATE slot_usage SET used = used + 1 WHERE <slot> AND used < :capacity
    -- no row: the slot's first booking
    INSERT INTO slot_usage (..., used) VALUES (..., 1) ON CONFLICT DO NOTHING
    -- conflict: someone else made the row meanwhile, so the UPDATE once more

PostgreSQL re-checks an ``UPDATE``'s ``WHERE`` against the newest committed row after waiting for
a concurrent writer, so of two transactions racing for the last unit exactly one sees a row count
of 1; SQLite serialises writers outright. A plain ``UPDATE`` whose ``WHERE`` is false locks
nothing, so once a slot is full every further attempt is refused at once and in parallel. (An
``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` locks the row even when its ``WHERE`` is false:
each refusal held the lock until its transaction ended, and 300 concurrent attempts at a full
slot queued behind each other for tens of seconds, long enough to run out of pooled connections
and answer 500.) Masters per timeslot and restaurant orders per time slot both go through here.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.scheduling.models import SlotUsage
from orderdesk.db.upsert import insert_for

_USAGE = cast(Table, SlotUsage.__table__)
# Built once, values as parameters: the statement runs for every booking.
_TAKE = (
    update(_USAGE)
    .where(
        _USAGE.c.location_id == bindparam("at_location"),
        _USAGE.c.day == bindparam("on_day"),
        _USAGE.c.slot == bindparam("in_slot"),
        _USAGE.c.used < bindparam("capacity"),
    )
    .values(used=_USAGE.c.used + 1)
)


async def take_unit(
    session: AsyncSession, location_id: int, day: date, slot: str, capacity: int
) -> bool:
    """Take one unit of ``(location, day, slot)`` if fewer than ``capacity`` are taken."""
    if capacity <= 0:
        return False
    params = {"at_location": location_id, "on_day": day, "in_slot": slot, "capacity": capacity}
    if cast(CursorResult[Any], await session.execute(_TAKE, params)).rowcount == 1:
        return True
    first = (
        insert_for(session, SlotUsage)
        .values(location_id=location_id, day=day, slot=slot, used=1)
        .on_conflict_do_nothing(
            index_elements=[SlotUsage.location_id, SlotUsage.day, SlotUsage.slot]
        )
    )
    if cast(CursorResult[Any], await session.execute(first)).rowcount == 1:
        return True
    # The row exists: it was there and full, or a concurrent first booking just made it.
    return cast(CursorResult[Any], await session.execute(_TAKE, params)).rowcount == 1


async def give_back_unit(session: AsyncSession, location_id: int, day: date, slot: str) -> None:
    await session.execute(
        update(SlotUsage)
        .where(
            SlotUsage.location_id == location_id,
            SlotUsage.day == day,
            SlotUsage.slot == slot,
            SlotUsage.used > 0,
        )
        .values(used=SlotUsage.used - 1)
    )


async def used_units(
    session: AsyncSession, location_id: int, first: date, last: date
) -> dict[tuple[date, str], int]:
    rows = await session.execute(
        select(SlotUsage.day, SlotUsage.slot, SlotUsage.used).where(
            SlotUsage.location_id == location_id, SlotUsage.day >= first, SlotUsage.day <= last
        )
    )
    return {(d, s): u for d, s, u in rows}
