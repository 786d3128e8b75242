"""Order numbers: sequential per organization, without a lock that every order has to queue on.

An organization's orders are numbered 1, 2, 3... On SQLite the next number comes from the
organization's ``order_seq`` counter row (SQLite runs one writer at a time anyway). On PostgreSQL a
counter row would be updated by every order of the organization and stay locked until its
transaction commits; a commit waits for the disk (about a millisecond here), so one organization
could never take more orders a second than the disk can commit one after another, however many
clients and workers it had. Each organization therefore has a PostgreSQL sequence of its own,
``order_numbers_<id>``: ``nextval`` never waits for another transaction.

The price of a sequence is that a number taken by a transaction that then rolls back is not
given out again. :func:`orderdesk.core.orders.service.create_order` therefore takes the number as
the last thing that can fail for a business reason (after capacity and the coupon use), so
ordinary refusals never cost a number; only a transaction that fails afterwards (a lost race for
an image, a crash, a failed commit) leaves a gap. ``docs/decisions.md`` records the trade-off.

The sequence is created in the same transaction as its organization (an ``after_insert`` hook, so
every way of creating one is covered), and :func:`ensure_sequences` creates any that are missing
(an organization inserted by plain SQL, a database migrated from before sequences) whenever the
schema is migrated, starting after the highest number already used.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, event, func, text, update
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement, cast

from orderdesk.core.organizations.models import Organization


def sequence_name(organization_id: int) -> str:
    return f"order_numbers_{int(organization_id)}"


def next_number_expression(name: ColumnElement[str]) -> ColumnElement[int]:
    """``nextval`` of the sequence named ``name`` (a bound parameter, so that the statement is
    compiled and prepared once for every organization), inside the order's ``INSERT``."""
    return func.nextval(cast(name, REGCLASS))


async def next_number_from_counter(session: AsyncSession, organization_id: int) -> int:
    """The next number from the ``order_seq`` counter row (SQLite)."""
    number = await session.scalar(
        update(Organization)
        .where(Organization.id == organization_id)
        .values(order_seq=Organization.order_seq + 1)
        .returning(Organization.order_seq)
    )
    assert number is not None
    return int(number)


def _create_sequence(connection: Connection, organization_id: int, start: int) -> None:
    connection.execute(
        text(
            f"CREATE SEQUENCE IF NOT EXISTS {sequence_name(organization_id)} "
            f"AS bigint START WITH {int(start)} MINVALUE 1"
        )
    )


@event.listens_for(Organization, "after_insert")
def _sequence_for_new_organization(
    _mapper: Any, connection: Connection, target: Organization
) -> None:
    if connection.dialect.name == "postgresql":
        _create_sequence(connection, target.id, (target.order_seq or 0) + 1)


def ensure_sequences(connection: Connection) -> None:
    """Give every organization a sequence that is ahead of its highest order number.

    PostgreSQL only (a sync connection, run by the migrations). Creates missing sequences and
    moves on any that lag behind the stored numbers (orders loaded by plain SQL, a restored
    dump), so a new order can never collide with an existing number.
    """
    if connection.dialect.name != "postgresql":
        return
    rows = connection.execute(
        text(
            "SELECT o.id, GREATEST(o.order_seq, COALESCE(MAX(r.number), 0)), "
            "to_regclass('order_numbers_' || o.id) IS NOT NULL "
            "FROM organizations o LEFT JOIN orders r ON r.organization_id = o.id GROUP BY o.id"
        )
    ).all()
    for organization_id, used, exists in rows:
        if not exists:
            _create_sequence(connection, organization_id, used + 1)
            continue
        name = sequence_name(organization_id)
        # The name is built from an integer id: nothing of a client's reaches this text.
        query = text(f"SELECT last_value, is_called FROM {name}")  # noqa: S608
        last, called = connection.execute(query).one()
        if (last if called else last - 1) < used:
            connection.execute(
                text("SELECT setval(CAST(:name AS regclass), :used)"), {"name": name, "used": used}
            )
