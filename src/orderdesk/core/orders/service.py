"""Creating orders and moving them through their lifecycle.

Guarantees:
- ``create_order`` validates everything it can before writing and reports every problem at once;
  then, in the caller's single transaction, it books capacity, numbers the order, stores it with
  its lines, links its images, records its first event and its outbox event. Any failure (the
  last slot taken meanwhile, an image linked by a concurrent order) raises and the caller's
  rollback leaves nothing behind.
- Every later change takes the order's row lock first, goes through the transition table, and is
  recorded as an :class:`OrderEvent` plus an outbox event.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.attachments.service import link_images
from orderdesk.core.catalog.search import fold
from orderdesk.core.errors import Conflict, ErrorCollector, FieldError, ValidationFailed
from orderdesk.core.events.models import OutboxEvent
from orderdesk.core.events.service import order_event_rows, publish_order_event
from orderdesk.core.orders import lifecycle, numbering
from orderdesk.core.orders.checks import (
    CheckedDraft,
    check_draft,
    check_preferences,
    location_for,
)
from orderdesk.core.orders.models import ORDER_COUNT_SHARDS, Order, OrderEvent, OrderLine
from orderdesk.core.orders.queries import (
    get_order,
    get_order_by_uid,
    list_orders,
    page_orders,
    views_for,
)
from orderdesk.core.orders.schemas import (
    BOOKING,
    COUPON,
    IMAGES,
    PREFERENCES,
    OrderDraft,
    OrderView,
)
from orderdesk.core.organizations.models import Location
from orderdesk.core.organizations.service import Principal
from orderdesk.core.pricing.coupons import (
    NO_USES_LEFT,
    coupon_use_row,
    give_back_coupon_use,
    take_coupon_use,
)
from orderdesk.core.pricing.models import Coupon, CouponUse
from orderdesk.core.pricing.service import Totals, price_order
from orderdesk.core.scheduling import service as scheduling
from orderdesk.core.scheduling import times
from orderdesk.core.scheduling.service import SlotChoice
from orderdesk.db.bulk import insert_rows
from orderdesk.db.upsert import is_postgres

__all__ = [
    "cancel_loaded",
    "cancel_order",
    "change_dates",
    "change_dates_loaded",
    "change_state",
    "create_order",
    "draft_errors",
    "get_order",
    "get_order_by_uid",
    "give_back_time_and_coupon",
    "list_orders",
    "location_for",
    "mark_ready",
    "mark_ready_loaded",
    "page_orders",
    "quote_order",
    "views_for",
]


def _title(names: Sequence[str]) -> str:
    return names[0] + (f" +{len(names) - 1}" if len(names) > 1 else "")


def _search_text(title: str, customer: dict[str, str]) -> str:
    return fold(
        " ".join(
            [
                title,
                customer.get("first_name", ""),
                customer.get("last_name", ""),
                customer.get("phone", ""),
                customer.get("email", ""),
            ]
        )
    )


async def draft_errors(
    session: AsyncSession, principal: Principal, draft: OrderDraft, *, now: datetime
) -> list[FieldError]:
    """What the database-backed rules find wrong in ``draft``, without writing anything.

    For dialects whose request failed its shape checks: they pass what they could read, so the
    client gets every problem in one answer instead of one round trip per kind of check.
    """
    errors = ErrorCollector()
    await check_draft(session, principal, draft, errors, now)
    return errors.errors


def _initial_substatus(draft: OrderDraft) -> str:
    if draft.confirmation is not None:
        return "confirmed" if draft.confirmation.confirmed_now else "awaiting_confirmation"
    return "awaiting_master_request" if draft.ready else "not_in_stock"


async def create_order(
    session: AsyncSession, principal: Principal, draft: OrderDraft, *, actor: str, now: datetime
) -> OrderView:
    priced = await _checked_and_claimed(session, principal, draft, now, _TAKE)
    location, booked, scheduled_at = priced.location, priced.booked, priced.scheduled_at
    checked, totals = priced.checked, priced.totals

    order = _new_order(principal, draft, checked, booked, scheduled_at, totals, now)
    values = {column.key: order.__dict__[column.key] for column in _ORDER_COLUMNS}
    if is_postgres(session):
        values["number_sequence"] = numbering.sequence_name(principal.organization_id)
        stmt = _INSERT_ORDER_NUMBERED
    else:
        values["number"] = await numbering.next_number_from_counter(
            session, principal.organization_id
        )
        stmt = _INSERT_ORDER
    order.id, order.number = (await session.execute(stmt, values)).one()
    if draft.image_ids and not await link_images(
        session, principal.organization_id, draft.image_ids, order.id
    ):
        raise ValidationFailed(
            errors=[
                FieldError(IMAGES, "conflict", "an image was linked to another order meanwhile")
            ]
        )

    view = OrderView(
        order,
        principal.organization_key,
        principal.organization_kind,
        location,
        list(dict.fromkeys(draft.image_ids)),
    )
    event = _event_row(
        view,
        actor=actor,
        kind="created",
        previous=None,
        now=now,
        data={
            "booked": _booking(booked),
            "scheduled_at": scheduled_at.isoformat() if scheduled_at else None,
        },
    )
    lines = [
        {"order_id": order.id, **{c.key: line.__dict__[c.key] for c in _LINE_COLUMNS}}
        for line in order.lines
    ]
    uses = (
        [coupon_use_row(checked.coupon, order_id=order.id, discount=totals.discount, now=now)]
        if checked.coupon is not None and draft.coupon is not None
        else []
    )
    await insert_rows(
        session,
        [
            (_LINES, lines),
            (cast(Table, CouponUse.__table__), uses),
            (cast(Table, OrderEvent.__table__), [event]),
            (cast(Table, OutboxEvent.__table__), order_event_rows("created", view, now)),
        ],
        also=(
            _COUNT_PG if is_postgres(session) else _COUNT_SQLITE,
            {"count_org": principal.organization_id},
        ),
    )
    return view


def _no_master_free() -> ValidationFailed:
    """The refusal of a booking (create, new dates) when every preferred slot is taken."""
    return ValidationFailed(
        errors=[
            FieldError(
                PREFERENCES,
                "unavailable",
                "no master is free in any of the requested dates and timeslots",
                "no_master",
            )
        ]
    )


@dataclass(frozen=True, slots=True)
class Quote:
    """What :func:`create_order` would store for a draft now, without storing anything.

    ``order`` is a transient :class:`Order` (no id, number or events, never added to a session)
    priced exactly as a created one would be, with the slot it would book; ``location`` is the
    location it would be taken at.
    """

    order: Order
    location: Location


async def quote_order(
    session: AsyncSession, principal: Principal, draft: OrderDraft, *, now: datetime
) -> Quote:
    """Run every check of :func:`create_order` and price the order, writing and locking nothing.

    The same refusals as a create come back as the same errors, including a full slot and a
    coupon with no use left, but read from committed state instead of taken: a quote is a
    promise of nothing, and a create a moment later may still find the last unit gone.
    """
    p = await _checked_and_claimed(session, principal, draft, now, _LOOK)
    order = _new_order(principal, draft, p.checked, p.booked, p.scheduled_at, p.totals, now)
    return Quote(order, p.location)


@dataclass(frozen=True, slots=True)
class _Claims:
    """How an order's scarce things are claimed: taken until the commit (a create) or only
    looked at in committed state (a quote). Each answers whether the order may have it."""

    first_free_slot: Callable[
        [AsyncSession, Location, Sequence[SlotChoice], datetime], Awaitable[SlotChoice | None]
    ]
    time: Callable[[AsyncSession, Location, datetime], Awaitable[bool]]
    coupon_use: Callable[[AsyncSession, Coupon], Awaitable[bool]]


async def _coupon_has_a_use(session: AsyncSession, coupon: Coupon) -> bool:
    # check_coupon has refused a coupon whose quantity is used up; nothing more to read.
    return True


_TAKE = _Claims(scheduling.book_first_free, times.book_time, take_coupon_use)
_LOOK = _Claims(scheduling.first_free, times.has_room, _coupon_has_a_use)


@dataclass(frozen=True, slots=True)
class _Priced:
    checked: CheckedDraft
    location: Location
    booked: SlotChoice | None
    scheduled_at: datetime | None
    totals: Totals


async def _checked_and_claimed(
    session: AsyncSession, principal: Principal, draft: OrderDraft, now: datetime, claims: _Claims
) -> _Priced:
    """Every rule of a new order, then its capacity and coupon use claimed, then its prices.

    Rows that other orders need too (a slot's capacity, a coupon's uses) stay locked, or are
    used up, until the commit once taken, so they are claimed after every check and capacity
    before the coupon; the caller numbers the order last so that a refusal never costs a
    number (see numbering).
    """
    errors = ErrorCollector()
    checked = await check_draft(session, principal, draft, errors, now)
    errors.raise_if_any()
    location = checked.location
    assert location is not None
    booked: SlotChoice | None = None
    if draft.booking is None and draft.ready:
        booked = await claims.first_free_slot(session, location, draft.preferences, now)
        if booked is None:
            raise _no_master_free()
    scheduled_at = draft.booking.at if draft.booking else None
    if scheduled_at is not None and not await claims.time(session, location, scheduled_at):
        raise ValidationFailed(
            errors=[FieldError(BOOKING, "unavailable", "this time slot is full", "slot_full")]
        )
    totals = price_order(
        [line.priced for line in checked.lines],
        delivery_fee=checked.delivery_fee,
        discount=checked.discount,
    )
    if (
        checked.coupon is not None
        and draft.coupon is not None
        and not await claims.coupon_use(session, checked.coupon)
    ):
        raise ValidationFailed(
            errors=[
                FieldError(
                    COUPON,
                    "unavailable",
                    f"coupon cannot be used: {NO_USES_LEFT}",
                    "coupon_used_up",
                )
            ]
        )
    return _Priced(checked, location, booked, scheduled_at, totals)


def _new_order(
    principal: Principal,
    draft: OrderDraft,
    checked: CheckedDraft,
    booked: SlotChoice | None,
    scheduled_at: datetime | None,
    totals: Totals,
    now: datetime,
) -> Order:
    """The order as it will be stored, not yet numbered nor added to any session."""
    location = checked.location
    assert location is not None
    substatus = _initial_substatus(draft)
    title = _title([line.product.name for line in checked.lines])
    confirmation = draft.confirmation
    countdown = (
        timedelta(seconds=confirmation.countdown_seconds)
        if confirmation and not confirmation.confirmed_now
        else None
    )
    return Order(
        uid=secrets.token_hex(12),
        token=secrets.token_urlsafe(24),
        organization_id=principal.organization_id,
        location_id=location.id,
        status=lifecycle.status_of(substatus),
        substatus=substatus,
        title=title,
        customer=checked.customer,
        address=checked.address or draft.address,
        payment_method=draft.payment_method,
        ready=draft.ready,
        preferences=[{"date": p.day.isoformat(), "slot": p.slot} for p in draft.preferences],
        booked_day=booked.day if booked else None,
        booked_slot=booked.slot if booked else None,
        subtotal=totals.subtotal,
        delivery_fee=totals.delivery_fee,
        discount=totals.discount,
        total=totals.total,
        currency=checked.lines[0].product.currency,
        fulfilment={**draft.fulfilment, "slot_booked": scheduled_at is not None},
        notes=draft.notes,
        search_text=_search_text(title, checked.customer),
        scheduled_at=scheduled_at,
        coupon_code=checked.coupon.code if checked.coupon else None,
        paid=False,
        countdown_started_at=now if countdown else None,
        countdown_ends_at=now + countdown if countdown else None,
        confirmed_at=now if confirmation and confirmation.confirmed_now else None,
        timed_out_at=None,
        closed_at=None,
        version=1,
        created_at=now,
        updated_at=now,
        lines=[
            OrderLine(
                position=i,
                product_id=line.product.id,
                name=line.product.name,
                quantity=line.priced.quantity,
                unit_price=line.priced.unit_price,
                options_price=line.priced.options_price,
                services=[{"name": s.name, "price": s.price} for s in line.priced.services],
                options=line.options,
                notes=draft_line.notes,
                snapshot=line.snapshot,
                total=line.priced.total,
            )
            for i, (draft_line, line) in enumerate(zip(draft.lines, checked.lines, strict=True))
        ],
    )


# create_order writes with Core INSERTs (no unit of work on the hot path): every column but the
# generated ones.
_ORDERS = cast(Table, Order.__table__)
_LINES = cast(Table, OrderLine.__table__)
_ORDER_COLUMNS = [c for c in _ORDERS.columns if c.key not in ("id", "number")]
# One more order for the organization's count (see OrderCount); SQLite has one writer, one shard.
_COUNT = (
    "INSERT INTO order_counts (organization_id, shard, orders) VALUES (:count_org, {}, 1) "
    "ON CONFLICT (organization_id, shard) DO UPDATE SET orders = order_counts.orders + 1"
)
_COUNT_PG = _COUNT.format(f"pg_backend_pid() % {ORDER_COUNT_SHARDS}")
_COUNT_SQLITE = _COUNT.format("0")
# Built once: a statement made afresh per request costs a cache-key computation over its 35
# values every time; these take their values as parameters. PostgreSQL numbers the order in the
# INSERT itself (the sequence's name is a parameter too); SQLite is given the number.
_INSERT_ORDER = insert(_ORDERS).returning(_ORDERS.c.id, _ORDERS.c.number)
_INSERT_ORDER_NUMBERED = (
    insert(_ORDERS)
    .values(number=numbering.next_number_expression(bindparam("number_sequence")))
    .returning(_ORDERS.c.id, _ORDERS.c.number)
)
_LINE_COLUMNS = [c for c in _LINES.columns if c.key not in ("id", "order_id")]


def _booking(choice: SlotChoice | None) -> dict[str, str] | None:
    return {"date": choice.day.isoformat(), "slot": choice.slot} if choice else None


def _event_row(
    view: OrderView,
    *,
    actor: str,
    kind: str,
    previous: tuple[str, str] | None,
    now: datetime,
    data: dict[str, object] | None = None,
) -> dict[str, Any]:
    order = view.order
    return {
        "order_id": order.id,
        "at": now,
        "actor": actor,
        "kind": kind,
        "from_status": previous[0] if previous else None,
        "from_substatus": previous[1] if previous else None,
        "to_status": order.status,
        "to_substatus": order.substatus,
        "data": data or {},
    }


def _record(
    session: AsyncSession,
    view: OrderView,
    *,
    actor: str,
    kind: str,
    previous: tuple[str, str] | None,
    now: datetime,
    data: dict[str, object] | None = None,
) -> None:
    session.add(
        OrderEvent(
            **_event_row(view, actor=actor, kind=kind, previous=previous, now=now, data=data)
        )
    )
    publish_order_event(session, kind if kind in _PUBLISHED_KINDS else "status_changed", view, now)


# Core event kinds that dialects may word differently; every other change is "status_changed".
_PUBLISHED_KINDS = {"created", "confirmed", "closed", "timed_out"}


def change_state(
    session: AsyncSession,
    view: OrderView,
    target: str,
    *,
    actor: str,
    kind: str,
    now: datetime,
) -> None:
    """Move ``view``'s order to substatus ``target`` through the transition table and record it."""
    previous = _move(view.order, target)
    view.order.updated_at = now
    _record(session, view, actor=actor, kind=kind, previous=previous, now=now)


def _move(order: Order, target: str) -> tuple[str, str]:
    lifecycle.check_move(order.substatus, target)
    previous = (order.status, order.substatus)
    order.substatus = target
    order.status = lifecycle.status_of(target)
    return previous


# ---------------------------------------------------------------------------------------------
# Changes


async def mark_ready(
    session: AsyncSession, principal: Principal, order_id: int, *, actor: str, now: datetime
) -> OrderView:
    """The goods are in stock: book a master from the stored preferences, or wait for a date."""
    view = await get_order(session, principal, order_id, for_update=True)
    return await mark_ready_loaded(session, view, actor=actor, now=now)


async def mark_ready_loaded(
    session: AsyncSession, view: OrderView, *, actor: str, now: datetime
) -> OrderView:
    """:func:`mark_ready` of an order the caller has already loaded with its row lock."""
    order = view.order
    if order.ready:
        return view
    if not lifecycle.is_open(order.substatus):
        raise Conflict(f"order is {order.status}; only open orders can be marked in stock")
    order.ready = True
    choices = [SlotChoice(date.fromisoformat(p["date"]), p["slot"]) for p in order.preferences]
    booked = await scheduling.book_first_free(session, view.location, choices, now)
    order.booked_day, order.booked_slot = (booked.day, booked.slot) if booked else (None, None)
    previous = _move(order, "awaiting_master_request" if booked else "in_stock_awaiting_date")
    order.updated_at = now
    _record(
        session,
        view,
        actor=actor,
        kind="marked_ready",
        previous=previous,
        now=now,
        data={"booked": _booking(booked)},
    )
    return view


async def change_dates(
    session: AsyncSession,
    principal: Principal,
    order_id: int,
    preferences: Sequence[SlotChoice],
    *,
    actor: str,
    now: datetime,
) -> OrderView:
    """Replace the preferences; an in-stock order gives back its slot and books anew, all in
    the caller's transaction, so a failed re-booking keeps the old one."""
    view = await get_order(session, principal, order_id, for_update=True)
    return await change_dates_loaded(session, view, preferences, actor=actor, now=now)


async def change_dates_loaded(
    session: AsyncSession,
    view: OrderView,
    preferences: Sequence[SlotChoice],
    *,
    actor: str,
    now: datetime,
) -> OrderView:
    """:func:`change_dates` of an order the caller has already loaded with its row lock."""
    order = view.order
    if order.status != "open":
        raise Conflict(f"order is {order.status}; dates can only change while it is open")
    errors = ErrorCollector()
    check_preferences(errors, view.location, preferences, now)
    errors.raise_if_any()
    old = (
        SlotChoice(order.booked_day, order.booked_slot)
        if order.booked_day and order.booked_slot
        else None
    )
    if old is not None:
        await scheduling.release(session, order.location_id, old)
    booked: SlotChoice | None = None
    if order.ready:
        booked = await scheduling.book_first_free(session, view.location, preferences, now)
        if booked is None:
            raise _no_master_free()
    order.preferences = [{"date": p.day.isoformat(), "slot": p.slot} for p in preferences]
    order.booked_day, order.booked_slot = (booked.day, booked.slot) if booked else (None, None)
    previous = (order.status, order.substatus)
    if order.ready and order.substatus != "awaiting_master_request":
        previous = _move(order, "awaiting_master_request")
    order.updated_at = now
    _record(
        session,
        view,
        actor=actor,
        kind="dates_changed",
        previous=previous,
        now=now,
        data={"released": _booking(old), "booked": _booking(booked)},
    )
    return view


async def give_back_time_and_coupon(session: AsyncSession, view: OrderView) -> None:
    """Give back an order's reserved pickup or delivery time and its coupon use (an order that
    ends unfulfilled: cancelled, or timed out), in the caller's transaction."""
    order = view.order
    if order.scheduled_at is not None and order.fulfilment.get("slot_booked"):
        await times.release_time(session, view.location, order.scheduled_at)
    if order.coupon_code:
        await give_back_coupon_use(session, order.id)


async def cancel_order(
    session: AsyncSession, principal: Principal, order_id: int, *, actor: str, now: datetime
) -> OrderView:
    """Cancel an open order and give back what it held (see :func:`cancel_loaded`)."""
    view = await get_order(session, principal, order_id, for_update=True)
    return await cancel_loaded(session, view, actor=actor, now=now)


async def cancel_loaded(
    session: AsyncSession, view: OrderView, *, actor: str, now: datetime
) -> OrderView:
    """Cancel an order the caller has already loaded with its row lock: only while it is open;
    its booked master, its reserved pickup or delivery time and its coupon use are given back
    in the same transaction, so the next order can have them."""
    order = view.order
    if order.status != "open":
        raise Conflict(f"order is {order.status}; only open orders can be cancelled")
    await give_back_time_and_coupon(session, view)
    released = (
        SlotChoice(order.booked_day, order.booked_slot)
        if order.booked_day and order.booked_slot
        else None
    )
    if released is not None:
        await scheduling.release(session, order.location_id, released)
    order.booked_day = order.booked_slot = None
    previous = _move(order, "cancelled")
    order.updated_at = now
    _record(
        session,
        view,
        actor=actor,
        kind="cancelled",
        previous=previous,
        now=now,
        data={"released": _booking(released)},
    )
    return view
