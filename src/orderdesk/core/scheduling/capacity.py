"""The one statement that takes a unit of capacity, and its mirror that gives one back.

    INSERT INTO slot_usage (..., used) VALUES (..., 1)
    ON CONFLICT DO UPDATE SET used = used + 1 WHERE slot_usage.used < :capacity

PostgreSQL takes the row lock and re-checks the ``WHERE`` against the newest committed row, so of
two transactions racing for the last unit exactly one sees a row count of 1; SQLite serialises
writers outright. Masters per timeslot and restaurant orders per time slot both go through here.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.scheduling.models import SlotUsage
from orderdesk.db.upsert import insert_for


async def take_unit(
    session: AsyncSession, location_id: int, day: date, slot: str, capacity: int
) -> bool:
    """Take one unit of ``(location, day, slot)`` if fewer than ``capacity`` are taken."""
    if capacity <= 0:
        return False
    stmt = insert_for(session, SlotUsage).values(
        location_id=location_id, day=day, slot=slot, used=1
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[SlotUsage.location_id, SlotUsage.day, SlotUsage.slot],
        set_={"used": SlotUsage.used + 1},
        where=SlotUsage.used < capacity,
    )
    result = cast(CursorResult[Any], await session.execute(stmt))
    return result.rowcount == 1


async def give_back_unit(session: AsyncSession, location_id: int, day: date, slot: str) -> None:
    await session.execute(
        update(SlotUsage)
        .where(SlotUsage.location_id == location_id, SlotUsage.day == day,
               SlotUsage.slot == slot, SlotUsage.used > 0)
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
