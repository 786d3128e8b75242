"""Operators' actions on one order, by id, guarded by the version the operator saw.

An operator acts on the order as a page showed it. Two operators (or an operator and a client's
API call, or the countdown) may act on the same order at once; without a guard the later one
would silently apply to a state its operator never saw. So every action names the version it
was asked against (``orders.version``, which every ORM change of an order raises by one), and:

1. the order's organization is looked up and checked against what the operator may see
   (another organization's order is ``NotFound``, like a missing id);
2. the order is loaded with its row lock (``FOR UPDATE`` on PostgreSQL; on SQLite every writing
   transaction already holds the database's one write lock from ``BEGIN IMMEDIATE``), so no
   other change can come between the comparison and the write;
3. a version other than the expected one raises :class:`~orderdesk.core.errors.StaleOrder`
   carrying the order as it is now, and nothing is written;
4. otherwise the same core function as the client APIs' applies the change
   (:mod:`orderdesk.core.orders.service`, :mod:`orderdesk.core.orders.confirmation`), through
   the transition table, recorded with the operator as the event's actor.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orderdesk.core.errors import Conflict, NotFound, StaleOrder
from orderdesk.core.operators.service import OperatorView
from orderdesk.core.orders import confirmation, lifecycle, service
from orderdesk.core.orders.models import Order
from orderdesk.core.orders.queries import get_order
from orderdesk.core.orders.schemas import OrderView
from orderdesk.core.organizations.models import Organization
from orderdesk.core.organizations.service import Principal
from orderdesk.core.scheduling import service as scheduling
from orderdesk.core.scheduling.service import SlotChoice

# Moves only the system makes: an unconfirmed order times out when its countdown ends.
SYSTEM_MOVES = frozenset({"timed_out"})
# Moves that need more than a new substatus, each done by its own core function.
_CONFIRM, _CLOSE, _CANCEL = "confirmed", "closed", "cancelled"
_NEEDS_GOODS = frozenset({"awaiting_master_request", "in_stock_awaiting_date"})


def offered_moves(order: Order) -> list[str]:
    """The substatuses an operator may move ``order`` to now: exactly the transition table's
    moves from its substatus, less the system's own and the move to where it already is (the
    table's "ask for a master again", which an operator reaches by rescheduling); cancel first,
    the rest by name."""
    targets = lifecycle.TRANSITIONS[order.substatus] - SYSTEM_MOVES - {order.substatus}
    return sorted(targets, key=lambda t: (t != _CANCEL, t))


async def principal_for(session: AsyncSession, organization_id: int, actor: str) -> Principal:
    """The organization an operator's action acts for, as the order services scope by it."""
    org = await session.get(Organization, organization_id)
    if org is None:
        raise NotFound(f"organization {organization_id} not found")
    return Principal(org.id, org.kind, org.key, org.title, None, actor)


async def visible_order(
    session: AsyncSession, operator: OperatorView, order_id: int, *, for_update: bool = False
) -> OrderView:
    """One order the operator may see; another organization's is ``NotFound`` like a missing
    id, so staff cannot learn which ids exist elsewhere."""
    organization_id = await session.scalar(
        select(Order.organization_id).where(Order.id == order_id)
    )
    if organization_id is None or not operator.sees(organization_id):
        raise NotFound(f"order {order_id} not found")
    principal = await principal_for(session, organization_id, operator.actor)
    return await get_order(session, principal, order_id, for_update=for_update)


async def locked_at_version(
    session: AsyncSession, operator: OperatorView, order_id: int, version: int
) -> OrderView:
    """The order with its row lock, if it is still at ``version``; else ``StaleOrder`` with
    the order as it is now (the caller's transaction then writes nothing)."""
    view = await visible_order(session, operator, order_id, for_update=True)
    if view.order.version != version:
        # Detached, so that the rollback which follows does not expire what it shows.
        for instance in (view.order, view.location):
            if instance in session:
                session.expunge(instance)
        raise StaleOrder(version, view)
    return view


async def move(
    session: AsyncSession,
    operator: OperatorView,
    order_id: int,
    version: int,
    target: str,
    *,
    now: datetime,
) -> OrderView:
    """Move the order to substatus ``target``, if the transition table allows it from where
    the order is now and it is not one of the system's own moves.

    Moves with more to them go through their own core function: confirming and closing a
    restaurant order (its countdown), cancelling (gives back the booked master, time and
    coupon use), and the first move of a partner order whose goods were not in stock (marks
    them in stock and books a master from its stored dates, or waits for dates when none is
    free: the order may then end in ``in_stock_awaiting_date`` whichever of the two was asked).
    Moving a booked order back to ``in_stock_awaiting_date`` gives its master back; moving an
    order without a master to ``awaiting_master_request`` books one from its stored dates.
    """
    view = await locked_at_version(session, operator, order_id, version)
    order = view.order
    actor = operator.actor
    if target in SYSTEM_MOVES:
        raise Conflict(f"only the system moves an order to {target!r}")
    lifecycle.check_move(order.substatus, target)
    if target == _CONFIRM:
        return confirmation.confirm_loaded(session, view, actor=actor, now=now)
    if target == _CLOSE:
        return confirmation.close_loaded(session, view, actor=actor, now=now)
    if target == _CANCEL:
        return await service.cancel_loaded(session, view, actor=actor, now=now)
    if target in _NEEDS_GOODS and not order.ready:
        return await service.mark_ready_loaded(session, view, actor=actor, now=now)
    if target == "awaiting_master_request" and order.booked_day is None:
        await _book_from_preferences(session, view, now)
    if target == "in_stock_awaiting_date" and order.booked_day and order.booked_slot:
        await scheduling.release(
            session, order.location_id, SlotChoice(order.booked_day, order.booked_slot)
        )
        order.booked_day = order.booked_slot = None
    service.change_state(session, view, target, actor=actor, kind="status_changed", now=now)
    return view


async def _book_from_preferences(session: AsyncSession, view: OrderView, now: datetime) -> None:
    """Book a master in the first of the order's stored preferences that has one free; with
    none free the move is refused (the operator reschedules the order instead)."""
    order = view.order
    choices = [SlotChoice(date.fromisoformat(p["date"]), p["slot"]) for p in order.preferences]
    booked = await scheduling.book_first_free(session, view.location, choices, now)
    if booked is None:
        raise Conflict(
            "no master is free in the order's preferred dates and timeslots; "
            "reschedule it to another date instead"
        )
    order.booked_day, order.booked_slot = booked.day, booked.slot


async def confirm(
    session: AsyncSession, operator: OperatorView, order_id: int, version: int, *, now: datetime
) -> OrderView:
    """Confirm a restaurant order while its countdown runs (its countdown then stops)."""
    view = await locked_at_version(session, operator, order_id, version)
    return confirmation.confirm_loaded(session, view, actor=operator.actor, now=now)


async def close(
    session: AsyncSession, operator: OperatorView, order_id: int, version: int, *, now: datetime
) -> OrderView:
    """Close a confirmed restaurant order (handed over or delivered)."""
    view = await locked_at_version(session, operator, order_id, version)
    return confirmation.close_loaded(session, view, actor=operator.actor, now=now)


async def cancel(
    session: AsyncSession, operator: OperatorView, order_id: int, version: int, *, now: datetime
) -> OrderView:
    """Cancel an open order, giving back whatever it held."""
    view = await locked_at_version(session, operator, order_id, version)
    return await service.cancel_loaded(session, view, actor=operator.actor, now=now)


async def reschedule(
    session: AsyncSession,
    operator: OperatorView,
    order_id: int,
    version: int,
    day: date,
    slot: str,
    *,
    now: datetime,
) -> OrderView:
    """Move a partner order to another date and timeslot: its master is given back and the new
    slot booked in one transaction (a full slot is ``ValidationFailed`` and the old booking
    stays)."""
    view = await locked_at_version(session, operator, order_id, version)
    return await service.change_dates_loaded(
        session, view, [SlotChoice(day, slot)], actor=operator.actor, now=now
    )
