"""The confirmation countdown of customer orders: confirm, close, and time out by themselves.

An order a customer places starts unconfirmed with a countdown (per restaurant, default 300 s).
Confirming in time works; afterwards confirm answers ``OrderTimedOut``. The timeout itself is
applied by :func:`expire_due`, which a background task runs every second in every server and
worker process (``SKIP LOCKED`` on PostgreSQL shares the work), so it happens even when no request
arrives; it gives back the order's time slot and coupon use, in the same transaction.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from orderdesk.core.errors import Conflict, InvalidToken, OrderTimedOut
from orderdesk.core.orders import service
from orderdesk.core.orders.models import Order
from orderdesk.core.orders.schemas import OrderView
from orderdesk.core.organizations.service import Principal
from orderdesk.db.upsert import is_postgres


async def _checked(session: AsyncSession, principal: Principal, uid: str, token: str) -> OrderView:
    view = await service.get_order_by_uid(session, principal, uid, for_update=True)
    if not secrets.compare_digest(view.order.token.encode(), token.encode()):
        raise InvalidToken("token: does not match the order")
    return view


def _timed_out(order: Order, now: datetime) -> bool:
    return order.timed_out_at is not None or (
        order.confirmed_at is None
        and order.countdown_ends_at is not None
        and now >= order.countdown_ends_at
    )


async def confirm(
    session: AsyncSession,
    principal: Principal,
    uid: str,
    token: str,
    *,
    actor: str,
    now: datetime,
) -> OrderView:
    view = await _checked(session, principal, uid, token)
    return confirm_loaded(session, view, actor=actor, now=now)


def confirm_loaded(
    session: AsyncSession, view: OrderView, *, actor: str, now: datetime
) -> OrderView:
    """:func:`confirm` of an order the caller has already loaded with its row lock (and whose
    right to confirm it is settled): confirming twice answers the order as it is; after the
    countdown ran out it is ``OrderTimedOut`` even before the background task has applied it."""
    order = view.order
    if order.confirmed_at is not None:
        return view
    if _timed_out(order, now):
        raise OrderTimedOut("the confirmation countdown has run out")
    order.confirmed_at = now
    service.change_state(session, view, "confirmed", actor=actor, kind="confirmed", now=now)
    return view


async def close(
    session: AsyncSession,
    principal: Principal,
    uid: str,
    token: str,
    *,
    actor: str,
    now: datetime,
) -> OrderView:
    view = await _checked(session, principal, uid, token)
    return close_loaded(session, view, actor=actor, now=now)


def close_loaded(session: AsyncSession, view: OrderView, *, actor: str, now: datetime) -> OrderView:
    """:func:`close` of an order the caller has already loaded with its row lock: only once it
    is confirmed; closing twice answers the order as it is."""
    order = view.order
    if order.closed_at is not None:
        return view
    if _timed_out(order, now):
        raise OrderTimedOut("the confirmation countdown has run out")
    if order.confirmed_at is None:
        raise Conflict("the order must be confirmed before it is closed")
    order.closed_at = now
    service.change_state(session, view, "closed", actor=actor, kind="closed", now=now)
    return view


async def expire_due(session: AsyncSession, *, now: datetime, limit: int = 100) -> int:
    """Time out every unconfirmed order whose countdown has ended; returns how many."""
    stmt = (
        select(Order)
        .where(
            Order.countdown_ends_at <= now,
            # A literal, not a parameter: PostgreSQL uses the partial index only when it can
            # prove its predicate from the query, which a generic plan's $1 never lets it.
            Order.substatus == literal_column("'awaiting_confirmation'"),
            Order.confirmed_at.is_(None),
            Order.timed_out_at.is_(None),
            Order.countdown_ends_at.is_not(None),
        )
        .order_by(Order.countdown_ends_at)
        .limit(limit)
        .options(selectinload(Order.lines))  # the order.timeout event carries the full order
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    due = list(await session.scalars(stmt))
    for view in await service.views_for(session, due):
        order = view.order
        order.timed_out_at = now
        await service.give_back_time_and_coupon(session, view)
        service.change_state(
            session, view, "timed_out", actor="system:countdown", kind="timed_out", now=now
        )
    return len(due)
