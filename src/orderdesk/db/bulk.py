"""Writing rows into several tables in as few round trips as the database allows.

An order is written as one row and a handful of children (lines, its first event, outbox
events, a coupon use). On PostgreSQL all the children go out as one statement, each table's
``INSERT`` a data-modifying ``WITH`` clause of the last one, so the database is asked once
instead of once per table; each clause sees the same snapshot and all of them succeed or fail
together. SQLite has no data-modifying ``WITH``, and no network either: there each table is one
``executemany``.

SQLAlchemy does not cache the compiled form of an ``INSERT`` with ``add_cte`` (its cache key is
``None``), and compiling one costs milliseconds; so the statement text is built here once per
shape (which tables, which columns, how many rows) with typed bound parameters, and reused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, TextClause, bindparam, insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.db.upsert import is_postgres

Rows = Sequence[Mapping[str, Any]]
_Shape = tuple[tuple[str, tuple[str, ...], int], ...]
_statements: dict[tuple[_Shape, str | None], TextClause] = {}


def _statement(shape: _Shape, tables: Sequence[Table], extra: str | None) -> TextClause:
    """The ``WITH ... INSERT`` text for ``shape``, its parameters named ``p<batch>_<row>_<col>``."""
    clauses: list[str] = []
    params = []
    for index, ((_name, columns, count), table) in enumerate(zip(shape, tables, strict=True)):
        rows = []
        for row in range(count):
            names = [f"p{index}_{row}_{column}" for column in columns]
            params += [
                bindparam(name, type_=table.c[column].type)
                for name, column in zip(names, columns, strict=True)
            ]
            rows.append("(" + ", ".join(f":{name}" for name in names) + ")")
        # Names come from the table's own columns (``table.c[...]`` above refuses any other).
        into = f"INSERT INTO {table.name} ({', '.join(table.c[c].name for c in columns)})"
        clauses.append(f"{into} VALUES {', '.join(rows)}")
    if extra is not None:
        clauses.insert(0, extra)
    *first, last = clauses
    ctes = ", ".join(f"w{i} AS ({clause})" for i, clause in enumerate(first))
    return text((f"WITH {ctes} " if ctes else "") + last).bindparams(*params)


async def insert_rows(
    session: AsyncSession,
    batches: Sequence[tuple[Table, Rows]],
    *,
    also: tuple[str, Mapping[str, Any]] | None = None,
) -> None:
    """Insert every batch of rows (all rows of a batch with the same keys) in the session's
    transaction.

    ``also`` is one more data-modifying statement (SQL text with ``:name`` parameters, written
    for both databases) sent with them: on PostgreSQL as one more ``WITH`` clause, on SQLite on
    its own.
    """
    batches = [(table, rows) for table, rows in batches if rows]
    if not is_postgres(session):
        for table, rows in batches:
            await session.execute(insert(table), list(rows))
        if also is not None:
            await session.execute(text(also[0]), dict(also[1]))
        return
    if not batches:
        if also is not None:
            await session.execute(text(also[0]), dict(also[1]))
        return
    shape = tuple((table.name, tuple(rows[0]), len(rows)) for table, rows in batches)
    extra = also[0] if also is not None else None
    stmt = _statements.get((shape, extra))
    if stmt is None:
        stmt = _statements.setdefault(
            (shape, extra), _statement(shape, [t for t, _ in batches], extra)
        )
    values = {
        f"p{index}_{row}_{column}": value
        for index, (_table, rows) in enumerate(batches)
        for row, record in enumerate(rows)
        for column, value in record.items()
    }
    if also is not None:
        values.update(also[1])
    await session.execute(stmt, values)
