"""Operators' actions by order id (core.orders.actions): each goes through the transition table
and the same core function as the client APIs, is recorded with the operator as actor, and is
refused, writing nothing, when the order is no longer at the version the operator saw."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from tests.conftest import FakeClock
from tests.console.board_support import (
    make_operator,
    order_row,
    partner_order,
    restaurant_order,
)
from tests.dialects.restaurant.order_support import NOW, expire_all

from orderdesk.core.errors import Conflict, NotFound, StaleOrder, ValidationFailed
from orderdesk.core.operators.service import OperatorView
from orderdesk.core.orders import actions
from orderdesk.core.orders.models import OrderEvent
from orderdesk.core.orders.schemas import OrderView
from orderdesk.core.scheduling.models import SlotUsage
from orderdesk.http.state import AppState


@pytest.fixture(autouse=True)
def _fixed_now(clock: FakeClock) -> None:
    clock.set(NOW)


async def _events(state: AppState, order_id: int) -> list[OrderEvent]:
    async with state.reads() as session:
        return list(
            await session.scalars(
                select(OrderEvent).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)
            )
        )


async def _slot_used(state: AppState, location_id: int, day: date, slot: str) -> int:
    async with state.reads() as session:
        used = await session.scalar(
            select(func.coalesce(func.sum(SlotUsage.used), 0)).where(
                SlotUsage.location_id == location_id,
                SlotUsage.day == day,
                SlotUsage.slot == slot,
            )
        )
    return int(used or 0)


async def test_partner_order_moves_through_the_table_recorded_with_the_operator(
    client: httpx.AsyncClient, state: AppState
) -> None:
    _, oid = await partner_order(client, state)
    operator = await make_operator(state)
    order = await order_row(state, oid)
    assert order.substatus == "awaiting_master_request"
    assert "timed_out" not in actions.offered_moves(order)
    assert actions.offered_moves(order)[0] == "cancelled"

    async with state.transaction() as session:
        view = await actions.move(
            session, operator, oid, order.version, "awaiting_master_accept", now=state.now()
        )
    async with state.transaction() as session:
        view = await actions.move(
            session, operator, oid, view.order.version, "in_work", now=state.now()
        )

    after = await order_row(state, oid)
    assert (after.status, after.substatus) == ("in_work", "in_work")
    assert after.version == order.version + 2
    moves = (await _events(state, oid))[-2:]
    assert [(e.actor, e.from_substatus, e.to_substatus) for e in moves] == [
        (operator.actor, "awaiting_master_request", "awaiting_master_accept"),
        (operator.actor, "awaiting_master_accept", "in_work"),
    ]


async def test_an_illegal_or_system_move_is_a_conflict_and_writes_nothing(
    client: httpx.AsyncClient, state: AppState
) -> None:
    _, oid = await partner_order(client, state)
    operator = await make_operator(state)
    version = (await order_row(state, oid)).version
    for target in ("done", "timed_out", "no_such_substatus"):
        with pytest.raises(Conflict):
            async with state.transaction() as session:
                await actions.move(session, operator, oid, version, target, now=state.now())
    assert (await order_row(state, oid)).version == version
    assert len(await _events(state, oid)) == 1


async def test_confirm_stops_the_countdown_then_close(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    _, oid = await restaurant_order(client, state)
    operator = await make_operator(state)
    order = await order_row(state, oid)
    assert order.substatus == "awaiting_confirmation"
    assert order.countdown_ends_at is not None
    assert "timed_out" not in actions.offered_moves(order)
    clock.advance(seconds=30)

    async with state.transaction() as session:
        view = await actions.confirm(session, operator, oid, order.version, now=state.now())
    confirmed = await order_row(state, oid)
    assert confirmed.substatus == "confirmed"
    assert confirmed.confirmed_at == state.now()
    async with state.transaction() as session:
        await actions.close(session, operator, oid, view.order.version, now=state.now())
    closed = await order_row(state, oid)
    assert (closed.status, closed.substatus) == ("done", "closed")
    kinds = [(e.kind, e.actor) for e in await _events(state, oid)]
    assert kinds[-2:] == [("confirmed", operator.actor), ("closed", operator.actor)]


async def test_confirm_after_the_countdown_is_refused(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    _, oid = await restaurant_order(client, state)
    operator = await make_operator(state)
    order = await order_row(state, oid)
    assert order.countdown_ends_at is not None
    clock.set(order.countdown_ends_at + timedelta(seconds=1))
    with pytest.raises(Conflict):
        async with state.transaction() as session:
            await actions.confirm(session, operator, oid, order.version, now=state.now())
    assert (await order_row(state, oid)).substatus == "awaiting_confirmation"


async def test_cancel_gives_the_master_back(client: httpx.AsyncClient, state: AppState) -> None:
    _, oid = await partner_order(client, state)
    operator = await make_operator(state)
    order = await order_row(state, oid)
    assert order.booked_day is not None and order.booked_slot is not None
    used = await _slot_used(state, order.location_id, order.booked_day, order.booked_slot)

    async with state.transaction() as session:
        await actions.cancel(session, operator, oid, order.version, now=state.now())

    after = await order_row(state, oid)
    assert (after.status, after.booked_day) == ("cancelled", None)
    assert await _slot_used(state, order.location_id, order.booked_day, order.booked_slot) == (
        used - 1
    )
    assert (await _events(state, oid))[-1].actor == operator.actor


async def test_reschedule_releases_and_books_and_a_full_slot_keeps_the_old_booking(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner, oid = await partner_order(client, state)
    operator = await make_operator(state)
    order = await order_row(state, oid)
    assert order.booked_day is not None
    new_day = order.booked_day + timedelta(days=1)

    async with state.transaction() as session:
        view = await actions.reschedule(
            session, operator, oid, order.version, new_day, "0712", now=state.now()
        )
    moved = await order_row(state, oid)
    assert (moved.booked_day, moved.booked_slot) == (new_day, "0712")
    assert await _slot_used(state, order.location_id, order.booked_day, "1217") == 0
    assert (await _events(state, oid))[-1].kind == "dates_changed"

    # The store has one master at 17-21: another order takes it, then the move there fails.
    await partner_order(client, state, partner, slot="1721", offset=3)
    with pytest.raises(ValidationFailed):
        async with state.transaction() as session:
            await actions.reschedule(
                session,
                operator,
                oid,
                view.order.version,
                order.booked_day + timedelta(days=1),
                "1721",
                now=state.now(),
            )
    kept = await order_row(state, oid)
    assert (kept.booked_day, kept.booked_slot, kept.version) == (new_day, "0712", moved.version)


async def test_a_stale_version_is_refused_with_the_fresh_order_and_nothing_written(
    client: httpx.AsyncClient, state: AppState
) -> None:
    _, oid = await partner_order(client, state)
    first, second = await make_operator(state), await make_operator(state)
    seen = (await order_row(state, oid)).version
    async with state.transaction() as session:
        await actions.move(session, first, oid, seen, "awaiting_master_accept", now=state.now())
    events = len(await _events(state, oid))

    with pytest.raises(StaleOrder) as refused:
        async with state.transaction() as session:
            await actions.cancel(session, second, oid, seen, now=state.now())

    current = refused.value.current
    assert isinstance(current, OrderView)
    assert current.order.substatus == "awaiting_master_accept"
    assert current.order.version == seen + 1
    after = await order_row(state, oid)
    assert (after.substatus, after.version) == ("awaiting_master_accept", seen + 1)
    assert len(await _events(state, oid)) == events


async def test_two_operators_at_once_on_the_same_version_exactly_one_wins(
    client: httpx.AsyncClient, state: AppState
) -> None:
    _, oid = await partner_order(client, state)
    first, second = await make_operator(state), await make_operator(state)
    seen = (await order_row(state, oid)).version

    async def act(operator: OperatorView, target: str) -> str:
        try:
            async with state.transaction() as session:
                await actions.move(session, operator, oid, seen, target, now=state.now())
                # Hold the row a moment so that the other transaction must wait for it.
                await asyncio.sleep(0.1)
        except StaleOrder:
            return "stale"
        return "won"

    results = await asyncio.gather(act(first, "awaiting_master_accept"), act(second, "cancelled"))
    assert sorted(results) == ["stale", "won"]
    after = await order_row(state, oid)
    assert after.version == seen + 1
    winner = first if results[0] == "won" else second
    assert after.substatus == ("awaiting_master_accept" if winner is first else "cancelled")
    assert [e.actor for e in await _events(state, oid)][1:] == [winner.actor]


async def test_staff_act_on_their_own_organization_only(
    client: httpx.AsyncClient, state: AppState
) -> None:
    partner, mine = await partner_order(client, state)
    _, theirs = await partner_order(client, state)
    staff = await make_operator(state, "staff", partner.name)
    theirs_version = (await order_row(state, theirs)).version

    with pytest.raises(NotFound):
        async with state.transaction() as session:
            await actions.cancel(session, staff, theirs, theirs_version, now=state.now())
    with pytest.raises(NotFound):
        async with state.transaction() as session:
            await actions.visible_order(session, staff, theirs)
    assert (await order_row(state, theirs)).status == "open"

    async with state.transaction() as session:
        await actions.cancel(
            session, staff, mine, (await order_row(state, mine)).version, now=state.now()
        )
    assert (await order_row(state, mine)).status == "cancelled"


async def test_waiting_for_a_date_gives_the_master_back_and_requesting_books_one(
    client: httpx.AsyncClient, state: AppState
) -> None:
    _, oid = await partner_order(client, state)
    operator = await make_operator(state)
    order = await order_row(state, oid)
    assert order.booked_day is not None and order.booked_slot is not None
    used = await _slot_used(state, order.location_id, order.booked_day, order.booked_slot)

    async with state.transaction() as session:
        view = await actions.move(
            session, operator, oid, order.version, "in_stock_awaiting_date", now=state.now()
        )
    waiting = await order_row(state, oid)
    assert (waiting.substatus, waiting.booked_day) == ("in_stock_awaiting_date", None)
    assert await _slot_used(state, order.location_id, order.booked_day, order.booked_slot) == (
        used - 1
    )

    async with state.transaction() as session:
        await actions.move(
            session, operator, oid, view.order.version, "awaiting_master_request", now=state.now()
        )
    booked = await order_row(state, oid)
    assert (booked.substatus, booked.booked_day, booked.booked_slot) == (
        "awaiting_master_request",
        order.booked_day,
        order.booked_slot,
    )
    assert await _slot_used(state, order.location_id, order.booked_day, order.booked_slot) == used


async def test_cancelling_a_restaurant_order_gives_back_its_pickup_time(
    client: httpx.AsyncClient, state: AppState
) -> None:
    _, oid = await restaurant_order(client, state)
    operator = await make_operator(state)
    order = await order_row(state, oid)
    assert order.scheduled_at is not None and order.fulfilment.get("slot_booked")

    async def taken() -> int:
        async with state.reads() as session:
            return int(
                await session.scalar(
                    select(func.coalesce(func.sum(SlotUsage.used), 0)).where(
                        SlotUsage.location_id == order.location_id
                    )
                )
                or 0
            )

    before = await taken()
    async with state.transaction() as session:
        await actions.cancel(session, operator, oid, order.version, now=state.now())
    assert (await order_row(state, oid)).status == "cancelled"
    assert await taken() == before - 1


async def test_a_cancelled_restaurant_order_is_not_timed_out_later(
    client: httpx.AsyncClient, state: AppState, clock: FakeClock
) -> None:
    """Its countdown was still set when it was cancelled: the time-out loop must neither pick
    it (a cancelled order cannot move to timed_out, and the loop would stop there every time)
    nor let it hold back the orders that are due after it."""
    _, cancelled = await restaurant_order(client, state)
    _, waiting = await restaurant_order(client, state)
    operator = await make_operator(state)
    async with state.transaction() as session:
        version = (await order_row(state, cancelled)).version
        await actions.cancel(session, operator, cancelled, version, now=state.now())
    clock.advance(hours=2)
    await expire_all(state)
    assert (await order_row(state, cancelled)).substatus == "cancelled"
    assert (await order_row(state, waiting)).substatus == "timed_out"
