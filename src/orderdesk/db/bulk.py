"""Writing rows into several tables in as few round trips as the database allows.

An order is written as one row and a handful of children (lines, its first event, outbox
events, a coupon use). On PostgreSQL all the children go out as one statement, each table's
``INSERT`` a data-modifying ``WITH`` clause of the last one, so the database is asked once
instead of once per table; each clause sees the same snapshot and all of them succeed or fail
together. SQLite has no data-modifying ``WITH``, and no network either: there each table is one
``executemany``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.db.upsert import is_postgres

Rows = Sequence[Mapping[str, Any]]


async def insert_rows(session: AsyncSession, batches: Sequence[tuple[Table, Rows]]) -> None:
    """Insert every batch of rows (all rows of a batch with the same keys) in the session's
    transaction."""
    batches = [(table, rows) for table, rows in batches if rows]
    if not batches:
        return
    if is_postgres(session):
        *first, (table, rows) = batches
        stmt = insert(table).values(list(rows))
        for index, (child, child_rows) in enumerate(first):
            stmt = stmt.add_cte(insert(child).values(list(child_rows)).cte(f"w{index}"))
        await session.execute(stmt)
        return
    for table, rows in batches:
        await session.execute(insert(table), list(rows))
